import Foundation
import NTKCore
import XCTest

final class WidthConvergenceTests: XCTestCase {
    /// Default (fast) version: widths 2^4 … 2^8, 24 seeds, relu and erf MLPs; the fitted slope lies in
    /// [−0.75, −0.3] (−0.5 expected).
    func testMLPDeviationFallsAsInverseSquareRootOfWidth() throws {
        let x = randomMatrix(6, 8, seed: 21, as: Double.self)
        for activation in [Activation.relu, .erf] {
            let rows = try WidthExperiment.mlp(activation: activation, inputs: x, widths: [16, 32, 64, 128, 256], seeds: 24)
            let slope = WidthExperiment.slope(rows)
            print(WidthExperiment.table("MLP 8-n-n-1 \(activation.rawValue)", rows))
            XCTAssertGreaterThanOrEqual(slope, -0.75, "\(activation)")
            XCTAssertLessThanOrEqual(slope, -0.3, "\(activation)")
        }
    }

    /// The same for CNNs (`Network`'s empirical NTK vs `InfiniteWidthNetworkKernel`): channels 2^4 … 2^8,
    /// 16 seeds, 4 inputs 4×4×2; flatten, GAP and residual readouts; slope in [−0.75, −0.3].
    func testCNNDeviationFallsAsInverseSquareRootOfWidth() throws {
        let x = randomMatrix(4, 32, seed: 41, as: Double.self)
        for template in WidthExperiment.convolutional {
            let rows = try WidthExperiment.network(template, inputShape: "4x4x2", inputs: x, widths: [16, 32, 64, 128, 256], seeds: 16)
            let slope = WidthExperiment.slope(rows)
            print(WidthExperiment.table(template + " on 4×4×2", rows))
            XCTAssertGreaterThanOrEqual(slope, -0.75, template)
            XCTAssertLessThanOrEqual(slope, -0.3, template)
        }
    }
}
