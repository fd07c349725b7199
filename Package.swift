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
    ],
    targets: [
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
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Ledger",
            exclude: ["CLMDB"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Tools",
            dependencies: [
                "Ledger",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Tools",
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: ["Ledger", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/LedgerTests",
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "ToolsTests",
            dependencies: ["Tools", "Ledger"],
            path: "Tests/ToolsTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
