import LandauerCalibration
import LandauerDrivers
import LandauerFirmware

/// Trains a layered network by equilibrium propagation on any `SynapseEngine` — a board's analog
/// arrays through its client, or the host — marking every phase on the board's marker lines
/// (`MarkerCode`: free, nudged, update, readout; epoch and batch parities; the run line) so a meter
/// can attribute the energy. Deterministic for a seed.
public final class EqPropTrainer: @unchecked Sendable {
    // @unchecked: one training task at a time.
    /// What to train and how.
    public struct Settings: Sendable, Equatable {
        /// Relaxation and learning rates; defaults tuned on the digits (β = 1, rates 0.5 and 0.25).
        public var eqprop: EqPropSettings = {
            var e = EqPropSettings()
            e.beta = 1
            e.learningRates = [0.5, 0.25]
            return e
        }()
        /// Samples per batch.
        public var batchSize = 8
        /// Epochs.
        public var epochs = 10
        /// Seed of the initial weights, the shuffles and the β signs.
        public var seed: UInt64 = 1
        /// Initial weights: uniform in ±scale·√(6/(n_in + n_out)) (Glorot).
        public var initialScale: Float = 1
        /// Learning rate of the (digital) biases, relative to the layer's.
        public var biasLearningRate: Float = 1
        /// The learning rates are multiplied by this after every epoch (1: constant).
        public var learningRateDecay: Float = 0.8
        /// Hand the update to the engine as rank-one terms (for the board's parallel outer-product update).
        public var rankOneUpdates = false
        /// Stop early once the test accuracy reaches this (nil: run every epoch).
        public var stopAtTestAccuracy: Double?

        /// Defaults.
        public init() {}
    }

    /// Operations of one kind of phase, as the host asked for them.
    public struct PhaseCounters: Sendable, Equatable, Codable {
        /// Matrix-vector reads (vectors).
        public var vectorReads = 0
        /// Programming pulses.
        public var pulses = 0
        /// Requests carrying them (pulse requests).
        public var requests = 0
    }

    /// One epoch's outcome.
    public struct EpochResult: Sendable, Equatable, Codable {
        public var epoch: Int
        /// Accuracy on the training samples during the epoch (free phase before each update).
        public var trainAccuracy: Double
        /// Mean cost ½‖y − s‖² on the training samples during the epoch.
        public var trainCost: Double
        /// Accuracy on the test set after the epoch.
        public var testAccuracy: Double
        /// Samples per second of wall time, training only.
        public var samplesPerSecond: Double
    }

    public let settings: Settings
    public let engine: any SynapseEngine
    /// The board whose marker lines show the phases; nil for a host engine.
    public let client: BoardClient?
    public internal(set) var relaxation: Relaxation
    /// Per phase kind, the operations so far.
    public internal(set) var counters: [Phase: PhaseCounters] = [:]
    /// Run after every batch of training and of evaluation while `train` runs (its `afterBatch`).
    var batchHook: (() async throws -> Void)?
    /// Epochs done.
    public internal(set) var history: [EpochResult] = []
    private var rng: SplitMix64

    /// The random generator's state (for checkpoints).
    var randomState: UInt64 {
        get { rng.state }
        set { rng.state = newValue }
    }

    /// A trainer over `engine`. The weights are not set yet: call `initialize()`.
    public init(engine: any SynapseEngine, client: BoardClient?, settings: Settings) {
        self.engine = engine
        self.client = client
        self.settings = settings
        relaxation = Relaxation(engine: engine)
        rng = SplitMix64(seed: settings.seed)
    }

    /// Draws the initial weights (Glorot uniform, seeded) and sets them on the engine.
    public func initialWeights() -> [[Float]] {
        let shape = engine.shape
        return (0..<shape.weightLayers).map { l in
            let a = settings.initialScale * (6 / Float(shape.layers[l] + shape.layers[l + 1])).squareRoot()
            return (0..<shape.weightCount(l)).map { _ in Float(rng.uniform() * 2 - 1) * a }
        }
    }

    func mark(_ phase: Phase, epoch: Int, batch: Int) async throws {
        guard let client else { return }
        _ = try await client.marker(MarkerCode(phase: phase, epoch: epoch, batch: batch).lines)
    }

