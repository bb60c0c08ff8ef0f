import CLibUSB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A USB device arriving or leaving, as libusb's hotplug support reports it.
public enum USBHotplugEvent: Sendable, Equatable, CustomStringConvertible {
    /// A device was plugged in (or was already present when the monitor started).
    case arrived(USBDeviceInfo)
    /// A device was unplugged. Only its IDs, bus and address are known by then: its strings are gone with it.
    case left(USBDeviceInfo)

    /// The device the event is about.
    public var device: USBDeviceInfo {
        switch self {
        case .arrived(let d), .left(let d): d
        }
    }

    public var description: String {
        switch self {
        case .arrived(let d): "arrived  \(d.summary)"
        case .left(let d): "left     \(d.summary)"
        }
    }
}

/// Which devices a hotplug monitor reports: a vendor, a product, or every device.
public struct USBHotplugFilter: Sendable, Equatable {
    /// idVendor to match, or nil for any.
    public var vendorID: UInt16?
    /// idProduct to match, or nil for any.
    public var productID: UInt16?

    /// A filter on vendor and product (nil matches any).
    public init(vendorID: UInt16? = nil, productID: UInt16? = nil) {
        self.vendorID = vendorID
        self.productID = productID
    }

    /// Every device.
    public static let any = USBHotplugFilter()
}

/// Watches USB devices come and go through libusb's hotplug callbacks, where the platform has them
/// (Linux with udev or netlink, macOS; not Windows).
///
/// The monitor owns its own libusb context and one thread that runs libusb's event loop; events
/// arrive on `events` in the order libusb reports them, devices already present first when
/// `enumerate` is set. `stop()` (or dropping the monitor) deregisters the callback, ends the
/// thread and finishes the stream.
public final class USBHotplugMonitor: Sendable {
    /// True when this platform's libusb supports hotplug notification.
    public static var isSupported: Bool { libusb_has_capability(UInt32(LIBUSB_CAP_HAS_HOTPLUG.rawValue)) != 0 }

    /// Arrivals and departures, until `stop()`.
    public let events: AsyncStream<USBHotplugEvent>

    private let loop: EventLoop

    /// Starts watching devices that match `filter`. With `enumerate`, devices present now are
    /// reported first as `.arrived`.
    ///
    /// - Throws: `.openFailed` when libusb cannot be initialised or has no hotplug support on this
    ///   platform, when the callback cannot be registered, or when the event thread cannot start.
    public init(filter: USBHotplugFilter = .any, enumerate: Bool = true) throws(TransportError) {
        let where_ = TransportErrorContext(endpoint: "usb:hotplug", operation: .open)
        guard USBHotplugMonitor.isSupported else {
            throw .openFailed(where_, errno: nil, reason: "this platform's libusb has no hotplug support; poll `landauer devices` instead")
        }
        let context = try USBContext.make()
        let (stream, continuation) = AsyncStream<USBHotplugEvent>.makeStream(bufferingPolicy: .unbounded)
        let sink = USBHotplugSink(continuation)
        let any = LIBUSB_HOTPLUG_MATCH_ANY
        var handle: libusb_hotplug_callback_handle = 0
        let events = Int32(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED.rawValue | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT.rawValue)
        let flags = enumerate ? Int32(LIBUSB_HOTPLUG_ENUMERATE.rawValue) : 0
        let r = libusb_hotplug_register_callback(
            context.pointer, events, flags,
            filter.vendorID.map(Int32.init) ?? any, filter.productID.map(Int32.init) ?? any, any,
            usbHotplugCallback, Unmanaged.passUnretained(sink).toOpaque(), &handle)
        guard r == 0 else {
            sink.discard()
            continuation.finish()
            throw .openFailed(where_, errno: nil, reason: "libusb_hotplug_register_callback failed: \(USBContext.message(r))")
        }
        sink.drain()  // devices reported by enumeration during registration
        let loop = EventLoop(context: context, sink: sink, handle: handle)
        guard loop.start() else {
            loop.stop()
            throw .openFailed(where_, errno: errno, reason: "cannot start the USB event thread")
        }
        self.loop = loop
        self.events = stream
    }

