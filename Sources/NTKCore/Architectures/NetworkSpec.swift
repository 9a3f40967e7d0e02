import Foundation

/// One layer of a network written as text, e.g. `conv(32,3)` or `res(conv(8,3)-relu-conv(8,3), scale=0.5)`.
///
/// The grammar (docs/architectures.md has examples):
///
///     network := layer ('-' layer)*
///     layer   := 'dense(' n ')'
///              | 'conv(' channels ',' size [',' 'stride=' s] [',' 'pad=' ('same'|'valid')] ')'
///              | 'avgpool(' size [',' 'stride=' s] ')'          -- valid padding; stride defaults to size
///              | 'gap' | 'flatten'
///              | 'relu' | 'erf' | 'tanh' | 'gelu' | 'identity'
///              | 'res(' network [',' 'scale=' α] ')'           -- x + α·branch(x)
///
/// Whitespace is ignored. Every layer keeps the character offset where it starts, so that an error found
/// later (a shape that does not fit) can still point into the string.
public indirect enum LayerSpec: Equatable, Sendable, CustomStringConvertible {
    /// A fully connected layer with `width` outputs (needs a flat input).
    case dense(width: Int)
    /// A 2-D convolution with `channels` filters of `size × size`, NTK-parametrized.
    case conv(channels: Int, size: Int, stride: Int, padding: Padding)
    /// Average pooling over `size × size` windows (valid padding).
    case averagePool(size: Int, stride: Int)
    /// The mean over all spatial positions: `H × W × C → C`.
    case globalAveragePool
    /// `H × W × C → H·W·C` in row-major (height, width, channel) order.
    case flatten
    /// An element-wise nonlinearity.
    case activation(Activation)
    /// `x + scale · branch(x)`; the branch must keep the shape.
    case residual(branch: [LayerSpec], scale: Double)

    /// How a convolution treats the border.
    public enum Padding: String, Sendable, Equatable {
        /// Zero-padded so that stride 1 keeps the spatial size (`⌈n/s⌉` outputs).
        case same
        /// Only windows that fit (`⌊(n − size)/s⌋ + 1` outputs).
        case valid
    }

    public var description: String {
        switch self {
        case .dense(let n): return "dense(\(n))"
        case let .conv(c, k, s, p):
            return "conv(\(c),\(k)" + (s != 1 ? ",stride=\(s)" : "") + (p != .same ? ",pad=\(p.rawValue)" : "") + ")"
        case let .averagePool(k, s): return "avgpool(\(k)" + (s != k ? ",stride=\(s)" : "") + ")"
        case .globalAveragePool: return "gap"
        case .flatten: return "flatten"
        case .activation(let a): return a.rawValue
        case let .residual(branch, scale):
            return "res(" + NetworkSpec.text(of: branch) + (scale != 1 ? ",scale=\(scale)" : "") + ")"
        }
    }
}

/// A network written as text (see `LayerSpec` for the grammar), parsed into layers.
public struct NetworkSpec: Equatable, Sendable, CustomStringConvertible {
    /// The layers in order.
    public let layers: [LayerSpec]
    /// Where each top-level layer starts in the source text (for errors found after parsing).
    public let positions: [Int]
    /// The text it was parsed from.
    public let source: String

    /// Parses `text`; a malformed spec throws `NetworkSpecError` with the offending position.
    public init(parsing text: String) throws {
        var parser = SpecParser(text)
        let (layers, positions) = try parser.network()
        try parser.expectEnd()
        self.layers = layers
        self.positions = positions
        self.source = text
    }

    /// The canonical text: parsing it gives the same layers.
    public var description: String { Self.text(of: layers) }

    static func text(of layers: [LayerSpec]) -> String { layers.map(\.description).joined(separator: "-") }

    /// True when the network has no spatial layer (an MLP written in this grammar).
    public var isFullyConnected: Bool {
        layers.allSatisfy { if case .dense = $0 { return true }; if case .activation = $0 { return true }; return false }
    }
}

/// A malformed network spec: what was wrong and at which character.
public struct NetworkSpecError: Error, Equatable, CustomStringConvertible {
    /// The spec as written.
    public let source: String
    /// 0-based character offset of the problem.
    public let position: Int
    /// What was expected or found.
    public let message: String

    public var description: String {
        let caret = String(repeating: " ", count: position) + "^"
        return "network spec, column \(position + 1): \(message)\n  \(source)\n  \(caret)"
    }
}

/// A recursive-descent reader over the spec's characters.
private struct SpecParser {
    let text: String
    let chars: [Character]
    var index = 0

    init(_ text: String) {
        self.text = text
        self.chars = Array(text)
    }

    func fail(_ message: String, at position: Int? = nil) -> NetworkSpecError {
        NetworkSpecError(source: text, position: position ?? min(index, chars.count), message: message)
    }

    mutating func skipSpaces() { while index < chars.count, chars[index].isWhitespace { index += 1 } }

    mutating func peek() -> Character? { skipSpaces(); return index < chars.count ? chars[index] : nil }

    mutating func consume(_ c: Character) -> Bool {
        if peek() == c { index += 1; return true }
        return false
    }

    mutating func expect(_ c: Character, _ context: String) throws {
        guard consume(c) else {
            let found = peek().map { "'\($0)'" } ?? "the end"
            throw fail("expected '\(c)' \(context), found \(found)")
        }
    }

