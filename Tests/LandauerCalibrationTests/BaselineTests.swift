import Testing
import LandauerCalibration
import LandauerFirmware

private let supply = Volts(3.3)
private let period = Seconds(1e-5)
private let c = 3.3 * 1e-5
private let gain = 1.04
private let offset = 3e-6
private let sigma = 2e-6

/// Raw sums of samples of the given true currents through the fixture's meter.
private func sums(_ currents: [Double]) -> RangeSums {
    var s = RangeSums()
    for i in currents { s.add(gain * i + offset, range: 0) }
    return s
}

private func evaluator(covarianceA: [Double] = [0, 0, 0], fullScale: Double = 1) -> EnergyEvaluator {
    let fit = CalibrationFixture.range(0, gain: gain, offset: offset, covarianceA: covarianceA, sampleNoise: sigma)
    return EnergyEvaluator(voltage: supply, period: period, calibration: CalibrationFixture.meter([fit]), fullScale: Amperes(fullScale))
}

/// A window of 700 samples between 2 and 8 mA; returns its sums and Σ I.
private func window(seed: UInt64 = 21) -> (RangeSums, Double) {
    var rng = SeededNormal(seed: seed)
    let currents = (0..<700).map { _ in rng.uniform(2e-3, 8e-3) }
    return (sums(currents), currents.reduce(0, +))
}

private let driftName = "baseline drift (type B, rectangular, half the before–after difference)"

@Suite("Baseline")
struct BaselineTests {
    private let idleBefore = 1.00e-3, idleAfter = 1.01e-3
    private let nb = 2_000, na = 1_500

    private func baseline(after: Double? = nil, limit: Double = 0.02) -> Baseline {
        Baseline(
            before: sums([Double](repeating: idleBefore, count: nb)),
            after: sums([Double](repeating: after ?? idleAfter, count: na)), driftLimit: limit)
    }

    @Test func idlePowersAndDriftComeFromTheCalibratedStretches() throws {
        let ev = evaluator()
        let b = baseline()
        #expect(isClose(b.powerBefore(ev).value, 3.3 * idleBefore, relative: 1e-12))
        #expect(isClose(b.powerAfter(ev).value, 3.3 * idleAfter, relative: 1e-12))
        let drift = (idleAfter - idleBefore) / ((idleAfter + idleBefore) / 2)
        #expect(isClose(b.relativeDrift(ev), drift, relative: 1e-9))
        // Falling power drifts negatively.
        let falling = Baseline(before: b.after, after: b.before)
        #expect(isClose(falling.relativeDrift(ev), -drift, relative: 1e-9))
        // Nothing measured: no power, no drift.
        let empty = Baseline(before: RangeSums(), after: RangeSums())
        #expect(empty.powerBefore(ev) == .zero && empty.relativeDrift(ev) == 0)
    }

    @Test func dynamicEnergyIsTheWindowLessTheMeanIdlePowerOverItsDuration() throws {
        let ev = evaluator()
        let (w, total) = window()
        let e = baseline().dynamicEnergy(of: w, ev)
        let meanIdlePower = 3.3 * (idleBefore + idleAfter) / 2
        let expected = c * total - meanIdlePower * period.value * 700
        #expect(isClose(e.value.value, expected, relative: 1e-12), "\(e.value.value) vs \(expected)")
        // Equivalently, from the evaluator's own figures.
        let viaFigures = ev.energy(w).value.value - (baseline().powerBefore(ev).value + baseline().powerAfter(ev).value) / 2 * period.value * 700
        #expect(isClose(e.value.value, viaFigures, relative: 1e-12))
        // The figure rests on the window's samples (not on the net weight left after the idle share).
        #expect(e.samples == 700)
        #expect(e.warnings.isEmpty)
    }

    @Test func aSmallDriftEntersTheBudgetAsARectangularComponentWithoutAWarning() throws {
        let ev = evaluator()
        let (w, _) = window()
        let e = baseline().dynamicEnergy(of: w, ev)
        let d = try #require(component(e.budget, driftName))
        #expect(d.evaluation == .typeB)
        let deltaP = 3.3 * (idleAfter - idleBefore)
        #expect(isClose(d.standardUncertainty, deltaP / 2 * period.value * 700 / 3.0.squareRoot(), relative: 1e-9))
        #expect(e.warnings.isEmpty)
    }

