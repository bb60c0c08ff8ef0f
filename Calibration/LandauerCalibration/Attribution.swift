import LandauerFirmware

/// The phases a run goes through, as the board shows them on its marker lines.
public enum Phase: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Nothing marked: the board idles (or the host works between operations).
    case idle = 0
    /// EqProp free phase (relaxation with β = 0).
    case free = 1
    /// EqProp nudged phase (relaxation with β ≠ 0).
    case nudged = 2
    /// Weight update (pulses).
    case update = 3
    /// Inference readout.
    case readout = 4
    /// Programming or write-and-verify outside training.
    case program = 5
    /// Characterisation or calibration work.
    case measure = 6
    /// Anything else the user marks.
    case other = 7

    public var description: String {
        switch self {
        case .idle: "idle"
        case .free: "free"
        case .nudged: "nudged"
        case .update: "update"
        case .readout: "readout"
        case .program: "program"
        case .measure: "measure"
        case .other: "other"
        }
    }
}

/// How run, epoch, batch and phase are put on the 8 marker lines (D0…D7 on a PPK2), so a meter
/// that samples the lines can cut its trace into named windows without asking the host:
///
/// | lines | meaning |
/// |---|---|
/// | D0–D2 | phase code (`Phase`) |
/// | D3 | batch parity: toggles at the start of every batch |
/// | D4 | epoch parity: toggles at the start of every epoch |
/// | D5 | run: high from the start to the end of the run |
/// | D6–D7 | free for the user |
public struct MarkerCode: Sendable, Equatable, Hashable {
    /// The phase.
    public var phase: Phase
    /// Batch parity (D3).
    public var batchParity: Bool
    /// Epoch parity (D4).
    public var epochParity: Bool
    /// Run line (D5).
    public var running: Bool
    /// User lines D6, D7 (bits 0–1).
    public var user: UInt8

    /// A code.
    public init(phase: Phase, batchParity: Bool = false, epochParity: Bool = false, running: Bool = true, user: UInt8 = 0) {
        self.phase = phase
        self.batchParity = batchParity
        self.epochParity = epochParity
        self.running = running
        self.user = user & 0x3
    }

    /// Code for `phase` of batch `batch` in epoch `epoch` (parities from the indices).
    public init(phase: Phase, epoch: Int, batch: Int, running: Bool = true) {
        self.init(phase: phase, batchParity: batch & 1 == 1, epochParity: epoch & 1 == 1, running: running)
    }

    /// Decodes the lines.
    public init(lines: UInt8) {
        phase = Phase(rawValue: lines & 0x7)!
        batchParity = lines & 0x08 != 0
        epochParity = lines & 0x10 != 0
        running = lines & 0x20 != 0
        user = lines >> 6
    }

    /// The value to drive on the lines (the board's MARKER request).
    public var lines: UInt8 {
        phase.rawValue | (batchParity ? 0x08 : 0) | (epochParity ? 0x10 : 0) | (running ? 0x20 : 0) | (user << 6)
    }
}

/// A named span of a trace with the raw sums that fall in it.
public struct EnergyWindow: Sendable, Equatable, Codable {
    /// What the window is.
    public enum Kind: String, Sendable, Codable, Equatable {
        case run, epoch, batch, phase
    }

    /// run, epoch, batch or phase.
    public var kind: Kind
    /// Run number (counting from 0 in the trace), epoch and batch indices within it, and for a
    /// phase window its phase; -1 where it does not apply.
    public var run: Int
    /// Epoch index within the run (from 0), -1 for a run window.
    public var epoch: Int
    /// Batch index within the epoch (from 0), -1 for run and epoch windows.
    public var batch: Int
    /// The phase, for a phase window.
    public var phase: Phase?
    /// Sample clock position of the start (a half sample when the edge was inside a sample).
    public var start: Double
    /// Sample clock position of the end.
    public var end: Double
    /// The raw sums inside.
    public var sums: RangeSums
    /// True when one of its edges fell inside a gap, so where it lies is known only to the gap.
    public var edgeInGap: Bool

