import LandauerDrivers
import LandauerFirmware
import LandauerSimulators
import Synchronization

/// The virtual PPK2 of a `VirtualBench`: a `VirtualPPK2` on a pseudo-terminal of its own, on the
/// board's supply, streaming in real time.
///
/// Commands are answered as the device answers them. While sampling, a pacer wakes every few
/// milliseconds, lets the board's clock catch up with the wall clock, and writes every sample whose
/// 10 µs has passed: the mean of the board's supply current over that interval (read from the
/// board's waveform without draining it, so an SCPI meter on the same bench still sees it), with the
/// logic inputs D0…D7 wired to the board's marker lines at the sample's start. When the host does
/// not read fast enough and more than `backlogLimit` bytes wait, whole 512-sample blocks are
/// dropped, as the firmware does when USB cannot keep up; their counter values are used up.
///
/// `unplug()` closes the pseudo-terminal (the host's reads fail as on a pulled cable); `replug()`
/// powers up a fresh unit on a new pseudo-terminal.
public final class VirtualPPK2Port: Sendable {
    /// The board whose supply the unit measures.
    let board: VirtualBoard
    let config: VirtualPPK2Config
    let catchUp: @Sendable () -> Void
    /// Bytes waiting to be written above which sample blocks are dropped (default: 0.25 s of samples).
    let backlogLimit: Int
    let state: Mutex<PortState>

    struct PortState: Sendable {
        var ppk2: VirtualPPK2
        var pty: PseudoTerminalPair
        var transport: TermiosTransport?
        var plug = 0
        var outgoing: [UInt8] = []
        /// Board time of the next sample to produce (a multiple of 10 µs), while sampling.
        var nextBoardTime: VirtualTime?
        /// Board time minus the unit's own sample time, fixed at AverageStart.
        var boardOffset: UInt64 = 0
        var markerCursor = 0
        var markerValue: UInt8 = 0
        var droppedBlocks = 0
        /// A reference load switched onto the output instead of the board: the current it draws.
        var load: Amperes?
    }

    static let period: UInt64 = PPK2Sample.periodNanoseconds * 1000  // picoseconds
    /// Most samples produced in one step (0.1 s of sampling).
    static let maxPerTick = 10_000

    init(board: VirtualBoard, config: VirtualPPK2Config, backlogLimit: Int = 100_000, catchUp: @escaping @Sendable () -> Void) throws(TransportError) {
        self.board = board
        self.config = config
        self.catchUp = catchUp
        self.backlogLimit = backlogLimit
        let pty = try PseudoTerminalPair.open()
        state = Mutex(PortState(ppk2: VirtualPPK2(config: config), pty: pty, transport: pty.masterTransport()))
    }

    /// The slave path a host opens now (it changes on `replug()`).
    public var path: String { state.withLock { $0.pty.slavePath } }

    /// Sample blocks (512 samples) dropped because the host did not keep up.
    public var droppedBlocks: Int { state.withLock { $0.droppedBlocks } }

    /// Samples the unit measured since its last power-up (sent or dropped).
    public var measuredCount: UInt64 { state.withLock { $0.ppk2.measuredCount } }

    /// Switches a reference load onto the unit's output in place of the board (`current` is what
    /// it draws: V/R of the actual resistor), or the board back (nil). What a person does with a
    /// load bank when `landauer calibrate --meter ppk2:… --loads …` asks.
    public func connectLoad(drawing current: Amperes?) {
        state.withLock { $0.load = current }
    }

    /// Pulls the cable: closes the pseudo-terminal; the host's reads and writes then fail.
    public func unplug() async {
        let transport = state.withLock { s -> TermiosTransport? in
            let t = s.transport
            s.transport = nil
            s.outgoing = []
            s.nextBoardTime = nil
            return t
        }
        await transport?.close()
    }

    /// Plugs a freshly powered unit in again, on a new pseudo-terminal; returns its slave path.
    @discardableResult
    public func replug() async throws(TransportError) -> String {
        await unplug()
        let pty = try PseudoTerminalPair.open()
        let config = self.config
        return state.withLock { s in
            s.ppk2 = VirtualPPK2(config: config)
            s.pty = pty
            s.transport = pty.masterTransport()
            s.plug += 1
            s.markerCursor = 0
            s.markerValue = 0
            return pty.slavePath
        }
    }

