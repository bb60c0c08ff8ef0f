import LandauerDrivers
import LandauerFirmware
import Testing

/// A freshly started board under test, reached through a byte link: the in-process engine on the
/// driver tests' `TestFrontEnd`, or the STM32F405 image booted in QEMU (`QEMUBoard`). Both run the
/// same firmware engine on the same integer device model (tile 0 is 8 × 4, tile 1 is 64 × 32, G⁺
/// starts at cell index mod 5 units, G⁻ at 2, one unit per pulse, outputs Σ x·(G⁺ − G⁻) / 16), so
/// every check below holds for both with the same expectations; only what the board is (serial,
/// clock, buffer size) differs, and is given here.
struct BoardUnderTest: Sendable {
    /// Names the board in messages.
    var name: String
    /// The link to the board, open, nothing sent yet.
    var link: any Transport
    /// The serial number INFO reports.
    var serial: String
    /// The core clock INFO reports.
    var clockHertz: UInt32
    /// The largest body INFO reports.
    var maxRequestBody: UInt16
    /// Time for one attempt of a request: long enough for the board to answer, short enough that
    /// a check that waits for a lost response stays quick.
    var attemptTimeout: Duration
}

/// The protocol-level checks every board must pass (docs/protocol.md): HELLO, conductance and
/// matrix-vector reads against each other, pulses applied exactly once and counted, limits that
/// refuse and change nothing, SET LIMITS within the hardware's, retransmissions answered from the
/// cache, malformed frames answered with typed errors.
enum BoardCheck: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case hello
    case conductanceReads
    case forwardMatrixVectorReads
    case transposedMatrixVectorReads
    case batchesSplitAcrossFrames
    case pulsesAndCounters
    case outerProductUpdate
    case limitsRefuseAndChangeNothing
    case setLimitsStaysWithinTheHardware
    case retransmissionsAnsweredFromTheCache
    case lostAndDamagedFramesRecoveredOnce
    case malformedFramesAnsweredWithErrors
    case markersTemperaturePingAndReset
    case singleCellSweepsWithCompliance

    var testDescription: String { rawValue }
}

/// The conformance checks, as functions of a board under test.
enum BoardConformance {
    /// The limits the model boards report (TestFrontEnd.limits, ModelProfile.qemuReference).
    static let limits = SafetyLimits(
        programVoltage: Volts(3.0), readVoltage: Volts(0.5), minPulseWidthNanoseconds: 10,
        maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(Double(Float(1e-4))), maxPulsesPerRequest: 1000)

    /// Integer model arithmetic: the output divisor of both boards.
    static let outputDivisor = 16

    static func run(_ check: BoardCheck, on board: BoardUnderTest) async throws {
        switch check {
        case .hello: try await hello(board)
        case .conductanceReads: try await conductanceReads(board)
        case .forwardMatrixVectorReads: try await matrixVectorReads(board, .forward)
        case .transposedMatrixVectorReads: try await matrixVectorReads(board, .transposed)
        case .batchesSplitAcrossFrames: try await batchesSplitAcrossFrames(board)
        case .pulsesAndCounters: try await pulsesAndCounters(board)
        case .outerProductUpdate: try await outerProductUpdate(board)
        case .limitsRefuseAndChangeNothing: try await limitsRefuseAndChangeNothing(board)
        case .setLimitsStaysWithinTheHardware: try await setLimitsStaysWithinTheHardware(board)
        case .retransmissionsAnsweredFromTheCache: try await retransmissionsAnsweredFromTheCache(board)
        case .lostAndDamagedFramesRecoveredOnce: try await lostAndDamagedFramesRecoveredOnce(board)
        case .malformedFramesAnsweredWithErrors: try await malformedFramesAnsweredWithErrors(board)
        case .markersTemperaturePingAndReset: try await markersTemperaturePingAndReset(board)
        case .singleCellSweepsWithCompliance: try await singleCellSweepsWithCompliance(board)
        }
    }

    // MARK: Helpers

    static func client(_ board: BoardUnderTest, over link: (any Transport)? = nil, first: UInt16 = 500) -> BoardClient {
        BoardClient(
            transport: link ?? board.link,
            configuration: .init(timeout: board.attemptTimeout, maxRetries: 3, initialSequence: first))
    }

