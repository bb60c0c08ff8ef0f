import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import LandauerStore
import Testing

@Suite("Conductance map, yield and the virtual twin's dead cells", .serialized)
struct ConductanceMapTests {
    /// Maps every tile of `board` and compares the classes with the simulator's stuck devices.
    /// Healthy devices are free ones with a step; a free device whose drawn steps are both 0 (the
    /// draw was clipped) cannot move and counts as inert, not healthy.
    static func score(_ board: VirtualBoard) async throws -> (stuck: Int, found: Int, falsePositives: Int, wrongSide: Int, inert: Int, mapped: [MappedDevice]) {
        let c = try await Characterizer(client: BoardConnection.inProcessClient(for: board))
        let blocks = c.info.tiles.indices.map { DeviceBlock.wholeTile($0, of: c.info) }
        let points = try await c.conductanceMap(blocks, probePulses: 50)
        let mapped = ConductanceMapClassifier(siemensPerCode: c.siemensPerCode, maxCode: Int(c.info.adcMaxCode)).classify(points)
        let tiles = board.tiles
        var stuck = 0, found = 0, falsePositives = 0, wrongSide = 0, inert = 0
        for m in mapped {
            let tile = tiles[m.device.tile]
            let truth = tile.stuckState(row: m.device.row, column: m.device.column, side: m.device.side)
            let steps = tile.steps(row: m.device.row, column: m.device.column, side: m.device.side)
            if truth == .free, let steps, steps.up == 0 && steps.down == 0 {
                inert += 1
            } else if truth == .free {
                if m.deviceClass != .healthy { falsePositives += 1 }
            } else {
                stuck += 1
                if m.deviceClass.isDead { found += 1 }
                if (truth == .atMaximum && m.deviceClass != .stuckHigh) || (truth == .atMinimum && m.deviceClass != .stuckLow) { wrongSide += 1 }
            }
        }
        return (stuck, found, falsePositives, wrongSide, inert, mapped)
    }

    static let boards: [String: VirtualBoardConfig] = [
        "exp-step reference board": .default,
        "soft-bounds board drawn from a hidden seed": HiddenBoard.config(hidden: 0xDEAD_0001).config,
        "soft-bounds preset board (small, slow steps)": { var c = VirtualBoardConfig.default; c.deviceModel = DeviceModel(named: "soft-bounds")!; return c }(),
    ]

    @Test("the map finds injected stuck cells with ≥ 99 % recall and no false positives", arguments: [
        ("exp-step reference board", UInt64(11)), ("soft-bounds board drawn from a hidden seed", UInt64(12)), ("soft-bounds preset board (small, slow steps)", UInt64(21)),
    ])
    func recall(name: String, seed: UInt64) async throws {
        var config = try #require(Self.boards[name])
        config.stuckFraction = 0.05
        config.seed = seed
        let board = VirtualBoard(config: config)
        let s = try await Self.score(board)
        let total = board.tiles.reduce(0) { $0 + 2 * $1.rows * $1.columns }
        print("\(name): \(s.stuck) stuck of \(total) devices; found \(s.found) (recall \(Double(s.found) / Double(s.stuck))), \(s.falsePositives) false positives, \(s.wrongSide) stuck at the wrong end, \(s.inert) free devices with no step")
        #expect(s.mapped.count == total)
        #expect(s.stuck > 100)
        #expect(Double(s.found) >= 0.99 * Double(s.stuck))
        #expect(s.falsePositives == 0)
        #expect(s.wrongSide == 0)
    }

    @Test("a board without stuck devices maps as all healthy; a shorted reading is told from a stuck one")
    func healthyAndShorted() async throws {
        var config = VirtualBoardConfig.default
        config.tiles = [TileConfig(rows: 8, columns: 4)]
        let board = VirtualBoard(config: config)
        let s = try await Self.score(board)
        #expect(s.mapped.allSatisfy { $0.deviceClass == .healthy })
        // Readings at the ADC's full scale are a short, next to nothing is open.
        let code = Siemens(1e-7)
        let d = DeviceAddress(tile: 0, row: 0, column: 0, side: .plus), e = DeviceAddress(tile: 0, row: 0, column: 1, side: .plus)
        var points: [CharacterizationPoint] = []
        for (train, step) in [(0, 0), (0, 1), (1, 1), (2, 1), (3, 1)] {
            points.append(CharacterizationPoint(procedure: .map, device: d, train: train, step: step, polarity: 0, pulses: 0, boardTime: .zero, conductance: code * 255))
            points.append(CharacterizationPoint(procedure: .map, device: e, train: train, step: step, polarity: 0, pulses: 0, boardTime: .zero, conductance: code * 1))
        }
        let classes = ConductanceMapClassifier(siemensPerCode: code, maxCode: 255).classify(points)
        #expect(classes.map(\.deviceClass) == [.shorted, .open])
    }

