import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerStore
import LandauerTraining

/// `landauer train`: a board session, a data set, a network on the board's tiles, EqProp.
public struct TrainingRun: Sendable {
    /// What to run.
    public struct Options: Sendable {
        /// Board connection string.
        public var board = "sim:?adc-range=0.05"
        /// Layer sizes.
        public var network = NetworkShape([64, 32, 10])
        /// `digits`, `xor`, or `mnist:DIRECTORY` (the four IDX files).
        public var data = "digits"
        /// Seed of the fixed train/test split.
        public var splitSeed: UInt64 = 0
        /// Trainer settings.
        public var trainer = EqPropTrainer.Settings()
        /// How weights sit on the board.
        public var synapses = BoardSynapses.Settings()
        /// A checkpoint written after every epoch (atomically), if given.
        public var checkpoint: URL?
        /// A checkpoint to go on from, if given.
        public var resume: URL?
        /// The meter on a virtual board: `none`, or `sim`/`sim:?…` (a virtual PPK2 calibrated against
        /// its reference loads; the workspace's calibration is cited, or made when missing).
        public var meter = "none"
        /// The workspace whose calibrations/ a metered run cites.
        public var workspace = URL(fileURLWithPath: ".")
        /// The run store the run is recorded in (nil: none).
        public var store: String? = RunStore.defaultPath()
        /// When resuming: program the board to the checkpoint's conductances first (another board,
        /// or a virtual board in a new process); otherwise the board must still hold them.
        public var reprogram = false

        /// Defaults: 64-32-10 on the digits.
        public init() {}
    }

    /// What a run reports.
    public struct Report: Codable, Sendable {
        /// The run's id in the store, when it was recorded.
        public var runId: String?
        public var board: String
        public var boardSerial: String
        public var network: String
        public var data: String
        public var trainSamples: Int
        public var testSamples: Int
        public var epochs: [EqPropTrainer.EpochResult]
        public var counters: [String: EqPropTrainer.PhaseCounters]
        /// Pulses spent setting the initial weights (program-and-verify).
        public var initialPulses: Int
        /// Conductance change of one pulse as estimated from the board (up, down), siemens.
        public var pulseStepSiemens: [Double]
        public var wallSeconds: Double
        /// What the user should know (a coarse output range, …).
        public var warnings: [String] = []
        /// The energy the meter measured, calibrated, when the run was metered.
        public var measured: MeasuredEnergyReport?
        public var finalTestAccuracy: Double { epochs.last?.testAccuracy ?? 0 }
    }

    public let options: Options

    /// A run.
    public init(options: Options) { self.options = options }

    /// The training and test sets `options.data` names.
    public static func data(_ text: String, splitSeed: UInt64) throws -> (train: Dataset, test: Dataset) {
        switch text {
        case "digits": return try DataSets.digitsSplit(seed: splitSeed)
        case "xor": return (DataSets.xor(), DataSets.xor())
        case let t where t.hasPrefix("mnist:"):
            return try DataSets.mnist(directory: URL(fileURLWithPath: String(t.dropFirst("mnist:".count))))
        default:
            throw TrainingError.badSettings("unknown data set \(text): digits, xor, or mnist:DIRECTORY (the four IDX files)")
        }
    }

    /// Warnings about how the board's converters resolve the network's pre-activations: one ADC
    /// step of tile l is outputFullScale/adcMaxCode amperes, i.e. that over (V_fs·G_unit) weight units.
    public static func resolutionWarnings(_ info: BoardInfo, network: NetworkShape, synapses: BoardSynapses.Settings) -> [String] {
        let v = synapses.inputFullScale ?? info.activeLimits.readVoltage.value
        var w: [String] = []
        for l in 0..<min(network.weightLayers, info.tiles.count) where info.adcMaxCode > 0 {
            let step = info.tiles[l].outputFullScale.value / Double(info.adcMaxCode) / (v * synapses.siemensPerWeight)
            if step > 0.1 {
                w.append("tile \(l)'s output range makes one ADC step \(SignificantDigits.format(step, digits: 2)) weight units of pre-activation, too coarse to train well; on the virtual board use sim:?adc-range=0.05 (docs/training.md)")
            }
        }
        return w
    }

