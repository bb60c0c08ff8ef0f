import ArgumentParser
import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerKit
import LandauerStore
import LandauerTraining

@main
struct Landauer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landauer",
        abstract: "Measure what learning costs in energy, on a memristor bench or its simulator.",
        version: LandauerVersion.string,
        subcommands: [Demo.self, Train.self, Runs.self, Show.self, Report.self, Export.self, Calibrate.self, Workload.self, Devices.self, Sim.self, Characterize.self, Fit.self])
}

/// Options shared by commands that talk to a board.
struct BoardOptions: ParsableArguments {
    @Option(name: .customLong("board"), help: ArgumentHelp(
        "Board connection string: sim, or sim:?key=value&… (keys: \(SimulatorOptions.help.map(\.key).joined(separator: ", "))).",
        valueName: "connection"))
    var boardText = "sim"
    @Option(help: deviceHelp) var device: String?

    /// The connection string with `--device` merged in.
    var board: String { (try? withDevice(boardText, device)) ?? boardText }

    func validate() throws { _ = try withDevice(boardText, device) }
}

let deviceHelp = ArgumentHelp(
    "The virtual board's devices (short for the connection string's device=…): "
        + (SimulatorOptions.help.first { $0.key == "device" }?.meaning ?? "a device model or profile:NAME") + ".",
    valueName: "model")

/// `board` with `device=DEVICE` added to its options (`--board sim --device profile:NAME`); only
/// a virtual board has a device model to choose.
func withDevice(_ board: String, _ device: String?) throws -> String {
    guard let device else { return board }
    let connection: ConnectionString
    do { connection = try ConnectionString(parsing: board) } catch { throw ValidationError("\(error)") }
    guard connection.scheme == "sim" else {
        throw ValidationError("--device chooses the virtual board's devices; a real board ('\(board)') has its own")
    }
    guard connection["device"] == nil else { throw ValidationError("give the device once: --board already says device=\(connection["device"]!)") }
    guard !device.isEmpty, !device.contains("&"), !device.contains("?") else { throw ValidationError("--device must be a model name or profile:NAME, not '\(device)'") }
    return board + (board.contains("?") ? "&" : ":?") + "device=" + device
}

/// `value` as one line of JSON.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Prints `value` as one line of JSON.
func printJSON<T: Encodable>(_ value: T) throws { print(try jsonLine(value)) }

/// Turns any error into a message a person can act on, and a failing exit code.
func failing(_ error: any Error) -> any Error {
    if error is ExitCode || error is CleanExit { return error }
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode.failure
}

struct Workload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Program, infer and update on a board, and account for the energy of each phase.",
        discussion: "A scripted crossbar workload without training. On the virtual bench (the default) a virtual PPK2 measures the board's supply; the run cites the workspace's newest calibration of that meter (calibrating first when there is none valid) and reports calibrated energy per phase with its uncertainty, per named bit beside k_B·T·ln 2, and the simulator's ledger to compare.")

    @OptionGroup var boardOptions: BoardOptions
    @Option(help: "Seed of the demo's own random choices.") var seed: UInt64 = 1
    @Option(help: "Number of inference input vectors.") var vectors = 2_000
    @Option(help: ArgumentHelp("Meter on the virtual board: sim, sim:?key=value&…, or none.", valueName: "connection")) var meter = "sim"
    @Option(help: ArgumentHelp("Workspace folder whose calibrations/ the run cites.", valueName: "path")) var workspace = "."
    @Option(help: ArgumentHelp("When to calibrate the meter: if-missing, always or never (never: a missing calibration is a warning).", valueName: "when"))
    var calibrate = "if-missing"
    @Flag(help: "Print the report as one JSON object.") var json = false

    func validate() throws {
        guard MeteredRun.CalibrationPolicy(rawValue: calibrate) != nil else {
            throw ValidationError("--calibrate must be if-missing, always or never, not \(calibrate)")
        }
    }

    func run() async throws {
        var options = LandauerKit.Demo.Options()
        options.board = boardOptions.board
        options.meter = meter
        options.workspace = URL(fileURLWithPath: workspace)
        options.calibrate = MeteredRun.CalibrationPolicy(rawValue: calibrate) ?? .ifMissing
        options.seed = seed
        options.vectors = vectors
        do {
            let report = try await LandauerKit.Demo(options: options).run()
            if json { try printJSON(report) } else { print(report.text) }
        } catch {
            throw failing(error)
        }
    }
}

