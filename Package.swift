// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Kvitto",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kvitto", targets: ["Tools"]),
        .library(name: "Ledger", targets: ["Ledger"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // OpenSSL libcrypto (Debian's libssl-dev): SHA-256 without per-call allocation on the
        // ledger's append and verify paths; streaming AES-GCM for large payloads and X.509 CRLs in
        // Transport. Its C helpers live in its shim.h.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/Ledger/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // LMDB from Debian's liblmdb-dev. Every unsafe pointer operation on it lives in Ledger/Storage.
        .systemLibrary(
            name: "CLMDB",
            path: "Sources/Ledger/CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(
            name: "Ledger",
            dependencies: [
                "CLMDB",
                "COpenSSL",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Ledger",
            exclude: ["CLMDB", "COpenSSL"],
            swiftSettings: strict
        ),
        // libxml2 from Debian's libxml2-dev. Every unsafe pointer operation on it lives in
        // Transport/XML (XMLDocument, XMLSchema).
        .systemLibrary(
            name: "CLibXML2",
            path: "Sources/Transport/CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // zlib (Debian's zlib1g-dev): streaming gzip of AS4 payloads; used only in Transport/Streams.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/Transport/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "Transport",
            dependencies: [
                "CLibXML2",
                "CZlib",
                "COpenSSL",
                "Ledger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Transport",
            exclude: ["CLibXML2", "CZlib", "README.md"],
            swiftSettings: strict
        ),
        // Read models folded from the ledger (mailboxes, retry schedule, duplicate detection,
        // address book). Depends on the ledger only.
        .target(
            name: "Projections",
            dependencies: ["Ledger", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Projections",
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        // Who is calling: bearer JWTs verified against OpenID Connect issuers (discovery, JWKS,
        // jwt-kit), claims mapped to principal names, the development issuer of demos and tests.
        .target(
            name: "Identity",
            dependencies: [
                "Projections",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/Tools/Identity",
            swiftSettings: strict
        ),
        // The node: configuration, routing, the outbound and inbound message flows and the server,
        // composed from Ledger, Projections and Transport. The `kvitto` executable and the tests use it.
        .target(
            name: "Node",
            dependencies: [
                "Ledger",
                "Projections",
                "Transport",
                "Identity",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Tools/Node",
            swiftSettings: strict
        ),
        // The HTTP API: Schemas/openapi.yaml is the contract; the server interface is generated from
        // it at build time (swift-openapi-generator), so code and document cannot drift.
        .target(
            name: "API",
            dependencies: [
                "Ledger",
                "Projections",
                "Node",
                "Identity",
                "Transport",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Tools/API",
            swiftSettings: strict,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // Synthetic node histories (messages both ways, receipts, failures, grants, reads,
        // erasures) for the projection tests and `kvitto bench query`.
        .target(
            name: "Workload",
            dependencies: ["Ledger", "Projections"],
            path: "Sources/Tools/Workload",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Tools",
            dependencies: [
                "Ledger",
                "Projections",
                "Transport",
                "Node",
                "Identity",
                "API",
                "Workload",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // `kvitto bench`: every limit with the faster of BoringSSL and OpenSSL.
                "COpenSSL",
                // `kvitto bench query`: HTTPS load on the API and on a bare handler.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Tools",
            exclude: ["Node", "Identity", "API", "Workload"],
            swiftSettings: strict
        ),
        // The libFuzzer harness for the inbound parsers (Tests/fuzz.sh builds it with
        // -sanitize=fuzzer,address and -DKVITTO_FUZZ). In a normal build it is a small replay tool
        // with its own main: it runs inputs through a target and writes the seed corpora.
        // libFuzzer's driver entry point, declared for the harness (no library: the fuzzing
        // build's -sanitize=fuzzer links the runtime).
        .systemLibrary(name: "CLibFuzzer", path: "Tests/Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "KvittoFuzz",
            dependencies: ["Transport", "CLibFuzzer"],
            path: "Tests/Fuzz",
            exclude: ["CLibFuzzer", "corpus", "dictionaries"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: ["Ledger", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/LedgerTests",
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "Transport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TransportTests"
        ),
        .testTarget(
            name: "NodeTests",
            dependencies: ["Node", "Projections", "Transport", "Ledger", "API", "Identity", "Workload",
                           .product(name: "X509", package: "swift-certificates"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tests/NodeTests"
        ),
        .testTarget(
            name: "IdentityTests",
            dependencies: ["Identity", "Projections"],
            path: "Tests/IdentityTests"
        ),
        .testTarget(
            name: "ToolsTests",
            dependencies: ["Tools", "Ledger", "Node", "Projections", "Transport", "Workload",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")],
            path: "Tests/ToolsTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
