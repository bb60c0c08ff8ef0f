import Testing
import LandauerCalibration
import LandauerFirmware

/// The meter model the fits are checked against: raw = gain·true + offset.
private let trueGain = 1.02
private let trueOffset = 3e-6  // A
/// Single-sample noise of the meter and samples per reference point.
private let noise = 20e-6  // A
private let count = 1_000

private func fit(_ obs: [CalibrationObservation], range: Int = 0, voltageRelative: Double = 0) throws(CalibrationError) -> RangeCalibration {
    try RangeCalibration.fit(range: range, observations: obs, voltage: CalibrationFixture.voltage, voltageRelativeUncertainty: voltageRelative)
}

@Suite("Range calibration fit: estimates")
struct RangeFitEstimateTests {
    @Test func noiseFreeObservationsGiveTheGainAndOffsetExactly() throws {
        var none: SeededNormal?
        let loads = CalibrationFixture.loads(relative: 2e-4, includeOpen: true)
        let obs = CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &none)
        let f = try fit(obs, range: 3, voltageRelative: 1e-4)
        #expect(f.range == 3)
        #expect(f.points == 6)
        #expect(isClose(f.gain, trueGain, relative: 1e-12))
        // 1e-12 of the largest reading (2 mA).
        #expect(isClose(f.offset.value, trueOffset, absolute: 2e-15))
        #expect(isClose(f.sampleNoise.value, noise, relative: 1e-12))
        // Points exactly on the line: no misfit.
        let chi = try #require(f.reducedChiSquare)
        #expect(chi < 1e-12)
        // The correction inverts the model.
        #expect(isClose(f.corrected(Amperes(trueGain * 1.5e-3 + trueOffset)).value, 1.5e-3, relative: 1e-12))
    }

    @Test func noisyObservationsGiveEstimatesWithinTheirUncertainty() throws {
        let loads = CalibrationFixture.loads(relative: 2e-4, includeOpen: true)
        for seed in UInt64(1)...20 {
            var rng: SeededNormal? = SeededNormal(seed: seed)
            let obs = CalibrationFixture.observations(
                loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, voltageRelativeUncertainty: 1e-4,
                rng: &rng, drawReferences: true)
            let f = try fit(obs, voltageRelative: 1e-4)
            let ug = (f.covarianceA[0] + f.covarianceB[0]).squareRoot()
            let uo = (f.covarianceA[2] + f.covarianceB[2]).squareRoot()
            #expect(ug > 0 && uo > 0)
            #expect(abs(f.gain - trueGain) < 4.5 * ug, "seed \(seed): gain \(f.gain) ± \(ug)")
            #expect(abs(f.offset.value - trueOffset) < 4.5 * uo, "seed \(seed): offset \(f.offset.value) ± \(uo)")
            // The estimates really moved with the noise (the test is not looking at the truth twice).
            #expect(f.gain != trueGain)
        }
    }

    @Test func observationFromSamplesSummarisesMeanAndSampleStandardDeviation() {
        let load = ReferenceLoad(name: "R1", resistance: Ohms(2_000), standardUncertainty: Ohms(0.2))
        let o = CalibrationObservation(load: load, range: 1, samples: [1e-3, 2e-3, 3e-3, 6e-3])
        #expect(o.count == 4)
        #expect(isClose(o.mean.value, 3e-3, relative: 1e-15))
        // Σ(x − 3)² = 4 + 1 + 0 + 9 = 14 (mA²), over n − 1 = 3.
        #expect(isClose(o.standardDeviation.value, (14.0 / 3).squareRoot() * 1e-3, relative: 1e-14))
        #expect(isClose(o.referenceCurrent(at: Volts(3)).value, 1.5e-3, relative: 1e-15))
        let single = CalibrationObservation(load: .open, range: 0, samples: [4e-6])
        #expect(single.standardDeviation == .zero)
        #expect(single.referenceCurrent(at: Volts(3)) == .zero)
        #expect(ReferenceLoad.open.isOpen && !load.isOpen)
    }
}

