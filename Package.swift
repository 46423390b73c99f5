// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "KTSExchange",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ktsx", targets: ["KTSXCommand"]),
        .executable(name: "ktsx-fuzz", targets: ["KTSXFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Layer 1, pure: exchange types, validation results, the CSV reader and Table Schema checks,
        // report rendering. No IO, no clock.
        .target(name: "ExchangeCore", swiftSettings: swiftSettings),
        // The rules module (pure): named rules, each a small function of a record and the reference data.
        .target(name: "ExchangeRules", dependencies: ["ExchangeCore"], swiftSettings: swiftSettings),
        // The bundled XSDs and Table Schemas, compiled into the binary.
        .target(name: "ExchangeSchemas", dependencies: ["ExchangeCore"], swiftSettings: swiftSettings),
        // Layer 2, adapters: libxml2 and the file system.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"]), .brew(["libxml2"])]
        ),
        .target(
            name: "ExchangeXML", dependencies: ["ExchangeCore", "CLibXML2"],
            // Every SAX callback touches this module's state; dynamic exclusivity checks on it cost more
            // than the callbacks' work (measured with callgrind: see BENCHMARKS.md). Callbacks for one
            // document run on one thread, one at a time.
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(
            name: "ExchangeValidation",
            dependencies: ["ExchangeCore", "ExchangeSchemas", "ExchangeXML"],
            swiftSettings: swiftSettings
        ),
        // The ledger on SQLite (embedded, the default).
        .target(
            name: "ExchangeLedgerSQLite",
            dependencies: ["ExchangeCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        // The ledger on PostgreSQL (several instances on one drop tree).
        .target(
            name: "ExchangeLedgerPostgres",
            dependencies: [
                "ExchangeCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The drop tree on the file system, the file pipeline and the services that poll.
        .target(
            name: "ExchangeRuntime",
            dependencies: [
                "ExchangeCore", "ExchangeRules", "ExchangeSchemas", "ExchangeValidation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The review web page (Hummingbird, Mustache templates), its login, /metrics and /healthz.
        .target(
            name: "ExchangeWeb",
            dependencies: [
                "ExchangeCore", "ExchangeRules", "ExchangeRuntime", "ExchangeSchemas", "ExchangeValidation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 3: the one executable.
        .executableTarget(
            name: "KTSXCommand",
            dependencies: [
                "ExchangeCore", "ExchangeValidation", "ExchangeRuntime", "ExchangeLedgerSQLite", "ExchangeLedgerPostgres", "ExchangeWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fuzz harness: with `-sanitize=fuzzer -DFUZZING` a libFuzzer binary (scripts/fuzz.sh), otherwise
        // a replayer of inputs through the same targets (the tests replay the corpus with it).
        .executableTarget(
            name: "KTSXFuzz", dependencies: ["ExchangeCore", "ExchangeRules", "ExchangeValidation"], swiftSettings: swiftSettings),
        // Test support: repository paths and a process runner.
        .target(
            name: "ExchangeTesting", dependencies: ["ExchangeCore"], path: "Tests/Support/ExchangeTesting",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ExchangeLedgerTests",
            dependencies: [
                "ExchangeCore", "ExchangeLedgerSQLite", "ExchangeLedgerPostgres", "ExchangeRules", "ExchangeRuntime", "ExchangeTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(name: "ExchangeCoreTests", dependencies: ["ExchangeCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ExchangeRuntimeTests",
            dependencies: ["ExchangeRuntime", "ExchangeRules", "ExchangeCore", "ExchangeTesting",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .testTarget(name: "ExchangeRulesTests", dependencies: ["ExchangeRules", "ExchangeCore", "ExchangeTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ExchangeValidationTests",
            dependencies: ["ExchangeCore", "ExchangeSchemas", "ExchangeXML", "ExchangeValidation", "ExchangeTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ExchangeWebTests",
            dependencies: [
                "ExchangeWeb", "ExchangeRuntime", "ExchangeRules", "ExchangeCore", "ExchangeSchemas", "ExchangeValidation", "ExchangeTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // The model-based test: random worlds through the real binary, compared with a model written from
        // DESIGN.md and the partner specification. It depends on no module of the exchange but the test
        // support (a process runner, repository paths), so that it cannot share the code under test.
        .testTarget(name: "ExchangeModelTests", dependencies: ["ExchangeTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "KTSXCommandTests",
            dependencies: ["KTSXCommand", "KTSXFuzz", "ExchangeTesting", "ExchangeCore", "ExchangeLedgerSQLite", "ExchangeLedgerPostgres", "ExchangeRuntime"],
            swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