struct Calibrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Calibrate a power meter against reference loads: gain and offset per range, with uncertainties.",
        discussion: """
            On the virtual bench (--meter sim, the default) the PPK2 has gain and offset errors drawn from its seed \
            that the host does not know, and a bank of certified reference resistors is switched across its output. \
            The record is saved as calibrations/ID.json in the workspace; runs cite it by id. \
            --check then runs a scripted workload and compares the calibrated energy with the simulator's ledger; \
            --repeat N does that for N seeds and reports how often the k = 2 interval holds the truth.
            Meter keys for sim:?…: \(SimulatedMeterOptions.help.map { "\($0.key) (\($0.meaning))" }.joined(separator: "; ")).
            """)

    @OptionGroup var boardOptions: BoardOptions
    @Option(help: ArgumentHelp("Meter connection string: sim or sim:?key=value&… (the virtual bench), or ppk2:PATH / ppk2 (a real PPK2; needs --loads).", valueName: "connection")) var meter = "sim"
    @Option(help: ArgumentHelp("A real bench's reference loads, as JSON (see docs/calibration.md); you are asked to connect each in turn.", valueName: "file")) var loads: String?
    @Option(help: ArgumentHelp("Workspace folder (records go to its calibrations/).", valueName: "path")) var workspace = "."
    @Flag(help: "Do not save the record.") var dryRun = false
    @Flag(help: "Also run a scripted workload and compare with the simulator's ledger.") var check = false
    @Option(help: "With --check: repeat over this many seeds and report the coverage of the k = 2 intervals.") var `repeat` = 1
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        var calibration: CalibrationSummary
        var check: CheckLine?
        var coverage: CalibrationCheck.Coverage?
    }

    struct CheckLine: Encodable {
        var calibratedJoules: Double
        var expandedUncertaintyJoules: Double
        var ledgerJoules: Double
        var uncalibratedJoules: Double
        var relativeError: Double
        var dynamicJoules: Double
        var dynamicLedgerJoules: Double
        var phases: Int
        var maxPhaseError: Double
        var warnings: [String]
    }

    func validate() throws {
        guard `repeat` >= 1, `repeat` <= 10_000 else { throw ValidationError("--repeat must be 1 … 10000, not \(`repeat`)") }
        if `repeat` > 1 && !check { throw ValidationError("--repeat needs --check") }
        if meter.hasPrefix("ppk2") {
            if loads == nil { throw ValidationError("a real PPK2 is calibrated against loads you state: give --loads FILE (docs/calibration.md)") }
            if check { throw ValidationError("--check compares with the simulator's ledger; it needs --meter sim") }
        } else if loads != nil {
            throw ValidationError("--loads is for a real PPK2 (--meter ppk2:…); the virtual bench has its own load bank")
        }
    }

    /// Calibrates a real PPK2 against the loads of `--loads`, asking on the terminal for each one.
    func runOnBench() async throws -> MeterCalibration {
        let file = try ReferenceLoadFile.load(loads ?? "")
        let serialConnection = try PPK2Connection.serialConnection(meter)
        let session = try PPK2Connection.open(meter, options: PPK2ReferenceMeter.options(file))
        _ = try await session.connect()
        let serial = serialConnection["usb-serial"] ?? SerialPortDirectory.system.serialNumber(at: serialConnection.location)
        let bench = PPK2ReferenceMeter(session: session, loads: file, serial: serial) { message in
            FileHandle.standardError.write(Data((message + " ").utf8))
            guard readLine() != nil else {
                throw CalibrationError.invalid("standard input is closed: calibrating a real PPK2 needs a person to connect each load when asked")
            }
        }
        do {
            let record = try await CalibrationProcedure().run(on: bench)
            await session.close()
            return record
        } catch {
            await session.close()
            throw error
        }
    }

    func run() async throws {
        do {
            if meter.hasPrefix("ppk2") {
                let record = try await runOnBench()
                let path = dryRun ? nil : try CalibrationStore(workspace: URL(fileURLWithPath: workspace)).save(record).path
                let output = Output(calibration: CalibrationSummary(record, path: path))
                if json { try printJSON(output) } else { print(text(output)) }
                return
            }
            let meterOptions = try SimulatedMeterOptions(parsing: meter)
            let session = try BoardConnection.open(boardOptions.board)
            guard let board = session.virtualBoard else {
                throw ValidationError("--meter sim measures the virtual board: use --board sim (or sim:?…)")
            }
            let bench = LockstepPowerBench(board: board, meter: meterOptions)
            try bench.connect()
            let record = try await CalibrationProcedure().run(on: bench)
            var path: String?
            if !dryRun {
                path = try CalibrationStore(workspace: URL(fileURLWithPath: workspace)).save(record).path
            }
            var output = Output(calibration: CalibrationSummary(record, path: path))
            if check {
                let c = CalibrationCheck(meter: meterOptions, board: board.config)
                if `repeat` == 1 {
                    let o = try await c.run()
                    let long = o.phases.filter { $0.duration.value > 1e-3 }
                    output.check = CheckLine(
                        calibratedJoules: o.total.value.value, expandedUncertaintyJoules: o.total.expandedUncertainty.value,
                        ledgerJoules: o.truth.value, uncalibratedJoules: o.uncalibrated.value.value,
                        relativeError: (o.total.value - o.truth) / o.truth, dynamicJoules: o.dynamic.value.value,
                        dynamicLedgerJoules: o.dynamicTruth.value, phases: long.count,
                        maxPhaseError: long.map { abs($0.measured.value / $0.truth - 1) }.max() ?? 0,
                        warnings: o.total.warnings + o.dynamic.warnings)
                } else {
                    let base = meterOptions.seed
                    output.coverage = try await c.coverage(seeds: (0..<UInt64(`repeat`)).map { base &+ $0 &* 7_919 })
                }
            }
            if json { try printJSON(output) } else { print(text(output)) }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw failing(error)
        }
    }

    func text(_ o: Output) -> String {
        var lines = [o.calibration.text]
        if let c = o.check {
            lines.append("Check against the simulator's ledger (scripted workload, \(c.phases) phases over 1 ms):")
            lines.append("  calibrated   \(Joules(c.calibratedJoules).formatted(significantDigits: 6)) ± \(Joules(c.expandedUncertaintyJoules).formatted(significantDigits: 2)) (k = 2)")
            lines.append("  ledger       \(Joules(c.ledgerJoules).formatted(significantDigits: 6))   error \(SignificantDigits.format(c.relativeError * 100, digits: 2)) %")
            lines.append("  uncalibrated \(Joules(c.uncalibratedJoules).formatted(significantDigits: 6))")
            lines.append("  dynamic      \(Joules(c.dynamicJoules).formatted(significantDigits: 5)) (ledger less idle: \(Joules(c.dynamicLedgerJoules).formatted(significantDigits: 5)))")
            lines.append("  worst phase  \(SignificantDigits.format(c.maxPhaseError * 100, digits: 2)) %")
            for w in c.warnings { lines.append("  warning: \(w)") }
        }
        if let c = o.coverage {
            lines.append("Coverage over \(c.runs) seeds: the k = 2 interval holds the ledger value in \(c.inside) (\(SignificantDigits.plain(Double(c.inside) / Double(c.runs) * 100, digits: 3)) %)")
            lines.append("  errors: mean \(SignificantDigits.format(c.meanError * 100, digits: 2)) %, spread (σ) \(SignificantDigits.format(c.errorSpread * 100, digits: 2)) %, worst \(SignificantDigits.format(c.maxError * 100, digits: 2)) %")
            lines.append("  mean U \(SignificantDigits.format(c.meanExpandedUncertainty * 100, digits: 2)) %; full width 2U = \(SignificantDigits.plain(c.widthOverSpread, digits: 3)) σ")
            lines.append("  phases over 1 ms: \(c.phasesInside) of \(c.phases) inside their interval, worst error \(SignificantDigits.format(c.maxPhaseError * 100, digits: 2)) %")
        }
        return lines.joined(separator: "\n")
    }
}

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a layered network by equilibrium propagation on a board's analog arrays.",
        discussion: """
            Weight layer l lives on tile l as differential pairs; every matrix-vector product of the relaxation is an \
            analog read through the board client, activations and biases are on the host. The default board is the \
            virtual reference board with its output range set for training (sim:?adc-range=0.05); give \
            sim:?profile=ideal&adc-range=0.05 for ideal devices, or serial:/dev/ttyACM0 for a real board. \
            Every phase is on the marker lines (free, nudged, update, readout). Deterministic for a seed.
            """)

    @Option(help: ArgumentHelp("Board connection string.", valueName: "connection")) var board = "sim:?adc-range=0.05"
    @Option(help: deviceHelp) var device: String?
    @Option(help: ArgumentHelp("Layer sizes, inputs first.", valueName: "sizes")) var network = "64-32-10"
    @Option(help: ArgumentHelp("Data set: digits (bundled, fixed split), xor, or mnist:DIRECTORY (the standard IDX files, plain or .gz).", valueName: "name")) var data = "digits"
    @Option(help: "Epochs (default 10; with --resume RUN, the total to go on to, default the run's own).") var epochs: Int?
    @Option(help: "Samples per batch.") var batch = 8
    @Option(name: .customLong("free-steps"), help: "Free-phase steps T.") var freeSteps = 20
    @Option(name: .customLong("nudged-steps"), help: "Nudged-phase steps K.") var nudgedSteps = 4
    @Option(help: "Nudging strength β.") var beta: Float = 1
    @Option(help: ArgumentHelp("Gradient estimator: centered or random-sign.", valueName: "kind")) var estimator = "centered"
    @Option(help: ArgumentHelp("Learning rates per weight layer, comma-separated.", valueName: "rates")) var lr = "0.5,0.25"
    @Option(name: .customLong("lr-decay"), help: "Factor applied to the learning rates after every epoch.") var lrDecay: Float = 0.8
    @Option(help: ArgumentHelp("Update scheme: pulses (per-device pulse counts from the host), outer-product (the board's parallel stochastic update) or write-verify.", valueName: "scheme")) var update = "pulses"
    @Option(help: ArgumentHelp("Remedy for asymmetric devices: none or symmetric-point.", valueName: "remedy")) var remedy = "none"
    @Option(name: .customLong("siemens-per-weight"), help: "Conductance of one weight unit, G_unit.") var siemensPerWeight = 8e-6
    @Option(name: .customLong("pulse-width"), help: "Programming pulse width in nanoseconds (a shorter pulse moves a device less).") var pulseWidth: UInt32 = 1_000
    @Option(name: .customLong("pulse-amplitude"), help: "Programming pulse amplitude in volts.") var pulseAmplitude = 1.5
    @Option(help: "Seed of the initial weights, the shuffles and the β signs.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Write a checkpoint here after every epoch.", valueName: "file")) var checkpoint: String?
    @Option(help: ArgumentHelp("Go on with a run of the store (its id or first characters: its configuration and newest checkpoint, under the same id), or from a checkpoint file (to --epochs in all).", valueName: "run|file")) var resume: String?
    @Flag(help: "With --resume: program the board to the checkpoint's conductances first (another board, or a virtual board in a new process).") var reprogram = false
    @Option(help: ArgumentHelp("The run store the run is recorded in.", valueName: "path")) var store = RunStore.defaultPath()
    @Option(help: ArgumentHelp("Meter on a virtual board: none, or sim / sim:?… (a virtual PPK2, calibrated; energy per phase and epoch is recorded).", valueName: "connection")) var meter = "none"
    @Option(help: ArgumentHelp("Workspace folder whose calibrations/ a metered run cites.", valueName: "path")) var workspace = "."
    @Flag(name: .customLong("no-store"), help: "Do not record the run.") var noStore = false
    @Flag(help: "Print the report as one JSON object.") var json = false

    func validate() throws {
        if reprogram && resume == nil { throw ValidationError("--reprogram needs --resume RUN|FILE") }
        if noStore, let resume, !FileManager.default.fileExists(atPath: resume) {
            throw ValidationError("--resume \(resume) names no checkpoint file, and a run cannot be resumed with --no-store")
        }
        guard NetworkShape(parsing: network) != nil else { throw ValidationError("--network must be sizes joined by '-', e.g. 64-32-10, not \(network)") }
        guard (epochs ?? 10) >= 1, (epochs ?? 10) <= 100_000 else { throw ValidationError("--epochs must be 1 … 100000") }
        guard batch >= 1, batch <= 4_096 else { throw ValidationError("--batch must be 1 … 4096") }
        guard freeSteps >= 1, nudgedSteps >= 1 else { throw ValidationError("--free-steps and --nudged-steps must be at least 1") }
        guard beta > 0, beta.isFinite else { throw ValidationError("--beta must be positive") }
        guard EqPropSettings.Estimator(rawValue: estimator) != nil else { throw ValidationError("--estimator must be centered or random-sign") }
        guard AsymmetryRemedy(rawValue: remedy) != nil else { throw ValidationError("--remedy must be none or symmetric-point") }
        guard UpdateScheme(rawValue: update) != nil else { throw ValidationError("--update must be pulses, outer-product or write-verify") }
        let rates = lr.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !rates.isEmpty, rates.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--lr must be positive numbers separated by commas") }
        guard lrDecay > 0, lrDecay <= 1 else { throw ValidationError("--lr-decay must be in (0, 1]") }
        guard siemensPerWeight > 0 else { throw ValidationError("--siemens-per-weight must be positive") }
        _ = try withDevice(board, device)
    }

    func run() async throws {
        var options = TrainingRun.Options()
        options.board = try withDevice(board, device)
        options.network = NetworkShape(parsing: network)!
        options.data = data
        options.trainer.epochs = epochs ?? 10
        options.resumeEpochs = epochs
        options.trainer.batchSize = batch
        options.trainer.seed = seed
        options.trainer.eqprop.freeSteps = freeSteps
        options.trainer.eqprop.nudgedSteps = nudgedSteps
        options.trainer.eqprop.beta = beta
        options.trainer.eqprop.estimator = EqPropSettings.Estimator(rawValue: estimator)!
        options.trainer.eqprop.learningRates = lr.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        options.synapses.siemensPerWeight = siemensPerWeight
        options.synapses.scheme = UpdateScheme(rawValue: update)!
        options.synapses.remedy = AsymmetryRemedy(rawValue: remedy)!
        options.trainer.rankOneUpdates = options.synapses.scheme == .outerProduct
        options.trainer.learningRateDecay = lrDecay
        options.synapses.pulseWidthNanoseconds = pulseWidth
        options.synapses.pulseAmplitude = pulseAmplitude
        options.checkpoint = checkpoint.map { URL(fileURLWithPath: $0) }
        if let resume {
            if FileManager.default.fileExists(atPath: resume) { options.resume = URL(fileURLWithPath: resume) } else { options.resumeRun = resume }
        }
        options.reprogram = reprogram
        options.store = noStore ? nil : store
        options.meter = meter
        options.workspace = URL(fileURLWithPath: workspace)
        var storedTotal: Int?
        if epochs == nil, let id = options.resumeRun, let store = options.store, FileManager.default.fileExists(atPath: store),
           let stored = try? RunStore(path: store).run(id), let o = try? TrainingRun.options(fromConfiguration: stored.configuration, base: options) {
            storedTotal = o.trainer.epochs  // the progress line counts to the stored run's own total
        }
        let total = epochs ?? storedTotal ?? 10
        let interactive = isatty(2) != 0
        let clock = ProgressClock()
        do {
            let report = try await TrainingRun(options: options).run { result, done, of in
                let line: String
                if let r = result {
                    line = "epoch \(r.epoch + 1)/\(total)  train \(Self.percent(r.trainAccuracy))  test \(Self.percent(r.testAccuracy))  \(Int(r.samplesPerSecond)) samples/s"
                    FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + line + "\n").utf8))
                } else if interactive {
                    let width = 30
                    let filled = of > 0 ? width * done / of : 0
                    let rate = clock.rate(done: done)
                    line = "epoch \(clock.epoch + 1)/\(total) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                        + "] \(done)/\(of)  \(Int(rate)) samples/s" + (clock.lastAccuracy.map { "  last test \(Self.percent($0))" } ?? "")
                    FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
                }
                if let r = result { clock.finished(r) }
            }
            if json { try printJSON(report) } else { print(Self.text(report)) }
        } catch {
            throw failing(error)
        }
    }

    static func percent(_ x: Double) -> String { SignificantDigits.plain(x * 100, digits: 3) + " %" }

    static func text(_ r: TrainingRun.Report) -> String {
        var lines = ["trained \(r.network) on \(r.data) (\(r.trainSamples) training, \(r.testSamples) test samples) on \(r.boardSerial) (\(r.board))"]
        lines.append("  test accuracy \(percent(r.finalTestAccuracy)) after \(r.epochs.count) epochs, \(Seconds(r.wallSeconds).formatted()) of wall time")
        lines.append("  pulse step \(Siemens(r.pulseStepSiemens[0]).formatted(significantDigits: 3)) up, \(Siemens(r.pulseStepSiemens[1]).formatted(significantDigits: 3)) down; \(r.initialPulses) pulses to set the initial weights")
        for (phase, c) in r.counters.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(phase.padding(toLength: 8, withPad: " ", startingAt: 0)) \(c.vectorReads) vector reads, \(c.pulses) pulses in \(c.requests) requests")
        }
        for w in r.warnings { lines.append("  warning: \(w)") }
        if let m = r.measured { lines.append(m.text) }
        return lines.joined(separator: "\n")
    }
}

