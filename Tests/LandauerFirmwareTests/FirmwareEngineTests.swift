import LandauerFirmware
import Testing

/// Drives an engine with encoded frames, the way a link does.
struct EngineHarness {
    var engine = FirmwareEngine(frontEnd: TestFrontEnd())
    var sequence: UInt16 = 100

    init(engine: FirmwareEngine<TestFrontEnd> = FirmwareEngine(frontEnd: TestFrontEnd())) { self.engine = engine }

    /// Sends encoded bytes and returns every encoded response.
    mutating func send(bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        engine.receive(bytes) { out.append($0) }
        return out
    }

    /// Sends a request with a fresh sequence number and decodes the single response.
    mutating func call(_ r: Request) throws -> Response {
        sequence &+= 1
        let replies = send(bytes: r.frame(sequence: sequence).encoded())
        #expect(replies.count == 1)
        let frame = try Frame.decode(replies[0])
        #expect(frame.sequence == sequence)
        return try Response.decode(frame)
    }

    /// All conductances as the board reads them back through the protocol.
    mutating func readBack(tile: UInt8) throws -> [Int16] {
        let t = engine.frontEnd.hardware.tiles[Int(tile)]
        guard case .conductances(let c) = try call(.readConductance(ConductanceRead(tile: tile, sides: 3, row: 0, column: 0, rows: t.rows, columns: t.columns, readVoltage: Volts(0.25)))) else {
            Issue.record("conductance read failed")
            return []
        }
        return c.codes
    }
}

func pulse(row: UInt16, column: UInt16, side: DeviceSide = .plus, polarity: Int8 = 1, volts: Double = 1.5, width: UInt32 = 100, repeat n: UInt16 = 1) -> PulseCommand {
    PulseCommand(tile: 0, side: side, row: row, column: column, polarity: polarity, amplitude: Volts(volts), widthNanoseconds: width, repeat: n)
}

@Suite("Firmware engine")
struct FirmwareEngineTests {
    @Test("HELLO answers INFO with the hardware's description; another protocol version is refused")
    func hello() throws {
        var h = EngineHarness()
        guard case .info(let info) = try h.call(.hello(hostVersion: ProtocolVersion.current)) else {
            Issue.record("no INFO"); return
        }
        #expect(info.serial == Array("TEST-1".utf8))
        #expect(info.tiles == h.engine.frontEnd.hardware.tiles)
        #expect(info.activeLimits == h.engine.frontEnd.hardware.absoluteLimits)
        #expect(info.dacBits == 8 && info.adcBits == 12 && info.clockHertz == 100_000_000)
        guard case .error(let e) = try h.call(.hello(hostVersion: 9)) else { Issue.record("accepted version 9"); return }
        #expect(e.code == .unsupportedVersion && e.value == 9 && e.limit == 1)
    }

    @Test("an out-of-limit programming request is refused whole and changes nothing", arguments: [
        (pulse(row: 1, column: 1, volts: 3.5), ErrorCode.voltageOutOfLimit, Float(3.5), Float(3)),
        (pulse(row: 1, column: 1, width: 5), .pulseWidthOutOfLimit, 5, 10),
        (pulse(row: 1, column: 1, width: 2_000_000), .pulseWidthOutOfLimit, 2_000_000, 1_000_000),
        (pulse(row: 1, column: 1, polarity: 0), .valueOutOfRange, 0, 1),
        (pulse(row: 4, column: 1), .addressOutOfRange, 0, 0),
        (pulse(row: 1, column: 1, volts: -1), .voltageOutOfLimit, -1, 3),
    ])
    func outOfLimitProgrammingRefused(bad: PulseCommand, code: ErrorCode, value: Float, limit: Float) throws {
        var h = EngineHarness()
        let before = try h.readBack(tile: 0)
        let batch = [pulse(row: 0, column: 0, repeat: 3), pulse(row: 2, column: 1), bad, pulse(row: 3, column: 2)]
        guard case .error(let e) = try h.call(.programPulses(batch)) else { Issue.record("request accepted"); return }
        #expect(e.code == code)
        #expect(e.opcode == Opcode.programPulses.rawValue)
        #expect(e.index == 2)
        #expect(e.value == value && e.limit == limit)
        #expect(h.engine.frontEnd.pulsesFired == 0)
        #expect(try h.readBack(tile: 0) == before)
        guard case .counters(let c) = try h.call(.counters) else { Issue.record("no counters"); return }
        #expect(c.pulses == 0)
    }

