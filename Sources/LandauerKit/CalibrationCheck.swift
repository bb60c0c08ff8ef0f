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
        var meter = SimulatedMeterOptions()
        meter.seed = seed
        meter.gainSpread = gainSpread
        meter.offsetSpreadCounts = offsetSpreadCounts
        meter.noiseCounts = noiseCounts
        let metered = try await MeteredRun(
            board: board, meter: meter, workspace: nil, calibrate: .always, procedure: procedure, idle: baselineDuration)
        guard let calibration = metered.calibration else { throw CalibrationError.invalid("the check made no calibration") }
        let client = BoardConnection.inProcessClient(for: board)
        let result = try await workload.run(client)
        let measured = try metered.finish(temperature: config.temperature)
        let attribution = measured.attribution
        let evaluator = measured.evaluator
        let raw = EnergyEvaluator(voltage: config.supplyVoltage, period: Seconds(1e-5), calibration: nil)

        // Ground truth from the marker edges the board recorded.
        guard let truth = LedgerTruth(board: board), let run = attribution.windows(.run).first else {
            throw CalibrationError.invalid("the workload left no run window")
        }
        let windows = truth.windows
        var phases: [PhaseOutcome] = []
        for (k, w) in attribution.windows(.phase).enumerated() where k < windows.count {
            phases.append(PhaseOutcome(name: w.name, duration: windows[k].duration, measured: evaluator.energy(w.sums), truth: windows[k].energy))
        }
        return Outcome(
            calibration: calibration, total: evaluator.energy(run.sums), uncalibrated: raw.energy(run.sums), truth: truth.energy,
            dynamic: measured.baseline.dynamicEnergy(of: run.sums, evaluator), dynamicTruth: truth.dynamicEnergy, phases: phases,
            duration: truth.duration, workload: result)
    }
}

/// The virtual meter `landauer calibrate --meter sim:?…` builds: a PPK2 whose hidden errors come
/// from its seed, on the board of `--board`, with a reference-load bank.
public struct SimulatedMeterOptions: Sendable, Equatable {
    /// Seed of the unit's hidden errors and of the loads' actual values.
    public var seed: UInt64 = 1
    /// Hidden gain error spread (uniform ± this, per range).
    public var gainSpread = 0.03
    /// Hidden offset spread, ADC counts.
    public var offsetSpreadCounts = 20.0
    /// Noise, ADC counts.
    public var noiseCounts = 3.0

    /// The keys `sim:?…` takes for a meter, with what each means.
    public static let help: [(key: String, meaning: String)] = [
        ("seed", "seed of the unit's hidden gain and offset errors and of the loads' actual values"),
        ("gain-spread", "hidden gain error, uniform within ± this fraction per range (default 0.03)"),
        ("offset-counts", "hidden offset, uniform within ± this many ADC counts per range (default 20)"),
        ("noise-counts", "converter noise, ADC counts (default 3)"),
    ]

    /// Defaults.
    public init() {}

    /// Reads `sim` or `sim:?key=value&…`.
    public init(parsing text: String) throws(ConnectionError) {
        let c = try ConnectionString(parsing: text)
        guard c.scheme == "sim", c.location.isEmpty else {
            throw .unsupportedScheme(text, scheme: c.scheme, reason: "a simulated meter is sim or sim:?key=value&…; a real PPK2 is ppk2:PATH with --loads FILE")
        }
        try c.rejectUnknownOptions(Self.help.map(\.key))
        seed = try c.value("seed") ?? seed
        gainSpread = try c.value("gain-spread") ?? gainSpread
        offsetSpreadCounts = try c.value("offset-counts") ?? offsetSpreadCounts
        noiseCounts = try c.value("noise-counts") ?? noiseCounts
        guard gainSpread >= 0, gainSpread < 0.5 else { throw .badOption(text, key: "gain-spread", value: "\(gainSpread)", expected: "a fraction in [0, 0.5)") }
        guard offsetSpreadCounts >= 0, offsetSpreadCounts < 1000 else { throw .badOption(text, key: "offset-counts", value: "\(offsetSpreadCounts)", expected: "0 … 1000 counts") }
        guard noiseCounts >= 0, noiseCounts < 1000 else { throw .badOption(text, key: "noise-counts", value: "\(noiseCounts)", expected: "0 … 1000 counts") }
    }

