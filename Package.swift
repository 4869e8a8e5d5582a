// swift-tools-version: 6.0
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Generic code (the executors over a VM, the VM over a state view) must be specialized across modules
// to be fast; full cross-module optimization makes the bodies available to the callers.
let optimized: [SwiftSetting] =
    upcoming + [
        .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release))
    ]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .library(name: "SluiceCore", targets: ["SluiceCore"]),
        .library(name: "SluiceExecution", targets: ["SluiceExecution"]),
        .library(name: "SluiceState", targets: ["SluiceState"]),
        .library(name: "SluiceRuntime", targets: ["SluiceRuntime"]),
        .library(name: "SluiceConsensus", targets: ["SluiceConsensus"]),
        .library(name: "SluiceNetwork", targets: ["SluiceNetwork"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // SHA-256 with the x86 SHA extensions when the CPU has them, portable C otherwise: the tree's hash.
        .target(name: "CSHA256"),
        .target(
            name: "SluiceCore",
            dependencies: ["CSHA256", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: optimized
        ),
        .target(name: "SluiceExecution", dependencies: ["SluiceCore"], swiftSettings: optimized),
        // The state's records and their encodings (accounts, providers, jobs, the book, parameters, income),
        // the commitment of state to the Merkle tree and state proofs: what a node stores and a light client
        // checks, without the rules that change it.
        .target(name: "SluiceState", dependencies: ["SluiceCore", "SluiceMerkle"], swiftSettings: optimized),
        // The state machine: RuntimeVM and its modules (Bank, Market).
        .target(
            name: "SluiceRuntime",
            dependencies: [
                "SluiceCore", "SluiceExecution", "SluiceMerkle", "SluiceState",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: optimized
        ),
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        .target(name: "SluiceMerkle", dependencies: ["SluiceCore"], swiftSettings: optimized),
        // BFT ordering (Jolteon / AptosBFT style) as a pure state machine, its safety rules, and a
        // deterministic simulator of the network that runs the same code. Knows blocks, not modules.
        .target(
            name: "SluiceConsensus",
            dependencies: ["SluiceCore", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: optimized),
        // The validator network: mutual TLS 1.3 (keys pinned to the validator set), bounded frames, a
        // bounded queue per peer, reconnection with backoff. Carries bytes; knows no consensus message.
        .target(
            name: "SluiceNetwork",
            dependencies: [
                "SluiceCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcoming),
        .target(
            name: "SluiceStorage",
            dependencies: [
                "SluiceCore", "SluiceExecution", "SluiceState", "SluiceRuntime", "SluiceMerkle", "CRocksDB",
            ],
            swiftSettings: optimized
        ),
        .target(
            name: "SluiceNode",
            dependencies: [
                "SluiceCore", "SluiceExecution", "SluiceState", "SluiceRuntime", "SluiceStorage", "SluiceConsensus",
                "SluiceNetwork",
            ],
            swiftSettings: optimized),
        // The JSON shapes of the HTTP API, shared by the server, the client and the CLI's files: the state's
        // records, never the rules (no SluiceRuntime).
        .target(
            name: "SluiceAPI", dependencies: ["SluiceCore", "SluiceState", "SluiceMerkle"], swiftSettings: upcoming),
        .target(
            name: "SluiceServer",
            dependencies: [
                "SluiceCore", "SluiceState", "SluiceRuntime", "SluiceStorage", "SluiceNode", "SluiceAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "SluiceClient",
            dependencies: [
                "SluiceCore", "SluiceAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // Jobs as files, shared by the CLI and the agent: job files (TOML), manifests, result summaries,
        // deterministic archives (bundles, results, logs) and their hostile-input checks.
        .target(
            name: "SluiceJobs",
            dependencies: ["SluiceCore", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: upcoming
        ),
        // The provider agent: GPU discovery, the job sandbox, the loop that takes and runs jobs.
        .target(
            name: "SluiceProvider",
            dependencies: [
                "SluiceCore", "SluiceState", "SluiceAPI", "SluiceClient", "SluiceJobs",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "SluiceCommands",
            dependencies: [
                "SluiceCore", "SluiceExecution", "SluiceState", "SluiceRuntime", "SluiceMerkle", "SluiceStorage",
                "SluiceNode", "SluiceConsensus", "SluiceNetwork",
                "SluiceAPI", "SluiceServer", "SluiceClient", "SluiceJobs", "SluiceProvider",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "sluice",
            dependencies: ["SluiceCommands"],
            swiftSettings: upcoming
        ),
        // Counts malloc calls process-wide so tests can show the executor's hot path does not allocate.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(
            name: "SluiceCoreTests",
            dependencies: ["SluiceCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceExecutionTests",
            dependencies: ["SluiceExecution", "SluiceState", "SluiceRuntime", "CAllocationCounter"],
            swiftSettings: upcoming
        ),
        .testTarget(name: "SluiceMerkleTests", dependencies: ["SluiceMerkle"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceConsensusTests", dependencies: ["SluiceConsensus", "SluiceCore"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceNetworkTests",
            dependencies: ["SluiceNetwork", "SluiceCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: upcoming),
        .testTarget(
            name: "SluiceStorageTests", dependencies: ["SluiceStorage", "SluiceState", "SluiceCommands"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceRuntimeTests", dependencies: ["SluiceState", "SluiceRuntime"], swiftSettings: upcoming),
        .testTarget(name: "SluiceNodeTests", dependencies: ["SluiceNode", "SluiceState"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceServerTests",
            dependencies: [
                "SluiceServer", "SluiceNode", "SluiceAPI", "SluiceStorage", "SluiceState", "SluiceRuntime",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceProviderTests", dependencies: ["SluiceProvider", "SluiceJobs", "SluiceCore"],
            exclude: ["Corpus"],
            swiftSettings: upcoming),
        .testTarget(
            name: "SluiceCommandsTests",
            dependencies: ["SluiceCommands", "SluiceState", "SluiceRuntime", "SluiceAPI", "SluiceJobs"],
            swiftSettings: upcoming),
    ]
)