    @Test("a request over the pulse budget is refused; after SET LIMITS a tighter budget applies")
    func pulseBudget() throws {
        var h = EngineHarness()
        guard case .error(let e) = try h.call(.programPulses([pulse(row: 0, column: 0, repeat: 6_000), pulse(row: 0, column: 1, repeat: 5_000)])) else {
            Issue.record("accepted 11 000 pulses"); return
        }
        #expect(e.code == .pulseCountOutOfLimit && e.value == 11_000 && e.limit == 10_000)
        var tight = h.engine.frontEnd.hardware.absoluteLimits
        tight.programVoltage = Volts(1)
        #expect(try h.call(.setLimits(tight)) == .limits(tight))
        guard case .error(let v) = try h.call(.programPulses([pulse(row: 0, column: 0, volts: 1.5)])) else { Issue.record("accepted 1.5 V"); return }
        #expect(v.code == .voltageOutOfLimit && v.limit == 1)
        var above = tight
        above.readVoltage = Volts(0.6)
        guard case .error(let a) = try h.call(.setLimits(above)) else { Issue.record("accepted limits above hardware"); return }
        #expect(a.code == .limitAboveHardware && a.index == 1)
        #expect(h.engine.limits == tight)
        #expect(try h.call(.reset) == .reset)
        #expect(h.engine.limits == h.engine.frontEnd.hardware.absoluteLimits)
        #expect(h.engine.frontEnd.pulsesFired == 0)
    }

    @Test("a retransmitted programming request is applied once and answered from the cache")
    func retransmitAppliedOnce() throws {
        var h = EngineHarness()
        let before = try h.readBack(tile: 0)
        h.sequence &+= 1
        let frame = Request.programPulses([pulse(row: 1, column: 2, repeat: 4)]).frame(sequence: h.sequence).encoded()
        let first = h.send(bytes: frame)
        let second = h.send(bytes: frame)
        let third = h.send(bytes: frame)
        #expect(first == second && second == third)
        #expect(h.engine.frontEnd.pulsesFired == 4)
        let after = try h.readBack(tile: 0)
        let k = 2 * (1 * 3 + 2)  // G⁺ of cell (1, 2)
        var expected = before
        let lsb = h.engine.frontEnd.hardware.deviceReadFullScale.value / 2047 / 0.25
        expected[k] = Int16(((5e-6 + 5e-7 + 4e-7) * 0.25 / (lsb * 0.25)).rounded())
        #expect(after == expected)
        guard case .counters(let c) = try h.call(.counters) else { Issue.record("no counters"); return }
        #expect(c.pulses == 4)
        #expect(c.retransmitsAnswered == 2)
    }

    @Test("a cached sequence number reused for other bytes is refused; HELLO starts a new session")
    func sequenceReuse() throws {
        var h = EngineHarness()
        _ = h.send(bytes: Request.marker(1).frame(sequence: 5).encoded())
        let reply = h.send(bytes: Request.programPulses([pulse(row: 0, column: 0)]).frame(sequence: 5).encoded())
        let response = try Response.decode(try Frame.decode(reply[0]))
        guard case .error(let e) = response else { Issue.record("accepted: \(response)"); return }
        #expect(e.code == .sequenceReused)
        #expect(h.engine.frontEnd.pulsesFired == 0)
        let hello = h.send(bytes: Request.hello(hostVersion: 1).frame(sequence: 5).encoded())
        let helloResponse = try Response.decode(try Frame.decode(hello[0]))
        guard case .info = helloResponse else { Issue.record("HELLO refused: \(helloResponse)"); return }
    }

