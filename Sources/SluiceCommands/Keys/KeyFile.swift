import Foundation
import SluiceAPI
import SluiceCore
import SluiceProvider
import SluiceJobs

/// A key file: `{"scheme": "ed25519", "address": "0x…", "publicKey": "0x…", "secretKey": "0x…"}`.
/// The secret key is the scheme's 32-byte seed. Keep such files private.
struct KeyFile: Codable {
    var scheme: String
    var address: String
    var publicKey: String
    var secretKey: String

    init(_ key: SigningKey) {
        scheme = key.scheme.name
        address = key.address.hex
        publicKey = "0x" + Hex.encode(key.publicKey)
        secretKey = "0x" + Hex.encode(key.seed)
    }

    /// Restores the key and checks that the file is consistent.
    func signingKey(source: String) throws -> SigningKey {
        do {
            let key = try SigningKey(scheme: try SignatureScheme(name: scheme), seed: try Hex.decode(secretKey))
            guard key.address.hex == address.lowercased() else {
                throw CommandError("\(source): the secret key derives \(key.address.hex), not the address \(address)")
            }
            return key
        } catch let e as CoreError {
            throw CommandError("\(source): \(e.message)")
        }
    }

    /// Reads one key object or an array of them.
    static func load(path: String) throws -> [SigningKey] {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            FileHandle.standardError.write(
                Data(
                    "warning: \(path) holds a secret key and others may read it (mode \(mode)): chmod 600 \(path)\n"
                        .utf8))
        }
        let data = try readFile(path)
        let decoder = JSONDecoder()
        if let many = try? decoder.decode([KeyFile].self, from: data) {
            return try many.enumerated().map { try $0.element.signingKey(source: "\(path): key \($0.offset)") }
        }
        do {
            return [try decoder.decode(KeyFile.self, from: data).signingKey(source: path)]
        } catch let e as CommandError {
            throw e
        } catch {
            throw CommandError(
                "\(path): not a key file (expected {\"scheme\", \"address\", \"publicKey\", \"secretKey\"} or an array of them): \(describe(error))"
            )
        }
    }
}

func readFile(_ path: String) throws -> Data {
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CommandError("\(path): cannot read the file (\(error.localizedDescription)); check the path")
    }
}

/// Writes a file atomically: a temporary file in the same folder, then a rename.
func writeFileAtomically(_ data: Data, to path: String) throws {
    do {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw CommandError("\(path): cannot write the file (\(error.localizedDescription))")
    }
}

/// Writes a secret (a key file): created with mode 0600 from its first byte, synced, then linked into place,
/// which fails when `path` exists: a key is never replaced, and never readable by others, not even for the
/// moment between a write and a chmod.
func writeSecretFile(_ data: Data, to path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    let temporary = (folder.isEmpty ? "." : folder) + "/.sluice-key-\(UUID().uuidString).tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
        throw CommandError(
            "\(path): cannot create the key file (\(String(cString: strerror(errno)))); check the folder")
    }
    defer { unlink(temporary) }
    guard SafeFile.writeAll(fd, [UInt8](data)) else {
        let code = errno
        close(fd)
        throw CommandError("\(path): cannot write the key file (\(String(cString: strerror(code))))")
    }
    _ = fchmod(fd, 0o600)  // whatever the umask did
    fsync(fd)
    close(fd)
    guard link(temporary, path) == 0 else {
        let code = errno
        throw CommandError(
            code == EEXIST
                ? "\(path) already exists: choose another --out, or remove the file first"
                : "\(path): cannot write the key file (\(String(cString: strerror(code))))")
    }
}

func prettyJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var data = try encoder.encode(value)
    data.append(0x0a)
    return data
}
