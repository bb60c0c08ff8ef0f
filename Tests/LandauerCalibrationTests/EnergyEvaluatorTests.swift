import Testing
import LandauerCalibration
import LandauerFirmware

private let supply = Volts(3.3)
private let period = Seconds(1e-5)
/// V·Δt: joules per ampere of one sample.
private let c = 3.3 * 1e-5

private let noiseName = "meter noise (type A, per sample, from the calibration's scatter)"
private let fitName = "calibration fit (type A)"
private let referenceName = "reference loads and voltage (type B, certificates)"
private let quantisationName = "quantisation (type B, one ADC step, rectangular)"
private let timingName = "marker timing (type B, edge within one sample, rectangular)"
private let uncalibratedName = "uncalibrated ranges (type B, stated accuracy, rectangular)"
private let voltageName = "supply voltage (type B)"

@Suite("Range sums")
struct RangeSumsTests {
    @Test func addingWeightsCountsSumsAndSquaredWeights() {
        var s = RangeSums()
        #expect(s.rangesUsed.isEmpty && s.sampleCount == 0)
        s.add(2e-3, range: 1)
        s.add(4e-3, range: 1, weight: 0.5)
        s.add(1e-6, range: 4, weight: 0.5)
        s.addEdge(4e-3, range: 1)
        #expect(s.counts[1] == 1.5 && s.counts[4] == 0.5)
        #expect(s.sums[1] == 2e-3 + 2e-3)
        #expect(s.varianceWeights[1] == 1.25 && s.varianceWeights[4] == 0.25)
        #expect(s.edgeSquares[1] == 4e-3 * 4e-3)
        #expect(s.sampleCount == 2)
        #expect(s.rangesUsed == [1, 4])
        // An edge alone makes a range used.
        var e = RangeSums()
        e.addEdge(1, range: 6)
        #expect(e.rangesUsed == [6])
    }

    @Test func combiningAddsValuesLinearlyAndVariancesWithTheSquareOfTheFactor() {
        var a = RangeSums(), b = RangeSums()
        for i in 0..<10 { a.add(Double(i), range: 0) }
        for i in 0..<4 { b.add(Double(i) * 2, range: 0); b.add(1, range: 3) }
        a.addEdge(3, range: 0)
        b.addEdge(2, range: 0)
        a.missing = 5
        b.missing = 2
        let d = RangeSums.combine(a, b, k: -1)
        #expect(d.counts[0] == 6 && d.counts[3] == -4)
        #expect(d.sums[0] == 45 - 12 && d.sums[3] == -4)
        #expect(d.varianceWeights[0] == 14 && d.varianceWeights[3] == 4)
        #expect(d.edgeSquares[0] == 13)
        #expect(d.missing == 3)
        let h = RangeSums.combine(a, b, k: 0.5)
        #expect(h.varianceWeights[0] == 11 && h.edgeSquares[0] == 10)
        let s = b.scaled(by: -3)
        #expect(s.counts[3] == -12 && s.sums[0] == -36 && s.varianceWeights[3] == 36 && s.edgeSquares[0] == 36 && s.missing == -6)
        // A window less itself: nothing left but its noise and edges, on the same ranges.
        let zero = RangeSums.combine(a, a, k: -1)
        #expect(zero.counts[0] == 0 && zero.sums[0] == 0 && zero.missing == 0)
        #expect(zero.varianceWeights[0] == 20 && zero.rangesUsed == [0])
    }
}

@Suite("Energy evaluator")
struct EnergyEvaluatorTests {
    /// Raw sums of `n` samples of known true currents, split over ranges 0 and 2 by a meter with
    /// the given gains and offsets; returns the sums and Σ I.
    private func trace(n: Int, seed: UInt64, gains: [Int: Double], offsets: [Int: Double]) -> (RangeSums, Double) {
        var rng = SeededNormal(seed: seed)
        var sums = RangeSums()
        var total = 0.0
        for i in 0..<n {
            let range = i % 3 == 0 ? 2 : 0
            let current = range == 2 ? rng.uniform(1e-4, 5e-2) : rng.uniform(1e-6, 1e-4)
            sums.add(gains[range]! * current + offsets[range]!, range: range)
            total += current
        }
        return (sums, total)
    }

    private let gains = [0: 1.03, 2: 0.97]
    private let offsets = [0: 2e-6, 2: -5e-7]

