import Foundation
import LandauerCalibration
import LandauerFirmware

// Shared helpers of the calibration-core tests: seeded normal deviates, statistics of Monte Carlo
// draws, comparisons with a tolerance, and small calibration fixtures.

/// Normal deviates from a seeded SplitMix64 by the Box–Muller transform (both deviates used).
struct SeededNormal {
    private var generator: SplitMix64
    private var spare: Double?

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// Uniform in (0, 1].
    mutating func openUniform() -> Double { 1 - generator.uniform() }

    /// Uniform in [a, b).
    mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * generator.uniform() }

    /// A standard normal deviate.
    mutating func next() -> Double {
        if let s = spare {
            spare = nil
            return s
        }
        let r = (-2 * Foundation.log(openUniform())).squareRoot()
        let phi = 2 * Double.pi * generator.uniform()
        spare = r * Foundation.sin(phi)
        return r * Foundation.cos(phi)
    }

    /// A normal deviate with mean `mean` and standard deviation `sd`.
    mutating func next(mean: Double, sd: Double) -> Double { mean + sd * next() }
}

/// |a − b| ≤ tolerance·|b|.
func isClose(_ a: Double, _ b: Double, relative tolerance: Double) -> Bool { abs(a - b) <= tolerance * abs(b) }

/// |a − b| ≤ tolerance.
func isClose(_ a: Double, _ b: Double, absolute tolerance: Double) -> Bool { abs(a - b) <= tolerance }

/// Sample mean.
func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

/// Unbiased sample covariance of paired draws.
func sampleCovariance(_ xs: [Double], _ ys: [Double]) -> Double {
    let mx = mean(xs), my = mean(ys)
    var s = 0.0
    for i in xs.indices { s += (xs[i] - mx) * (ys[i] - my) }
    return s / Double(xs.count - 1)
}

/// Unbiased sample variance.
func sampleVariance(_ xs: [Double]) -> Double { sampleCovariance(xs, xs) }

/// The standard uncertainty of the budget component named `prefix…`, nil when absent.
func component(_ budget: UncertaintyBudget, _ prefix: String) -> UncertaintyComponent? {
    budget.components.first { $0.name.hasPrefix(prefix) }
}

/// Reference loads and a meter model used across the calibration tests.
enum CalibrationFixture {
    /// The reference voltage the loads are driven at.
    static let voltage = Volts(1)

    /// Five resistors from 0.1 mA to 2 mA at 1 V, each certified to `relative` (standard), and
    /// optionally the open position.
    static func loads(relative: Double, includeOpen: Bool) -> [ReferenceLoad] {
        let ohms: [Double] = [10_000, 5_000, 2_000, 1_000, 500]
        var loads = ohms.enumerated().map { i, r in
            ReferenceLoad(name: "R\(i + 1)", resistance: Ohms(r), standardUncertainty: Ohms(r * relative))
        }
        if includeOpen { loads.insert(.open, at: 0) }
        return loads
    }

    /// Observations of `loads` by a meter reading raw = gain·true + offset.
    ///
    /// `noise` is the single-sample standard deviation stated in each observation (the sample
    /// count is `count`); with `rng` the means scatter by noise/√count and, when
    /// `drawReferences` is set, each load's actual resistance and the actual voltage are drawn
    /// from their certificates. Without `rng` the means lie exactly on the line.
    static func observations(
        loads: [ReferenceLoad], range: Int = 0, gain: Double, offset: Double, noise: Double, count: Int,
        voltageRelativeUncertainty: Double = 0, rng: inout SeededNormal?, drawReferences: Bool = false
    ) -> [CalibrationObservation] {
        var v = voltage.value
        if drawReferences, rng != nil { v = rng!.next(mean: v, sd: v * voltageRelativeUncertainty) }
        return loads.map { load in
            var current = 0.0
            if let r = load.resistance?.value {
                var actual = r
                if drawReferences, rng != nil { actual = rng!.next(mean: r, sd: load.standardUncertainty.value) }
                current = v / actual
            }
            var reading = gain * current + offset
            if rng != nil { reading += rng!.next(mean: 0, sd: noise / Double(count).squareRoot()) }
            return CalibrationObservation(
                load: load, range: range, mean: Amperes(reading), standardDeviation: Amperes(noise), count: count)
        }
    }

    /// A range calibration with exactly the given parameters.
    static func range(
        _ range: Int, gain: Double, offset: Double, covarianceA: [Double] = [0, 0, 0], covarianceB: [Double] = [0, 0, 0],
        sampleNoise: Double = 0
    ) -> RangeCalibration {
        RangeCalibration(
            range: range, gain: gain, offset: Amperes(offset), covarianceA: covarianceA, covarianceB: covarianceB,
            sampleNoise: Amperes(sampleNoise), reducedChiSquare: nil, points: 6)
    }

    /// A meter calibration holding `ranges`.
    static func meter(_ ranges: [RangeCalibration], resolution: [Amperes] = [], id: String = "cal-test") -> MeterCalibration {
        MeterCalibration(
            id: id, date: Seconds(1_700_000_000), due: Seconds(1_700_000_000 + 180 * 86_400),
            instrument: InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: "C2F1"),
            method: "test fixture", voltage: voltage, voltageRelativeUncertainty: 0, ranges: ranges, resolution: resolution)
    }
}
