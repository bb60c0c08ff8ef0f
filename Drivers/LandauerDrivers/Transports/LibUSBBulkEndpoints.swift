import CLibUSB
import Dispatch
import Synchronization

/// A USB interface's bulk endpoints through libusb: the real-hardware side of `BulkEndpoints`,
/// used by `USBTMCSession` for instruments on USB.
///
/// libusb's synchronous transfers block their thread until done or timed out, so every call runs
/// on this device's own serial dispatch queue (a thread outside Swift's cooperative pool) and the
/// calling task waits on a continuation: a slow instrument holds that thread, never a pool thread.
/// A transfer cannot be interrupted once started; it ends at its timeout (at least 1 ms; libusb
/// reads 0 as "forever"), and a task cancelled meanwhile sees `.cancelled` afterwards. Calls are
/// serialised on that queue, in the order made (USBTMC is strictly request and response anyway).
public final class LibUSBBulkEndpoints: BulkEndpoints {
    /// `usb:` followed by vendor and product IDs, bus and address.
    public let endpoint: String
    /// The claimed interface's number.
    public let interfaceNumber: UInt8
    /// The bulk-OUT endpoint address.
    public let bulkOutAddress: UInt8
    /// The bulk-IN endpoint address.
    public let bulkInAddress: UInt8
    /// The bulk endpoints' wMaxPacketSize.
    public let maxPacketSize: Int
    /// What enumeration knew about the device.
    public let device: USBDeviceInfo

    private let context: USBContext
    private let handle: Handle
    private let queue: DispatchQueue

    /// An open device handle, nil once closed.
    private final class Handle: Sendable {
        let pointer: Mutex<UnsafeSendable?>
        init(_ p: OpaquePointer) { pointer = Mutex(UnsafeSendable(p)) }
    }

    /// A libusb device handle crossing to the transfer queue; libusb handles are thread-safe.
    private struct UnsafeSendable: @unchecked Sendable {
        let pointer: OpaquePointer
        init(_ p: OpaquePointer) { pointer = p }
    }

    private init(
        context: USBContext, handle: OpaquePointer, device: USBDeviceInfo, interface: USBInterfaceInfo,
        bulkIn: UInt8, bulkOut: UInt8
    ) {
        self.context = context
        self.handle = Handle(handle)
        self.device = device
        interfaceNumber = interface.number
        bulkInAddress = bulkIn
        bulkOutAddress = bulkOut
        maxPacketSize = max(interface.maxPacketSize, 8)
        endpoint = "usb:\(hex4(device.vendorID)):\(hex4(device.productID))@\(device.bus).\(device.address)"
        queue = DispatchQueue(label: "landauer.usb.\(device.bus).\(device.address)")
    }

