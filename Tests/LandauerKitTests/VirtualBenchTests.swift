import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("The virtual bench on pseudo-terminals and a loopback port", .serialized)
struct VirtualBenchTests {
    struct Outcome: Equatable {
        var forward: [Int16]
        var transposed: [Int16]
        var conductances: [Int16]
        var pulses: UInt32
        var coincidences: UInt32
        var counters: [UInt64]
    }

    /// The same requests, in the same order, whatever carries them.
    static func script(_ client: BoardClient) async throws -> Outcome {
        _ = try await client.hello()
        var rng = SplitMix64(seed: 5)
        let inputs = (0..<(16 * 64)).map { _ in Int16.random(in: -63...63, using: &rng) }
        var pulses: [PulseCommand] = []
        for k in 0..<40 {
            let side: DeviceSide = k % 2 == 0 ? .plus : .minus
            let polarity: Int8 = k % 3 == 0 ? -1 : 1
            pulses.append(PulseCommand(tile: 1, side: side, row: UInt16(k % 32), column: UInt16(k % 10), polarity: polarity, amplitude: Volts(1.5), widthNanoseconds: 500, repeat: UInt16(1 + k % 4)))
        }
        let programmed = try await client.program(pulses: pulses)
        let forward = try await client.matrixVector(tile: 0, vectorLength: 64, inputs: inputs, inputFullScale: Volts(0.2))
        let transposed = try await client.matrixVector(tile: 0, orientation: .transposed, vectorLength: 32, inputs: Array(inputs.prefix(16 * 32)), inputFullScale: Volts(0.2))
        let update = OuterProductUpdate(
            tile: 1, mode: .plusSigned, trainLength: 16, amplitude: Volts(1.5), widthNanoseconds: 200,
            rowSigns: (0..<32).map { k -> Int8 in k % 2 == 0 ? 1 : -1 }, columnSigns: (0..<10).map { k -> Int8 in k % 3 == 0 ? -1 : 1 },
            rowTrains: (0..<64).map { _ in UInt8.random(in: 0...255, using: &rng) }, columnTrains: (0..<20).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let updated = try await client.outerProduct(update)
        let read = try await client.readConductances(ConductanceRead(tile: 1, sides: 3, row: 0, column: 0, rows: 32, columns: 10, readVoltage: Volts(0.4)))
        let c = try await client.counters()
        return Outcome(forward: forward.outputs, transposed: transposed.outputs, conductances: read.codes, pulses: programmed.pulsesApplied,
                       coincidences: updated.coincidences, counters: [c.pulses, c.deviceReads, c.vectorReads, c.adcConversions, c.dacUpdates])
    }

    @Test("the board client runs unchanged over a pseudo-terminal and gets what it gets in process")
    func boardOverPseudoTerminal() async throws {
        let config = try SimulatorOptions.config(from: ConnectionString(parsing: "sim:?seed=11"))
        let bench = try VirtualBench(config: config)
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        let serial = try TermiosTransport(path: bench.endpoints.board)
        let remote = try await Self.script(BoardClient(transport: serial, configuration: BoardClient.Configuration(timeout: .seconds(10))))
        let local = try await Self.script(BoardConnection.inProcessClient(for: VirtualBoard(config: config)))
        #expect(remote == local)
        #expect(remote.pulses > 0 && remote.coincidences > 0)
        // Real time: the bench's board clock has followed the wall clock.
        #expect(bench.board.now.seconds.value > 0.001)
        await serial.close()
    }

    @Test("the SCPI instrument answers over TCP and its pseudo-terminal, with one error queue")
    func scpiEndpoints() async throws {
        let bench = try VirtualBench(config: .ideal, scpi: .analyzer)
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        let address = try #require(bench.endpoints.scpi).split(separator: ":")
        let tcp = SCPIClient(transport: try await TCPTransport.connect(host: String(address[0]), port: UInt16(address[1])!, timeout: .seconds(5)), timeout: .seconds(5))
        #expect(try await tcp.identify().model == "N6705C")
        try await tcp.write("FROB:NICATE")
        #expect(try await tcp.query("*OPC?") == "1")  // the bad command has been handled
        let pty = SCPIClient(transport: try TermiosTransport(path: try #require(bench.endpoints.scpiPty)), timeout: .seconds(5))
        #expect(try await pty.errors().map(\.code) == [-113])
        #expect(try await pty.queryNumbers("MEAS:VOLT? (@1)") == [3.3])
    }
}

@Suite("SCPI connection strings")
struct SCPIConnectionTests {
    @Test("scpi+tcp and scpi+serial reach the bench's instrument; bad strings say what is wrong")
    func strings() async throws {
        let bench = try VirtualBench(config: .ideal, scpi: .sourceMeter)
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        let tcp = try await SCPIConnection.open("scpi+tcp:\(try #require(bench.endpoints.scpi))", timeout: .seconds(5))
        #expect(try await tcp.identify().model == "MODEL 2450")
        let serial = try await SCPIConnection.open("scpi+serial:\(try #require(bench.endpoints.scpiPty))", timeout: .seconds(5))
        #expect(try await serial.identify().manufacturer == "KEITHLEY INSTRUMENTS")
        for bad in ["scpi+tcp:nohost", "usbtmc:zz:1", "scpi+tcp:127.0.0.1:70000", "usbtmc:0x1234:0x5678"] {
            await #expect(throws: ConnectionError.self) { _ = try await SCPIConnection.open(bad, timeout: .milliseconds(500)) }
        }
    }
}
@Suite("Board reconnection", .serialized)
struct BoardReconnectionTests {
    @Test("a board that disappears and reappears at its path is reopened; the disconnect and the resend are recorded")
    func unplugAndReplug() async throws {
        let board = VirtualBoard(config: .ideal)
        var bench: VirtualBench? = try VirtualBench(config: .ideal, board: board)
        var serving: Task<Void, Never>? = Task { [bench] in await bench?.serve() }
        // A stable path, as a udev rule gives a real board: a symlink to whichever pty serves it now.
        let link = "/tmp/landauer-board-\(UInt32.random(in: 0...UInt32.max))"
        #expect(symlink(bench!.endpoints.board, link) == 0)
        defer { unlink(link) }
        let session = try BoardConnection.open("serial:\(link)", configuration: BoardClient.Configuration(timeout: .seconds(2), maxRetries: 3))
        let client = session.client
        _ = try await client.hello()
        _ = try await client.program(pulses: [PulseCommand(tile: 0, side: .plus, row: 0, column: 0, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100, repeat: 3)])
        // Unplug: the pty goes away, and with it the stable link (as udev removes /dev/serial/by-id links).
        unlink(link)
        serving?.cancel()
        await serving?.value
        bench = nil
        serving = nil
        try await Task.sleep(for: .milliseconds(300))
        // Replug: the same board on a new pty, behind the same path, a moment later.
        let replug = Task {
            try await Task.sleep(for: .milliseconds(500))
            let again = try VirtualBench(config: .ideal, board: board)
            _ = symlink(again.endpoints.board, link)
            await again.serve()
        }
        defer { replug.cancel() }
        let result: ProgramResult
        do {
            result = try await client.program(pulses: [PulseCommand(tile: 0, side: .plus, row: 0, column: 0, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100, repeat: 4)])
        } catch {
            let events = await client.takeEvents().map { "\($0)" }
            Issue.record("\(error)\n\(events.joined(separator: "\n"))")
            return
        }
        #expect(result.pulsesApplied == 4)
        #expect(try await client.counters().pulses == 7)  // nothing lost, nothing applied twice
        let stats = await client.statistics
        #expect(stats.reconnects >= 1)
        let events = await client.takeEvents().map { "\($0)" }
        #expect(events.contains { $0.contains("reconnect") }, "\(events)")
    }
}

@Suite("PPK2 connection strings", .serialized)
struct PPK2ConnectionTests {
    @Test("ppk2: opens the bench's virtual PPK2, which answers the connect sequence; other schemes are refused")
    func string() async throws {
        let config = VirtualBoardConfig.ideal
        let bench = try VirtualBench(config: config, ppk2: VirtualBench.ppk2Config(for: config))
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        let session = try PPK2Connection.open("ppk2:\(try #require(bench.endpoints.ppk2))")
        let metadata = try await session.connect()
        #expect(metadata.vdd == 3300)
        await session.close()
        #expect(throws: ConnectionError.self) { try PPK2Connection.open("serial:/dev/null") }
        #expect(throws: ConnectionError.self) { try PPK2Connection.open("ppk2:/nonexistent/tty") }
    }
}
