import CLibUSB

/// A libusb context: one per process is enough, and it is safe to use from any thread.
///
/// Created lazily by `USBDeviceInfo.list()` and `LibUSBBulkEndpoints.open`; `libusb_init`
/// failing (no USB support in the kernel or container) is a typed `.openFailed` error.
final class USBContext: @unchecked Sendable {
    // @unchecked: libusb contexts are documented thread-safe; the pointer is never mutated.
    let pointer: OpaquePointer

    private init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { libusb_exit(pointer) }

    /// A new context.
    static func make() throws(TransportError) -> USBContext {
        var ctx: OpaquePointer?
        let r = libusb_init(&ctx)
        guard r == 0, let ctx else {
            throw .openFailed(
                TransportErrorContext(endpoint: "usb:*", operation: .open), errno: nil,
                reason: "libusb_init failed: \(USBContext.message(r))")
        }
        return USBContext(ctx)
    }

    /// libusb's name and description of an error code.
    static func message(_ code: Int32) -> String {
        "\(String(cString: libusb_error_name(code))): \(String(cString: libusb_strerror(code)))"
    }
}

/// One interface of a USB device's active configuration (first alternate setting).
public struct USBInterfaceInfo: Sendable, Equatable {
    /// bInterfaceNumber.
    public var number: UInt8
    /// bInterfaceClass (0xFE application specific, 0x02/0x0A CDC, 0xFF vendor).
    public var interfaceClass: UInt8
    /// bInterfaceSubClass.
    public var interfaceSubclass: UInt8
    /// bInterfaceProtocol.
    public var interfaceProtocol: UInt8
    /// The first bulk-IN endpoint's address, if any.
    public var bulkInAddress: UInt8?
    /// The first bulk-OUT endpoint's address, if any.
    public var bulkOutAddress: UInt8?
    /// The bulk endpoints' wMaxPacketSize (0 when there are none).
    public var maxPacketSize: Int

    /// Creates an interface description.
    public init(
        number: UInt8, interfaceClass: UInt8, interfaceSubclass: UInt8, interfaceProtocol: UInt8,
        bulkInAddress: UInt8? = nil, bulkOutAddress: UInt8? = nil, maxPacketSize: Int = 0
    ) {
        self.number = number
        self.interfaceClass = interfaceClass
        self.interfaceSubclass = interfaceSubclass
        self.interfaceProtocol = interfaceProtocol
        self.bulkInAddress = bulkInAddress
        self.bulkOutAddress = bulkOutAddress
        self.maxPacketSize = maxPacketSize
    }

    /// True for a USBTMC interface (class 0xFE, subclass 0x03; USB488 included).
    public var isUSBTMC: Bool { interfaceClass == USBTMC.interfaceClass && interfaceSubclass == USBTMC.interfaceSubclass }
}

/// A USB device found on this machine.
public struct USBDeviceInfo: Sendable, Equatable {
    /// idVendor.
    public var vendorID: UInt16
    /// idProduct.
    public var productID: UInt16
    /// The bus number.
    public var bus: UInt8
    /// The device address on its bus.
    public var address: UInt8
    /// The serial number string, when the device has one and this user may open the device.
    public var serialNumber: String?
    /// The manufacturer string, when readable.
    public var manufacturer: String?
    /// The product string, when readable.
    public var product: String?
    /// The interfaces of the active configuration.
    public var interfaces: [USBInterfaceInfo]

    /// Creates a device description.
    public init(
        vendorID: UInt16, productID: UInt16, bus: UInt8, address: UInt8, serialNumber: String? = nil,
        manufacturer: String? = nil, product: String? = nil, interfaces: [USBInterfaceInfo] = []
    ) {
        self.vendorID = vendorID
        self.productID = productID
        self.bus = bus
        self.address = address
        self.serialNumber = serialNumber
        self.manufacturer = manufacturer
        self.product = product
        self.interfaces = interfaces
    }

    /// The first USBTMC interface, if the device has one.
    public var usbtmcInterface: USBInterfaceInfo? { interfaces.first(where: \.isUSBTMC) }

    /// The connection string that opens this device as a USBTMC instrument:
    /// `usbtmc:0x0957:0x1A07:MY123` (the serial number part only when known).
    public var connectionString: String {
        let ids = "usbtmc:0x\(hex4(vendorID).uppercased()):0x\(hex4(productID).uppercased())"
        return serialNumber.map { "\(ids):\($0)" } ?? ids
    }

