import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import LandauerTraining
import Testing

@Suite("EqProp training on the virtual board", .serialized)
struct EqPropTrainingTests {
    @Test("XOR: a 2-8-2 network on the board's analog arrays reaches 100 %, every phase marked")
    func xor() async throws {
        let data = DataSets.xor()
        var s = EqPropTrainer.Settings()
        s.epochs = 100
        s.batchSize = 4
        s.stopAtTestAccuracy = 1
        s.learningRateDecay = 1
        let session = try BoardConnection.open("sim:?profile=ideal&adc-range=0.05")
        let board = try #require(session.virtualBoard)
        // XOR needs weights beyond ±1.2: 4 µS per unit gives ±2.4 in the ideal 1–20 µS window.
        var wide = BoardSynapses.Settings()
        wide.siemensPerWeight = 4e-6
        let engine = try await BoardSynapses(client: session.client, shape: NetworkShape([2, 8, 2]), settings: wide, seed: 1)
        let trainer = EqPropTrainer(engine: engine, client: session.client, settings: s)
        _ = try await engine.setWeights(trainer.initialWeights())
        let before = try await session.client.counters()
        try await trainer.train(data, test: data)
        #expect(trainer.history.last?.testAccuracy == 1, "\(trainer.history.map(\.testAccuracy))")
        #expect(trainer.history.count < 100)
        // The phases are on the marker lines: free, nudged, update for every batch, readout after each epoch.
        let phases = board.markerHistory.map { MarkerCode(lines: $0.value) }.filter(\.running).map(\.phase)
        let epochs = trainer.history.count
        #expect(phases.filter { $0 == .free }.count == epochs)
        #expect(phases.filter { $0 == .nudged }.count == epochs)
        #expect(phases.filter { $0 == .update }.count == epochs)
        #expect(phases.filter { $0 == .readout }.count == epochs)
        #expect(board.markers == 0)
        // The host's tallies are the board's counts.
        let after = try await session.client.counters()
        let c = trainer.counters
        #expect(Int(after.vectorReads - before.vectorReads) == (c[.free]?.vectorReads ?? 0) + (c[.nudged]?.vectorReads ?? 0) + (c[.readout]?.vectorReads ?? 0))
        #expect(Int(after.pulses - before.pulses) == c[.update]?.pulses)
        // Free: T steps × 3 reads (2 forward + 1 transposed) × 4 vectors per epoch.
        #expect(c[.free]?.vectorReads == epochs * 20 * 3 * 4)
    }

    @Test("the same seed trains the same network; another seed another")
    func deterministic() async throws {
        func run(_ seed: UInt64) async throws -> [Double] {
            var s = EqPropTrainer.Settings()
            s.epochs = 3
            s.batchSize = 4
            s.seed = seed
            s.learningRateDecay = 1
            let session = try BoardConnection.open("sim:?profile=ideal&adc-range=0.05")
            var wide = BoardSynapses.Settings()
            wide.siemensPerWeight = 4e-6
            let engine = try await BoardSynapses(client: session.client, shape: NetworkShape([2, 8, 2]), settings: wide, seed: seed)
            let trainer = EqPropTrainer(engine: engine, client: session.client, settings: s)
            _ = try await engine.setWeights(trainer.initialWeights())
            try await trainer.train(DataSets.xor(), test: DataSets.xor())
            return trainer.history.map(\.trainCost) + (try await engine.weights(0)).map(Double.init)
        }
        let a = try await run(5), b = try await run(5), c = try await run(6)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("a network larger than the board's tiles is refused, naming the tiles")
    func tooLarge() async throws {
        let session = try BoardConnection.open("sim")
        await #expect { _ = try await BoardSynapses(client: session.client, shape: NetworkShape([100, 32, 10]), seed: 1) } throws: {
            "\($0)".contains("64×32, 32×10")
        }
    }
}

@Suite("EqProp checkpoints", .serialized)
struct EqPropCheckpointTests {
    static func settings(epochs: Int) -> EqPropTrainer.Settings {
        var s = EqPropTrainer.Settings()
        s.epochs = epochs
        s.batchSize = 2
        s.seed = 9
        s.eqprop.estimator = .randomSign  // the β signs come from the trainer's random state too
        return s
    }

    static func engine(_ client: BoardClient) async throws -> BoardSynapses {
        var wide = BoardSynapses.Settings()
        wide.siemensPerWeight = 4e-6
        return try await BoardSynapses(client: client, shape: NetworkShape([2, 8, 2]), settings: wide, seed: 4)
    }

