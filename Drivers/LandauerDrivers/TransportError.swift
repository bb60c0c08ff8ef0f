/// The operation a transport was performing when it failed.
public enum TransportOperation: String, Sendable, CaseIterable {
    /// Opening or connecting to the endpoint.
    case open
    /// Reading bytes.
    case read
    /// Writing bytes.
    case write
    /// Changing settings (baud rate, timeouts, socket options).
    case configure
    /// Closing the endpoint.
    case close
}

/// Where and how a transport operation failed: the context every `TransportError` carries.
public struct TransportErrorContext: Sendable, Equatable {
    /// The endpoint, as the transport describes it (`Transport.endpoint`).
    public var endpoint: String
    /// What the transport was doing.
    public var operation: TransportOperation
    /// The time allowed for the operation, if it had one.
    public var timeout: Duration?
    /// Time spent in the operation before it failed.
    public var elapsed: Duration
    /// Bytes moved by the operation before it failed (sent for a write, received for a read).
    public var bytesTransferred: Int

    /// Creates a context.
    public init(
        endpoint: String, operation: TransportOperation, timeout: Duration? = nil, elapsed: Duration = .zero,
        bytesTransferred: Int = 0
    ) {
        self.endpoint = endpoint
        self.operation = operation
        self.timeout = timeout
        self.elapsed = elapsed
        self.bytesTransferred = bytesTransferred
    }
}

/// Why a transport operation failed. Every case carries the endpoint, the operation, the time spent
/// and the bytes moved; `description` says what happened and what to check.
///
/// Match on the case to decide what to do: `.timeout` is worth a retry, `.disconnected` and `.io`
/// call for a reconnect, `.closed` and `.cancelled` for stopping.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing (or not everything) could be moved before the timeout.
    case timeout(TransportErrorContext)
    /// This side closed the transport; it cannot be used again.
    case closed(TransportErrorContext)
    /// The far end went away: cable pulled, device reset or re-enumerated, peer closed the socket.
    case disconnected(TransportErrorContext, reason: String)
    /// The operating system reported an error (`errno` and its text).
    case io(TransportErrorContext, errno: Int32, message: String)
    /// The endpoint could not be opened or connected (`errno` when the system gave one).
    case openFailed(TransportErrorContext, errno: Int32?, reason: String)
    /// The waiting task was cancelled; the transport is still usable.
    case cancelled(TransportErrorContext)
    /// The call asked for something the transport cannot do (a bad count, an unsupported setting).
    case invalidArgument(TransportErrorContext, reason: String)

    /// The context of the failure.
    public var context: TransportErrorContext {
        switch self {
        case .timeout(let c), .closed(let c), .cancelled(let c): c
        case .disconnected(let c, _), .io(let c, _, _), .openFailed(let c, _, _), .invalidArgument(let c, _): c
        }
    }

    /// True for failures after which the link may work again once it is reopened
    /// (`.disconnected`, `.io`); false for timeouts, closing, cancellation and misuse.
    public var suggestsReconnect: Bool {
        switch self {
        case .disconnected, .io: true
        default: false
        }
    }

    /// A sentence a person can act on, with the endpoint, timing and bytes moved.
    public var description: String {
        let c = context
        let what = "\(c.operation.rawValue) on \(c.endpoint)"
        let moved = Self.moved(c)
        switch self {
        case .timeout:
            let limit = c.timeout.map { " of \(DurationText.format($0))" } ?? ""
            return "\(what) timed out after \(DurationText.format(c.elapsed)) (timeout\(limit)), \(moved): "
                + "check that the device is powered, connected and answering, and that the endpoint is the right one"
        case .closed:
            return "\(what) failed: the transport was already closed by this program (\(moved)); open a new connection"
        case .disconnected(_, let reason):
            return "\(what) failed after \(DurationText.format(c.elapsed)): the device disconnected (\(reason)), \(moved); "
                + "check the cable and power, then reconnect"
        case .io(_, let errno, let message):
            return "\(what) failed after \(DurationText.format(c.elapsed)): \(message) (errno \(errno)), \(moved)"
        case .openFailed(_, let errno, let reason):
            let code = errno.map { " (errno \($0))" } ?? ""
            return "cannot open \(c.endpoint): \(reason)\(code); check the name, that the device is attached, "
                + "and that this user may access it"
        case .cancelled:
            return "\(what) was cancelled after \(DurationText.format(c.elapsed)), \(moved)"
        case .invalidArgument(_, let reason):
            return "\(what) was refused: \(reason)"
        }
    }

    private static func moved(_ c: TransportErrorContext) -> String {
        let noun = c.bytesTransferred == 1 ? "byte" : "bytes"
        switch c.operation {
        case .write: return "\(c.bytesTransferred) \(noun) sent"
        case .read: return "\(c.bytesTransferred) \(noun) received"
        default: return "\(c.bytesTransferred) \(noun) moved"
        }
    }
}
