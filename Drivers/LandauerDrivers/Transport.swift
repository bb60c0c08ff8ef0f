// The byte boundary of every device session: board, power meter or instrument protocols sit above
// it, and serial ports, USB endpoints, TCP sockets, pseudo-terminals and in-memory pipes below.

/// A bidirectional byte stream to one device, with an explicit timeout on every call.
///
/// Conformers are reference types or actors that serialise their own state; device protocols
/// (the board client, meter drivers) hold one transport per session and never learn which kind
/// it is. A transport moves bytes only: it does not frame, retry or interpret them.
///
/// Every failure is a `TransportError` that names the endpoint, the operation, the time spent and
/// the bytes moved, so a person reading it can tell a dead cable from a slow device.
///
/// Conformers that wait in blocking system calls (`poll`, `read` on a tty, libusb transfers)
/// should do so off Swift's cooperative thread pool, e.g. on a thread of their own, so a slow
/// device cannot stall other tasks; the in-memory transports never block.
public protocol Transport: Sendable {
    /// A human-readable name of the far end, such as `serial:/dev/ttyACM0` or `tcp:192.0.2.10:5025`.
    var endpoint: String { get }

    /// Writes all of `bytes`, or throws.
    ///
    /// - Parameters:
    ///   - bytes: The bytes to send, in order.
    ///   - timeout: The longest the call may take; a write that cannot finish in time throws
    ///     `.timeout` with the number of bytes already sent.
    /// - Throws: `.timeout`, `.closed` after `close()`, `.disconnected` when the far end went away,
    ///   `.io` for an operating-system error, `.cancelled` when the calling task was cancelled.
    func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError)

    /// Reads whatever has arrived, at least one byte and at most `maxCount`.
    ///
    /// Returns as soon as any byte is available; waits up to `timeout` for the first one.
    /// - Throws: `.timeout` when no byte arrived in time (nothing is lost: bytes arriving later are
    ///   returned by the next read), `.closed`, `.disconnected`, `.io` or `.cancelled`.
    func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8]

    /// Closes the transport. Later calls throw `.closed`; a read waiting now is woken with `.closed`.
    /// Closing twice is harmless.
    func close() async
}
