/// A connected pair of in-memory transports: what one end writes, the other reads.
///
/// For tests and for running a device model in the same process: give `host` to the driver and
/// serve `device` from a task that plays the instrument. Buffers are unbounded, so writes never
/// wait; reads wait up to their timeout for the first byte. Closing either end makes the other
/// end's reads drain what is buffered and then throw `.disconnected`, and its writes throw
/// `.disconnected` at once.
public struct InMemoryPipe: Sendable {
    /// The end a driver uses.
    public let host: InMemoryTransport
    /// The end a device model serves.
    public let device: InMemoryTransport

    /// Creates a connected pair whose ends describe themselves with the given endpoint names.
    public init(hostEndpoint: String = "memory:host", deviceEndpoint: String = "memory:device") {
        let toDevice = ByteQueue()
        let toHost = ByteQueue()
        host = InMemoryTransport(endpoint: hostEndpoint, inbox: toHost, outbox: toDevice)
        device = InMemoryTransport(endpoint: deviceEndpoint, inbox: toDevice, outbox: toHost)
    }
}

/// One end of an `InMemoryPipe`.
public final class InMemoryTransport: Transport {
    /// The name given to this end when the pipe was made.
    public let endpoint: String
    private let inbox: ByteQueue
    private let outbox: ByteQueue

    init(endpoint: String, inbox: ByteQueue, outbox: ByteQueue) {
        self.endpoint = endpoint
        self.inbox = inbox
        self.outbox = outbox
    }

    /// Bytes that arrived at this end and have not been read yet.
    public var bufferedCount: Int { inbox.count }

    /// Hands `bytes` to the other end at once; the timeout never expires because buffers are unbounded.
    public func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        let context = TransportErrorContext(endpoint: endpoint, operation: .write, timeout: timeout)
        if inbox.isClosed { throw .closed(context) }
        if !outbox.push(bytes) { throw .disconnected(context, reason: "the other end of the in-memory pipe was closed") }
    }

    /// Reads 1…`maxCount` bytes written by the other end, waiting up to `timeout` for the first.
    public func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let start = ContinuousClock.now
        if maxCount < 1 {
            throw .invalidArgument(
                TransportErrorContext(endpoint: endpoint, operation: .read, timeout: timeout),
                reason: "maxCount must be at least 1, not \(maxCount)")
        }
        let result = await inbox.pop(maxCount: maxCount, timeout: timeout)
        switch result {
        case .success(let bytes): return bytes
        case .failure(let f): throw f.transportError(endpoint: endpoint, operation: .read, timeout: timeout, since: start)
        }
    }

    /// Closes this end; the other end sees a disconnection.
    public func close() async {
        inbox.close()
        outbox.producerClosed(reason: "the other end of the in-memory pipe was closed")
    }
}

extension ByteQueue.Failure {
    /// The transport error for a read that ended this way.
    func transportError(
        endpoint: String, operation: TransportOperation, timeout: Duration, since start: ContinuousClock.Instant
    ) -> TransportError {
        let context = TransportErrorContext(
            endpoint: endpoint, operation: operation, timeout: timeout, elapsed: ContinuousClock.now - start)
        switch self {
        case .timeout: return .timeout(context)
        case .closed: return .closed(context)
        case .disconnected(let reason): return .disconnected(context, reason: reason)
        case .cancelled: return .cancelled(context)
        }
    }
}
