// swift-tools-version: 6.0
// Landauer: measuring what learning costs in energy.
//
// Folders and dependency direction (see docs/architecture.md):
//   Firmware/     ground floor, Embedded-Swift subset: units, wire protocol, command engine
//   Simulators/   device physics and the virtual analog front end        (Firmware)
//   Drivers/      transports and the board client                        (Firmware)
//   Calibration/  energy accounting and calibration                      (Firmware)
//   Sources/LandauerTraining  data sets and equilibrium-propagation training (Firmware, Drivers, Calibration)
//   Sources/      composition layer, CLI, benchmarks                     (all above)
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The numerical modules (the firmware engine, the simulator, training, fitting) are optimised in
/// debug builds too: the test suite drives whole virtual boards through them, which unoptimised
/// code runs ten times slower. Tests still see them through @testable import (debug builds enable
/// testing), and the other modules stay at -Onone for debugging.
let numerical: [SwiftSetting] = strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "Landauer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "landauer", targets: ["landauer"]),
        .executable(name: "landauer-bench", targets: ["landauer-bench"]),
        .library(name: "LandauerFirmware", targets: ["LandauerFirmware"]),
        .library(name: "LandauerSimulators", targets: ["LandauerSimulators"]),
        .library(name: "LandauerDrivers", targets: ["LandauerDrivers"]),
        .library(name: "LandauerCalibration", targets: ["LandauerCalibration"]),
        .library(name: "LandauerTraining", targets: ["LandauerTraining"]),
        .library(name: "LandauerStore", targets: ["LandauerStore"]),
        .library(name: "LandauerKit", targets: ["LandauerKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .target(name: "LandauerFirmware", path: "Firmware/LandauerFirmware", swiftSettings: numerical),
        .target(
            name: "LandauerSimulators", dependencies: ["LandauerFirmware"],
            path: "Simulators/LandauerSimulators", swiftSettings: numerical),
        .systemLibrary(
            name: "CLibSerialPort", path: "Drivers/CLibSerialPort", pkgConfig: "libserialport",
            providers: [.apt(["libserialport-dev"]), .brew(["libserialport"])]),
        .systemLibrary(
            name: "CLibUSB", path: "Drivers/CLibUSB", pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"]), .brew(["libusb"])]),
        .target(
            name: "LandauerDrivers", dependencies: ["LandauerFirmware", "CLibSerialPort", "CLibUSB"],
            path: "Drivers/LandauerDrivers", swiftSettings: strict),
        .target(
            name: "LandauerCalibration", dependencies: ["LandauerFirmware"],
            path: "Calibration/LandauerCalibration", swiftSettings: strict),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .target(
            name: "LandauerTraining",
            dependencies: ["LandauerFirmware", "LandauerDrivers", "LandauerCalibration", "CZlib"],
            path: "Sources/LandauerTraining",
            exclude: ["Resources/README.md"],
            resources: [.copy("Resources/digits.csv.gz")],
            swiftSettings: numerical),
        .target(
            name: "LandauerStore", dependencies: [.product(name: "GRDB", package: "GRDB.swift"), "CZlib"],
            path: "Sources/LandauerStore", swiftSettings: strict),
        .target(
            name: "LandauerKit",
            dependencies: [
                "LandauerFirmware", "LandauerSimulators", "LandauerDrivers", "LandauerCalibration", "LandauerTraining", "LandauerStore",
            ],
            path: "Sources/LandauerKit", swiftSettings: numerical),
        .executableTarget(
            name: "landauer",
            dependencies: [
                "LandauerKit", "LandauerFirmware", "LandauerCalibration", "LandauerTraining", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/landauer", swiftSettings: strict),
        .executableTarget(
            name: "landauer-bench",
            dependencies: [
                "LandauerKit", "LandauerTraining", "LandauerStore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/landauer-bench", swiftSettings: strict),
        .testTarget(
            name: "LandauerFirmwareTests", dependencies: ["LandauerFirmware"],
            path: "Tests/LandauerFirmwareTests", swiftSettings: strict),
        .testTarget(
            name: "LandauerSimulatorsTests", dependencies: ["LandauerSimulators", "LandauerFirmware"],
            path: "Tests/LandauerSimulatorsTests", swiftSettings: strict),
        .testTarget(
            name: "LandauerDriversTests",
            dependencies: ["LandauerDrivers", "LandauerFirmware", "LandauerSimulators", "LandauerKit"],
            path: "Tests/LandauerDriversTests", swiftSettings: strict),
        .testTarget(
            name: "LandauerCalibrationTests", dependencies: ["LandauerCalibration", "LandauerFirmware"],
            path: "Tests/LandauerCalibrationTests", swiftSettings: strict),
        .testTarget(
            name: "LandauerTrainingTests",
            dependencies: ["LandauerTraining", "LandauerFirmware", "LandauerSimulators", "LandauerDrivers", "LandauerKit"],
            path: "Tests/LandauerTrainingTests", swiftSettings: strict),
        .testTarget(
            name: "LandauerStoreTests", dependencies: ["LandauerStore"],
            path: "Tests/LandauerStoreTests", swiftSettings: strict),
        .testTarget(
            name: "LandauerKitTests", dependencies: ["LandauerKit", "LandauerCalibration", "LandauerTraining", "LandauerStore", "landauer", "CZlib"],
            path: "Tests/LandauerKitTests", swiftSettings: strict),
        // Device characterisation and virtual twins (docs/characterization.md).
        .testTarget(
            name: "LandauerCharacterizationTests",
            dependencies: ["LandauerKit", "LandauerFirmware", "LandauerSimulators", "LandauerDrivers", "LandauerStore", "LandauerTraining"],
            path: "Tests/LandauerCharacterizationTests", swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
