import CLibSerialPort
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A transport over a real serial port through libserialport: USB CDC-ACM boards, FTDI and
/// CP210x adapters, on-board UARTs. (For pseudo-terminals, which libserialport 0.1.1 refuses,
/// use `TermiosTransport`.)
///
/// Reads and writes use `sp_nonblocking_read` and `sp_nonblocking_write`; the waiting between
/// attempts is a zero-timeout `poll` on the port's descriptor and a short `Task.sleep` (at most
/// 2 ms), so no thread of Swift's cooperative pool blocks in the kernel while a device is slow.
/// (`sp_blocking_read` with a millisecond timeout would hold a pool thread for the whole wait.)
///
/// ```swift
/// let port = try SerialPortTransport(path: "/dev/ttyACM0", settings: SerialSettings(baudRate: 115_200))
/// ```
public final class SerialPortTransport: Transport {
    /// `serial:` followed by the port's path.
    public let endpoint: String
    /// The port's path, such as `/dev/ttyACM0`.
    public let path: String
    /// The settings applied when the port was opened.
    public let settings: SerialSettings

    /// The libserialport handle, nil once closed. `sp_port *` is not thread-safe; the lock
    /// serialises every call on it.
    private let port: Mutex<OpaquePointer?>

    /// Opens `path` for reading and writing and applies `settings`.
    ///
    /// - Throws: `.invalidArgument` for settings that cannot be applied, `.openFailed` with the
    ///   operating system's errno and libserialport's message when the port cannot be opened or
    ///   configured (missing device, permission denied, a pseudo-terminal).
    public init(path: String, settings: SerialSettings = SerialSettings()) throws(TransportError) {
        let endpoint = "serial:\(path)"
        let context = TransportErrorContext(endpoint: endpoint, operation: .open)
        if let problem = settings.problem {
            throw .invalidArgument(TransportErrorContext(endpoint: endpoint, operation: .configure), reason: problem)
        }
        var handle: OpaquePointer?
        let found = sp_get_port_by_name(path, &handle)
        guard found == SP_OK, let handle else {
            throw .openFailed(context, errno: Self.osErrno(found), reason: "no such serial port (\(Self.message(found)))")
        }
        let opened = sp_open(handle, SP_MODE_READ_WRITE)
        if opened != SP_OK {
            let e = Self.osErrno(opened)
            let m = Self.message(opened)
            sp_free_port(handle)
            throw .openFailed(context, errno: e, reason: m)
        }
        if let (call, result) = Self.apply(settings, to: handle) {
            let e = Self.osErrno(result)
            let m = Self.message(result)
            sp_close(handle)
            sp_free_port(handle)
            throw .openFailed(context, errno: e, reason: "\(call) (\(settings)): \(m)")
        }
        self.endpoint = endpoint
        self.path = path
        self.settings = settings
        port = Mutex(handle)
    }

    deinit {
        port.withLock { handle in
            if let h = handle {
                sp_close(h)
                sp_free_port(h)
            }
            handle = nil
        }
    }

    /// Applies every setting; the failing call and its result, or nil.
    private static func apply(_ s: SerialSettings, to handle: OpaquePointer) -> (String, sp_return)? {
        let parity: sp_parity
        switch s.parity {
        case .none: parity = SP_PARITY_NONE
        case .odd: parity = SP_PARITY_ODD
        case .even: parity = SP_PARITY_EVEN
        case .mark: parity = SP_PARITY_MARK
        case .space: parity = SP_PARITY_SPACE
        }
        let flow: sp_flowcontrol
        switch s.flowControl {
        case .none: flow = SP_FLOWCONTROL_NONE
        case .xonXoff: flow = SP_FLOWCONTROL_XONXOFF
        case .rtsCts: flow = SP_FLOWCONTROL_RTSCTS
        case .dtrDsr: flow = SP_FLOWCONTROL_DTRDSR
        }
        let steps: [(String, () -> sp_return)] = [
            ("sp_set_baudrate", { sp_set_baudrate(handle, Int32(clamping: s.baudRate)) }),
            ("sp_set_bits", { sp_set_bits(handle, Int32(s.dataBits)) }),
            ("sp_set_parity", { sp_set_parity(handle, parity) }),
            ("sp_set_stopbits", { sp_set_stopbits(handle, Int32(s.stopBits.rawValue)) }),
            ("sp_set_flowcontrol", { sp_set_flowcontrol(handle, flow) }),
        ]
        for (name, step) in steps {
            let r = step()
            if r != SP_OK { return (name, r) }
        }
        return nil
    }

    /// The result of one non-blocking attempt.
    private enum Attempt {
        case moved(Int, [UInt8])
        case wouldBlock
        case closed
        case disconnected(String)
        case failed(Int32, String)
    }

