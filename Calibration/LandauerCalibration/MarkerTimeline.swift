import LandauerFirmware

/// Marker lines for a meter that has no logic inputs (an SCPI analyzer, a source-measure unit):
/// the board's acknowledgements of its MARKER requests carry its own timestamps; mapped onto the
/// meter's sample clock with the offset between the two clocks, they give each sample the lines
/// it would have carried. The offset has an uncertainty, so every edge does: it enters each
/// window's budget like the one-sample edge uncertainty of a meter with logic inputs.
public struct MarkerTimeline: Sendable, Equatable {
    /// Marker changes: board time (seconds since its boot) and the new line value, in order.
    public var events: [(time: Seconds, lines: UInt8)]

    public static func == (a: MarkerTimeline, b: MarkerTimeline) -> Bool {
        a.events.count == b.events.count && zip(a.events, b.events).allSatisfy { $0.time == $1.time && $0.lines == $1.lines }
    }

    /// A timeline from the board's marker acknowledgements (value, board timestamp in ns).
    public init(acknowledgements: [(lines: UInt8, nanoseconds: UInt64)]) {
        events = acknowledgements.map { (Seconds(Double($0.nanoseconds) * 1e-9), $0.lines) }.sorted { $0.0 < $1.0 }
    }

    /// The lines at board time `t` (0 before the first event).
    public func lines(at t: Seconds) -> UInt8 {
        var lo = 0, hi = events.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if events[mid].time <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? 0 : events[lo - 1].lines
    }

    /// The lines of samples `first..<first+count` of a meter sampling every `period`, whose sample
    /// 0 starts at board time `start` (the clocks' offset): each sample gets the lines at its start,
    /// as a meter with logic inputs would report them.
    public func lines(samples count: Int, first: Int64 = 0, start: Seconds, period: Seconds) -> [UInt8] {
        (0..<count).map { lines(at: start + period * Double(first + Int64($0))) }
    }
}