    @Test func aDriftOverTheLimitIsWarnedAbout() throws {
        let ev = evaluator()
        let (w, _) = window()
        let b = baseline(after: 1.05e-3)
        let e = b.dynamicEnergy(of: w, ev)
        #expect(e.warnings.count == 1)
        let warning = try #require(e.warnings.first)
        #expect(warning.contains("drifted by 4.9 %") && warning.contains("limit 2.0 %"), "\(warning)")
        let d = try #require(component(e.budget, driftName))
        #expect(isClose(d.standardUncertainty, 3.3 * 0.05e-3 / 2 * period.value * 700 / 3.0.squareRoot(), relative: 1e-9))
        // The same drift under a looser limit is not a warning, but still in the budget.
        let loose = baseline(after: 1.05e-3, limit: 0.06).dynamicEnergy(of: w, ev)
        #expect(loose.warnings.isEmpty)
        #expect(component(loose.budget, driftName)?.standardUncertainty == d.standardUncertainty)
    }

    @Test func withOneStretchTheBaselineIsThatStretchAndThereIsNoDrift() throws {
        let ev = evaluator()
        let (w, total) = window()
        let onlyBefore = Baseline(before: sums([Double](repeating: idleBefore, count: nb)), after: RangeSums())
        let e = onlyBefore.dynamicEnergy(of: w, ev)
        #expect(isClose(e.value.value, c * total - 3.3 * idleBefore * period.value * 700, relative: 1e-12))
        #expect(component(e.budget, driftName) == nil)
        let onlyAfter = Baseline(before: RangeSums(), after: sums([Double](repeating: idleAfter, count: na)))
        #expect(isClose(onlyAfter.dynamicEnergy(of: w, ev).value.value, c * total - 3.3 * idleAfter * period.value * 700, relative: 1e-12))
        let none = Baseline(before: RangeSums(), after: RangeSums())
        #expect(none.dynamicEnergy(of: w, ev) == ev.energy(w))
    }

    @Test func theBaselinesNoiseAddsToTheWindowsAndTheOffsetErrorCancels() throws {
        let (w, _) = window()
        let uo = 1e-7
        let ev = evaluator(covarianceA: [0, 0, uo * uo])
        let plain = ev.energy(w)
        let e = baseline().dynamicEnergy(of: w, ev)
        let noise = try #require(component(e.budget, "meter noise")).standardUncertainty
        let nw = 700.0
        let expected = c / gain * sigma * (nw + nw * nw / 4 / Double(nb) + nw * nw / 4 / Double(na)).squareRoot()
        #expect(isClose(noise, expected, relative: 1e-12))
        let plainNoise = try #require(component(plain.budget, "meter noise")).standardUncertainty
        #expect(noise > plainNoise)
        // The offset acts on the window's samples and on the idle share alike: it cancels.
        let fitPlain = try #require(component(plain.budget, "calibration fit")).standardUncertainty
        let fitNet = try #require(component(e.budget, "calibration fit")).standardUncertainty
        #expect(isClose(fitPlain, c * nw / gain * uo, relative: 1e-12))
        #expect(fitNet < 1e-9 * fitPlain)
        // A gain error acts on the net energy only.
        let ug = 1e-3
        let evG = evaluator(covarianceA: [ug * ug, 0, 0])
        let eG = baseline().dynamicEnergy(of: w, evG)
        let fitG = try #require(component(eG.budget, "calibration fit")).standardUncertainty
        #expect(isClose(fitG, abs(eG.value.value) / gain * ug, relative: 1e-9))
    }

    @Test func aWindowWithAGapLosesOnlyItsPresentSamplesBaselineShare() throws {
        let ev = evaluator(fullScale: 0.2)
        let (w, _) = window()
        var gappy = w
        gappy.missing = 50
        let b = baseline()
        let whole = b.dynamicEnergy(of: w, ev), e = b.dynamicEnergy(of: gappy, ev)
        #expect(isClose(e.value.value, whole.value.value, relative: 1e-12))
        #expect(e.missingSamples == 50)
        #expect(e.gapBound.lowerBound == e.value)
        #expect(isClose(e.gapBound.upperBound.value, e.value.value + 50 * c * 0.2, relative: 1e-12))
        #expect(e.warnings.contains { $0.contains("50 samples missing") })
        #expect(component(e.budget, driftName)?.standardUncertainty == component(whole.budget, driftName)?.standardUncertainty)
    }
}
