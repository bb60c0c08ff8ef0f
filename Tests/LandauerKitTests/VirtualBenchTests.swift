import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Synchronization
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

/// A serial-port directory a test can change: what `landauer devices` would list as devices
/// come and go. Ports are pseudo-terminals given the USB identity of a real board.
final class FakePorts: Sendable {
    let ports = Mutex<[SerialPortInfo]>([])
    var directory: SerialPortDirectory { SerialPortDirectory { [self] in ports.withLock { $0 } } }
    func set(_ list: [SerialPortInfo]) { ports.withLock { $0 = list } }
    static func usb(_ path: String, serial: String, vid: UInt16 = 0x1209, pid: UInt16 = 0x4C44) -> SerialPortInfo {
        SerialPortInfo(path: path, description: "Landauer board", attachment: .usb, usbVendorID: vid, usbProductID: pid, serialNumber: serial, product: "Landauer board")
    }
}

@Suite("Finding a device by its USB serial number", .serialized)
struct SerialNumberTests {
    @Test("a board that comes back at another path is found again by its USB serial number; the gap is recorded")
    func replugElsewhere() async throws {
        let board = VirtualBoard(config: .ideal)
        var bench: VirtualBench? = try VirtualBench(config: .ideal, board: board)
        var serving: Task<Void, Never>? = Task { [bench] in await bench?.serve() }
        let ports = FakePorts()
        let first = bench!.endpoints.board
        ports.set([FakePorts.usb("/dev/pts/999999", serial: "DECOY-1"), FakePorts.usb(first, serial: "LDR-0042")])
        // Opened by path: the driver learns the serial number from the port list.
        let session = try BoardConnection.open("serial:\(first)", configuration: BoardClient.Configuration(timeout: .seconds(2), maxRetries: 3), ports: ports.directory)
        let client = session.client
        _ = try await client.hello()
        _ = try await client.program(pulses: [PulseCommand(tile: 0, side: .plus, row: 1, column: 2, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100, repeat: 2)])
        // The replug will come on another pty: allocated now, so it cannot reuse the first one's number.
        let again = try VirtualBench(config: .ideal, board: board)
        let second = again.endpoints.board
        #expect(second != first)
        // Unplug: the port leaves the list and the pty closes.
        ports.set([FakePorts.usb("/dev/pts/999999", serial: "DECOY-1")])
        serving?.cancel()
        await serving?.value
        bench = nil
        serving = nil
        // Replug on the other pty; no symlink, no stable path — only the serial number matches.
        let replug = Task {
            try await Task.sleep(for: .milliseconds(400))
            ports.set([FakePorts.usb(second, serial: "LDR-0042"), FakePorts.usb("/dev/pts/999999", serial: "DECOY-1")])
            await again.serve()
        }
        defer { replug.cancel() }
        let result = try await client.program(pulses: [PulseCommand(tile: 0, side: .plus, row: 1, column: 2, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100, repeat: 5)])
        #expect(result.pulsesApplied == 5)
        #expect(try await client.counters().pulses == 7)
        let events = await client.takeEvents().map { "\($0)" }
        #expect(events.contains { $0.contains("reconnected to") && $0.hasSuffix(second) }, "\(events)")
        #expect(events.contains { $0.contains("disconnect") || $0.contains("closed") || $0.contains("timed out") }, "\(events)")
        #expect(await client.statistics.reconnects == 1)
    }

    @Test("usb-serial resolves to the one port with that number, and says what is wrong otherwise")
    func resolution() throws {
        let ports = FakePorts()
        ports.set([FakePorts.usb("/dev/ttyACM3", serial: "A1"), FakePorts.usb("/dev/ttyACM0", serial: "B2"), FakePorts.usb("/dev/ttyACM1", serial: "B2")])
        let d = ports.directory
        func path(_ s: String) throws -> String { try SerialConnection.resolvePath(ConnectionString(parsing: s), ports: d) }
        #expect(try path("serial:?usb-serial=A1") == "/dev/ttyACM3")
        #expect(try path("serial:/dev/ttyACM1?usb-serial=B2") == "/dev/ttyACM1")  // the path picks among the number's ports
        #expect(try path("serial:/dev/ttyS4") == "/dev/ttyS4")
        for (text, needle) in [("serial:?usb-serial=ZZ", "no serial port has USB serial number ZZ"),
                               ("serial:?usb-serial=B2", "/dev/ttyACM0, /dev/ttyACM1"),
                               ("serial:?usb-serial=", "usb-serial"),
                               ("serial:ttyACM0", "device path")] {
            do {
                _ = try path(text)
                Issue.record("\(text) resolved")
            } catch {
                #expect("\(error)".contains(needle), "\(error)")
            }
        }
    }

    @Test("a bare ppk2 finds the one PPK2 by its USB IDs, and refuses when there is none or several")
    func ppk2ByIDs() throws {
        let ports = FakePorts()
        let ppk2 = FakePorts.usb("/dev/ttyACM2", serial: "C2F1A0B3", vid: 0x1915, pid: 0xC00A)
        ports.set([FakePorts.usb("/dev/ttyACM0", serial: "X"), ppk2])
        #expect(try PPK2Connection.serialConnection("ppk2", ports: ports.directory).description == "serial:/dev/ttyACM2")
        #expect(try PPK2Connection.serialConnection("ppk2:?usb-serial=C2F1A0B3", ports: ports.directory).description == "serial:?usb-serial=C2F1A0B3")
        ports.set([FakePorts.usb("/dev/ttyACM0", serial: "X")])
        #expect { try PPK2Connection.serialConnection("ppk2", ports: ports.directory) } throws: { "\($0)".contains("no PPK2") }
        ports.set([ppk2, FakePorts.usb("/dev/ttyACM5", serial: "D4", vid: 0x1915, pid: 0xC00A)])
        #expect { try PPK2Connection.serialConnection("ppk2", ports: ports.directory) } throws: { "\($0)".contains("several PPK2 ports") }
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
