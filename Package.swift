// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// The librdkafka that `scripts/bootstrap` builds into `.deps/` when the system one is too old. When it is there,
/// StreamKit compiles and links against it with an rpath, so that a plain `swift build` / `swift run` works
/// without pointing pkg-config at it first.
let localDeps = Context.packageDirectory + "/.deps"
let localRdKafka = FileManager.default.fileExists(atPath: localDeps + "/lib/pkgconfig/rdkafka.pc")

let package = Package(
    name: "swift-dataflow",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StreamKit", targets: ["StreamKit"]),
        .library(name: "StreamKitTesting", targets: ["StreamKitTesting"]),
        .library(name: "Dataflow", targets: ["Dataflow"]),
        .library(name: "Gateways", targets: ["Gateways"]),
        .executable(name: "dataflow", targets: ["dataflow"]),
        .executable(name: "join-latency", targets: ["join-latency"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        // Without its default traits: neither swift-configuration nor full Foundation is needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // Native libraries, found through pkg-config (librdkafka in .deps/ through StreamKit's flags, see above).
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: localRdKafka ? nil : "rdkafka"
        ),
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev", "liblz4-dev"])]
        ),

        // What RocksDB's C API lacks for one memory budget per process (a shared write-buffer manager).
        .target(name: "CRocksDBMemory", dependencies: ["CRocksDB"]),

        // Layers: StreamKit -> Dataflow -> Gateways -> dataflow (CLI). Nothing imports upward.
        .target(
            name: "StreamKit",
            dependencies: [
                "CRdKafka",
                "CRocksDB",
                "CRocksDBMemory",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: localRdKafka ? [.unsafeFlags(["-Xcc", "-I\(localDeps)/include"])] : [],
            linkerSettings: localRdKafka ? [.unsafeFlags(["-L\(localDeps)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(localDeps)/lib"])] : []
        ),
        .target(
            name: "StreamKitTesting",
            dependencies: ["StreamKit", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Dataflow",
            dependencies: [
                "StreamKit",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Gateways",
            dependencies: [
                "Dataflow",
                "StreamKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The checkout's scripts (a local broker, model servers) run from Swift: by the CLI, the benchmarks, tests.
        .target(name: "ProjectScripts"),
        .executableTarget(
            name: "join-latency",
            dependencies: [
                "StreamKit",
                "ProjectScripts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "dataflow",
            dependencies: [
                "Gateways",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                "ProjectScripts",
                .product(name: "Yams", package: "Yams"),
                "Dataflow",
                "StreamKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .testTarget(
            name: "StreamKitTests",
            dependencies: [
                "StreamKit",
                "StreamKitTesting",
                "CRdKafka",
                "CRocksDB",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "DataflowTests", dependencies: ["Dataflow", "StreamKit", "StreamKitTesting"]),
        .testTarget(name: "GatewaysTests", dependencies: ["Gateways", "Dataflow", "StreamKit"]),
        .testTarget(name: "CommandTests", dependencies: ["dataflow", "StreamKit", "Gateways"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "StreamKit",
                "ProjectScripts",
                "Dataflow",
                "Gateways",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        ),
        // Run as separate processes by the integration tests (killed, restarted, stopped with signals).
        .executableTarget(
            name: "streamkit-test-app",
            dependencies: [
                "StreamKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/StreamKitTestApp"
        ),

        .executableTarget(
            name: "kafka-throughput",
            dependencies: [
                "StreamKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/KafkaThroughput"
        ),
        .executableTarget(
            name: "streams-bench",
            dependencies: [
                "StreamKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/StreamsBench"
        ),
        .executableTarget(
            name: "gateway-bench",
            dependencies: [
                "StreamKit",
                "Dataflow",
                "Gateways",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/GatewayBench"
        ),
]
)

for target in package.targets where target.type != .system && target.name != "CRocksDBMemory" {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    // Async functions run on their caller's actor unless marked `@concurrent`: a task actor's processors
    // (non-Sendable, owned by the actor) are called without leaving it.
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
