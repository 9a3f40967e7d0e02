import XCTest
import NTKCore

final class NetworkSpecTests: XCTestCase {
    func testParsesTheIssueExampleAndRoundTrips() throws {
        let spec = try NetworkSpec(parsing: "conv(32,3)-relu-conv(32,3)-relu-gap-dense(10)")
        XCTAssertEqual(spec.layers, [.conv(channels: 32, size: 3, stride: 1, padding: .same), .activation(.relu),
                                     .conv(channels: 32, size: 3, stride: 1, padding: .same), .activation(.relu),
                                     .globalAveragePool, .dense(width: 10)])
        XCTAssertEqual(try NetworkSpec(parsing: spec.description).layers, spec.layers)
        XCTAssertFalse(spec.isFullyConnected)
        XCTAssertTrue(try NetworkSpec(parsing: "dense(512)-relu-dense(10)").isFullyConnected)
    }

    func testOptionsResidualAndWhitespace() throws {
        let spec = try NetworkSpec(parsing: " conv(8, 3, stride=2, pad=valid) - res( conv(8,3)-relu-conv(8,3) , scale=0.5) - avgpool(2) - flatten - dense(10)")
        XCTAssertEqual(spec.layers[0], .conv(channels: 8, size: 3, stride: 2, padding: .valid))
        XCTAssertEqual(spec.layers[1], .residual(branch: [.conv(channels: 8, size: 3, stride: 1, padding: .same), .activation(.relu),
                                                          .conv(channels: 8, size: 3, stride: 1, padding: .same)], scale: 0.5))
        XCTAssertEqual(spec.layers[2], .averagePool(size: 2, stride: 2))
        XCTAssertEqual(try NetworkSpec(parsing: spec.description), try NetworkSpec(parsing: spec.description))
        XCTAssertEqual(try NetworkSpec(parsing: spec.description).layers, spec.layers)
        XCTAssertEqual(try NetworkSpec(parsing: "res(relu,scale=1e-1)").layers, [.residual(branch: [.activation(.relu)], scale: 0.1)])
    }

    func testMalformedSpecsPointAtTheProblem() {
        func position(_ text: String) -> (Int, String)? {
            do { _ = try NetworkSpec(parsing: text); return nil } catch let e as NetworkSpecError {
                XCTAssertTrue(e.description.contains(text), "the message quotes the spec")
                return (e.position, e.message)
            } catch { XCTFail("\(error)"); return nil }
        }
        XCTAssertEqual(position("conv(32,3)-relu-conv(32)")?.0, 16)          // one number short: the layer
        XCTAssertEqual(position("conv(32,3)-relux-dense(10)")?.0, 11)        // unknown layer name
        XCTAssertEqual(position("conv(32,3,stride=0)-gap-dense(1)")?.0, 17)  // bad option value
        XCTAssertEqual(position("conv(32,3,strid=2)")?.0, 10)                // unknown option
        XCTAssertEqual(position("dense(10)-")?.0, 10)                        // dangling '-'
        XCTAssertEqual(position("dense(10) dense(2)")?.0, 10)                // missing '-'
        XCTAssertEqual(position("dense(-3)")?.0, 6)
        XCTAssertEqual(position("res(conv(8,3)")?.0, 13)                     // unclosed res(
        XCTAssertTrue(position("conv(8,3)-pool(2)")!.1.contains("unknown layer 'pool'"))
    }

    func testShapesAndShapeErrors() throws {
        let digits = TensorShape(height: 8, width: 8, channels: 1)
        let spec = try NetworkSpec(parsing: "conv(16,3)-relu-avgpool(2)-conv(16,3,pad=valid)-res(relu-conv(16,3))-flatten-dense(10)")
        let shapes = try spec.shapes(for: digits)
        XCTAssertEqual(shapes.map(\.description), ["8×8×16", "8×8×16", "4×4×16", "2×2×16", "2×2×16", "64", "10"])
        XCTAssertEqual(try TensorShape(parsing: "8x8x1"), digits)
        XCTAssertEqual(try TensorShape(parsing: "64"), TensorShape(flat: 64))
        XCTAssertThrowsError(try TensorShape(parsing: "8x8"))

        func error(_ text: String, _ input: TensorShape = digits) -> NetworkSpecError? {
            do { _ = try NetworkSpec(parsing: text).shapes(for: input); return nil } catch { return error as? NetworkSpecError }
        }
        XCTAssertEqual(error("conv(8,3)-dense(10)")?.position, 10)                     // dense on an image
        XCTAssertTrue(error("conv(8,3)-dense(10)")!.message.contains("flatten or gap"))
        XCTAssertEqual(error("conv(8,3)-res(conv(4,3))-gap-dense(1)")?.position, 10)  // residual changes channels
        XCTAssertEqual(error("conv(8,9,pad=valid)-gap-dense(1)")?.position, 0)        // kernel larger than 8×8
        XCTAssertNotNil(error("conv(8,3)"))                                            // ends with an image
        XCTAssertEqual(error("conv(8,3)-gap-dense(1)", TensorShape(flat: 64))?.position, 0)
    }
}
