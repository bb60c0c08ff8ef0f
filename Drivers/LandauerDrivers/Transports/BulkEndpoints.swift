import Synchronization

/// The setup of a USB control transfer (the 8-byte SETUP packet without its length).
public struct USBControlSetup: Sendable, Equatable {
    /// bmRequestType: direction, type and recipient (0xA1 class-to-interface IN, 0xA2 class-to-endpoint IN).
    public var requestType: UInt8
    /// bRequest.
    public var request: UInt8
    /// wValue.
    public var value: UInt16
    /// wIndex: the interface or endpoint addressed.
    public var index: UInt16

    /// Creates a setup packet.
    public init(requestType: UInt8, request: UInt8, value: UInt16, index: UInt16) {
        self.requestType = requestType
        self.request = request
        self.value = value
        self.index = index
    }
}

/// One USB interface's bulk-IN and bulk-OUT endpoints plus the default control endpoint: the
/// boundary USBTMC and other bulk protocols are written against, so they run over libusb
/// (`LibUSBBulkEndpoints`) and over memory (`InMemoryBulkPair`) alike.
///
/// Every call has a timeout and throws `TransportError`. A bulk-IN call returns one transfer:
/// what the device sent up to and including a short packet, at most `maxLength` bytes.
public protocol BulkEndpoints: Sendable {
    /// A readable name of the device, such as `usb:0957:1a07:MY123`.
    var endpoint: String { get }
    /// The interface number (wIndex of class requests to the interface).
    var interfaceNumber: UInt8 { get }
    /// The bulk-OUT endpoint address (0x01…0x0F).
    var bulkOutAddress: UInt8 { get }
    /// The bulk-IN endpoint address (0x81…0x8F).
    var bulkInAddress: UInt8 { get }
    /// The bulk endpoints' wMaxPacketSize (64 at full speed, 512 at high speed).
    var maxPacketSize: Int { get }

    /// Sends `bytes` as one bulk-OUT transfer.
    func bulkOut(_ bytes: [UInt8], timeout: Duration) async throws(TransportError)
    /// Receives one bulk-IN transfer of at most `maxLength` bytes.
    func bulkIn(maxLength: Int, timeout: Duration) async throws(TransportError) -> [UInt8]
    /// Performs an IN control transfer and returns the data stage (at most `length` bytes).
    func controlIn(_ setup: USBControlSetup, length: Int, timeout: Duration) async throws(TransportError) -> [UInt8]
    /// Clears a halt (stall) condition on an endpoint (CLEAR_FEATURE(ENDPOINT_HALT)).
    func clearHalt(endpointAddress: UInt8, timeout: Duration) async throws(TransportError)
    /// Releases the interface and closes the device. Closing twice is harmless.
    func close() async
}

/// A connected pair of in-memory bulk endpoints: `host` is what a USBTMC session uses, `device`
/// is served by a test or a virtual instrument, which sees each bulk-OUT transfer whole, queues
/// bulk-IN transfers, and answers control requests through a handler.
public struct InMemoryBulkPair: Sendable {
    /// The host's side.
    public let host: InMemoryBulkEndpoints
    /// The device's side.
    public let device: InMemoryBulkDevice

    /// Creates a pair; `control` answers the host's control requests (return the data stage).
    public init(
        endpoint: String = "usb-memory", interfaceNumber: UInt8 = 0, bulkOutAddress: UInt8 = 0x02,
        bulkInAddress: UInt8 = 0x86, maxPacketSize: Int = 512,
        control: @escaping @Sendable (USBControlSetup, Int) -> [UInt8]
    ) {
        let shared = InMemoryBulkState(control: control)
        host = InMemoryBulkEndpoints(
            endpoint: endpoint, interfaceNumber: interfaceNumber, bulkOutAddress: bulkOutAddress,
            bulkInAddress: bulkInAddress, maxPacketSize: maxPacketSize, state: shared)
        device = InMemoryBulkDevice(state: shared, endpoint: endpoint + ":device")
    }
}

/// The shared queues of an in-memory pair.
final class InMemoryBulkState: Sendable {
    struct Queues {
        var out: [[UInt8]] = []
        var `in`: [[UInt8]] = []
        var clearedHalts: [UInt8] = []
        var controlLog: [USBControlSetup] = []
        var closed = false
    }
    let queues = Mutex(Queues())
    let control: @Sendable (USBControlSetup, Int) -> [UInt8]

    init(control: @escaping @Sendable (USBControlSetup, Int) -> [UInt8]) { self.control = control }

