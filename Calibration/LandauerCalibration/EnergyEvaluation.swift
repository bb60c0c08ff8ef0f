import LandauerFirmware

/// An energy with everything a report needs beside the number: the GUM budget (k = 2), the
/// samples it rests on, the samples missing and the bound they put on it, and what to warn about.
public struct EnergyFigure: Sendable, Equatable, Codable {
    /// The best estimate, from the samples present.
    public var value: Joules
    /// The uncertainty budget of `value` (standard uncertainties; expanded with its coverage factor).
    public var budget: UncertaintyBudget
    /// Samples the figure rests on.
    public var samples: Double
    /// Samples missing inside the window (gaps); their energy is not in `value`.
    public var missingSamples: Double
    /// Where the energy of the window lies when the gaps are counted: from `value` plus the least
    /// the missing samples could hold to `value` plus the most (the meter's full scale) — a bound,
    /// never a filled-in guess. Equal to `value…value` without gaps.
    public var gapBound: ClosedRange<Joules>
    /// Things the reader must know (uncalibrated ranges, gaps, expired calibration…).
    public var warnings: [String]

    /// The expanded uncertainty U = k·u_c.
    public var expandedUncertainty: Joules { Joules(budget.expanded) }
    /// The combined standard uncertainty u_c.
    public var standardUncertainty: Joules { Joules(budget.combined) }
    /// The k = 2 interval.
    public var interval: ClosedRange<Joules> { Joules(value.value - budget.expanded)...Joules(value.value + budget.expanded) }
}

/// Turns raw per-range sums of a current trace into calibrated energies with their uncertainty.
///
/// E = V·Δt·Σ_r (S_r − n_r·o_r)/g_r for a meter sampling current every Δt at supply voltage V,
/// S_r and n_r the raw sum and sample weight on range r, g_r and o_r that range's fitted gain and
/// offset. See docs/calibration.md for the budget's components.
public struct EnergyEvaluator: Sendable {
    /// What the meter's readings are.
    public enum Reading: Sendable, Equatable {
        /// Current, in amperes, drawn at the evaluator's supply voltage: E = V·Δt·Σ I.
        case current
        /// Power, in watts (an analyzer that multiplies voltage and current itself): E = Δt·Σ P.
        /// Calibration gains and offsets are then in watts of reading per watt.
        case power
    }

    /// What the readings are (current unless stated).
    public var reading: Reading = .current
    /// The supply voltage the current is drawn at (unused for power readings).
    public var voltage: Volts
    /// The sampling period.
    public var period: Seconds
    /// The calibration applied, or nil for the meter's own readings.
    public var calibration: MeterCalibration?
    /// Relative standard uncertainty assigned to a range the calibration does not cover (and to
    /// every range without a calibration): the meter's stated accuracy, taken as a type B
    /// rectangular half-width and divided by √3.
    public var uncalibratedRelativeAccuracy: Double
    /// The largest current the meter can report (bounds the energy a gap can hide).
    public var fullScale: Amperes
    /// Relative standard uncertainty of the supply voltage (it multiplies every energy).
    public var voltageRelativeUncertainty: Double

    /// An evaluator.
    public init(
        voltage: Volts, period: Seconds, calibration: MeterCalibration?, uncalibratedRelativeAccuracy: Double = 0.05,
        fullScale: Amperes = Amperes(1), voltageRelativeUncertainty: Double = 0
    ) {
        self.voltage = voltage
        self.period = period
        self.calibration = calibration
        self.uncalibratedRelativeAccuracy = uncalibratedRelativeAccuracy
        self.fullScale = fullScale
        self.voltageRelativeUncertainty = voltageRelativeUncertainty
    }