    @Test("a run interrupted after 3 epochs and resumed from its checkpoint ends as the uninterrupted run")
    func resume() async throws {
        let data = DataSets.xor()
        let board = "sim:?profile=ideal&adc-range=0.05&seed=21"
        // Uninterrupted: 6 epochs.
        let a = try BoardConnection.open(board)
        let ea = try await Self.engine(a.client)
        let ta = EqPropTrainer(engine: ea, client: a.client, settings: Self.settings(epochs: 6))
        _ = try await ea.setWeights(ta.initialWeights())
        try await ta.train(data, test: data)
        // Interrupted after 3, checkpointed to disk, picked up by a new trainer and engine.
        let b = try BoardConnection.open(board)
        let eb = try await Self.engine(b.client)
        let first = EqPropTrainer(engine: eb, client: b.client, settings: Self.settings(epochs: 3))
        _ = try await eb.setWeights(first.initialWeights())
        try await first.train(data, test: data)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try await first.checkpoint(eb).write(to: url)
        let checkpoint = try TrainingCheckpoint.read(from: url)
        #expect(checkpoint.history.count == 3)
        let eb2 = try await Self.engine(b.client)
        try await eb2.restore(checkpoint)
        let second = EqPropTrainer(engine: eb2, client: b.client, settings: Self.settings(epochs: 6))
        try second.restore(checkpoint)
        try await second.train(data, test: data)
        // Everything but the wall-clock speed.
        func outcome(_ h: [EqPropTrainer.EpochResult]) -> [[Double]] { h.map { [Double($0.epoch), $0.trainAccuracy, $0.trainCost, $0.testAccuracy] } }
        #expect(outcome(second.history) == outcome(ta.history))
        for l in 0..<2 { #expect(try await eb2.weights(l) == (try await ea.weights(l))) }
        #expect(second.relaxation.biases == ta.relaxation.biases)
    }

    @Test("a checkpoint refuses another board whose conductances differ, and another network")
    func refuses() async throws {
        let a = try BoardConnection.open("sim:?profile=ideal&adc-range=0.05")
        let ea = try await Self.engine(a.client)
        let t = EqPropTrainer(engine: ea, client: a.client, settings: Self.settings(epochs: 1))
        _ = try await ea.setWeights(t.initialWeights())
        let c = try await t.checkpoint(ea)
        let fresh = try BoardConnection.open("sim:?profile=ideal&adc-range=0.05")
        let other = try await Self.engine(fresh.client)
        await #expect { try await other.restore(c) } throws: { "\($0)".contains("differ from the checkpoint") }
        let bigger = try await BoardSynapses(client: fresh.client, shape: NetworkShape([2, 4, 2]), seed: 1)
        let t2 = EqPropTrainer(engine: bigger, client: nil, settings: Self.settings(epochs: 1))
        #expect { try t2.restore(c) } throws: { "\($0)".contains("2-8-2") }
    }
}

@Suite("Update schemes and the asymmetry remedy", .serialized)
struct UpdateSchemeTests {
    @Test("every update scheme learns XOR on the ideal board", arguments: UpdateScheme.allCases)
    func learnsXor(scheme: UpdateScheme) async throws {
        var s = EqPropTrainer.Settings()
        // The parallel stochastic update is the noisiest: it takes XOR ~170 epochs, the others a few dozen.
        s.epochs = 250
        s.batchSize = 4
        s.stopAtTestAccuracy = 1
        s.learningRateDecay = 1
        s.rankOneUpdates = scheme == .outerProduct
        let session = try BoardConnection.open("sim:?profile=ideal&adc-range=0.05")
        var wide = BoardSynapses.Settings()
        wide.siemensPerWeight = 4e-6
        wide.scheme = scheme
        let engine = try await BoardSynapses(client: session.client, shape: NetworkShape([2, 8, 2]), settings: wide, seed: 1)
        let trainer = EqPropTrainer(engine: engine, client: session.client, settings: s)
        _ = try await engine.setWeights(trainer.initialWeights())
        let before = try await session.client.counters()
        try await trainer.train(DataSets.xor(), test: DataSets.xor())
        #expect(trainer.history.last?.testAccuracy == 1, "\(scheme): \(trainer.history.map(\.testAccuracy))")
        // The tallies are what the board did: pulses, or coincidences of the outer products.
        let after = try await session.client.counters()
        #expect(Int(after.pulses - before.pulses) == trainer.counters[.update]?.pulses, "\(scheme)")
    }

    @Test("symmetric-point shifting sets each reference where up and down pulses balance")
    func symmetricPoint() async throws {
        /// Mean weight (signed) after alternating single up and down pulses on every G⁺ of layer 0,
        /// starting from w = 0: the drift an asymmetric device shows under balanced updates.
        func drift(_ remedy: AsymmetryRemedy) async throws -> Double {
            let session = try BoardConnection.open("sim:?device=exp-step&noise=off&adc-range=0.05")
            var settings = BoardSynapses.Settings()
            settings.remedy = remedy
            let engine = try await BoardSynapses(client: session.client, shape: NetworkShape([16, 8, 4]), settings: settings, seed: 2)
            _ = try await engine.setWeights([[Float](repeating: 0, count: 128), [Float](repeating: 0, count: 32)])
            // Exactly one pulse per device each way (the stochastic rounding has nothing to round).
            let up = Float(engine.step.up / settings.siemensPerWeight), down = Float(engine.step.down / settings.siemensPerWeight)
            for _ in 0..<100 {
                _ = try await engine.update(0, delta: [Float](repeating: up, count: 128))
                _ = try await engine.update(0, delta: [Float](repeating: -down, count: 128))
            }
            let w = try await engine.weights(0)
            return w.map(Double.init).reduce(0, +) / Double(w.count)
        }
        let without = try await drift(.none)
        let with = try await drift(.symmetricPoint)
        #expect(abs(with) < abs(without) / 3, "mean w after balanced pulses: \(with) with the remedy, \(without) without")
    }
}
