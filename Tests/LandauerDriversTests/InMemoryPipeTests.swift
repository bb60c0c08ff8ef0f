import LandauerDrivers
import Testing

@Suite("InMemoryPipe")
struct InMemoryPipeTests {
    @Test func bytesFlowBothWays() async throws {
        let pipe = InMemoryPipe()
        try await pipe.host.write([1, 2, 3], timeout: .seconds(1))
        #expect(try await pipe.device.read(maxCount: 16, timeout: .seconds(1)) == [1, 2, 3])
        try await pipe.device.write([9], timeout: .seconds(1))
        #expect(try await pipe.host.read(maxCount: 16, timeout: .seconds(1)) == [9])
    }

    @Test func readsReturnAtMostMaxCountAndKeepTheRest() async throws {
        let pipe = InMemoryPipe()
        try await pipe.host.write(Array(0..<10), timeout: .seconds(1))
        try await pipe.host.write(Array(10..<12), timeout: .seconds(1))
        #expect(try await pipe.device.read(maxCount: 4, timeout: .seconds(1)) == [0, 1, 2, 3])
        #expect(pipe.device.bufferedCount == 8)
        #expect(try await pipe.device.read(maxCount: 100, timeout: .seconds(1)) == Array(4..<12))
    }

    @Test func readTimesOutWithinItsBound() async {
        let pipe = InMemoryPipe(hostEndpoint: "memory:a")
        let start = ContinuousClock.now
        let error = await caught { () async throws(TransportError) in
            _ = try await pipe.host.read(maxCount: 1, timeout: .milliseconds(50))
        }
        let elapsed = ContinuousClock.now - start
        guard case .timeout(let c) = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
        #expect(c.endpoint == "memory:a")
        #expect(c.timeout == .milliseconds(50))
        #expect(elapsed >= .milliseconds(50))
        #expect(elapsed < promptly)
    }

    @Test func zeroTimeoutReturnsAtOnce() async {
        let pipe = InMemoryPipe()
        let error = await caught { () async throws(TransportError) in
            _ = try await pipe.host.read(maxCount: 1, timeout: .zero)
        }
        #expect(error.map { if case .timeout = $0 { true } else { false } } == true)
    }

    @Test func aWaitingReadWakesWhenBytesArrive() async throws {
        let pipe = InMemoryPipe()
        let writer = Task {
            try await Task.sleep(for: .milliseconds(20))
            try await pipe.device.write([42], timeout: .seconds(1))
        }
        // The bytes, not a timeout error, show that the write woke the read; the long timeout
        // only keeps a stalled scheduler from failing the test.
        let bytes = try await pipe.host.read(maxCount: 8, timeout: .seconds(60))
        #expect(bytes == [42])
        try await writer.value
    }

    @Test func closingOneEndDisconnectsTheOtherAfterItDrains() async throws {
        let pipe = InMemoryPipe()
        try await pipe.host.write([7, 8], timeout: .seconds(1))
        await pipe.host.close()
        #expect(try await pipe.device.read(maxCount: 8, timeout: .seconds(1)) == [7, 8])
        let readError = await caught { () async throws(TransportError) in
            _ = try await pipe.device.read(maxCount: 8, timeout: .seconds(1))
        }
        #expect(readError.map { if case .disconnected = $0 { true } else { false } } == true)
        let writeError = await caught { () async throws(TransportError) in
            try await pipe.device.write([1], timeout: .seconds(1))
        }
        #expect(writeError.map { if case .disconnected = $0 { true } else { false } } == true)
        let ownError = await caught { () async throws(TransportError) in
            try await pipe.host.write([1], timeout: .seconds(1))
        }
        #expect(ownError.map { if case .closed = $0 { true } else { false } } == true)
    }

    @Test func closeWakesAWaitingRead() async {
        let pipe = InMemoryPipe()
        let reader = Task { () async -> TransportError? in
            await caught { () async throws(TransportError) in
                _ = try await pipe.host.read(maxCount: 8, timeout: .seconds(30))
            }
        }
        try? await Task.sleep(for: .milliseconds(20))
        await pipe.host.close()
        let error = await reader.value
        #expect(error.map { if case .closed = $0 { true } else { false } } == true)
    }

    @Test func cancellingAWaitingReadEndsItPromptly() async {
        let pipe = InMemoryPipe()
        let start = ContinuousClock.now
        let reader = Task { () async -> TransportError? in
            await caught { () async throws(TransportError) in
                _ = try await pipe.host.read(maxCount: 8, timeout: .seconds(30))
            }
        }
        try? await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        let error = await reader.value
        #expect(error.map { if case .cancelled = $0 { true } else { false } } == true)
        #expect(ContinuousClock.now - start < promptly)  // well short of the 30 s timeout
    }

    @Test func aNonPositiveMaxCountIsRefused() async {
        let pipe = InMemoryPipe()
        let error = await caught { () async throws(TransportError) in
            _ = try await pipe.host.read(maxCount: 0, timeout: .seconds(1))
        }
        #expect(error.map { if case .invalidArgument = $0 { true } else { false } } == true)
    }
}
