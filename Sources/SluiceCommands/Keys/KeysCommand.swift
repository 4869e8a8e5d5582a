import ArgumentParser
import Foundation
import SluiceCore

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make and inspect account keys.",
        subcommands: [New.self, Show.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a new key and write it to a key file.",
            discussion: "The file holds the secret key: keep it private (it is written with mode 0600).")

        @Option(help: "Signature scheme: ed25519 or ml-dsa-65 (post-quantum).")
        var scheme: String = "ed25519"

        @Option(help: "Where to write the key file. Refuses to overwrite an existing file.")
        var out: String

        @Flag(help: "Print the key's address and public key as JSON.")
        var json = false

        func run() throws {
            let scheme: SignatureScheme
            do { scheme = try SignatureScheme(name: self.scheme) } catch { throw CommandError(error.message) }
            guard !FileManager.default.fileExists(atPath: out) else {
                throw CommandError("\(out) already exists: choose another --out, or remove the file first")
            }
            let key: SigningKey
            do { key = try SigningKey(scheme: scheme) } catch { throw CommandError(error.message) }
            try writeSecretFile(try prettyJSON(KeyFile(key)), to: out)
            if json {
                print(
                    String(
                        decoding: try prettyJSON(["address": key.address.hex, "scheme": scheme.name]), as: UTF8.self),
                    terminator: "")
            } else {
                print("address: \(key.address.hex)\nscheme:  \(scheme.name)\nkey file: \(out)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the address and scheme of a key file.")

        @Argument(help: "The key file.")
        var file: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            for key in try KeyFile.load(path: file) {
                if json {
                    print(
                        String(
                            decoding: try prettyJSON([
                                "address": key.address.hex, "scheme": key.scheme.name,
                                "publicKey": "0x" + Hex.encode(key.publicKey),
                            ]), as: UTF8.self), terminator: "")
                } else {
                    print("address: \(key.address.hex)\nscheme:  \(key.scheme.name)")
                }
            }
        }
    }
}
