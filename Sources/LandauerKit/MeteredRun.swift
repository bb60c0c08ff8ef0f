import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerSimulators
import Synchronization

/// A run measured by a meter on the virtual bench, from the idle stretch before it to the idle
/// stretch after: the calibration it cites, the trace cut into marker windows, the baseline.
///
/// Creating it finds the meter's newest calibration in the workspace — expired or not: an expired
/// one is used and the run says so — or, when there is none, makes one (`.ifMissing`) or goes on
/// with the meter's own readings and a warning (`.never`); it then measures the idle power before.
/// The caller runs its work with `MarkerCode` markers; `finish()` collects the trace, measures the
/// idle power after, and evaluates every window.
public final class MeteredRun: Sendable {
    /// When to calibrate.
    public enum CalibrationPolicy: String, Sendable, CaseIterable {
        /// Only when the workspace has no calibration for the meter.
        case ifMissing = "if-missing"
        /// Always, before the run.
        case always
        /// Never: without a calibration the meter's own readings are used, with a warning.
        case never
    }

    /// The bench.
    public let bench: LockstepPowerBench
    /// The calibration the run cites; nil when there is none.
    public let calibration: MeterCalibration?
    /// True when `start()` had to make the calibration.
    public let calibratedNow: Bool
    /// Where the calibration record is.
    public let calibrationPath: String?
    let before: RangeSums
    let idle: Seconds
    /// The windows so far: samples are fed as they are collected, so a long run never waits for
    /// more of the board's supply waveform than it keeps.
    let attribution = Mutex(MarkerAttribution())
    /// Where the samples go besides the windows (the run store's traces), if anywhere.
    let sink: Mutex<(@Sendable (MeterSamples) throws -> Void)?> = Mutex(nil)

    /// Sends every sample collected from now on to `body` as well (e.g. the run store).
    public func recordSamples(_ body: @escaping @Sendable (MeterSamples) throws -> Void) {
        sink.withLock { $0 = body }
    }

    /// Prepares a metered run on `board`.
    public init(
        board: VirtualBoard, meter: SimulatedMeterOptions, workspace: URL?, calibrate: CalibrationPolicy = .ifMissing,
        procedure: CalibrationProcedure = CalibrationProcedure(), idle: Seconds = Seconds(0.02), now: Date = Date()
    ) async throws {
        let bench = LockstepPowerBench(board: board, meter: meter)
        try bench.connect()
        let store = workspace.map { CalibrationStore(workspace: $0) }
        let record = calibrate == .always ? nil : try store?.latest(for: bench.identity)
        if let record {
            calibration = record
            calibratedNow = false
            calibrationPath = store?.directory.appendingPathComponent("\(record.id).json").path
        } else if calibrate == .never {
            calibration = nil
            calibratedNow = false
            calibrationPath = nil
        } else {
            let made = try await procedure.run(on: bench, date: now)
            calibration = made
            calibratedNow = true
            calibrationPath = try store?.save(made).path
        }
        bench.connectBoard()
        // Start at a random point of a sample, as an unsynchronised host does.
        var rng = SplitMix64(seed: meter.seed ^ 0x0FF5E7)
        before = bench.advanceBoard(by: idle + Seconds(1e-5 * rng.uniform())).sums
        self.bench = bench
        self.idle = idle
    }

    /// Feeds the samples the meter has taken since the last call to the windows. Call it often
    /// during a long run (after every batch): the board keeps only a few seconds of waveform, and
    /// samples over waveform it has discarded are lost (a gap, never filled in). `settle` first lets
    /// two samples' worth of board time pass, so a marker edge just set is inside the samples taken.
    public func collect(settle: Bool = true) throws {
        if settle { bench.board.advance(by: Seconds(2e-5)) }
        let samples = bench.collect()
        attribution.withLock { samples.feed(&$0) }
        try sink.withLock { try $0?(samples) }
    }

    /// The windows closed so far.
    public var windowsSoFar: [EnergyWindow] { attribution.withLock { $0.windows } }

    /// The evaluator the run's energies come from.
    public var evaluator: EnergyEvaluator {
        EnergyEvaluator(voltage: bench.board.config.supplyVoltage, period: Seconds(1e-5), calibration: calibration)
    }

    /// Collects the run's trace and the idle stretch after it, and evaluates the windows.
    public func finish(temperature: Kelvin) throws -> MeasuredEnergy {
        try collect()
        let tail = bench.advanceBoard(by: idle)
        let attribution = self.attribution.withLock { a -> MarkerAttribution in
            tail.feed(&a)
            a.finish()
            return a
        }
        let evaluator = EnergyEvaluator(voltage: bench.board.config.supplyVoltage, period: Seconds(1e-5), calibration: calibration)
        let baseline = Baseline(before: before, after: tail.sums { !MarkerCode(lines: $0).running })
        var measured = MeasuredEnergy(
            attribution: attribution, baseline: baseline, evaluator: evaluator, calibration: calibration,
            meter: bench.identity, temperature: temperature, calibratedNow: calibratedNow, calibrationPath: calibrationPath)
        measured.lostSamples = bench.lostSamples
        return measured
    }
}

/// What a metered run measured, ready for a report.
public struct MeasuredEnergy: Sendable {
    /// The windows.
    public let attribution: MarkerAttribution
    /// The idle stretches.
    public let baseline: Baseline
    /// The evaluator (calibration applied).
    public let evaluator: EnergyEvaluator
    /// The calibration cited; nil when there was none.
    public let calibration: MeterCalibration?
    /// The meter.
    public let meter: InstrumentIdentity
    /// The board's temperature at the end of the run.
    public let temperature: Kelvin
    /// True when the calibration was made for this run.
    public let calibratedNow: Bool
    /// Where its record is.
    public let calibrationPath: String?
    /// Samples the meter could not take (the board's waveform was gone): part of the gaps.
    public var lostSamples: UInt64 = 0

    /// The energy of every phase window of `phase` together.
    public func energy(of phase: Phase) -> EnergyFigure { evaluator.energy(attribution.total(phase)) }

    /// The run window's energy (the first run).
    public var run: EnergyFigure? { attribution.windows(.run).first.map { evaluator.energy($0.sums) } }

    /// The run's dynamic energy (less the idle power before and after).
    public var dynamic: EnergyFigure? { attribution.windows(.run).first.map { baseline.dynamicEnergy(of: $0.sums, evaluator) } }

    /// Warnings the run carries: the calibration's (expiry, instrument) and the figures'.
    public func warnings(at date: Date = Date()) -> [String] {
        var w = calibration?.warnings(at: Seconds(date.timeIntervalSince1970), instrument: meter)
            ?? ["no calibration of \(meter.summary) in the workspace: the meter's own readings are used; run `landauer calibrate`"]
        if lostSamples > 0 {
            w.append("\(lostSamples) samples (\(SignificantDigits.format(Double(lostSamples) * 1e-5, digits: 3)) s) were lost because the meter was read too rarely; the energies leave them out and bound them as gaps")
        }
        for f in [run, dynamic].compactMap({ $0 }) { w += f.warnings }
        var seen = Set<String>()
        return w.filter { seen.insert($0).inserted }
    }
}
