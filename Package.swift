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
        .library(name: "SluiceRuntime", targets: ["SluiceRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "SluiceCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: optimized
        ),
        .target(name: "SluiceExecution", dependencies: ["SluiceCore"], swiftSettings: optimized),
        .target(
            name: "SluiceRuntime",
            dependencies: [
                "SluiceCore", "SluiceExecution", "SluiceMerkle", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: optimized
        ),
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        .target(name: "SluiceMerkle", dependencies: ["SluiceCore"], swiftSettings: optimized),
        .target(
            name: "SluiceStorage",
            dependencies: ["SluiceCore", "SluiceExecution", "SluiceRuntime", "SluiceMerkle", "CRocksDB"],
            swiftSettings: optimized
        ),
        .target(
            name: "SluiceNode", dependencies: ["SluiceCore", "SluiceExecution", "SluiceRuntime", "SluiceStorage"],
            swiftSettings: optimized),
        .target(
            name: "SluiceCommands",
            dependencies: [
                "SluiceCore", "SluiceExecution", "SluiceRuntime", "SluiceMerkle", "SluiceStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceExecutionTests",
            dependencies: ["SluiceExecution", "SluiceRuntime", "CAllocationCounter"],
            swiftSettings: upcoming
        ),
        .testTarget(name: "SluiceMerkleTests", dependencies: ["SluiceMerkle"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceStorageTests", dependencies: ["SluiceStorage", "SluiceCommands"], swiftSettings: upcoming
        ),
        .testTarget(name: "SluiceRuntimeTests", dependencies: ["SluiceRuntime"], swiftSettings: upcoming),
        .testTarget(name: "SluiceNodeTests", dependencies: ["SluiceNode"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceCommandsTests", dependencies: ["SluiceCommands", "SluiceRuntime"], swiftSettings: upcoming),
    ]
)
