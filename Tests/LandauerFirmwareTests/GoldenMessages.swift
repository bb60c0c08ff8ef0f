import LandauerFirmware

/// The binary32 value nearest to `x`, so golden values survive the wire's f32 fields exactly.
func f32(_ x: Double) -> Double { Double(Float(x)) }

/// A message named in docs/protocol.md with its golden byte vector.
enum GoldenMessage: Sendable {
    case request(Request, sequence: UInt16)
    case response(Response, answering: Opcode, sequence: UInt16)

    /// The frame this message travels in.
    var frame: Frame {
        switch self {
        case .request(let r, let s): r.frame(sequence: s)
        case .response(let r, let op, let s): r.frame(answering: op, sequence: s)
        }
    }
}

/// Every message type of the protocol, with the example values the normative document uses.
/// The document's hex for each name must equal `frame.encoded()` of the value here.
let goldenMessages: [(name: String, message: GoldenMessage)] = {
    let limits = SafetyLimits(
        programVoltage: Volts(f32(3)), readVoltage: Volts(f32(0.5)), minPulseWidthNanoseconds: 10,
        maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(f32(1e-4)), maxPulsesPerRequest: 1_000_000)
    let tighter = SafetyLimits(
        programVoltage: Volts(f32(2)), readVoltage: Volts(f32(0.25)), minPulseWidthNanoseconds: 50,
        maxPulseWidthNanoseconds: 10_000, complianceCurrent: Amperes(f32(5e-5)), maxPulsesPerRequest: 10_000)
    let info = BoardInfo(
        protocolVersion: 1, firmwareVersion: FirmwareVersion(major: 0, minor: 1, patch: 0),
        serial: Array("LDR-0001".utf8), clockHertz: 168_000_000, dacBits: 8, adcBits: 10, markerLines: 8,
        maxRequestBody: 65_535, deviceReadFullScale: Amperes(f32(2e-5)),
        tiles: [TileInfo(rows: 64, columns: 32, outputFullScale: Amperes(f32(4e-4))),
                TileInfo(rows: 32, columns: 10, outputFullScale: Amperes(f32(2e-4)))],
        absoluteLimits: limits, activeLimits: tighter)
    return [
        ("hello", .request(.hello(hostVersion: 1), sequence: 1)),
        ("info", .response(.info(info), answering: .hello, sequence: 1)),
        ("ping", .request(.ping([0xDE, 0xAD, 0x00, 0xBE, 0xEF]), sequence: 2)),
        ("pong", .response(.pong([0xDE, 0xAD, 0x00, 0xBE, 0xEF]), answering: .ping, sequence: 2)),
        ("read-conductance", .request(.readConductance(ConductanceRead(
            tile: 0, sides: 3, row: 4, column: 2, rows: 1, columns: 2, readVoltage: Volts(f32(0.2)))), sequence: 3)),
        ("conductances", .response(.conductances(ConductanceReadResult(
            rows: 1, columns: 2, sides: 3, siemensPerCode: Siemens(f32(9.765625e-8)), codes: [102, 11, 204, 0])),
            answering: .readConductance, sequence: 3)),
        ("matrix-vector", .request(.matrixVector(MatrixVectorRead(
            tile: 1, orientation: .forward, vectorCount: 2, vectorLength: 3, inputFullScale: Volts(f32(0.25)),
            inputs: [127, 0, -127, 64, -1, 1])), sequence: 4)),
        ("matrix-vector-result", .response(.matrixVector(MatrixVectorResult(
            vectorCount: 2, outputLength: 2, amperesPerCode: Amperes(f32(3.90625e-7)), saturated: 1,
            outputs: [511, -3, 12, -511])), answering: .matrixVector, sequence: 4)),
        ("matrix-vector-transposed", .request(.matrixVector(MatrixVectorRead(
            tile: 1, orientation: .transposed, vectorCount: 1, vectorLength: 2, inputFullScale: Volts(f32(0.125)),
            inputs: [-128 + 1, 100])), sequence: 5)),
        ("matrix-vector-transposed-result", .response(.matrixVector(MatrixVectorResult(
            vectorCount: 1, outputLength: 3, amperesPerCode: Amperes(f32(3.90625e-7)), saturated: 0,
            outputs: [7, 0, -256])), answering: .matrixVectorTransposed, sequence: 5)),
        ("program-pulses", .request(.programPulses([
            PulseCommand(tile: 0, side: .plus, row: 3, column: 7, polarity: 1, amplitude: Volts(f32(1.5)), widthNanoseconds: 100, repeat: 5),
            PulseCommand(tile: 0, side: .minus, row: 3, column: 7, polarity: -1, amplitude: Volts(f32(1.25)), widthNanoseconds: 1000, repeat: 1),
        ]), sequence: 6)),
        ("programmed", .response(.programmed(ProgramResult(pulsesApplied: 6, elapsedNanoseconds: 2_150)),
            answering: .programPulses, sequence: 6)),
        ("outer-product", .request(.outerProduct(OuterProductUpdate(
            tile: 1, mode: .plusSigned, trainLength: 10, amplitude: Volts(f32(2)), widthNanoseconds: 50,
            rowSigns: [1, -1], columnSigns: [1, 0, -1],
            rowTrains: [0b0000_0101, 0b0000_0010, 0xFF, 0x03], columnTrains: [0x01, 0x00, 0x00, 0x00, 0x80, 0x01])),
            sequence: 7)),
        ("outer-product-result", .response(.outerProduct(OuterProductResult(coincidences: 3, slots: 10, elapsedNanoseconds: 4_000)),
            answering: .outerProduct, sequence: 7)),
        ("set-limits", .request(.setLimits(tighter), sequence: 8)),
        ("limits", .response(.limits(tighter), answering: .setLimits, sequence: 8)),
        ("marker", .request(.marker(3), sequence: 9)),
        ("marker-ack", .response(.marker(MarkerAck(value: 3, timestampNanoseconds: 1_234_567_890)), answering: .marker, sequence: 9)),
        ("temperature", .request(.temperature, sequence: 10)),
        ("temperature-reading", .response(.temperature(TemperatureReading(temperature: Kelvin(f32(300.0625)), timestampNanoseconds: 42)),
            answering: .temperature, sequence: 10)),
        ("counters", .request(.counters, sequence: 11)),
        ("counters-result", .response(.counters(Counters(
            pulses: 6, deviceReads: 4, vectorReads: 3, adcConversions: 10, dacUpdates: 12, requestsExecuted: 10,
            framesRejected: 1, retransmitsAnswered: 2, uptimeNanoseconds: 5_000_000_000)), answering: .counters, sequence: 11)),
        ("reset", .request(.reset, sequence: 12)),
        ("reset-ack", .response(.reset, answering: .reset, sequence: 12)),
        ("sweep", .request(.sweep(SweepRequest(
            tile: 0, side: .plus, row: 3, column: 7, mode: .pulsed, stop: .conductance, dwellNanoseconds: 1000,
            compliance: Amperes(f32(5e-5)), readVoltage: Volts(f32(0.2)), stopConductance: Siemens(f32(1e-5)),
            voltages: [Volts(1.5), Volts(2), Volts(2.5)])), sequence: 14)),
        ("sweep-result", .response(.sweep(SweepResult(
            stopped: true, complianceClamped: false, compliance: Amperes(f32(5e-5)), amperesPerCode: Amperes(f32(3.90625e-7)),
            siemensPerCode: Siemens(f32(9.765625e-8)), elapsedNanoseconds: 4200,
            steps: [SweepStep(voltage: Volts(1.5), currentCode: 3, limited: false, readCode: 51),
                    SweepStep(voltage: Volts(2), currentCode: 128, limited: true, readCode: 205)])),
            answering: .sweep, sequence: 14)),
        ("error", .response(.error(ErrorResponse(code: .voltageOutOfLimit, opcode: Opcode.programPulses.rawValue, index: 1, value: 5, limit: 3)),
            answering: .programPulses, sequence: 13)),
    ]
}()
