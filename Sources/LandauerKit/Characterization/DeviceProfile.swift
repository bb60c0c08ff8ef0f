import Foundation
import LandauerFirmware
import LandauerSimulators

/// A named device profile: the simulator's soft-bounds model fitted to one board's devices, the
/// VTEAM compact model when the run had pulses at 3 or more amplitudes, and that board's yield map.
/// `landauer fit RUN --name NAME [--model soft-bounds|vteam]` writes it to `profiles/NAME.json` in
/// the workspace; `sim:?device=profile:NAME` builds a virtual twin from it, whose devices follow
/// the model `model` names (docs/characterization.md).
public struct DeviceProfile: Sendable, Codable, Equatable {
    /// The device models a twin can follow (the values of `model`).
    public enum Model: String, Sendable, CaseIterable {
        /// The soft-bounds pulsed model (`fit`), with device-to-device and cycle-to-cycle spreads.
        case softBounds = "soft-bounds"
        /// The VTEAM compact model (`compact`): voltage- and width-dependent, the same for every device.
        case vteam
    }

    /// One device that is not healthy, as the map classified it.
    public struct DeadCell: Sendable, Codable, Equatable {
        public var device: DeviceAddress
        public var deviceClass: DeviceClass
        /// Conductance read, S.
        public var conductance: Double

        public init(device: DeviceAddress, deviceClass: DeviceClass, conductance: Double) {
            self.device = device
            self.deviceClass = deviceClass
            self.conductance = conductance
        }
    }

    /// What the fit ran on.
    public struct Board: Sendable, Codable, Equatable {
        /// Serial number from INFO.
        public var serial: String
        /// Tile geometries, rows × columns.
        public var tiles: [[Int]]
        /// Single-device read full scale from INFO, A.
        public var deviceReadFullScale: Double

        public init(serial: String, tiles: [[Int]], deviceReadFullScale: Double) {
            self.serial = serial
            self.tiles = tiles
            self.deviceReadFullScale = deviceReadFullScale
        }
    }

    public var format = "landauer-device-profile/1"
    public var name: String
    /// UTC, ISO 8601.
    public var createdAt: String
    /// The pulse-response run fitted, and the map run whose yield map is included (nil: none).
    public var pulseRun: String
    public var mapRun: String?
    public var board: Board
    /// The pulses the fit holds for (a different amplitude or width may step differently).
    public var pulses: PulseSettings
    /// The model the twin's devices follow: "soft-bounds" or "vteam" (`Model`).
    public var model: String
    /// The soft-bounds fit, to the trains at `pulses.amplitude`.
    public var fit: SoftBoundsFit
    /// The VTEAM compact model fitted to every amplitude of the run (nil: the run had fewer than
    /// 3 amplitudes, or the profile predates compact models).
    public var compact: VTEAMFit?
    /// Devices mapped, and the ones that are not healthy.
    public var mappedDevices: Int
    public var deadCells: [DeadCell]

    /// A profile (`CharacterizationFitting.run` makes one from the store).
    public init(
        name: String, createdAt: String, pulseRun: String, mapRun: String?, board: Board, pulses: PulseSettings, model: String,
        fit: SoftBoundsFit, mappedDevices: Int, deadCells: [DeadCell], compact: VTEAMFit? = nil
    ) {
        self.name = name
        self.createdAt = createdAt
        self.pulseRun = pulseRun
        self.mapRun = mapRun
        self.board = board
        self.pulses = pulses
        self.model = model
        self.fit = fit
        self.mappedDevices = mappedDevices
        self.deadCells = deadCells
        self.compact = compact
    }

    /// The soft-bounds parameters for the simulator.
    public var parameters: PulsedStepParameters {
        PulsedStepParameters(
            dwMin: fit.dwMin.value, upDown: fit.upDown.value, dwMinDtoD: fit.dwMinDtoD.value, upDownDtoD: fit.upDownDtoD.value,
            cycleToCycle: fit.cycleToCycle.value, wMin: fit.wMin.value, wMax: fit.wMax.value, wMinDtoD: fit.wMinDtoD.value,
            wMaxDtoD: fit.wMaxDtoD.value)
    }

    /// What is wrong with the profile for a simulator (empty when usable).
    public func problems() -> [String] {
        var p: [String] = []
        switch Model(rawValue: model) {
        case .softBounds:
            if !(fit.dwMin.value > 0) { p.append("dwMin is not positive") }
            if !(fit.wMin.value < 0 && fit.wMax.value > 0) { p.append("soft bounds need wMin < 0 < wMax") }
            if !(fit.gMin.value > 0 && fit.gMax.value > fit.gMin.value) { p.append("the conductance window is not 0 < gMin < gMax") }
            for (k, v) in [("dwMinDtoD", fit.dwMinDtoD.value), ("upDownDtoD", fit.upDownDtoD.value), ("cycleToCycle", fit.cycleToCycle.value),
                           ("wMinDtoD", fit.wMinDtoD.value), ("wMaxDtoD", fit.wMaxDtoD.value)] where !(v >= 0 && v.isFinite) {
                p.append("\(k) is not a finite non-negative spread")
            }
        case .vteam:
            if let compact {
                p += compact.problems()
            } else {
                p.append("model vteam needs a compact-model fit and the profile has none (fit a run characterised with --amplitudes of 3 or more levels)")
            }
        case nil:
            p.append("model \(model) is neither \(Model.allCases.map(\.rawValue).joined(separator: " nor "))")
        }
        if board.tiles.contains(where: { $0.count != 2 || $0[0] < 1 || $0[1] < 1 }) { p.append("a tile geometry is not rows × columns") }
        for c in deadCells {
            let t = c.device.tile
            if t < 0 || t >= board.tiles.count || c.device.row < 0 || c.device.row >= board.tiles[t][0] || c.device.column < 0 || c.device.column >= board.tiles[t][1] {
                p.append("dead cell \(c.device) lies outside the board's tiles")
                break
            }
        }
        return p
    }

