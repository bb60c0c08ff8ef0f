import Foundation
import Testing
import LandauerCalibration
import LandauerFirmware

@Suite("Meter calibration record")
struct CalibrationRecordTests {
    private let identity = InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: "C2F1", firmware: "4.0.0")
    private let date = Seconds(1_764_000_000)

    /// A record fitted from noisy observations on two ranges: one with six points (a reduced χ²),
    /// one with two (none).
    private func record() throws -> MeterCalibration {
        var rng: SeededNormal? = SeededNormal(seed: 99)
        let loads = CalibrationFixture.loads(relative: 1e-4, includeOpen: true)
        var obs = CalibrationFixture.observations(
            loads: loads, range: 0, gain: 1.013, offset: -4e-7, noise: 3e-6, count: 500, voltageRelativeUncertainty: 1e-4, rng: &rng,
            drawReferences: true)
        obs += CalibrationFixture.observations(
            loads: [loads[0], loads[5]], range: 3, gain: 0.991, offset: 2e-5, noise: 1e-4, count: 200, rng: &rng)
        return try MeterCalibration.fit(
            id: "cal-20251124-0530-ppk2-C2F1", date: date, validFor: Seconds(90 * 86_400), instrument: identity,
            method: "open + five loads at 1 V, 500 samples each", voltage: CalibrationFixture.voltage, voltageRelativeUncertainty: 1e-4,
            observations: obs, resolution: [Amperes(1e-7), Amperes(1e-6), Amperes(1e-5), Amperes(1e-4)])
    }

    @Test func jsonRoundTripGivesAnEqualRecord() throws {
        let cal = try record()
        #expect(cal.fit(forRange: 0)?.reducedChiSquare != nil)
        #expect(cal.fit(forRange: 3)?.reducedChiSquare == nil)
        #expect(cal.observations.contains { $0.load.isOpen })
        let data = try JSONEncoder().encode(cal)
        let back = try JSONDecoder().decode(MeterCalibration.self, from: data)
        #expect(back == cal)
        #expect(back.version == MeterCalibration.formatVersion)
        // The decoded record computes the same corrections.
        #expect(back.fit(forRange: 0)?.corrected(Amperes(1e-3)) == cal.fit(forRange: 0)?.corrected(Amperes(1e-3)))
        // And a changed record is not equal (the comparison is not vacuous).
        var other = back
        other.ranges[0].gain = other.ranges[0].gain.nextUp
        #expect(other != cal)
    }

    @Test func energyFiguresAndBaselinesRoundTripToo() throws {
        let cal = try record()
        var sums = RangeSums()
        for i in 0..<50 { sums.add(1e-3 + Double(i) * 1e-6, range: i % 2 == 0 ? 0 : 3, weight: i == 0 ? 0.5 : 1) }
        sums.addEdge(1e-3, range: 0)
        sums.missing = 3
        let figure = EnergyEvaluator(voltage: Volts(3), period: Seconds(1e-5), calibration: cal).energy(sums)
        #expect(!figure.budget.components.isEmpty && !figure.warnings.isEmpty)
        let back = try JSONDecoder().decode(EnergyFigure.self, from: JSONEncoder().encode(figure))
        #expect(back == figure)
        let baseline = Baseline(before: sums, after: sums.scaled(by: 2), driftLimit: 0.03)
        #expect(try JSONDecoder().decode(Baseline.self, from: JSONEncoder().encode(baseline)) == baseline)
    }

    @Test func noWarningsWhenInDateAndOnTheSameInstrument() throws {
        let cal = try record()
        #expect(cal.warnings(at: date + Seconds(86_400), instrument: identity).isEmpty)
        // The last moment of validity is still valid.
        #expect(cal.warnings(at: cal.due, instrument: identity).isEmpty)
        // Another firmware version of the same unit is the same instrument.
        let updated = InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: "C2F1", firmware: "4.1.0")
        #expect(cal.warnings(at: date, instrument: updated).isEmpty)
        // Without an identity to compare, only the date is checked.
        #expect(cal.warnings(at: date, instrument: nil).isEmpty)
        #expect(cal.warnings(at: date, instrument: InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2")).isEmpty)
    }

    @Test func anExpiredCalibrationNamesHowManyDaysAgo() throws {
        let cal = try record()
        let w = cal.warnings(at: cal.due + Seconds(3.5 * 86_400), instrument: identity)
        #expect(w.count == 1)
        let text = try #require(w.first)
        #expect(text.contains("cal-20251124-0530-ppk2-C2F1") && text.contains("expired 3 days ago"), "\(text)")
        let justAfter = cal.warnings(at: cal.due + Seconds(60), instrument: identity)
        #expect(justAfter.count == 1 && justAfter[0].contains("expired 0 days ago"))
    }

    @Test func anotherInstrumentIsNamed() throws {
        let cal = try record()
        let other = InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: "D00D")
        let w = cal.warnings(at: date, instrument: other)
        #expect(w.count == 1)
        let text = try #require(w.first)
        #expect(text.contains("belongs to Nordic Semiconductor PPK2 C2F1") && text.contains("not to Nordic Semiconductor PPK2 D00D"), "\(text)")
        // Same serial on another model is another instrument too.
        let otherModel = InstrumentIdentity(vendor: "Keysight", model: "N6705C", serial: "C2F1")
        #expect(cal.warnings(at: date, instrument: otherModel).count == 1)
        // Both at once.
        let both = cal.warnings(at: cal.due + Seconds(10 * 86_400), instrument: other)
        #expect(both.count == 2)
        #expect(both[0].contains("expired 10 days ago") && both[1].contains("D00D"))
    }
}
