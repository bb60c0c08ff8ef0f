import LandauerFirmware

/// Equilibrium propagation's settings (Scellier & Bengio 2017; the discrete-time dynamics of
/// Ernoult et al. 2019 and Laborieux et al. 2021).
public struct EqPropSettings: Sendable, Equatable, Codable {
    /// How the nudged phase estimates the gradient.
    public enum Estimator: String, Sendable, Codable, CaseIterable {
        /// Two nudged phases, +β and −β, from the free fixed point: (s^{+β} − s^{−β})/2β; no first-order bias.
        case centered
        /// One nudged phase whose β sign is drawn per batch: (s^{±β} − s⁰)/(±β).
        case randomSign = "random-sign"
    }

    /// Free-phase steps T.
    public var freeSteps = 20
    /// Nudged-phase steps K.
    public var nudgedSteps = 4
    /// Nudging strength β.
    public var beta: Float = 0.5
    /// The estimator.
    public var estimator = Estimator.centered
    /// Learning rate per weight layer (the last is reused for deeper layers).
    public var learningRates: [Float] = [0.1, 0.05]

    /// Defaults that worked for 784-500-10 (T = 20, K = 4, β = 0.5).
    public init() {}

    /// The learning rate of weight layer l.
    public func learningRate(_ l: Int) -> Float { learningRates.isEmpty ? 0.05 : learningRates[min(l, learningRates.count - 1)] }
}

/// The state of a batch: every layer's activations, inputs first (layer 0 is clamped to the data).
public struct NetworkState: Sendable, Equatable {
    /// Activations per layer, batch × size, in [0, 1].
    public var layers: [[Float]]
    /// Vectors in the batch.
    public var batch: Int
}

/// The relaxation dynamics, on any engine:
///
///   s_l ← ρ(W_{l−1}ᵀ·s_{l−1} + W_l·s_{l+1} + b_l)             hidden layers
///   s_L ← ρ(W_{L−1}ᵀ·s_{L−1} + b_L + β·(y − s_L))              output layer
///
/// with ρ the hard sigmoid clip(·, 0, 1), all layers updated together from the previous state.
/// Each step costs one forward read per weight layer and one transposed read per weight layer
/// but the first. The host keeps the activations and the biases (biases are digital).
public struct Relaxation: Sendable {
    /// The engine.
    public let engine: any SynapseEngine
    /// Biases per non-input layer (layer l + 1's biases at index l).
    public var biases: [[Float]]

    /// A relaxation on `engine` with zero biases.
    public init(engine: any SynapseEngine, biases: [[Float]]? = nil) {
        self.engine = engine
        let shape = engine.shape
        self.biases = biases ?? (1..<shape.layers.count).map { [Float](repeating: 0, count: shape.layers[$0]) }
    }

    /// The network's shape.
    public var shape: NetworkShape { engine.shape }

    /// A state with inputs `x` (batch × inputs) and every other layer at 0.
    public func initialState(_ x: [Float], batch: Int) -> NetworkState {
        var layers = [x]
        for n in shape.layers.dropFirst() { layers.append([Float](repeating: 0, count: batch * n)) }
        return NetworkState(layers: layers, batch: batch)
    }

    /// Runs `steps` steps from `state`; with a target `y` (batch × outputs) and β ≠ 0 the output is nudged.
    /// `reads` counts the matrix-vector reads (vectors) it made.
    public func relax(_ state: NetworkState, steps: Int, beta: Float = 0, target y: [Float]? = nil, reads: inout Int) async throws -> NetworkState {
        var s = state
        let L = shape.layers.count - 1
        let batch = s.batch
        for _ in 0..<steps {
            var next = s.layers
            for l in 1...L {
                var h = try await engine.forward(l - 1, s.layers[l - 1], batch: batch)
                reads += batch
                if l < L {
                    let back = try await engine.transposed(l, s.layers[l + 1], batch: batch)
                    reads += batch
                    for k in h.indices { h[k] += back[k] }
                }
                let n = shape.layers[l]
                let b = biases[l - 1]
                for k in h.indices { h[k] += b[k % n] }
                if l == L, beta != 0, let y {
                    for k in h.indices { h[k] += beta * (y[k] - s.layers[L][k]) }
                }
                for k in h.indices { h[k] = min(max(h[k], 0), 1) }
                next[l] = h
            }
            s.layers = next
        }
        return s
    }

    /// The predicted class of each vector: the most active output.
    public func predictions(_ s: NetworkState) -> [Int] {
        let out = s.layers[s.layers.count - 1]
        let m = shape.layers[shape.layers.count - 1]
        return (0..<s.batch).map { b in
            var best = 0
            for j in 1..<m where out[b * m + j] > out[b * m + best] { best = j }
            return best
        }
    }

    /// The cost ½‖y − s_L‖² summed over the batch.
    public func cost(_ s: NetworkState, _ y: [Float]) -> Float {
        let out = s.layers[s.layers.count - 1]
        var c: Float = 0
        for k in out.indices { c += 0.5 * (y[k] - out[k]) * (y[k] - out[k]) }
        return c
    }

    /// The EqProp estimate of −∂(cost)/∂W_l and −∂(cost)/∂b_l, averaged over the batch:
    /// (ρ(s_l^a)ρ(s_{l−1}^a)ᵀ − ρ(s_l^b)ρ(s_{l−1}^b)ᵀ)/(β_a − β_b) for the two nudged (or nudged and
    /// free) states a, b.
    public func estimate(_ a: NetworkState, _ b: NetworkState, betaA: Float, betaB: Float) -> (weights: [[Float]], biases: [[Float]]) {
        let scale = 1 / ((betaA - betaB) * Float(a.batch))
        var dW: [[Float]] = []
        var dB: [[Float]] = []
        for l in 0..<shape.weightLayers {
            let n = shape.layers[l], m = shape.layers[l + 1]
            var w = [Float](repeating: 0, count: n * m)
            var bias = [Float](repeating: 0, count: m)
            for v in 0..<a.batch {
                for i in 0..<n {
                    let xa = a.layers[l][v * n + i], xb = b.layers[l][v * n + i]
                    for j in 0..<m {
                        w[i * m + j] += xa * a.layers[l + 1][v * m + j] - xb * b.layers[l + 1][v * m + j]
                    }
                }
                for j in 0..<m { bias[j] += a.layers[l + 1][v * m + j] - b.layers[l + 1][v * m + j] }
            }
            dW.append(w.map { $0 * scale })
            dB.append(bias.map { $0 * scale })
        }
        return (dW, dB)
    }
}