    /// The energy of each phase of `epoch`, from the windows closed so far.
    static func energies(_ metered: MeteredRun, epoch: Int, runId: String) -> [EnergyRecord] {
        let evaluator = metered.evaluator
        var byPhase: [Phase: (sums: RangeSums, length: Double)] = [:]
        for w in metered.windowsSoFar where w.kind == .phase && w.epoch == epoch {
            guard let phase = w.phase else { continue }
            let old = byPhase[phase] ?? (RangeSums(), 0)
            byPhase[phase] = (RangeSums.combine(old.sums, w.sums, k: 1), old.length + w.length)
        }
        return byPhase.sorted { $0.key.rawValue < $1.key.rawValue }.map { phase, v in
            let f = evaluator.energy(v.sums)
            return EnergyRecord(
                runId: runId, epoch: epoch, phase: phase.description, joules: f.value.value, expandedUncertaintyJoules: f.budget.expanded,
                samples: f.samples, missingSamples: f.missingSamples, seconds: v.length * 1e-5)
        }
    }

    /// The configuration as the store keeps it.
    struct Configuration: Encodable {
        var board: String, network: String, data: String, splitSeed: UInt64, epochs: Int, batchSize: Int, seed: UInt64
        var freeSteps: Int, nudgedSteps: Int, beta: Float, estimator: String, learningRates: [Float], learningRateDecay: Float
        var scheme: String, remedy: String, siemensPerWeight: Double, pulseAmplitude: Double, pulseWidthNanoseconds: UInt32
        var resume: String?, reprogram: Bool
    }