    /// Every USB device libusb can see, sorted by bus and address; an empty list when there are none.
    ///
    /// Strings are read only from devices this user may open; the others have nil strings.
    /// - Throws: `.openFailed` when libusb cannot be initialised, `.io` when the device list cannot be read.
    public static func list() throws(TransportError) -> [USBDeviceInfo] {
        let context = try USBContext.make()
        return try list(in: context)
    }

    static func list(in context: USBContext) throws(TransportError) -> [USBDeviceInfo] {
        var devices: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context.pointer, &devices)
        guard count >= 0, let devices else {
            throw .io(
                TransportErrorContext(endpoint: "usb:*", operation: .open), errno: 0,
                message: "libusb_get_device_list failed: \(USBContext.message(Int32(truncatingIfNeeded: count)))")
        }
        defer { libusb_free_device_list(devices, 1) }
        var found: [USBDeviceInfo] = []
        for i in 0..<count {
            if let device = devices[i], let info = describe(device) { found.append(info) }
        }
        return found.sorted { ($0.bus, $0.address) < ($1.bus, $1.address) }
    }

    /// Reads one device's descriptors, and its strings when it can be opened.
    static func describe(_ device: OpaquePointer) -> USBDeviceInfo? {
        var d = libusb_device_descriptor()
        guard libusb_get_device_descriptor(device, &d) == 0 else { return nil }
        var info = USBDeviceInfo(
            vendorID: d.idVendor, productID: d.idProduct, bus: libusb_get_bus_number(device),
            address: libusb_get_device_address(device))
        info.interfaces = interfaces(of: device)
        var handle: OpaquePointer?
        if libusb_open(device, &handle) == 0, let handle {
            defer { libusb_close(handle) }
            info.serialNumber = string(handle, d.iSerialNumber)
            info.manufacturer = string(handle, d.iManufacturer)
            info.product = string(handle, d.iProduct)
        }
        return info
    }

    private static func string(_ handle: OpaquePointer, _ index: UInt8) -> String? {
        guard index != 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = libusb_get_string_descriptor_ascii(handle, index, &buffer, Int32(buffer.count))
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)), as: UTF8.self)
    }

    /// The interfaces of the active configuration (or the first, when none is active).
    static func interfaces(of device: OpaquePointer) -> [USBInterfaceInfo] {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        if libusb_get_active_config_descriptor(device, &config) != 0 {
            guard libusb_get_config_descriptor(device, 0, &config) == 0 else { return [] }
        }
        guard let config else { return [] }
        defer { libusb_free_config_descriptor(config) }
        var result: [USBInterfaceInfo] = []
        for i in 0..<Int(config.pointee.bNumInterfaces) {
            let interface = config.pointee.interface[i]
            guard interface.num_altsetting > 0, let alt = interface.altsetting?.pointee else { continue }
            var info = USBInterfaceInfo(
                number: alt.bInterfaceNumber, interfaceClass: alt.bInterfaceClass,
                interfaceSubclass: alt.bInterfaceSubClass, interfaceProtocol: alt.bInterfaceProtocol)
            for e in 0..<Int(alt.bNumEndpoints) {
                guard let ep = alt.endpoint?[e] else { continue }
                guard ep.bmAttributes & 0x03 == 0x02 else { continue }  // bulk
                if ep.bEndpointAddress & 0x80 != 0 {
                    if info.bulkInAddress == nil { info.bulkInAddress = ep.bEndpointAddress }
                } else if info.bulkOutAddress == nil {
                    info.bulkOutAddress = ep.bEndpointAddress
                }
                info.maxPacketSize = max(info.maxPacketSize, Int(ep.wMaxPacketSize))
            }
            result.append(info)
        }
        return result
    }

    /// One line: bus and address, IDs, serial number and names where known, USBTMC when it is one.
    public var summary: String {
        var parts = ["bus \(bus) addr \(address)", hex4(vendorID) + ":" + hex4(productID)]
        if let serialNumber { parts.append("serial \(serialNumber)") }
        let names = [manufacturer, product].compactMap { $0 }
        if !names.isEmpty { parts.append(names.joined(separator: " ")) }
        if usbtmcInterface != nil { parts.append("USBTMC") }
        return parts.joined(separator: "  ")
    }
}
