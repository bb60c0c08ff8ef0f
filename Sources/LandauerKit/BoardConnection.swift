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
            throw .unsupportedScheme(text, scheme: "serial", reason: "serial transports arrive with the meters issue; use sim for now")
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
