import LandauerDrivers
import LandauerFirmware
import Testing

/// The client against the real firmware engine on a deterministic front end, through the device
/// loopback, with faults injected on the link. These prove the retries end to end: whatever the
/// link does, pulses are applied exactly once.
@Suite("BoardClient end to end")
struct BoardClientEndToEndTests {
    /// A board, a fault-injecting link to it, and a client with a reconnect handler.
    struct Rig {
        let board = VirtualBoard()
        let link: FaultInjectingTransport
        let client: BoardClient

        init(timeout: Duration = .milliseconds(100), retries: Int = 3, plan: FaultPlan = .none) {
            let link = FaultInjectingTransport(wrapping: board.transport(), plan: plan)
            self.link = link
            client = BoardClient(
                transport: link, configuration: .init(timeout: timeout, maxRetries: retries, initialSequence: 500)
            ) { (_: any Transport) async throws(TransportError) -> any Transport in
                await link.reconnect()
                return link
            }
        }
    }

    static func pulses(_ count: Int, repeat r: UInt16 = 1, volts: Double = 1.5) -> [PulseCommand] {
        (0..<count).map {
            PulseCommand(
                tile: 0, side: .plus, row: UInt16($0 % 8), column: UInt16($0 / 8 % 4), polarity: 1, amplitude: Volts(volts),
                widthNanoseconds: 100, repeat: r)
        }
    }

    static func inputs(_ count: Int, seed: Int) -> [Int16] {
        (0..<count).map { Int16(((($0 + seed) * 37) % 255) - 127) }
    }

    @Test func helloDescribesTheBoard() async throws {
        let rig = Rig()
        let info = try await rig.client.hello()
        #expect(info.serial == Array("TEST-0001".utf8))
        #expect(info.protocolVersion == ProtocolVersion.current)
        #expect(info.tiles.map(\.rows) == [8, 64] && info.tiles.map(\.columns) == [4, 32])
        #expect(info.activeLimits.programVoltage == Volts(3.0))
        #expect(info.activeLimits.maxPulsesPerRequest == 1000)
    }