    /// The virtual twin: `base` (the reference board's electronics) with this profile's devices
    /// (the model `model` names) and window, tile geometry and single-device read range.
    public func boardConfig(base: VirtualBoardConfig = .default) throws(CharacterizationError) -> VirtualBoardConfig {
        let problems = problems()
        guard problems.isEmpty else { throw .badProfile("profile \(name) cannot drive a simulator: " + problems.joined(separator: "; ")) }
        var c = base
        c.name = "virtual twin of \(board.serial) (profile \(name))"
        c.serial = String(("TWIN-" + board.serial).prefix(32))
        if model == Model.vteam.rawValue, let compact {
            c.deviceModel = .vteam(compact.vteamParameters)
            c.conductanceWindow = ConductanceWindow(minimum: Siemens(compact.gMin.value), maximum: Siemens(compact.gMax.value))
        } else {
            c.deviceModel = .softBounds(parameters)
            c.conductanceWindow = ConductanceWindow(minimum: Siemens(fit.gMin.value), maximum: Siemens(fit.gMax.value))
        }
        c.tiles = board.tiles.map { TileConfig(rows: $0[0], columns: $0[1]) }
        c.deviceReadFullScale = Amperes(board.deviceReadFullScale)
        c.stuckFraction = 0
        return c
    }

    /// The twin's stuck devices: stuck-low and open cells at the window's minimum, stuck-high and
    /// shorted ones at its maximum (the simulator keeps every device inside the window).
    public var stuckDevices: [(device: DeviceAddress, state: StuckState)] {
        deadCells.map { ($0.device, $0.deviceClass == .stuckHigh || $0.deviceClass == .shorted ? StuckState.atMaximum : .atMinimum) }
    }

    /// Makes the profile's dead cells stuck on `board` (built from `boardConfig`).
    public func applyYieldMap(to board: VirtualBoard) {
        let stuck = stuckDevices
        board.withFrontEnd { fe in
            for (d, state) in stuck where d.tile < fe.tiles.count {
                fe.tiles[d.tile].setStuck(state, row: d.row, column: d.column, side: d.side)
            }
        }
    }

    // MARK: Files

    /// `profiles/` of a workspace.
    public static func directory(workspace: URL) -> URL { workspace.appendingPathComponent("profiles", isDirectory: true) }

    /// Where profile `name` lives: `name` itself when it is a path (has a `/` or ends in
    /// `.json`), else `profiles/NAME.json` in the workspace.
    public static func location(of name: String, workspace: URL) -> URL {
        if name.contains("/") || name.hasSuffix(".json") {
            return name.hasPrefix("/") ? URL(fileURLWithPath: name) : workspace.appendingPathComponent(name)
        }
        return directory(workspace: workspace).appendingPathComponent("\(name).json")
    }

    /// A valid profile name: letters, digits, `-`, `_`, `.`; not starting with `.`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name.count <= 64
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// Writes the profile as `profiles/NAME.json` (pretty, sorted keys) and returns the file.
    @discardableResult
    public func save(workspace: URL) throws -> URL {
        let url = Self.location(of: name, workspace: workspace)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: url, options: .atomic)
        return url
    }

    /// Reads profile `name` (a name in the workspace's `profiles/`, or a path).
    public static func load(_ name: String, workspace: URL) throws(CharacterizationError) -> DeviceProfile {
        let url = location(of: name, workspace: workspace)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let known = ((try? FileManager.default.contentsOfDirectory(atPath: directory(workspace: workspace).path)) ?? [])
                .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
            throw .badProfile(
                "no device profile \(name) at \(url.path)"
                    + (known.isEmpty ? " (the workspace has none: `landauer fit RUN --name \(name)` makes one from a pulse-response run)" : " (known: \(known.joined(separator: ", ")))"))
        }
        do {
            let profile = try JSONDecoder().decode(DeviceProfile.self, from: data)
            guard profile.format == "landauer-device-profile/1" else { throw CharacterizationError.badProfile("\(url.path) is format \(profile.format), not landauer-device-profile/1") }
            return profile
        } catch let e as CharacterizationError {
            throw e
        } catch {
            throw .badProfile("\(url.path) is not a device profile: \(error)")
        }
    }
}