    deinit { loop.stop() }

    /// Stops watching: deregisters the callback, ends the event thread and finishes `events`.
    /// Safe to call more than once.
    public func stop() { loop.stop() }

    /// libusb's event loop on its own thread. The thread holds this object, never the monitor,
    /// so dropping the monitor stops it.
    private final class EventLoop: Sendable {
        let context: USBContext
        let sink: USBHotplugSink
        let handle: libusb_hotplug_callback_handle
        let running = Mutex(true)
        let thread = Mutex<pthread_t?>(nil)

        init(context: USBContext, sink: USBHotplugSink, handle: libusb_hotplug_callback_handle) {
            self.context = context
            self.sink = sink
            self.handle = handle
        }

        /// Starts the thread; false when it cannot be created.
        func start() -> Bool {
            let box = Unmanaged.passRetained(self).toOpaque()
            var t = pthread_t()
            let r = pthread_create(&t, nil, { raw in
                Unmanaged<EventLoop>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, box)
            guard r == 0 else {
                Unmanaged<EventLoop>.fromOpaque(box).release()
                return false
            }
            thread.withLock { $0 = t }
            return true
        }

        /// Rounds of at most 100 ms, so a stop is noticed promptly even if the interrupt is missed.
        private func run() {
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            while running.withLock({ $0 }) {
                _ = libusb_handle_events_timeout_completed(context.pointer, &timeout, nil)
                sink.drain()
            }
        }

        func stop() {
            let wasRunning = running.withLock { r in
                defer { r = false }
                return r
            }
            guard wasRunning else { return }
            libusb_hotplug_deregister_callback(context.pointer, handle)
            libusb_interrupt_event_handler(context.pointer)
            if let t = thread.withLock({ t in defer { t = nil }; return t }) { pthread_join(t, nil) }
            sink.discard()
            sink.continuation.finish()
        }
    }
}

/// The C callback libusb calls on its event thread (and, for enumeration, during registration).
/// It only takes a reference to the device and queues it: reading string descriptors means
/// control transfers, which are not for a hotplug callback, so the event thread does that after.
private func usbHotplugCallback(
    _ context: OpaquePointer?, _ device: OpaquePointer?, _ event: libusb_hotplug_event,
    _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let device, let userData else { return 0 }
    let sink = Unmanaged<USBHotplugSink>.fromOpaque(userData).takeUnretainedValue()
    libusb_ref_device(device)
    sink.pending.withLock { $0.append(USBHotplugSink.Pending(device: device, arrived: event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)) }
    return 0  // stay registered
}

/// What the C callback holds: devices waiting to be described, and the stream's continuation.
final class USBHotplugSink: Sendable {
    struct Pending: @unchecked Sendable {
        // @unchecked: a referenced libusb_device pointer, handed from the callback to the event thread.
        let device: OpaquePointer
        let arrived: Bool
    }

    let continuation: AsyncStream<USBHotplugEvent>.Continuation
    let pending = Mutex<[Pending]>([])

    init(_ continuation: AsyncStream<USBHotplugEvent>.Continuation) { self.continuation = continuation }

    /// Describes and publishes the queued devices, releasing their references.
    func drain() {
        let queued = pending.withLock { p in defer { p = [] }; return p }
        for item in queued {
            defer { libusb_unref_device(item.device) }
            if item.arrived {
                if let info = USBDeviceInfo.describe(item.device) { continuation.yield(.arrived(info)) }
            } else {
                // Gone: only what libusb cached is left (no strings).
                var d = libusb_device_descriptor()
                guard libusb_get_device_descriptor(item.device, &d) == 0 else { continue }
                continuation.yield(
                    .left(
                        USBDeviceInfo(
                            vendorID: d.idVendor, productID: d.idProduct, bus: libusb_get_bus_number(item.device),
                            address: libusb_get_device_address(item.device))))
            }
        }
    }

    /// Drops anything still queued (on stop).
    func discard() {
        let queued = pending.withLock { p in defer { p = [] }; return p }
        for item in queued { libusb_unref_device(item.device) }
    }
}