    @Test("matrix-vector reads give the front end's products", arguments: [ReadOrientation.forward, .transposed])
    func matrixVectorReads(_ orientation: ReadOrientation) async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        let length = orientation == .forward ? 8 : 4
        let x = Self.inputs(10 * length, seed: 3)
        let read = MatrixVectorRead(
            tile: 0, orientation: orientation, vectorCount: 10, vectorLength: UInt16(length), inputFullScale: Volts(0.2), inputs: x)
        let result = try await rig.client.matrixVector(read)
        #expect(result.vectorCount == 10)
        #expect(result.outputs == rig.board.frontEnd.expectedOutputs(tile: 0, orientation: orientation, inputs: x))
    }

    @Test func aLargeBatchIsSplitAcrossFramesAndJoined() async throws {
        let rig = Rig(timeout: .seconds(5))
        _ = try await rig.client.hello()
        let x = Self.inputs(520 * 64, seed: 11)
        let result = try await rig.client.matrixVector(tile: 1, vectorLength: 64, inputs: x, inputFullScale: Volts(0.2))
        #expect(result.vectorCount == 520 && result.outputLength == 32)
        #expect(result.outputs == rig.board.frontEnd.expectedOutputs(tile: 1, orientation: .forward, inputs: x))
        #expect(rig.board.counters.vectorReads == 520)
        #expect(await rig.client.statistics.requests == 3)  // HELLO and 511 + 9 vectors
    }

    @Test func theOtherRequestsWorkAgainstTheEngine() async throws {
        let rig = Rig()
        let c = rig.client
        _ = try await c.hello()
        let g = try await c.readConductances(ConductanceRead(tile: 0, row: 0, column: 0, rows: 2, columns: 3, readVoltage: Volts(0.25)))
        #expect(g.codes == [0, 2, 1, 2, 2, 2, 4, 2, 0, 2, 1, 2])
        let update = OuterProductUpdate(
            tile: 0, mode: .plusSigned, trainLength: 8, amplitude: Volts(2), widthNanoseconds: 100,
            rowSigns: [Int8](repeating: 1, count: 8), columnSigns: [Int8](repeating: 1, count: 4),
            rowTrains: [UInt8](repeating: 0x01, count: 8), columnTrains: [UInt8](repeating: 0x01, count: 4))
        #expect(try await c.outerProduct(update).coincidences == 32)
        #expect(rig.board.pulseCount == 32)
        var tighter = try #require(await c.boardInfo?.activeLimits)
        tighter.programVoltage = Volts(2.0)
        _ = try await c.setLimits(tighter)
        let refusal = await caught { () async throws(BoardError) in _ = try await c.program(pulses: Self.pulses(1, volts: 2.5)) }
        #expect(refusal?.description.hasPrefix("board refused PROGRAM PULSES item 0: voltage 2.5 V exceeds limit 2.0 V") == true)
        #expect(try await c.marker(0x81).value == 0x81)
        #expect(try await c.temperature().temperature == Kelvin(300))
        try await c.reset()
        #expect(try await c.program(pulses: Self.pulses(1, volts: 2.5)).pulsesApplied == 1)
        let counters = try await c.counters()
        #expect(counters.pulses == 1)  // RESET cleared the 32 outer-product pulses
        #expect(rig.board.pulseCount == 33)
        let payload: [UInt8] = [0, 1, 2, 0]
        #expect(try await c.send(.ping(payload)) == .pong(payload))  // zeros and all, through COBS both ways
        #expect(try await c.ping(payload) > .zero)
    }

    @Test func aCorruptedRequestIsResentAndAppliedOnce() async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        rig.link.inject(.corrupt(offset: 9, mask: 0x20), direction: .outbound)
        let result = try await rig.client.program(pulses: Self.pulses(3, repeat: 2))
        #expect(result.pulsesApplied == 6)
        #expect(rig.board.pulseCount == 6)
        #expect(rig.board.counters.framesRejected == 1)
        let s = await rig.client.statistics
        #expect(s.badFrameReports == 1 && s.retries == 1 && s.completed == 2)
    }

    @Test func aDroppedResponseIsRecoveredFromTheRetransmitCache() async throws {
        let rig = Rig(timeout: .milliseconds(50))
        _ = try await rig.client.hello()
        rig.link.inject(.drop, direction: .inbound)
        let result = try await rig.client.program(pulses: Self.pulses(4))
        #expect(result.pulsesApplied == 4)
        #expect(rig.board.pulseCount == 4)
        #expect(rig.board.counters.retransmitsAnswered == 1)
        let s = await rig.client.statistics
        #expect(s.timeouts == 1 && s.retries == 1)
    }

    @Test func aCorruptedResponseIsRecoveredFromTheRetransmitCache() async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        rig.link.inject(.corrupt(offset: 2, mask: 0x01), direction: .inbound)
        _ = try await rig.client.program(pulses: Self.pulses(2))
        #expect(rig.board.pulseCount == 2)
        #expect(rig.board.counters.retransmitsAnswered == 1)
        #expect(await rig.client.statistics.corruptedFrames == 1)
    }

    @Test func aTruncatedResponseIsRecoveredFromTheRetransmitCache() async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        rig.link.inject(.truncate(keeping: 6), direction: .inbound)
        _ = try await rig.client.program(pulses: Self.pulses(2))
        #expect(rig.board.pulseCount == 2)
        #expect(await rig.client.statistics.corruptedFrames == 1)
    }

    @Test func aDuplicatedResponseIsDiscardedAsStale() async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        rig.link.inject(.duplicate, direction: .inbound)
        _ = try await rig.client.program(pulses: Self.pulses(1))
        _ = try await rig.client.ping()
        #expect(rig.board.pulseCount == 1)
        let s = await rig.client.statistics
        #expect(s.staleResponses == 1 && s.retries == 0)
        let stale = await rig.client.events.first
        #expect(stale?.kind == .staleResponse(sequence: 501, type: Opcode.programPulses.responseType))
        #expect(stale?.sequence == 502 && stale?.opcode == .ping)
    }

    @Test func aLateResponseIsOvertakenByTheCachedOneAndDiscardedLater() async throws {
        let rig = Rig(timeout: .milliseconds(50))
        _ = try await rig.client.hello()
        rig.link.inject(.delay(.seconds(3600)), direction: .inbound)
        _ = try await rig.client.program(pulses: Self.pulses(5))
        rig.link.releaseDelayed()  // the first answer turns up at last
        _ = try await rig.client.temperature()
        #expect(rig.board.pulseCount == 5)
        let s = await rig.client.statistics
        #expect(s.timeouts == 1 && s.retries == 1 && s.staleResponses == 1, "\(s)")
        #expect(await rig.client.events.last?.kind == .staleResponse(sequence: 501, type: Opcode.programPulses.responseType))
    }

    @Test("noise on the line is survived", arguments: [
        (FaultDirection.inbound, [UInt8]([0x11, 0x22]), 1),  // merges with the response: resend
        (.inbound, [0x11, 0x00], 0),  // a bad frame of its own, the good response right behind it
        (.outbound, [0x33, 0x44], 1),  // spoils the request: the board reports a bad frame
        (.outbound, [0x33, 0x00], 0),  // a bad frame before the request: bad-frame report, then the answer
    ])
    func noiseOnTheLine(_ direction: FaultDirection, _ noise: [UInt8], _ retries: Int) async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        rig.link.inject(.garbage(noise), direction: direction)
        let result = try await rig.client.program(pulses: Self.pulses(3))
        #expect(result.pulsesApplied == 3)
        #expect(rig.board.pulseCount == 3)
        let s = await rig.client.statistics
        #expect(s.retries == retries)
        #expect(s.corruptedFrames + s.badFrameReports == 1)
    }

    @Test func aRefusalSurfacesWithItsContextAndChangesNothing() async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        var pulses = Self.pulses(5)
        pulses[3].amplitude = Volts(5.0)
        let error = await caught { () async throws(BoardError) in _ = try await rig.client.program(pulses: pulses) }
        guard case .refused(let refusal, let context) = error else {
            Issue.record("expected a refusal, got \(String(describing: error))")
            return
        }
        #expect(refusal == ErrorResponse(code: .voltageOutOfLimit, opcode: Opcode.programPulses.rawValue, index: 3, value: 5, limit: 3))
        #expect(context.opcode == .programPulses && context.sequence == 501 && context.attempts == 1)
        #expect(context.device.contains("test:board"))
        #expect(error?.description.hasPrefix("board refused PROGRAM PULSES item 3: voltage 5.0 V exceeds limit 3.0 V [") == true)
        #expect(rig.board.pulseCount == 0)
    }

    @Test func aLinkThatDropsAfterExecutingIsReconnectedAndNotExecutedTwice() async throws {
        let rig = Rig()
        _ = try await rig.client.hello()
        rig.link.inject(.disconnect, direction: .inbound)
        _ = try await rig.client.program(pulses: Self.pulses(7))
        #expect(rig.board.pulseCount == 7)
        #expect(rig.board.counters.retransmitsAnswered == 1)
        #expect(rig.link.reconnectCount == 1)
        let s = await rig.client.statistics
        #expect(s.reconnects == 1 && s.retries == 1)
    }

    @Test func timeoutsFireWithinTheirBoundAndRetriesNeverRepeatTheWork() async throws {
        let rig = Rig(timeout: .milliseconds(40), retries: 2)
        _ = try await rig.client.hello()
        rig.link.setPlan(.random(seed: 1, inbound: FaultRates(drop: 1)))
        let start = ContinuousClock.now
        let error = await caught { () async throws(BoardError) in _ = try await rig.client.program(pulses: Self.pulses(2)) }
        let elapsed = ContinuousClock.now - start
        guard case .timeout(let c) = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
        #expect(c.attempts == 3)
        #expect(elapsed >= .milliseconds(120))
        #expect(elapsed < promptly)
        // The board executed the first attempt and answered the other two from its cache.
        #expect(rig.board.pulseCount == 2)
        #expect(rig.board.counters.retransmitsAnswered == 2)
    }

    @Test func aSeededStormOfFaultsLosesNothingAndRepeatsNothing() async throws {
        let rates = FaultRates(drop: 0.03, corrupt: 0.03, truncate: 0.02, duplicate: 0.03, garbage: 0.03)
        let rig = Rig(timeout: .milliseconds(30), retries: 12, plan: .random(seed: 2024, outbound: rates, inbound: rates))
        _ = try await rig.client.hello()
        var applied = 0
        for k in 0..<200 {
            let pulse = PulseCommand(
                tile: 1, side: k % 2 == 0 ? .plus : .minus, row: UInt16(k % 64), column: UInt16(k % 32), polarity: 1,
                amplitude: Volts(1.0), widthNanoseconds: 50, repeat: UInt16(1 + k % 3))
            applied += Int(try await rig.client.program(pulses: [pulse]).pulsesApplied)
        }
        let expected = (0..<200).reduce(0) { $0 + 1 + $1 % 3 }
        #expect(applied == expected)
        #expect(rig.board.pulseCount == expected)
        let s = await rig.client.statistics
        let events = await rig.client.events
        #expect(s.completed == 201 && s.failed == 0)
        #expect(s.retries > 0)
        #expect(s.retries == events.filter { if case .retry = $0.kind { true } else { false } }.count)
        #expect(s.staleResponses == events.filter { if case .staleResponse = $0.kind { true } else { false } }.count)
        #expect(rig.link.injected.count > 20)
    }

    @Test func batchedReadsRunWithoutWaiting() async throws {
        let rig = Rig(timeout: .seconds(5))
        _ = try await rig.client.hello()
        let x = Self.inputs(100 * 64, seed: 5)
        let expected = rig.board.frontEnd.expectedOutputs(tile: 1, orientation: .forward, inputs: x)
        let frames = 10
        for _ in 0..<frames {
            let result = try await rig.client.matrixVector(tile: 1, vectorLength: 64, inputs: x, inputFullScale: Volts(0.2))
            #expect(result.vectorCount == 100 && result.outputs == expected)
            await Task.yield()  // the loopback never suspends; let other tests' timers run
        }
        // Every batch answered on its first attempt; the throughput figure is landauer-bench's business.
        let s = await rig.client.statistics
        #expect(s.retries == 0 && s.timeouts == 0)
        #expect(s.completed == 1 + frames)
        #expect(rig.board.counters.vectorReads == UInt64(frames * 100))
    }
}
