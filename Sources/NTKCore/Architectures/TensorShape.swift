import Foundation

/// The shape of one sample's activations: `height × width × channels` (a flat vector is `1 × 1 × n`).
public struct TensorShape: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let height: Int
    public let width: Int
    public let channels: Int
    /// True once flattened or globally pooled: only `dense` layers and activations may follow.
    public let isFlat: Bool

    /// An image-like shape.
    public init(height: Int, width: Int, channels: Int) {
        self.height = height; self.width = width; self.channels = channels; self.isFlat = false
    }

    /// A flat vector of `count` features.
    public init(flat count: Int) {
        height = 1; width = 1; channels = count; isFlat = true
    }

    /// Number of scalars per sample.
    public var count: Int { height * width * channels }

    public var description: String { isFlat ? "\(channels)" : "\(height)×\(width)×\(channels)" }

    /// Reads `8x8x1` (image) or `64` (flat).
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(whereSeparator: { $0 == "x" || $0 == "×" || $0 == "," })
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == parts.count, numbers.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidArchitecture("cannot read an input shape from \"\(text)\": write HxWxC (e.g. 8x8x1) or a feature count")
        }
        switch numbers.count {
        case 1: self.init(flat: numbers[0])
        case 3: self.init(height: numbers[0], width: numbers[1], channels: numbers[2])
        default: throw ModelError.invalidArchitecture("an input shape has 1 (flat) or 3 (HxWxC) numbers, got \"\(text)\"")
        }
    }
}

extension LayerSpec {
    /// The output shape for `input`, or a reason why the layer cannot take it.
    public func outputShape(for input: TensorShape) -> Result<TensorShape, ShapeMismatch> {
        switch self {
        case .dense(let n):
            guard input.isFlat else {
                return .failure(ShapeMismatch("\(self) needs a flat input but gets \(input): put flatten or gap before it"))
            }
            return .success(TensorShape(flat: n))
        case let .conv(c, k, s, padding):
            guard !input.isFlat else { return .failure(ShapeMismatch("\(self) needs an image input (H×W×C) but gets a flat \(input)")) }
            let h = Self.convolvedSize(input.height, size: k, stride: s, padding: padding)
            let w = Self.convolvedSize(input.width, size: k, stride: s, padding: padding)
            guard h > 0, w > 0 else { return .failure(ShapeMismatch("\(self) does not fit a \(input) input (kernel larger than the image)")) }
            return .success(TensorShape(height: h, width: w, channels: c))
        case let .averagePool(k, s):
            guard !input.isFlat else { return .failure(ShapeMismatch("\(self) needs an image input but gets a flat \(input)")) }
            let h = Self.convolvedSize(input.height, size: k, stride: s, padding: .valid)
            let w = Self.convolvedSize(input.width, size: k, stride: s, padding: .valid)
            guard h > 0, w > 0 else { return .failure(ShapeMismatch("\(self) window is larger than the \(input) input")) }
            return .success(TensorShape(height: h, width: w, channels: input.channels))
        case .globalAveragePool:
            guard !input.isFlat else { return .failure(ShapeMismatch("gap needs an image input but gets a flat \(input)")) }
            return .success(TensorShape(flat: input.channels))
        case .flatten:
            return .success(TensorShape(flat: input.count))
        case .activation:
            return .success(input)
        case let .residual(branch, _):
            var shape = input
            for layer in branch {
                switch layer.outputShape(for: shape) {
                case .success(let next): shape = next
                case .failure(let reason): return .failure(ShapeMismatch("inside res(…): " + reason.reason))
                }
            }
            guard shape == input else {
                return .failure(ShapeMismatch("res(…) branch turns \(input) into \(shape); a skip connection needs the same shape"))
            }
            return .success(input)
        }
    }

    /// Output length along one axis of a window sweep.
    public static func convolvedSize(_ n: Int, size: Int, stride: Int, padding: Padding) -> Int {
        switch padding {
        case .same: return (n + stride - 1) / stride
        case .valid: return n >= size ? (n - size) / stride + 1 : 0
        }
    }
}

extension NetworkSpec {
    /// Every layer's output shape for `input` (`result[i]` after layer i), or an error pointing at the
    /// first layer that does not fit.
    public func shapes(for input: TensorShape) throws -> [TensorShape] {
        var shapes: [TensorShape] = []
        var shape = input
        for (layer, position) in zip(layers, positions) {
            switch layer.outputShape(for: shape) {
            case .success(let next): shape = next
            case .failure(let mismatch): throw NetworkSpecError(source: source, position: position, message: mismatch.reason)
            }
            shapes.append(shape)
        }
        guard shape.isFlat else {
            throw NetworkSpecError(source: source, position: source.count,
                                   message: "the network ends with an image (\(shape)); end with flatten or gap and a dense layer")
        }
        return shapes
    }
}

/// Why a layer cannot take the shape it is given.
public struct ShapeMismatch: Error, Equatable, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