@Suite("Range calibration fit: covariances against Monte Carlo")
struct RangeFitCovarianceTests {
    /// The readings' noise alone: loads known exactly, the means drawn with standard error
    /// noise/√count; the spread of 2000 refits must match the type A covariance.
    @Test func typeACovarianceMatchesTheSpreadOfRefits() throws {
        let loads = CalibrationFixture.loads(relative: 0, includeOpen: true)
        var none: SeededNormal?
        let exact = try fit(CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &none))
        #expect(exact.covarianceB == [0, 0, 0])
        var rng: SeededNormal? = SeededNormal(seed: 0xA11CE)
        var gains: [Double] = [], offsets: [Double] = []
        for _ in 0..<2_000 {
            let f = try fit(CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &rng))
            gains.append(f.gain)
            offsets.append(f.offset.value)
        }
        let vg = sampleVariance(gains), vo = sampleVariance(offsets), cgo = sampleCovariance(gains, offsets)
        #expect(isClose(vg, exact.covarianceA[0], relative: 0.15), "var g: MC \(vg) vs \(exact.covarianceA[0])")
        #expect(isClose(vo, exact.covarianceA[2], relative: 0.15), "var o: MC \(vo) vs \(exact.covarianceA[2])")
        let rhoMC = cgo / (vg * vo).squareRoot()
        let rho = exact.covarianceA[1] / (exact.covarianceA[0] * exact.covarianceA[2]).squareRoot()
        #expect(rho < -0.1, "gain and offset of a line through positive currents are anti-correlated")
        #expect(isClose(rhoMC, rho, absolute: 0.08), "ρ: MC \(rhoMC) vs \(rho)")
        // Unbiased: the mean of the refits is within 4 standard errors of the truth.
        #expect(abs(mean(gains) - trueGain) < 4 * (vg / 2_000).squareRoot())
    }

    /// The references alone: noise-free readings of loads whose actual resistances (and the
    /// actual voltage) are drawn from their certificates; the spread of the refits must match
    /// the type B covariance.
    @Test func typeBCovarianceMatchesTheSpreadWhenReferencesAreDrawnFromTheirCertificates() throws {
        let loads = CalibrationFixture.loads(relative: 3e-4, includeOpen: false)
        let uv = 2e-4
        let quiet = 1e-7  // stated sample noise, small beside the references' errors
        var none: SeededNormal?
        let nominal = try fit(
            CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: quiet, count: 100, rng: &none),
            voltageRelative: uv)
        var rng: SeededNormal? = SeededNormal(seed: 0xB0B)
        var gains: [Double] = [], offsets: [Double] = []
        for _ in 0..<2_000 {
            // Readings exact for the actual currents: draw the references, then remove the noise
            // draws' effect by drawing with zero noise.
            let obs = CalibrationFixture.observations(
                loads: loads, gain: trueGain, offset: trueOffset, noise: 0, count: 100, voltageRelativeUncertainty: uv, rng: &rng,
                drawReferences: true
            ).map { o in
                CalibrationObservation(load: o.load, range: o.range, mean: o.mean, standardDeviation: Amperes(quiet), count: o.count)
            }
            let f = try fit(obs, voltageRelative: uv)
            gains.append(f.gain)
            offsets.append(f.offset.value)
        }
        let vg = sampleVariance(gains), vo = sampleVariance(offsets), cgo = sampleCovariance(gains, offsets)
        #expect(nominal.covarianceB[0] > 10 * nominal.covarianceA[0], "the fixture must be dominated by the references")
        #expect(isClose(vg, nominal.covarianceB[0], relative: 0.15), "var g: MC \(vg) vs \(nominal.covarianceB[0])")
        #expect(isClose(vo, nominal.covarianceB[2], relative: 0.15), "var o: MC \(vo) vs \(nominal.covarianceB[2])")
        let rhoMC = cgo / (vg * vo).squareRoot()
        let rho = nominal.covarianceB[1] / (nominal.covarianceB[0] * nominal.covarianceB[2]).squareRoot()
        #expect(isClose(rhoMC, rho, absolute: 0.08), "ρ: MC \(rhoMC) vs \(rho)")
    }

    /// With exactly known resistors, the reference voltage is the only type B source; scaling
    /// every current by (1 + ε) scales the gain by 1/(1 + ε) and leaves the offset alone.
    @Test func voltageUncertaintyGivesTheGainARelativeVarianceOfItsSquare() throws {
        var none: SeededNormal?
        let loads = CalibrationFixture.loads(relative: 0, includeOpen: true)
        let f = try fit(
            CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &none),
            voltageRelative: 5e-4)
        #expect(isClose(f.covarianceB[0], trueGain * trueGain * 25e-8, relative: 1e-6))
        #expect(abs(f.covarianceB[2]) < 1e-9 * f.covarianceA[2])
        let g = try fit(
            CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &none),
            voltageRelative: 0)
        #expect(g.covarianceB == [0, 0, 0])
        #expect(g.covarianceA == f.covarianceA)
    }
}

