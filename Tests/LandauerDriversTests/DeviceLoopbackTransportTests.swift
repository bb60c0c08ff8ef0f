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

    @Test func anIdleReadWaitsForItsTimeout() async {
        let loop = DeviceLoopbackTransport(idleReads: .waitForTimeout) { _ in [] }
        let start = ContinuousClock.now
        let error = await caught { () async throws(TransportError) in
            _ = try await loop.read(maxCount: 8, timeout: .milliseconds(200))
        }
        let elapsed = ContinuousClock.now - start
        guard case .timeout(let c) = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
        #expect(c.timeout == .milliseconds(200))
        #expect(elapsed >= .milliseconds(200))
        #expect(elapsed < promptly)
    }

    @Test func anIdleReadThatFailsImmediatelyDoesNotWaitForItsTimeout() async throws {
        let loop = DeviceLoopbackTransport(idleReads: .failImmediately) { $0 }
        // A timeout far beyond `promptly`: returning at all shows the read did not wait for it.
        let start = ContinuousClock.now
        let error = await caught { () async throws(TransportError) in
            _ = try await loop.read(maxCount: 8, timeout: .seconds(60))
        }
        let elapsed = ContinuousClock.now - start
        guard case .timeout(let c) = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
        #expect(c.timeout == .seconds(60))
        #expect(c.elapsed <= elapsed)
        #expect(elapsed < promptly)
        // Bytes already answered are still read.
        try await loop.write([4, 2], timeout: .seconds(1))
        #expect(try await loop.read(maxCount: 8, timeout: .seconds(60)) == [4, 2])
    }

    @Test func aConcurrentWriteWakesAWaitingRead() async throws {
        let loop = DeviceLoopbackTransport { $0 }
        let writer = Task {
            try await Task.sleep(for: .milliseconds(20))
            try await loop.write([5], timeout: .seconds(1))
        }
        // The bytes, not a timeout error, show that the write woke the read; the long timeout
        // only keeps a stalled scheduler from failing the test.
        #expect(try await loop.read(maxCount: 8, timeout: .seconds(60)) == [5])
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
        // A read with a zero timeout only succeeds on bytes already buffered, so every read below
        // succeeding shows that a write buffers its answer before it returns: an exchange involves
        // no waiting, whatever the clock says (how fast it runs is landauer-bench's business).
        let loop = DeviceLoopbackTransport { $0 }
        for i in 0..<10_000 {
            let request: [UInt8] = [UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8), 0]
            try await loop.write(request, timeout: .seconds(1))
            let buffered = loop.bufferedCount
            let answer = try await loop.read(maxCount: 64, timeout: .zero)
            if buffered != request.count || answer != request {
                Issue.record("exchange \(i): wrote \(request), found \(buffered) bytes buffered, read \(answer)")
                return
            }
            if i % 256 == 0 { await Task.yield() }  // the loop never suspends; let other tests' timers run
        }
        #expect(loop.bufferedCount == 0)
    }
}
