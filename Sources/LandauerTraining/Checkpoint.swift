import Foundation
import LandauerCalibration
import LandauerFirmware

/// Everything needed to go on with a training run: the trainer's state (epochs done, biases,
/// random state, counters), the engine's (reference conductances, pulse step, random state) and
/// the conductance map of every weight as read back from the board.
///
/// A board keeps its conductances when the host stops (memristors are non-volatile), so resuming
/// on the same board needs only the host state; the map is there to check that the board is the
/// one left behind (`BoardSynapses.restore(_:verify:)` compares it) and to program another board to
/// the same weights (`BoardSynapses.restore(_:reprogram:)`).
public struct TrainingCheckpoint: Codable, Sendable, Equatable {
    /// Format version.
    public static let formatVersion = 1

    public var version = TrainingCheckpoint.formatVersion
    /// The network.
    public var network: [Int]
    /// Epochs done, and what each gave.
    public var history: [EqPropTrainer.EpochResult]
    /// Digital biases per non-input layer.
    public var biases: [[Float]]
    /// The trainer's random state (shuffles, β signs).
    public var trainerRandomState: UInt64
    /// Operations per phase so far.
    public var counters: [String: EqPropTrainer.PhaseCounters]
    /// The engine's random state (stochastic rounding of pulse counts).
    public var engineRandomState: UInt64
    /// G⁻ reference per weight, per layer, siemens.
    public var reference: [[Double]]
    /// G⁺ per weight, per layer, siemens, as read when the checkpoint was taken.
    public var conductances: [[Double]]
    /// Pulse step up and down, siemens.
    public var step: [Double]

    /// Writes the checkpoint as JSON, atomically (a crash leaves the previous one).
    public func write(to url: URL) throws {
        try encoded().write(to: url, options: .atomic)
    }

    /// The checkpoint as JSON.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a checkpoint.
    public static func read(from url: URL) throws -> TrainingCheckpoint {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.badSettings("checkpoint \(url.path) cannot be read: \(error)")
        }
        return try decode(data, from: url.path)
    }

    /// Decodes a checkpoint's JSON; `source` says where it came from in errors.
    public static func decode(_ data: Data, from source: String) throws -> TrainingCheckpoint {
        let c: TrainingCheckpoint
        do { c = try JSONDecoder().decode(TrainingCheckpoint.self, from: data) } catch {
            throw TrainingError.badSettings("checkpoint \(source) cannot be read: \(error)")
        }
        guard c.version == formatVersion else {
            throw TrainingError.badSettings("checkpoint \(source) has format version \(c.version); this build reads \(formatVersion)")
        }
        return c
    }
}

extension EqPropTrainer {
    /// The trainer's half of a checkpoint, with the engine's added by `engine`.
    public func checkpoint(_ engine: BoardSynapses) async throws -> TrainingCheckpoint {
        var c = TrainingCheckpoint(
            network: engine.shape.layers, history: history, biases: relaxation.biases, trainerRandomState: randomState,
            counters: Dictionary(uniqueKeysWithValues: counters.map { ($0.key.description, $0.value) }),
            engineRandomState: 0, reference: [], conductances: [], step: [])
        try await engine.fill(&c)
        return c
    }

    /// Takes up a checkpoint's trainer state.
    public func restore(_ c: TrainingCheckpoint) throws {
        guard c.network == engine.shape.layers else {
            throw TrainingError.badSettings("the checkpoint is of a \(c.network.map(String.init).joined(separator: "-")) network, not \(engine.shape)")
        }
        history = c.history
        relaxation.biases = c.biases
        randomState = c.trainerRandomState
        counters = Dictionary(uniqueKeysWithValues: c.counters.compactMap { key, value in
            Phase.allCases.first { $0.description == key }.map { ($0, value) }
        })
    }
}

extension BoardSynapses {
    func fill(_ c: inout TrainingCheckpoint) async throws {
        c.engineRandomState = randomState
        c.reference = reference
        c.step = [step.up, step.down]
        c.conductances = []
        for l in 0..<shape.weightLayers { c.conductances.append(try await readPairs(l).plus) }
    }

    /// Programs the board's pairs to the checkpoint's conductances (G⁺ to its map, G⁻ to its
    /// reference) by program-and-verify, then takes up its state: resuming on another board, or
    /// on a board that lost its state.
    public func reprogram(_ c: TrainingCheckpoint) async throws -> UpdateTally {
        guard c.network == shape.layers, c.reference.count == shape.weightLayers, c.step.count == 2 else {
            throw TrainingError.badSettings("the checkpoint does not describe a \(shape) network")
        }
        step = (c.step[0], c.step[1])
        let tally = try await programPairs(plus: c.conductances, minus: c.reference)
        try await restore(c, verify: nil)
        for l in 0..<shape.weightLayers { reference[l] = try await readPairs(l).minus }
        return tally
    }

    /// Takes up a checkpoint's engine state on the board it was taken on. With `verify`, the
    /// board's conductances must be within `tolerance` (RMS, siemens) of the checkpoint's map —
    /// otherwise this is not the board left behind, or it has drifted: an error says which.
    public func restore(_ c: TrainingCheckpoint, verify tolerance: Double? = 0.2e-6) async throws {
        guard c.network == shape.layers, c.reference.count == shape.weightLayers, c.step.count == 2 else {
            throw TrainingError.badSettings("the checkpoint does not describe a \(shape) network")
        }
        reference = c.reference
        step = (c.step[0], c.step[1])
        randomState = c.engineRandomState
        if let tolerance {
            for l in 0..<shape.weightLayers {
                let now = try await readPairs(l).plus
                var ss = 0.0
                for k in now.indices { ss += (now[k] - c.conductances[l][k]) * (now[k] - c.conductances[l][k]) }
                let rms = (ss / Double(max(now.count, 1))).squareRoot()
                guard rms <= tolerance else {
                    throw TrainingError.badSettings(
                        "layer \(l)'s conductances differ from the checkpoint's by \(Siemens(rms).formatted(significantDigits: 2)) RMS: not the board the run left, or it drifted; resume with reprogramming")
                }
            }
        }
    }
}