    /// Duration in samples.
    public var length: Double { end - start }

    /// A path such as "run 0 / epoch 2 / batch 14 / nudged".
    public var name: String {
        var parts = ["run \(run)"]
        if epoch >= 0 { parts.append("epoch \(epoch)") }
        if batch >= 0 { parts.append("batch \(batch)") }
        if let phase { parts.append(phase.description) }
        return parts.joined(separator: " / ")
    }
}

/// Cuts a sampled current trace into nested windows — run, epoch, batch, phase — from the marker
/// lines sampled with each reading, accumulating each window's raw sums as samples stream in.
///
/// Edges: the lines are sampled at the start of each sample, so when sample n shows a new value,
/// the change happened during sample n − 1. That sample is split, half to the windows ending and
/// half to those starting, and recorded as an edge (its timing uncertainty is ±half its energy).
/// Gaps: missing samples are booked to the windows around them as missing (half to each side
/// when the lines changed across the gap, and those windows are marked `edgeInGap`).
/// Samples while the run line is low belong to no window; count them with `outside`.
public struct MarkerAttribution: Sendable {
    /// Windows closed so far, in the order they closed (phases before their batch, and so on).
    public private(set) var windows: [EnergyWindow] = []
    /// Raw sums of samples outside any run (run line low).
    public private(set) var outside = RangeSums()

    private struct Held: Sendable {
        var index: Int64
        var raw: Double
        var range: Int
        var code: MarkerCode
    }

    private var held: Held?
    private var runIndex = -1
    private var epochIndex = -1
    private var batchIndex = -1
    private var open: [EnergyWindow] = []  // run, epoch, batch, phase while running
    private var lastCode: MarkerCode?

    /// An empty attribution.
    public init() {}

    /// Feeds one sample: its index on the meter's sample clock (gaps are jumps), raw reading,
    /// range and marker lines. Indices must increase.
    public mutating func add(index: Int64, raw: Double, range: Int, lines: UInt8) {
        let code = MarkerCode(lines: lines)
        guard let h = held else {
            held = Held(index: index, raw: raw, range: range, code: code)
            transition(to: code, at: Double(index), edgeInGap: false)
            return
        }
        precondition(index > h.index, "sample indices must increase")
        let missing = Double(index - h.index - 1)
        if code == h.code {
            book(h.raw, range: h.range, weight: 1)
            if missing > 0 { bookMissing(missing) }
        } else {
            // The change happened during the held sample, or somewhere in the gap after it.
            if missing == 0 {
                // Half to the windows that end here, half to those that start here; a window that
                // continues through the change gets the whole sample (weight 1, not two halves,
                // whose squared weights would understate its noise), and no edge.
                let position = Double(h.index) + 0.5
                let wasOutside = open.isEmpty
                let closedBefore = windows.count
                transition(to: code, at: position, edgeInGap: false)
                for i in closedBefore..<windows.count {
                    windows[i].sums.add(h.raw, range: h.range, weight: 0.5)
                    windows[i].sums.addEdge(h.raw, range: h.range)
                }
                for i in open.indices {
                    if open[i].start == position {
                        open[i].sums.add(h.raw, range: h.range, weight: 0.5)
                        open[i].sums.addEdge(h.raw, range: h.range)
                    } else {
                        open[i].sums.add(h.raw, range: h.range, weight: 1)
                    }
                }
                let outsideShare = (wasOutside ? 0.5 : 0) + (open.isEmpty ? 0.5 : 0)
                if outsideShare > 0 { outside.add(h.raw, range: h.range, weight: outsideShare) }
            } else {
                book(h.raw, range: h.range, weight: 1)
                bookMissing(missing / 2)
                transition(to: code, at: Double(h.index) + 1 + missing / 2, edgeInGap: true)
                bookMissing(missing / 2)
            }
        }
        held = Held(index: index, raw: raw, range: range, code: code)
    }

