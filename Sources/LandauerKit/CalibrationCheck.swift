import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerSimulators

/// The calibration layer checked end to end against ground truth: a virtual board with a
/// virtual PPK2 whose gain and offset errors are drawn from a seed the host never sees, a
/// reference-load bank whose actual values differ from their certificates within the
/// certificates' uncertainty, `landauer calibrate`'s procedure, a scripted workload with phase
/// markers, baselines before and after — and the simulator's ledger to compare with.
public struct CalibrationCheck: Sendable {
    /// One phase window: measured and true.
    public struct PhaseOutcome: Sendable {
        /// The window's name.
        public var name: String
        /// Its duration.
        public var duration: Seconds
        /// Calibrated energy, with its budget.
        public var measured: EnergyFigure
        /// The ledger's energy between the two marker edges.
        public var truth: Joules
    }

    /// What one check found.
    public struct Outcome: Sendable {
        /// The calibration made.
        public var calibration: MeterCalibration
        /// Calibrated energy of the whole run window.
        public var total: EnergyFigure
        /// The meter's own (uncalibrated) reading of the same window.
        public var uncalibrated: EnergyFigure
        /// The ledger's energy of the run window (between the ledger totals at the two edges).
        public var truth: Joules
        /// Dynamic energy (run less baseline), with its budget.
        public var dynamic: EnergyFigure
        /// The ledger's run energy less the board's true idle power over the run.
        public var dynamicTruth: Joules
        /// Every phase window.
        public var phases: [PhaseOutcome]
        /// Duration of the run window.
        public var duration: Seconds
        /// What ran.
        public var workload: ScriptedWorkload.Result
    }

    /// Seed of the board, the meter's hidden errors and the loads' actual values.
    public var seed: UInt64
    /// Hidden gain error spread of the meter (uniform ± this, per range).
    public var gainSpread = 0.03
    /// Hidden offset spread, ADC counts.
    public var offsetSpreadCounts = 20.0
    /// Meter noise, ADC counts.
    public var noiseCounts = 3.0
    /// The workload.
    public var workload = ScriptedWorkload()
    /// The calibration procedure.
    public var procedure = CalibrationProcedure()
    /// Idle time measured before and after the run.
    public var baselineDuration = Seconds(0.02)
    /// The board's configuration (its seed is replaced by `seed`).
    public var board = VirtualBoardConfig.default

    /// A check with `seed`.
    public init(seed: UInt64) { self.seed = seed }

    /// Runs it.
    public func run() async throws -> Outcome {
        var config = board
        config.seed = seed
        let board = VirtualBoard(config: config)
        let bench = LockstepPowerBench(
            board: board,
            ppk2: .withHiddenErrors(seed: seed, gainSpread: gainSpread, offsetSpreadCounts: offsetSpreadCounts, noiseCounts: noiseCounts),
            bank: ReferenceLoadBank(nominals: ReferenceLoadBank.ppk2Nominals, voltage: config.supplyVoltage, seed: seed ^ 0x5EED))
        try bench.connect()
        let calibration = try await procedure.run(on: bench)
        bench.connectBoard()
        let evaluator = EnergyEvaluator(voltage: config.supplyVoltage, period: Seconds(1e-5), calibration: calibration)
        let raw = EnergyEvaluator(voltage: config.supplyVoltage, period: Seconds(1e-5), calibration: nil)

        // The host's clock and the meter's sample clock are not synchronised: the run starts at a
        // random point within a 10 µs sample, as it does on a bench.
        var rng = SplitMix64(seed: seed ^ 0x0FF5E7)
        board.advance(by: baselineDuration + Seconds(1e-5 * rng.uniform()))
        let before = bench.collect().sums
        let client = BoardConnection.inProcessClient(for: board)
        let result = try await workload.run(client)
        var attribution = MarkerAttribution()
        bench.collect().feed(&attribution)
        board.advance(by: baselineDuration)
        let tail = bench.collect()
        tail.feed(&attribution)
        attribution.finish()
        // The idle stretch after the run (its first sample may still show the run's last instant).
        let after = tail.sums { !MarkerCode(lines: $0).running }
        let baseline = Baseline(before: before, after: after)

        // Ground truth from the marker edges the board recorded.
        let events = board.markerHistory
        guard let runStart = events.firstIndex(where: { MarkerCode(lines: $0.value).running }),
              let runEnd = events.lastIndex(where: { !MarkerCode(lines: $0.value).running }), runEnd > runStart,
              let run = attribution.windows(.run).first
        else { throw CalibrationError.invalid("the workload left no run window") }
        let truth = events[runEnd].energy - events[runStart].energy
        let duration = (events[runEnd].time - events[runStart].time).seconds
        let idlePower = config.quiescentPower + config.mcuSleepPower
        let phaseWindows = attribution.windows(.phase)
        let edges = Array(events[runStart...runEnd])
        var phases: [PhaseOutcome] = []
        for (k, w) in phaseWindows.enumerated() where k + 1 < edges.count {
            phases.append(
                PhaseOutcome(
                    name: w.name, duration: (edges[k + 1].time - edges[k].time).seconds, measured: evaluator.energy(w.sums),
                    truth: edges[k + 1].energy - edges[k].energy))
        }
        return Outcome(
            calibration: calibration, total: evaluator.energy(run.sums), uncalibrated: raw.energy(run.sums), truth: truth,
            dynamic: baseline.dynamicEnergy(of: run.sums, evaluator), dynamicTruth: truth - idlePower * duration, phases: phases,
            duration: duration, workload: result)
    }
}