    /// Serves whatever unit is plugged in, until the task is cancelled.
    func serve() async {
        while !Task.isCancelled {
            let current = state.withLock { s in s.transport.map { ($0, s.plug) } }
            guard let (transport, plug) = current else {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.readCommands(transport, plug: plug) }
                group.addTask { await self.pace(transport, plug: plug) }
                await group.waitForAll()
            }
        }
    }

    private func isCurrent(_ plug: Int) -> Bool { state.withLock { $0.plug == plug && $0.transport != nil } }

    /// Reads command bytes and hands them to the unit; replies go out through the pacer.
    private func readCommands(_ transport: TermiosTransport, plug: Int) async {
        while !Task.isCancelled && isCurrent(plug) {
            do {
                let bytes = try await transport.read(maxCount: 4096, timeout: .milliseconds(100))
                receive(bytes)
            } catch {
                switch error {
                case .timeout: continue
                case .disconnected: try? await Task.sleep(for: .milliseconds(20))  // no host has the slave open
                default: return
                }
            }
        }
    }

    /// Feeds command bytes to the unit, starting the sample clock on AverageStart.
    func receive(_ bytes: [UInt8]) {
        catchUp()
        let now = board.now
        state.withLock { s in
            // Samples due before these commands (an AverageStop ends the stream after them).
            generate(&s, boardNow: now)
            let wasSampling = s.ppk2.isSampling
            s.outgoing += s.ppk2.receive(bytes)
            if s.ppk2.isSampling && !wasSampling {
                // The first sample starts at the next 10 µs boundary of board time.
                let start = (now.picoseconds + Self.period - 1) / Self.period * Self.period
                s.nextBoardTime = VirtualTime(picoseconds: start)
                s.boardOffset = start &- s.ppk2.sampleTime.picoseconds
            } else if !s.ppk2.isSampling {
                s.nextBoardTime = nil
            }
        }
    }

    /// Every few milliseconds: produce the samples wall time says are due, and write what waits.
    private func pace(_ transport: TermiosTransport, plug: Int) async {
        while !Task.isCancelled && isCurrent(plug) {
            let bytes = produce()
            if !bytes.isEmpty {
                do {
                    try await transport.write(bytes, timeout: .milliseconds(200))
                } catch {
                    switch error {
                    case .timeout(let context):
                        // Keep what was not sent, in front of anything newer.
                        let sent = context.bytesTransferred
                        state.withLock { s in s.outgoing.insert(contentsOf: bytes[sent...], at: 0) }
                    case .disconnected:
                        try? await Task.sleep(for: .milliseconds(20))
                    default:
                        return
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Takes the bytes waiting to be written, after adding the samples now due.
    func produce() -> [UInt8] {
        // Every tick, sampling or not: the board's clock stays on the wall clock, so a command never
        // waits for a long stretch of idle time to be booked first.
        catchUp()
        let boardNow = board.now
        return state.withLock { s -> [UInt8] in
            generate(&s, boardNow: boardNow)
            let out = s.outgoing
            s.outgoing = []
            return out
        }
    }

    /// Adds to `s.outgoing` every sample whose 10 µs has passed on the board's clock (`boardNow`).
    private func generate(_ s: inout PortState, boardNow: VirtualTime) {
        let period = Self.period
        let voltage = board.config.supplyVoltage.value
        if let next = s.nextBoardTime, s.ppk2.isSampling {
            let end = boardNow.picoseconds / period * period
            if end > next.picoseconds {
                // At most `maxPerTick` at a time: a simulation slower than real time (a debug build on
                // a starved machine) then lags behind the wall clock but keeps writing, instead of
                // spending ever longer ticks catching up.
                let count = min(Int((end - next.picoseconds) / period), Self.maxPerTick)
                // A host that does not keep up loses whole blocks, as with the real firmware.
                if s.outgoing.count > backlogLimit {
                    let blocks = max(1, count / 512)
                    s.ppk2.dropSamples(blocks * 512)
                    s.droppedBlocks += blocks
                }
                let cursor = s.markerCursor
                let load = s.load
                let (currents, events) = board.withFrontEnd { fe -> ([Double], [MarkerEvent]) in
                    var currents = [Double]()
                    currents.reserveCapacity(count)
                    let scale = 1 / (voltage * Double(period) * 1e-12)
                    for n in 0..<count {
                        if let load {
                            currents.append(load.value)
                            continue
                        }
                        let t0 = VirtualTime(picoseconds: next.picoseconds + UInt64(n) * period)
                        let e = fe.waveform.energy(over: t0..<(t0 + VirtualTime(picoseconds: period)))
                        currents.append((e?.value ?? 0) * scale)
                    }
                    let history = fe.markerHistory
                    return (currents, cursor < history.count ? Array(history[cursor...]) : [])
                }
                let base = next.picoseconds
                let offset = s.boardOffset
                s.ppk2.source = .function { span in
                    let k = Int((span.lowerBound.picoseconds &+ offset &- base) / period)
                    return Amperes(k >= 0 && k < currents.count ? currents[k] : 0)
                }
                // Split at marker changes: each sample carries the lines at its start.
                var done = 0
                var e = 0
                while done < count {
                    let t = base + UInt64(done) * period
                    while e < events.count && events[e].time.picoseconds <= t {
                        s.markerValue = events[e].value
                        e += 1
                    }
                    var run = count - done
                    if e < events.count {
                        let change = events[e].time.picoseconds
                        // Samples starting before the next change keep the present value.
                        let until = Int((change - t + period - 1) / period)
                        run = min(run, max(until, 1))
                    }
                    s.ppk2.logicInputs = s.markerValue
                    s.outgoing += s.ppk2.samples(count: run)
                    done += run
                }
                s.markerCursor = cursor + e
                s.nextBoardTime = VirtualTime(picoseconds: base + UInt64(count) * period)
            }
        }
    }
}