@Suite("Range calibration fit: reduced chi-square and the Birge ratio")
struct RangeFitChiSquareTests {
    @Test func reducedChiSquareAveragesOneWhenTheDataFollowTheModel() throws {
        let loads = CalibrationFixture.loads(relative: 2e-4, includeOpen: true)
        var rng: SeededNormal? = SeededNormal(seed: 77)
        var chis: [Double] = []
        for _ in 0..<1_000 {
            let obs = CalibrationFixture.observations(
                loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, voltageRelativeUncertainty: 1e-4,
                rng: &rng, drawReferences: true)
            chis.append(try #require(try fit(obs, voltageRelative: 1e-4).reducedChiSquare))
        }
        // Four degrees of freedom: each reduced χ² has standard deviation √(2/4); the mean of
        // 1000 has about 0.022.
        #expect(isClose(mean(chis), 1, absolute: 0.1), "mean reduced χ² \(mean(chis))")
        #expect(isClose(sampleVariance(chis), 0.5, relative: 0.25), "variance of reduced χ² \(sampleVariance(chis))")
    }

    @Test func covariancesAreScaledByTheReducedChiSquareWhenItExceedsOne() throws {
        let loads = CalibrationFixture.loads(relative: 0, includeOpen: true)
        let uv = 1e-4
        var none: SeededNormal?
        let base = try fit(
            CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &none),
            voltageRelative: uv)
        var rng: SeededNormal? = SeededNormal(seed: 4242)
        var inflated = 0
        for _ in 0..<200 {
            let f = try fit(
                CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &rng),
                voltageRelative: uv)
            let chi = try #require(f.reducedChiSquare)
            let birge = max(1, chi)
            if chi > 1 { inflated += 1 }
            // Weights do not depend on the readings here, so the only change is the Birge factor.
            for i in 0..<3 { #expect(isClose(f.covarianceA[i], base.covarianceA[i] * birge, relative: 1e-9)) }
            // The voltage moves the gain by g·u_V (at the fitted gain).
            #expect(isClose(f.covarianceB[0], f.gain * f.gain * uv * uv * birge, relative: 1e-6))
        }
        #expect(inflated > 20 && inflated < 180, "about half the draws have χ²/ν > 1 (\(inflated) of 200)")
    }

