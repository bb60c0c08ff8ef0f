import CLibSerialPort

/// A serial port found on this machine, with what the system knows about the device behind it.
public struct SerialPortInfo: Sendable, Equatable {
    /// How the port is attached.
    public enum Attachment: String, Sendable {
        /// An on-board UART or a port the system does not place on a bus.
        case native
        /// A USB serial device (CDC-ACM, FTDI, CP210x, …).
        case usb
        /// A Bluetooth serial link.
        case bluetooth
    }

    /// The device path, such as `/dev/ttyACM0`.
    public var path: String
    /// libserialport's description of the port (for USB ports usually the product string).
    public var description: String
    /// How the port is attached.
    public var attachment: Attachment
    /// The USB vendor ID, for USB ports.
    public var usbVendorID: UInt16?
    /// The USB product ID, for USB ports.
    public var usbProductID: UInt16?
    /// The USB bus number, for USB ports.
    public var usbBus: Int?
    /// The USB device address on its bus, for USB ports.
    public var usbAddress: Int?
    /// The USB serial number string, when the device has one.
    public var serialNumber: String?
    /// The USB manufacturer string, when the device has one.
    public var manufacturer: String?
    /// The USB product string, when the device has one.
    public var product: String?

    /// Creates a description of a port (enumeration fills these in; tests may build their own).
    public init(
        path: String, description: String, attachment: Attachment, usbVendorID: UInt16? = nil,
        usbProductID: UInt16? = nil, usbBus: Int? = nil, usbAddress: Int? = nil, serialNumber: String? = nil,
        manufacturer: String? = nil, product: String? = nil
    ) {
        self.path = path
        self.description = description
        self.attachment = attachment
        self.usbVendorID = usbVendorID
        self.usbProductID = usbProductID
        self.usbBus = usbBus
        self.usbAddress = usbAddress
        self.serialNumber = serialNumber
        self.manufacturer = manufacturer
        self.product = product
    }

    /// The connection string that opens this port, `serial:` and the path.
    public var connectionString: String { "serial:\(path)" }

    /// Every serial port libserialport finds (`sp_list_ports`), sorted by path; an empty list
    /// when the machine has none.
    ///
    /// - Throws: `.io` when the system's port list cannot be read at all.
    public static func list() throws(TransportError) -> [SerialPortInfo] {
        var ports: UnsafeMutablePointer<OpaquePointer?>?
        let result = sp_list_ports(&ports)
        guard result == SP_OK, let ports else {
            throw .io(
                TransportErrorContext(endpoint: "serial:*", operation: .open),
                errno: SerialPortTransport.osErrno(result) ?? 0,
                message: "cannot list serial ports: \(SerialPortTransport.message(result))")
        }
        defer { sp_free_port_list(ports) }
        var found: [SerialPortInfo] = []
        var i = 0
        while let port = ports[i] {
            i += 1
            found.append(info(port))
        }
        return found.sorted { $0.path < $1.path }
    }

    /// Reads what libserialport knows about one port.
    private static func info(_ port: OpaquePointer) -> SerialPortInfo {
        func text(_ p: UnsafeMutablePointer<CChar>?) -> String? {
            guard let p else { return nil }
            let s = String(cString: p)
            return s.isEmpty ? nil : s
        }
        let path = text(sp_get_port_name(port)) ?? "?"
        var info = SerialPortInfo(
            path: path, description: text(sp_get_port_description(port)) ?? path, attachment: .native)
        switch sp_get_port_transport(port) {
        case SP_TRANSPORT_USB:
            info.attachment = .usb
            var vid: Int32 = 0
            var pid: Int32 = 0
            if sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK {
                info.usbVendorID = UInt16(truncatingIfNeeded: vid)
                info.usbProductID = UInt16(truncatingIfNeeded: pid)
            }
            var bus: Int32 = 0
            var address: Int32 = 0
            if sp_get_port_usb_bus_address(port, &bus, &address) == SP_OK {
                info.usbBus = Int(bus)
                info.usbAddress = Int(address)
            }
            info.serialNumber = text(sp_get_port_usb_serial(port))
            info.manufacturer = text(sp_get_port_usb_manufacturer(port))
            info.product = text(sp_get_port_usb_product(port))
        case SP_TRANSPORT_BLUETOOTH:
            info.attachment = .bluetooth
        default:
            break
        }
        return info
    }

    /// One line: the path, then vendor and product IDs, serial number and names where known.
    public var summary: String {
        var parts = [path]
        if let v = usbVendorID, let p = usbProductID { parts.append(hex4(v) + ":" + hex4(p)) }
        if let serialNumber { parts.append("serial \(serialNumber)") }
        let names = [manufacturer, product].compactMap { $0 }
        parts.append(names.isEmpty ? description : names.joined(separator: " "))
        return parts.joined(separator: "  ")
    }
}

/// Four lowercase hexadecimal digits, such as `0x2341` → `2341`.
func hex4(_ v: UInt16) -> String {
    let digits = String(v, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
