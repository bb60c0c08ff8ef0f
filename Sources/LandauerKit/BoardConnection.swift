import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerSimulators

/// A board session opened from a connection string: the client every caller uses, and — only for
/// a virtual board — the simulator behind it, whose ground truth tests and the demo may consult.
public struct BoardSession: Sendable {
    /// The typed client over the wire protocol.
    public let client: BoardClient
    /// The virtual board answering the client, when the connection is `sim`; nil on real hardware.
    public let virtualBoard: VirtualBoard?
    /// The connection string the session was opened with.
    public let connection: ConnectionString
}

/// Where serial ports are looked up: the system's list (libserialport) in use, a fixed or
/// changing list in tests. Finding a device by its USB serial number goes through this.
public struct SerialPortDirectory: Sendable {
    /// The ports present now.
    public let list: @Sendable () throws(TransportError) -> [SerialPortInfo]

    /// A directory over `list`.
    public init(list: @escaping @Sendable () throws(TransportError) -> [SerialPortInfo]) { self.list = list }

    /// The machine's serial ports, as `landauer devices` lists them.
    public static let system = SerialPortDirectory { () throws(TransportError) in try SerialPortInfo.list() }

    /// The USB serial number of the device at `path`, when the system knows one.
    public func serialNumber(at path: String) -> String? {
        guard let ports = try? list() else { return nil }
        return ports.first { $0.path == path }?.serialNumber
    }

    /// Paths of ports whose USB serial number is `serialNumber`, sorted.
    func paths(withSerialNumber serialNumber: String) throws(TransportError) -> [String] {
        try list().filter { $0.serialNumber == serialNumber }.map(\.path).sorted()
    }
}

/// Opens `serial:` connection strings: `serial:/dev/ttyACM0?baud=115200`, or a USB device by its
/// serial number wherever it is attached: `serial:?usb-serial=E1A2B3C4D5`.
///
/// Pseudo-terminals (`/dev/pts/…`, what `landauer sim bench` serves) and any path libserialport
/// refuses (Debian's 0.1.1 rejects ptys) go through POSIX termios; real ports through libserialport.
public enum SerialConnection {
    /// Option keys of `serial:`.
    public static let options = ["baud", "usb-serial"]

