import NTKCore
import XCTest

/// The dense-or-Lanczos plan: from sizes, the memory budget and the machine's speed, with a reason.
final class SolverPlanTests: XCTestCase {
    private let speed = SolverPlan.MachineSpeed(gemm: 1e11, eigen: 1e10)

    private func plan(_ solver: KernelSolver = .auto, kernel: KernelKind = .exact, widths: [Int] = [64, 512, 512, 10],
                      m: Int, budget: Double = 8e9) -> SolverPlan {
        SolverPlan(solver: solver, kernel: kernel, parameterCount: zip(widths, widths.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 },
                   gramDepth: widths.dropFirst().reduce(0, +), sampleCount: m, rows: kernel == .exact ? m * widths.last! : m,
                   memoryBudget: budget, speed: speed)
    }

    func testSizesDecide() throws {
        // The default run: 1 438 samples × 10 outputs; a dense eigendecomposition of 14 380 rows takes far longer.
        let digits = plan(m: 1438)
        XCTAssertEqual(digits.method, .lanczos)
        XCTAssertTrue(digits.reason.hasPrefix("Lanczos: est."), digits.reason)
        XCTAssertLessThan(try XCTUnwrap(digits.lanczos).seconds * 100, try XCTUnwrap(digits.dense).seconds)
        XCTAssertEqual(try XCTUnwrap(digits.dense).bytes, 4 * 14380.0 * 14380 * 8)
        // A small problem is decomposed densely.
        XCTAssertEqual(plan(m: 40).method, .dense)
        // Too big for the budget: Lanczos, and the reason says so.
        let tight = plan(widths: [8, 16, 1], m: 3000, budget: 1e6)
        XCTAssertEqual(tight.method, .lanczos)
        XCTAssertTrue(tight.reason.hasSuffix("> budget 1 MB"), tight.reason)
    }

    func testForcedChoicesAndTheAveragedKernel() {
        XCTAssertEqual(plan(.eigen, m: 1438).method, .dense)
        XCTAssertEqual(plan(.lanczos, m: 40).method, .lanczos)
        let averaged = plan(kernel: .outputAveraged, m: 1438)
        XCTAssertEqual(averaged.method, .dense)
        XCTAssertNil(averaged.lanczos)
        XCTAssertTrue(averaged.reason.contains("output-averaged"))
        // The row cap of the options sends a large exact problem to Lanczos whatever the estimates.
        var options = LinearizationOptions()
        options.denseLimit = 100
        XCTAssertEqual(options.plan(widths: [4, 8, 3], sampleCount: 50).method, .lanczos)
    }
}
