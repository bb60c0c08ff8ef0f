import Foundation
import LandauerCalibration
import LandauerFirmware

/// The measured-energy section of a report: calibrated energies with their uncertainty, the
/// calibration they rest on, energies per named bit beside k_B·T·ln 2, and every warning.
public struct MeasuredEnergyReport: Codable, Sendable {
    public struct Figure: Codable, Sendable {
        public var name: String
        public var joules: Double
        /// Expanded uncertainty, k = 2.
        public var expandedUncertaintyJoules: Double
        /// The simulator's ledger for the same window, on a virtual bench.
        public var ledgerJoules: Double?
    }

    public struct PerBit: Codable, Sendable {
        /// Which energy, over which bits.
        public var name: String
        /// The bits' definition, e.g. "bits of readout".
        public var bits: String
        public var count: Double
        public var joulesPerBit: Double
        /// (J/bit)/(k_B·T·ln 2).
        public var landauerRatio: Double
        public var assumptions: [String]
    }

    public var meter: String
    /// The calibration cited; nil when there was none (and a warning says so).
    public var calibrationId: String?
    public var calibrationDate: String?
    public var calibrationDue: String?
    /// True when the calibration was made for this run (none valid was found).
    public var calibratedNow: Bool
    public var calibrationPath: String?
    public var phases: [Figure]
    public var run: Figure?
    public var dynamic: Figure?
    public var idlePowerBeforeWatts: Double
    public var idlePowerAfterWatts: Double
    public var temperatureKelvin: Double
    public var landauerJoulesPerBit: Double
    public var perBit: [PerBit]
    public var warnings: [String]

    /// Builds the section from what a metered run measured. `ledger` gives the simulator's energy
    /// per phase (by `Phase`) and for the run, where known; `bits` pairs each phase with the bits it produced.
    public init(_ m: MeasuredEnergy, phases: [(Phase, String)], ledger: [Phase: Double], runLedger: Double?, dynamicLedger: Double?,
                bits: [(Phase, BitCount)]) {
        meter = m.meter.summary
        calibrationId = m.calibration?.id
        calibrationDate = m.calibration.map { CalibrationSummary.iso($0.date) }
        calibrationDue = m.calibration.map { CalibrationSummary.iso($0.due) }
        calibratedNow = m.calibratedNow
        calibrationPath = m.calibrationPath
        self.phases = phases.map { phase, name in
            let f = m.energy(of: phase)
            return Figure(name: name, joules: f.value.value, expandedUncertaintyJoules: f.budget.expanded, ledgerJoules: ledger[phase])
        }
        run = m.run.map { Figure(name: "run", joules: $0.value.value, expandedUncertaintyJoules: $0.budget.expanded, ledgerJoules: runLedger) }
        dynamic = m.dynamic.map { Figure(name: "dynamic", joules: $0.value.value, expandedUncertaintyJoules: $0.budget.expanded, ledgerJoules: dynamicLedger) }
        idlePowerBeforeWatts = m.baseline.powerBefore(m.evaluator).value
        idlePowerAfterWatts = m.baseline.powerAfter(m.evaluator).value
        temperatureKelvin = m.temperature.value
        landauerJoulesPerBit = m.temperature.landauerBound.value
        perBit = bits.compactMap { phase, count in
            let f = m.energy(of: phase)
            let e = EnergyPerBit(energy: f.value, energyUncertainty: f.standardUncertainty, bits: count, at: m.temperature)
            guard let jpb = e.joulesPerBit, let ratio = e.landauerRatio else { return nil }
            return PerBit(name: phase.description, bits: count.definition.name, count: count.bits, joulesPerBit: jpb.value,
                          landauerRatio: ratio, assumptions: count.assumptions)
        }
        warnings = m.warnings()
    }

    /// Lines for a terminal.
    public var text: String {
        let cited = calibrationId.map { "calibration \($0)\(calibratedNow ? ", made for this run" : ""), due \(calibrationDue ?? "?")" } ?? "NOT CALIBRATED"
        var lines = ["measured energy (\(meter); \(cited))"]
        func line(_ f: Figure) -> String {
            var s = "  \(f.name.padding(22))\(Joules(f.joules).formatted(significantDigits: 5)) ± \(Joules(f.expandedUncertaintyJoules).formatted(significantDigits: 2)) (k = 2)"
            if let l = f.ledgerJoules {
                s += "   ledger \(Joules(l).formatted(significantDigits: 5)), \(SignificantDigits.format((f.joules / l - 1) * 100, digits: 2)) %"
            }
            return s
        }
        for f in phases { lines.append(line(f)) }
        if let run { lines.append(line(run)) }
        if let dynamic {
            lines.append(line(dynamic) + "   (less idle \(Watts(idlePowerBeforeWatts).formatted()) before, \(Watts(idlePowerAfterWatts).formatted()) after)")
        }
        for p in perBit {
            lines.append("  \(p.name.padding(22))\(JoulesPerBit(p.joulesPerBit).formatted(significantDigits: 3)) over \(SignificantDigits.format(p.count, digits: 4)) \(p.bits) = \(SignificantDigits.format(p.landauerRatio, digits: 3)) × k_B·T·ln 2 at \(Kelvin(temperatureKelvin).formatted())")
        }
        for w in warnings { lines.append("  warning: \(w)") }
        return lines.joined(separator: "\n")
    }
}
