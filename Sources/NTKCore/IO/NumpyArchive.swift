import Foundation
import ZIPFoundation

/// A NumPy `.npz` archive: named arrays in a zip file (stored or deflated, as `np.savez` and
/// `np.savez_compressed` write them).
public struct NumpyArchive: Sendable {
    /// Arrays by name (without the `.npy` suffix).
    public var arrays: [String: NumpyArray]

    public init(arrays: [String: NumpyArray] = [:]) { self.arrays = arrays }

    /// The named array, or an error naming the file and key.
    public func array(_ key: String, file: String = "archive") throws -> NumpyArray {
        guard let a = arrays[key] else { throw NumpyFormatError.missingArray(file: file, key: key) }
        return a
    }

    /// Reads an `.npz` file.
    public init(contentsOf url: URL) throws {
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw NumpyFormatError.unreadable(url.path, "not a zip/.npz archive (\(error))")
        }
        var arrays: [String: NumpyArray] = [:]
        for entry in archive where entry.type == .file {
            var data = Data()
            do { _ = try archive.extract(entry, skipCRC32: false) { data.append($0) } } catch {
                throw NumpyFormatError.malformed("\(url.path): entry \(entry.path): \(error)")
            }
            let key = entry.path.hasSuffix(".npy") ? String(entry.path.dropLast(4)) : entry.path
            arrays[key] = try NumpyArray(npyData: data, name: "\(url.path)[\(key)]")
        }
        self.arrays = arrays
    }

    /// Writes an uncompressed `.npz` (what `np.savez` writes), replacing the file atomically.
    public func write(to url: URL) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        try? FileManager.default.removeItem(at: temporary)
        do {
            let archive = try Archive(url: temporary, accessMode: .create)
            for key in arrays.keys.sorted() {
                let data = arrays[key]!.npyData()
                try archive.addEntry(with: key + ".npy", type: .file, uncompressedSize: Int64(data.count),
                                     compressionMethod: .none) { position, size in
                    data.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
        }
        // POSIX rename replaces the target atomically; FileManager.replaceItemAt on Linux removes an
        // existing destination and then fails, losing the old file.
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw NumpyFormatError.unreadable(url.path, "cannot write: \(reason)")
        }
    }
}

extension MLPParameters {
    /// The `.npz` layout of a network's weights: `W1 … WL` with shape `(n_ℓ, n_{ℓ−1})` (out × in) and
    /// `b1 … bL` with shape `(n_ℓ,)`, in the network's precision. neural-tangents' `stax.Dense` stores
    /// `Wᵀ`; PyTorch's `nn.Linear.weight` stores exactly `W`.
    public var archive: NumpyArchive {
        var arrays: [String: NumpyArray] = [:]
        for (l, (W, b)) in zip(weights, biases).enumerated() {
            arrays["W\(l + 1)"] = NumpyArray(W)
            arrays["b\(l + 1)"] = NumpyArray(b)
        }
        return NumpyArchive(arrays: arrays)
    }

    /// Weights for `architecture` from an archive in the layout above (shapes and finiteness checked).
    public init(archive: NumpyArchive, architecture: MLPArchitecture, file: String = "weights") throws {
        var weights: [Matrix<Scalar>] = [], biases: [[Scalar]] = []
        for l in 1...architecture.layerCount {
            let W = try archive.array("W\(l)", file: file), b = try archive.array("b\(l)", file: file)
            guard W.shape.count == 2 else { throw ModelError.shapeMismatch("\(file): W\(l) has shape \(W.shape), expected 2-D") }
            guard b.shape.count == 1 else { throw ModelError.shapeMismatch("\(file): b\(l) has shape \(b.shape), expected 1-D") }
            weights.append(try W.matrix())
            biases.append(b.values())
        }
        if archive.arrays["W\(architecture.layerCount + 1)"] != nil {
            throw ModelError.shapeMismatch("\(file): has more layers than the architecture's \(architecture.layerCount)")
        }
        self.init(weights: weights, biases: biases)
        try validate(against: architecture)
    }

    /// Infers widths `[n_0, …, n_L]` from the `W1 … WL` arrays of an archive.
    public static func widths(in archive: NumpyArchive) -> [Int]? {
        var widths: [Int] = []
        var l = 1
        while let W = archive.arrays["W\(l)"], W.shape.count == 2 {
            if widths.isEmpty { widths.append(W.shape[1]) }
            guard widths.last == W.shape[1] else { return nil }
            widths.append(W.shape[0])
            l += 1
        }
        return widths.count >= 2 ? widths : nil
    }
}
