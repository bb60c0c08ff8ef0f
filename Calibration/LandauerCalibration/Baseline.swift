import LandauerFirmware

/// The board's idle power, measured before and after a run, and what subtracting it leaves.
///
/// Both measurements are kept. The baseline used is their mean; the difference between them
/// (drift) enters the budget as a rectangular type B component of half-width |after − before|/2,
/// and a drift larger than `driftLimit` of the baseline is a warning.
public struct Baseline: Sendable, Equatable, Codable {
    /// Raw sums of the idle stretch before the run.
    public var before: RangeSums
    /// Raw sums of the idle stretch after the run.
    public var after: RangeSums
    /// Relative drift above which the run is flagged.
    public var driftLimit: Double

    /// A baseline from two idle stretches.
    public init(before: RangeSums, after: RangeSums, driftLimit: Double = 0.02) {
        self.before = before
        self.after = after
        self.driftLimit = driftLimit
    }

    /// Mean idle power of one stretch.
    public static func power(_ sums: RangeSums, _ evaluator: EnergyEvaluator) -> Watts {
        let n = sums.sampleCount
        guard n > 0 else { return .zero }
        return evaluator.energy(sums).value / (evaluator.period * n)
    }

    /// Idle power before the run.
    public func powerBefore(_ evaluator: EnergyEvaluator) -> Watts { Baseline.power(before, evaluator) }
    /// Idle power after the run.
    public func powerAfter(_ evaluator: EnergyEvaluator) -> Watts { Baseline.power(after, evaluator) }

    /// The relative drift (after − before)/mean.
    public func relativeDrift(_ evaluator: EnergyEvaluator) -> Double {
        let a = powerBefore(evaluator), b = powerAfter(evaluator)
        let mean = (a + b) / 2
        return mean.value == 0 ? 0 : (b - a) / mean
    }

    /// The dynamic energy of `window`: its energy less the baseline power over its duration,
    /// with the calibration's uncertainty propagated through the net sums and the drift added.
    public func dynamicEnergy(of window: RangeSums, _ evaluator: EnergyEvaluator) -> EnergyFigure {
        let nb = before.sampleCount, na = after.sampleCount
        guard nb > 0 || na > 0 else { return evaluator.energy(window) }
        // Baseline power as the mean of the two stretches' mean powers (each stretch weighted equally).
        let duration = window.sampleCount + window.missing
        var idle = RangeSums()
        if nb > 0 { idle = RangeSums.combine(idle, before, k: (na > 0 ? 0.5 : 1) * duration / nb) }
        if na > 0 { idle = RangeSums.combine(idle, after, k: (nb > 0 ? 0.5 : 1) * duration / na) }
        // The window's gaps are not in its energy; the baseline's share for them is removed too,
        // and the gap bound stays with the window.
        idle.missing = 0
        var net = RangeSums.combine(window, idle.scaled(by: window.sampleCount / max(duration, 1e-300)), k: -1)
        net.missing = window.missing
        var figure = evaluator.energy(net)
        figure.samples = window.sampleCount  // the samples it rests on, not the net weight (≈ 0)
        if nb > 0 && na > 0 {
            let a = powerBefore(evaluator), b = powerAfter(evaluator)
            let halfWidth = abs((b - a).value) / 2 * evaluator.period.value * window.sampleCount
            figure.budget.add("baseline drift (type B, rectangular, half the before–after difference)", .typeB, halfWidth / 3.squareRoot())
            let drift = relativeDrift(evaluator)
            if abs(drift) > driftLimit {
                figure.warnings.append("idle power drifted by \(SignificantDigits.plain(drift * 100, digits: 2)) % between before and after the run (limit \(SignificantDigits.plain(driftLimit * 100, digits: 2)) %)")
            }
        }
        return figure
    }
}
