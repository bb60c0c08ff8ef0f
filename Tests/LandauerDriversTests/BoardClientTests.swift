import LandauerDrivers
import LandauerFirmware
import Synchronization
import Testing

/// The client against hand-made response frames.
@Suite("BoardClient")
struct BoardClientTests {
    static func client(
        _ board: ScriptedBoard, timeout: Duration = .milliseconds(200), retries: Int = 3, first: UInt16 = 100,
        onEvent: (@Sendable (LinkEvent) -> Void)? = nil
    ) -> BoardClient {
        BoardClient(
            transport: board.transport(),
            configuration: .init(timeout: timeout, maxRetries: retries, initialSequence: first, onEvent: onEvent))
    }

    static let okBoard = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }

    @Test func sequenceNumbersIncreaseFromTheConfiguredStart() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let client = Self.client(board, first: 100)
        for _ in 0..<3 { _ = try await client.ping() }
        #expect(board.sequences == [100, 101, 102])
        #expect(await client.nextSequence == 103)
    }

    @Test func sequenceNumbersWrapAround() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let client = Self.client(board, first: 0xFFFF)
        for _ in 0..<3 { _ = try await client.ping() }
        #expect(board.sequences == [0xFFFF, 0, 1])
    }

    @Test func typedRequestsReturnTheirAnswers() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let client = Self.client(board)
        let info = try await client.hello()
        #expect(info == ScriptedBoard.sampleInfo)
        #expect(await client.boardInfo == info)
        #expect(board.received[0].frame.body == [ProtocolVersion.current])
        #expect(try await client.temperature().temperature == Kelvin(296.5))
        #expect(try await client.marker(5) == MarkerAck(value: 5, timestampNanoseconds: 42))
        #expect(try await client.counters().pulses == 5)
        let pulses = [PulseCommand(tile: 0, side: .plus, row: 1, column: 2, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100, repeat: 4)]
        #expect(try await client.program(pulses: pulses).pulsesApplied == 4)
        let read = ConductanceRead(tile: 0, row: 0, column: 0, rows: 2, columns: 2, readVoltage: Volts(0.2))
        #expect(try await client.readConductances(read).codes.count == 8)
        let update = OuterProductUpdate(
            tile: 0, mode: .plusSigned, trainLength: 8, amplitude: Volts(1), widthNanoseconds: 100,
            rowSigns: [1], columnSigns: [1], rowTrains: [0xFF], columnTrains: [0xFF])
        #expect(try await client.outerProduct(update).slots == 8)
        var tighter = ScriptedBoard.sampleLimits
        tighter.programVoltage = Volts(2.0)
        #expect(try await client.setLimits(tighter) == tighter)
        #expect(await client.boardInfo?.activeLimits == tighter)
        try await client.reset()
        #expect(await client.boardInfo?.activeLimits == ScriptedBoard.sampleLimits)
        let mv = MatrixVectorRead(
            tile: 0, orientation: .transposed, vectorCount: 2, vectorLength: 4, inputFullScale: Volts(0.2),
            inputs: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try await client.matrixVector(mv).outputs.count == 8)
        #expect(board.received.last?.frame.type == Opcode.matrixVectorTransposed.rawValue)
        let s = await client.statistics
        #expect(s.requests == 10 && s.completed == 10 && s.retries == 0 && s.failed == 0)
        #expect(s.framesSent == 10 && s.framesReceived == 10)
        #expect(await client.events.isEmpty)
    }

    @Test func helloRefusesABoardOfAnotherProtocolVersion() async {
        let board = ScriptedBoard { _, frame in
            var info = ScriptedBoard.sampleInfo
            info.protocolVersion = 2
            return Response.info(info).frame(answering: .hello, sequence: frame.sequence).encoded()
        }
        let error = await caught { () async throws(BoardError) in _ = try await Self.client(board).hello() }
        guard case .incompatibleBoard(let b, let h, _) = error else {
            Issue.record("expected incompatibleBoard, got \(String(describing: error))")
            return
        }
        #expect(b == 2 && h == ProtocolVersion.current)
    }

    @Test func aFrameOfAnotherProtocolVersionIsIncompatible() async {
        let board = ScriptedBoard { _, frame in
            Frame(type: Opcode.ping.responseType, sequence: frame.sequence, body: [], version: 9).encoded()
        }
        let error = await caught { () async throws(BoardError) in _ = try await Self.client(board).ping() }
        guard case .incompatibleBoard(let b, _, let c) = error else {
            Issue.record("expected incompatibleBoard, got \(String(describing: error))")
            return
        }
        #expect(b == 9)
        #expect(!c.rawBytes.isEmpty)
    }

    @Test func staleResponsesAreDiscardedAndCounted() async throws {
        let board = ScriptedBoard { _, frame in
            Response.pong([9]).frame(answering: .ping, sequence: frame.sequence &- 1).encoded() + ScriptedBoard.ok(frame)
        }
        let client = Self.client(board)
        _ = try await client.ping([1, 2])
        let s = await client.statistics
        #expect(s.staleResponses == 1 && s.retries == 0 && s.completed == 1)
        let events = await client.events
        #expect(events.map(\.kind) == [.staleResponse(sequence: 99, type: Opcode.ping.responseType)])
        #expect(events.first?.sequence == 100 && events.first?.opcode == .ping)
    }

    @Test func aCorruptedResponseIsAskedForAgainWithTheSameBytes() async throws {
        let board = ScriptedBoard { i, frame in i == 0 ? Wire.corrupted(ScriptedBoard.ok(frame)) : ScriptedBoard.ok(frame) }
        let client = Self.client(board)
        #expect(try await client.counters().pulses == 5)
        #expect(board.received.count == 2)
        #expect(board.received[0].encoded == board.received[1].encoded)
        let s = await client.statistics
        #expect(s.corruptedFrames == 1 && s.retries == 1 && s.completed == 1 && s.framesSent == 2)
        let kinds = await client.events.map(\.kind)
        #expect(kinds.count == 2)
        if case .corruptedFrame(.checksumMismatch, let size, _) = kinds.first {
            #expect(size > 0)
        } else {
            Issue.record("expected a corrupted-frame event first, got \(kinds)")
        }
        #expect(kinds.last == .retry(.corruptedResponse))
    }

    @Test func aBadFrameReportMakesTheClientResend() async throws {
        let board = ScriptedBoard { i, frame in
            i == 0 ? Wire.refusal(ErrorResponse(code: .badFrame, opcode: 0), sequence: 0xFFFF) : ScriptedBoard.ok(frame)
        }
        let client = Self.client(board)
        _ = try await client.ping([7])
        #expect(board.sequences == [100, 100])
        let s = await client.statistics
        #expect(s.badFrameReports == 1 && s.retries == 1)
        #expect(await client.events.last?.kind == .retry(.badFrameReported))
    }

    @Test func aSilentBoardTimesOutWithinTheBound() async {
        let board = ScriptedBoard { _, _ in [] }
        let client = Self.client(board, timeout: .milliseconds(50), retries: 2)
        let start = ContinuousClock.now
        let error = await caught { () async throws(BoardError) in _ = try await client.temperature() }
        let elapsed = ContinuousClock.now - start
        guard case .timeout(let c) = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
        #expect(c.attempts == 3 && c.sequence == 100 && c.opcode == .temperature && c.device == "test:scripted")
        #expect(elapsed >= .milliseconds(150))
        #expect(elapsed < promptly)
        #expect(c.elapsed <= elapsed)
        #expect(board.sequences == [100, 100, 100])
        let s = await client.statistics
        #expect(s.timeouts == 3 && s.retries == 2 && s.failed == 1 && s.completed == 0)
        let kinds = await client.events.map(\.kind)
        #expect(kinds.count == 6)
        if case .failed(.timeout) = kinds.last {} else { Issue.record("expected a failure event last, got \(kinds)") }
    }

    @Test func aPerCallTimeoutOverridesTheDefault() async {
        let board = ScriptedBoard { _, _ in [] }
        let client = Self.client(board, timeout: .seconds(30))
        let start = ContinuousClock.now
        let error = await caught { () async throws(BoardError) in
            _ = try await client.send(.ping([]), timeout: .milliseconds(40), maxRetries: 0)
        }
        let elapsed = ContinuousClock.now - start
        #expect(error.map { if case .timeout = $0 { true } else { false } } == true)
        #expect(elapsed >= .milliseconds(40))
        #expect(elapsed < promptly)  // well short of the 30 s default
        #expect(board.received.count == 1)
    }

    @Test func aRefusalIsThrownWithItsContextAndNotRetried() async {
        let board = ScriptedBoard { _, frame in
            Wire.refusal(ErrorResponse(code: .voltageOutOfLimit, opcode: frame.type, index: 3, value: 5, limit: 3), sequence: frame.sequence)
        }
        let client = Self.client(board)
        let pulses = (0..<4).map {
            PulseCommand(tile: 0, side: .plus, row: UInt16($0), column: 0, polarity: 1, amplitude: Volts($0 == 3 ? 5 : 1), widthNanoseconds: 100, repeat: 1)
        }
        let error = await caught { () async throws(BoardError) in _ = try await client.program(pulses: pulses) }
        guard case .refused(let refusal, let c) = error else {
            Issue.record("expected a refusal, got \(String(describing: error))")
            return
        }
        #expect(refusal.code == .voltageOutOfLimit && refusal.index == 3)
        #expect(c.opcode == .programPulses && c.sequence == 100 && c.attempts == 1 && !c.rawBytes.isEmpty)
        #expect(error?.description.hasPrefix("board refused PROGRAM PULSES item 3: voltage 5.0 V exceeds limit 3.0 V [test:scripted, seq 100, 1 attempt, ") == true)
        #expect(board.received.count == 1)
        let s = await client.statistics
        #expect(s.refused == 1 && s.failed == 0)
        #expect(await client.events.map(\.kind) == [.refused(refusal)])
    }

    @Test func aResponseThatDoesNotParseIsNotRetried() async {
        let board = ScriptedBoard { _, frame in
            Frame(type: Opcode.temperature.responseType, sequence: frame.sequence, body: [1, 2, 3]).encoded()
        }
        let client = Self.client(board)
        let error = await caught { () async throws(BoardError) in _ = try await client.temperature() }
        guard case .malformedResponse(.truncatedBody, let c) = error else {
            Issue.record("expected a malformed response, got \(String(describing: error))")
            return
        }
        #expect((try? Frame.decode(c.rawBytes))?.type == Opcode.temperature.responseType)
        #expect(board.received.count == 1)
    }

    @Test func anAnswerToAnotherRequestIsUnexpected() async {
        let board = ScriptedBoard { _, frame in
            Response.counters(Counters()).frame(answering: .counters, sequence: frame.sequence).encoded()
        }
        let error = await caught { () async throws(BoardError) in _ = try await Self.client(board).ping() }
        guard case .unexpectedResponse(let type, _) = error else {
            Issue.record("expected an unexpected response, got \(String(describing: error))")
            return
        }
        #expect(type == Opcode.counters.responseType)
    }

    @Test func aWrongPingEchoIsUnexpected() async {
        let board = ScriptedBoard.answering { _ in .pong([0xEE]) }
        let error = await caught { () async throws(BoardError) in _ = try await Self.client(board).ping([1]) }
        #expect(error.map { if case .unexpectedResponse = $0 { true } else { false } } == true)
    }

    @Test func aReusedSequenceNumberMovesToAFreshOne() async throws {
        let board = ScriptedBoard { i, frame in
            i == 0
                ? Wire.refusal(ErrorResponse(code: .sequenceReused, opcode: frame.type, value: Float(frame.sequence)), sequence: frame.sequence)
                : ScriptedBoard.ok(frame)
        }
        let client = Self.client(board)
        _ = try await client.ping([3])
        #expect(board.sequences == [100, 101])
        #expect(await client.nextSequence == 102)
        let kinds = await client.events.map(\.kind)
        #expect(kinds == [.sequenceReassigned(from: 100, to: 101), .retry(.sequenceReused)])
    }

    @Test func oversizedRequestsAreNotSent() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let client = Self.client(board)
        _ = try await client.hello()
        let error = await caught { () async throws(BoardError) in
            _ = try await client.ping([UInt8](repeating: 1, count: 3000))
        }
        guard case .invalidRequest(let reason, _) = error else {
            Issue.record("expected an invalid request, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("2048"))
        #expect(board.received.count == 1)
    }

    @Test func largeMatrixVectorBatchesAreSplitIntoFramesThatFit() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let client = Self.client(board)
        _ = try await client.hello()
        #expect(await client.maxVectorsPerFrame(tile: 0, orientation: .forward, vectorLength: 8) == 127)
        let inputs = (0..<(300 * 8)).map { Int16($0 % 100) }
        let result = try await client.matrixVector(tile: 0, vectorLength: 8, inputs: inputs, inputFullScale: Volts(0.2))
        #expect(result.vectorCount == 300)
        #expect(result.outputs.count == 1200)
        let counts = try board.received.dropFirst().map { r -> UInt16 in
            guard case .matrixVector(let m) = try Request.decode(r.frame) else { return 0 }
            return m.vectorCount
        }
        #expect(counts == [127, 127, 46])
        let sent = try board.received.dropFirst().flatMap { r -> [Int16] in
            guard case .matrixVector(let m) = try Request.decode(r.frame) else { return [] }
            return m.inputs
        }
        #expect(sent == inputs)
    }

    @Test func aBatchThatIsNotWholeVectorsIsRefusedLocally() async {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let error = await caught { () async throws(BoardError) in
            _ = try await Self.client(board).matrixVector(tile: 0, vectorLength: 8, inputs: [1, 2, 3], inputFullScale: Volts(0.2))
        }
        #expect(error.map { if case .invalidRequest = $0 { true } else { false } } == true)
        #expect(board.received.isEmpty)
    }

    @Test func concurrentCallersAreServedOneAtATime() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let client = Self.client(board)
        let echoes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for k in 0..<20 {
                group.addTask {
                    let payload = [UInt8(k), UInt8(k), 0]
                    _ = try await client.ping(payload)
                    return true
                }
            }
            var n = 0
            for try await ok in group where ok { n += 1 }
            return n
        }
        #expect(echoes == 20)
        #expect(board.sequences == Array(100..<120))
        #expect(await client.statistics.completed == 20)
    }

    @Test func eventsAreStreamedAsTheyHappenAndCanBeTaken() async throws {
        let streamed = Mutex<[LinkEvent]>([])
        let board = ScriptedBoard { i, frame in i == 0 ? Wire.corrupted(ScriptedBoard.ok(frame)) : ScriptedBoard.ok(frame) }
        let client = Self.client(board) { e in streamed.withLock { $0.append(e) } }
        _ = try await client.ping()
        let taken = await client.takeEvents()
        #expect(taken.count == 2)
        #expect(taken == streamed.withLock { $0 })
        #expect(await client.events.isEmpty)
        #expect(taken[0].time <= taken[1].time)
        #expect(taken[1].description.contains("PING seq 100 attempt 2: resent after corruptedResponse"))
    }

    @Test func aDisconnectionIsMendedByTheReconnectHandler() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let faulty = FaultInjectingTransport(wrapping: board.transport())
        faulty.inject(.disconnect, direction: .outbound)
        let client = BoardClient(
            transport: faulty, configuration: .init(timeout: .milliseconds(200), initialSequence: 1)
        ) { (failed: any Transport) async throws(TransportError) -> any Transport in
            await faulty.reconnect()
            return faulty
        }
        _ = try await client.ping([4])
        #expect(board.sequences == [1])
        let s = await client.statistics
        #expect(s.reconnects == 1 && s.retries == 1 && s.completed == 1)
        let kinds = await client.events.map(\.kind)
        #expect(kinds.count == 3)
        if case .disconnected = kinds[0] {} else { Issue.record("expected a disconnection first, got \(kinds)") }
        #expect(Array(kinds.dropFirst()) == [.retry(.disconnected), .reconnected(endpoint: faulty.endpoint)])
    }

    @Test func aFailingReconnectIsRetriedThenReported() async {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let faulty = FaultInjectingTransport(wrapping: board.transport())
        faulty.inject(.disconnect, direction: .outbound)
        let client = BoardClient(
            transport: faulty, configuration: .init(timeout: .milliseconds(100), maxRetries: 2, initialSequence: 1)
        ) { (failed: any Transport) async throws(TransportError) -> any Transport in
            throw .openFailed(TransportErrorContext(endpoint: "serial:/dev/ttyACM0", operation: .open), errno: 2, reason: "no such device")
        }
        let error = await caught { () async throws(BoardError) in _ = try await client.ping() }
        guard case .transport(.openFailed, let c) = error else {
            Issue.record("expected the open failure, got \(String(describing: error))")
            return
        }
        #expect(c.attempts == 3)
        #expect(await client.statistics.reconnectFailures == 2)
    }

    @Test func withoutAReconnectHandlerADisconnectionFails() async {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let faulty = FaultInjectingTransport(wrapping: board.transport())
        faulty.inject(.disconnect, direction: .inbound)
        let client = BoardClient(transport: faulty, configuration: .init(timeout: .milliseconds(200), initialSequence: 1))
        let error = await caught { () async throws(BoardError) in _ = try await client.ping() }
        guard case .transport(.disconnected, let c) = error else {
            Issue.record("expected a disconnection, got \(String(describing: error))")
            return
        }
        #expect(c.attempts == 1)
        #expect(board.received.count == 1)
    }

    @Test func aReconnectCanBeAskedFor() async throws {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let first = board.transport()
        let second = board.transport()
        let client = BoardClient(transport: first, configuration: .init(initialSequence: 1)) {
            (failed: any Transport) async throws(TransportError) -> any Transport in
            await failed.close()
            return second
        }
        try await client.reconnect()
        _ = try await client.ping([1])
        #expect(await client.statistics.reconnects == 1)
        #expect(await client.events.map(\.kind) == [.reconnected(endpoint: "test:scripted")])
        #expect(second.bufferedCount == 0)
        let error = await caught { () async throws(TransportError) in try await first.write([0], timeout: .seconds(1)) }
        #expect(error.map { if case .closed = $0 { true } else { false } } == true)
    }

    @Test func aReconnectWithoutAHandlerIsRefused() async {
        let client = Self.client(ScriptedBoard { _, _ in [] })
        let error = await caught { () async throws(BoardError) in try await client.reconnect() }
        #expect(error.map { if case .invalidRequest = $0 { true } else { false } } == true)
    }

    @Test func aClosedClientFailsWithATransportError() async {
        let board = ScriptedBoard { _, frame in ScriptedBoard.ok(frame) }
        let client = Self.client(board)
        await client.close()
        let error = await caught { () async throws(BoardError) in _ = try await client.ping() }
        guard case .transport(.closed, _) = error else {
            Issue.record("expected a closed transport, got \(String(describing: error))")
            return
        }
    }

    @Test func cancellingACallerEndsItsRequestPromptly() async {
        let board = ScriptedBoard { _, _ in [] }
        let client = Self.client(board, timeout: .seconds(30))
        let start = ContinuousClock.now
        let call = Task { () async -> BoardError? in
            await caught { () async throws(BoardError) in _ = try await client.ping() }
        }
        try? await Task.sleep(for: .milliseconds(30))
        call.cancel()
        let error = await call.value
        #expect(error.map { if case .cancelled = $0 { true } else { false } } == true)
        #expect(ContinuousClock.now - start < promptly)  // well short of the 30 s timeout
    }
}
