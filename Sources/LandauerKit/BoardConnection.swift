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

/// Opens `serial:` connection strings: `serial:/dev/ttyACM0?baud=115200`.
///
/// Pseudo-terminals (`/dev/pts/…`, what `landauer sim bench` serves) and any path libserialport
/// refuses (Debian's 0.1.1 rejects ptys) go through POSIX termios; real ports through libserialport.
public enum SerialConnection {
    /// Option keys of `serial:`.
    public static let options = ["baud"]

    /// Reopens the same path after a disconnect, as soon as the device reappears there (a USB
    /// device re-enumerating, a cable replugged), for up to `window`; the client records the
    /// disconnect, the reconnect and the requests resent.
    public static func reconnector(_ connection: ConnectionString, window: Duration = .seconds(10)) -> BoardClient.Reconnector {
        { (failed: any Transport) async throws(TransportError) -> any Transport in
            await failed.close()
            let deadline = ContinuousClock.now + window
            var last = TransportError.disconnected(TransportErrorContext(endpoint: connection.description, operation: .open), reason: "not yet reopened")
            while ContinuousClock.now < deadline {
                do throws(ConnectionError) {
                    return try open(connection)
                } catch {
                    last = .openFailed(TransportErrorContext(endpoint: connection.description, operation: .open), errno: 0, reason: error.description)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            throw last
        }
    }

    /// A transport for `connection`.
    public static func open(_ connection: ConnectionString) throws(ConnectionError) -> any Transport {
        try connection.rejectUnknownOptions(options)
        guard connection.location.hasPrefix("/") else {
            throw .malformed(connection.description, reason: "serial needs a device path, e.g. serial:/dev/ttyACM0")
        }
        let baud = try connection.value("baud", as: Int.self) ?? 115_200
        guard baud > 0 else { throw .badOption(connection.description, key: "baud", value: "\(baud)", expected: "a positive baud rate") }
        let path = connection.location
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
    /// `hello()` on the client first.
    public static func open(_ text: String, configuration: BoardClient.Configuration = BoardClient.Configuration()) throws(ConnectionError) -> BoardSession {
        let connection = try ConnectionString(parsing: text)
        switch connection.scheme {
        case "sim":
            guard connection.location.isEmpty else {
                throw .malformed(text, reason: "sim takes options after '?', e.g. sim:?seed=7, not '\(connection.location)'")
            }
            let board = VirtualBoard(config: try SimulatorOptions.config(from: connection))
            return BoardSession(client: inProcessClient(for: board, configuration: configuration), virtualBoard: board, connection: connection)
        case "serial":
            let transport = try SerialConnection.open(connection)
            let client = BoardClient(transport: transport, configuration: configuration, reconnect: SerialConnection.reconnector(connection))
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