    /// One-hot targets of `labels`.
    func oneHot(_ labels: ArraySlice<Int>, classes: Int) -> [Float] {
        var y = [Float](repeating: 0, count: labels.count * classes)
        for (b, c) in labels.enumerated() { y[b * classes + c] = 1 }
        return y
    }

    /// Trains one batch (free, nudged, update), returning its correct predictions and cost.
    func trainBatch(_ x: [Float], _ labels: ArraySlice<Int>, epoch: Int, batch index: Int) async throws -> (correct: Int, cost: Double) {
        let shape = engine.shape
        let classes = shape.layers[shape.layers.count - 1]
        let batch = labels.count
        let y = oneHot(labels, classes: classes)
        let e = settings.eqprop
        var reads = 0
        try await mark(.free, epoch: epoch, batch: index)
        let free = try await relaxation.relax(relaxation.initialState(x, batch: batch), steps: e.freeSteps, reads: &reads)
        counters[.free, default: PhaseCounters()].vectorReads += reads
        let predictions = relaxation.predictions(free)
        let correct = zip(predictions, labels).filter { $0 == $1 }.count
        let cost = Double(relaxation.cost(free, y))
        reads = 0
        try await mark(.nudged, epoch: epoch, batch: index)
        let estimate: (weights: [[Float]], biases: [[Float]])
        let a: NetworkState, b: NetworkState, betaA: Float, betaB: Float
        switch e.estimator {
        case .centered:
            a = try await relaxation.relax(free, steps: e.nudgedSteps, beta: e.beta, target: y, reads: &reads)
            b = try await relaxation.relax(free, steps: e.nudgedSteps, beta: -e.beta, target: y, reads: &reads)
            (betaA, betaB) = (e.beta, -e.beta)
        case .randomSign:
            let beta = rng.uniform() < 0.5 ? e.beta : -e.beta
            a = try await relaxation.relax(free, steps: e.nudgedSteps, beta: beta, target: y, reads: &reads)
            b = free
            (betaA, betaB) = (beta, 0)
        }
        estimate = relaxation.estimate(a, b, betaA: betaA, betaB: betaB)
        // The same update as rank-one terms, for engines that apply outer products in parallel.
        var rankOneTerms: [[RankOneTerm]]?
        if settings.rankOneUpdates {
            let c = 1 / ((betaA - betaB) * Float(batch))
            var all: [[RankOneTerm]] = []
            for l in 0..<shape.weightLayers {
                let n = shape.layers[l], m = shape.layers[l + 1]
                var terms: [RankOneTerm] = []
                // a·a'ᵀ − b·b'ᵀ = ((a + b)/2)·(a' − b')ᵀ + (a − b)·((a' + b')/2)ᵀ: two terms, each with
                // a small factor, so the pulses a term costs scale with the update, not with the states.
                for v in 0..<batch {
                    let inputs = (v * n)..<((v + 1) * n), outputs = (v * m)..<((v + 1) * m)
                    let ai = a.layers[l][inputs], bi = b.layers[l][inputs], ao = a.layers[l + 1][outputs], bo = b.layers[l + 1][outputs]
                    let meanIn = zip(ai, bi).map { ($0 + $1) / 2 }, diffIn = zip(ai, bi).map { $0 - $1 }
                    let meanOut = zip(ao, bo).map { ($0 + $1) / 2 }, diffOut = zip(ao, bo).map { $0 - $1 }
                    terms.append(RankOneTerm(u: meanIn, v: diffOut, coefficient: c))
                    terms.append(RankOneTerm(u: diffIn, v: meanOut, coefficient: c))
                }
                all.append(terms)
            }
            rankOneTerms = all
        }
        counters[.nudged, default: PhaseCounters()].vectorReads += reads
        try await mark(.update, epoch: epoch, batch: index)
        var tally = UpdateTally()
        var decay: Float = 1
        for _ in 0..<epoch { decay *= settings.learningRateDecay }
        for l in 0..<shape.weightLayers {
            let lr = e.learningRate(l) * decay
            if let terms = rankOneTerms?[l] {
                tally = tally + (try await engine.update(l, terms: terms.map { RankOneTerm(u: $0.u, v: $0.v, coefficient: $0.coefficient * lr) }))
            } else {
                tally = tally + (try await engine.update(l, delta: estimate.weights[l].map { $0 * lr }))
            }
            let blr = lr * settings.biasLearningRate
            for j in relaxation.biases[l].indices { relaxation.biases[l][j] += blr * estimate.biases[l][j] }
        }
        counters[.update, default: PhaseCounters()].pulses += tally.pulses
        counters[.update, default: PhaseCounters()].requests += tally.requests
        return (correct, cost)
    }

