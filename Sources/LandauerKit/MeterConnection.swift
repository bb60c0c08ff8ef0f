import LandauerDrivers

/// Opens SCPI instruments from connection strings:
/// `scpi+tcp:HOST:PORT` (raw socket, usually port 5025), `scpi+serial:/dev/ttyUSB0?baud=9600`,
/// `usbtmc:VID:PID[:SERIAL]` (IDs in hex, `0x` optional).
public enum SCPIConnection {
    /// Schemes this opens.
    public static let schemes = ["scpi+tcp", "scpi+serial", "usbtmc"]

    /// An SCPI session on `text`; no command is sent yet (call `identify()`).
    public static func open(_ text: String, timeout: Duration = .seconds(2)) async throws(ConnectionError) -> SCPIClient {
        let connection = try ConnectionString(parsing: text)
        switch connection.scheme {
        case "scpi+tcp":
            try connection.rejectUnknownOptions([])
            let (host, portText) = connection.location.splitAtLastColon()
            guard !host.isEmpty, let port = portText.flatMap({ UInt16($0) }), port > 0 else {
                throw .malformed(text, reason: "scpi+tcp needs host:port, e.g. scpi+tcp:192.0.2.10:5025")
            }
            do {
                return SCPIClient(transport: try await TCPTransport.connect(host: host, port: port, timeout: timeout), timeout: timeout)
            } catch {
                throw .unavailable(text, reason: "\(error)")
            }
        case "scpi+serial":
            let serial = try ConnectionString(parsing: "serial:" + connection.location + (connection.options.isEmpty ? "" : "?" + connection.options.map { "\($0.key)=\($0.value)" }.joined(separator: "&")))
            return SCPIClient(transport: try SerialConnection.open(serial), timeout: timeout)
        case "usbtmc":
            try connection.rejectUnknownOptions([])
            let parts = connection.location.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            func hexID(_ s: String) -> UInt16? { UInt16(s.lowercased().hasPrefix("0x") ? String(s.dropFirst(2)) : s, radix: 16) }
            guard parts.count == 2 || parts.count == 3, let vendor = hexID(parts[0]), let product = hexID(parts[1]) else {
                throw .malformed(text, reason: "usbtmc needs VID:PID[:SERIAL] in hex, e.g. usbtmc:0x0957:0x1A07:MY12345678")
            }
            do {
                let endpoints = try LibUSBBulkEndpoints.open(vendorID: vendor, productID: product, serialNumber: parts.count == 3 ? parts[2] : nil)
                let session = USBTMCSession(endpoints: endpoints, timeout: timeout)
                return SCPIClient(transport: USBTMCTransport(session: session, endpoint: text), timeout: timeout)
            } catch {
                throw .unavailable(text, reason: "\(error)")
            }
        default:
            throw .unknownScheme(text, scheme: connection.scheme, known: schemes)
        }
    }
}

extension String {
    /// Splits at the last ':' (host names and IPv4 addresses have none; the port follows it).
    func splitAtLastColon() -> (String, String?) {
        guard let i = lastIndex(of: ":") else { return (self, nil) }
        return (String(self[..<i]), String(self[index(after: i)...]))
    }
}

/// Opens a Nordic PPK2 from `ppk2:/dev/ttyACM1` (its data port; `?baud=` is accepted and ignored by
/// the CDC device), `ppk2:?usb-serial=C2F1A0B3D4E5` (found by its USB serial number), or plain
/// `ppk2` (the one PPK2 attached, found by its USB IDs 1915:C00A). No command is sent yet: call
/// `connect()` on the session.
public enum PPK2Connection {
    /// Nordic Semiconductor's vendor ID and the PPK2's product ID.
    public static let usbIDs: (vendor: UInt16, product: UInt16) = (0x1915, 0xC00A)

    /// A PPK2 session on `text`.
    public static func open(
        _ text: String, options: PPK2SessionOptions = PPK2SessionOptions(), ports: SerialPortDirectory = .system
    ) throws(ConnectionError) -> PPK2Session {
        PPK2Session(transport: try SerialConnection.open(try serialConnection(text, ports: ports), ports: ports), options: options)
    }

    /// The `serial:` connection a `ppk2:` string stands for; a bare `ppk2` is resolved to the path
    /// of the single PPK2 attached.
    public static func serialConnection(_ text: String, ports: SerialPortDirectory = .system) throws(ConnectionError) -> ConnectionString {
        let connection = try ConnectionString(parsing: text)
        guard connection.scheme == "ppk2" else { throw .unknownScheme(text, scheme: connection.scheme, known: ["ppk2"]) }
        var serial = connection
        serial.scheme = "serial"
        if serial.location.isEmpty && serial["usb-serial"] == nil {
            let found: [SerialPortInfo]
            do {
                found = try ports.list().filter { $0.usbVendorID == usbIDs.vendor && $0.usbProductID == usbIDs.product }
            } catch {
                throw .unavailable(text, reason: "cannot list serial ports: \(error)")
            }
            guard let only = found.first else {
                throw .unavailable(text, reason: "no PPK2 (USB 1915:C00A) is attached; check the cable, or name its port: ppk2:/dev/ttyACM0")
            }
            guard found.count == 1 else {
                let names = found.map { port in port.serialNumber.map { "\(port.path) (usb-serial \($0))" } ?? port.path }
                throw .unavailable(text, reason: "several PPK2 ports: \(names.joined(separator: ", ")); name one, e.g. ppk2:\(only.path)")
            }
            serial.location = only.path
        }
        return serial
    }
}
