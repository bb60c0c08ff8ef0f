import Foundation
import LandauerFirmware
import LandauerSimulators

/// How a `sim` connection string configures the virtual board.
///
/// `sim:?profile=ideal&device=vteam&seed=7&temperature=310&noise=off&stuck=0.05`
public enum SimulatorOptions {
    /// The option keys `sim` understands, with what each means.
    public static let help: [(key: String, meaning: String)] = [
        ("profile", "default (reference board: ReRAM exp-step devices, noise on) or ideal (ideal devices, no noise)"),
        ("device", "device model: " + DeviceModel.names.joined(separator: ", ") + ", or profile:NAME (a fitted device profile, profiles/NAME.json in the workspace, or a path to one: a virtual twin with the profile's devices and dead cells)"),
        ("seed", "master seed of every random stream (unsigned integer)"),
        ("temperature", "board temperature in kelvins"),
        ("noise", "off silences thermal (Johnson–Nyquist), extra read and sensor noise; on turns thermal noise on"),
        ("readnoise", "extra read noise, standard deviation as a fraction of output full scale"),
        ("stuck", "fraction of stuck devices, 0…1"),
        ("unformed", "on: devices start unformed and conduct almost nothing until a forming sweep switches them (landauer characterize form); off (default): formed"),
        ("link", "link rate in bytes per second"),
        ("retention", "supply-waveform bins kept in memory (1 µs each; default 4194304)"),
        ("adc-bits", "output ADC resolution in bits, 2…16 (default 9)"),
        ("dac-bits", "input DAC resolution in bits, 2…16 (default 7)"),
        ("tiles", "tile geometries, rows×columns joined by commas, e.g. 64x100,100x10 (default 64x32,32x10)"),
        ("adc-range", "output full scale of every tile as a fraction of the worst case (all devices at G_max, full read voltage); default 1"),
    ]

    /// The virtual board a `sim` connection string describes: its configuration, and for
    /// `device=profile:NAME` the profile's dead cells stuck in their places.
    public static func board(from connection: ConnectionString, workspace: URL = URL(fileURLWithPath: ".")) throws(ConnectionError) -> VirtualBoard {
        let board = VirtualBoard(config: try config(from: connection, workspace: workspace))
        if let profile = try profile(from: connection, workspace: workspace) { profile.applyYieldMap(to: board) }
        return board
    }

    /// The device profile `device=profile:NAME` names, or nil.
    public static func profile(from connection: ConnectionString, workspace: URL = URL(fileURLWithPath: ".")) throws(ConnectionError) -> DeviceProfile? {
        guard let device = connection["device"], device.hasPrefix("profile:") else { return nil }
        let name = String(device.dropFirst("profile:".count))
        guard !name.isEmpty else {
            throw .badOption(connection.description, key: "device", value: device, expected: "profile:NAME, a profile in the workspace's profiles/ (landauer fit RUN --name NAME makes one)")
        }
        do {
            return try DeviceProfile.load(name, workspace: workspace)
        } catch {
            throw .badOption(connection.description, key: "device", value: device, expected: "an existing device profile: \(error)")
        }
    }

