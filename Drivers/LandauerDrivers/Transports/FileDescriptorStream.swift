#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Synchronization

// How the file-descriptor transports (termios, TCP) keep blocking I/O off Swift's cooperative pool:
// the descriptor is non-blocking and every system call on it is `poll` with a zero timeout followed,
// when ready, by one `read`/`write`/`send`. Nothing ever sleeps inside the kernel. Between attempts
// the task suspends in `Task.sleep` with an exponential back-off (50 µs doubling up to 2 ms, never
// past the call's deadline), so a waiting read holds no thread, and a slow device adds at most
// about 2 ms of latency to a waiting call. Cancellation ends the sleep (`.cancelled`), and `close()`
// is noticed at the next attempt (`.closed`). The descriptor lives behind a lock that each attempt
// holds for the duration of its non-blocking calls, so `close()` can never close a descriptor that
// another task is in the middle of using (nor let its number be reused under it).

/// Operating-system helpers shared by the POSIX transports.
enum POSIX {
    /// `strerror` text for an errno value.
    static func message(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The calling thread's errno.
    static var errno: Int32 {
        #if canImport(Glibc)
            Glibc.errno
        #else
            Darwin.errno
        #endif
    }

    /// Sets `O_NONBLOCK` and `FD_CLOEXEC` on `fd`; returns errno on failure.
    static func makeNonBlocking(_ fd: Int32) -> Int32? {
        let flags = fcntl(fd, F_GETFL)
        if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 { return errno }
        let fdFlags = fcntl(fd, F_GETFD)
        if fdFlags < 0 || fcntl(fd, F_SETFD, fdFlags | FD_CLOEXEC) < 0 { return errno }
        return nil
    }

    /// The readiness of one descriptor right now (`poll` with a zero timeout).
    static func poll(_ fd: Int32, events: Int16) -> (ready: Bool, revents: Int16, errno: Int32?) {
        var p = pollfd(fd: fd, events: events, revents: 0)
        let r = withUnsafeMutablePointer(to: &p) { ptr in
            #if canImport(Glibc)
                Glibc.poll(ptr, 1, 0)
            #else
                Darwin.poll(ptr, 1, 0)
            #endif
        }
        if r < 0 {
            let e = errno
            return (false, 0, e == EINTR ? nil : e)
        }
        return (r > 0, p.revents, nil)
    }
}

/// The pause between attempts of a non-blocking wait: 50 µs, doubling to 2 ms, never past the deadline.
struct PollBackoff {
    private var next: Duration = .microseconds(50)
    private static let cap: Duration = .milliseconds(2)

    /// Sleeps for the next pause (cut to the deadline); false when the task was cancelled.
    mutating func pause(until deadline: ContinuousClock.Instant) async -> Bool {
        let remaining = deadline - ContinuousClock.now
        if remaining > .zero {
            do {
                try await Task.sleep(for: min(next, remaining))
            } catch {
                return false
            }
        }
        next = min(next * 2, Self.cap)
        return !Task.isCancelled
    }
}

/// A non-blocking byte-stream descriptor (a tty or a connected socket) read and written with timeouts.
///
/// See the note at the top of this file for how waiting is done without blocking a thread.
final class FileDescriptorStream: Sendable {
    /// How the descriptor is written and how its end is recognised.
    enum Kind: Sendable {
        /// A terminal or pseudo-terminal: `write(2)`; `EIO` or hang-up means the other side went away.
        case terminal
        /// A connected stream socket: `send(2)` without `SIGPIPE`; a zero-byte read means the peer closed.
        case socket
    }

    let endpoint: String
    let kind: Kind
    /// The descriptor, nil once closed.
    private let descriptor: Mutex<Int32?>

    /// Adopts `fd`, which must already be non-blocking; `close()` closes it.
    init(fd: Int32, endpoint: String, kind: Kind) {
        self.endpoint = endpoint
        self.kind = kind
        descriptor = Mutex(fd)
    }

    deinit {
        descriptor.withLock { fd in
            if let d = fd { _ = closeDescriptor(d) }
            fd = nil
        }
    }

    /// The result of one non-blocking attempt.
    private enum Attempt {
        case done(Int)
        case bytes([UInt8])
        case wouldBlock
        case closed
        case disconnected(String)
        case failed(Int32)
    }

    /// Whether the descriptor is still open on this side.
    var isOpen: Bool { descriptor.withLock { $0 != nil } }

    func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let start = ContinuousClock.now
        func context() -> TransportErrorContext {
            TransportErrorContext(
                endpoint: endpoint, operation: .read, timeout: timeout, elapsed: ContinuousClock.now - start)
        }
        if maxCount < 1 { throw .invalidArgument(context(), reason: "maxCount must be at least 1, not \(maxCount)") }
        if timeout < .zero { throw .invalidArgument(context(), reason: "the timeout must not be negative") }
        let deadline = start + timeout
        var backoff = PollBackoff()
        while true {
            switch attemptRead(maxCount: maxCount) {
            case .bytes(let b): return b
            case .closed: throw .closed(context())
            case .disconnected(let reason): throw .disconnected(context(), reason: reason)
            case .failed(let e): throw .io(context(), errno: e, message: POSIX.message(e))
            case .wouldBlock, .done: break
            }
            if Task.isCancelled { throw .cancelled(context()) }
            if ContinuousClock.now >= deadline { throw .timeout(context()) }
            if !(await backoff.pause(until: deadline)) { throw .cancelled(context()) }
        }
    }

