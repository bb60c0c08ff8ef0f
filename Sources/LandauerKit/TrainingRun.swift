import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerStore
import LandauerTraining
import Synchronization

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
        /// A run in the store to go on with (its id or first characters): its configuration and its
        /// newest checkpoint are taken from the store, and the run goes on under the same id.
        public var resumeRun: String?
        /// With `resumeRun`: go on to this many epochs in all instead of the stored number.
        public var resumeEpochs: Int?
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
        /// The run's figures (energies, bits, joules per bit, bounds), as the store keeps them.
        public var figures: [FigureRecord] = []
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
    struct Configuration: Codable {
        var board: String, network: String, data: String, splitSeed: UInt64, epochs: Int, batchSize: Int, seed: UInt64
        var freeSteps: Int, nudgedSteps: Int, beta: Float, estimator: String, learningRates: [Float], learningRateDecay: Float
        var scheme: String, remedy: String, siemensPerWeight: Double, pulseAmplitude: Double, pulseWidthNanoseconds: UInt32
        var resume: String?, reprogram: Bool
        var meter: String?
    }

    /// Options rebuilt from a stored run's configuration (what `--resume RUN` goes on with).
    public static func options(fromConfiguration json: String, base: Options) throws -> Options {
        let c: Configuration
        do { c = try JSONDecoder().decode(Configuration.self, from: Data(json.utf8)) } catch {
            throw TrainingError.badSettings("the stored run's configuration cannot be read: \(error)")
        }
        var o = base
        guard let shape = NetworkShape(parsing: c.network) else { throw TrainingError.badSettings("the stored network \(c.network) is not valid") }
        guard let estimator = EqPropSettings.Estimator(rawValue: c.estimator), let scheme = UpdateScheme(rawValue: c.scheme),
              let remedy = AsymmetryRemedy(rawValue: c.remedy)
        else { throw TrainingError.badSettings("the stored configuration names an estimator, scheme or remedy this build does not know") }
        o.board = c.board
        o.network = shape
        o.data = c.data
        o.splitSeed = c.splitSeed
        o.trainer.epochs = c.epochs
        o.trainer.batchSize = c.batchSize
        o.trainer.seed = c.seed
        o.trainer.eqprop.freeSteps = c.freeSteps
        o.trainer.eqprop.nudgedSteps = c.nudgedSteps
        o.trainer.eqprop.beta = c.beta
        o.trainer.eqprop.estimator = estimator
        o.trainer.eqprop.learningRates = c.learningRates
        o.trainer.learningRateDecay = c.learningRateDecay
        o.synapses.scheme = scheme
        o.synapses.remedy = remedy
        o.trainer.rankOneUpdates = scheme == .outerProduct
        o.synapses.siemensPerWeight = c.siemensPerWeight
        o.synapses.pulseAmplitude = c.pulseAmplitude
        o.synapses.pulseWidthNanoseconds = c.pulseWidthNanoseconds
        o.meter = c.meter ?? "none"
        return o
    }

    var configurationJSON: String {
        let t = options.trainer, e = t.eqprop, s = options.synapses
        let c = Configuration(
            board: options.board, network: options.network.description, data: options.data, splitSeed: options.splitSeed, epochs: t.epochs,
            batchSize: t.batchSize, seed: t.seed, freeSteps: e.freeSteps, nudgedSteps: e.nudgedSteps, beta: e.beta, estimator: e.estimator.rawValue,
            learningRates: e.learningRates, learningRateDecay: t.learningRateDecay, scheme: s.scheme.rawValue, remedy: s.remedy.rawValue,
            siemensPerWeight: s.siemensPerWeight, pulseAmplitude: s.pulseAmplitude, pulseWidthNanoseconds: s.pulseWidthNanoseconds,
            resume: options.resume?.path, reprogram: options.reprogram, meter: options.meter)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(c)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Runs it, recorded in the store; a failure ends the run as failed (and is rethrown). With
    /// `resumeRun`, the stored run goes on from its newest checkpoint with its stored configuration.
    public func run(progress: @escaping @Sendable (EqPropTrainer.EpochResult?, Int, Int) -> Void = { _, _, _ in }) async throws -> Report {
        let store = try options.store.map { try RunStore(path: $0) }
        var options = self.options
        let runId: String
        var checkpoint: TrainingCheckpoint?
        if let resumeRun = options.resumeRun {
            guard let store else { throw TrainingError.badSettings("--resume RUN needs the run store (not --no-store)") }
            let stored = try store.run(resumeRun)
            guard let saved = try store.latestCheckpoint(of: stored.id) else {
                throw TrainingError.badSettings(
                    "run \(stored.id.prefix(8)) has no checkpoint: it stopped before its first epoch ended, so there is nothing to go on from; start it again")
            }
            options = try Self.options(fromConfiguration: stored.configuration, base: options)
            if let total = options.resumeEpochs {
                guard total > saved.epochs else {
                    throw TrainingError.badSettings("run \(stored.id.prefix(8)) has finished \(saved.epochs) epochs; --epochs must be more than that to go on")
                }
                options.trainer.epochs = total
            }
            checkpoint = try TrainingCheckpoint.decode(saved.data, from: "of run \(stored.id.prefix(8)) after epoch \(saved.epochs)")
            _ = try store.reopen(
                stored.id,
                reason: "resumed after \(saved.epochs) epochs, to \(options.trainer.epochs) in all, in process \(ProcessInfo.processInfo.processIdentifier)")
            runId = stored.id
        } else {
            let record = RunRecord(
                name: "train \(options.network) on \(options.data)", kind: .train, toolkitVersion: LandauerVersion.string,
                gitCommit: LandauerVersion.gitCommit, seed: options.trainer.seed, configuration: configurationJSON)
            try store?.begin(record)
            runId = record.id
        }
        do {
            var report = try await TrainingRun(options: options).train(store: store, runId: runId, checkpoint: checkpoint, progress: progress)
            report.runId = store == nil ? nil : runId
            try store?.finish(runId, status: .completed, exitStatus: 0)
            return report
        } catch {
            try? store?.record(RunEvent(runId: runId, kind: "error", message: "\(error)"))
            try? store?.finish(runId, status: .failed, exitStatus: 1)
            throw error
        }
    }

    func train(
        store: RunStore?, runId: String, checkpoint resumeFrom: TrainingCheckpoint?,
        progress: @escaping @Sendable (EqPropTrainer.EpochResult?, Int, Int) -> Void
    ) async throws -> Report {
        let started = ContinuousClock.now
        let (train, test) = try Self.data(options.data, splitSeed: options.splitSeed)
        let session = try BoardConnection.open(options.board, workspace: options.workspace)
        var metered: MeteredRun?
        var recorder: TraceRecorder?
        if options.meter != "none" {
            guard let board = session.virtualBoard else {
                throw TrainingError.badSettings("--meter sim measures a virtual board; a real board's meter is not driven by train yet")
            }
            let m = try await MeteredRun(board: board, meter: try SimulatedMeterOptions(parsing: options.meter), workspace: options.workspace)
            if let store {
                // The trace goes into the store as the meter's raw words, in batches of consecutive samples, with the marker changes and gaps.
                let r = try TraceRecorder(store: store, runId: runId, calibration: m.calibration)
                m.recordSamples { try r.add($0) }
                recorder = r
            }
            metered = m
        }
        let info = try await session.client.hello()
        let warnings = Self.resolutionWarnings(info, network: options.network, synapses: options.synapses)
        if let store {
            try store.setProvenance(
                of: runId, instruments: InstrumentRecord.json(await Self.instruments(info: info, session: session, meter: metered)),
                calibrationIds: metered?.calibration.map { [$0.id] } ?? [])
            for w in warnings { try store.record(RunEvent(runId: runId, kind: "warning", message: w)) }
            if let m = metered, m.calibratedNow, let c = m.calibration {
                try store.record(RunEvent(runId: runId, kind: "calibration", message: "calibrated \(m.bench.identity.summary) for this run: \(c.id)"))
            }
        }
        let engine = try await BoardSynapses(client: session.client, shape: options.network, settings: options.synapses, seed: options.trainer.seed)
        if let metered { engine.afterProgrammingRound = { try metered.collect(settle: false) } }
        let trainer = EqPropTrainer(engine: engine, client: session.client, settings: options.trainer)
        var initial = UpdateTally()
        if let c = try resumeFrom ?? options.resume.map({ try TrainingCheckpoint.read(from: $0) }) {
            // A virtual board in a new process starts blank: it is programmed to the checkpoint.
            if options.reprogram || (resumeFrom != nil && session.virtualBoard != nil) {
                initial = try await engine.reprogram(c)
            } else {
                try await engine.restore(c)
            }
            try trainer.restore(c)
        } else {
            initial = try await engine.setWeights(trainer.initialWeights())
        }
        let resumedEpochs = trainer.history.count
        let checkpointFile = options.checkpoint
        let client = session.client
        let classes = options.network.layers[options.network.layers.count - 1]
        let learnedBox = Mutex<BitCount?>(nil)
        try await trainer.train(train, test: test) { result, done, of in
            progress(result, done, of)
        } afterBatch: {
            // The board keeps a few seconds of waveform: the meter is read after every batch.
            try metered?.collect(settle: false)
        } afterEpoch: {
            // A checkpoint reads the board's conductances (on a noisy board those reads shift later
            // noise draws); it is taken only when it is kept: in the store, or in a file.
            let c: TrainingCheckpoint? = store != nil || checkpointFile != nil ? try await trainer.checkpoint(engine) : nil
            if let checkpointFile, let c { try c.write(to: checkpointFile) }
            guard let r = trainer.history.last else { return }
            var energies: [EnergyRecord] = []
            if let metered {
                try metered.collect()
                try recorder?.flush()
                energies = Self.energies(metered, epoch: r.epoch, runId: runId)
            }
            if let store, let checkpoint = c {
                for e in await client.takeEvents() {
                    try store.record(RunEvent(runId: runId, kind: "link", message: "\(e)"))
                }
                try store.commitEpoch(
                    EpochMetric(
                        runId: runId, epoch: r.epoch, trainAccuracy: r.trainAccuracy, trainCost: r.trainCost, testAccuracy: r.testAccuracy,
                        samplesPerSecond: r.samplesPerSecond),
                    energies: energies, checkpoint: CheckpointRecord(runId: runId, epochs: trainer.history.count, data: try checkpoint.encoded()))
            }
        } beforeEnd: {
            // The bits learned: one more free pass over the training set, in a readout window of the last epoch.
            if classes >= 2 && train.count >= 2 {
                let outputs = try await trainer.outputs(train, epoch: max(trainer.history.count - 1, 0))
                learnedBox.withLock { $0 = LearnedInformation.bits(outputs: outputs, labels: train.labels, classes: classes).count }
            }
        }
        let learned = learnedBox.withLock { $0 }
        let temperature = try await session.client.temperature().temperature
        var measured: MeasuredEnergyReport?
        var energies: [String: RunFigures.Energy] = [:]
        var energyNote = ""
        var idle: Double?
        let truth = session.virtualBoard.flatMap { LedgerTruth(board: $0) }
        let readouts = trainer.history.count * test.count
        let readoutBits = BitCount.readout(samples: readouts + train.count, classes: classes)
        let written = BitCount.writtenByUpdates(trainer.counters[.update]?.pulses ?? 0, levelsPerUpdate: 2)
        if let metered {
            let m = try metered.finish(temperature: temperature)
            try recorder?.flush()
            if let r = trainer.history.last { try store?.record(Self.energies(metered, epoch: r.epoch, runId: runId).filter { $0.phase == "readout" }, replacing: true) }
            measured = MeasuredEnergyReport(
                m, phases: [(.free, "free"), (.nudged, "nudged"), (.update, "update"), (.readout, "readout")],
                ledger: (truth?.energyByPhase ?? [:]).mapValues(\.value), runLedger: truth?.energy.value, dynamicLedger: truth?.dynamicEnergy.value,
                bits: [(.readout, readoutBits), (.update, written)])
            idle = m.baseline.powerBefore(m.evaluator).value
            if resumedEpochs > 0, let store {
                energies = RunFigures.energies(try store.energies(of: runId))
                energyNote = "; the run was resumed, so this is the sum of its epochs' records, uncertainties added as if fully correlated"
            } else {
                energies = RunFigures.energies(m)
            }
            for w in m.warnings() { try store?.record(RunEvent(runId: runId, kind: "warning", message: w)) }
        }
        var inputs = RunFigures.Inputs(
            runId: runId, network: options.network, testAccuracy: trainer.history.last?.testAccuracy ?? 0,
            samplesSeen: trainer.history.count * train.count, freeSteps: options.trainer.eqprop.freeSteps, readoutSamples: readouts + train.count,
            learned: learned, readout: readoutBits, written: written, ledger: resumedEpochs > 0 ? nil : truth, temperature: temperature)
        inputs.energies = energies
        inputs.energyNote = energyNote
        inputs.idlePowerWatts = idle
        inputs.supplyVolts = metered?.bench.board.config.supplyVoltage.value
        let figures = RunFigures.make(inputs)
        try store?.replaceFigures(of: runId, with: figures)
        await session.client.close()
        let elapsed = ContinuousClock.now - started
        var report = Report(
            board: options.board, boardSerial: String(decoding: info.serial, as: UTF8.self), network: options.network.description,
            data: options.data, trainSamples: train.count, testSamples: test.count, epochs: trainer.history,
            counters: Dictionary(uniqueKeysWithValues: trainer.counters.map { ($0.key.description, $0.value) }),
            initialPulses: initial.pulses, pulseStepSiemens: [engine.step.up, engine.step.down],
            wallSeconds: elapsed.inSeconds.value, warnings: warnings,
            measured: measured)
        report.figures = figures
        return report
    }

    /// The board's and the meter's identities.
    static func instruments(info: BoardInfo, session: BoardSession, meter: MeteredRun?) async -> [InstrumentRecord] {
        let v = info.firmwareVersion
        var out = [InstrumentRecord(
            role: "board", vendor: "Landauer", model: session.virtualBoard == nil ? "reference board" : "virtual reference board",
            serial: String(decoding: info.serial, as: UTF8.self), firmware: "\(v.major).\(v.minor).\(v.patch) (protocol \(info.protocolVersion))",
            usbSerial: session.connection.options.first { $0.key == "usb-serial" }?.value, endpoint: await session.client.endpoint)]
        if let meter {
            let id = meter.bench.identity
            out.append(InstrumentRecord(role: "meter", vendor: id.vendor, model: id.model, serial: id.serial, firmware: id.firmware, endpoint: "virtual bench (in process)"))
        }
        return out
    }
}
