import LandauerFirmware
import Testing

/// Random messages for property tests. Physical values are drawn as binary32 so they survive
/// the wire's f32 fields exactly.
struct MessageGenerator {
    var rng: TestRandom

    mutating func int<T: FixedWidthInteger>(_ t: T.Type = T.self) -> T { T.random(in: T.min...T.max, using: &rng) }
    mutating func count(_ max: Int) -> Int { Int.random(in: 0...max, using: &rng) }
    mutating func bytes(_ max: Int) -> [UInt8] { (0..<count(max)).map { _ in int(UInt8.self) } }
    mutating func float() -> Double { Double(Float.random(in: -1e3...1e3, using: &rng)) }
    mutating func positive() -> Double { Double(Float.random(in: 1e-9...10, using: &rng)) }
    mutating func limits() -> SafetyLimits {
        SafetyLimits(programVoltage: Volts(positive()), readVoltage: Volts(positive()), minPulseWidthNanoseconds: int(),
                     maxPulseWidthNanoseconds: int(), complianceCurrent: Amperes(positive()), maxPulsesPerRequest: int())
    }

    mutating func request() -> Request {
        switch Int.random(in: 0..<13, using: &rng) {
        case 0: return .hello(hostVersion: int())
        case 1: return .ping(bytes(300))
        case 2: return .readConductance(ConductanceRead(tile: int(), sides: UInt8.random(in: 1...3, using: &rng), row: int(), column: int(), rows: int(), columns: int(), readVoltage: Volts(float())))
        case 3:
            let n = count(20), m = count(20)
            return .matrixVector(MatrixVectorRead(tile: int(), orientation: Bool.random(using: &rng) ? .forward : .transposed, vectorCount: UInt16(n), vectorLength: UInt16(m), inputFullScale: Volts(float()), inputs: (0..<(n * m)).map { _ in int() }))
        case 4:
            return .programPulses((0..<count(30)).map { _ in
                PulseCommand(tile: int(), side: Bool.random(using: &rng) ? .plus : .minus, row: int(), column: int(), polarity: int(), amplitude: Volts(float()), widthNanoseconds: int(), repeat: int())
            })
        case 5:
            let bl = UInt16(count(100)), r = count(40), c = count(40)
            let tb = OuterProductUpdate.trainBytes(bl)
            return .outerProduct(OuterProductUpdate(
                tile: int(), mode: [.plusSigned, .minusSigned, .differentialSet][count(2)], trainLength: bl, amplitude: Volts(float()), widthNanoseconds: int(),
                rowSigns: (0..<r).map { _ in int() }, columnSigns: (0..<c).map { _ in int() },
                rowTrains: (0..<(r * tb)).map { _ in int() }, columnTrains: (0..<(c * tb)).map { _ in int() }))
        case 6: return .setLimits(limits())
        case 7: return .marker(int())
        case 8: return .temperature
        case 9: return .counters
        case 10:
            // Fields a mode or stop condition does not use are 0, as the decoder requires.
            let mode: SweepMode = Bool.random(using: &rng) ? .staircase : .pulsed
            let stop = [SweepStop.none, .compliance, .conductance][count(2)]
            return .sweep(SweepRequest(
                tile: int(), side: Bool.random(using: &rng) ? .plus : .minus, row: int(), column: int(), mode: mode, stop: stop,
                dwellNanoseconds: int(), compliance: Amperes(float()), readVoltage: mode == .pulsed ? Volts(float()) : .zero,
                stopConductance: stop == .conductance ? Siemens(positive()) : .zero,
                voltages: (0...count(40)).map { _ in Volts(float()) }))
        default: return .reset
        }
    }