    private func calibration(covA: [Double] = [0, 0, 0], covB: [Double] = [0, 0, 0], noise: Double = 0, resolution: [Amperes] = []) -> MeterCalibration {
        CalibrationFixture.meter(
            [
                CalibrationFixture.range(0, gain: gains[0]!, offset: offsets[0]!, covarianceA: covA, covarianceB: covB, sampleNoise: noise),
                CalibrationFixture.range(2, gain: gains[2]!, offset: offsets[2]!, covarianceA: covA, covarianceB: covB, sampleNoise: noise),
            ], resolution: resolution)
    }

    @Test func calibratedEnergyIsVoltageTimesPeriodTimesTheSumOfTrueCurrents() throws {
        let (sums, total) = trace(n: 5_000, seed: 11, gains: gains, offsets: offsets)
        let ev = EnergyEvaluator(voltage: supply, period: period, calibration: calibration())
        let e = ev.energy(sums)
        #expect(isClose(e.value.value, c * total, relative: 1e-12), "\(e.value.value) vs \(c * total)")
        #expect(e.warnings.isEmpty)
        #expect(e.samples == 5_000)
        #expect(e.missingSamples == 0)
        #expect(e.gapBound == e.value...e.value)
        #expect(e.budget.components.map(\.name) == [noiseName, fitName, referenceName, quantisationName])
        #expect(e.budget.components.map(\.evaluation) == [.typeA, .typeA, .typeB, .typeB])
        #expect(e.budget.combined == 0)
        // The raw readings, uncorrected, would be off: the correction matters.
        let raw = EnergyEvaluator(voltage: supply, period: period, calibration: nil).energy(sums)
        #expect(!isClose(raw.value.value, c * total, relative: 1e-3))
    }

    /// The fit's covariances reach the energy through its sensitivities to gain and offset,
    /// obtained here independently by re-evaluating with a perturbed calibration.
    @Test func calibrationCovariancesPropagateThroughTheSensitivitiesToGainAndOffset() throws {
        let (sums, _) = trace(n: 3_000, seed: 12, gains: gains, offsets: offsets)
        let covA = [4e-6, -1.5e-10, 1e-14]  // u_g = 2e-3, u_o = 1e-7 A, ρ = −0.75
        let covB = [1e-6, 2e-11, 4e-15]
        let ev = EnergyEvaluator(voltage: supply, period: period, calibration: calibration(covA: covA, covB: covB))
        let e = ev.energy(sums)
        var expectedA = 0.0, expectedB = 0.0
        for r in [0, 2] {
            func energy(dg: Double, dO: Double) -> Double {
                var cal = calibration()
                let i = cal.ranges.firstIndex { $0.range == r }!
                cal.ranges[i].gain += dg
                cal.ranges[i].offset += Amperes(dO)
                return EnergyEvaluator(voltage: supply, period: period, calibration: cal).energy(sums).value.value
            }
            let hg = 1e-6, ho = 1e-9
            let jg = (energy(dg: hg, dO: 0) - energy(dg: -hg, dO: 0)) / (2 * hg)
            let jo = (energy(dg: 0, dO: ho) - energy(dg: 0, dO: -ho)) / (2 * ho)
            expectedA += jg * jg * covA[0] + 2 * jg * jo * covA[1] + jo * jo * covA[2]
            expectedB += jg * jg * covB[0] + 2 * jg * jo * covB[1] + jo * jo * covB[2]
        }
        let uA = try #require(component(e.budget, fitName)), uB = try #require(component(e.budget, referenceName))
        #expect(uA.evaluation == .typeA && uB.evaluation == .typeB)
        #expect(isClose(uA.standardUncertainty, expectedA.squareRoot(), relative: 1e-6))
        #expect(isClose(uB.standardUncertainty, expectedB.squareRoot(), relative: 1e-6))
        #expect(isClose(e.budget.combined, (expectedA + expectedB).squareRoot(), relative: 1e-6))
    }

