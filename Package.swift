// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "FederatedNTK",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "NTKCore", targets: ["NTKCore"]),
        .library(name: "NTKData", targets: ["NTKData"]),
        .executable(name: "ntk", targets: ["ntk"]),
        .executable(name: "ntk-server", targets: ["ntk-server"]),
        .executable(name: "ntk-worker", targets: ["ntk-worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // System libraries (installed by deploy/install-deps.sh).
        .systemLibrary(name: "CLinearAlgebra", path: "Sources/CLinearAlgebra"),
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        .systemLibrary(name: "CInflate", path: "Sources/CInflate"),

        // The mathematics: matrices over BLAS/LAPACK, models, Jacobians, kernels, dynamics.
        .target(
            name: "NTKCore",
            dependencies: [
                "CLinearAlgebra",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        // The protocol: message header, typed array frames, checksums, chunking. Pure, no sockets.
        .target(name: "NTKWire", dependencies: ["NTKCore"]),
        // Moving frames: ZeroMQ ROUTER/DEALER sockets (with CURVE) and an in-process transport for tests.
        .target(name: "NTKTransport", dependencies: ["NTKWire", "CZeroMQ"]),
        // Run configuration files (YAML): model, training, schedule, endpoints, policies.
        .target(name: "NTKConfig", dependencies: ["NTKCore", "NTKData", "NTKWire", .product(name: "Yams", package: "Yams")]),
        // The two roles as libraries (testable in one process over the in-process transport).
        .target(name: "NTKServer", dependencies: ["NTKCore", "NTKData", "NTKConfig", "NTKWire", "NTKTransport",
                                                  .product(name: "Logging", package: "swift-log")]),
        .target(name: "NTKWorker", dependencies: ["NTKCore", "NTKData", "NTKConfig", "NTKWire", "NTKTransport",
                                                  .product(name: "Logging", package: "swift-log")]),
        // Data sets: loaders and splits.
        .target(name: "NTKData", dependencies: ["NTKCore", "CInflate"]),
        // Reports: HTML pages with SVG charts of finished runs (rounds.jsonl).
        .target(name: "NTKReport", dependencies: ["NTKServer", "NTKCore"]),
        // The command-line tool.
        .executableTarget(
            name: "ntk",
            dependencies: [
                "NTKCore", "NTKData", "CZeroMQ", "NTKConfig", "NTKTransport", "NTKServer", "NTKReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "ntk-server", dependencies: [
            "NTKServer", "NTKConfig", "NTKCore", "NTKTransport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "ntk-worker", dependencies: [
            "NTKWorker", "NTKConfig", "NTKCore", "NTKTransport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "NTKReportTests", dependencies: ["NTKReport", "NTKServer", "NTKCore"]),
        .testTarget(name: "NTKDataTests", dependencies: ["NTKData", "NTKCore"]),
        .testTarget(name: "NTKProcessTests", dependencies: ["NTKConfig", "NTKCore", "NTKWire", "NTKTransport", "NTKServer"]),
        .testTarget(name: "NTKFederationTests", dependencies: ["NTKServer", "NTKWorker", "NTKTransport", "NTKConfig", "NTKCore", "NTKWire"]),
        .testTarget(name: "NTKConfigTests", dependencies: ["NTKConfig", "NTKCore", "NTKData"]),
        .testTarget(name: "NTKWireTests", dependencies: ["NTKWire", "NTKCore"]),
        .testTarget(name: "NTKTransportTests", dependencies: ["NTKTransport", "NTKWire"]),
        .testTarget(
            name: "NTKCoreTests",
            dependencies: ["NTKCore", "NTKData"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