    mutating func expectEnd() throws {
        if let c = peek() { throw fail("unexpected '\(c)' after the last layer (layers are joined by '-')") }
    }

    mutating func word() -> String {
        skipSpaces()
        let start = index
        while index < chars.count, chars[index].isLetter || chars[index].isNumber || chars[index] == "_" { index += 1 }
        return String(chars[start..<index]).lowercased()
    }

    mutating func network() throws -> ([LayerSpec], [Int]) {
        var layers: [LayerSpec] = [], positions: [Int] = []
        repeat {
            skipSpaces()
            positions.append(index)
            layers.append(try layer())
        } while consume("-")
        return (layers, positions)
    }

    mutating func layer() throws -> LayerSpec {
        skipSpaces()
        let start = index
        let name = word()
        guard !name.isEmpty else {
            let found = peek().map { "'\($0)'" } ?? "the end"
            throw fail("expected a layer (dense, conv, avgpool, gap, flatten, res or an activation), found \(found)")
        }
        switch name {
        case "dense":
            let (numbers, _) = try arguments(of: name, at: start, positional: 1, keys: [])
            return .dense(width: numbers[0])
        case "conv":
            let (numbers, options) = try arguments(of: name, at: start, positional: 2, keys: ["stride", "pad"])
            let stride = try positiveOption(options["stride"], named: "stride") ?? 1
            var padding = LayerSpec.Padding.same
            if let (value, at) = options["pad"] {
                guard let p = LayerSpec.Padding(rawValue: value.lowercased()) else {
                    throw fail("pad must be 'same' or 'valid', got '\(value)'", at: at)
                }
                padding = p
            }
            return .conv(channels: numbers[0], size: numbers[1], stride: stride, padding: padding)
        case "avgpool":
            let (numbers, options) = try arguments(of: name, at: start, positional: 1, keys: ["stride"])
            return .averagePool(size: numbers[0], stride: try positiveOption(options["stride"], named: "stride") ?? numbers[0])
        case "gap": return .globalAveragePool
        case "flatten": return .flatten
        case "res", "residual":
            try expect("(", "after '\(name)'")
            let (branch, _) = try network()
            var scale = 1.0
            if consume(",") {
                let keyAt = index
                guard word() == "scale" else { throw fail("res takes only 'scale=α' after its branch", at: keyAt) }
                try expect("=", "after 'scale'")
                let valueAt = index
                guard let value = Double(token()), value.isFinite else { throw fail("scale must be a finite number", at: valueAt) }
                scale = value
            }
            try expect(")", "to close res(")
            return .residual(branch: branch, scale: scale)
        default:
            if let activation = Activation(rawValue: name) { return .activation(activation) }
            throw fail("unknown layer '\(name)' (known: dense, conv, avgpool, gap, flatten, res, "
                       + Activation.allCases.map(\.rawValue).joined(separator: ", ") + ")", at: start)
        }
    }

    /// A bare value: letters, digits, '.', '+', '-' (for exponents), up to ',' or ')'.
    mutating func token() -> String {
        skipSpaces()
        let start = index
        while index < chars.count, chars[index].isLetter || chars[index].isNumber || ".+-_".contains(chars[index]) {
            // A '-' only belongs to the token in an exponent ("1e-3"); otherwise it joins layers.
            if chars[index] == "-", !(index > start && "eE".contains(chars[index - 1])) { break }
            index += 1
        }
        return String(chars[start..<index])
    }

    /// `( n1, n2, …, key=value, … )` with exactly `positional` positive integers first.
    mutating func arguments(of name: String, at start: Int, positional: Int, keys: Set<String>)
        throws -> ([Int], [String: (String, Int)]) {
        try expect("(", "after '\(name)'")
        var numbers: [Int] = []
        var options: [String: (String, Int)] = [:]
        if !consume(")") {
            repeat {
                skipSpaces()
                let at = index
                let first = token()
                if consume("=") {
                    guard keys.contains(first.lowercased()) else {
                        throw fail(keys.isEmpty ? "\(name) takes no options" : "unknown option '\(first)' for \(name) (known: \(keys.sorted().joined(separator: ", ")))", at: at)
                    }
                    skipSpaces()
                    let valueAt = index
                    options[first.lowercased()] = (token(), valueAt)
                } else {
                    guard options.isEmpty else { throw fail("positional argument after an option", at: at) }
                    guard let n = Int(first), n > 0 else { throw fail("expected a positive integer, found '\(first)'", at: at) }
                    numbers.append(n)
                }
            } while consume(",")
            try expect(")", "to close \(name)(")
        }
        guard numbers.count == positional else {
            let usage = name == "conv" ? "conv(channels, size)" : name == "dense" ? "dense(width)" : "avgpool(size)"
            throw fail("\(name) takes \(positional) number\(positional == 1 ? "" : "s"), got \(numbers.count): write \(usage)", at: start)
        }
        return (numbers, options)
    }

    func positiveOption(_ option: (String, Int)?, named key: String) throws -> Int? {
        guard let (value, at) = option else { return nil }
        guard let n = Int(value), n > 0 else { throw fail("\(key) must be a positive integer, got '\(value)'", at: at) }
        return n
    }
}
