import LandauerDrivers
import LandauerFirmware
import LandauerSimulators
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Which virtual SCPI instrument `landauer sim bench` adds.
public enum VirtualSCPIKind: String, Sendable, CaseIterable {
    /// A Keysight N6705-style DC power analyzer.
    case analyzer = "n6705"
    /// A Keithley 2450-style source-measure unit.
    case sourceMeter = "2450"
}

/// The endpoints of a running virtual bench, printed as the first JSON line of `landauer sim bench`.
public struct VirtualBenchEndpoints: Codable, Sendable, Equatable {
    /// Serial path of the board (a pseudo-terminal).
    public var board: String
    /// Serial path of the virtual PPK2, when started.
    public var ppk2: String?
    /// `host:port` of the SCPI instrument's raw socket, when started.
    public var scpi: String?
    /// Serial path of the SCPI instrument, when started.
    public var scpiPty: String?

    enum CodingKeys: String, CodingKey {
        case board, ppk2, scpi
        case scpiPty = "scpi_pty"
    }
}

/// Virtual devices behind real byte endpoints — pseudo-terminals and a loopback TCP port — in real
/// time, so a host sees what a bench shows: a board on one serial port, a meter on another.
///
/// The board's virtual clock follows the wall clock: before it handles bytes, and whenever a meter
/// asks for the current up to now, it idles until virtual time catches up with real time.
public final class VirtualBench: Sendable {
    /// The simulated board.
    public let board: VirtualBoard
    /// Where the devices can be reached.
    public let endpoints: VirtualBenchEndpoints
    let boardPTY: PseudoTerminalPair
    let scpiPTY: PseudoTerminalPair?
    let listener: TCPListener?
    let scpiDevice: SCPIEndpoint?
    let started: ContinuousClock.Instant
    /// The virtual PPK2 on the board's supply, when started.
    public let ppk2: VirtualPPK2Port?

    /// Builds the bench: a board from `config`, and, on request, an SCPI instrument and a virtual
    /// PPK2 (`ppk2`: its configuration; `VirtualBench.ppk2Config(for:)` makes one whose reported VDD
    /// is the board's supply voltage).
    ///
    /// With `board`, the bench serves an existing board (its `config` is then ignored) and keeps its
    /// clock where it is: a new bench on the same board is the board plugged in again.
    public init(config: VirtualBoardConfig, scpi: VirtualSCPIKind? = nil, scpiPort: UInt16 = 0,
                ppk2: VirtualPPK2Config? = nil, board existing: VirtualBoard? = nil) throws(TransportError) {
        let board = existing ?? VirtualBoard(config: config)
        self.board = board
        let started = ContinuousClock.now - .nanoseconds(Int64(board.now.nanoseconds))
        self.started = started
        boardPTY = try PseudoTerminalPair.open()
        var endpoints = VirtualBenchEndpoints(board: boardPTY.slavePath)
        if let ppk2 {
            let port = try VirtualPPK2Port(board: board, config: ppk2) { VirtualBench.catchUp(board, started: started) }
            self.ppk2 = port
            endpoints.ppk2 = port.path
        } else {
            self.ppk2 = nil
        }
        if let scpi {
            let pty = try PseudoTerminalPair.open()
            let listener = try TCPListener(host: "127.0.0.1", port: scpiPort)
            let probe = VirtualBench.realTimeProbe(board: board, started: started)
            scpiDevice = SCPIEndpoint(scpi == .analyzer ? .analyzer(SCPIDevice(model: VirtualPowerAnalyzer(probe: probe))) : .sourceMeter(SCPIDevice(model: VirtualSourceMeter(probe: probe))))
            scpiPTY = pty
            self.listener = listener
            endpoints.scpi = "\(listener.host):\(listener.port)"
            endpoints.scpiPty = pty.slavePath
        } else {
            scpiPTY = nil
            listener = nil
            scpiDevice = nil
        }
        self.endpoints = endpoints
    }

    /// Virtual time that corresponds to now on the wall clock.
    func wallTime() -> VirtualTime {
        let d = ContinuousClock.now - started
        return VirtualTime(rounding: d.inSeconds)
    }