    @Test("damaged frames get badFrame with the header's sequence; garbage on the line is survived")
    func damagedFrames() throws {
        var h = EngineHarness()
        var bad = Request.programPulses([pulse(row: 0, column: 0)]).frame(sequence: 0x1234).encoded()
        bad[bad.count - 3] ^= 0x10  // inside the CRC
        let reply = h.send(bytes: bad)
        let frame = try Frame.decode(reply[0])
        #expect(frame.type == FrameType.error && frame.sequence == 0x1234)
        guard case .error(let e) = try Response.decode(frame) else { Issue.record("not an error"); return }
        #expect(e.code == .badFrame)
        var rng = TestRandom(seed: 9)
        let garbage = (0..<5_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        _ = h.send(bytes: garbage + [0])
        #expect(try h.call(.ping([1, 2, 3])) == .pong([1, 2, 3]))
        #expect(h.engine.frontEnd.pulsesFired == 0)
        #expect(h.engine.currentCounters.framesRejected > 1)
    }

    @Test("matrix-vector reads compute the product; bad geometry, codes and sizes are refused")
    func matrixVector() throws {
        var h = EngineHarness()
        let inputs: [Int16] = [127, -64, 0, 32, 10, 20, 30, 40]
        guard case .matrixVector(let r) = try h.call(.matrixVector(MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: 2, vectorLength: 4, inputFullScale: Volts(0.5), inputs: inputs))) else {
            Issue.record("refused"); return
        }
        #expect(r.vectorCount == 2 && r.outputLength == 3)
        let fe = h.engine.frontEnd
        for v in 0..<2 {
            for j in 0..<3 {
                var current = 0.0
                for i in 0..<4 { current += Double(inputs[v * 4 + i]) / 127 * 0.5 * fe.weight(0, i, j) }
                #expect(abs(Double(r.outputs[v * 3 + j]) * r.amperesPerCode.value - current) <= r.amperesPerCode.value / 2 * 1.000001)
            }
        }
        guard case .matrixVector(let t) = try h.call(.matrixVector(MatrixVectorRead(tile: 0, orientation: .transposed, vectorCount: 1, vectorLength: 3, inputFullScale: Volts(0.5), inputs: [127, 127, -127]))) else {
            Issue.record("refused"); return
        }
        #expect(t.outputLength == 4)
        let cases: [(MatrixVectorRead, ErrorCode)] = [
            (MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: 1, vectorLength: 3, inputFullScale: Volts(0.5), inputs: [1, 2, 3]), .geometryMismatch),
            (MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: 1, vectorLength: 4, inputFullScale: Volts(0.5), inputs: [1, 2, 128, 3]), .valueOutOfRange),
            (MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: 1, vectorLength: 4, inputFullScale: Volts(0.6), inputs: [1, 2, 3, 4]), .voltageOutOfLimit),
            (MatrixVectorRead(tile: 7, orientation: .forward, vectorCount: 1, vectorLength: 4, inputFullScale: Volts(0.5), inputs: [1, 2, 3, 4]), .addressOutOfRange),
            (MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: 11_000, vectorLength: 4, inputFullScale: Volts(0.5), inputs: [Int16](repeating: 1, count: 44_000)), .responseTooLarge),
        ]
        for (request, code) in cases {
            guard case .error(let e) = h.engine.execute(.matrixVector(request)) else { Issue.record("accepted \(code)"); continue }
            #expect(e.code == code)
        }
        #expect(h.engine.currentCounters.vectorReads == 3)
    }

    @Test("outer-product updates move each weight by the sign product times its coincidences", arguments: [UpdateMode.plusSigned, .minusSigned, .differentialSet])
    func outerProduct(mode: UpdateMode) throws {
        var h = EngineHarness()
        let bl: UInt16 = 12
        let rowSigns: [Int8] = [1, -1, 0, 1]
        let columnSigns: [Int8] = [1, -1, 1]
        var rng = TestRandom(seed: 3)
        let rowTrains = (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let columnTrains = (0..<6).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let w0 = (0..<4).map { i in (0..<3).map { j in h.engine.frontEnd.weight(0, i, j) } }
        guard case .outerProduct(let r) = try h.call(.outerProduct(OuterProductUpdate(tile: 0, mode: mode, trainLength: bl, amplitude: Volts(2), widthNanoseconds: 20, rowSigns: rowSigns, columnSigns: columnSigns, rowTrains: rowTrains, columnTrains: columnTrains))) else {
            Issue.record("refused"); return
        }
        var expected = 0
        for i in 0..<4 {
            for j in 0..<3 {
                var n = 0
                for k in 0..<Int(bl) where OuterProductUpdate.fires(rowTrains, line: i, slot: k, length: bl) && OuterProductUpdate.fires(columnTrains, line: j, slot: k, length: bl) && rowSigns[i] != 0 {
                    n += 1
                }
                expected += n
                let dw = h.engine.frontEnd.weight(0, i, j) - w0[i][j]
                #expect(abs(dw - Double(Int(rowSigns[i]) * Int(columnSigns[j]) * n) * 1e-7) < 1e-12, "cell \(i),\(j)")
            }
        }
        #expect(Int(r.coincidences) == expected && expected > 0)
        #expect(h.engine.currentCounters.pulses == UInt64(expected))
    }

    @Test("markers drive the lines and temperature reads the sensor")
    func markersAndTemperature() throws {
        var h = EngineHarness()
        guard case .marker(let a) = try h.call(.marker(5)) else { Issue.record("no ack"); return }
        #expect(a.value == 5 && a.timestampNanoseconds > 0 && a.timestampNanoseconds <= h.engine.frontEnd.nanoseconds)
        _ = try h.call(.marker(0))
        #expect(h.engine.frontEnd.markerHistory == [5, 0])
        guard case .temperature(let t) = try h.call(.temperature) else { Issue.record("no reading"); return }
        #expect(t.temperature == Kelvin(301.5))
    }
}