    /// Accuracy of the free phase on `data` (readout phase on the markers).
    public func evaluate(_ data: Dataset, epoch: Int = 0) async throws -> Double {
        guard data.count > 0 else { return 0 }
        try await mark(.readout, epoch: epoch, batch: 0)
        var correct = 0
        try await freePass(data) { s, samples in
            correct += zip(relaxation.predictions(s), data.labels[samples]).filter { $0 == $1 }.count
        }
        return Double(correct) / Double(data.count)
    }

    /// Relaxes `data` in batches of at least 64 in the free phase, handing each batch's state and
    /// sample range to `body`; counts the reads as readout and runs the batch hook after each batch.
    func freePass(_ data: Dataset, _ body: (NetworkState, Range<Int>) -> Void) async throws {
        var reads = 0
        var start = 0
        let size = max(settings.batchSize, 64)
        while start < data.count {
            let end = min(start + size, data.count)
            let x = Array(data.features[(start * data.dimension)..<(end * data.dimension)])
            let s = try await relaxation.relax(relaxation.initialState(x, batch: end - start), steps: settings.eqprop.freeSteps, reads: &reads)
            body(s, start..<end)
            start = end
            try await batchHook?()
        }
        counters[.readout, default: PhaseCounters()].vectorReads += reads
    }

    /// Trains for `settings.epochs` epochs (from `history.count`), evaluating on `test` after each;
    /// `progress` sees every epoch's result and, during an epoch, (samples done, of); `afterBatch`
    /// runs after every batch's update (a meter drains its samples there), `afterEpoch` after every
    /// epoch, `beforeEnd` once after the last, while the run line is still high.
    public func train(
        _ train: Dataset, test: Dataset, progress: @Sendable (EpochResult?, Int, Int) -> Void = { _, _, _ in },
        afterBatch: @escaping () async throws -> Void = {}, afterEpoch: () async throws -> Void = {},
        beforeEnd: () async throws -> Void = {}
    ) async throws {
        batchHook = afterBatch
        defer { batchHook = nil }
        let shape = engine.shape
        guard train.dimension == shape.layers[0], train.classes <= shape.layers[shape.layers.count - 1] else {
            throw TrainingError.badSettings(
                "the data (\(train.dimension) inputs, \(train.classes) classes) do not fit a \(shape) network")
        }
        while history.count < settings.epochs {
            let epoch = history.count
            var order = Array(0..<train.count)
            order.shuffle(using: &rng)
            var correct = 0
            var cost = 0.0
            let started = ContinuousClock.now
            var batchIndex = 0
            var k = 0
            while k < order.count {
                let ids = order[k..<min(k + settings.batchSize, order.count)]
                var x: [Float] = []
                x.reserveCapacity(ids.count * train.dimension)
                for i in ids { x += train.features(of: i) }
                let labels = ids.map { train.labels[$0] }
                let r = try await trainBatch(x, labels[...], epoch: epoch, batch: batchIndex)
                correct += r.correct
                cost += r.cost
                k += ids.count
                batchIndex += 1
                progress(nil, k, order.count)
                try await batchHook?()
            }
            let elapsed = ContinuousClock.now - started
            let seconds = elapsed.inSeconds.value
            let accuracy = try await evaluate(test, epoch: epoch)
            // Close the readout window: the board idles (run line still high) until the next epoch.
            try await mark(.idle, epoch: epoch, batch: 0)
            let result = EpochResult(
                epoch: epoch, trainAccuracy: Double(correct) / Double(train.count), trainCost: cost / Double(train.count),
                testAccuracy: accuracy, samplesPerSecond: Double(train.count) / max(seconds, 1e-9))
            history.append(result)
            progress(result, train.count, train.count)
            try await afterEpoch()
            if let goal = settings.stopAtTestAccuracy, accuracy >= goal { break }
        }
        try await beforeEnd()
        if let client { _ = try await client.marker(0) }
    }
}
