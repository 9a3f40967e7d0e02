import Foundation
import Yams

/// A configuration file that is wrong, with the file, the key and what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public let file: String
    /// Dotted key path, e.g. `training.time.candidates[2]`.
    public let key: String
    /// Line of the offending node (1-based), when known.
    public let line: Int?
    /// What is wrong and what is expected.
    public let reason: String

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(key.isEmpty ? "" : "\(key): ")\(reason)" }
}

/// Reads typed values out of a YAML mapping while remembering where each came from, so that every error
/// names the file, key and line, and rejects keys nobody asked for (a misspelt key must not be ignored).
public final class ConfigReader {
    let file: String
    let path: String
    let node: Node
    private var consumed: Set<String> = []

    /// Parses YAML text; `file` is used in errors.
    public convenience init(yaml: String, file: String) throws {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw ConfigError(file: file, key: "", line: nil, reason: "not valid YAML: \(error)")
        }
        guard let root, root.mapping != nil else {
            throw ConfigError(file: file, key: "", line: nil, reason: "expected a mapping of sections at the top level")
        }
        self.init(file: file, path: "", node: root)
    }

    /// Reads and parses a YAML file.
    public convenience init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError(file: url.path, key: "", line: nil, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(yaml: text, file: url.path)
    }

    init(file: String, path: String, node: Node) {
        self.file = file
        self.path = path
        self.node = node
    }

    private func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error at `key` of this mapping (or at the mapping itself).
    public func error(_ key: String?, _ reason: String) -> ConfigError {
        let at = key.flatMap { node.mapping?[$0] } ?? node
        return ConfigError(file: file, key: key.map(keyPath) ?? path, line: at.mark?.line, reason: reason)
    }

    private func raw(_ key: String) -> Node? {
        consumed.insert(key)
        return node.mapping?[key]
    }

    /// Whether the key is present.
    public func has(_ key: String) -> Bool { node.mapping?[key] != nil }

    /// A nested section (`nil` when absent).
    public func section(_ key: String) throws -> ConfigReader? {
        guard let child = raw(key) else { return nil }
        guard child.mapping != nil else { throw error(key, "expected a mapping (key: value lines)") }
        return ConfigReader(file: file, path: keyPath(key), node: child)
    }

    /// A required nested section.
    public func requiredSection(_ key: String) throws -> ConfigReader {
        guard let s = try section(key) else { throw error(nil, "missing section '\(key)'") }
        return s
    }

    /// A list of mappings.
    public func sections(_ key: String) throws -> [ConfigReader] {
        guard let child = raw(key) else { return [] }
        guard let seq = child.sequence else { throw error(key, "expected a list") }
        return try seq.enumerated().map { i, item in
            guard item.mapping != nil else {
                throw ConfigError(file: file, key: "\(keyPath(key))[\(i)]", line: item.mark?.line, reason: "expected a mapping")
            }
            return ConfigReader(file: file, path: "\(keyPath(key))[\(i)]", node: item)
        }
    }

    private func scalar(_ key: String) throws -> String? {
        guard let n = raw(key) else { return nil }
        guard let s = n.scalar?.string else { throw error(key, "expected a single value") }
        return s
    }

    /// A string.
    public func string(_ key: String) throws -> String? { try scalar(key) }

    /// A number (`1e-3`, `0.5`, `10`).
    public func double(_ key: String) throws -> Double? {
        guard let s = try scalar(key) else { return nil }
        guard let v = Double(s), v.isFinite else { throw error(key, "expected a finite number, got \"\(s)\"") }
        return v
    }

    /// An integer.
    public func int(_ key: String) throws -> Int? {
        guard let s = try scalar(key) else { return nil }
        guard let v = Int(s) else { throw error(key, "expected an integer, got \"\(s)\"") }
        return v
    }

    /// `true`/`false`.
    public func bool(_ key: String) throws -> Bool? {
        guard let s = try scalar(key) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "expected true or false, got \"\(s)\"")
        }
    }

    /// One of the raw values of a string enum.
    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type = E.self) throws -> E? where E.RawValue == String {
        guard let s = try scalar(key) else { return nil }
        guard let v = E(rawValue: s) else {
            throw error(key, "\"\(s)\" is not one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    /// A list of numbers.
    public func doubles(_ key: String) throws -> [Double]? {
        guard let n = raw(key) else { return nil }
        guard let seq = n.sequence else { throw error(key, "expected a list of numbers, e.g. [1, 10, 100]") }
        return try seq.enumerated().map { i, item in
            guard let s = item.scalar?.string, let v = Double(s), v.isFinite else {
                throw ConfigError(file: file, key: "\(keyPath(key))[\(i)]", line: item.mark?.line, reason: "expected a finite number")
            }
            return v
        }
    }

    /// A list of integers.
    public func ints(_ key: String) throws -> [Int]? {
        try doubles(key).map { values in
            try values.enumerated().map { i, v in
                guard v == v.rounded(), abs(v) < 1e15 else {
                    throw ConfigError(file: file, key: "\(keyPath(key))[\(i)]", line: nil, reason: "expected an integer, got \(v)")
                }
                return Int(v)
            }
        }
    }

    /// A list of strings.
    public func strings(_ key: String) throws -> [String]? {
        guard let n = raw(key) else { return nil }
        guard let seq = n.sequence else { throw error(key, "expected a list") }
        return try seq.enumerated().map { i, item in
            guard let s = item.scalar?.string else {
                throw ConfigError(file: file, key: "\(keyPath(key))[\(i)]", line: item.mark?.line, reason: "expected a single value")
            }
            return s
        }
    }

    /// Throws for any key of this mapping that no reader asked for (call after reading a section).
    public func rejectUnknownKeys() throws {
        guard let mapping = node.mapping else { return }
        for (k, _) in mapping {
            guard let name = k.scalar?.string else { continue }
            if !consumed.contains(name) {
                throw ConfigError(file: file, key: keyPath(name), line: k.mark?.line,
                                  reason: "unknown key (known here: \(consumed.sorted().joined(separator: ", ")))")
            }
        }
    }
}
