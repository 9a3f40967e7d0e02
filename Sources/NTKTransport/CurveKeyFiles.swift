import Foundation

// Key files.
//
// The format is the text "certificate" of czmq (`zcert`), so that pyzmq's
// `zmq.auth.load_certificate` and czmq tools read our files and we read theirs — a worker written
// in another language can use the same keys. It is line-oriented:
//
//     #   ZeroMQ CURVE Public Certificate          (any line starting with # is a comment)
//     metadata
//         name = "worker-1"                       (optional)
//     curve
//         public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//         secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"   (secret file only)
//
// Reading takes every `key = "value"` line and keeps `public-key` and `secret-key` (Z85, 40
// characters; `=` may occur inside the value, so only the first one separates). The convention,
// also czmq's, is a public file `NAME.key` to hand out and a secret file `NAME.key_secret` with
// both keys, created with permissions 0600 and refused on reading if group or others may read it.

extension CurveKeyPair {
    /// Writes the public file (mode 0644) and the secret file (mode 0600), each atomically
    /// (temporary file, fsync, rename), so that a crash never leaves half a key behind.
    public func write(publicFile: URL, secretFile: URL, name: String? = nil) throws {
        let metadata = name.map { "metadata\n    name = \"\($0)\"\n" } ?? "metadata\n"
        let publicText = """
            #   ZeroMQ CURVE Public Certificate (written by ntk)
            #   Exchange this file with peers: it holds no secret.

            \(metadata)curve
                public-key = "\(publicKey.z85)"

            """
        let secretText = """
            #   ZeroMQ CURVE **Secret** Certificate (written by ntk)
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

            \(metadata)curve
                public-key = "\(publicKey.z85)"
                secret-key = "\(secretKey.z85)"

            """
        try writeAtomically(Data(publicText.utf8), to: publicFile, mode: 0o644)
        try writeAtomically(Data(secretText.utf8), to: secretFile, mode: 0o600)
    }

    /// Writes `BASE.key` and `BASE.key_secret` next to each other (czmq's naming).
    public func write(basePath: String, name: String? = nil) throws {
        try write(publicFile: URL(fileURLWithPath: basePath + ".key"),
                  secretFile: URL(fileURLWithPath: basePath + ".key_secret"), name: name)
    }

    /// Reads a secret file. Refuses a file that group or others can read (like ssh does with
    /// private keys) unless `allowInsecurePermissions`, and checks that the two keys belong together.
    public static func read(secretFile: URL, allowInsecurePermissions: Bool = false) throws -> CurveKeyPair {
        let path = secretFile.path
        if !allowInsecurePermissions {
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw TransportError.keyFile(path: path, reason: String(cString: strerror(errno)))
            }
            let mode = info.st_mode & 0o777
            guard mode & 0o077 == 0 else {
                throw TransportError.keyFile(path: path, reason: "permissions \(String(mode, radix: 8)) let others read the secret key; run chmod 600")
            }
        }
        let fields = try readKeyFields(path)
        guard let publicText = fields["public-key"], let secretText = fields["secret-key"] else {
            throw TransportError.keyFile(path: path, reason: "needs both public-key and secret-key lines")
        }
        do {
            return try CurveKeyPair(publicKey: CurvePublicKey(z85: publicText), secretKey: CurveSecretKey(z85: secretText))
        } catch {
            throw TransportError.keyFile(path: path, reason: "\(error)")
        }
    }
}

extension CurvePublicKey {
    /// Reads the public key of a public (or secret) key file.
    public init(contentsOf file: URL) throws {
        let fields = try readKeyFields(file.path)
        guard let text = fields["public-key"] else {
            throw TransportError.keyFile(path: file.path, reason: "no public-key line")
        }
        do { try self.init(z85: text) } catch {
            throw TransportError.keyFile(path: file.path, reason: "\(error)")
        }
    }

    /// Reads every `*.key` file of a directory: the allowed clients of a server, one file per worker.
    public static func readAll(directory: URL) throws -> [CurvePublicKey] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw TransportError.keyFile(path: directory.path, reason: "\(error.localizedDescription)")
        }
        return try names.filter { $0.hasSuffix(".key") }.sorted()
            .map { try CurvePublicKey(contentsOf: directory.appendingPathComponent($0)) }
    }
}

/// The `key = "value"` pairs of a key file.
private func readKeyFields(_ path: String) throws -> [String: String] {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw TransportError.keyFile(path: path, reason: "cannot read: \(error.localizedDescription)")
    }
    var fields: [String: String] = [:]
    for rawLine in text.split(whereSeparator: \.isNewline) {
        let line = rawLine.trimmingCharacters(in: .whitespaces)
        guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
        let key = line[..<equals].trimmingCharacters(in: .whitespaces)
        var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        fields[key] = value
    }
    return fields
}

/// Writes `data` to `url` through a temporary file created with `mode` (never wider, whatever the umask), fsync and rename.
private func writeAtomically(_ data: Data, to url: URL, mode: mode_t) throws {
    let path = url.path
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
    guard fd >= 0 else { throw TransportError.keyFile(path: path, reason: String(cString: strerror(errno))) }
    var failure: String?
    // open's mode is masked by the umask, which can only narrow it; fchmod sets it exactly.
    if fchmod(fd, mode) != 0 { failure = String(cString: strerror(errno)) }
    if failure == nil {
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != data.count { failure = "short write" }
    }
    if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
    close(fd)
    if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
    if let failure {
        unlink(temporary)
        throw TransportError.keyFile(path: path, reason: failure)
    }
}