    /// Reads 1…`maxCount` bytes, waiting up to `timeout` for the first; see `Transport.read`.
    public func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let start = ContinuousClock.now
        func context() -> TransportErrorContext {
            TransportErrorContext(endpoint: endpoint, operation: .read, timeout: timeout, elapsed: ContinuousClock.now - start)
        }
        if maxCount < 1 { throw .invalidArgument(context(), reason: "maxCount must be at least 1, not \(maxCount)") }
        let deadline = start + timeout
        var backoff = PollBackoff()
        while true {
            switch attempt(reading: maxCount) {
            case .moved(_, let bytes): return bytes
            case .closed: throw .closed(context())
            case .disconnected(let reason): throw .disconnected(context(), reason: reason)
            case .failed(let e, let m): throw .io(context(), errno: e, message: m)
            case .wouldBlock: break
            }
            if Task.isCancelled { throw .cancelled(context()) }
            if ContinuousClock.now >= deadline { throw .timeout(context()) }
            if !(await backoff.pause(until: deadline)) { throw .cancelled(context()) }
        }
    }

    /// Writes all of `bytes` within `timeout`; see `Transport.write`.
    public func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        let start = ContinuousClock.now
        var sent = 0
        func context() -> TransportErrorContext {
            TransportErrorContext(
                endpoint: endpoint, operation: .write, timeout: timeout, elapsed: ContinuousClock.now - start,
                bytesTransferred: sent)
        }
        let deadline = start + timeout
        var backoff = PollBackoff()
        repeat {
            switch attempt(writing: bytes, from: sent) {
            case .moved(let n, _):
                sent += n
                if n > 0 { continue }
            case .closed: throw .closed(context())
            case .disconnected(let reason): throw .disconnected(context(), reason: reason)
            case .failed(let e, let m): throw .io(context(), errno: e, message: m)
            case .wouldBlock: break
            }
            if sent == bytes.count { break }
            if Task.isCancelled { throw .cancelled(context()) }
            if ContinuousClock.now >= deadline { throw .timeout(context()) }
            if !(await backoff.pause(until: deadline)) { throw .cancelled(context()) }
        } while sent < bytes.count
    }

    /// Closes the port. Closing twice is harmless.
    public func close() async {
        port.withLock { handle in
            if let h = handle {
                sp_close(h)
                sp_free_port(h)
            }
            handle = nil
        }
    }

    /// Discards bytes received and not read, and bytes written and not yet sent (`sp_flush`).
    public func discardBuffers() throws(TransportError) {
        let context = TransportErrorContext(endpoint: endpoint, operation: .configure)
        let result: sp_return? = port.withLock { handle in handle.map { sp_flush($0, SP_BUF_BOTH) } }
        guard let result else { throw .closed(context) }
        if result != SP_OK { throw .io(context, errno: Self.osErrno(result) ?? EIO, message: "sp_flush: \(Self.message(result))") }
    }

    private func attempt(reading maxCount: Int) -> Attempt {
        port.withLock { handle -> Attempt in
            guard let handle else { return .closed }
            switch Self.readiness(handle, events: Int16(POLLIN)) {
            case .notReady: return .wouldBlock
            case .failed(let e): return .failed(e, POSIX.message(e))
            case .ready(let hungUp):
                var buffer = [UInt8](repeating: 0, count: maxCount)
                let r = buffer.withUnsafeMutableBytes { sp_nonblocking_read(handle, $0.baseAddress, maxCount) }
                if r.rawValue > 0 {
                    buffer.removeSubrange(Int(r.rawValue)...)
                    return .moved(Int(r.rawValue), buffer)
                }
                if r.rawValue == 0 { return hungUp ? .disconnected("the port hung up (device unplugged or reset)") : .wouldBlock }
                return Self.failure(r)
            }
        }
    }

    private func attempt(writing bytes: [UInt8], from offset: Int) -> Attempt {
        port.withLock { handle -> Attempt in
            guard let handle else { return .closed }
            if offset == bytes.count { return .moved(0, []) }
            switch Self.readiness(handle, events: Int16(POLLOUT)) {
            case .notReady: return .wouldBlock
            case .failed(let e): return .failed(e, POSIX.message(e))
            case .ready(let hungUp):
                if hungUp { return .disconnected("the port hung up (device unplugged or reset)") }
                let r = bytes.withUnsafeBytes { sp_nonblocking_write(handle, $0.baseAddress! + offset, $0.count - offset) }
                if r.rawValue >= 0 { return r.rawValue == 0 ? .wouldBlock : .moved(Int(r.rawValue), []) }
                return Self.failure(r)
            }
        }
    }

    private enum Readiness {
        case ready(hungUp: Bool)
        case notReady
        case failed(Int32)
    }

    /// Polls the port's descriptor without waiting.
    private static func readiness(_ handle: OpaquePointer, events: Int16) -> Readiness {
        var fd: Int32 = -1
        if sp_get_port_handle(handle, &fd) != SP_OK || fd < 0 { return .ready(hungUp: false) }
        let (ready, revents, e) = POSIX.poll(fd, events: events)
        if let e { return .failed(e) }
        if !ready { return .notReady }
        if revents & Int16(POLLNVAL) != 0 { return .failed(EBADF) }
        return .ready(hungUp: revents & Int16(POLLHUP | POLLERR) != 0)
    }

    /// The attempt for a failed libserialport call.
    private static func failure(_ r: sp_return) -> Attempt {
        let e = osErrno(r) ?? EIO
        if r == SP_ERR_FAIL && (e == EIO || e == ENXIO || e == ENODEV) {
            return .disconnected("the device went away (\(POSIX.message(e)))")
        }
        if r == SP_ERR_FAIL && (e == EAGAIN || e == EINTR) { return .wouldBlock }
        return .failed(e, message(r))
    }

    /// The operating system's errno behind a failed call, when it was an OS failure.
    static func osErrno(_ r: sp_return) -> Int32? {
        r == SP_ERR_FAIL ? sp_last_error_code() : nil
    }

    /// A readable message for a libserialport result.
    static func message(_ r: sp_return) -> String {
        switch r {
        case SP_OK: return "success"
        case SP_ERR_ARG: return "invalid argument (SP_ERR_ARG)"
        case SP_ERR_MEM: return "out of memory (SP_ERR_MEM)"
        case SP_ERR_SUPP: return "not supported on this port or platform (SP_ERR_SUPP)"
        case SP_ERR_FAIL:
            guard let text = sp_last_error_message() else { return "system error (SP_ERR_FAIL)" }
            defer { sp_free_error_message(text) }
            return String(cString: text)
        default: return "libserialport error \(r.rawValue)"
        }
    }
}