    @Test func aPointFarOffTheLineGivesALargeChiSquareAndInflatedCovariances() throws {
        let loads = CalibrationFixture.loads(relative: 2e-4, includeOpen: true)
        var none: SeededNormal?
        let good = CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &none)
        var bad = good
        let standardError = noise / Double(count).squareRoot()
        bad[3].mean = bad[3].mean + Amperes(60 * standardError)
        let f0 = try fit(good, voltageRelative: 1e-4)
        let f1 = try fit(bad, voltageRelative: 1e-4)
        let chi0 = try #require(f0.reducedChiSquare), chi1 = try #require(f1.reducedChiSquare)
        #expect(chi0 < 1e-12)
        #expect(chi1 > 100, "reduced χ² \(chi1)")
        // Both covariances carry the misfit: by the Birge factor, up to the small change of the
        // weights through the first-pass gain.
        for i in [0, 2] {
            #expect(isClose(f1.covarianceA[i] / f0.covarianceA[i], chi1, relative: 0.05), "A[\(i)]")
            #expect(isClose(f1.covarianceB[i] / f0.covarianceB[i], chi1, relative: 0.05), "B[\(i)]")
        }
        // A misfit is not noise: the pooled sample noise is unchanged.
        #expect(f1.sampleNoise == f0.sampleNoise)
    }

    @Test func twoPointsHaveNoChiSquare() throws {
        var none: SeededNormal?
        let loads = [ReferenceLoad.open, CalibrationFixture.loads(relative: 1e-4, includeOpen: false)[3]]
        let f = try fit(CalibrationFixture.observations(loads: loads, gain: trueGain, offset: trueOffset, noise: noise, count: count, rng: &none))
        #expect(f.reducedChiSquare == nil)
        #expect(f.points == 2)
        #expect(isClose(f.gain, trueGain, relative: 1e-12))
    }
}

@Suite("Range calibration fit: errors")
struct RangeFitErrorTests {
    private let r1 = ReferenceLoad(name: "R1", resistance: Ohms(1_000), standardUncertainty: Ohms(0.1))
    private let r1again = ReferenceLoad(name: "R1b", resistance: Ohms(1_000), standardUncertainty: Ohms(0.2))
    private let r2 = ReferenceLoad(name: "R2", resistance: Ohms(2_000), standardUncertainty: Ohms(0.2))

    private func obs(_ load: ReferenceLoad, mean: Double = 1e-3, sd: Double = 1e-5, count: Int = 100) -> CalibrationObservation {
        CalibrationObservation(load: load, range: 2, mean: Amperes(mean), standardDeviation: Amperes(sd), count: count)
    }

    @Test func fewerThanTwoDistinctCurrentsIsTooFewPoints() throws {
        #expect(throws: CalibrationError.tooFewPoints(range: 2, points: 0)) { try fit([], range: 2) }
        #expect(throws: CalibrationError.tooFewPoints(range: 2, points: 1)) { try fit([obs(r1)], range: 2) }
        #expect(throws: CalibrationError.tooFewPoints(range: 2, points: 1)) { try fit([obs(.open, mean: 3e-6), obs(.open, mean: 4e-6)], range: 2) }
        // Two loads with the same resistance draw the same current: still one point.
        #expect(throws: CalibrationError.tooFewPoints(range: 2, points: 1)) {
            try fit([obs(r1), obs(r1again, mean: 1.001e-3)], range: 2)
        }
        // Two distinct currents are enough.
        let two = try fit([obs(r1), obs(r2, mean: 0.5e-3)], range: 2)
        #expect(two.points == 2)
        let message = CalibrationError.tooFewPoints(range: 2, points: 1).description
        #expect(message.contains("range 2") && message.contains("at least two"))
    }

    @Test func anObservationWithoutSamplesOrWithNonFiniteValuesIsBad() {
        #expect(throws: CalibrationError.badObservation(range: 2, load: "R2", reason: "no samples")) {
            try fit([obs(r1), obs(r2, count: 0)], range: 2)
        }
        #expect(throws: CalibrationError.badObservation(range: 2, load: "R2", reason: "no samples")) {
            try fit([obs(r1), obs(r2, count: -3)], range: 2)
        }
        #expect(throws: CalibrationError.badObservation(range: 2, load: "R1", reason: "non-finite reading")) {
            try fit([obs(r1, mean: .nan), obs(r2)], range: 2)
        }
        #expect(throws: CalibrationError.badObservation(range: 2, load: "R1", reason: "non-finite reading")) {
            try fit([obs(r1, sd: .infinity), obs(r2)], range: 2)
        }
        // A bad observation is reported even when there would be too few points anyway.
        #expect(throws: CalibrationError.badObservation(range: 2, load: "R1", reason: "no samples")) {
            try fit([obs(r1, count: 0)], range: 2)
        }
        let message = CalibrationError.badObservation(range: 2, load: "R2", reason: "no samples").description
        #expect(message == "range 2, load R2: no samples")
    }
}