    /// The unit's configuration.
    public var ppk2: VirtualPPK2Config {
        .withHiddenErrors(seed: seed, gainSpread: gainSpread, offsetSpreadCounts: offsetSpreadCounts, noiseCounts: noiseCounts)
    }

    /// The serial number the unit reports (one per seed: each seed is another unit).
    public var serial: String { "SIM-\(String(seed, radix: 16, uppercase: true))" }
}

extension CalibrationCheck {
    /// A check whose meter is `meter` and whose board is `board`.
    public init(meter: SimulatedMeterOptions, board: VirtualBoardConfig) {
        self.init(seed: meter.seed)
        self.board = board
        gainSpread = meter.gainSpread
        offsetSpreadCounts = meter.offsetSpreadCounts
        noiseCounts = meter.noiseCounts
    }

    /// How well the uncertainty budget describes the errors over many seeds.
    public struct Coverage: Sendable, Codable, Equatable {
        /// Runs.
        public var runs: Int
        /// Runs whose k = 2 interval holds the ledger value.
        public var inside: Int
        /// Mean relative error against the ledger.
        public var meanError: Double
        /// Standard deviation of the relative errors.
        public var errorSpread: Double
        /// Largest relative error.
        public var maxError: Double
        /// Mean relative expanded uncertainty U/E.
        public var meanExpandedUncertainty: Double
        /// Mean full width 2U over the error spread.
        public var widthOverSpread: Double
        /// Phase windows over 1 ms, and how many hold their ledger value.
        public var phases: Int
        public var phasesInside: Int
        /// Largest relative phase error (phases over 1 ms).
        public var maxPhaseError: Double
    }

    /// Runs `self` once per seed (two at a time) and summarises; `body` sees every outcome.
    public func coverage(seeds: [UInt64], _ body: @Sendable (Outcome) -> Void = { _ in }) async throws -> Coverage {
        var outcomes: [Outcome] = []
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            var next = 0
            func start() {
                var check = self
                check.seed = seeds[next]
                check.workload.seed = seeds[next]
                next += 1
                group.addTask { try await check.run() }
            }
            for _ in 0..<min(2, seeds.count) { start() }
            while let o = try await group.next() {
                body(o)
                outcomes.append(o)
                if next < seeds.count { start() }
            }
        }
        let errors = outcomes.map { ($0.total.value - $0.truth).value / $0.truth.value }
        let n = Double(max(errors.count, 1))
        let mean = errors.reduce(0, +) / n
        let spread = errors.count > 1 ? (errors.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot() : 0
        let u = outcomes.map { $0.total.expandedUncertainty.value / $0.truth.value }
        let meanU = u.reduce(0, +) / n
        let phases = outcomes.flatMap(\.phases).filter { $0.duration.value > 1e-3 }
        return Coverage(
            runs: outcomes.count, inside: outcomes.filter { $0.total.interval.contains($0.truth) }.count, meanError: mean,
            errorSpread: spread, maxError: errors.map(abs).max() ?? 0, meanExpandedUncertainty: meanU,
            widthOverSpread: spread > 0 ? 2 * meanU / spread : .infinity, phases: phases.count,
            phasesInside: phases.filter { $0.measured.interval.contains($0.truth) }.count,
            maxPhaseError: phases.map { abs($0.measured.value / $0.truth - 1) }.max() ?? 0)
    }
}

extension LockstepPowerBench {
    /// The bench `landauer calibrate --meter sim:?…` uses: the unit and the load bank `meter` describes, on `board`.
    public convenience init(board: VirtualBoard, meter: SimulatedMeterOptions) {
        self.init(
            board: board, ppk2: meter.ppk2,
            bank: ReferenceLoadBank(nominals: ReferenceLoadBank.ppk2Nominals, voltage: board.config.supplyVoltage, seed: meter.seed ^ 0x5EED),
            serial: meter.serial)
    }
}