    @Test("characterize, map and fit through the store; sim:?device=profile:NAME is a twin with the dead cells in their places")
    func profileThroughStore() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("twin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = "sim:?device=soft-bounds&stuck=0.03&seed=21"
        var o = CharacterizationRun.Options()
        o.board = original
        o.workspace = dir
        o.store = dir.appendingPathComponent("landauer.sqlite").path
        o.procedure = .map
        let map = try await CharacterizationRun(options: o).run()
        o.procedure = .pulse
        o.block = "0:0+8,0+8"
        o.steps = 300
        o.pulsesPerStep = 4
        let pulse = try await CharacterizationRun(options: o).run()
        let store = try RunStore(path: o.store!)
        let pulseId = try #require(pulse.runId), mapId = try #require(map.runId)
        #expect(try store.run(pulseId).kind == .characterize)
        #expect(try store.characterizationPoints(of: pulseId).count == pulse.readings)
        #expect(try store.deviceClasses(of: mapId).count == 2 * (64 * 32 + 32 * 10))
        let instruments = try store.run(pulseId).instruments
        #expect(instruments.contains("LDR-SIM-0001"))

        let outcome = try CharacterizationFitting.run(String(pulseId.prefix(8)), name: "bench-7", store: store, workspace: dir)
        #expect(outcome.profile.mapRun == mapId)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("profiles/bench-7.json").path))
        #expect(try store.characterizationFits(of: pulseId).count == 1)
        #expect(try store.figures(of: pulseId).contains { $0.key == "fit.dwMin" })

        // The twin: the profile's devices and the original's stuck cells, in the same places.
        let truth = try SimulatorOptions.board(from: ConnectionString(parsing: original))
        let session = try BoardConnection.open("sim:?device=profile:bench-7&seed=99", workspace: dir)
        let twin = try #require(session.virtualBoard)
        guard case .softBounds(let p) = twin.config.deviceModel else {
            Issue.record("the twin's devices are \(twin.config.deviceModel.name)")
            return
        }
        #expect(p == outcome.profile.parameters)
        #expect(twin.config.conductanceWindow.maximum.value == outcome.profile.fit.gMax.value)
        var expected: [String] = [], got: [String] = []
        for (t, tile) in truth.tiles.enumerated() {
            for s in tile.stuckDevices { expected.append("\(t) \(s.row) \(s.column) \(s.side) \(s.state)") }
        }
        for (t, tile) in twin.tiles.enumerated() {
            for s in tile.stuckDevices { got.append("\(t) \(s.row) \(s.column) \(s.side) \(s.state)") }
        }
        #expect(!expected.isEmpty)
        // Every stuck device is in its place; any other dead cell of the twin is one that cannot move on the original either.
        #expect(Set(expected).isSubset(of: Set(got)), "\(Set(expected).subtracting(got))")
        for extra in Set(got).subtracting(expected) {
            let f = extra.split(separator: " ").map(String.init)
            let steps = truth.tiles[Int(f[0])!].steps(row: Int(f[1])!, column: Int(f[2])!, side: f[3] == "plus" ? .plus : .minus)
            #expect(steps.map { $0.up == 0 && $0.down == 0 } == true, "\(extra) is dead on the twin but moves on the original")
        }
        // The twin answers the protocol like any board.
        let info = try await session.client.hello()
        #expect(String(decoding: info.serial, as: UTF8.self).hasPrefix("TWIN-"))
        await session.client.close()

        // A missing profile is refused, naming the ones there are.
        let refusal = #expect(throws: ConnectionError.self) {
            _ = try BoardConnection.open("sim:?device=profile:nonesuch", workspace: dir)
        }
        #expect(refusal.map { "\($0)".contains("bench-7") && "\($0)".contains("nonesuch") } == true, "\(String(describing: refusal))")
    }
}