@Suite("Firmware engine: sequence numbers, sessions and sizes")
struct FirmwareEngineSessionTests {
    func decode(_ reply: [[UInt8]]) throws -> Response { try Response.decode(try Frame.decode(reply[0])) }

    @Test("a stale copy of an executed request, evicted from the cache, is refused and not executed again")
    func staleCopyRefused() throws {
        var h = EngineHarness()
        let program = Request.programPulses([pulse(row: 1, column: 1, repeat: 5)]).frame(sequence: 10).encoded()
        _ = h.send(bytes: program)
        for s in UInt16(11)...15 { _ = h.send(bytes: Request.ping([UInt8(s)]).frame(sequence: s).encoded()) }  // evict it
        guard case .error(let e) = try decode(h.send(bytes: program)) else { Issue.record("executed again"); return }
        #expect(e.code == .sequenceReused && e.value == 10 && e.limit == 15)
        #expect(h.engine.frontEnd.pulsesFired == 5)
        // Newer numbers keep working, across the wrap-around.
        #expect(try decode(h.send(bytes: Request.ping([1]).frame(sequence: 16).encoded())) == .pong([1]))
        #expect(FirmwareEngine<TestFrontEnd>.isNewer(3, than: 0xFFF0))
        #expect(!FirmwareEngine<TestFrontEnd>.isNewer(0xFFF0, than: 3))
        #expect(!FirmwareEngine<TestFrontEnd>.isNewer(7, than: 7))
    }

