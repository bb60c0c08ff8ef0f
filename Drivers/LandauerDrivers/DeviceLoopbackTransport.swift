import Synchronization

/// A transport whose far end is a synchronous function from the bytes written to the bytes
/// answered: a virtual device running in the same process.
///
/// Each `write` calls the handler once, on the writing task, under a lock, and buffers what it
/// returns; `read` returns buffered bytes without suspending. So an exchange of one request frame
/// and one response frame costs two lock acquisitions and no task switches, which is what lets
/// a lockstep virtual bench run at the speed of the device model.
///
/// The handler must not call back into this transport (the lock is not recursive). It sees the
/// bytes exactly as written, in pieces the writer chose; a device model usually feeds them to a
/// frame splitter, as the real firmware does with its UART.
///
/// A read that finds no bytes can only be satisfied by a concurrent write from another task;
/// `IdleReads` chooses whether it waits for that up to its timeout (the honest behaviour of a
/// link, the default) or throws `.timeout` at once (for virtual-time runs where waiting in real
/// time would only slow the run down).
///
/// Serving a firmware engine in process:
/// ```swift
/// let engine = Mutex(FirmwareEngine(frontEnd: virtualFrontEnd))
/// let link = DeviceLoopbackTransport(endpoint: "sim:board") { bytes in
///     engine.withLock { e in
///         var out: [UInt8] = []
///         e.receive(bytes) { out += $0 }
///         return out
///     }
/// }
/// let board = BoardClient(transport: link)
/// ```
public final class DeviceLoopbackTransport: Transport {
    /// The far end: bytes written in, bytes answered out (empty when there is nothing to say).
    public typealias Handler = @Sendable ([UInt8]) -> [UInt8]

    /// What a read does when no bytes are buffered.
    public enum IdleReads: Sendable, Equatable {
        /// Wait up to the read's timeout for a concurrent write to produce bytes.
        case waitForTimeout
        /// Throw `.timeout` at once, with zero elapsed time.
        case failImmediately
    }

    /// The name given to the far end, e.g. `sim:board`.
    public let endpoint: String
    /// What reads do when no bytes are buffered.
    public let idleReads: IdleReads
    private let handler: Handler
    private let inbox = ByteQueue()
    /// Serialises handler calls and guards the closed flag.
    private let gate = Mutex(false)

    /// Creates a loopback to `handler`, described as `endpoint`.
    public init(endpoint: String = "loopback", idleReads: IdleReads = .waitForTimeout, handler: @escaping Handler) {
        self.endpoint = endpoint
        self.idleReads = idleReads
        self.handler = handler
    }

    /// Bytes answered by the far end and not read yet.
    public var bufferedCount: Int { inbox.count }

    /// Passes `bytes` to the handler and buffers its answer. Never waits for the timeout.
    public func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        let open = gate.withLock { closed -> Bool in
            if closed { return false }
            let answer = handler(bytes)
            if !answer.isEmpty { inbox.push(answer) }
            return true
        }
        if !open { throw .closed(TransportErrorContext(endpoint: endpoint, operation: .write, timeout: timeout)) }
    }

    /// Returns up to `maxCount` answered bytes; see `IdleReads` for what happens when there are none.
    public func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let start = ContinuousClock.now
        if maxCount < 1 {
            throw .invalidArgument(
                TransportErrorContext(endpoint: endpoint, operation: .read, timeout: timeout),
                reason: "maxCount must be at least 1, not \(maxCount)")
        }
        let wait = idleReads == .waitForTimeout ? timeout : .zero
        switch await inbox.pop(maxCount: maxCount, timeout: wait) {
        case .success(let bytes): return bytes
        case .failure(let f): throw f.transportError(endpoint: endpoint, operation: .read, timeout: timeout, since: start)
        }
    }

    /// Closes the transport; the handler is not called again.
    public func close() async {
        gate.withLock { $0 = true }
        inbox.close()
    }
}
