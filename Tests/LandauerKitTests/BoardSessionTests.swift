import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Testing

/// The host client against the virtual board: the real engine on simulated physics.
@Suite("Board sessions on the virtual board")
struct BoardSessionTests {
    func allConductances(_ client: BoardClient, tile: UInt8, info: BoardInfo) async throws -> [Int16] {
        let t = info.tiles[Int(tile)]
        return try await client.readConductances(ConductanceRead(tile: tile, sides: 3, row: 0, column: 0, rows: t.rows, columns: t.columns, readVoltage: Volts(0.4))).codes
    }

    @Test("an out-of-limit programming request is refused, and the conductances read back unchanged")
    func outOfLimitRefused() async throws {
        let session = try BoardConnection.open("sim:?seed=3&noise=off")  // noiseless reads: equal codes mean equal devices
        let client = session.client
        let board = try #require(session.virtualBoard)
        let info = try await client.hello()
        var limits = info.activeLimits
        limits.programVoltage = Volts(2)
        _ = try await client.setLimits(limits)
        let before = try await allConductances(client, tile: 1, info: info)
        let truthBefore = board.tiles[1].conductances(side: .plus)
        let energyBefore = board.ledger.energy(on: .programming)
        let batch = [
            PulseCommand(tile: 1, side: .plus, row: 0, column: 0, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 1_000, repeat: 50),
            PulseCommand(tile: 1, side: .plus, row: 1, column: 1, polarity: 1, amplitude: Volts(2.5), widthNanoseconds: 1_000, repeat: 1),
        ]
        do {
            _ = try await client.program(pulses: batch)
            Issue.record("the board accepted 2.5 V with a 2 V limit")
        } catch {
            let refusal = try #require(error.refusal)
            #expect(refusal.code == .voltageOutOfLimit && refusal.index == 1 && refusal.value == 2.5 && refusal.limit == 2)
            #expect(error.description.contains("2.5"))
        }
        #expect(try await allConductances(client, tile: 1, info: info) == before)
        #expect(board.tiles[1].conductances(side: .plus) == truthBefore)
        #expect(board.ledger.energy(on: .programming) == energyBefore)
        #expect(try await client.counters().pulses == 0)
        // The same batch within the limits does change the devices.
        _ = try await client.program(pulses: [batch[0]])
        #expect(board.tiles[1].conductances(side: .plus) != truthBefore)
        #expect(try await client.counters().pulses == 50)
    }

    @Test("a lost response makes the client resend; the board answers from its cache and pulses once")
    func lostResponseAppliedOnce() async throws {
        let board = VirtualBoard(config: .ideal)
        let loopback = DeviceLoopbackTransport(endpoint: "sim:test", idleReads: .failImmediately) { board.receive($0) }
        let faulty = FaultInjectingTransport(wrapping: loopback)
        let client = BoardClient(transport: faulty, configuration: BoardClient.Configuration(timeout: .milliseconds(200), maxRetries: 3))
        _ = try await client.hello()
        let g0 = board.tiles[0].conductance(row: 2, column: 3, side: .plus)
        faulty.inject(.drop, direction: .inbound)
        let result = try await client.program(pulses: [PulseCommand(tile: 0, side: .plus, row: 2, column: 3, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 500, repeat: 7)])
        #expect(result.pulsesApplied == 7)
        let counters = try await client.counters()
        #expect(counters.pulses == 7)
        #expect(counters.retransmitsAnswered == 1)
        #expect(await client.statistics.retries == 1)
        let step = if case .ideal(let p) = board.config.deviceModel { p.step } else { Siemens(0) }
        let g1 = board.tiles[0].conductance(row: 2, column: 3, side: .plus)
        #expect(abs((g1 - g0).value - 7 * step.value) < 1e-15)
    }

    @Test("markers reach the marker lines with board timestamps and energies; temperature reads the sensor")
    func markersAndTemperature() async throws {
        let session = try BoardConnection.open("sim:?profile=ideal&temperature=310")
        let client = session.client
        _ = try await client.hello()
        let a = try await client.marker(2)
        let b = try await client.marker(0)
        #expect(b.timestampNanoseconds > a.timestampNanoseconds)
        let history = try #require(session.virtualBoard).markerHistory
        #expect(history.map(\.value).suffix(2) == [2, 0])
        #expect(history.last.map { $0.time.nanoseconds } == b.timestampNanoseconds)
        let t = try await client.temperature()
        #expect(abs(t.temperature.value - 310) <= 1.0 / 16)
        // The energy between two marker edges, from the ledger snapshots the edges carry, equals the
        // supply waveform integrated over the same window.
        _ = try await client.marker(5)
        _ = try await client.program(pulses: [PulseCommand(tile: 0, side: .plus, row: 0, column: 0, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 10_000, repeat: 20)])
        _ = try await client.matrixVector(tile: 0, vectorLength: 64, inputs: [Int16](repeating: 40, count: 640), inputFullScale: Volts(0.2))
        _ = try await client.marker(0)
        let board = try #require(session.virtualBoard)
        let edges = board.markerHistory.suffix(2)
        let fromLedger = edges.last!.energy - edges.first!.energy
        let fromWaveform = try #require(board.waveform.energy(over: edges.first!.time..<edges.last!.time))
        #expect(fromLedger.value > 0)
        #expect(abs(fromLedger.value - fromWaveform.value) <= 1e-9 * fromLedger.value)
    }
}