    /// Opens the first device matching `vendorID`, `productID` and (when given) `serialNumber`,
    /// and claims its first interface that `interface` accepts (by default the first USBTMC
    /// interface) with both bulk endpoints, detaching a kernel driver if one holds it.
    ///
    /// - Throws: `.openFailed` when libusb cannot be initialised, no device matches, it cannot be
    ///   opened (permissions: add a udev rule) or the interface cannot be claimed.
    public static func open(
        vendorID: UInt16, productID: UInt16, serialNumber: String? = nil,
        interface accept: (USBInterfaceInfo) -> Bool = { $0.isUSBTMC }
    ) throws(TransportError) -> LibUSBBulkEndpoints {
        let name = "usb:\(hex4(vendorID)):\(hex4(productID))" + (serialNumber.map { ":\($0)" } ?? "")
        let ctx = TransportErrorContext(endpoint: name, operation: .open)
        let context = try USBContext.make()
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context.pointer, &list)
        guard count >= 0, let list else {
            throw .openFailed(ctx, errno: nil, reason: USBContext.message(Int32(truncatingIfNeeded: count)))
        }
        defer { libusb_free_device_list(list, 1) }
        var lastProblem = "no such USB device is attached"
        for i in 0..<count {
            guard let dev = list[i], let info = USBDeviceInfo.describe(dev) else { continue }
            guard info.vendorID == vendorID, info.productID == productID else { continue }
            if let serialNumber, info.serialNumber != serialNumber { continue }
            guard let interface = info.interfaces.first(where: accept),
                let bulkIn = interface.bulkInAddress, let bulkOut = interface.bulkOutAddress
            else {
                lastProblem = "the device has no matching interface with bulk-IN and bulk-OUT endpoints"
                continue
            }
            var handle: OpaquePointer?
            let opened = libusb_open(dev, &handle)
            guard opened == 0, let handle else {
                lastProblem = "libusb_open: \(USBContext.message(opened))"
                continue
            }
            _ = libusb_set_auto_detach_kernel_driver(handle, 1)
            let claimed = libusb_claim_interface(handle, Int32(interface.number))
            guard claimed == 0 else {
                libusb_close(handle)
                lastProblem = "libusb_claim_interface(\(interface.number)): \(USBContext.message(claimed))"
                continue
            }
            return LibUSBBulkEndpoints(
                context: context, handle: handle, device: info, interface: interface, bulkIn: bulkIn, bulkOut: bulkOut)
        }
        throw .openFailed(ctx, errno: nil, reason: lastProblem)
    }

    /// Milliseconds for libusb: at least 1 (0 would mean no timeout).
    private static func milliseconds(_ d: Duration) -> UInt32 {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return UInt32(clamping: max(1, ms))
    }

    /// Runs `body` with the open handle on the device's queue; nil when closed.
    private func run<R: Sendable>(_ body: @escaping @Sendable (OpaquePointer) -> R) async -> R? {
        let handle = self.handle
        return await withCheckedContinuation { (continuation: CheckedContinuation<R?, Never>) in
            queue.async {
                let result = handle.pointer.withLock { h in h.map { body($0.pointer) } }
                continuation.resume(returning: result)
            }
        }
    }

    private func failure(_ code: Int32, _ context: TransportErrorContext) -> TransportError {
        switch code {
        case LIBUSB_ERROR_TIMEOUT.rawValue: return .timeout(context)
        case LIBUSB_ERROR_NO_DEVICE.rawValue: return .disconnected(context, reason: "the USB device is gone (LIBUSB_ERROR_NO_DEVICE)")
        case LIBUSB_ERROR_PIPE.rawValue:
            return .io(context, errno: 32, message: "the endpoint stalled (LIBUSB_ERROR_PIPE); clear the device")
        default: return .io(context, errno: 0, message: USBContext.message(code))
        }
    }

    /// Sends `bytes` as one bulk-OUT transfer.
    public func bulkOut(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        let start = ContinuousClock.now
        let address = bulkOutAddress
        let ms = Self.milliseconds(timeout)
        let result = await run { h -> (Int32, Int) in
            var data = bytes
            var sent: Int32 = 0
            let r = libusb_bulk_transfer(h, address, &data, Int32(data.count), &sent, ms)
            return (r, Int(sent))
        }
        let context = TransportErrorContext(
            endpoint: endpoint, operation: .write, timeout: timeout, elapsed: ContinuousClock.now - start,
            bytesTransferred: result?.1 ?? 0)
        guard let (code, sent) = result else { throw .closed(context) }
        if code != 0 { throw failure(code, context) }
        if sent < bytes.count { throw .timeout(context) }
        if Task.isCancelled { throw .cancelled(context) }
    }

    /// Receives one bulk-IN transfer of at most `maxLength` bytes.
    public func bulkIn(maxLength: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let start = ContinuousClock.now
        if maxLength < 1 {
            throw .invalidArgument(
                TransportErrorContext(endpoint: endpoint, operation: .read, timeout: timeout),
                reason: "maxLength must be at least 1, not \(maxLength)")
        }
        let address = bulkInAddress
        let ms = Self.milliseconds(timeout)
        // A multiple of the packet size, so a device's full packet never overflows the buffer.
        let capacity = (maxLength + maxPacketSize - 1) / maxPacketSize * maxPacketSize
        let result = await run { h -> (Int32, [UInt8]) in
            var data = [UInt8](repeating: 0, count: capacity)
            var received: Int32 = 0
            let r = libusb_bulk_transfer(h, address, &data, Int32(capacity), &received, ms)
            return (r, Array(data.prefix(Int(received))))
        }
        let context = TransportErrorContext(
            endpoint: endpoint, operation: .read, timeout: timeout, elapsed: ContinuousClock.now - start,
            bytesTransferred: result?.1.count ?? 0)
        guard let (code, bytes) = result else { throw .closed(context) }
        if code != 0 && !(code == LIBUSB_ERROR_TIMEOUT.rawValue && !bytes.isEmpty) { throw failure(code, context) }
        if Task.isCancelled { throw .cancelled(context) }
        return Array(bytes.prefix(maxLength))
    }

    /// Performs an IN control transfer.
    public func controlIn(_ setup: USBControlSetup, length: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let start = ContinuousClock.now
        let ms = Self.milliseconds(timeout)
        let result = await run { h -> Int32OrBytes in
            var data = [UInt8](repeating: 0, count: max(length, 1))
            let r = libusb_control_transfer(
                h, setup.requestType, setup.request, setup.value, setup.index, &data, UInt16(clamping: length), ms)
            return r < 0 ? .failed(r) : .bytes(Array(data.prefix(Int(r))))
        }
        let context = TransportErrorContext(
            endpoint: endpoint, operation: .read, timeout: timeout, elapsed: ContinuousClock.now - start)
        switch result {
        case nil: throw .closed(context)
        case .failed(let code)?: throw failure(code, context)
        case .bytes(let b)?: return b
        }
    }

    private enum Int32OrBytes: Sendable {
        case failed(Int32)
        case bytes([UInt8])
    }

    /// Clears a halt on an endpoint.
    public func clearHalt(endpointAddress: UInt8, timeout: Duration) async throws(TransportError) {
        let start = ContinuousClock.now
        let result = await run { h in libusb_clear_halt(h, endpointAddress) }
        let context = TransportErrorContext(
            endpoint: endpoint, operation: .configure, timeout: timeout, elapsed: ContinuousClock.now - start)
        guard let code = result else { throw .closed(context) }
        if code != 0 { throw failure(code, context) }
    }

    /// Releases the interface and closes the device (after any transfer in progress ends).
    public func close() async {
        let handle = self.handle
        let interface = Int32(interfaceNumber)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                handle.pointer.withLock { h in
                    if let p = h?.pointer {
                        _ = libusb_release_interface(p, interface)
                        libusb_close(p)
                    }
                    h = nil
                }
                continuation.resume()
            }
        }
    }

    deinit {
        handle.pointer.withLock { h in
            if let p = h?.pointer {
                _ = libusb_release_interface(p, Int32(interfaceNumber))
                libusb_close(p)
            }
            h = nil
        }
    }
}