    @Test func meterNoiseAndQuantisationFollowTheSampleCountAndTheirRegime() throws {
        let g = 1.1, sigma = 5e-6, n = 400
        var sums = RangeSums()
        for i in 0..<n { sums.add(1e-3 + Double(i) * 1e-7, range: 1) }
        func evaluate(lsb: Double) throws -> EnergyFigure {
            let cal = CalibrationFixture.meter(
                [CalibrationFixture.range(1, gain: g, offset: 0, sampleNoise: sigma)], resolution: [Amperes(1), Amperes(lsb)])
            return EnergyEvaluator(voltage: supply, period: period, calibration: cal).energy(sums)
        }
        // Noise: independent per sample, √n.
        let dithered = try evaluate(lsb: 4e-6)  // σ ≥ lsb/2: rounding independent from sample to sample
        let noiseU = try #require(component(dithered.budget, noiseName))
        #expect(isClose(noiseU.standardUncertainty, c / g * sigma * Double(n).squareRoot(), relative: 1e-12))
        let q1 = try #require(component(dithered.budget, quantisationName))
        #expect(isClose(q1.standardUncertainty, c / g * 4e-6 / 12.0.squareRoot() * Double(n).squareRoot(), relative: 1e-12))
        let coarse = try evaluate(lsb: 20e-6)  // σ < lsb/2: a systematic error, growing with n
        let q2 = try #require(component(coarse.budget, quantisationName))
        #expect(isClose(q2.standardUncertainty, c / g * 20e-6 / 12.0.squareRoot() * Double(n), relative: 1e-12))
        // No resolution for the range: no quantisation.
        let cal = CalibrationFixture.meter([CalibrationFixture.range(1, gain: g, offset: 0, sampleNoise: sigma)], resolution: [Amperes(1e-6)])
        let none = EnergyEvaluator(voltage: supply, period: period, calibration: cal).energy(sums)
        #expect(component(none.budget, quantisationName)?.standardUncertainty == 0)
    }

    @Test func withoutCalibrationTheRawEnergyIsReportedWithAWarningAndTheStatedAccuracy() throws {
        var sums = RangeSums()
        for i in 0..<1_000 { sums.add(2e-3 + Double(i % 7) * 1e-5, range: 0) }
        let ev = EnergyEvaluator(voltage: supply, period: period, calibration: nil, uncalibratedRelativeAccuracy: 0.05)
        let e = ev.energy(sums)
        #expect(isClose(e.value.value, c * sums.sums[0], relative: 1e-15))
        #expect(e.warnings.count == 1)
        #expect(e.warnings.first?.contains("no calibration") == true)
        #expect(e.warnings.first?.contains("5") == true)
        #expect(e.budget.components.map(\.name) == [noiseName, uncalibratedName])
        let u = try #require(component(e.budget, uncalibratedName))
        #expect(u.evaluation == .typeB)
        #expect(isClose(u.standardUncertainty, e.value.value * 0.05 / 3.0.squareRoot(), relative: 1e-12))
        #expect(isClose(e.standardUncertainty.value, e.value.value * 0.05 / 3.0.squareRoot(), relative: 1e-12))
        #expect(e.budget.typeA == 0)
        #expect(e.budget.coverageFactor == 2)
        #expect(e.expandedUncertainty.value == 2 * e.standardUncertainty.value)
        #expect(e.interval.lowerBound.value == e.value.value - e.expandedUncertainty.value)
        #expect(e.interval.upperBound.value == e.value.value + e.expandedUncertainty.value)
    }

    @Test func aRangeTheCalibrationDoesNotCoverIsWarnedAboutByNumber() throws {
        let cal = CalibrationFixture.meter([CalibrationFixture.range(0, gain: 1.02, offset: 1e-6)], id: "cal-xyz")
        var sums = RangeSums()
        var covered = 0.0
        for i in 0..<100 {
            let current = 1e-4 + Double(i) * 1e-6
            sums.add(1.02 * current + 1e-6, range: 0)
            covered += current
        }
        for _ in 0..<30 { sums.add(0.02, range: 3) }
        let e = EnergyEvaluator(voltage: supply, period: period, calibration: cal, uncalibratedRelativeAccuracy: 0.1).energy(sums)
        #expect(isClose(e.value.value, c * covered + c * 0.6, relative: 1e-12))
        #expect(e.warnings.count == 1)
        let w = try #require(e.warnings.first)
        #expect(w.contains("range 3") && w.contains("cal-xyz") && w.contains("30 samples"))
        let u = try #require(component(e.budget, uncalibratedName))
        #expect(isClose(u.standardUncertainty, c * 0.6 * 0.1 / 3.0.squareRoot(), relative: 1e-12))
    }

