import Foundation

/// The metadata frame's JSON: `{"arrays": [descriptor…], "body": {…type-specific…}}`.
///
/// Descriptors and body are siblings rather than mixed so that a generic decoder can validate the
/// arrays without knowing the message type, and a typed reader can ignore the descriptors.
struct MetadataEnvelope<Body: Encodable>: Encodable {
    var arrays: [WireArrayDescriptor]
    var body: Body
}

/// Reads only the descriptors (and insists that a body is present).
struct MetadataDescriptors: Decodable {
    var arrays: [WireArrayDescriptor]

    private enum CodingKeys: String, CodingKey { case arrays, body }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        arrays = try c.decode([WireArrayDescriptor].self, forKey: .arrays)
        guard c.contains(.body) else {
            throw DecodingError.keyNotFound(CodingKeys.body, .init(codingPath: [], debugDescription: "metadata has no \"body\""))
        }
    }
}

/// Reads only the body.
struct MetadataBody<Body: Decodable>: Decodable {
    var body: Body
}

/// JSON coding with the protocol's settings: sorted keys (deterministic bytes), no escaped slashes.
enum WireJSON {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return try e.encode(value) } catch {
            throw WireError.invalidPayload("cannot encode metadata: \(error)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch let error as WireError {
            throw error
        } catch {
            throw WireError.invalidMetadata(describe(error))
        }
    }

    /// A short, single-line reason (DecodingError's default description is long and nested).
    static func describe(_ error: Error) -> String {
        func path(_ p: [CodingKey]) -> String {
            p.isEmpty ? "top level" : p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing key \"\(key.stringValue)\" at \(path(ctx.codingPath))"
        case DecodingError.typeMismatch(let type, let ctx):
            return "wrong type at \(path(ctx.codingPath)) (expected \(type))"
        case DecodingError.valueNotFound(let type, let ctx):
            return "null at \(path(ctx.codingPath)) (expected \(type))"
        case DecodingError.dataCorrupted(let ctx):
            return "\(ctx.debugDescription.prefix(200)) at \(path(ctx.codingPath))"
        default:
            return String(describing: error).prefix(200).description
        }
    }
}
