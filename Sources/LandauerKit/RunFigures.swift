import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerStore
import LandauerTraining

/// The figures of a training run that reports print: accuracy, calibrated energies, bit counts,
/// joules per bit, and beside them k_B·T·ln 2, the analog training and inference bounds and the
/// digital baseline, each with its definition, uncertainty (k = 2) and multiple of k_B·T·ln 2.
public struct RunFigures {
    /// An energy and its expanded uncertainty (k = 2), joules.
    public struct Energy: Sendable, Equatable {
        public var joules: Double
        public var expanded: Double
        public init(joules: Double, expanded: Double) {
            self.joules = joules
            self.expanded = expanded
        }
        public init(_ f: EnergyFigure) { self.init(joules: f.value.value, expanded: f.budget.expanded) }
    }

    /// The energies of a metered run as one process measured it whole.
    public static func energies(_ m: MeasuredEnergy) -> [String: Energy] {
        var out: [String: Energy] = [:]
        for (phase, name) in [(Phase.free, "free"), (.nudged, "nudged"), (.update, "update"), (.readout, "readout")] {
            out[name] = Energy(m.energy(of: phase))
        }
        // The training total is evaluated on the combined samples (its calibration errors are correlated, not independent).
        let training = [Phase.free, .nudged, .update].reduce(RangeSums()) { RangeSums.combine($0, m.attribution.total($1), k: 1) }
        out["training"] = Energy(m.evaluator.energy(training))
        if let r = m.run { out["run"] = Energy(r) }
        if let d = m.dynamic { out["dynamic"] = Energy(d) }
        return out
    }

    /// The energies of a run put together from the per-epoch records of the store (a resumed run,
    /// measured by more than one process): values add; expanded uncertainties add linearly, as if
    /// fully correlated (they share the calibration), which overstates them a little.
    public static func energies(_ records: [EnergyRecord]) -> [String: Energy] {
        var out: [String: Energy] = [:]
        for r in records {
            var e = out[r.phase] ?? Energy(joules: 0, expanded: 0)
            e.joules += r.joules
            e.expanded += r.expandedUncertaintyJoules
            out[r.phase] = e
        }
        let parts = ["free", "nudged", "update"].compactMap { out[$0] }
        if !parts.isEmpty {
            out["training"] = Energy(joules: parts.map(\.joules).reduce(0, +), expanded: parts.map(\.expanded).reduce(0, +))
        }
        return out
    }

    /// What a finished training run knows.
    public struct Inputs {
        public var runId: String
        public var network: NetworkShape
        /// Final test accuracy.
        public var testAccuracy: Double
        /// Training samples seen in all (epochs × training set).
        public var samplesSeen: Int
        /// Free-phase steps per relaxation.
        public var freeSteps: Int
        /// Samples read out (test evaluations).
        public var readoutSamples: Int
        public var learned: BitCount?
        public var readout: BitCount
        public var written: BitCount
        /// Calibrated energies by name (free, nudged, update, readout, training, run, dynamic); empty without a meter.
        public var energies: [String: Energy] = [:]
        /// How the energies were obtained, appended to their definitions (e.g. for a resumed run).
        public var energyNote = ""
        /// Idle power before the run, when measured.
        public var idlePowerWatts: Double?
        /// The board's supply voltage the meter sources, volts, when metered.
        public var supplyVolts: Double?
        /// The simulator's ground truth, on a virtual bench.
        public var ledger: LedgerTruth?
        /// Temperature of the board.
        public var temperature: Kelvin

        public init(
            runId: String, network: NetworkShape, testAccuracy: Double, samplesSeen: Int, freeSteps: Int, readoutSamples: Int,
            learned: BitCount?, readout: BitCount, written: BitCount, ledger: LedgerTruth?, temperature: Kelvin
        ) {
            self.runId = runId
            self.network = network
            self.testAccuracy = testAccuracy
            self.samplesSeen = samplesSeen
            self.freeSteps = freeSteps
            self.readoutSamples = readoutSamples
            self.learned = learned
            self.readout = readout
            self.written = written
            self.ledger = ledger
            self.temperature = temperature
        }
    }

