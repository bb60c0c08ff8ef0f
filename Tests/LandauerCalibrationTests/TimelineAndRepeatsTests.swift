import LandauerCalibration
import LandauerFirmware
import Testing

@Suite("Marker timelines, repeats and power readings")
struct TimelineAndRepeatsTests {
    @Test("board acknowledgements give each meter sample the lines at its start")
    func timeline() {
        let t = MarkerTimeline(acknowledgements: [(0x21, 25_000), (0x22, 61_000), (0x00, 90_000), (0x29, 40_000)])
        #expect(t.events.map(\.lines) == [0x21, 0x29, 0x22, 0x00])  // sorted by time
        #expect(t.lines(at: Seconds(0)) == 0)
        #expect(t.lines(at: Seconds(Double(25_000) * 1e-9)) == 0x21)  // a change at the instant counts
        #expect(t.lines(at: Seconds(39.999e-6)) == 0x21)
        #expect(t.lines(at: Seconds(61.5e-6)) == 0x22)
        #expect(t.lines(at: Seconds(60.9e-6)) == 0x29)
        #expect(t.lines(at: Seconds(1)) == 0)
        // A meter at 10 µs per sample whose sample 0 starts at board time 3 µs.
        let lines = t.lines(samples: 10, start: Seconds(3e-6), period: Seconds(1e-5))
        // Samples start at 3, 13, …, 93 µs; changes at 25, 40, 61 and 90 µs.
        #expect(lines == [0, 0, 0, 0x21, 0x29, 0x29, 0x22, 0x22, 0x22, 0x00])
        #expect(t.lines(samples: 2, first: 7, start: Seconds(3e-6), period: Seconds(1e-5)) == [0x22, 0x22])
        // Fed to the attribution, the timeline's lines cut windows as logic inputs would.
        var a = MarkerAttribution()
        for (k, l) in lines.enumerated() { a.add(index: Int64(k), raw: 1e-3, range: 0, lines: l) }
        a.finish()
        #expect(a.windows(.batch).count == 3)  // D3 toggles twice: 0x21 → 0x29 → 0x22
        #expect(a.windows(.run).first?.start == 2.5)
        #expect(a.windows(.run).first?.end == 8.5)
    }

    @Test("repeats give the mean and s/√n as a type A component; shared systematics do not average away")
    func repeats() {
        let r = RepeatedMeasurement([10, 12, 11, 13, 9])
        #expect(r.mean == 11)
        #expect(abs(r.standardDeviation! - 2.5.squareRoot()) < 1e-12)
        #expect(abs(r.standardUncertaintyOfMean! - (2.5 / 5).squareRoot()) < 1e-12)
        let b = r.budget(systematic: [UncertaintyComponent("calibration", .typeB, 0.3)])
        #expect(abs(b.combined - (0.5 + 0.09).squareRoot()) < 1e-12)
        #expect(b.typeA == r.standardUncertaintyOfMean!)
        #expect(RepeatedMeasurement([4]).standardUncertaintyOfMean == nil)
        #expect(RepeatedMeasurement([4]).budget().components.isEmpty)
    }

    @Test("power readings integrate without the supply voltage; their gap bound uses it for the full scale")
    func power() {
        var s = RangeSums()
        for _ in 0..<100 { s.add(0.05, range: 0) }  // 50 mW for 1 ms
        s.missing = 10
        var e = EnergyEvaluator(voltage: Volts(3.3), period: Seconds(1e-5), calibration: nil, fullScale: Amperes(1), voltageRelativeUncertainty: 0.01)
        e.reading = .power
        let f = e.energy(s)
        #expect(abs(f.value.value - 50e-6) < 1e-15)
        #expect(!f.budget.components.contains { $0.name.hasPrefix("supply voltage") })
        #expect(abs(f.gapBound.upperBound.value - (50e-6 + 10 * 1e-5 * 3.3)) < 1e-15)
        e.reading = .current
        #expect(abs(e.energy(s).value.value - 3.3 * 50e-6) < 1e-15)
        #expect(e.energy(s).budget.components.contains { $0.name.hasPrefix("supply voltage") })
    }
}