    @Test("HELLO is never answered from the cache, and only a successful HELLO starts a new session")
    func helloSessions() throws {
        var h = EngineHarness()
        let hello = Request.hello(hostVersion: 1).frame(sequence: 1).encoded()
        _ = h.send(bytes: hello)
        let program = Request.programPulses([pulse(row: 0, column: 0, repeat: 3)]).frame(sequence: 2).encoded()
        _ = h.send(bytes: program)
        #expect(h.engine.frontEnd.pulsesFired == 3)
        // A refused HELLO (wrong version) changes nothing: the program retransmission still hits the cache.
        guard case .error = try decode(h.send(bytes: Request.hello(hostVersion: 7).frame(sequence: 3).encoded())) else {
            Issue.record("HELLO 7 accepted"); return
        }
        _ = h.send(bytes: program)
        #expect(h.engine.frontEnd.pulsesFired == 3)
        // A new session replaying the same HELLO bytes is executed, and its identical program runs.
        guard case .info = try decode(h.send(bytes: hello)) else { Issue.record("no INFO"); return }
        guard case .programmed(let p) = try decode(h.send(bytes: program)) else { Issue.record("refused"); return }
        #expect(p.pulsesApplied == 3)
        #expect(h.engine.frontEnd.pulsesFired == 6)
    }

    @Test("a conductance read at a negative voltage, or outside the tile, is refused with the field named")
    func conductanceReadChecks() throws {
        var h = EngineHarness()
        guard case .error(let v) = h.engine.execute(.readConductance(ConductanceRead(tile: 0, row: 0, column: 0, rows: 1, columns: 1, readVoltage: Volts(-0.2)))) else {
            Issue.record("read at −0.2 V"); return
        }
        #expect(v.code == .voltageOutOfLimit)
        guard case .error(let c) = h.engine.execute(.readConductance(ConductanceRead(tile: 0, row: 0, column: 2, rows: 1, columns: 2, readVoltage: Volts(0.2)))) else {
            Issue.record("read past the last column"); return
        }
        #expect(c.code == .addressOutOfRange && c.index == 1 && c.value == 4 && c.limit == 3)
        #expect(h.engine.frontEnd.nanoseconds == 2 * 1_500)  // dispatch cycles only: no device was read
    }

    @Test("SET LIMITS refuses a zero pulse budget")
    func zeroBudget() throws {
        var h = EngineHarness()
        var l = h.engine.limits
        l.maxPulsesPerRequest = 0
        guard case .error(let e) = h.engine.execute(.setLimits(l)) else { Issue.record("accepted"); return }
        #expect(e.code == .limitAboveHardware && e.index == 5)
    }

    @Test("headers asking for more data than the body holds are refused before anything is allocated")
    func hugeHeaders() throws {
        var w = ByteWriter()
        w.u8(0); w.u8(0); w.u16(0xFFFF); w.u16(0xFFFF); w.f32(0.1)
        #expect(throws: ProtocolError.self) { try Request.decode(Frame(type: Opcode.matrixVector.rawValue, sequence: 1, body: w.bytes)) }
        var r = ByteWriter()
        r.u16(0xFFFF); r.u16(0xFFFF); r.u8(3); r.f32(1e-7)
        #expect(throws: ProtocolError.self) { try Response.decode(Frame(type: Opcode.readConductance.responseType, sequence: 1, body: r.bytes)) }
    }

    @Test("a board with small buffers reports them, refuses larger frames and results")
    func smallBuffers() throws {
        var fe = TestFrontEnd()
        fe.hardware.maxFrameBody = 256
        var h = EngineHarness(engine: FirmwareEngine(frontEnd: fe))
        guard case .info(let info) = try h.call(.hello(hostVersion: 1)) else { Issue.record("no INFO"); return }
        #expect(info.maxRequestBody == 256)
        guard case .error(let e) = h.engine.execute(.matrixVector(MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: 50, vectorLength: 4, inputFullScale: Volts(0.5), inputs: [Int16](repeating: 1, count: 200)))) else {
            Issue.record("a 50-vector result fit in 256 bytes"); return
        }
        #expect(e.code == .responseTooLarge && e.limit == Float((256 - 12) / 6))
        let big = Request.ping([UInt8](repeating: 7, count: 400)).frame(sequence: 9).encoded()
        guard case .error(let b) = try Response.decode(try Frame.decode(h.send(bytes: big)[0])) else { Issue.record("400-byte ping accepted"); return }
        #expect(b.code == .badFrame)
    }
}