    /// The board's refusal of `body`, or nil (with an issue recorded) if it was not refused.
    static func refusal(_ body: () async throws(BoardError) -> Void, sourceLocation: SourceLocation = #_sourceLocation) async
        -> ErrorResponse?
    {
        do {
            try await body()
            Issue.record("the board did not refuse the request", sourceLocation: sourceLocation)
            return nil
        } catch {
            guard case .refused(let e, _) = error else {
                Issue.record("expected a refusal, got \(error)", sourceLocation: sourceLocation)
                return nil
            }
            return e
        }
    }

    /// Every device of `tile` as (G⁺, G⁻) codes, read at 0.25 V, in as many requests as the
    /// board's largest response body needs (9 bytes of header, 4 per cell).
    static func conductances(_ c: BoardClient, tile: UInt8) async throws -> (plus: [Int], minus: [Int]) {
        let info = try #require(await c.boardInfo)
        let t = info.tiles[Int(tile)]
        let rowsPerRead = max(1, (Int(info.maxRequestBody) - 9) / (Int(t.columns) * 4))
        var plus: [Int] = [], minus: [Int] = []
        var row = 0
        while row < Int(t.rows) {
            let rows = min(rowsPerRead, Int(t.rows) - row)
            let r = try await c.readConductances(ConductanceRead(
                tile: tile, row: UInt16(row), column: 0, rows: UInt16(rows), columns: t.columns, readVoltage: Volts(0.25)))
            for k in 0..<(r.codes.count / 2) {
                plus.append(Int(r.codes[2 * k]))
                minus.append(Int(r.codes[2 * k + 1]))
            }
            row += rows
        }
        return (plus, minus)
    }

    /// The outputs the model boards give for `inputs` on a tile with these conductances.
    static func expectedOutputs(
        plus: [Int], minus: [Int], rows: Int, columns: Int, orientation: ReadOrientation, inputs: [Int16], adcMaxCode: Int
    ) -> [Int16] {
        let (nIn, nOut) = orientation == .forward ? (rows, columns) : (columns, rows)
        var out: [Int16] = []
        for v in 0..<(inputs.count / nIn) {
            for o in 0..<nOut {
                var sum = 0
                for i in 0..<nIn {
                    let k = orientation == .forward ? i * columns + o : o * columns + i
                    sum += Int(inputs[v * nIn + i]) * (plus[k] - minus[k])
                }
                out.append(Int16(max(-adcMaxCode, min(adcMaxCode, sum / outputDivisor))))
            }
        }
        return out
    }

    static func inputs(_ count: Int, seed: Int) -> [Int16] {
        (0..<count).map { Int16((($0 + seed) * 37) % 255 - 127) }
    }

    static func pulse(row: UInt16, column: UInt16, side: DeviceSide = .plus, polarity: Int8 = 1, volts: Double = 1.5,
                      width: UInt32 = 100, repeat r: UInt16 = 1, tile: UInt8 = 0) -> PulseCommand {
        PulseCommand(tile: tile, side: side, row: row, column: column, polarity: polarity, amplitude: Volts(volts), widthNanoseconds: width, repeat: r)
    }

    // MARK: Checks

    /// SINGLE-CELL SWEEP on an ideal model device: staircase currents, voltages and limiter flags
    /// exactly as the model arithmetic gives them (TestFrontEnd.dcCode), the compliance clamped to
    /// the active limit and refused above the absolute one, a pulsed sweep stopping at its
    /// conductance threshold, and counters.
    static func singleCellSweepsWithCompliance(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let hardware = TestFrontEnd().hardware
        // Tile 1, cell (2, 3): G⁺ starts at 67 mod 5 = 2 units; 998 pulses take it to 1000 (9.77 µS).
        _ = try await c.program(pulses: [pulse(row: 2, column: 3, repeat: 998, tile: 1)])
        var units = 1000
        let volts = [0, 0.5, 1.0, 1.5, 1.0, 0.5, 0, -0.5, -1.0, -1.5, -1.0, -0.5, 0].map { Volts(Double(Float($0))) }
        let compliance = Amperes(Double(Float(1e-4)))
        let staircase = SweepRequest(
            tile: 1, side: .plus, row: 2, column: 3, mode: .staircase, dwellNanoseconds: 1000, compliance: compliance, voltages: volts)
        let q = try await c.sweep(staircase)
        var expected: [SweepStep] = []
        for v in volts {
            if v.magnitude >= TestFrontEnd.dcSwitchingVoltage { units += v.value > 0 ? 1 : -1 }
            let (code, limited) = TestFrontEnd.dcCode(units: units, voltage: v, compliance: compliance, hardware: hardware, currentFullScale: hardware.sweepCurrentRange(for: compliance))
            expected.append(SweepStep(voltage: v, currentCode: code, limited: limited))
        }
        #expect(q.steps == expected)
        #expect(!q.stopped && !q.complianceClamped && q.compliance == compliance)
        #expect(q.amperesPerCode == Amperes(Double(Float(1e-4 / 2047))))
        #expect(q.siemensPerCode == .zero)
        #expect(q.elapsedNanoseconds >= 13 * 1000)
        #expect(q.steps[0].currentCode == 0 && q.steps[6].currentCode == 0 && q.steps[3].currentCode > 250)
        // Above the absolute compliance: refused, nothing applied.
        let above = try #require(await refusal { () async throws(BoardError) in
            var r = staircase
            r.compliance = Amperes(2e-4)
            _ = try await c.sweep(r)
        })
        #expect(above.code == .currentOutOfLimit && above.value == Float(2e-4) && above.limit == Float(1e-4))
        let beyond = try #require(await refusal { () async throws(BoardError) in
            var r = staircase
            r.voltages[4] = Volts(3.5)
            _ = try await c.sweep(r)
        })
        #expect(beyond.code == .voltageOutOfLimit && beyond.index == 4)
        // Above the active compliance: clamped, and the limiter holds the current there.
        var tight = limits
        tight.complianceCurrent = Amperes(Double(Float(1e-5)))
        _ = try await c.setLimits(tight)
        var clamped = staircase
        clamped.compliance = Amperes(Double(Float(5e-5)))
        clamped.voltages = [Volts(1.5)]
        let k = try await c.sweep(clamped)
        units += 1
        let (code, limited) = TestFrontEnd.dcCode(units: units, voltage: Volts(1.5), compliance: tight.complianceCurrent, hardware: hardware, currentFullScale: hardware.sweepCurrentRange(for: tight.complianceCurrent))
        #expect(k.complianceClamped && k.compliance == tight.complianceCurrent)
        #expect(k.steps == [SweepStep(voltage: Volts(1.5), currentCode: code, limited: limited)])
        #expect(limited && k.current(0).value <= tight.complianceCurrent.value + k.amperesPerCode.value / 2)
        try await c.reset()
        // Pulsed, stopping once the read reaches 1003.5 units' worth of conductance: three pulses.
        let perCode = Double(Float(1e-5)) / 2047 / Double(Float(0.5))
        let pulsed = SweepRequest(
            tile: 1, side: .plus, row: 2, column: 3, mode: .pulsed, stop: .conductance, dwellNanoseconds: 100,
            compliance: compliance, readVoltage: Volts(0.5), stopConductance: Siemens(Double(units) + 3.5) * perCode,
            voltages: [Volts](repeating: Volts(1.5), count: 6))
        let p = try await c.sweep(pulsed)
        #expect(p.stopped)
        #expect(p.steps.map(\.readCode) == (1...4).map { Int16(units + $0) })
        let after = try await c.readConductances(ConductanceRead(tile: 1, sides: 1, row: 2, column: 3, rows: 1, columns: 1, readVoltage: Volts(0.25)))
        #expect(after.codes == [Int16(units + 4)])
        let counters = try await c.counters()
        // RESET cleared the counters: the pulsed sweep's 4 pulses and 4 reads, plus the read above.
        #expect(counters.pulses == 4 && counters.deviceReads == 5)
        await c.close()
    }

    static func hello(_ board: BoardUnderTest) async throws {
        let c = client(board)
        let info = try await c.hello()
        #expect(info.protocolVersion == ProtocolVersion.current)
        #expect(info.firmwareVersion == FirmwareEngine<TestFrontEnd>.currentVersion)
        #expect(info.serial == Array(board.serial.utf8))
        #expect(info.clockHertz == board.clockHertz)
        #expect(info.maxRequestBody == board.maxRequestBody)
        #expect(info.dacBits == 8 && info.adcBits == 12 && info.markerLines == 8)
        #expect(info.tiles.map(\.rows) == [8, 64] && info.tiles.map(\.columns) == [4, 32])
        #expect(info.tiles.map(\.outputFullScale) == [Amperes(Double(Float(1e-5))), Amperes(Double(Float(1e-4)))])
        #expect(info.deviceReadFullScale == Amperes(Double(Float(1e-5))))
        #expect(info.absoluteLimits == limits && info.activeLimits == limits)
        // A host of another protocol version is refused and the session goes on.
        let e = try #require(await refusal { () async throws(BoardError) in _ = try await c.send(.hello(hostVersion: 2)) })
        #expect(e == ErrorResponse(code: .unsupportedVersion, opcode: Opcode.hello.rawValue, value: 2, limit: Float(ProtocolVersion.current)))
        #expect(try await c.ping([1, 2, 3]) > .zero)
        await c.close()
    }

    static func conductanceReads(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let g = try await c.readConductances(ConductanceRead(tile: 0, row: 0, column: 0, rows: 2, columns: 3, readVoltage: Volts(0.25)))
        #expect(g.codes == [0, 2, 1, 2, 2, 2, 4, 2, 0, 2, 1, 2])
        #expect(g.rows == 2 && g.columns == 3 && g.sides == 3)
        #expect(g.siemensPerCode == Siemens(Double(Float(1e-5 / 2047 / 0.25))))
        let plusOnly = try await c.readConductances(ConductanceRead(tile: 1, sides: 1, row: 10, column: 7, rows: 1, columns: 4, readVoltage: Volts(0.1)))
        #expect(plusOnly.codes == [2, 3, 4, 0])  // cells 327 … 330, mod 5
        let minusOnly = try await c.readConductances(ConductanceRead(tile: 1, sides: 2, row: 63, column: 31, rows: 1, columns: 1, readVoltage: Volts(0.1)))
        #expect(minusOnly.codes == [2])
        let rows = try #require(await refusal { () async throws(BoardError) in
            _ = try await c.readConductances(ConductanceRead(tile: 0, row: 7, column: 0, rows: 2, columns: 1, readVoltage: Volts(0.2)))
        })
        #expect(rows == ErrorResponse(code: .addressOutOfRange, opcode: Opcode.readConductance.rawValue, index: 0, value: 9, limit: 8))
        let columns = try #require(await refusal { () async throws(BoardError) in
            _ = try await c.readConductances(ConductanceRead(tile: 0, row: 0, column: 3, rows: 1, columns: 2, readVoltage: Volts(0.2)))
        })
        #expect(columns == ErrorResponse(code: .addressOutOfRange, opcode: Opcode.readConductance.rawValue, index: 1, value: 5, limit: 4))
        let tile = try #require(await refusal { () async throws(BoardError) in
            _ = try await c.readConductances(ConductanceRead(tile: 2, row: 0, column: 0, rows: 1, columns: 1, readVoltage: Volts(0.2)))
        })
        #expect(tile.code == .addressOutOfRange)
        #expect(try await c.counters().deviceReads == 12 + 4 + 1)
        await c.close()
    }

    static func matrixVectorReads(_ board: BoardUnderTest, _ orientation: ReadOrientation) async throws {
        let c = client(board)
        let info = try await c.hello()
        for tile: UInt8 in [0, 1] {
            let t = info.tiles[Int(tile)]
            let (rows, columns) = (Int(t.rows), Int(t.columns))
            let length = orientation == .forward ? rows : columns
            let count = 6
            let x = inputs(count * length, seed: Int(tile) * 7 + 3)
            let read = MatrixVectorRead(
                tile: tile, orientation: orientation, vectorCount: UInt16(count), vectorLength: UInt16(length),
                inputFullScale: Volts(0.2), inputs: x)
            let result = try await c.matrixVector(read)
            let g = try await conductances(c, tile: tile)
            #expect(result.vectorCount == UInt16(count))
            #expect(result.outputLength == UInt16(orientation == .forward ? columns : rows))
            #expect(result.amperesPerCode == Amperes(Double(Float([1e-5, 1e-4][Int(tile)] / 2047))))
            #expect(result.saturated == 0)
            #expect(result.outputs == expectedOutputs(
                plus: g.plus, minus: g.minus, rows: rows, columns: columns, orientation: orientation, inputs: x, adcMaxCode: 2047))
        }
        let op = orientation == .forward ? Opcode.matrixVector : .matrixVectorTransposed
        let length: UInt16 = orientation == .forward ? 8 : 4
        func read(_ codes: [Int16], length: UInt16 = length, volts: Double = 0.2) -> MatrixVectorRead {
            MatrixVectorRead(tile: 0, orientation: orientation, vectorCount: UInt16(codes.count) / length, vectorLength: length, inputFullScale: Volts(volts), inputs: codes)
        }
        let geometry = try #require(await refusal { () async throws(BoardError) in _ = try await c.matrixVector(read([Int16](repeating: 1, count: 10), length: 5)) })
        #expect(geometry == ErrorResponse(code: .geometryMismatch, opcode: op.rawValue, value: 5, limit: Float(length)))
        var codes = [Int16](repeating: 0, count: 2 * Int(length))
        codes[Int(length) + 1] = 128
        let code = try #require(await refusal { () async throws(BoardError) in _ = try await c.matrixVector(read(codes)) })
        #expect(code == ErrorResponse(code: .valueOutOfRange, opcode: op.rawValue, index: 1, value: 128, limit: 127))
        let volts = try #require(await refusal { () async throws(BoardError) in _ = try await c.matrixVector(read([Int16](repeating: 1, count: Int(length)), volts: 0.6)) })
        #expect(volts.code == .voltageOutOfLimit && volts.value == 0.6 && volts.limit == 0.5)
        #expect(try await c.counters().vectorReads == 12)
        await c.close()
    }

    static func batchesSplitAcrossFrames(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let vectors = 200
        let x = inputs(vectors * 64, seed: 11)
        let perFrame = await c.maxVectorsPerFrame(tile: 1, orientation: .forward, vectorLength: 64)
        let result = try await c.matrixVector(tile: 1, vectorLength: 64, inputs: x, inputFullScale: Volts(0.2))
        let frames = (vectors + perFrame - 1) / perFrame
        #expect(await c.statistics.requests == 1 + frames)  // HELLO, then the batch in as many frames as fit
        let g = try await conductances(c, tile: 1)
        #expect(result.vectorCount == UInt16(vectors) && result.outputLength == 32)
        #expect(result.outputs == expectedOutputs(plus: g.plus, minus: g.minus, rows: 64, columns: 32, orientation: .forward, inputs: x, adcMaxCode: 2047))
        #expect(try await c.counters().vectorReads == UInt64(vectors))
        // A batch whose response would not fit the board's buffers is refused, not truncated: a
        // transposed read of tile 1 takes 32 codes (64 bytes) per vector and answers 64 (128 bytes).
        let fits = (Int(board.maxRequestBody) - 12) / (2 * 64)
        let big = MatrixVectorRead(
            tile: 1, orientation: .transposed, vectorCount: UInt16(fits + 1), vectorLength: 32, inputFullScale: Volts(0.2),
            inputs: inputs((fits + 1) * 32, seed: 1))
        let e = try #require(await refusal { () async throws(BoardError) in _ = try await c.matrixVector(big) })
        #expect(e == ErrorResponse(code: .responseTooLarge, opcode: Opcode.matrixVectorTransposed.rawValue, value: Float(fits + 1), limit: Float(fits)))
        // The client's batching splits the same transposed batch by the board's response buffer, not the protocol's limit.
        #expect(await c.maxVectorsPerFrame(tile: 1, orientation: .transposed, vectorLength: 32) == fits)
        let tx = inputs((fits + 1) * 32, seed: 1)
        let split = try await c.matrixVector(tile: 1, orientation: .transposed, vectorLength: 32, inputs: tx, inputFullScale: Volts(0.2))
        #expect(split.vectorCount == UInt16(fits + 1) && split.outputLength == 64)
        #expect(split.outputs == expectedOutputs(plus: g.plus, minus: g.minus, rows: 64, columns: 32, orientation: .transposed, inputs: tx, adcMaxCode: 2047))
        await c.close()
    }

    static func pulsesAndCounters(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let start = try await c.counters()
        let before = try await conductances(c, tile: 0)
        let pulses = [
            pulse(row: 2, column: 1, repeat: 3),
            pulse(row: 5, column: 3, side: .minus, polarity: -1, repeat: 2),
            pulse(row: 5, column: 3, side: .plus, polarity: 1, width: 10),
        ]
        let result = try await c.program(pulses: pulses)
        #expect(result.pulsesApplied == 6)
        #expect(result.elapsedNanoseconds >= 3 * 100 + 2 * 100 + 10)
        let after = try await conductances(c, tile: 0)
        var expectedPlus = before.plus, expectedMinus = before.minus
        expectedPlus[2 * 4 + 1] += 3
        expectedMinus[5 * 4 + 3] -= 2
        expectedPlus[5 * 4 + 3] += 1
        #expect(after.plus == expectedPlus && after.minus == expectedMinus)
        let counters = try await c.counters()
        #expect(counters.pulses - start.pulses == 6)
        #expect(counters.deviceReads - start.deviceReads == 2 * 32 * 2)
        // The first COUNTERS (counted after its snapshot), two reads, PROGRAM.
        #expect(counters.requestsExecuted - start.requestsExecuted == 4)
        #expect(counters.retransmitsAnswered == start.retransmitsAnswered && counters.framesRejected == start.framesRejected)
        #expect(counters.uptimeNanoseconds > start.uptimeNanoseconds)
        await c.close()
    }

    static func outerProductUpdate(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let before = try await conductances(c, tile: 0)
        // Rows 0–3 fire positive, rows 4–7 negative; columns 0, 1 positive, 2 silent, 3 negative.
        // In one slot with every line firing, the weight of (i, j) moves by s_i·s_j through G⁻,
        // which moves by −s_i·s_j (every G⁻ starts at 2, so none reaches the window's floor).
        let rowSigns: [Int8] = [1, 1, 1, 1, -1, -1, -1, -1]
        let columnSigns: [Int8] = [1, 1, 0, -1]
        let update = OuterProductUpdate(
            tile: 0, mode: .minusSigned, trainLength: 8, amplitude: Volts(2), widthNanoseconds: 100,
            rowSigns: rowSigns, columnSigns: columnSigns,
            rowTrains: [UInt8](repeating: 0x01, count: 8), columnTrains: [UInt8](repeating: 0x01, count: 4))
        let result = try await c.outerProduct(update)
        #expect(result.coincidences == 8 * 3 && result.slots == 8)
        let after = try await conductances(c, tile: 0)
        var expected = before.minus
        for i in 0..<8 { for j in 0..<4 { expected[i * 4 + j] -= Int(rowSigns[i]) * Int(columnSigns[j]) } }
        #expect(after.minus == expected)
        #expect(after.plus == before.plus)
        #expect(try await c.counters().pulses == 24)
        let mismatch = OuterProductUpdate(
            tile: 0, mode: .plusSigned, trainLength: 8, amplitude: Volts(2), widthNanoseconds: 100,
            rowSigns: [1, 1], columnSigns: columnSigns, rowTrains: [0x01, 0x01], columnTrains: [UInt8](repeating: 0x01, count: 4))
        let e = try #require(await refusal { () async throws(BoardError) in _ = try await c.outerProduct(mismatch) })
        #expect(e == ErrorResponse(code: .geometryMismatch, opcode: Opcode.outerProduct.rawValue, value: 2, limit: 8))
        await c.close()
    }

    static func limitsRefuseAndChangeNothing(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let before = try await conductances(c, tile: 0)
        let countersBefore = try await c.counters()
        let op = Opcode.programPulses.rawValue
        func refused(_ pulses: [PulseCommand], sourceLocation: SourceLocation = #_sourceLocation) async -> ErrorResponse? {
            await refusal({ () async throws(BoardError) in _ = try await c.program(pulses: pulses) }, sourceLocation: sourceLocation)
        }
        var batch = (0..<5).map { pulse(row: UInt16($0), column: 0) }
        batch[3].amplitude = Volts(5)
        #expect(await refused(batch) == ErrorResponse(code: .voltageOutOfLimit, opcode: op, index: 3, value: 5, limit: 3))
        #expect(await refused([pulse(row: 0, column: 0, volts: -1)])?.code == .voltageOutOfLimit)
        #expect(await refused([pulse(row: 0, column: 0), pulse(row: 1, column: 1, width: 5)])
            == ErrorResponse(code: .pulseWidthOutOfLimit, opcode: op, index: 1, value: 5, limit: 10))
        #expect(await refused([pulse(row: 0, column: 0, width: 2_000_000)])
            == ErrorResponse(code: .pulseWidthOutOfLimit, opcode: op, index: 0, value: 2_000_000, limit: 1_000_000))
        #expect(await refused([pulse(row: 0, column: 0, repeat: 600), pulse(row: 1, column: 0, repeat: 401)])
            == ErrorResponse(code: .pulseCountOutOfLimit, opcode: op, value: 1001, limit: 1000))
        #expect(await refused([pulse(row: 0, column: 0, polarity: 0)]) == ErrorResponse(code: .valueOutOfRange, opcode: op, value: 0, limit: 1))
        #expect(await refused([pulse(row: 0, column: 0), pulse(row: 8, column: 0)])?.code == .addressOutOfRange)
        #expect(await refused([pulse(row: 0, column: 4)])?.code == .addressOutOfRange)
        let readOp = Opcode.readConductance.rawValue
        let high = await refusal { () async throws(BoardError) in
            _ = try await c.readConductances(ConductanceRead(tile: 0, row: 0, column: 0, rows: 1, columns: 1, readVoltage: Volts(0.75)))
        }
        #expect(high == ErrorResponse(code: .voltageOutOfLimit, opcode: readOp, value: 0.75, limit: 0.5))
        let negative = await refusal { () async throws(BoardError) in
            _ = try await c.readConductances(ConductanceRead(tile: 0, row: 0, column: 0, rows: 1, columns: 1, readVoltage: Volts(-0.1)))
        }
        #expect(negative?.code == .voltageOutOfLimit)
        // Nothing was driven: no pulse, no read, no conductance changed.
        let countersAfter = try await c.counters()
        #expect(countersAfter.pulses == countersBefore.pulses && countersAfter.deviceReads == countersBefore.deviceReads)
        #expect(try await conductances(c, tile: 0) == before)
        #expect(await c.statistics.refused == 10)
        await c.close()
    }

    static func setLimitsStaysWithinTheHardware(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let op = Opcode.setLimits.rawValue
        var tighter = limits
        tighter.programVoltage = Volts(2.0)
        tighter.maxPulsesPerRequest = 10
        #expect(try await c.setLimits(tighter) == tighter)
        #expect(await refusal { () async throws(BoardError) in _ = try await c.program(pulses: [pulse(row: 0, column: 0, volts: 2.5)]) }
            == ErrorResponse(code: .voltageOutOfLimit, opcode: Opcode.programPulses.rawValue, value: 2.5, limit: 2))
        #expect(await refusal { () async throws(BoardError) in _ = try await c.program(pulses: [pulse(row: 0, column: 0, repeat: 11)]) }?.code
            == .pulseCountOutOfLimit)
        // Past the hardware's absolute limits, field by field: refused, and the tighter limits stay.
        func above(_ change: (inout SafetyLimits) -> Void) async -> ErrorResponse? {
            var l = limits
            change(&l)
            return await refusal { () async throws(BoardError) in _ = try await c.setLimits(l) }
        }
        #expect(await above { $0.programVoltage = Volts(3.5) } == ErrorResponse(code: .limitAboveHardware, opcode: op, index: 0, value: 3.5, limit: 3))
        #expect(await above { $0.readVoltage = Volts(0.75) } == ErrorResponse(code: .limitAboveHardware, opcode: op, index: 1, value: 0.75, limit: 0.5))
        #expect(await above { $0.minPulseWidthNanoseconds = 5 } == ErrorResponse(code: .limitAboveHardware, opcode: op, index: 2, value: 5, limit: 10))
        #expect(await above { $0.maxPulseWidthNanoseconds = 2_000_000 }?.index == 3)
        #expect(await above { $0.complianceCurrent = Amperes(2e-4) }?.index == 4)
        #expect(await above { $0.maxPulsesPerRequest = 1001 } == ErrorResponse(code: .limitAboveHardware, opcode: op, index: 5, value: 1001, limit: 1000))
        let info = try await c.hello()
        #expect(info.activeLimits == tighter && info.absoluteLimits == limits)
        // Anything within the hardware's limits is accepted; RESET restores them.
        try await c.reset()
        #expect(try await c.hello().activeLimits == limits)
        #expect(try await c.program(pulses: [pulse(row: 0, column: 0, volts: 2.5)]).pulsesApplied == 1)
        await c.close()
    }

    static func retransmissionsAnsweredFromTheCache(_ board: BoardUnderTest) async throws {
        var raw = RawLink(transport: board.link, timeout: board.attemptTimeout * 4)
        #expect(try await raw.request(.hello(hostVersion: ProtocolVersion.current), sequence: 100).response.isInfo)
        let start = try #require(try await raw.counters(sequence: 101))
        let read = Request.readConductance(ConductanceRead(tile: 0, sides: 1, row: 3, column: 2, rows: 1, columns: 1, readVoltage: Volts(0.2)))
        let g0 = try await raw.request(read, sequence: 102).response
        let program = Request.programPulses([pulse(row: 3, column: 2, repeat: 4)])
        let first = try await raw.request(program, sequence: 103)
        let again = try await raw.exchange(program.frame(sequence: 103).encoded())
        #expect(again == [first.frame], "a repeated request is answered with the same response")
        let third = try await raw.exchange(program.frame(sequence: 103).encoded())
        #expect(third == [first.frame])
        let g1 = try await raw.request(read, sequence: 104).response
        guard case .conductances(let a) = g0, case .conductances(let b) = g1 else {
            Issue.record("expected conductance reads, got \(g0) and \(g1)")
            return
        }
        #expect(b.codes[0] == a.codes[0] + 4, "four pulses, applied once")
        // The cached sequence number with other bytes, and an old number out of the cache: refused.
        let other = try await raw.request(.programPulses([pulse(row: 0, column: 0)]), sequence: 103).response
        #expect(other == .error(ErrorResponse(code: .sequenceReused, opcode: Opcode.programPulses.rawValue, value: 103, limit: 104)))
        let stale = try await raw.request(.ping([9]), sequence: 90).response
        #expect(stale == .error(ErrorResponse(code: .sequenceReused, opcode: Opcode.ping.rawValue, value: 90, limit: 104)))
        let counters = try #require(try await raw.counters(sequence: 105))
        #expect(counters.pulses - start.pulses == 4)
        #expect(counters.retransmitsAnswered - start.retransmitsAnswered == 2)
        #expect(counters.framesRejected - start.framesRejected == 2)
        // A new HELLO starts a session anywhere in the sequence space.
        #expect(try await raw.request(.hello(hostVersion: ProtocolVersion.current), sequence: 7).response.isInfo)
        #expect(try await raw.request(.ping([1]), sequence: 8).response == .pong([1]))
    }

    static func lostAndDamagedFramesRecoveredOnce(_ board: BoardUnderTest) async throws {
        let link = FaultInjectingTransport(wrapping: board.link)
        let c = client(board, over: link)
        _ = try await c.hello()
        let start = try await c.counters()
        // The response is lost: the client times out, resends, the board answers from its cache.
        link.inject(.drop, direction: .inbound)
        #expect(try await c.program(pulses: [pulse(row: 1, column: 1, repeat: 2)]).pulsesApplied == 2)
        var s = await c.statistics
        #expect(s.timeouts == 1 && s.retries == 1)
        // The request is damaged on the way: the board reports a bad frame, the client resends.
        link.inject(.corrupt(offset: 9, mask: 0x20), direction: .outbound)
        #expect(try await c.program(pulses: [pulse(row: 1, column: 1, repeat: 3)]).pulsesApplied == 3)
        // The response is damaged on the way back: the client asks again and gets the cached copy.
        link.inject(.corrupt(offset: 2, mask: 0x01), direction: .inbound)
        #expect(try await c.program(pulses: [pulse(row: 1, column: 1, repeat: 5)]).pulsesApplied == 5)
        s = await c.statistics
        #expect(s.badFrameReports == 1 && s.corruptedFrames == 1 && s.retries == 3)
        let counters = try await c.counters()
        #expect(counters.pulses - start.pulses == 10, "every pulse applied exactly once")
        #expect(counters.retransmitsAnswered - start.retransmitsAnswered == 2)
        #expect(counters.framesRejected - start.framesRejected == 1)
        let g = try await c.readConductances(ConductanceRead(tile: 0, sides: 1, row: 1, column: 1, rows: 1, columns: 1, readVoltage: Volts(0.2)))
        #expect(g.codes == [Int16((1 * 4 + 1) % 5 + 10)])
        await c.close()
    }

    static func malformedFramesAnsweredWithErrors(_ board: BoardUnderTest) async throws {
        var raw = RawLink(transport: board.link, timeout: board.attemptTimeout * 4)
        #expect(try await raw.request(.hello(hostVersion: ProtocolVersion.current), sequence: 299).response.isInfo)
        let start = try #require(try await raw.counters(sequence: 300))
        // Line noise: not a frame at all.
        let noise = try await raw.exchange([0x13, 0x37, 0xC0, 0xDE, 0x00])
        #expect(noise.first?.sequence == 0xFFFF)
        #expect(noise.first.flatMap { try? Response.decode($0) }?.errorCode == .badFrame)
        // A frame whose CRC fails: bad frame, with the sequence number read from its header.
        let intact = Request.ping([1, 2, 3]).frame(sequence: 301).encoded()
        let bad = try await raw.exchange(Wire.corrupted(intact, at: intact.count - 3))
        #expect(bad.first?.sequence == 301)
        #expect(bad.first.flatMap { try? Response.decode($0) } == .error(ErrorResponse(code: .badFrame, opcode: 0)))
        // Well-formed frames the board cannot execute: typed refusals.
        let unknown = try await raw.exchange(Frame(type: 0x7E, sequence: 302, body: []).encoded())
        #expect(unknown.first.flatMap { try? Response.decode($0) } == .error(ErrorResponse(code: .unknownOpcode, opcode: 0x7E)))
        let truncated = try await raw.exchange(Frame(type: Opcode.readConductance.rawValue, sequence: 303, body: [0, 3, 0, 0, 0]).encoded())
        #expect(truncated.first.flatMap { try? Response.decode($0) }?.errorCode == .malformedBody)
        let version = try await raw.exchange(Frame(type: Opcode.ping.rawValue, sequence: 304, body: [], version: 9).encoded())
        #expect(version.first.flatMap { try? Response.decode($0) } == .error(ErrorResponse(code: .unsupportedVersion, opcode: Opcode.ping.rawValue, value: 9, limit: 1)))
        let sides = try await raw.exchange(Frame(type: Opcode.readConductance.rawValue, sequence: 305, body: [0, 4, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 128, 62]).encoded())
        #expect(sides.first.flatMap { try? Response.decode($0) } == .error(ErrorResponse(code: .malformedBody, opcode: Opcode.readConductance.rawValue, index: 1)))
        // The board is still in step.
        #expect(try await raw.request(.ping([0, 0xFF, 0]), sequence: 306).response == .pong([0, 0xFF, 0]))
        let counters = try #require(try await raw.counters(sequence: 307))
        #expect(counters.framesRejected - start.framesRejected == 6)
    }

    static func markersTemperaturePingAndReset(_ board: BoardUnderTest) async throws {
        let c = client(board)
        _ = try await c.hello()
        let first = try await c.marker(0x81)
        let second = try await c.marker(0x02)
        #expect(first.value == 0x81 && second.value == 0x02)
        #expect(second.timestampNanoseconds > first.timestampNanoseconds)
        let t = try await c.temperature()
        #expect(t.temperature == Kelvin(300))
        #expect(t.timestampNanoseconds > second.timestampNanoseconds)
        let payload: [UInt8] = [0, 1, 2, 0, 0xFF]
        #expect(try await c.send(.ping(payload)) == .pong(payload))
        #expect(try await c.send(.ping([UInt8](repeating: 0, count: 600))) == .pong([UInt8](repeating: 0, count: 600)))
        _ = try await c.program(pulses: [pulse(row: 0, column: 0)])
        #expect(try await c.counters().pulses == 1)
        try await c.reset()
        let counters = try await c.counters()
        #expect(counters.pulses == 0 && counters.requestsExecuted == 1)  // RESET cleared them, then counted itself
        #expect(counters.uptimeNanoseconds > t.timestampNanoseconds)  // the board timer is not reset
        await c.close()
    }
}