    /// Books the last sample and closes every open window. Call once at the end of the trace.
    public mutating func finish() {
        if let h = held {
            book(h.raw, range: h.range, weight: 1)
            closeAll(at: Double(h.index) + 1)
        }
        held = nil
    }

    /// Windows of one kind.
    public func windows(_ kind: EnergyWindow.Kind) -> [EnergyWindow] { windows.filter { $0.kind == kind } }

    /// Sums of every phase window of `phase` (optionally of one epoch).
    public func total(_ phase: Phase, epoch: Int? = nil) -> RangeSums {
        var s = RangeSums()
        for w in windows where w.kind == .phase && w.phase == phase && (epoch == nil || w.epoch == epoch) {
            s = RangeSums.combine(s, w.sums, k: 1)
        }
        return s
    }

    // MARK: Internals

    private mutating func book(_ raw: Double, range: Int, weight: Double) {
        if open.isEmpty {
            outside.add(raw, range: range, weight: weight)
            return
        }
        for i in open.indices { open[i].sums.add(raw, range: range, weight: weight) }
    }

    private mutating func bookMissing(_ n: Double) {
        if open.isEmpty {
            outside.missing += n
            return
        }
        for i in open.indices { open[i].sums.missing += n }
    }

    /// Closes the windows that end at a change from `lastCode` to `code` and opens the new ones.
    private mutating func transition(to code: MarkerCode, at position: Double, edgeInGap: Bool) {
        defer { lastCode = code }
        guard code.running else {
            closeAll(at: position, edgeInGap: edgeInGap)
            return
        }
        guard let last = lastCode, last.running, !open.isEmpty else {
            // A run starts.
            closeAll(at: position, edgeInGap: edgeInGap)
            runIndex += 1
            epochIndex = 0
            batchIndex = 0
            openWindow(.run, at: position, edgeInGap: edgeInGap, phase: nil)
            openWindow(.epoch, at: position, edgeInGap: edgeInGap, phase: nil)
            openWindow(.batch, at: position, edgeInGap: edgeInGap, phase: nil)
            openWindow(.phase, at: position, edgeInGap: edgeInGap, phase: code.phase)
            return
        }
        if code.epochParity != last.epochParity {
            close(from: 1, at: position, edgeInGap: edgeInGap)
            epochIndex += 1
            batchIndex = 0
            openWindow(.epoch, at: position, edgeInGap: edgeInGap, phase: nil)
            openWindow(.batch, at: position, edgeInGap: edgeInGap, phase: nil)
            openWindow(.phase, at: position, edgeInGap: edgeInGap, phase: code.phase)
        } else if code.batchParity != last.batchParity {
            close(from: 2, at: position, edgeInGap: edgeInGap)
            batchIndex += 1
            openWindow(.batch, at: position, edgeInGap: edgeInGap, phase: nil)
            openWindow(.phase, at: position, edgeInGap: edgeInGap, phase: code.phase)
        } else if code.phase != last.phase {
            close(from: 3, at: position, edgeInGap: edgeInGap)
            openWindow(.phase, at: position, edgeInGap: edgeInGap, phase: code.phase)
        }
    }

    private mutating func openWindow(_ kind: EnergyWindow.Kind, at position: Double, edgeInGap: Bool, phase: Phase?) {
        open.append(
            EnergyWindow(
                kind: kind, run: runIndex, epoch: kind == .run ? -1 : epochIndex,
                batch: kind == .run || kind == .epoch ? -1 : batchIndex, phase: phase, start: position, end: position,
                sums: RangeSums(), edgeInGap: edgeInGap))
    }

    /// Closes open windows from depth `depth` (0 run, 1 epoch, 2 batch, 3 phase) inwards, innermost first.
    private mutating func close(from depth: Int, at position: Double, edgeInGap: Bool) {
        while open.count > depth {
            var w = open.removeLast()
            w.end = position
            w.edgeInGap = w.edgeInGap || edgeInGap
            windows.append(w)
        }
    }

    private mutating func closeAll(at position: Double, edgeInGap: Bool = false) {
        close(from: 0, at: position, edgeInGap: edgeInGap)
    }
}
