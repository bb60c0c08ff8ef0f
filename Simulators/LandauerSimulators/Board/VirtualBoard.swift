import LandauerFirmware
import Synchronization

/// A whole simulated board: the real `FirmwareEngine` running on a `VirtualFrontEnd`, behind a
/// modelled link.
///
/// Link model: bytes arriving from the host take `count / linkBytesPerSecond` of virtual time,
/// during which the core sleeps; then the engine handles them (its own cycle costs and the
/// analog work advance the clock); each response frame then takes its transfer time back, again
/// with the core asleep. Transfers and processing are sequential (no overlap of an incoming
/// frame with the previous frame's work), a slight overestimate of time for pipelined hosts.
/// Host think time between requests is `advance(by:)`: idle, quiescent plus sleep power.
///
/// Concurrency: the board is a class shared by reference, and its whole state (engine, front
/// end, clock, ledger, waveform) sits behind one `Mutex`, so every method is atomic with respect
/// to the others and the type is genuinely `Sendable` (no `@unchecked`). Responses are handed
/// to `send` after the lock is released.
public final class VirtualBoard: Sendable {
    /// The configuration the board was built from.
    public let config: VirtualBoardConfig
    private let picosecondsPerByte: UInt64
    private let state: Mutex<FirmwareEngine<VirtualFrontEnd>>

    /// Powers up a board built from `config`; the engine answers up to `retransmitDepth`
    /// recent requests from its cache.
    public init(config: VirtualBoardConfig = .default, retransmitDepth: Int = 4) {
        self.config = config
        picosecondsPerByte = UInt64((1e12 / config.linkBytesPerSecond).rounded())
        state = Mutex(FirmwareEngine(frontEnd: VirtualFrontEnd(config: config), retransmitDepth: retransmitDepth))
    }

    // MARK: Link

    /// Bytes arriving from the host; returns every response byte the board sends back (whole
    /// encoded frames with their delimiters), in order.
    public func receive(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        receive(bytes) { out.append(contentsOf: $0) }
        return out
    }

    /// Bytes arriving from the host; calls `send` with each encoded response frame (0x00
    /// delimiter included), in order, after the board has finished with the bytes.
    public func receive(_ bytes: [UInt8], send: ([UInt8]) -> Void) {
        let perByte = picosecondsPerByte
        let responses: [[UInt8]] = state.withLock { engine in
            var responses: [[UInt8]] = []
            // Feed frame by frame (up to and including each delimiter), so each frame's transfer
            // time comes before its processing and its response's transfer after.
            var start = 0
            var k = 0
            while k < bytes.count {
                if bytes[k] == 0 || k == bytes.count - 1 {
                    let piece = start == 0 && k == bytes.count - 1 ? bytes : Array(bytes[start...k])
                    engine.frontEnd.idle(for: VirtualTime(picoseconds: UInt64(piece.count) * perByte))
                    var produced: [[UInt8]] = []
                    engine.receive(piece) { produced.append($0) }
                    for r in produced {
                        engine.frontEnd.idle(for: VirtualTime(picoseconds: UInt64(r.count) * perByte))
                        responses.append(r)
                    }
                    start = k + 1
                }
                k += 1
            }
            return responses
        }
        for r in responses { send(r) }
    }

    /// Host think time: the board idles (core asleep) for `duration`.
    public func advance(by duration: Seconds) {
        state.withLock { $0.frontEnd.advance(by: duration) }
    }

    // MARK: Ground truth

    /// The virtual time now.
    public var now: VirtualTime { state.withLock { $0.frontEnd.now } }

    /// A copy of the energy ledger.
    public var ledger: EnergyLedger { state.withLock { $0.frontEnd.ledger } }

    /// A copy of the supply waveform (all kept bins).
    public var waveform: SupplyWaveform { state.withLock { $0.frontEnd.waveform } }

    /// Hands out the completed bins of the supply waveform up to `time` (default: now); this is
    /// how a virtual power meter consumes the board's current.
    public func drainSupplyWaveform(upTo time: VirtualTime? = nil) -> SupplyWaveformChunk {
        state.withLock { $0.frontEnd.drainSupplyWaveform(upTo: time) }
    }

    /// Energy drawn from the supply over `span`, computed under the board's lock without copying
    /// the waveform; nil when part of the span has left the kept bins (see `SupplyWaveform`).
    public func supplyEnergy(over span: Range<VirtualTime>) -> Joules? {
        state.withLock { $0.frontEnd.waveform.energy(over: span) }
    }

    /// Every change of the marker lines so far.
    public var markerHistory: [MarkerEvent] { state.withLock { $0.frontEnd.markerHistory } }

    /// The marker lines now.
    public var markers: UInt8 { state.withLock { $0.frontEnd.markers } }

    /// A copy of the tiles (ground-truth conductances and states).
    public var tiles: [CrossbarTile] { state.withLock { $0.frontEnd.tiles } }

    /// The firmware's activity counters.
    public var counters: Counters { state.withLock { $0.currentCounters } }

    /// Runs `body` on the front end under the board's lock: for test set-up (setting
    /// conductances, changing the temperature) and for reading several things consistently.
    public func withFrontEnd<R: Sendable>(_ body: (inout VirtualFrontEnd) -> R) -> R {
        state.withLock { body(&$0.frontEnd) }
    }
}
