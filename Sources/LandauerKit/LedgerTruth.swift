import LandauerCalibration
import LandauerFirmware
import LandauerSimulators

/// The simulator's ledger cut at the board's own marker edges: what a perfect meter would have
/// attributed to the run and to each of its phases. For comparison only — a host never reads it
/// during a run.
public struct LedgerTruth: Sendable {
    /// The marker edges from the run line's rise to its fall.
    public let edges: [MarkerEvent]
    /// The board's idle power (quiescent rails and the MCU asleep).
    public let idlePower: Watts

    /// The first run on `board`, or nil when its run line never rose and fell.
    public init?(board: VirtualBoard) {
        let events = board.markerHistory
        guard let start = events.firstIndex(where: { MarkerCode(lines: $0.value).running }),
              let end = events.lastIndex(where: { !MarkerCode(lines: $0.value).running }), end > start
        else { return nil }
        edges = Array(events[start...end])
        idlePower = board.config.quiescentPower + board.config.mcuSleepPower
    }

    /// The run's energy.
    public var energy: Joules { edges[edges.count - 1].energy - edges[0].energy }
    /// The run's duration.
    public var duration: Seconds { (edges[edges.count - 1].time - edges[0].time).seconds }
    /// The run's energy less the idle power over its duration.
    public var dynamicEnergy: Joules { energy - idlePower * duration }

    /// Each phase window in order: its duration and energy (edge k to edge k + 1).
    public var windows: [(phase: Phase, duration: Seconds, energy: Joules)] {
        (0..<(edges.count - 1)).map { k in
            (MarkerCode(lines: edges[k].value).phase, (edges[k + 1].time - edges[k].time).seconds, edges[k + 1].energy - edges[k].energy)
        }
    }

    /// The energy of every window of each phase together.
    public var energyByPhase: [Phase: Joules] {
        var d: [Phase: Joules] = [:]
        for w in windows { d[w.phase, default: .zero] += w.energy }
        return d
    }
}