extension Response {
    var isInfo: Bool {
        if case .info = self { true } else { false }
    }

    var errorCode: ErrorCode? {
        if case .error(let e) = self { e.code } else { nil }
    }
}

/// Raw frames over a link, for what a well-behaved client never sends: repeats of a request,
/// damaged frames, noise.
struct RawLink {
    let transport: any Transport
    let timeout: Duration
    var splitter = FrameSplitter()
    var ready: [Frame] = []

    init(transport: any Transport, timeout: Duration) {
        self.transport = transport
        self.timeout = timeout
    }

    /// Writes `wire` and returns the next `count` frames that arrive (fewer if the link stays
    /// silent for `timeout`).
    mutating func exchange(_ wire: [UInt8], expecting count: Int = 1) async throws -> [Frame] {
        try await transport.write(wire, timeout: timeout)
        let deadline = ContinuousClock.now + timeout
        while ready.count < count {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            let bytes: [UInt8]
            do {
                bytes = try await transport.read(maxCount: 1 << 16, timeout: left)
            } catch {
                if case .timeout = error { break }
                throw error
            }
            var pieces: [FrameSplitter.Piece] = []
            bytes.withUnsafeBufferPointer { b in splitter.feed(b) { pieces.append($0) } }
            for case .frame(let encoded) in pieces {
                if let frame = try? Frame.decode(encoded) { ready.append(frame) }
            }
        }
        let taken = Array(ready.prefix(count))
        ready.removeFirst(taken.count)
        return taken
    }

    /// The board's counters (COUNTERS with `sequence`), or nil if it answered something else.
    mutating func counters(sequence: UInt16) async throws -> Counters? {
        if case .counters(let c) = try await request(.counters, sequence: sequence).response { return c }
        return nil
    }

    /// Sends `request` with `sequence`; returns the response frame and its decoded response.
    mutating func request(_ request: Request, sequence: UInt16) async throws -> (frame: Frame, response: Response) {
        let frames = try await exchange(request.frame(sequence: sequence).encoded())
        let frame = try #require(frames.first, "no response to \(request.opcode) #\(sequence)")
        #expect(frame.sequence == sequence)
        return (frame, try Response.decode(frame))
    }
}
