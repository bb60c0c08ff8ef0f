import LandauerDrivers
import Testing

/// The TCP transport against a loopback listener the test starts itself (127.0.0.1 only).
@Suite("TCPTransport", .serialized)
struct TCPTransportTests {
    /// Echoes every byte of every connection it accepts until the peer goes away.
    static func echoServer(_ listener: TCPListener) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                guard let connection = try? await listener.accept(timeout: .milliseconds(200)) else { continue }
                while true {
                    do throws(TransportError) {
                        let bytes = try await connection.read(maxCount: 65_536, timeout: .milliseconds(200))
                        try await connection.write(bytes, timeout: .seconds(10))
                    } catch .timeout {
                        if Task.isCancelled { break }
                    } catch {
                        break
                    }
                }
                await connection.close()
            }
        }
    }

    static func readExactly(_ count: Int, from t: some Transport) async throws -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count { out += try await t.read(maxCount: count - out.count, timeout: .seconds(5)) }
        return out
    }

    @Test func bytesComeBackFromAnEchoServer() async throws {
        let listener = try TCPListener()
        #expect(listener.port != 0 && listener.host == "127.0.0.1")
        let server = Self.echoServer(listener)
        let link = try await TCPTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(10))
        #expect(link.endpoint == "tcp:127.0.0.1:\(listener.port)")
        try await link.write(Array("*IDN?\n".utf8), timeout: .seconds(5))
        #expect(try await Self.readExactly(6, from: link) == Array("*IDN?\n".utf8))
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        async let sent: Void = link.write(big, timeout: .seconds(30))
        let back = try await Self.readExactly(big.count, from: link)
        try await sent
        #expect(back == big)
        await link.close()
        server.cancel()
        await server.value
        listener.close()
    }

    @Test func aReadTimesOutNotEarlyAndNotNever() async throws {
        let listener = try TCPListener()
        let server = Self.echoServer(listener)
        let link = try await TCPTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(10))
        let start = ContinuousClock.now
        let error = await caught { () async throws(TransportError) in
            _ = try await link.read(maxCount: 1, timeout: .milliseconds(120))
        }
        let elapsed = ContinuousClock.now - start
        if case .timeout(let c) = error {
            #expect(c.timeout == .milliseconds(120) && c.operation == .read)
        } else {
            Issue.record("expected .timeout, got \(String(describing: error))")
        }
        #expect(elapsed >= .milliseconds(120) && elapsed < promptly)
        await link.close()
        server.cancel()
        await server.value
        listener.close()
    }

    @Test func thePeerClosingGivesDisconnectedAfterTheLastBytes() async throws {
        let listener = try TCPListener()
        async let connecting = TCPTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(10))
        let accepted = try await listener.accept(timeout: .seconds(10))
        let link = try await connecting
        try await accepted.write([1, 2, 3], timeout: .seconds(5))
        await accepted.close()
        #expect(try await Self.readExactly(3, from: link) == [1, 2, 3])
        let error = await caught { () async throws(TransportError) in _ = try await link.read(maxCount: 8, timeout: .seconds(30)) }
        if case .disconnected = error {} else { Issue.record("expected .disconnected, got \(String(describing: error))") }
        // Writing to a closed peer fails too (at once or on the next write: TCP learns it from the reset).
        var writeError: TransportError?
        for _ in 0..<50 where writeError == nil {
            writeError = await caught { () async throws(TransportError) in try await link.write([0], timeout: .seconds(5)) }
            if writeError == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(writeError?.suggestsReconnect == true)
        await link.close()
        listener.close()
    }

    @Test func connectingToAClosedPortIsRefused() async throws {
        let listener = try TCPListener()
        let port = listener.port
        listener.close()
        let error = await caught { () async throws(TransportError) in
            _ = try await TCPTransport.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
        }
        guard case .openFailed(let c, let errno, _) = error else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
            return
        }
        #expect(errno == 111)  // ECONNREFUSED
        #expect(c.endpoint == "tcp:127.0.0.1:\(port)")
    }

    @Test func anUnresolvableNameFailsPlainly() async {
        let error = await caught { () async throws(TransportError) in
            _ = try await TCPTransport.connect(host: "not a host name", port: 1, timeout: .seconds(5))
        }
        if case .openFailed(_, _, let reason) = error {
            #expect(reason.contains("resolve"))
        } else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
        }
    }

    @Test func acceptTimesOutAndCloseEndsIt() async throws {
        let listener = try TCPListener()
        let error = await caught { () async throws(TransportError) in _ = try await listener.accept(timeout: .milliseconds(50)) }
        if case .timeout = error {} else { Issue.record("expected .timeout, got \(String(describing: error))") }
        listener.close()
        let closed = await caught { () async throws(TransportError) in _ = try await listener.accept(timeout: .seconds(1)) }
        if case .closed = closed {} else { Issue.record("expected .closed, got \(String(describing: closed))") }
    }

    @Test func aClosedTransportRefusesCalls() async throws {
        let listener = try TCPListener()
        async let connecting = TCPTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(10))
        let accepted = try await listener.accept(timeout: .seconds(10))
        let link = try await connecting
        await link.close()
        await link.close()
        let error = await caught { () async throws(TransportError) in try await link.write([1], timeout: .seconds(1)) }
        if case .closed = error {} else { Issue.record("expected .closed, got \(String(describing: error))") }
        await accepted.close()
        listener.close()
    }
}
