import LandauerCalibration
import LandauerFirmware
import Testing

/// docs/calibration.md's worked example, recomputed with the library: every figure the page
/// prints must be the string the library's result formats to, digit for digit.
@Suite("Worked example: docs/calibration.md")
struct CalibrationDocumentTests {
    static let voltage = Volts(3.3)
    static let n = 4_000

    /// The loads and readings the page gives (range, name, R in Ω, u(R) in Ω, mean raw reading in A, its sample σ in A).
    static let given: [(range: Int, name: String, ohms: Double, u: Double, mean: Double, sd: Double)] = [
        (1, "R3", 3_300, 0.66, 978.000e-6, 1.30e-6),
        (1, "R4", 1_000, 0.20, 3_208.150e-6, 1.30e-6),
        (1, "R5", 600, 0.12, 5_343.100e-6, 1.30e-6),
        (2, "R6", 330, 0.066, 10.07620e-3, 13.0e-6),
        (2, "R7", 100, 0.020, 33.20520e-3, 13.0e-6),
        (2, "R8", 60, 0.012, 55.35120e-3, 13.0e-6),
    ]

    static func calibration() throws -> MeterCalibration {
        let observations = given.map {
            CalibrationObservation(
                load: ReferenceLoad(name: $0.name, resistance: Ohms($0.ohms), standardUncertainty: Ohms($0.u)), range: $0.range,
                mean: Amperes($0.mean), standardDeviation: Amperes($0.sd), count: n)
        }
        return try MeterCalibration.fit(
            id: "cal-example", date: Seconds(0), validFor: Seconds(90 * 86_400),
            instrument: InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: "EXAMPLE"),
            method: "worked example", voltage: voltage, voltageRelativeUncertainty: 0, observations: observations,
            resolution: [Amperes(43.95e-9), Amperes(434.6e-9), Amperes(4.314e-6)])
    }

    /// The window: 6 000 samples on range 1 reading 3.6 mA on average, 2 000 on range 2 reading
    /// 20 mA, both edges inside range-2 samples of 20 mA, and a gap of 3 samples.
    static func window() -> RangeSums {
        var s = RangeSums()
        s.counts[1] = 6_000
        s.sums[1] = 6_000 * 3.6e-3
        s.varianceWeights[1] = 6_000
        s.counts[2] = 2_000
        s.sums[2] = 2_000 * 20e-3
        s.varianceWeights[2] = 2_000
        s.edgeSquares[2] = 2 * 20e-3 * 20e-3
        s.missing = 3
        return s
    }

    static func expected() throws -> [String: String] {
        let cal = try calibration()
        var e: [String: String] = [:]
        for fit in cal.ranges {
            let r = "r\(fit.range)"
            e["\(r).gain"] = SignificantDigits.plain(fit.gain, digits: 6)
            e["\(r).gain.uA"] = SignificantDigits.format(fit.covarianceA[0].squareRoot(), digits: 2)
            e["\(r).gain.uB"] = SignificantDigits.format(fit.covarianceB[0].squareRoot(), digits: 2)
            e["\(r).offset"] = fit.offset.formatted(significantDigits: 4)
            e["\(r).offset.uA"] = Amperes(fit.covarianceA[2].squareRoot()).formatted(significantDigits: 2)
            e["\(r).offset.uB"] = Amperes(fit.covarianceB[2].squareRoot()).formatted(significantDigits: 2)
            e["\(r).chi2"] = SignificantDigits.plain(fit.reducedChiSquare ?? .nan, digits: 3)
            e["\(r).noise"] = fit.sampleNoise.formatted(significantDigits: 3)
        }
        let evaluator = EnergyEvaluator(voltage: voltage, period: Seconds(1e-5), calibration: cal, fullScale: Amperes(1))
        let w = window()
        let figure = evaluator.energy(w)
        var one = RangeSums()
        one.counts[1] = w.counts[1]; one.sums[1] = w.sums[1]
        var two = RangeSums()
        two.counts[2] = w.counts[2]; two.sums[2] = w.sums[2]
        e["E1"] = evaluator.energy(one).value.formatted(significantDigits: 6)
        e["E2"] = evaluator.energy(two).value.formatted(significantDigits: 6)
        e["E"] = figure.value.formatted(significantDigits: 6)
        e["E.uncalibrated"] = EnergyEvaluator(voltage: voltage, period: Seconds(1e-5), calibration: nil).energy(w).value.formatted(significantDigits: 6)
        let names = ["meter noise": "u.noise", "calibration fit": "u.fit", "reference loads": "u.reference", "quantisation": "u.quantisation", "marker timing": "u.timing"]
        for c in figure.budget.components {
            guard let key = names.first(where: { c.name.hasPrefix($0.key) })?.value else { continue }
            e[key] = Joules(c.standardUncertainty).formatted(significantDigits: 2)
        }
        e["u.c"] = figure.standardUncertainty.formatted(significantDigits: 2)
        e["U"] = figure.expandedUncertainty.formatted(significantDigits: 2)
        e["U.relative"] = SignificantDigits.format(figure.budget.expanded / figure.value.value, digits: 2)
        e["gap.upper"] = figure.gapBound.upperBound.formatted(significantDigits: 6)
        return e
    }

    @Test func givenValuesAreThePagesInputs() throws {
        let page = try DocumentTables("calibration.md")
        let rows = try page.table("calibration-example-given")
        #expect(rows.count == Self.given.count)
        for (row, g) in zip(rows, Self.given) {
            #expect(row.key == g.name)
            #expect(row.values == [
                "\(g.range)", "\(Int(g.ohms)) Ω", SignificantDigits.plain(g.u, digits: 2) + " Ω",
                Amperes(g.mean).formatted(significantDigits: 7), Amperes(g.sd).formatted(significantDigits: 3),
            ], "row \(g.name)")
        }
    }

    @Test func everyPrintedFigureIsTheLibrarysResult() throws {
        let page = try DocumentTables("calibration.md")
        var printed = try page.values("calibration-example-fit")
        printed.merge(try page.values("calibration-example-energy")) { a, _ in a }
        let expected = try Self.expected()
        #expect(Set(printed.keys) == Set(expected.keys), "keys: page \(printed.keys.sorted()) vs library \(expected.keys.sorted())")
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(printed[key] == value, "`\(key)`: the page prints `\(printed[key] ?? "nothing")`, the library gives `\(value)`")
        }
    }
}
