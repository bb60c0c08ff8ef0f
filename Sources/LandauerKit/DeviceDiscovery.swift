import LandauerDrivers

/// What the toolkit recognises a found device as.
public enum DeviceRole: String, Codable, Sendable {
    /// A Nordic Power Profiler Kit II (USB 1915:C00A).
    case ppk2
    /// A USB Test & Measurement Class instrument (SCPI over USBTMC).
    case usbtmcInstrument = "usbtmc-instrument"
    /// A Landauer crossbar board (product string "Landauer…", or serial numbers "LDR-…").
    case board
    /// Something else.
    case unknown
}

/// One device `landauer devices` lists.
public struct FoundDevice: Codable, Sendable, Equatable {
    /// `serial` or `usb`.
    public var kind: String
    /// What it is.
    public var role: DeviceRole
    /// The connection string that opens it.
    public var connection: String
    /// USB vendor and product IDs as `VVVV:PPPP`, when known.
    public var usbID: String?
    public var serialNumber: String?
    public var manufacturer: String?
    public var product: String?
    /// Path, description or bus/address.
    public var detail: String
}

/// Finds serial ports and USB devices and names the ones the toolkit knows.
public enum DeviceDiscovery {
    /// The PPK2's USB identity.
    public static let ppk2 = (vendor: UInt16(0x1915), product: UInt16(0xC00A))

    static func hex(_ v: UInt16) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    public static func role(vendor: UInt16?, product: UInt16?, productName: String?, serial: String?, usbtmc: Bool) -> DeviceRole {
        if vendor == ppk2.vendor && product == ppk2.product { return .ppk2 }
        if usbtmc { return .usbtmcInstrument }
        if productName?.hasPrefix("Landauer") == true || serial?.hasPrefix("LDR-") == true { return .board }
        return .unknown
    }

    /// Serial ports, then USB devices. Failures of one enumeration are returned as warnings, not thrown.
    public static func scan() -> (devices: [FoundDevice], warnings: [String]) {
        var devices: [FoundDevice] = []
        var warnings: [String] = []
        do {
            for p in try SerialPortInfo.list() {
                let r = role(vendor: p.usbVendorID, product: p.usbProductID, productName: p.product, serial: p.serialNumber, usbtmc: false)
                let id = p.usbVendorID.flatMap { v in p.usbProductID.map { "\(hex(v)):\(hex($0))" } }
                devices.append(FoundDevice(
                    kind: "serial", role: r, connection: r == .ppk2 ? "ppk2:\(p.path)" : p.connectionString, usbID: id,
                    serialNumber: p.serialNumber, manufacturer: p.manufacturer, product: p.product, detail: p.description))
            }
        } catch {
            warnings.append("serial ports could not be listed: \(error)")
        }
        do {
            for d in try USBDeviceInfo.list() { devices.append(found(d)) }
        } catch {
            warnings.append("USB devices could not be listed: \(error)")
        }
        return (devices, warnings)
    }

    /// A USB device as `scan()` describes it, with its role named.
    public static func found(_ d: USBDeviceInfo) -> FoundDevice {
        let r = role(vendor: d.vendorID, product: d.productID, productName: d.product, serial: d.serialNumber, usbtmc: d.usbtmcInterface != nil)
        return FoundDevice(
            kind: "usb", role: r, connection: d.connectionString, usbID: "\(hex(d.vendorID)):\(hex(d.productID))",
            serialNumber: d.serialNumber, manufacturer: d.manufacturer, product: d.product, detail: "bus \(d.bus) address \(d.address)")
    }

    /// Lines for a terminal; says plainly when nothing was found.
    public static func text(_ devices: [FoundDevice], warnings: [String]) -> String {
        var lines = warnings.map { "warning: \($0)" }
        let serial = devices.filter { $0.kind == "serial" }
        let usb = devices.filter { $0.kind == "usb" }
        lines.append(serial.isEmpty ? "No serial ports found." : "Serial ports:")
        for d in serial { lines.append("  \(d.connection)  \(d.role.rawValue)  \(d.usbID ?? "-")  \(d.product ?? d.detail)\(d.serialNumber.map { "  serial \($0)" } ?? "")") }
        lines.append(usb.isEmpty ? "No USB devices found (libusb sees none)." : "USB devices:")
        for d in usb { lines.append("  \(d.usbID ?? "-")  \(d.role.rawValue)  \(d.connection)  \(d.manufacturer ?? "") \(d.product ?? "")  \(d.detail)") }
        return lines.joined(separator: "\n")
    }
}

/// A USB device plugged in or unplugged, as `landauer devices --watch` reports it.
public struct DeviceChange: Codable, Sendable, Equatable {
    /// `arrived` or `left`.
    public var event: String
    /// The device, its role named (a departed device has no strings left to read).
    public var device: FoundDevice
}

/// Watches USB devices come and go (libusb hotplug) and names them as `DeviceDiscovery` does.
public final class DeviceWatch: Sendable {
    private let monitor: USBHotplugMonitor
    /// Changes until `stop()`.
    public let changes: AsyncStream<DeviceChange>

    /// Starts watching; devices already present are not repeated.
    ///
    /// - Throws: `.openFailed` where libusb has no hotplug support or cannot start.
    public init() throws(TransportError) {
        let monitor = try USBHotplugMonitor(enumerate: false)
        self.monitor = monitor
        self.changes = AsyncStream { continuation in
            let task = Task {
                for await event in monitor.events {
                    switch event {
                    case .arrived(let d): continuation.yield(DeviceChange(event: "arrived", device: DeviceDiscovery.found(d)))
                    case .left(let d): continuation.yield(DeviceChange(event: "left", device: DeviceDiscovery.found(d)))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Stops watching and finishes `changes`.
    public func stop() { monitor.stop() }
}
