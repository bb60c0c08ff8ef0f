import LandauerDrivers
import LandauerFirmware
import Testing

/// The termios transport on the slave side of a real pseudo-terminal, with the master served by
/// a second termios transport (or by the firmware engine).
@Suite("TermiosTransport", .serialized)
struct TermiosTransportTests {
    /// A fresh pty: the slave opened as a driver would open a serial port, the master as the device.
    struct Rig {
        let pair: PseudoTerminalPair
        let host: TermiosTransport
        let device: TermiosTransport

        init() throws {
            pair = try PseudoTerminalPair.open()
            host = try TermiosTransport(path: pair.slavePath, baudRate: 115_200)
            device = pair.masterTransport()
        }

        func close() async {
            await host.close()
            await device.close()
        }
    }

    /// Reads until `count` bytes arrived (a tty may deliver them in pieces).
    static func readExactly(_ count: Int, from t: some Transport) async throws -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count { out += try await t.read(maxCount: count - out.count, timeout: .seconds(5)) }
        return out
    }

    @Test func aPairHasASlavePathAndTheSlaveOpens() async throws {
        let rig = try Rig()
        #expect(rig.pair.slavePath.hasPrefix("/dev/"))
        #expect(rig.host.endpoint == "tty:\(rig.pair.slavePath)")
        #expect(rig.host.path == rig.pair.slavePath)
        await rig.close()
    }

    @Test func bytesFlowBothWaysUnchanged() async throws {
        let rig = try Rig()
        // Every byte value, including the ones a cooked tty would translate (CR, LF, ^C, ^D, XON/XOFF).
        let all = (0...255).map { UInt8($0) }
        try await rig.host.write(all, timeout: .seconds(5))
        #expect(try await Self.readExactly(256, from: rig.device) == all)
        try await rig.device.write(all.reversed(), timeout: .seconds(5))
        #expect(try await Self.readExactly(256, from: rig.host) == all.reversed())
        await rig.close()
    }

    @Test func readsReturnAtMostMaxCountAndKeepTheRest() async throws {
        let rig = try Rig()
        try await rig.device.write(Array(0..<10), timeout: .seconds(5))
        var first: [UInt8] = []
        while first.isEmpty { first = try await rig.host.read(maxCount: 4, timeout: .seconds(5)) }
        #expect(first.count <= 4 && first == Array(0..<UInt8(first.count)))
        let rest = try await Self.readExactly(10 - first.count, from: rig.host)
        #expect(first + rest == Array(0..<10))
        await rig.close()
    }

    @Test func aLargeWriteArrivesWhole() async throws {
        let rig = try Rig()
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        // Larger than the pty buffer: the write must wait for the reader to drain it.
        async let sent: Void = rig.host.write(big, timeout: .seconds(20))
        let received = try await Self.readExactly(big.count, from: rig.device)
        try await sent
        #expect(received == big)
        await rig.close()
    }

    @Test func aReadTimesOutNotEarlyAndNotNever() async throws {
        let rig = try Rig()
        let start = ContinuousClock.now
        let error = await caught { () async throws(TransportError) in
            _ = try await rig.host.read(maxCount: 1, timeout: .milliseconds(150))
        }
        let elapsed = ContinuousClock.now - start
        guard case .timeout(let c) = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
        #expect(elapsed >= .milliseconds(150))
        #expect(elapsed < promptly)
        #expect(c.operation == .read && c.timeout == .milliseconds(150) && c.endpoint == rig.host.endpoint)
        // Nothing was lost: a byte sent afterwards is read.
        try await rig.device.write([42], timeout: .seconds(5))
        #expect(try await rig.host.read(maxCount: 1, timeout: .seconds(5)) == [42])
        await rig.close()
    }

    @Test func aReadWaitingForDataReturnsWhenItArrives() async throws {
        let rig = try Rig()
        let device = rig.device
        let writer = Task {
            try await Task.sleep(for: .milliseconds(50))
            try await device.write([7, 8], timeout: .seconds(5))
        }
        let start = ContinuousClock.now
        let got = try await Self.readExactly(2, from: rig.host)
        #expect(got == [7, 8])
        #expect(ContinuousClock.now - start < promptly)
        try await writer.value
        await rig.close()
    }

    @Test func closingTheMasterDisconnectsTheSlave() async throws {
        let rig = try Rig()
        try await rig.device.write([1], timeout: .seconds(5))
        #expect(try await rig.host.read(maxCount: 1, timeout: .seconds(5)) == [1])
        await rig.device.close()
        let start = ContinuousClock.now
        let readError = await caught { () async throws(TransportError) in
            _ = try await rig.host.read(maxCount: 1, timeout: .seconds(30))
        }
        guard case .disconnected(let c, _) = readError else {
            Issue.record("expected .disconnected, got \(String(describing: readError))")
            return
        }
        #expect(c.operation == .read)
        #expect(ContinuousClock.now - start < promptly)
        #expect(readError?.suggestsReconnect == true)
        // The pseudo-terminal is gone, so the path cannot be opened again.
        let reopenError = await caught { () throws(TransportError) in _ = try TermiosTransport(path: rig.pair.slavePath) }
        if case .openFailed = reopenError {} else { Issue.record("expected .openFailed, got \(String(describing: reopenError))") }
        await rig.host.close()
    }

    @Test func closeThenReopenTheSamePath() async throws {
        let rig = try Rig()
        await rig.host.close()
        let closedError = await caught { () async throws(TransportError) in
            try await rig.host.write([1], timeout: .seconds(1))
        }
        if case .closed = closedError {} else { Issue.record("expected .closed, got \(String(describing: closedError))") }
        await rig.host.close()  // twice is harmless

        let again = try TermiosTransport(path: rig.pair.slavePath)
        try await again.write([5, 6, 7], timeout: .seconds(5))
        #expect(try await Self.readExactly(3, from: rig.device) == [5, 6, 7])
        try await rig.device.write([9], timeout: .seconds(5))
        #expect(try await again.read(maxCount: 4, timeout: .seconds(5)) == [9])
        await again.close()
        await rig.device.close()
    }

    @Test func closeWakesAWaitingRead() async throws {
        let rig = try Rig()
        let host = rig.host
        let reader = Task { () async -> TransportError? in
            await caught { () async throws(TransportError) in _ = try await host.read(maxCount: 1, timeout: .seconds(30)) }
        }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        await host.close()
        let error = await reader.value
        if case .closed = error {} else { Issue.record("expected .closed, got \(String(describing: error))") }
        #expect(ContinuousClock.now - start < promptly)
        await rig.device.close()
    }

    @Test func cancellingAWaitingReadThrowsCancelled() async throws {
        let rig = try Rig()
        let host = rig.host
        let reader = Task { () async -> TransportError? in
            await caught { () async throws(TransportError) in _ = try await host.read(maxCount: 1, timeout: .seconds(30)) }
        }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        let error = await reader.value
        if case .cancelled = error {} else { Issue.record("expected .cancelled, got \(String(describing: error))") }
        await rig.close()
    }

    @Test func openingAMissingPathFailsWithErrno() async {
        let error = await caught { () throws(TransportError) in _ = try TermiosTransport(path: "/dev/landauer-no-such-tty") }
        guard case .openFailed(let c, let errno, _) = error else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
            return
        }
        #expect(errno == 2)  // ENOENT
        #expect(c.endpoint == "tty:/dev/landauer-no-such-tty")
    }

    @Test func openingANonTerminalFails() async {
        let error = await caught { () throws(TransportError) in _ = try TermiosTransport(path: "/dev/null") }
        guard case .openFailed(_, _, let reason) = error else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("not a terminal"))
    }

    @Test func anUnknownBaudRateIsRefused() async throws {
        let pair = try PseudoTerminalPair.open()
        defer { pair.closeMaster() }
        let error = await caught { () throws(TransportError) in _ = try TermiosTransport(path: pair.slavePath, baudRate: 12_345) }
        if case .invalidArgument = error {} else { Issue.record("expected .invalidArgument, got \(String(describing: error))") }
    }

    // MARK: the board client across a pseudo-terminal

    /// Serves `board` on `device` until the link goes away: whatever arrives is fed to the engine,
    /// and its answer written back.
    static func serve(_ board: VirtualBoard, on device: TermiosTransport) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                do throws(TransportError) {
                    let bytes = try await device.read(maxCount: 4096, timeout: .milliseconds(200))
                    let answer = board.handle(bytes)
                    if !answer.isEmpty { try await device.write(answer, timeout: .seconds(5)) }
                } catch .timeout {
                    continue
                } catch {
                    return
                }
            }
        }
    }

    @Test func theBoardClientTalksToTheFirmwareEngineAcrossAPty() async throws {
        let rig = try Rig()
        let board = VirtualBoard()
        let server = Self.serve(board, on: rig.device)
        let client = BoardClient(transport: rig.host, configuration: .init(timeout: .seconds(5), maxRetries: 1))

        let info = try await client.hello()
        #expect(info.serial == Array("TEST-0001".utf8))
        #expect(info.tiles.map(\.rows) == [8, 64])

        let x = BoardClientEndToEndTests.inputs(40 * 64, seed: 5)
        let result = try await client.matrixVector(tile: 1, vectorLength: 64, inputs: x, inputFullScale: Volts(0.2))
        #expect(result.outputs == board.frontEnd.expectedOutputs(tile: 1, orientation: .forward, inputs: x))

        let programmed = try await client.program(pulses: BoardClientEndToEndTests.pulses(5))
        #expect(programmed.pulsesApplied == 5)
        #expect(board.pulseCount == 5)
        _ = try await client.ping([1, 2, 3])

        await client.close()
        server.cancel()
        await server.value
        await rig.device.close()
    }
}