    /// Reopens the device after a disconnect as soon as it reappears, for up to `window`; the
    /// client records the disconnect, the reconnect and the requests resent.
    ///
    /// The device is looked for by its USB serial number when one is known — given as
    /// `usb-serial=`, or learnt now from the port at the path — so a board that re-enumerates as
    /// another `/dev/ttyACMn` is still found; otherwise (pseudo-terminals, on-board UARTs) at its path.
    public static func reconnector(
        _ connection: ConnectionString, ports: SerialPortDirectory = .system, window: Duration = .seconds(10)
    ) -> BoardClient.Reconnector {
        let identity = connection["usb-serial"] ?? ports.serialNumber(at: connection.location)
        var target = connection
        if let identity {
            target.location = ""
            target.options = connection.options.filter { $0.key != "usb-serial" } + [("usb-serial", identity)]
        }
        let byIdentity = target
        return { (failed: any Transport) async throws(TransportError) -> any Transport in
            await failed.close()
            let deadline = ContinuousClock.now + window
            var last = TransportError.disconnected(TransportErrorContext(endpoint: connection.description, operation: .open), reason: "not yet reopened")
            while ContinuousClock.now < deadline {
                do throws(ConnectionError) {
                    return try open(byIdentity, ports: ports)
                } catch {
                    last = .openFailed(TransportErrorContext(endpoint: connection.description, operation: .open), errno: 0, reason: error.description)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            throw last
        }
    }

    /// The device path `connection` names now: its location, or the one port whose USB serial
    /// number is the `usb-serial` option.
    public static func resolvePath(_ connection: ConnectionString, ports: SerialPortDirectory = .system) throws(ConnectionError) -> String {
        if let serialNumber = connection["usb-serial"] {
            guard !serialNumber.isEmpty else {
                throw .badOption(connection.description, key: "usb-serial", value: "", expected: "a USB serial number, as `landauer devices` shows it")
            }
            let paths: [String]
            do { paths = try ports.paths(withSerialNumber: serialNumber) } catch {
                throw .unavailable(connection.description, reason: "cannot list serial ports: \(error)")
            }
            if connection.location.hasPrefix("/"), paths.contains(connection.location) { return connection.location }
            guard let first = paths.first else {
                throw .unavailable(connection.description, reason: "no serial port has USB serial number \(serialNumber) (is the device plugged in? `landauer devices` lists what is)")
            }
            guard paths.count == 1 else {
                throw .unavailable(connection.description, reason: "USB serial number \(serialNumber) has several ports (\(paths.joined(separator: ", "))); name one by its path")
            }
            return first
        }
        guard connection.location.hasPrefix("/") else {
            throw .malformed(connection.description, reason: "serial needs a device path, e.g. serial:/dev/ttyACM0, or a USB serial number, e.g. serial:?usb-serial=E1A2B3C4D5")
        }
        return connection.location
    }

    /// A transport for `connection`.
    public static func open(_ connection: ConnectionString, ports: SerialPortDirectory = .system) throws(ConnectionError) -> any Transport {
        try connection.rejectUnknownOptions(options)
        let baud = try connection.value("baud", as: Int.self) ?? 115_200
        guard baud > 0 else { throw .badOption(connection.description, key: "baud", value: "\(baud)", expected: "a positive baud rate") }
        let path = try resolvePath(connection, ports: ports)
        if !path.hasPrefix("/dev/pts/") {
            var settings = SerialSettings()
            settings.baudRate = baud
            if let port = try? SerialPortTransport(path: path, settings: settings) { return port }
        }
        do {
            return try TermiosTransport(path: path, baudRate: path.hasPrefix("/dev/pts/") ? nil : baud)
        } catch {
            throw .unavailable(connection.description, reason: "\(error)")
        }
    }
}

/// The one place that turns a connection string into a transport plus a driver, or a virtual device.
public enum BoardConnection {
    /// Schemes this build knows.
    public static let schemes = ["sim", "serial"]

    /// Opens a session on `text` (e.g. `sim`, `sim:?seed=7`). No request is sent yet: call
    /// `hello()` on the client first. A virtual twin (`sim:?device=profile:NAME`) finds its
    /// profile in `workspace` (default: the current directory).
    public static func open(
        _ text: String, configuration: BoardClient.Configuration = BoardClient.Configuration(), ports: SerialPortDirectory = .system,
        workspace: URL? = nil
    ) throws(ConnectionError) -> BoardSession {
        let connection = try ConnectionString(parsing: text)
        switch connection.scheme {
        case "sim":
            guard connection.location.isEmpty else {
                throw .malformed(text, reason: "sim takes options after '?', e.g. sim:?seed=7, not '\(connection.location)'")
            }
            let board = try SimulatorOptions.board(from: connection, workspace: workspace ?? URL(fileURLWithPath: "."))
            return BoardSession(client: inProcessClient(for: board, configuration: configuration), virtualBoard: board, connection: connection)
        case "serial":
            let transport = try SerialConnection.open(connection, ports: ports)
            let client = BoardClient(transport: transport, configuration: configuration, reconnect: SerialConnection.reconnector(connection, ports: ports))
            return BoardSession(client: client, virtualBoard: nil, connection: connection)
        default:
            throw .unknownScheme(text, scheme: connection.scheme, known: schemes)
        }
    }

    /// A client wired to `board` in process, in lockstep: each request is answered synchronously
    /// on the writing task, so the board's virtual clock advances only by the work it does.
    public static func inProcessClient(for board: VirtualBoard, configuration: BoardClient.Configuration = BoardClient.Configuration()) -> BoardClient {
        let transport = DeviceLoopbackTransport(endpoint: "sim:\(board.config.serial)", idleReads: .failImmediately) { bytes in
            board.receive(bytes)
        }
        return BoardClient(transport: transport, configuration: configuration)
    }
}
