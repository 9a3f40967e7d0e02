import Foundation
import NTKCore
import XCTest

final class BLASRuntimeTests: XCTestCase {
    func testCoreChoiceFollowsCPUFlags() {
        XCTAssertEqual(BLASRuntime.bestCoreForCPU(flags: ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]), "SkylakeX")
        XCTAssertEqual(BLASRuntime.bestCoreForCPU(flags: ["avx2", "fma", "avx512f"]), "Haswell")
        XCTAssertNil(BLASRuntime.bestCoreForCPU(flags: ["sse3"]))
        XCTAssertLessThan(BLASRuntime.tier(of: "Prescott"), BLASRuntime.tier(of: "Haswell"))
        XCTAssertLessThan(BLASRuntime.tier(of: "Haswell"), BLASRuntime.tier(of: "SkylakeX"))
        XCTAssertEqual(BLASRuntime.tier(of: "Zen"), BLASRuntime.tier(of: "Haswell"))
    }

    func testSelfCheckPassesOnTheKernelsInUse() {
        let check = BLASRuntime.selfCheck()
        XCTAssertTrue(check.passed, "max relative error \(check.maxRelativeError) on core \(BLASRuntime.coreName)")
    }

    /// The real thing, in a child process: `ntk` re-executes itself with the best core unless the
    /// environment chose one, and never overrides the environment.
    func testExecutableSelectsTheCoreAndRespectsTheEnvironment() throws {
        let ntk = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ntk")
        guard FileManager.default.isExecutableFile(atPath: ntk.path) else {
            return XCTFail("ntk executable not found next to the test bundle at \(ntk.path)")
        }
        func info(_ env: [String: String?]) throws -> [String: Any] {
            let p = Process()
            p.executableURL = ntk
            p.arguments = ["blas-info", "--json"]
            var environment = ProcessInfo.processInfo.environment
            for (k, v) in env { environment[k] = v }
            p.environment = environment
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        }
        let chosen = try info(["OPENBLAS_CORETYPE": nil, "NTK_OPENBLAS_AUTOSELECT": nil, "NTK_OPENBLAS_AUTOSELECTED": nil])
        let core = chosen["openblas_core"] as? String ?? ""
        if let best = BLASRuntime.bestCoreForCPU() {
            XCTAssertGreaterThanOrEqual(BLASRuntime.tier(of: core), BLASRuntime.tier(of: best), "\(chosen)")
        }
        XCTAssertEqual(chosen["self_check_passed"] as? Bool, true)
        let forced = try info(["OPENBLAS_CORETYPE": "Haswell", "NTK_OPENBLAS_AUTOSELECTED": nil])
        XCTAssertEqual(forced["openblas_core"] as? String, "Haswell")
        XCTAssertTrue((forced["selection"] as? String ?? "").contains("set by the environment"), "\(forced)")
        let off = try info(["OPENBLAS_CORETYPE": nil, "NTK_OPENBLAS_AUTOSELECT": "0", "NTK_OPENBLAS_AUTOSELECTED": nil])
        XCTAssertTrue((off["selection"] as? String ?? "").contains("own choice"), "\(off)")
    }
}