    func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        let start = ContinuousClock.now
        var sent = 0
        func context() -> TransportErrorContext {
            TransportErrorContext(
                endpoint: endpoint, operation: .write, timeout: timeout, elapsed: ContinuousClock.now - start,
                bytesTransferred: sent)
        }
        if timeout < .zero { throw .invalidArgument(context(), reason: "the timeout must not be negative") }
        if bytes.isEmpty {
            if !isOpen { throw .closed(context()) }
            return
        }
        let deadline = start + timeout
        var backoff = PollBackoff()
        while sent < bytes.count {
            switch attemptWrite(bytes, from: sent) {
            case .done(let n):
                sent += n
                if n > 0 {
                    backoff = PollBackoff()
                    continue
                }
            case .closed: throw .closed(context())
            case .disconnected(let reason): throw .disconnected(context(), reason: reason)
            case .failed(let e): throw .io(context(), errno: e, message: POSIX.message(e))
            case .wouldBlock, .bytes: break
            }
            if Task.isCancelled { throw .cancelled(context()) }
            if ContinuousClock.now >= deadline { throw .timeout(context()) }
            if !(await backoff.pause(until: deadline)) { throw .cancelled(context()) }
        }
    }

    /// Closes the descriptor; later calls throw `.closed`, waiting calls see it at their next attempt.
    func close() {
        descriptor.withLock { fd in
            if let d = fd { _ = closeDescriptor(d) }
            fd = nil
        }
    }

    /// Runs `body` with the open descriptor under the lock; nil when closed.
    func withDescriptor<R: Sendable>(_ body: (Int32) -> R) -> R? {
        descriptor.withLock { fd -> R? in
            guard let fd else { return nil }
            return body(fd)
        }
    }

    private func attemptRead(maxCount: Int) -> Attempt {
        descriptor.withLock { fd -> Attempt in
            guard let fd else { return .closed }
            let (ready, revents, pollError) = POSIX.poll(fd, events: Int16(POLLIN))
            if let e = pollError { return .failed(e) }
            if !ready { return .wouldBlock }
            if revents & Int16(POLLNVAL) != 0 { return .failed(EBADF) }
            var buffer = [UInt8](repeating: 0, count: maxCount)
            let n = buffer.withUnsafeMutableBytes { raw in
                #if canImport(Glibc)
                    Glibc.read(fd, raw.baseAddress, maxCount)
                #else
                    Darwin.read(fd, raw.baseAddress, maxCount)
                #endif
            }
            if n > 0 {
                buffer.removeSubrange(n...)
                return .bytes(buffer)
            }
            if n == 0 {
                return .disconnected(kind == .socket ? "the peer closed the connection" : "end of file on the terminal")
            }
            let e = POSIX.errno
            switch e {
            case EAGAIN, EWOULDBLOCK, EINTR:
                if revents & Int16(POLLHUP) != 0 { return .disconnected(hangUpReason) }
                return .wouldBlock
            case EIO: return .disconnected(kind == .socket ? "I/O error (errno \(EIO))" : hangUpReason + " (EIO)")
            case ECONNRESET: return .disconnected("the peer reset the connection (ECONNRESET)")
            default: return .failed(e)
            }
        }
    }

    private func attemptWrite(_ bytes: [UInt8], from offset: Int) -> Attempt {
        descriptor.withLock { fd -> Attempt in
            guard let fd else { return .closed }
            let (ready, revents, pollError) = POSIX.poll(fd, events: Int16(POLLOUT))
            if let e = pollError { return .failed(e) }
            if !ready { return .wouldBlock }
            if revents & Int16(POLLNVAL) != 0 { return .failed(EBADF) }
            if revents & Int16(POLLHUP) != 0 && revents & Int16(POLLOUT) == 0 { return .disconnected(hangUpReason) }
            let n = bytes.withUnsafeBytes { raw -> Int in
                let p = raw.baseAddress! + offset
                let count = raw.count - offset
                switch kind {
                case .terminal:
                    #if canImport(Glibc)
                        return Glibc.write(fd, p, count)
                    #else
                        return Darwin.write(fd, p, count)
                    #endif
                case .socket:
                    #if os(Linux)
                        return send(fd, p, count, Int32(MSG_NOSIGNAL))
                    #else
                        return send(fd, p, count, 0)
                    #endif
                }
            }
            if n >= 0 { return .done(n) }
            let e = POSIX.errno
            switch e {
            case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
            case EPIPE: return .disconnected(kind == .socket ? "the peer closed the connection (EPIPE)" : hangUpReason)
            case EIO: return .disconnected(hangUpReason + " (EIO)")
            case ECONNRESET: return .disconnected("the peer reset the connection (ECONNRESET)")
            default: return .failed(e)
            }
        }
    }

    private var hangUpReason: String {
        kind == .socket ? "the connection was hung up" : "the other side of the terminal hung up"
    }
}

/// `close(2)`, named apart from the `close()` methods of the transports.
func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.close(fd)
    #else
        Darwin.close(fd)
    #endif
}
