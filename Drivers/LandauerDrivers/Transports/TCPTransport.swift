#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A transport over a TCP connection: SCPI instruments on port 5025, vendor servers, a virtual
/// bench on another machine.
///
/// The socket is non-blocking with `TCP_NODELAY` (small request frames leave at once instead of
/// waiting for Nagle's algorithm), and `SIGPIPE` is suppressed, so a peer that went away is a
/// `.disconnected` error rather than a signal. Connecting, reading and writing never block a
/// thread: each attempt is a zero-timeout `poll` and one non-blocking call, with short sleeps
/// (at most 2 ms) between attempts until the call's timeout. The peer closing the connection
/// makes reads throw `.disconnected` once everything it sent has been read.
///
/// ```swift
/// let link = try await TCPTransport.connect(host: "192.0.2.10", port: 5025, timeout: .seconds(3))
/// ```
public final class TCPTransport: Transport {
    /// `tcp:` followed by the host and port, such as `tcp:192.0.2.10:5025`.
    public let endpoint: String
    private let stream: FileDescriptorStream

    private init(fd: Int32, endpoint: String) {
        self.endpoint = endpoint
        stream = FileDescriptorStream(fd: fd, endpoint: endpoint, kind: .socket)
    }

    /// Connects to `host` (a numeric IPv4 or IPv6 address, or a name) on `port`, trying each
    /// address the name resolves to until one answers within what is left of `timeout`.
    ///
    /// Name resolution (`getaddrinfo`) is a blocking call; prefer numeric addresses where latency matters.
    /// - Throws: `.openFailed` with errno (connection refused, no route, unknown name), `.timeout`
    ///   when no address answered in time, `.cancelled`.
    public static func connect(host: String, port: UInt16, timeout: Duration) async throws(TransportError)
        -> TCPTransport
    {
        let start = ContinuousClock.now
        let endpoint = "tcp:\(host.contains(":") ? "[\(host)]" : host):\(port)"
        func context() -> TransportErrorContext {
            TransportErrorContext(endpoint: endpoint, operation: .open, timeout: timeout, elapsed: ContinuousClock.now - start)
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if os(Linux)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        if status != 0 {
            throw .openFailed(context(), errno: nil, reason: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        let deadline = start + timeout
        var lastErrno: Int32 = ECONNREFUSED
        var candidate = list
        while let info = candidate?.pointee {
            candidate = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
            if fd < 0 {
                lastErrno = POSIX.errno
                continue
            }
            if let e = POSIX.makeNonBlocking(fd) ?? configure(fd) {
                _ = closeDescriptor(fd)
                throw .openFailed(context(), errno: e, reason: "cannot configure the socket: \(POSIX.message(e))")
            }
            let outcome: Int32?
            if systemConnect(fd, info.ai_addr, info.ai_addrlen) == 0 {
                outcome = nil
            } else {
                let e = POSIX.errno
                if e != EINPROGRESS && e != EINTR {
                    outcome = e
                } else {
                    do throws(TransportError) {
                        outcome = try await waitForConnection(fd, until: deadline, context: context)
                    } catch {
                        _ = closeDescriptor(fd)
                        throw error
                    }
                }
            }
            if let e = outcome {
                _ = closeDescriptor(fd)
                lastErrno = e
                continue
            }
            return TCPTransport(fd: fd, endpoint: endpoint)
        }
        throw .openFailed(context(), errno: lastErrno, reason: "cannot connect: \(POSIX.message(lastErrno))")
    }

    /// Adopts a connected, non-blocking socket (as `TCPListener.accept` returns).
    static func adopting(_ fd: Int32, endpoint: String) -> TCPTransport {
        TCPTransport(fd: fd, endpoint: endpoint)
    }

    /// Waits for a non-blocking connect to finish: nil when connected, else its errno.
    private static func waitForConnection(
        _ fd: Int32, until deadline: ContinuousClock.Instant, context: () -> TransportErrorContext
    ) async throws(TransportError) -> Int32? {
        var backoff = PollBackoff()
        while true {
            let (ready, _, pollError) = POSIX.poll(fd, events: Int16(POLLOUT))
            if let e = pollError { return e }
            if ready {
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) != 0 { return POSIX.errno }
                return soError == 0 ? nil : soError
            }
            if Task.isCancelled { throw .cancelled(context()) }
            if ContinuousClock.now >= deadline { throw .timeout(context()) }
            if !(await backoff.pause(until: deadline)) { throw .cancelled(context()) }
        }
    }

    /// `TCP_NODELAY`, and no `SIGPIPE` where the platform has a socket option for it; errno or nil.
    static func configure(_ fd: Int32) -> Int32? {
        var on: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, size) != 0 { return POSIX.errno }
        #if !os(Linux)
            if setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, size) != 0 { return POSIX.errno }
        #endif
        return nil
    }

