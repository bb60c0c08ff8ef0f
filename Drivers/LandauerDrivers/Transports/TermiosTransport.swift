#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A transport over any terminal device path through POSIX termios: pseudo-terminals (which
/// libserialport refuses), USB CDC-ACM ports, on-board UARTs.
///
/// The path is opened with `O_NOCTTY | O_NONBLOCK` and put in raw mode (`cfmakeraw`: no echo, no
/// line editing, no translation of bytes, 8 data bits), with the receiver enabled and modem lines
/// ignored. Reads and writes never block a thread: each attempt is a zero-timeout `poll` and one
/// non-blocking system call, and the task sleeps between attempts with a short back-off (at most
/// 2 ms) until the call's timeout. When the other side goes away (the master of a pseudo-terminal
/// is closed, a USB port unplugged), reads and writes throw `.disconnected`.
///
/// ```swift
/// let link = try TermiosTransport(path: "/dev/ttyACM0", baudRate: 115_200)
/// let board = BoardClient(transport: link)
/// ```
public final class TermiosTransport: Transport {
    /// `tty:` followed by the device path, or the name given when a descriptor was adopted.
    public let endpoint: String
    /// The device path, nil for an adopted descriptor.
    public let path: String?
    private let stream: FileDescriptorStream

    /// Opens `path` in raw mode, at `baudRate` when given (ptys ignore the rate).
    ///
    /// - Throws: `.openFailed` with errno when the path cannot be opened or is not a terminal,
    ///   `.invalidArgument` for a baud rate termios has no constant for.
    public init(path: String, baudRate: Int? = nil) throws(TransportError) {
        let endpoint = "tty:\(path)"
        let context = TransportErrorContext(endpoint: endpoint, operation: .open)
        var speed: speed_t?
        if let baudRate {
            guard let s = Self.speed(for: baudRate) else {
                throw .invalidArgument(
                    TransportErrorContext(endpoint: endpoint, operation: .configure),
                    reason: "termios has no constant for \(baudRate) baud; use a standard rate (9600 … 4000000)")
            }
            speed = s
        }
        let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let e = POSIX.errno
            throw .openFailed(context, errno: e, reason: POSIX.message(e))
        }
        if let failure = Self.configureRaw(fd, speed: speed) {
            _ = closeDescriptor(fd)
            throw .openFailed(context, errno: failure.errno, reason: failure.what)
        }
        self.endpoint = endpoint
        self.path = path
        stream = FileDescriptorStream(fd: fd, endpoint: endpoint, kind: .terminal)
    }

    /// Adopts an open terminal descriptor, such as the master of a `PseudoTerminalPair`, and owns it
    /// from now on (`close()` closes it). The descriptor is made non-blocking; its termios settings
    /// are left as they are.
    public init(adopting fd: Int32, endpoint: String) {
        _ = POSIX.makeNonBlocking(fd)
        self.endpoint = endpoint
        path = nil
        stream = FileDescriptorStream(fd: fd, endpoint: endpoint, kind: .terminal)
    }

    /// Writes all of `bytes` within `timeout`; see `Transport.write`.
    public func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        try await stream.write(bytes, timeout: timeout)
    }

    /// Reads 1…`maxCount` bytes, waiting up to `timeout` for the first; see `Transport.read`.
    public func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        try await stream.read(maxCount: maxCount, timeout: timeout)
    }

    /// Closes the descriptor. Closing twice is harmless.
    public func close() async {
        stream.close()
    }

    /// Discards bytes received and not read, and bytes written and not yet sent (`tcflush`).
    public func discardBuffers() throws(TransportError) {
        let result = stream.withDescriptor { fd in tcflush(fd, TCIOFLUSH) == 0 ? nil : POSIX.errno }
        let context = TransportErrorContext(endpoint: endpoint, operation: .configure)
        switch result {
        case nil: throw .closed(context)
        case .some(nil): return
        case .some(.some(let e)): throw .io(context, errno: e, message: "tcflush: \(POSIX.message(e))")
        }
    }

    /// Puts `fd` in raw mode at `speed`; the failing call and errno, or nil.
    static func configureRaw(_ fd: Int32, speed: speed_t?) -> (what: String, errno: Int32)? {
        var t = termios()
        if tcgetattr(fd, &t) != 0 {
            let e = POSIX.errno
            return ("not a terminal (tcgetattr: \(POSIX.message(e)))", e)
        }
        cfmakeraw(&t)
        t.c_cflag |= tcflag_t(CLOCAL | CREAD)
        // VMIN 0 / VTIME 0: a read returns whatever is there; the waiting is done by poll.
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        if let speed {
            if cfsetispeed(&t, speed) != 0 || cfsetospeed(&t, speed) != 0 {
                let e = POSIX.errno
                return ("cannot set the baud rate (\(POSIX.message(e)))", e)
            }
        }
        if tcsetattr(fd, TCSANOW, &t) != 0 {
            let e = POSIX.errno
            return ("cannot set raw mode (tcsetattr: \(POSIX.message(e)))", e)
        }
        return nil
    }

    /// The termios constant for a baud rate, nil when there is none.
    static func speed(for baud: Int) -> speed_t? {
        let table: [(Int, speed_t)] = [
            (1200, speed_t(B1200)), (2400, speed_t(B2400)), (4800, speed_t(B4800)), (9600, speed_t(B9600)),
            (19_200, speed_t(B19200)), (38_400, speed_t(B38400)), (57_600, speed_t(B57600)),
            (115_200, speed_t(B115200)), (230_400, speed_t(B230400)),
        ]
        #if os(Linux)
            let high: [(Int, speed_t)] = [
                (460_800, speed_t(B460800)), (921_600, speed_t(B921600)), (1_000_000, speed_t(B1000000)),
                (2_000_000, speed_t(B2000000)), (3_000_000, speed_t(B3000000)), (4_000_000, speed_t(B4000000)),
            ]
        #else
            let high: [(Int, speed_t)] = []
        #endif
        return (table + high).first { $0.0 == baud }?.1
    }
}
