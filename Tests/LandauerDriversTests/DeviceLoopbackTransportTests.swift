import LandauerDrivers
import LandauerFirmware
import Synchronization
import Testing

@Suite("DeviceLoopbackTransport")
struct DeviceLoopbackTransportTests {
    @Test func theHandlersAnswerIsReadBack() async throws {
        let loop = DeviceLoopbackTransport(endpoint: "sim:echo") { $0.reversed() }
        #expect(loop.endpoint == "sim:echo")
        try await loop.write([1, 2, 3], timeout: .seconds(1))
        #expect(loop.bufferedCount == 3)
        #expect(try await loop.read(maxCount: 2, timeout: .seconds(1)) == [3, 2])
        #expect(try await loop.read(maxCount: 2, timeout: .seconds(1)) == [1])
    }

    @Test func aFrameWrittenInPiecesIsAnsweredWhenComplete() async throws {
        let board = VirtualBoard()
        let loop = board.transport()
        let request = Request.ping([0xAA, 0x00, 0x55]).frame(sequence: 77).encoded()
        try await loop.write(Array(request.prefix(4)), timeout: .seconds(1))
        #expect(loop.bufferedCount == 0)
        try await loop.write(Array(request.dropFirst(4)), timeout: .seconds(1))
        let answer = try await loop.read(maxCount: 1024, timeout: .seconds(1))
        let frame = try Frame.decode(answer)
        #expect(frame.sequence == 77)
        #expect(try Response.decode(frame) == .pong([0xAA, 0x00, 0x55]))
    }

    @Test("an idle read honours its policy", arguments: [
        (DeviceLoopbackTransport.IdleReads.waitForTimeout, true),
        (.failImmediately, false),
    ])
    func idleReads(_ policy: DeviceLoopbackTransport.IdleReads, _ waits: Bool) async {
        let loop = DeviceLoopbackTransport(idleReads: policy) { _ in [] }
        let start = ContinuousClock.now
        let error = await caught { () async throws(TransportError) in
            _ = try await loop.read(maxCount: 8, timeout: .milliseconds(60))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error.map { if case .timeout = $0 { true } else { false } } == true)
        if waits {
            #expect(elapsed >= .milliseconds(60))
            #expect(elapsed < .seconds(2))
        } else {
            #expect(elapsed < .milliseconds(50))
        }
    }

    @Test func aConcurrentWriteWakesAWaitingRead() async throws {
        let loop = DeviceLoopbackTransport { $0 }
        let writer = Task {
            try await Task.sleep(for: .milliseconds(20))
            try await loop.write([5], timeout: .seconds(1))
        }
        #expect(try await loop.read(maxCount: 8, timeout: .seconds(5)) == [5])
        try await writer.value
    }

    @Test func afterCloseTheHandlerIsNotCalled() async {
        let calls = Mutex(0)
        let loop = DeviceLoopbackTransport { bytes in
            calls.withLock { $0 += 1 }
            return bytes
        }
        await loop.close()
        let writeError = await caught { () async throws(TransportError) in
            try await loop.write([1], timeout: .seconds(1))
        }
        let readError = await caught { () async throws(TransportError) in
            _ = try await loop.read(maxCount: 1, timeout: .seconds(1))
        }
        #expect(writeError.map { if case .closed = $0 { true } else { false } } == true)
        #expect(readError.map { if case .closed = $0 { true } else { false } } == true)
        #expect(calls.withLock { $0 } == 0)
    }

    @Test func anExchangeDoesNotWait() async throws {
        let loop = DeviceLoopbackTransport { $0 }
        let start = ContinuousClock.now
        for i in 0..<10_000 {
            try await loop.write([UInt8(truncatingIfNeeded: i), 0], timeout: .seconds(1))
            _ = try await loop.read(maxCount: 64, timeout: .seconds(1))
            if i % 256 == 0 { await Task.yield() }  // the loop never suspends; let other tests' timers run
        }
        // Ten thousand exchanges in well under a second even in a debug build: no sleeps, no waits.
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