    var configurationJSON: String {
        let t = options.trainer, e = t.eqprop, s = options.synapses
        let c = Configuration(
            board: options.board, network: options.network.description, data: options.data, splitSeed: options.splitSeed, epochs: t.epochs,
            batchSize: t.batchSize, seed: t.seed, freeSteps: e.freeSteps, nudgedSteps: e.nudgedSteps, beta: e.beta, estimator: e.estimator.rawValue,
            learningRates: e.learningRates, learningRateDecay: t.learningRateDecay, scheme: s.scheme.rawValue, remedy: s.remedy.rawValue,
            siemensPerWeight: s.siemensPerWeight, pulseAmplitude: s.pulseAmplitude, pulseWidthNanoseconds: s.pulseWidthNanoseconds,
            resume: options.resume?.path, reprogram: options.reprogram)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(c)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Runs it, recorded in the store; a failure ends the run as failed (and is rethrown).
    public func run(progress: @escaping @Sendable (EqPropTrainer.EpochResult?, Int, Int) -> Void = { _, _, _ in }) async throws -> Report {
        let store = try options.store.map { try RunStore(path: $0) }
        let record = RunRecord(
            name: "train \(options.network) on \(options.data)", kind: .train, toolkitVersion: LandauerVersion.string,
            gitCommit: LandauerVersion.gitCommit, seed: options.trainer.seed, configuration: configurationJSON)
        try store?.begin(record)
        do {
            var report = try await train(store: store, runId: record.id, progress: progress)
            report.runId = store == nil ? nil : record.id
            try store?.finish(record.id, status: .completed, exitStatus: 0)
            return report
        } catch {
            try? store?.record(RunEvent(runId: record.id, kind: "error", message: "\(error)"))
            try? store?.finish(record.id, status: .failed, exitStatus: 1)
            throw error
        }
    }

    func train(store: RunStore?, runId: String, progress: @escaping @Sendable (EqPropTrainer.EpochResult?, Int, Int) -> Void) async throws -> Report {
        let started = ContinuousClock.now
        let (train, test) = try Self.data(options.data, splitSeed: options.splitSeed)
        let session = try BoardConnection.open(options.board)
        var metered: MeteredRun?
        if options.meter != "none" {
            guard let board = session.virtualBoard else {
                throw TrainingError.badSettings("--meter sim measures a virtual board; a real board's meter is not driven by train yet")
            }
            metered = try await MeteredRun(board: board, meter: try SimulatedMeterOptions(parsing: options.meter), workspace: options.workspace)
            if let store {
                // The trace goes into the store as the meter's raw words, in runs of consecutive samples.
                let traces = TraceStore(store)
                metered?.recordSamples { samples in
                    guard samples.words.count == samples.count else { return }
                    var start = 0
                    while start < samples.count {
                        var end = start + 1
                        while end < samples.count && samples.indices[end] == samples.indices[end - 1] + 1 { end += 1 }
                        try traces.append(
                            runId: runId, stream: "ppk2", firstSample: samples.indices[start], words: Array(samples.words[start..<end]),
                            currents: samples.raw[start..<end].map(Float.init))
                        start = end
                    }
                }
            }
        }
        let info = try await session.client.hello()
        let warnings = Self.resolutionWarnings(info, network: options.network, synapses: options.synapses)
        for w in warnings { try store?.record(RunEvent(runId: runId, kind: "warning", message: w)) }
        let engine = try await BoardSynapses(client: session.client, shape: options.network, settings: options.synapses, seed: options.trainer.seed)
        let trainer = EqPropTrainer(engine: engine, client: session.client, settings: options.trainer)
        var initial = UpdateTally()
        if let resume = options.resume {
            let c = try TrainingCheckpoint.read(from: resume)
            if options.reprogram { initial = try await engine.reprogram(c) } else { try await engine.restore(c) }
            try trainer.restore(c)
        } else {
            initial = try await engine.setWeights(trainer.initialWeights())
        }
        let checkpoint = options.checkpoint
        try await trainer.train(train, test: test) { result, done, of in
            progress(result, done, of)
        } afterEpoch: {
            if let checkpoint { try await trainer.checkpoint(engine).write(to: checkpoint) }
            if let store, let r = trainer.history.last {
                try store.record(EpochMetric(
                    runId: runId, epoch: r.epoch, trainAccuracy: r.trainAccuracy, trainCost: r.trainCost, testAccuracy: r.testAccuracy,
                    samplesPerSecond: r.samplesPerSecond))
            }
            if let metered, let r = trainer.history.last {
                try metered.collect()
                let energies = Self.energies(metered, epoch: r.epoch, runId: runId)
                try store?.record(energies)
            }
        }
        var measured: MeasuredEnergyReport?
        if let metered, let board = session.virtualBoard {
            let temperature = try await session.client.temperature().temperature
            let m = try metered.finish(temperature: temperature)
            let truth = LedgerTruth(board: board)
            let classes = options.network.layers[options.network.layers.count - 1]
            let readouts = trainer.history.count * test.count
            measured = MeasuredEnergyReport(
                m, phases: [(.free, "free"), (.nudged, "nudged"), (.update, "update"), (.readout, "readout")],
                ledger: (truth?.energyByPhase ?? [:]).mapValues(\.value), runLedger: truth?.energy.value, dynamicLedger: truth?.dynamicEnergy.value,
                bits: [(.readout, BitCount.readout(samples: readouts, classes: classes)),
                       (.update, BitCount.writtenByUpdates(trainer.counters[.update]?.pulses ?? 0, levelsPerUpdate: 2))])
        }
        await session.client.close()
        let elapsed = ContinuousClock.now - started
        return Report(
            board: options.board, boardSerial: String(decoding: info.serial, as: UTF8.self), network: options.network.description,
            data: options.data, trainSamples: train.count, testSamples: test.count, epochs: trainer.history,
            counters: Dictionary(uniqueKeysWithValues: trainer.counters.map { ($0.key.description, $0.value) }),
            initialPulses: initial.pulses, pulseStepSiemens: [engine.step.up, engine.step.down],
            wallSeconds: elapsed.inSeconds.value, warnings: warnings,
            measured: measured)
    }
}
