import LandauerCalibration
import LandauerFirmware
import Testing

/// docs/energy-accounting.md's worked example of attribution and baseline subtraction,
/// recomputed with the library: every printed figure must be the library's, digit for digit.
@Suite("Worked example: docs/energy-accounting.md (attribution and baseline)")
struct EnergyAccountingDocumentTests {
    /// The trace the page gives: sample index, raw reading in mA (nil: missing), marker lines.
    static let trace: [(index: Int64, milliamperes: Double?, lines: UInt8)] = [
        (0, 3.5, 0x00), (1, 3.5, 0x00), (2, 12.0, 0x21), (3, 12.0, 0x21), (4, 12.0, 0x21), (5, 15.0, 0x22),
        (6, 15.0, 0x22), (7, nil, 0x22), (8, 20.0, 0x23), (9, 20.0, 0x23), (10, 12.0, 0x29), (11, 12.0, 0x29),
        (12, 14.0, 0x2A), (13, 3.5, 0x00), (14, 3.5, 0x00), (15, 3.5, 0x00),
    ]

    /// A calibration that leaves range 1 as it is (gain 1, offset 0, exact), with the PPK2's noise and step.
    static let calibration = MeterCalibration(
        id: "cal-identity", date: Seconds(0), due: Seconds(1e10),
        instrument: InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: "EXAMPLE"),
        method: "worked example", voltage: Volts(3.3), voltageRelativeUncertainty: 0,
        ranges: [RangeCalibration(
            range: 1, gain: 1, offset: .zero, covarianceA: [0, 0, 0], covarianceB: [0, 0, 0], sampleNoise: Amperes(1.3e-6),
            reducedChiSquare: nil, points: 3)],
        resolution: [Amperes(43.95e-9), Amperes(434.6e-9)])

    static let evaluator = EnergyEvaluator(voltage: Volts(3.3), period: Seconds(1e-5), calibration: calibration, fullScale: Amperes(1))

    static func attribution() -> MarkerAttribution {
        var a = MarkerAttribution()
        for s in trace {
            guard let mA = s.milliamperes else { continue }
            a.add(index: s.index, raw: mA * 1e-3, range: 1, lines: s.lines)
        }
        a.finish()
        return a
    }

    /// Idle stretches: 100 samples at 3.5 mA before the run, 100 at 3.6 mA after.
    static func idle(_ mA: Double) -> RangeSums {
        var s = RangeSums()
        for _ in 0..<100 { s.add(mA * 1e-3, range: 1) }
        return s
    }

    /// A sample position or count: whole numbers plain, halves with one decimal.
    static func fmt(_ x: Double) -> String { x == x.rounded() ? "\(Int(x))" : SignificantDigits.plain(x, digits: x < 10 ? 2 : 3) }

    static func expectedWindows() -> [(key: String, values: [String])] {
        attribution().windows.map { w in
            let f = evaluator.energy(w.sums)
            return (w.name, [w.kind.rawValue, fmt(w.start), fmt(w.end), fmt(w.sums.sampleCount), fmt(w.sums.missing),
                             f.value.formatted(significantDigits: 4), f.expandedUncertainty.formatted(significantDigits: 2)])
        }
    }

    static func expectedBaseline() -> [String: String] {
        let a = attribution()
        let run = a.windows(.run)[0]
        let baseline = Baseline(before: idle(3.5), after: idle(3.6))
        let dynamic = baseline.dynamicEnergy(of: run.sums, evaluator)
        return [
            "P.before": baseline.powerBefore(evaluator).formatted(significantDigits: 4),
            "P.after": baseline.powerAfter(evaluator).formatted(significantDigits: 4),
            "drift": SignificantDigits.plain(baseline.relativeDrift(evaluator) * 100, digits: 3) + " %",
            "E.run": evaluator.energy(run.sums).value.formatted(significantDigits: 5),
            "E.dynamic": dynamic.value.formatted(significantDigits: 5),
            "U.dynamic": dynamic.expandedUncertainty.formatted(significantDigits: 2),
            "gap.upper": evaluator.energy(run.sums).gapBound.upperBound.formatted(significantDigits: 5),
            "outside": SignificantDigits.plain(a.outside.sampleCount, digits: 4),
            "warnings": String(dynamic.warnings.count),
        ]
    }

    @Test func theTraceIsThePagesTrace() throws {
        let rows = try DocumentTables("energy-accounting.md").table("energy-example-trace")
        #expect(rows.map(\.key) == Self.trace.map { "\($0.index)" })
        for (row, s) in zip(rows, Self.trace) {
            let lines = "0x" + (s.lines < 16 ? "0" : "") + String(s.lines, radix: 16, uppercase: true)
            #expect(row.values.first == (s.milliamperes.map { SignificantDigits.plain($0, digits: 2) + " mA" } ?? "missing"), "sample \(s.index)")
            #expect(row.values.dropFirst().first == lines, "sample \(s.index)")
        }
    }

    @Test func windowsAreTheLibrarys() throws {
        let rows = try DocumentTables("energy-accounting.md").table("energy-example-windows")
        let expected = Self.expectedWindows()
        let markdown = expected.map { e in "| | `\(e.key)` | " + e.values.map { "`\($0)`" }.joined(separator: " | ") + " |" }
        #expect(rows.map(\.key) == expected.map(\.key), "the library's windows:\n\(markdown.joined(separator: "\n"))")
        for (row, e) in zip(rows, expected) {
            #expect(row.values == e.values, "`\(e.key)`: the page prints \(row.values), the library gives \(e.values)")
        }
    }

    @Test func baselineFiguresAreTheLibrarys() throws {
        let printed = try DocumentTables("energy-accounting.md").values("energy-example-baseline")
        let expected = Self.expectedBaseline()
        #expect(Set(printed.keys) == Set(expected.keys))
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(printed[key] == value, "`\(key)`: the page prints `\(printed[key] ?? "nothing")`, the library gives `\(value)`")
        }
    }
}
