import LandauerFirmware

/// The layer sizes of a layered network, inputs first: [64, 32, 10] is 64 inputs, one hidden
/// layer of 32 and 10 outputs. Layer l's weights W_l connect layer l to layer l + 1 and have
/// `layers[l] × layers[l + 1]` entries, row-major (input index first).
public struct NetworkShape: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Sizes, inputs first.
    public var layers: [Int]

    /// A shape; at least an input and an output layer, every size positive.
    public init(_ layers: [Int]) {
        precondition(layers.count >= 2 && layers.allSatisfy { $0 > 0 }, "a network needs at least two layers of positive size")
        self.layers = layers
    }

    /// Weight matrices.
    public var weightLayers: Int { layers.count - 1 }
    /// Entries of W_l.
    public func weightCount(_ l: Int) -> Int { layers[l] * layers[l + 1] }
    /// Every weight and bias.
    public var parameterCount: Int { (0..<weightLayers).reduce(0) { $0 + weightCount($1) + layers[$1 + 1] } }

    public var description: String { layers.map(String.init).joined(separator: "-") }

    /// Parses "64-32-10".
    public init?(parsing text: String) {
        let parts = text.split(separator: "-").map { Int($0) }
        guard parts.count >= 2, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        self.init(parts.map { $0! })
    }
}

/// Where a network's matrix-vector products are computed and its weights kept: the analog
/// arrays of a board (`BoardSynapses`), or exact host arithmetic (`HostSynapses`, for checks).
///
/// Weights are in weight units; what a unit means physically is the engine's business.
public protocol SynapseEngine: AnyObject, Sendable {
    /// The network the engine holds.
    var shape: NetworkShape { get }
    /// Σ_i x_i·W_l[i, j] for each of `batch` input vectors x (batch × layers[l]) → batch × layers[l + 1].
    func forward(_ l: Int, _ x: [Float], batch: Int) async throws -> [Float]
    /// Σ_j W_l[i, j]·y_j for each of `batch` vectors y (batch × layers[l + 1]) → batch × layers[l].
    func transposed(_ l: Int, _ y: [Float], batch: Int) async throws -> [Float]
    /// Adds `delta` (layers[l] × layers[l + 1], weight units) to W_l as well as the engine can.
    func update(_ l: Int, delta: [Float]) async throws -> UpdateTally
    /// W_l as the engine holds it now (on a board: read back).
    func weights(_ l: Int) async throws -> [Float]
    /// Adds Σ_k c_k·u_k·v_kᵀ to W_l, term by term (an engine with a parallel outer-product update
    /// applies each term in one operation; the default forms the matrix and calls `update(_:delta:)`).
    func update(_ l: Int, terms: [RankOneTerm]) async throws -> UpdateTally
}

/// One rank-one term c·u·vᵀ of an update: u over layer l's units, v over layer l + 1's, entries in [−1, 1].
public struct RankOneTerm: Sendable, Equatable {
    public var u: [Float]
    public var v: [Float]
    public var coefficient: Float

    /// A term.
    public init(u: [Float], v: [Float], coefficient: Float) {
        self.u = u
        self.v = v
        self.coefficient = coefficient
    }
}

extension RankOneTerm {
    /// Σ_k c_k·u_k·v_kᵀ as an n × m row-major matrix.
    public static func matrix(_ terms: [RankOneTerm], rows n: Int, columns m: Int) -> [Float] {
        var delta = [Float](repeating: 0, count: n * m)
        for t in terms {
            for i in 0..<n where t.u[i] != 0 {
                let a = t.coefficient * t.u[i]
                for j in 0..<m { delta[i * m + j] += a * t.v[j] }
            }
        }
        return delta
    }
}

extension SynapseEngine {
    public func update(_ l: Int, terms: [RankOneTerm]) async throws -> UpdateTally {
        try await update(l, delta: RankOneTerm.matrix(terms, rows: shape.layers[l], columns: shape.layers[l + 1]))
    }
}

/// What an update or a phase cost in operations, as the host asked for them.
public struct UpdateTally: Sendable, Equatable, Codable {
    /// Programming pulses applied.
    public var pulses = 0
    /// Devices touched.
    public var devices = 0
    /// Requests sent.
    public var requests = 0

    /// Nothing.
    public init() {}

    static func + (a: UpdateTally, b: UpdateTally) -> UpdateTally {
        var r = a
        r.pulses += b.pulses
        r.devices += b.devices
        r.requests += b.requests
        return r
    }
}

/// Exact host arithmetic: the reference an analog engine is checked against.
public final class HostSynapses: SynapseEngine, @unchecked Sendable {
    // @unchecked: used by one task at a time (a trainer or a check); no concurrent access.
    public let shape: NetworkShape
    /// The weights, one row-major matrix per layer.
    public var matrices: [[Float]]

    /// An engine holding `matrices`.
    public init(shape: NetworkShape, matrices: [[Float]]) {
        precondition(matrices.count == shape.weightLayers && matrices.indices.allSatisfy { matrices[$0].count == shape.weightCount($0) })
        self.shape = shape
        self.matrices = matrices
    }

    public func forward(_ l: Int, _ x: [Float], batch: Int) -> [Float] {
        let n = shape.layers[l], m = shape.layers[l + 1]
        var out = [Float](repeating: 0, count: batch * m)
        matrices[l].withUnsafeBufferPointer { w in
            for b in 0..<batch {
                for i in 0..<n {
                    let xi = x[b * n + i]
                    if xi == 0 { continue }
                    for j in 0..<m { out[b * m + j] += xi * w[i * m + j] }
                }
            }
        }
        return out
    }

    public func transposed(_ l: Int, _ y: [Float], batch: Int) -> [Float] {
        let n = shape.layers[l], m = shape.layers[l + 1]
        var out = [Float](repeating: 0, count: batch * n)
        matrices[l].withUnsafeBufferPointer { w in
            for b in 0..<batch {
                for i in 0..<n {
                    var s: Float = 0
                    for j in 0..<m { s += w[i * m + j] * y[b * m + j] }
                    out[b * n + i] = s
                }
            }
        }
        return out
    }

    public func update(_ l: Int, delta: [Float]) -> UpdateTally {
        for k in delta.indices { matrices[l][k] += delta[k] }
        return UpdateTally()
    }

    public func weights(_ l: Int) -> [Float] { matrices[l] }
}
