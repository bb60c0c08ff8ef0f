import LandauerDrivers
import Testing

/// USB enumeration through libusb on a machine that may have no USB devices at all.
@Suite("USBDeviceInfo")
struct USBDeviceInfoTests {
    @Test func enumerationReturnsWithoutError() throws {
        let devices = try USBDeviceInfo.list()
        // Usually empty here; whatever is found is described consistently.
        for d in devices {
            #expect(d.bus > 0 || d.address > 0)
            #expect(d.connectionString.hasPrefix("usbtmc:0x"))
        }
    }

    @Test func openingAMissingDeviceIsATypedFailure() async {
        let error = await caught { () throws(TransportError) in
            _ = try LibUSBBulkEndpoints.open(vendorID: 0xFFFF, productID: 0xFFFE, serialNumber: "NONE")
        }
        guard case .openFailed(let c, _, let reason) = error else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
            return
        }
        #expect(c.endpoint == "usb:ffff:fffe:NONE")
        #expect(!reason.isEmpty)
    }

    @Test func aUSBTMCInterfaceIsRecognisedAndNamed() {
        let tmc = USBInterfaceInfo(
            number: 0, interfaceClass: 0xFE, interfaceSubclass: 0x03, interfaceProtocol: 0x01, bulkInAddress: 0x86,
            bulkOutAddress: 0x02, maxPacketSize: 512)
        let cdc = USBInterfaceInfo(number: 1, interfaceClass: 0x0A, interfaceSubclass: 0, interfaceProtocol: 0)
        #expect(tmc.isUSBTMC && !cdc.isUSBTMC)
        let d = USBDeviceInfo(
            vendorID: 0x0957, productID: 0x1A07, bus: 1, address: 4, serialNumber: "MY123", manufacturer: "Keysight",
            product: "N6705C", interfaces: [cdc, tmc])
        #expect(d.usbtmcInterface == tmc)
        #expect(d.connectionString == "usbtmc:0x0957:0x1A07:MY123")
        #expect(d.summary == "bus 1 addr 4  0957:1a07  serial MY123  Keysight N6705C  USBTMC")
        #expect(USBDeviceInfo(vendorID: 1, productID: 2, bus: 1, address: 1).connectionString == "usbtmc:0x0001:0x0002")
    }
}

/// libusb hotplug: the monitor starts where the platform supports it, reports the devices present
/// (the same ones enumeration lists), and stops cleanly; where it is unsupported, starting is a typed error.
@Suite("USB hotplug monitor", .serialized)
struct USBHotplugMonitorTests {
    struct Key: Hashable { var vendor: UInt16, product: UInt16, bus: UInt8, address: UInt8 }

    @Test func enumeratesWhatIsPresentAndStops() async throws {
        guard USBHotplugMonitor.isSupported else {
            #expect(throws: TransportError.self) { _ = try USBHotplugMonitor() }
            return
        }
        let listed = Set(try USBDeviceInfo.list().map { Key(vendor: $0.vendorID, product: $0.productID, bus: $0.bus, address: $0.address) })
        let monitor = try USBHotplugMonitor(filter: .any, enumerate: true)
        // Enumeration happens during registration, so the arrivals are already queued; stop ends the stream.
        try await Task.sleep(for: .milliseconds(300))
        monitor.stop()
        monitor.stop()  // idempotent
        var arrived = Set<Key>()
        for await event in monitor.events {
            guard case .arrived(let d) = event else { continue }
            arrived.insert(Key(vendor: d.vendorID, product: d.productID, bus: d.bus, address: d.address))
        }
        #expect(arrived == listed)
    }

    @Test func aFilterOnAnAbsentProductReportsNothing() async throws {
        guard USBHotplugMonitor.isSupported else { return }
        let monitor = try USBHotplugMonitor(filter: USBHotplugFilter(vendorID: 0xFFFF, productID: 0xFFFE), enumerate: true)
        try await Task.sleep(for: .milliseconds(200))
        monitor.stop()
        var count = 0
        for await _ in monitor.events { count += 1 }
        #expect(count == 0)
    }

    @Test func droppingAMonitorEndsItsThread() async throws {
        guard USBHotplugMonitor.isSupported else { return }
        var events: AsyncStream<USBHotplugEvent>?
        do {
            let monitor = try USBHotplugMonitor(filter: USBHotplugFilter(vendorID: 0xFFFF), enumerate: false)
            events = monitor.events
        }
        // The monitor is gone: its deinit stopped the loop and finished the stream, so this ends.
        var count = 0
        for await _ in events! { count += 1 }
        #expect(count == 0)
    }

    @Test func eventsDescribeThemselves() {
        let d = USBDeviceInfo(vendorID: 0x1915, productID: 0xC00A, bus: 3, address: 7, serialNumber: "C2F1", product: "PPK2")
        #expect(USBHotplugEvent.arrived(d).description == "arrived  bus 3 addr 7  1915:c00a  serial C2F1  PPK2")
        #expect(USBHotplugEvent.left(d).device == d)
    }
}