    @Test func missingSamplesAreBoundedNeverFilledIn() throws {
        let (present, _) = trace(n: 500, seed: 13, gains: gains, offsets: offsets)
        var gappy = present
        gappy.missing = 40
        let ev = EnergyEvaluator(voltage: supply, period: period, calibration: calibration(), fullScale: Amperes(0.5))
        let full = ev.energy(present), e = ev.energy(gappy)
        #expect(e.value == full.value)
        #expect(e.samples == 500)
        #expect(e.missingSamples == 40)
        #expect(e.gapBound.lowerBound == e.value)
        #expect(isClose(e.gapBound.upperBound.value, e.value.value + 40 * c * 0.5, relative: 1e-12))
        #expect(e.warnings.count == 1)
        #expect(e.warnings.first?.contains("40 samples missing") == true)
        #expect(full.warnings.isEmpty)
        // The gap does not enter the budget: it is a bound, not an uncertainty.
        #expect(e.budget == full.budget)
    }

    @Test func markerTimingIsTheEdgeSamplesEnergyOverRootTwelve() throws {
        var sums = RangeSums()
        for i in 0..<200 { sums.add(1e-3 + Double(i) * 1e-6, range: 0) }
        let edges: [(Double, Int)] = [(1.2e-3, 0), (0.9e-3, 0), (3e-2, 2), (2.5e-2, 2), (1e-3, 5)]
        var expected = 0.0
        for (raw, range) in edges {
            sums.add(raw, range: range, weight: 0.5)
            sums.addEdge(raw, range: range)
            let g = range == 5 ? 1 : gains[range]!  // range 5 is not calibrated: gain 1
            expected += (c / g) * (c / g) * raw * raw / 12
        }
        let e = EnergyEvaluator(voltage: supply, period: period, calibration: calibration()).energy(sums)
        let t = try #require(component(e.budget, timingName))
        #expect(t.evaluation == .typeB)
        #expect(isClose(t.standardUncertainty, expected.squareRoot(), relative: 1e-12))
        #expect(e.budget.components.map(\.name) == [noiseName, fitName, referenceName, quantisationName, timingName, uncalibratedName])
        #expect(e.budget.components.map(\.evaluation) == [.typeA, .typeA, .typeB, .typeB, .typeB, .typeB])
    }

    @Test func aWindowLessItselfHasNoEnergyButKeepsTheNoiseOfBoth() throws {
        let sigma = 3e-6
        let (w, _) = trace(n: 900, seed: 14, gains: gains, offsets: offsets)
        let ev = EnergyEvaluator(voltage: supply, period: period, calibration: calibration(covA: [1e-6, 0, 1e-14], noise: sigma))
        let one = ev.energy(w)
        let zero = ev.energy(RangeSums.combine(w, w, k: -1))
        #expect(zero.value.value == 0)
        let noise1 = try #require(component(one.budget, noiseName)).standardUncertainty
        let noise0 = try #require(component(zero.budget, noiseName)).standardUncertainty
        var expected = 0.0
        for r in [0, 2] { expected += (c / gains[r]!) * (c / gains[r]!) * sigma * sigma * w.counts[r] }
        #expect(isClose(noise1, expected.squareRoot(), relative: 1e-12))
        #expect(isClose(noise0, (2 * expected).squareRoot(), relative: 1e-12))
        // The calibration's own errors cancel in the difference.
        #expect(component(zero.budget, fitName)?.standardUncertainty == 0)
        #expect(try #require(component(one.budget, fitName)).standardUncertainty > 0)
    }

    @Test func supplyVoltageUncertaintyScalesTheEnergy() throws {
        let (sums, _) = trace(n: 100, seed: 15, gains: gains, offsets: offsets)
        let e = EnergyEvaluator(voltage: supply, period: period, calibration: calibration(), voltageRelativeUncertainty: 1e-3).energy(sums)
        let v = try #require(component(e.budget, voltageName))
        #expect(v.evaluation == .typeB)
        #expect(isClose(v.standardUncertainty, e.value.value * 1e-3, relative: 1e-12))
        #expect(isClose(e.budget.combined, e.value.value * 1e-3, relative: 1e-12))
        #expect(isClose(e.interval.upperBound.value - e.interval.lowerBound.value, 4e-3 * e.value.value, relative: 1e-9))
    }
}