    /// Writes all of `bytes` within `timeout`; see `Transport.write`.
    public func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        try await stream.write(bytes, timeout: timeout)
    }

    /// Reads 1…`maxCount` bytes, waiting up to `timeout` for the first; see `Transport.read`.
    public func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        try await stream.read(maxCount: maxCount, timeout: timeout)
    }

    /// Closes the socket. Closing twice is harmless.
    public func close() async {
        stream.close()
    }
}

/// `connect(2)`, named apart from `TCPTransport.connect`.
private func systemConnect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
        Glibc.connect(fd, address, length)
    #else
        Darwin.connect(fd, address, length)
    #endif
}

/// A listening TCP socket that hands out a `TCPTransport` per accepted connection: the serving
/// side of a virtual instrument (`landauer sim bench`) and of tests.
///
/// Binds an IPv4 address (127.0.0.1 by default, so nothing is exposed beyond this machine); port
/// 0 picks a free port, reported by `port`. Accepting never blocks a thread.
public final class TCPListener: Sendable {
    /// The address bound, such as `127.0.0.1`.
    public let host: String
    /// The port bound (the one the system chose when 0 was asked for).
    public let port: UInt16
    private let stream: FileDescriptorStream

    /// The listener's endpoint, `tcp-listen:` followed by the host and port.
    public var endpoint: String { "tcp-listen:\(host):\(port)" }

    /// Binds and listens on `host`:`port`.
    ///
    /// - Throws: `.openFailed` with errno (address in use, not an IPv4 address, permission denied).
    public init(host: String = "127.0.0.1", port: UInt16 = 0, backlog: Int32 = 8) throws(TransportError) {
        let context = TransportErrorContext(endpoint: "tcp-listen:\(host):\(port)", operation: .open)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        if inet_pton(AF_INET, host, &address.sin_addr) != 1 {
            throw .openFailed(context, errno: nil, reason: "\(host) is not a numeric IPv4 address")
        }
        #if os(Linux)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        if fd < 0 {
            let e = POSIX.errno
            throw .openFailed(context, errno: e, reason: "socket: \(POSIX.message(e))")
        }
        func fail(_ call: String) -> TransportError {
            let e = POSIX.errno
            _ = closeDescriptor(fd)
            return .openFailed(context, errno: e, reason: "\(call): \(POSIX.message(e))")
        }
        var on: Int32 = 1
        if setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw fail("setsockopt(SO_REUSEADDR)")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 { throw fail("bind") }
        if listen(fd, backlog) != 0 { throw fail("listen") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        if named != 0 { throw fail("getsockname") }
        if let e = POSIX.makeNonBlocking(fd) {
            _ = closeDescriptor(fd)
            throw .openFailed(context, errno: e, reason: "fcntl: \(POSIX.message(e))")
        }
        self.host = host
        self.port = UInt16(bigEndian: actual.sin_port)
        stream = FileDescriptorStream(fd: fd, endpoint: "tcp-listen:\(host):\(self.port)", kind: .socket)
    }

    /// Waits up to `timeout` for a connection and returns a transport for it.
    ///
    /// - Throws: `.timeout`, `.closed` after `close()`, `.io` with errno, `.cancelled`.
    public func accept(timeout: Duration) async throws(TransportError) -> TCPTransport {
        let start = ContinuousClock.now
        let deadline = start + timeout
        func context() -> TransportErrorContext {
            TransportErrorContext(endpoint: endpoint, operation: .open, timeout: timeout, elapsed: ContinuousClock.now - start)
        }
        var backoff = PollBackoff()
        while true {
            let attempt = stream.withDescriptor { fd -> (fd: Int32?, errno: Int32?, peer: String) in
                var peer = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let client = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        #if canImport(Glibc)
                            Glibc.accept(fd, $0, &length)
                        #else
                            Darwin.accept(fd, $0, &length)
                        #endif
                    }
                }
                if client < 0 {
                    let e = POSIX.errno
                    return (nil, e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED ? nil : e, "")
                }
                var text = [CChar](repeating: 0, count: 64)
                _ = inet_ntop(AF_INET, &peer.sin_addr, &text, socklen_t(text.count))
                let name = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                return (client, nil, "\(name):\(UInt16(bigEndian: peer.sin_port))")
            }
            guard let attempt else { throw .closed(context()) }
            if let e = attempt.errno { throw .io(context(), errno: e, message: "accept: \(POSIX.message(e))") }
            if let client = attempt.fd {
                if let e = POSIX.makeNonBlocking(client) ?? TCPTransport.configure(client) {
                    _ = closeDescriptor(client)
                    throw .io(context(), errno: e, message: "cannot configure the accepted socket: \(POSIX.message(e))")
                }
                return TCPTransport.adopting(client, endpoint: "tcp:\(attempt.peer)")
            }
            if Task.isCancelled { throw .cancelled(context()) }
            if ContinuousClock.now >= deadline { throw .timeout(context()) }
            if !(await backoff.pause(until: deadline)) { throw .cancelled(context()) }
        }
    }

    /// Stops listening; connections already accepted stay open.
    public func close() {
        stream.close()
    }
}