@Suite("Meter calibration: fitting every range")
struct MeterCalibrationFitTests {
    private let identity = InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: "C2F1", firmware: "1.2")

    @Test func fitsEveryRangePresentAndFindsEachByNumber() throws {
        var none: SeededNormal?
        let loads = CalibrationFixture.loads(relative: 1e-4, includeOpen: true)
        let gains: [Int: Double] = [0: 0.98, 1: 1.01, 4: 1.05]
        let offsets: [Int: Double] = [0: -2e-6, 1: 5e-7, 4: 1e-5]
        var all: [CalibrationObservation] = []
        for r in [4, 0, 1] {
            all += CalibrationFixture.observations(loads: loads, range: r, gain: gains[r]!, offset: offsets[r]!, noise: noise, count: count, rng: &none)
        }
        // Interleave the ranges: the record must not depend on the order of observations.
        let shuffled = all.enumerated().sorted { ($0.offset % 6, $0.offset) < ($1.offset % 6, $1.offset) }.map(\.element)
        let cal = try MeterCalibration.fit(
            id: "cal-1", date: Seconds(1_000), validFor: Seconds(86_400 * 90), instrument: identity, method: "five loads and open",
            voltage: CalibrationFixture.voltage, voltageRelativeUncertainty: 1e-4, observations: shuffled,
            resolution: [Amperes(1e-7), Amperes(1e-6)])
        #expect(cal.ranges.map(\.range) == [0, 1, 4])
        #expect(cal.version == MeterCalibration.formatVersion)
        #expect(cal.due == Seconds(1_000 + 86_400 * 90))
        #expect(cal.observations == shuffled)
        #expect(cal.resolution == [Amperes(1e-7), Amperes(1e-6)])
        for r in [0, 1, 4] {
            let f = try #require(cal.fit(forRange: r))
            #expect(f.range == r)
            #expect(isClose(f.gain, gains[r]!, relative: 1e-12))
            #expect(isClose(f.offset.value, offsets[r]!, absolute: 2e-15))
            let alone = try RangeCalibration.fit(
                range: r, observations: shuffled.filter { $0.range == r }, voltage: CalibrationFixture.voltage,
                voltageRelativeUncertainty: 1e-4)
            #expect(f == alone)
        }
        #expect(cal.fit(forRange: 2) == nil)
        #expect(cal.fit(forRange: 7) == nil)
    }

    @Test func aRangeThatCannotBeFittedFailsTheWholeRecord() {
        var none: SeededNormal?
        let loads = CalibrationFixture.loads(relative: 1e-4, includeOpen: true)
        var all = CalibrationFixture.observations(loads: loads, range: 0, gain: 1, offset: 0, noise: noise, count: count, rng: &none)
        all.append(CalibrationObservation(load: loads[2], range: 3, mean: Amperes(2e-4), standardDeviation: Amperes(1e-6), count: 10))
        #expect(throws: CalibrationError.tooFewPoints(range: 3, points: 1)) {
            try MeterCalibration.fit(
                id: "x", date: .zero, validFor: Seconds(1), instrument: identity, method: "", voltage: CalibrationFixture.voltage,
                voltageRelativeUncertainty: 0, observations: all)
        }
    }
}
