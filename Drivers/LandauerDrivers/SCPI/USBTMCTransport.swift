/// A `Transport` over a USBTMC session, so SCPI clients speak to USB instruments the way they
/// speak to sockets and serial lines: a write is one USBTMC message, a read requests one
/// response message (`REQUEST_DEV_DEP_MSG_IN`). Read only after a query, as USBTMC requires.
public final class USBTMCTransport: Transport {
    /// The session underneath.
    public let session: USBTMCSession
    /// The instrument, e.g. `usbtmc:0x0957:0x1A07:MY123`.
    public let endpoint: String

    /// Wraps `session`.
    public init(session: USBTMCSession, endpoint: String) {
        self.session = session
        self.endpoint = endpoint
    }

    func mapped(_ e: USBTMCError, _ operation: TransportOperation, _ timeout: Duration) -> TransportError {
        if case .transport(let t) = e { return t }
        return .io(TransportErrorContext(endpoint: endpoint, operation: operation, timeout: timeout), errno: 0, message: e.description)
    }

    public func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        await session.setTimeout(timeout)
        do { try await session.write(bytes) } catch { throw mapped(error, .write, timeout) }
    }

    public func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        await session.setTimeout(timeout)
        do { return try await session.read(maxLength: maxCount) } catch { throw mapped(error, .read, timeout) }
    }

    public func close() async { await session.close() }
}