    /// Takes the first transfer of a queue, waiting with short sleeps up to `timeout`.
    func take(
        _ pick: @escaping @Sendable (inout Queues) -> [UInt8]?, endpoint: String, operation: TransportOperation,
        timeout: Duration
    ) async throws(TransportError) -> [UInt8] {
        let start = ContinuousClock.now
        let deadline = start + timeout
        var backoff = PollBackoff()
        func context() -> TransportErrorContext {
            TransportErrorContext(endpoint: endpoint, operation: operation, timeout: timeout, elapsed: ContinuousClock.now - start)
        }
        while true {
            let (closed, got) = queues.withLock { q in (q.closed, q.closed ? nil : pick(&q)) }
            if closed { throw .closed(context()) }
            if let got { return got }
            if Task.isCancelled { throw .cancelled(context()) }
            if ContinuousClock.now >= deadline { throw .timeout(context()) }
            if !(await backoff.pause(until: deadline)) { throw .cancelled(context()) }
        }
    }
}

/// The host side of an `InMemoryBulkPair`.
public final class InMemoryBulkEndpoints: BulkEndpoints {
    /// The name given to the pair.
    public let endpoint: String
    /// The interface number reported to the session.
    public let interfaceNumber: UInt8
    /// The bulk-OUT endpoint address.
    public let bulkOutAddress: UInt8
    /// The bulk-IN endpoint address.
    public let bulkInAddress: UInt8
    /// The packet size reported to the session.
    public let maxPacketSize: Int
    private let state: InMemoryBulkState

    init(
        endpoint: String, interfaceNumber: UInt8, bulkOutAddress: UInt8, bulkInAddress: UInt8, maxPacketSize: Int,
        state: InMemoryBulkState
    ) {
        self.endpoint = endpoint
        self.interfaceNumber = interfaceNumber
        self.bulkOutAddress = bulkOutAddress
        self.bulkInAddress = bulkInAddress
        self.maxPacketSize = maxPacketSize
        self.state = state
    }

    /// Queues `bytes` as one transfer for the device.
    public func bulkOut(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        let closed = state.queues.withLock { q in
            if !q.closed { q.out.append(bytes) }
            return q.closed
        }
        if closed { throw .closed(TransportErrorContext(endpoint: endpoint, operation: .write, timeout: timeout)) }
    }

    /// Returns the device's next transfer (its first `maxLength` bytes; the rest stays queued).
    public func bulkIn(maxLength: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        if maxLength < 1 {
            throw .invalidArgument(
                TransportErrorContext(endpoint: endpoint, operation: .read, timeout: timeout),
                reason: "maxLength must be at least 1, not \(maxLength)")
        }
        return try await state.take(
            { q in
                guard !q.in.isEmpty else { return nil }
                if q.in[0].count <= maxLength { return q.in.removeFirst() }
                let head = Array(q.in[0].prefix(maxLength))
                q.in[0].removeFirst(maxLength)
                return head
            }, endpoint: endpoint, operation: .read, timeout: timeout)
    }

    /// Answers through the pair's control handler, recording the request.
    public func controlIn(_ setup: USBControlSetup, length: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let closed = state.queues.withLock { q in
            if !q.closed { q.controlLog.append(setup) }
            return q.closed
        }
        if closed { throw .closed(TransportErrorContext(endpoint: endpoint, operation: .read, timeout: timeout)) }
        return Array(state.control(setup, length).prefix(length))
    }

    /// Records the cleared halt, for the device side to inspect.
    public func clearHalt(endpointAddress: UInt8, timeout: Duration) async throws(TransportError) {
        state.queues.withLock { $0.clearedHalts.append(endpointAddress) }
    }

    /// Closes the pair: both sides' later calls throw `.closed`.
    public func close() async {
        state.queues.withLock { $0.closed = true }
    }
}

/// The device side of an `InMemoryBulkPair`.
public final class InMemoryBulkDevice: Sendable {
    private let state: InMemoryBulkState
    private let endpoint: String

    init(state: InMemoryBulkState, endpoint: String) {
        self.state = state
        self.endpoint = endpoint
    }

    /// The host's next bulk-OUT transfer, waiting up to `timeout`.
    public func receive(timeout: Duration) async throws(TransportError) -> [UInt8] {
        try await state.take(
            { q in q.out.isEmpty ? nil : q.out.removeFirst() }, endpoint: endpoint, operation: .read, timeout: timeout)
    }

    /// Queues one bulk-IN transfer for the host.
    public func send(_ transfer: [UInt8]) {
        state.queues.withLock { $0.in.append(transfer) }
    }

    /// Drops every queued bulk-IN transfer (what a device does when a transfer is aborted); returns how many.
    @discardableResult
    public func discardPendingIn() -> Int {
        state.queues.withLock { q in
            let n = q.in.count
            q.in.removeAll()
            return n
        }
    }

    /// Bulk-IN transfers queued and not yet taken by the host.
    public var pendingInCount: Int { state.queues.withLock { $0.in.count } }

    /// The endpoints whose halt the host cleared, in order.
    public var clearedHalts: [UInt8] { state.queues.withLock { $0.clearedHalts } }

    /// The control requests the host made, in order.
    public var controlRequests: [USBControlSetup] { state.queues.withLock { $0.controlLog } }
}