    /// The calibrated energy of `sums`.
    ///
    /// The same evaluator applied to a difference of sums (a window less its baseline) propagates
    /// the calibration's uncertainty with its correlation: gain and offset errors act on the net sums.
    public func energy(_ sums: RangeSums) -> EnergyFigure {
        let c = reading == .current ? voltage.value * period.value : period.value
        var value = 0.0
        var noise = 0.0, quantisation = 0.0, fitA = 0.0, reference = 0.0, uncalibrated = 0.0, timing = 0.0
        var warnings: [String] = []
        for r in sums.rangesUsed {
            let n = sums.counts[r], s = sums.sums[r]
            // A marker edge falls uniformly within its sample: that sample's energy E is split in
            // halves, wrong by at most ±E/2, rectangular: u² = E²/12 per edge.
            let gain = calibration?.fit(forRange: r)?.gain ?? 1
            timing += (c / gain) * (c / gain) * sums.edgeSquares[r] / 12
            if let fit = calibration?.fit(forRange: r) {
                let g = fit.gain, o = fit.offset.value
                let e = c * (s - n * o) / g
                value += e
                // Sensitivities of e to (g, o).
                let dg = -e / g, dO = -c * n / g
                func quad(_ m: [Double]) -> Double { dg * dg * m[0] + 2 * dg * dO * m[1] + dO * dO * m[2] }
                fitA += quad(fit.covarianceA)
                reference += quad(fit.covarianceB)
                let sigma = fit.sampleNoise.value
                noise += (c / g) * (c / g) * sigma * sigma * sums.varianceWeights[r]
                if let lsb = calibration?.resolution.indices.contains(r) == true ? calibration?.resolution[r].value : nil {
                    // Rounding to one ADC step, independent from sample to sample when the noise
                    // dithers it (σ ≥ ½ step); otherwise a systematic error of up to half a step.
                    let q = lsb / 12.squareRoot()
                    let perSample = (c / g) * q
                    quantisation += sigma >= lsb / 2 ? perSample * perSample * sums.varianceWeights[r] : perSample * perSample * n * n
                }
            } else {
                let e = c * s
                value += e
                let u = abs(e) * uncalibratedRelativeAccuracy / 3.squareRoot()
                uncalibrated += u * u
                if let calibration {
                    warnings.append("range \(r) is not covered by calibration \(calibration.id): ±\(percent(uncalibratedRelativeAccuracy)) assumed on its \(Int(n.rounded())) samples")
                } else if warnings.isEmpty {
                    warnings.append("no calibration: the meter's own readings, ±\(percent(uncalibratedRelativeAccuracy)) assumed")
                }
            }
        }
        var budget = UncertaintyBudget()
        budget.add("meter noise (type A, per sample, from the calibration's scatter)", .typeA, noise.squareRoot())
        if calibration != nil {
            budget.add("calibration fit (type A)", .typeA, fitA.squareRoot())
            budget.add("reference loads and voltage (type B, certificates)", .typeB, reference.squareRoot())
            budget.add("quantisation (type B, one ADC step, rectangular)", .typeB, quantisation.squareRoot())
        }
        if timing > 0 { budget.add("marker timing (type B, edge within one sample, rectangular)", .typeB, timing.squareRoot()) }
        if uncalibrated > 0 { budget.add("uncalibrated ranges (type B, stated accuracy, rectangular)", .typeB, uncalibrated.squareRoot()) }
        if voltageRelativeUncertainty > 0 && reading == .current { budget.add("supply voltage (type B)", .typeB, abs(value) * voltageRelativeUncertainty) }
        // Full scale is a current; for power readings it is taken at the supply voltage.
        let gapMax = sums.missing * voltage.value * period.value * fullScale.value
        if sums.missing > 0 {
            warnings.append("\(Int(sums.missing.rounded())) samples missing: the energy is bounded, not filled in")
        }
        let lower = value + min(0, gapMax), upper = value + max(0, gapMax)
        return EnergyFigure(
            value: Joules(value), budget: budget, samples: sums.sampleCount, missingSamples: sums.missing,
            gapBound: Joules(lower)...Joules(upper), warnings: warnings)
    }

    private func percent(_ x: Double) -> String { SignificantDigits.plain(x * 100, digits: 2) + " %" }
}

/// The same quantity measured several times (a workload repeated, a phase in every batch): the
/// mean, and its type A standard uncertainty from the scatter, s/√n (GUM 4.2).
public struct RepeatedMeasurement: Sendable, Equatable, Codable {
    /// The values, in the measurand's SI unit.
    public var values: [Double]

    /// Repeats of one measurand.
    public init(_ values: [Double]) { self.values = values }

    /// The arithmetic mean.
    public var mean: Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

    /// The experimental standard deviation s (n − 1 in the denominator); nil for fewer than two values.
    public var standardDeviation: Double? {
        guard values.count > 1 else { return nil }
        let m = mean
        return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    }

    /// The type A standard uncertainty of the mean, s/√n; nil for fewer than two values.
    public var standardUncertaintyOfMean: Double? { standardDeviation.map { $0 / Double(values.count).squareRoot() } }

    /// A budget for the mean: the repeats' type A component, plus `systematic` components that
    /// every repeat shares (calibration, references) and that averaging does not reduce.
    public func budget(systematic: [UncertaintyComponent] = [], coverageFactor k: Double = 2) -> UncertaintyBudget {
        var b = UncertaintyBudget(components: [], coverageFactor: k)
        if let u = standardUncertaintyOfMean { b.add("repeats (type A, s/√n over \(values.count))", .typeA, u) }
        b.components += systematic
        return b
    }
}