    /// Lets the board idle until its clock reaches the wall clock.
    func catchUp() {
        Self.catchUp(board, started: started)
    }

    /// Lets `board` idle until its clock reaches the wall clock since `started`.
    static func catchUp(_ board: VirtualBoard, started: ContinuousClock.Instant) {
        let target = VirtualTime(rounding: (ContinuousClock.now - started).inSeconds)
        let now = board.now
        if target > now { board.advance(by: (target - now).seconds) }
    }

    /// A virtual PPK2 configuration (`VirtualPPK2Config.default` otherwise) whose metadata reports the
    /// board's supply voltage as VDD, so Nordic's connect sequence sets the regulator to it.
    public static func ppk2Config(for board: VirtualBoardConfig, base: VirtualPPK2Config = .default) -> VirtualPPK2Config {
        var config = base
        let mv = Int((board.supplyVoltage.value * 1000).rounded())
        config.metadata.vdd = min(max(mv, 800), 5000)
        return config
    }

    /// A probe on the board's supply in real time: an acquisition waits for the wall clock.
    static func realTimeProbe(board: VirtualBoard, started: ContinuousClock.Instant) -> SupplyProbe {
        var probe = SupplyProbe.board(board)
        probe.wait = { t in
            // Sleep (this thread only) until the wall clock has passed t, then bring the board there.
            while true {
                let wall = VirtualTime(rounding: (ContinuousClock.now - started).inSeconds)
                if wall >= t { break }
                let left = (t - wall).seconds.value
                usleep(UInt32(min(max(left * 1e6, 100), 50_000)))
            }
            let now = board.now
            if t > now { board.advance(by: (t - now).seconds) }
        }
        return probe
    }

    /// Serves every endpoint until the task is cancelled.
    public func serve() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.serveBoard() }
            if let ppk2 { group.addTask { await ppk2.serve() } }
            if let pty = scpiPTY, let device = scpiDevice {
                group.addTask { await Self.serveBytes(pty.masterTransport(), handler: device.receive) }
            }
            if let listener, let device = scpiDevice {
                group.addTask {
                    await withTaskGroup(of: Void.self) { connections in
                        while !Task.isCancelled {
                            guard let connection = try? await listener.accept(timeout: .milliseconds(250)) else { continue }
                            connections.addTask { await Self.serveBytes(connection, handler: device.receive) }
                        }
                    }
                }
            }
            await group.waitForAll()
        }
        listener?.close()
    }

    func serveBoard() async {
        let board = self.board
        await Self.serveBytes(boardPTY.masterTransport()) { bytes in
            self.catchUp()
            return board.receive(bytes)
        }
    }

    /// Reads from `transport`, answers with `handler`, until cancelled or the peer goes for good.
    static func serveBytes(_ transport: any Transport, handler: @escaping @Sendable ([UInt8]) -> [UInt8]) async {
        defer { Task { await transport.close() } }
        while !Task.isCancelled {
            do {
                let bytes = try await transport.read(maxCount: 65_536, timeout: .milliseconds(250))
                let reply = handler(bytes)
                if !reply.isEmpty { try await transport.write(reply, timeout: .seconds(5)) }
            } catch {
                switch error {
                case .timeout: continue
                case .disconnected:
                    // A pty master reports a hang-up while no one holds the slave open: wait for a client.
                    try? await Task.sleep(for: .milliseconds(50))
                default:
                    return
                }
            }
        }
    }
}

/// One of the virtual SCPI instruments behind one lock, shared by its socket and its pty.
final class SCPIEndpoint: Sendable {
    enum Kind: Sendable {
        case analyzer(SCPIDevice<VirtualPowerAnalyzer>)
        case sourceMeter(SCPIDevice<VirtualSourceMeter>)
    }
    let state: Mutex<Kind>
    init(_ kind: Kind) { state = Mutex(kind) }

    @Sendable func receive(_ bytes: [UInt8]) -> [UInt8] {
        state.withLock { kind in
            switch kind {
            case .analyzer(var d):
                let out = d.receive(bytes)
                kind = .analyzer(d)
                return out
            case .sourceMeter(var d):
                let out = d.receive(bytes)
                kind = .sourceMeter(d)
                return out
            }
        }
    }
}