    mutating func response() -> (Response, Opcode) {
        switch Int.random(in: 0..<13, using: &rng) {
        case 0:
            let tiles = (0..<count(8)).map { _ in TileInfo(rows: int(), columns: int(), outputFullScale: Amperes(positive())) }
            return (.info(BoardInfo(protocolVersion: int(), firmwareVersion: FirmwareVersion(major: int(), minor: int(), patch: int()), serial: bytes(32), clockHertz: int(), dacBits: int(), adcBits: int(), markerLines: int(), maxRequestBody: int(), deviceReadFullScale: Amperes(positive()), tiles: tiles, absoluteLimits: limits(), activeLimits: limits())), .hello)
        case 1: return (.pong(bytes(300)), .ping)
        case 2:
            let r = count(10), c = count(10), sides = UInt8.random(in: 1...3, using: &rng)
            let n = r * c * (sides == 3 ? 2 : 1)
            return (.conductances(ConductanceReadResult(rows: UInt16(r), columns: UInt16(c), sides: sides, siemensPerCode: Siemens(positive()), codes: (0..<n).map { _ in int() })), .readConductance)
        case 3:
            let n = count(20), m = count(20)
            return (.matrixVector(MatrixVectorResult(vectorCount: UInt16(n), outputLength: UInt16(m), amperesPerCode: Amperes(positive()), saturated: int(), outputs: (0..<(n * m)).map { _ in int() })), Bool.random(using: &rng) ? .matrixVector : .matrixVectorTransposed)
        case 4: return (.programmed(ProgramResult(pulsesApplied: int(), elapsedNanoseconds: int())), .programPulses)
        case 5: return (.outerProduct(OuterProductResult(coincidences: int(), slots: int(), elapsedNanoseconds: int())), .outerProduct)
        case 6: return (.limits(limits()), .setLimits)
        case 7: return (.marker(MarkerAck(value: int(), timestampNanoseconds: int())), .marker)
        case 8: return (.temperature(TemperatureReading(temperature: Kelvin(positive()), timestampNanoseconds: int())), .temperature)
        case 9: return (.counters(Counters(pulses: int(), deviceReads: int(), vectorReads: int(), adcConversions: int(), dacUpdates: int(), requestsExecuted: int(), framesRejected: int(), retransmitsAnswered: int(), uptimeNanoseconds: int())), .counters)
        case 10: return (.reset, .reset)
        case 11:
            return (.sweep(SweepResult(
                stopped: Bool.random(using: &rng), complianceClamped: Bool.random(using: &rng), compliance: Amperes(positive()),
                amperesPerCode: Amperes(positive()), siemensPerCode: Siemens(positive()), elapsedNanoseconds: int(),
                steps: (0..<count(30)).map { _ in SweepStep(voltage: Volts(float()), currentCode: int(), limited: Bool.random(using: &rng), readCode: int()) })),
                .sweep)
        default:
            let code = ErrorCode.allCases[count(ErrorCode.allCases.count - 1)]
            return (.error(ErrorResponse(code: code, opcode: int(), index: int(), value: Float(float()), limit: Float(float()))), .programPulses)
        }
    }
}

@Suite("Random messages round-trip through encoder, framing and decoder")
struct MessageRoundTripTests {
    @Test("requests", arguments: 0..<4)
    func requests(seed: UInt64) throws {
        var g = MessageGenerator(rng: TestRandom(seed: seed))
        for _ in 0..<1_000 {
            let r = g.request()
            let sequence: UInt16 = g.int()
            let frame = try Frame.decode(r.frame(sequence: sequence).encoded())
            #expect(frame.sequence == sequence)
            #expect(try Request.decode(frame) == r)
        }
    }

    @Test("responses", arguments: 0..<4)
    func responses(seed: UInt64) throws {
        var g = MessageGenerator(rng: TestRandom(seed: 100 + seed))
        for _ in 0..<1_000 {
            let (r, op) = g.response()
            let sequence: UInt16 = g.int()
            let frame = try Frame.decode(r.frame(answering: op, sequence: sequence).encoded())
            #expect(frame.sequence == sequence)
            #expect(try Response.decode(frame) == r)
        }
    }

    @Test("non-finite physical values are refused with the field's offset")
    func nonFiniteRefused() throws {
        var body = Request.marker(0).body()
        body = Request.readConductance(ConductanceRead(tile: 0, row: 0, column: 0, rows: 1, columns: 1, readVoltage: Volts(0.1))).body()
        let nan = Float.nan.bitPattern
        body[10] = UInt8(truncatingIfNeeded: nan); body[11] = UInt8(truncatingIfNeeded: nan >> 8)
        body[12] = UInt8(truncatingIfNeeded: nan >> 16); body[13] = UInt8(truncatingIfNeeded: nan >> 24)
        #expect(throws: ProtocolError.invalidField(type: 0x03, offset: 10)) {
            try Request.decode(Frame(type: 0x03, sequence: 1, body: body))
        }
    }
}

@Suite("Decoder robustness")
struct DecoderRobustnessTests {
    /// Random byte strings of every short length, and strings built from valid frames with random
    /// damage, through the frame decoder and both message decoders: a typed error or a value,
    /// never a crash.
    @Test("a million random byte strings are survived")
    func randomBytes() {
        var rng = TestRandom(seed: 0x1A4D)
        var decodedFrames = 0
        var decodedMessages = 0
        var buffer: [UInt8] = []
        for i in 0..<1_000_000 {
            let n = Int(rng.next() % 48)
            buffer.removeAll(keepingCapacity: true)
            for _ in 0..<n { buffer.append(UInt8(truncatingIfNeeded: rng.next())) }
            if i % 4 == 0, n > 6 {
                // A valid header and CRC around a random body: reaches the message decoders.
                let body = Array(buffer[6...])
                buffer = Frame(type: buffer[1] & 0x8F, sequence: 1, body: body).encoded()
            }
            guard let frame = try? Frame.decode(buffer) else { continue }
            decodedFrames += 1
            if (try? Request.decode(frame)) != nil { decodedMessages += 1 }
            if (try? Response.decode(frame)) != nil { decodedMessages += 1 }
        }
        #expect(decodedFrames > 200_000)  // the generator reaches the message layer
        #expect(decodedMessages > 0)
    }
}