    /// The figures, in report order.
    public static func make(_ x: Inputs) -> [FigureRecord] {
        var out: [FigureRecord] = []
        let temperature = x.temperature
        let kTln2 = temperature.landauerBound.value
        func add(
            _ key: String, _ name: String, _ kind: FigureRecord.Kind, _ value: Double, _ unit: String, u: Double? = nil,
            _ definition: String, source: String? = nil
        ) {
            let ratio = unit == "J/bit" && value > 0 ? value / kTln2 : nil
            out.append(FigureRecord(
                runId: x.runId, position: out.count, key: key, name: name, kind: kind, value: value, unit: unit, expandedUncertainty: u,
                definition: definition, source: source, landauerRatio: ratio))
        }
        add("accuracy.test", "test accuracy", .derived, x.testAccuracy, "1", "fraction of the held-out test samples classified correctly after the last epoch")
        add("temperature", "board temperature", .measured, temperature.value, "K", "the board's temperature sensor at the end of the run; every k_B·T figure uses it")

        let e = x.energies
        let phases: [(Phase, String, String)] = [
            (.free, "free", "relaxation to the free equilibrium (matrix-vector reads, both directions)"),
            (.nudged, "nudged", "relaxation with the output nudged towards the target"),
            (.update, "update", "programming pulses that change the weights"),
            (.readout, "readout", "inference on the test set (and the final pass that counts the bits learned)"),
        ]
        for (phase, name, what) in phases {
            guard let f = e[name] else { continue }
            let ledger = x.ledger?.energyByPhase[phase]?.value
            add("energy.\(name)", "energy, \(name) phases", .measured, f.joules, "J", u: f.expanded,
                "calibrated energy drawn from the board's supply in every \(name) window the marker lines delimit: \(what)"
                    + (ledger.map { "; the simulator's ledger says \(Joules($0).formatted(significantDigits: 5))" } ?? "") + x.energyNote)
        }
        if let t = e["training"] {
            add("energy.training", "energy, training (free + nudged + update)", .measured, t.joules, "J", u: t.expanded,
                "calibrated energy of every free, nudged and update window together, the cost of learning" + x.energyNote)
        }
        if let r = e["run"] {
            add("energy.run", "energy, whole run", .measured, r.joules, "J", u: r.expanded,
                "calibrated energy from the run line rising to it falling, idle stretches between phases included" + x.energyNote)
        }
        if let d = e["dynamic"] {
            add("energy.dynamic", "energy above idle", .measured, d.joules, "J", u: d.expanded,
                "the whole run's energy less the idle power (mean of before and after) times its duration" + x.energyNote)
        }
        if let v = x.supplyVolts {
            add("supply.voltage", "supply voltage", .derived, v, "V", "the voltage the meter sources to the board; trace power is current times this")
        }
        if let p = x.idlePowerWatts {
            add("power.idle", "idle power before the run", .measured, p, "W", "mean calibrated power with the board idle, measured before the run line rose")
        }
        if let l = x.ledger {
            add("ledger.run", "ledger energy, whole run", .ledger, l.energy.value, "J",
                "the virtual board's own energy ledger over the run window: the truth the measurement is checked against (virtual bench only)")
        }

        let bitCounts: [(String, BitCount?)] = [("learned", x.learned), ("readout", x.readout), ("written", x.written)]
        for (key, count) in bitCounts {
            guard let count else { continue }
            add("bits.\(key)", count.definition.name, .derived, count.bits, "bit", u: 2 * count.standardUncertainty,
                count.definition.definition + (count.assumptions.isEmpty ? "" : " Assumptions: " + count.assumptions.joined(separator: "; ") + "."))
        }

        func perBit(_ key: String, _ name: String, energy: Energy?, bits: BitCount?, _ definition: String) {
            guard let energy, let bits, bits.bits > 0 else { return }
            let per = EnergyPerBit(energy: Joules(energy.joules), energyUncertainty: Joules(energy.expanded / 2), bits: bits, at: temperature)
            guard let j = per.joulesPerBit else { return }
            add(key, name, .measured, j.value, "J/bit", u: per.standardUncertainty.map { 2 * $0.value }, definition)
        }
        perBit("perbit.training", "training energy per bit learned", energy: e["training"], bits: x.learned,
               "energy of the training phases over the bits learned: the figure the learning bounds speak to")
        perBit("perbit.readout", "readout energy per readout bit", energy: e["readout"], bits: x.readout,
               "energy of the readout windows over the bits of readout they produced")
        perBit("perbit.update", "update energy per bit written", energy: e["update"], bits: x.written,
               "energy of the update windows over the bits the programming pulses wrote")

        add("bound.landauer", "k_B·T·ln 2", .bound, kTln2, "J/bit",
            "Landauer's bound: the least heat erasing one bit dissipates at the board's temperature", source: "R. Landauer, IBM J. Res. Dev. 5, 183 (1961)")
        let n = x.network.parameterCount
        if let learned = x.learned, learned.bits > 0 {
            let b = EnergyBound.quasiStaticAnalogTraining(parameters: n, samplesSeen: x.samplesSeen, at: temperature)
            add("bound.training", "analog training bound per bit learned", .bound, b.energy.value / learned.bits, "J/bit",
                "\(b.formula) = \(b.energy.formatted(significantDigits: 4)), over the bits learned; approximately the least a quasi-static analog learner with gradient signal-to-noise ratio 1 dissipates",
                source: b.source)
            let d = EnergyBound.digitalHardwareToday(parameters: n, samplesSeen: x.samplesSeen)
            add("baseline.digital", "digital hardware today per bit learned", .baseline, d.energy.value / learned.bits, "J/bit",
                "\(d.formula) = \(d.energy.formatted(significantDigits: 4)), over the bits learned: what training the same network on today's digital hardware costs, not a bound",
                source: d.source)
        }
        if x.readout.bits > 0 {
            let neurons = x.network.layers.dropFirst().reduce(0, +)
            let cycles = x.freeSteps * x.readoutSamples
            let b = EnergyBound.dynamicAnalogInference(neurons: neurons, activatedPerCycle: Double(neurons) / 2, cycles: cycles, at: temperature)
            add("bound.inference", "dynamic analog inference bound per readout bit", .bound, b.energy.value / x.readout.bits, "J/bit",
                "\(b.formula) = \(b.energy.formatted(significantDigits: 4)), assuming half the \(neurons) neurons active per cycle (the largest H(p)), over the readout bits; quasi-static inference has no minimum (eq. 7)",
                source: b.source)
        }
        return out
    }
}
