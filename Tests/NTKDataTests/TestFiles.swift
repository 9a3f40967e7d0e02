import Foundation
import NTKCore
import NTKData
import XCTest

/// A fresh temporary directory per test case, removed afterwards.
class DataTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ntkdata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// The error's text, or "no error".
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }
}

/// IDX bytes: magic, big-endian dimensions, then the elements (already big-endian encoded).
func idx(type: UInt8, shape: [Int], payload: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for d in shape { b += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
    return b + payload
}

func bigEndian(_ f: Float) -> [UInt8] {
    let w = f.bitPattern
    return [UInt8(w >> 24), UInt8(w >> 16 & 0xff), UInt8(w >> 8 & 0xff), UInt8(w & 0xff)]
}
