// swift-tools-version:6.1
import PackageDescription

/// One list of settings for every target: Swift 6 language mode plus the
/// upcoming features grpc-swift itself builds with.
let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
  name: "kiln",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "kilnd", targets: ["kilnd"]),
    .executable(name: "kiln", targets: ["kiln"]),
    .library(name: "KilnClient", targets: ["KilnClient"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.0.0"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.0.0"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    // No traits: the metrics endpoint needs neither swift-configuration nor full Foundation.
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
    .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
  ],
  targets: [
    // Domain types, the job state machine and errors. No I/O.
    .target(
      name: "KilnCore",
      swiftSettings: swiftSettings
    ),
    // Code generated from Protos/ by dev/generate-protos.sh. Never edited by hand.
    .target(
      name: "KilnProto",
      dependencies: [
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // The one mapping between domain values and wire values, shared by server and SDK.
    .target(
      name: "KilnWire",
      dependencies: [
        "KilnCore",
        "KilnProto",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // Every metric the server exports, on one Prometheus registry.
    .target(
      name: "KilnMetrics",
      dependencies: [
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      swiftSettings: swiftSettings
    ),
    // The store protocol and its SQLite implementation.
    .target(
      name: "KilnStore",
      dependencies: [
        "KilnCore",
        "KilnMetrics",
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      swiftSettings: swiftSettings
    ),
    // The same store protocol on PostgreSQL (postgres-nio), for several kilnd replicas
    // sharing one database.
    .target(
      name: "KilnPostgresStore",
      dependencies: [
        "KilnCore",
        "KilnMetrics",
        "KilnStore",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    // The scheduler, the step runners and their logs, subjects, retention; owns every
    // state transition.
    .target(
      name: "KilnEngine",
      dependencies: [
        "KilnCore",
        "KilnMetrics",
        "KilnStore",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    // Watches: the event hub that fans the event log out, WatchJobs/WatchJob/FollowStepLog,
    // and the compaction of the event log.
    .target(
      name: "KilnWatch",
      dependencies: [
        "KilnCore",
        "KilnMetrics",
        "KilnStore",
        "KilnEngine",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "DequeModule", package: "swift-collections"),
      ],
      swiftSettings: swiftSettings
    ),
    // Completion callbacks: the rule that queues them and their delivery (AsyncHTTPClient).
    .target(
      name: "KilnCallbacks",
      dependencies: [
        "KilnCore",
        "KilnMetrics",
        "KilnStore",
        "KilnEngine",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    // Projects, users, roles, tokens and who may change them.
    .target(
      name: "KilnAccess",
      dependencies: [
        "KilnCore",
        "KilnStore",
        "KilnEngine",
        "KilnCallbacks",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),
    // The HTTP face: the job monitor page, JSON for every gRPC method, Server-Sent Events.
    .target(
      name: "KilnWeb",
      dependencies: [
        "KilnCore",
        "KilnProto",
        .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdHTTP2", package: "hummingbird"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      exclude: ["Page"],
      swiftSettings: swiftSettings
    ),
    // gRPC services: protobuf <-> domain, error mapping, caller identity.
    .target(
      name: "KilnServer",
      dependencies: [
        "KilnWeb",
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        "KilnCore",
        "KilnStore",
        "KilnPostgresStore",
        "KilnEngine",
        "KilnCallbacks",
        "KilnAccess",
        "KilnWatch",
        "KilnMetrics",
        "KilnProto",
        "KilnWire",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
      ],
      swiftSettings: swiftSettings
    ),
    // The Swift client SDK.
    .target(
      name: "KilnClient",
      dependencies: [
        "KilnCore",
        "KilnProto",
        "KilnWire",
        .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "kilnd",
      dependencies: [
        "KilnServer",
        "KilnEngine",
        "KilnCallbacks",
        "KilnPostgresStore",
        "KilnMetrics",
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "kiln",
      dependencies: [
        "KilnClient",
        "KilnCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings
    ),
    // The SDK example the README runs.
    .executableTarget(
      name: "kiln-sdk-example",
      dependencies: ["KilnClient"],
      path: "Examples/sdk-quickstart",
      swiftSettings: swiftSettings
    ),
    // Benchmarks that print figures (run in release).
    .executableTarget(
      name: "kiln-bench",
      dependencies: [
        "KilnServer", "KilnEngine", "KilnAccess", "KilnProto", "KilnClient", "KilnPostgresStore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    // Seeded, mutation-based fuzz cases over what hostile clients and configuration files
    // reach: the job-type parser, page tokens, filters, wire timestamps, names. One library,
    // so `kiln-fuzz` and `KilnFuzzingTests` run the same code.
    .target(
      name: "KilnFuzzing",
      dependencies: [
        "KilnCore", "KilnServer", "KilnProto", "KilnWire",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),
    // The fuzz suite for long runs (run in release): `swift run -c release kiln-fuzz --inputs 10000000`.
    .executableTarget(
      name: "kiln-fuzz",
      dependencies: [
        "KilnFuzzing",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnCoreTests",
      dependencies: ["KilnCore"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnFuzzingTests",
      dependencies: ["KilnFuzzing"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnWireTests",
      dependencies: [
        "KilnCore", "KilnProto", "KilnWire",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnStoreTests",
      dependencies: [
        "KilnCore", "KilnStore", "KilnPostgresStore", "KilnTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnEngineTests",
      dependencies: [
        "KilnCore", "KilnStore", "KilnEngine", "KilnTestSupport",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    // What the end-to-end test targets share: a real server on an ephemeral port.
    .target(
      name: "KilnTestSupport",
      dependencies: [
        "KilnServer", "KilnClient", "KilnProto", "KilnEngine", "KilnCallbacks", "KilnAccess", "KilnWatch",
        "KilnPostgresStore",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
      ],
      path: "Tests/KilnTestSupport",
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnClientTests",
      dependencies: [
        "KilnClient", "KilnServer", "KilnEngine", "KilnCallbacks", "KilnAccess", "KilnWatch", "KilnTestSupport", "KilnProto",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnCLITests",
      dependencies: ["kiln", "KilnServer", "KilnTestSupport"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KilnServerTests",
      dependencies: [
        "KilnCore", "KilnServer", "KilnEngine", "KilnCallbacks", "KilnAccess", "KilnWatch", "KilnProto", "KilnClient", "KilnTestSupport",
        "KilnMetrics",
        "KilnWeb",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
  ]
)