/// The state a progress line needs between callbacks: the epoch, when it started, the last accuracy.
final class ProgressClock: @unchecked Sendable {
    // @unchecked: touched only from the training task's progress callbacks, one at a time.
    var epoch = 0
    var started = ContinuousClock.now
    var lastAccuracy: Double?

    func rate(done: Int) -> Double {
        let d = ContinuousClock.now - started
        let seconds = d.inSeconds.value
        return seconds > 0 ? Double(done) / seconds : 0
    }

    func finished(_ r: EqPropTrainer.EpochResult) {
        epoch = r.epoch + 1
        lastAccuracy = r.testAccuracy
        started = ContinuousClock.now
    }
}

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the runs in the store, newest first.")
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()
    @Flag(help: "Print one JSON object.") var json = false

    struct Listing: Encodable { var runs: [RunRecord] }

    func run() async throws {
        do {
            guard FileManager.default.fileExists(atPath: store) else {
                throw ValidationError("no run store at \(store): runs are recorded by `landauer train` (or give --store PATH)")
            }
            let runs = try RunStore(path: store).runs()
            if json { try printJSON(Listing(runs: runs)); return }
            if runs.isEmpty { print("No runs in \(store).") }
            for r in runs {
                print("\(r.id.prefix(8))  \(r.startedAt)  \(r.status.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(r.kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(r.name)")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw failing(error)
        }
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one run: provenance, configuration, epochs and events.")
    @Argument(help: "The run's id, or its first characters (at least 4).") var runId: String
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()
    @Flag(help: "Print one JSON object.") var json = false

    struct Detail: Encodable {
        var run: RunRecord
        var epochs: [EpochMetric]
        var energies: [EnergyRecord]
        var figures: [FigureRecord]
        var events: [RunEvent]
    }

    func run() async throws {
        do {
            guard FileManager.default.fileExists(atPath: store) else { throw ValidationError("no run store at \(store)") }
            let s = try RunStore(path: store)
            let r = try s.run(runId)
            let detail = Detail(run: r, epochs: try s.epochs(of: r.id), energies: try s.energies(of: r.id), figures: try s.figures(of: r.id), events: try s.events(of: r.id))
            if json { try printJSON(detail); return }
            var lines = ["run \(r.id)  \(r.kind.rawValue)  \(r.name)"]
            lines.append("  status      \(r.status.rawValue)\(r.exitStatus.map { " (exit \($0))" } ?? "")")
            lines.append("  started     \(r.startedAt)\(r.endedAt.map { ", ended \($0)" } ?? "")")
            lines.append("  provenance  landauer \(r.toolkitVersion)\(r.gitCommit.map { " (\($0.prefix(12)))" } ?? ""), \(r.host), \(r.operatingSystem)")
            lines.append("  seed        \(r.seed.map(String.init) ?? "-")")
            lines.append("  config      \(r.configuration)")
            for e in detail.epochs {
                lines.append("  epoch \(e.epoch + 1)  train \(Train.percent(e.trainAccuracy))  test \(Train.percent(e.testAccuracy))  \(Int(e.samplesPerSecond)) samples/s")
            }
            for e in detail.energies {
                lines.append("  epoch \(e.epoch + 1)  \(e.phase.padding(toLength: 8, withPad: " ", startingAt: 0)) \(Joules(e.joules).formatted(significantDigits: 5)) ± \(Joules(e.expandedUncertaintyJoules).formatted(significantDigits: 2)) (k = 2) in \(Seconds(e.seconds).formatted())\(e.missingSamples > 0 ? ", \(Int(e.missingSamples)) samples missing" : "")")
            }
            for f in detail.figures {
                lines.append("  \(f.name.padding(toLength: 48, withPad: " ", startingAt: 0)) \(SignificantDigits.format(f.value, digits: 5)) \(f.unit)\(f.expandedUncertainty.map { " ± \(SignificantDigits.format($0, digits: 2))" } ?? "")\(f.landauerRatio.map { "  (\(SignificantDigits.format($0, digits: 3)) × k_B·T·ln 2)" } ?? "")")
            }
            for e in detail.events { lines.append("  \(e.time)  \(e.kind): \(e.message)") }
            print(lines.joined(separator: "\n"))
        } catch let error as ValidationError {
            throw error
        } catch {
            throw failing(error)
        }
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List serial ports and USB devices, naming the ones Landauer knows (PPK2, USBTMC instruments, boards).")

    @Flag(help: "Print one JSON object (with --watch, one per line and event).") var json = false
    @Flag(help: "After the list, report USB devices as they are plugged in and unplugged (libusb hotplug), until interrupted.")
    var watch = false

    struct Listing: Encodable {
        var devices: [FoundDevice]
        var warnings: [String]
    }

    func run() async throws {
        let (devices, warnings) = DeviceDiscovery.scan()
        if json { try printJSON(Listing(devices: devices, warnings: warnings)) } else { print(DeviceDiscovery.text(devices, warnings: warnings)) }
        guard watch else { return }
        let watch: DeviceWatch
        do { watch = try DeviceWatch() } catch {
            throw ValidationError("--watch: \(error)")
        }
        if !json { print("Watching for USB devices (Ctrl-C stops)…") }
        fflush(nil)
        for await change in watch.changes {
            if json {
                try printJSON(change)
            } else {
                let d = change.device
                print("\(change.event)  \(d.usbID ?? "-")  \(d.role.rawValue)  \(d.connection)  \(d.detail)")
            }
            fflush(nil)
        }
    }
}

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The virtual bench.",
        subcommands: [Info.self, Bench.self])

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve virtual devices on pseudo-terminals (and SCPI on a loopback TCP port) in real time.",
            discussion: "Prints one JSON line naming the endpoints, e.g. {\"board\":\"/dev/pts/3\",\"ppk2\":\"/dev/pts/4\",\"scpi\":\"127.0.0.1:5025\",\"scpi_pty\":\"/dev/pts/5\"}, then serves until interrupted. Open the board with --board serial:<path>; the virtual PPK2 (unless --no-ppk2) streams 100 kS/s of the board's supply current, with the board's marker lines on its logic inputs.")

        @OptionGroup var boardOptions: BoardOptions
        @Option(help: "Add a virtual SCPI instrument: \(VirtualSCPIKind.allCases.map(\.rawValue).joined(separator: " or ")).")
        var scpi: String?
        @Option(help: "TCP port of the SCPI instrument on 127.0.0.1 (0 picks a free one).")
        var scpiPort: UInt16 = 0
        @Flag(name: .customLong("no-ppk2"), help: "Do not serve the virtual PPK2 (by default it measures the board's supply on a pseudo-terminal of its own, endpoint \"ppk2\").")
        var noPPK2 = false
        @Option(help: ArgumentHelp("Workspace (profiles/ for sim:?device=profile:NAME).", valueName: "path")) var workspace = "."

        func run() async throws {
            do {
                let connection = try ConnectionString(parsing: boardOptions.board)
                guard connection.scheme == "sim" else {
                    throw ValidationError("sim bench serves a virtual board; give a sim connection string, not '\(boardOptions.board)'")
                }
                var kind: VirtualSCPIKind?
                if let scpi {
                    guard let k = VirtualSCPIKind(rawValue: scpi.lowercased()) else {
                        throw ValidationError("--scpi must be \(VirtualSCPIKind.allCases.map(\.rawValue).joined(separator: " or ")), not '\(scpi)'")
                    }
                    kind = k
                }
                // A twin (device=profile:NAME) comes with its profile's dead cells.
                let board = try SimulatorOptions.board(from: connection, workspace: URL(fileURLWithPath: workspace))
                let config = board.config
                let bench = try VirtualBench(config: config, scpi: kind, scpiPort: scpiPort,
                                             ppk2: noPPK2 ? nil : VirtualBench.ppk2Config(for: config), board: board)
                // Unbuffered: a script reading the pipe must see the endpoints before serving starts.
                FileHandle.standardOutput.write(Data((try jsonLine(bench.endpoints) + "\n").utf8))
                await bench.serve()
            } catch let e as ValidationError {
                throw e
            } catch {
                throw failing(error)
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say HELLO to a virtual board and print its INFO, obtained through the wire protocol.",
            discussion: "Options of the sim connection string:\n" + SimulatorOptions.help.map { "  \($0.key): \($0.meaning)" }.joined(separator: "\n"))

        @OptionGroup var boardOptions: BoardOptions
        @Flag(help: "Print the INFO as one JSON object.") var json = false

        func run() async throws {
            do {
                guard boardOptions.board.hasPrefix("sim") else {
                    throw ValidationError("sim info talks to a virtual board; give a sim connection string, not '\(boardOptions.board)'")
                }
                let session = try BoardConnection.open(boardOptions.board)
                let info = try await session.client.hello()
                let report = BoardInfoReport(info, endpoint: await session.client.endpoint)
                await session.client.close()
                if json { try printJSON(report) } else { print(report.text) }
            } catch let e as ValidationError {
                throw e
            } catch {
                throw failing(error)
            }
        }
    }
}
