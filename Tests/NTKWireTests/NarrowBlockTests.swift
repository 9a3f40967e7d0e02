import Foundation
import NTKCore
import NTKWire
import XCTest

/// Blocks whose factors travel as f16 or bf16: half the bytes, and a Gram close to the Float32 one.
final class NarrowBlockTests: XCTestCase {
    func testRoundingIsToNearestEvenAndSpecialValuesSurvive() {
        let values: [Float] = [0, -0.0, 1, -2.5, 1 + 1 / 512, 65504, 1e-8, .infinity, -.infinity, .nan, 3.14159265]
        let f16 = values.withUnsafeBufferPointer { NarrowFloat.encode($0, as: .f16) }
        let bf16 = values.withUnsafeBufferPointer { NarrowFloat.encode($0, as: .bf16) }
        let back16 = f16.withUnsafeBytes { NarrowFloat.decode($0, count: values.count, from: .f16) }
        let backBF = bf16.withUnsafeBytes { NarrowFloat.decode($0, count: values.count, from: .bf16) }
        for (i, v) in values.enumerated() where v.isFinite && abs(v) <= 65504 && abs(v) >= 1e-4 {
            XCTAssertEqual(back16[i], Float(Float16(v)), "f16 of \(v)")
            XCTAssertLessThanOrEqual(abs(back16[i] - v), abs(v) * 0x1p-11, "f16 keeps 11 bits of \(v)")
            XCTAssertLessThanOrEqual(abs(backBF[i] - v), abs(v) * 0x1p-8, "bf16 keeps 8 bits of \(v)")
        }
        // 1 + 2⁻⁹ lies halfway between two bf16 values (8-bit significand): ties go to the even one, 1.
        XCTAssertEqual(backBF[4], 1)
        XCTAssertEqual(backBF[5], 65536, "65 504 rounds up in bf16")
        XCTAssertEqual(back16[6], 0, "1e-8 underflows f16")
        XCTAssertGreaterThan(backBF[6], 0, "bf16 has binary32's range")
        XCTAssertEqual(Array(back16[7...8]), [.infinity, -.infinity])
        XCTAssertEqual(Array(backBF[7...8]), [.infinity, -.infinity])
        XCTAssertTrue(back16[9].isNaN && backBF[9].isNaN)
        XCTAssertEqual(backBF[1].sign, .minus)
    }

    func testNarrowBlocksHalveTheBytesAndKeepTheGram() throws {
        let (arch, _, j, y) = try smallBlock(widths: [64, 256, 256, 10], samples: 60, seed: 7)
        let exact = j.gram(.exact)
        let full = try Message(Block(factored: j, targets: y), workerID: 1, runID: 1, round: 1).encoded().reduce(0) { $0 + $1.count }
        var errors: [DType: Double] = [:]
        for dtype in [DType.f16, .bf16] {
            let message = try Message(Block(factored: j, targets: y, dtype: dtype), workerID: 1, runID: 1, round: 1)
            let bytes = message.encoded().reduce(0) { $0 + $1.count }
            XCTAssertLessThan(Double(bytes), 0.52 * Double(full), "\(dtype): \(bytes) bytes vs \(full)")
            let decoded = try Wire.decode(message.encoded()).payload(Block.self)
            XCTAssertEqual(decoded.layerInputs.map(\.dtype), [dtype, dtype, dtype])
            let (back, targets) = try decoded.factoredJacobian(architecture: arch, as: Float.self)
            XCTAssertEqual(targets, y, "targets stay Float32")
            XCTAssertEqual(back.outputs, j.outputs, "outputs stay Float32")
            errors[dtype] = back.gram(.exact).converted(to: Double.self).relativeDistance(to: exact.converted(to: Double.self))
        }
        print("relative Frobenius error of the Gram from narrow factors: f16 \(errors[.f16]!), bf16 \(errors[.bf16]!)")
        XCTAssertLessThan(errors[.f16]!, 2e-4)   // measured 4.6e-5
        XCTAssertLessThan(errors[.bf16]!, 2e-3)  // measured 3.6e-4
        XCTAssertLessThan(errors[.f16]!, errors[.bf16]!, "f16 keeps 3 more bits")

        // The dense form narrows too, and refuses a dtype that is not a float.
        let dense = try Block(dense: j.denseBlock(), targets: y, dtype: .bf16)
        XCTAssertEqual(dense.dense?.dtype, .bf16)
        XCTAssertThrowsError(try Block(factored: j, targets: y, dtype: .i64))
    }
}