    /// The board configuration a `sim` connection string describes; `device=profile:NAME` is
    /// resolved against `workspace`.
    public static func config(from connection: ConnectionString, workspace: URL = URL(fileURLWithPath: ".")) throws(ConnectionError) -> VirtualBoardConfig {
        try connection.rejectUnknownOptions(help.map(\.key))
        var config: VirtualBoardConfig
        switch connection["profile"] ?? "default" {
        case "default": config = .default
        case "ideal": config = .ideal
        case let other:
            throw .badOption(connection.description, key: "profile", value: other, expected: "default or ideal")
        }
        if let profile = try profile(from: connection, workspace: workspace) {
            do { config = try profile.boardConfig(base: config) } catch {
                throw .badOption(connection.description, key: "device", value: connection["device"] ?? "", expected: "a usable device profile: \(error)")
            }
        } else if let name = connection["device"] {
            guard let model = DeviceModel(named: name) else {
                throw .badOption(connection.description, key: "device", value: name, expected: DeviceModel.names.joined(separator: ", "))
            }
            config.deviceModel = model
        }
        if let seed = try connection.value("seed", as: UInt64.self) { config.seed = seed }
        if let t = try connection.value("temperature", as: Double.self) {
            guard t > 0, t.isFinite else { throw .badOption(connection.description, key: "temperature", value: "\(t)", expected: "a positive temperature in kelvins") }
            config.temperature = Kelvin(t)
        }
        if let noise = connection["noise"] {
            switch noise {
            case "on": config.thermalNoise = true
            case "off":
                config.thermalNoise = false
                config.readNoiseFraction = 0
                config.temperatureSensorNoise = Kelvin(0)
            default: throw .badOption(connection.description, key: "noise", value: noise, expected: "on or off")
            }
        }
        if let r = try connection.value("readnoise", as: Double.self) {
            guard r >= 0, r.isFinite else { throw .badOption(connection.description, key: "readnoise", value: "\(r)", expected: "a non-negative fraction") }
            config.readNoiseFraction = r
        }
        if let u = connection["unformed"] {
            switch u {
            case "on": config.forming = FormingParameters()
            case "off": config.forming = nil
            default: throw .badOption(connection.description, key: "unformed", value: u, expected: "on or off")
            }
        }
        if let s = try connection.value("stuck", as: Double.self) {
            guard s >= 0, s <= 1 else { throw .badOption(connection.description, key: "stuck", value: "\(s)", expected: "a fraction in 0…1") }
            config.stuckFraction = s
        }
        if let l = try connection.value("link", as: Double.self) {
            guard l > 0, l.isFinite else { throw .badOption(connection.description, key: "link", value: "\(l)", expected: "a positive rate in bytes per second") }
            config.linkBytesPerSecond = l
        }
        if let r = try connection.value("retention", as: Int.self) {
            guard r > 0 else { throw .badOption(connection.description, key: "retention", value: "\(r)", expected: "a positive number of bins") }
            config.waveformRetention = r
        }
        if let b = try connection.value("adc-bits", as: UInt8.self) {
            guard (2...16).contains(b) else { throw .badOption(connection.description, key: "adc-bits", value: "\(b)", expected: "2 … 16") }
            config.adcBits = b
        }
        if let b = try connection.value("dac-bits", as: UInt8.self) {
            guard (2...16).contains(b) else { throw .badOption(connection.description, key: "dac-bits", value: "\(b)", expected: "2 … 16") }
            config.dacBits = b
        }
        if let text = connection["tiles"] {
            var tiles: [TileConfig] = []
            for part in text.split(separator: ",") {
                let dims = part.lowercased().split(separator: "x").map { Int($0) }
                guard dims.count == 2, let r = dims[0], let c = dims[1], (1...4096).contains(r), (1...4096).contains(c) else {
                    throw .badOption(connection.description, key: "tiles", value: text, expected: "rows×columns of each tile, e.g. 64x100,100x10 (1 … 4096 each)")
                }
                tiles.append(TileConfig(rows: r, columns: c))
            }
            guard !tiles.isEmpty, tiles.count <= 255 else {
                throw .badOption(connection.description, key: "tiles", value: text, expected: "1 … 255 tiles")
            }
            config.tiles = tiles
        }
        if let f = try connection.value("adc-range", as: Double.self) {
            guard f > 0, f <= 1 else { throw .badOption(connection.description, key: "adc-range", value: "\(f)", expected: "a fraction in (0, 1]") }
            for k in config.tiles.indices {
                let t = config.tiles[k]
                config.tiles[k].outputFullScale = Amperes(
                    f * Double(max(t.rows, t.columns)) * config.conductanceWindow.maximum.value * config.absoluteLimits.readVoltage.value)
            }
        }
        let problems = config.problems()
        if !problems.isEmpty {
            throw .malformed(connection.description, reason: "invalid virtual board: " + problems.joined(separator: "; "))
        }
        return config
    }
}
