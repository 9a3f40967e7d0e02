import CZeroMQ
import Foundation

// CURVE keys (CurveZMQ, RFC 26): long-term Curve25519 key pairs that authenticate the two ends
// of a connection and encrypt it. ZeroMQ writes keys as Z85 text — 40 printable characters for
// 32 bytes — which is what users copy into configuration files.

/// A CURVE public key: safe to share, it identifies a server or a worker.
public struct CurvePublicKey: Hashable, Sendable, CustomStringConvertible {
    /// The 40-character Z85 text.
    public let z85: String

    /// Parses and checks a Z85 public key (40 characters).
    public init(z85: String) throws {
        _ = try decodeZ85Key(z85, what: "public key")
        self.z85 = z85
    }

    /// The key from its 32 raw bytes.
    public init(binary: Data) throws {
        self.z85 = try encodeZ85Key(binary)
    }

    /// The 32 raw bytes (what ZAP hands the authenticator and what socket options take).
    public var binary: Data { try! decodeZ85Key(z85, what: "public key") }

    public var description: String { z85 }
}

/// A CURVE secret key: never leaves the machine it was made on (its file is mode 0600).
public struct CurveSecretKey: Hashable, Sendable, CustomStringConvertible {
    /// The 40-character Z85 text.
    public let z85: String

    /// Parses and checks a Z85 secret key (40 characters).
    public init(z85: String) throws {
        _ = try decodeZ85Key(z85, what: "secret key")
        self.z85 = z85
    }

    /// The 32 raw bytes.
    public var binary: Data { try! decodeZ85Key(z85, what: "secret key") }

    /// Redacted, so that keys do not end up in logs by accident.
    public var description: String { "<CURVE secret key>" }
}

/// A CURVE key pair: a public key to hand out and the secret key that proves ownership of it.
public struct CurveKeyPair: Hashable, Sendable {
    /// The shareable half.
    public let publicKey: CurvePublicKey
    /// The private half.
    public let secretKey: CurveSecretKey

    /// Pairs two keys, checking that the public key is the one derived from the secret key.
    public init(publicKey: CurvePublicKey, secretKey: CurveSecretKey) throws {
        let derived = try CurveKeyPair(secretKey: secretKey).publicKey
        guard derived == publicKey else {
            throw TransportError.invalidArgument("the public key does not belong to the secret key")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The pair whose public key is derived from `secretKey` (`zmq_curve_public`).
    public init(secretKey: CurveSecretKey) throws {
        guard ZMQLibrary.hasCurve else { throw TransportError.curveUnavailable }
        var publicText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicText, secretKey.z85) == 0 else { throw TransportError.last("zmq_curve_public") }
        self.publicKey = try CurvePublicKey(z85: String(cString: publicText))
        self.secretKey = secretKey
    }

    /// A fresh random key pair (`zmq_curve_keypair`, libsodium's random source).
    public static func generate() throws -> CurveKeyPair {
        guard ZMQLibrary.hasCurve else { throw TransportError.curveUnavailable }
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw TransportError.last("zmq_curve_keypair") }
        return try CurveKeyPair(publicKey: CurvePublicKey(z85: String(cString: publicText)),
                                secretKey: CurveSecretKey(z85: String(cString: secretText)))
    }
}

/// Z85 text of a 32-byte key to its bytes, rejecting anything else.
private func decodeZ85Key(_ text: String, what: String) throws -> Data {
    let utf8 = Array(text.utf8)
    guard utf8.count == 40 else {
        throw TransportError.invalidArgument("a CURVE \(what) is 40 Z85 characters, got \(utf8.count)")
    }
    var bytes = [UInt8](repeating: 0, count: 32)
    guard zmq_z85_decode(&bytes, text) != nil else {
        throw TransportError.invalidArgument("the CURVE \(what) is not valid Z85 text")
    }
    return Data(bytes)
}

/// 32 key bytes to Z85 text.
private func encodeZ85Key(_ bytes: Data) throws -> String {
    guard bytes.count == 32 else { throw TransportError.invalidArgument("a CURVE key has 32 bytes, got \(bytes.count)") }
    var text = [CChar](repeating: 0, count: 41)
    let ok = bytes.withUnsafeBytes { raw in
        zmq_z85_encode(&text, raw.bindMemory(to: UInt8.self).baseAddress, 32) != nil
    }
    guard ok else { throw TransportError.invalidArgument("cannot Z85-encode the key") }
    return String(cString: text)
}
