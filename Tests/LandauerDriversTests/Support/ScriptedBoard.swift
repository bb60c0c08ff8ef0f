import LandauerDrivers
import LandauerFirmware
import Synchronization

/// A hand-scripted board for client unit tests: it splits the written bytes into frames, records
/// each decoded request, and answers with whatever bytes the script returns for it.
final class ScriptedBoard: Sendable {
    /// One request as the board saw it.
    struct Received: Sendable {
        var frame: Frame
        var encoded: [UInt8]
    }

    /// Decides the bytes written back for the n-th request frame (from 0).
    typealias Script = @Sendable (_ index: Int, _ frame: Frame) -> [UInt8]

    private struct State {
        var splitter = FrameSplitter()
        var log: [Received] = []
    }

    private let state = Mutex(State())
    private let script: Script

    init(_ script: @escaping Script) { self.script = script }

    /// A board answering every request with `response` for its opcode and sequence number.
    static func answering(_ response: @escaping @Sendable (Request) -> Response) -> ScriptedBoard {
        ScriptedBoard { _, frame in
            guard let request = try? Request.decode(frame), let op = Opcode(rawValue: frame.type) else { return [] }
            return response(request).frame(answering: op, sequence: frame.sequence).encoded()
        }
    }

    /// The usual success answer for `frame`.
    static func ok(_ frame: Frame) -> [UInt8] {
        guard let request = try? Request.decode(frame) else { return [] }
        return success(for: request).frame(answering: request.opcode, sequence: frame.sequence).encoded()
    }

    /// A plausible success response to `request`.
    static func success(for request: Request) -> Response {
        switch request {
        case .hello: .info(sampleInfo)
        case .ping(let p): .pong(p)
        case .readConductance(let r):
            .conductances(ConductanceReadResult(
                rows: r.rows, columns: r.columns, sides: r.sides, siemensPerCode: Siemens(1e-7),
                codes: [Int16](repeating: 7, count: Int(r.rows) * Int(r.columns) * r.sideCount)))
        case .matrixVector(let m):
            .matrixVector(MatrixVectorResult(
                vectorCount: m.vectorCount, outputLength: 4, amperesPerCode: Amperes(1e-9), saturated: 0,
                outputs: [Int16](repeating: 1, count: Int(m.vectorCount) * 4)))
        case .programPulses(let p):
            .programmed(ProgramResult(pulsesApplied: UInt32(p.reduce(0) { $0 + Int($1.repeat) }), elapsedNanoseconds: 1000))
        case .outerProduct(let u): .outerProduct(OuterProductResult(coincidences: 3, slots: u.trainLength, elapsedNanoseconds: 10))
        case .setLimits(let l): .limits(l)
        case .marker(let v): .marker(MarkerAck(value: v, timestampNanoseconds: 42))
        case .temperature: .temperature(TemperatureReading(temperature: Kelvin(296.5), timestampNanoseconds: 43))
        case .counters: .counters(Counters(pulses: 5, requestsExecuted: 9))
        case .reset: .reset
        case .sweep(let q):
            .sweep(SweepResult(
                stopped: false, complianceClamped: false, compliance: q.compliance, amperesPerCode: Amperes(1e-8),
                siemensPerCode: .zero, elapsedNanoseconds: 10,
                steps: q.voltages.map { SweepStep(voltage: $0, currentCode: 1, limited: false) }))
        }
    }

    static let sampleLimits = SafetyLimits(
        programVoltage: Volts(3.0), readVoltage: Volts(0.5), minPulseWidthNanoseconds: 10,
        maxPulseWidthNanoseconds: 100_000, complianceCurrent: Amperes(Double(Float(1e-4))), maxPulsesPerRequest: 1000)

    static let sampleInfo = BoardInfo(
        protocolVersion: ProtocolVersion.current, firmwareVersion: FirmwareVersion(major: 0, minor: 1, patch: 0),
        serial: Array("SCRIPTED".utf8), clockHertz: 64_000_000, dacBits: 8, adcBits: 12, markerLines: 8,
        maxRequestBody: 2048, deviceReadFullScale: Amperes(Double(Float(1e-5))),
        tiles: [TileInfo(rows: 8, columns: 4, outputFullScale: Amperes(Double(Float(1e-5))))], absoluteLimits: sampleLimits,
        activeLimits: sampleLimits)

    /// Requests received so far, in order (retransmissions included).
    var received: [Received] { state.withLock { $0.log } }

    /// Sequence numbers of the requests received, in order.
    var sequences: [UInt16] { received.map(\.frame.sequence) }

    /// Feeds written bytes; returns the script's answers.
    func handle(_ bytes: [UInt8]) -> [UInt8] {
        var frames: [(Int, Frame, [UInt8])] = []
        state.withLock { s in
            var pieces: [FrameSplitter.Piece] = []
            s.splitter.feed(bytes) { pieces.append($0) }
            for case .frame(let encoded) in pieces {
                guard let frame = try? Frame.decode(encoded) else { continue }
                frames.append((s.log.count, frame, encoded))
                s.log.append(Received(frame: frame, encoded: encoded))
            }
        }
        var out: [UInt8] = []
        for (i, frame, _) in frames { out += script(i, frame) }
        return out
    }

    /// A loopback transport to this board.
    func transport(idleReads: DeviceLoopbackTransport.IdleReads = .waitForTimeout) -> DeviceLoopbackTransport {
        DeviceLoopbackTransport(endpoint: "test:scripted", idleReads: idleReads) { [self] bytes in handle(bytes) }
    }
}

/// Encoded frame helpers for tests.
enum Wire {
    /// `bytes` with one byte (not the delimiter) flipped so the CRC fails; never creates a 0x00.
    static func corrupted(_ bytes: [UInt8], at offset: Int = 3) -> [UInt8] {
        var b = bytes
        let i = offset % (b.count - 1)
        b[i] = b[i] ^ 0x40 == 0 ? b[i] ^ 0x41 : b[i] ^ 0x40
        return b
    }

    /// An error response frame.
    static func refusal(_ e: ErrorResponse, sequence: UInt16) -> [UInt8] {
        Response.error(e).frame(answering: .ping, sequence: sequence).encoded()
    }
}
