import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import LandauerTraining
import Testing

/// The defining property of equilibrium propagation: as β → 0 the centered update equals the
/// negative gradient of the loss at the free fixed point. Checked on a virtual board with ideal
/// devices, no noise and fine converters, against finite differences of the loss computed on the
/// host with the weights read back from the board.
@Suite("EqProp gradient check", .serialized)
struct EqPropGradientTests {
    static let shape = NetworkShape([8, 6, 3])

    static func board() -> VirtualBoard {
        var c = VirtualBoardConfig.ideal
        c.dacBits = 16
        c.adcBits = 16
        // Output full scale: ±8 weight units of pre-activation at 0.5 V and 4 µS per unit.
        c.tiles = [TileConfig(rows: 8, columns: 6, outputFullScale: Amperes(16e-6)), TileConfig(rows: 6, columns: 3, outputFullScale: Amperes(16e-6))]
        return VirtualBoard(config: c)
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for k in a.indices {
            ab += Double(a[k]) * Double(b[k])
            aa += Double(a[k]) * Double(a[k])
            bb += Double(b[k]) * Double(b[k])
        }
        return ab / (aa * bb).squareRoot()
    }

    @Test("the centered EqProp update at small β matches −∇loss by finite differences (cosine ≥ 0.99)")
    func gradient() async throws {
        let board = Self.board()
        let client = BoardConnection.inProcessClient(for: board)
        let engine = try await BoardSynapses(client: client, shape: Self.shape, seed: 3)
        var rng = SplitMix64(seed: 11)
        let targets = (0..<Self.shape.weightLayers).map { l in (0..<Self.shape.weightCount(l)).map { _ in Float(rng.uniform() * 1.6 - 0.8) } }
        _ = try await engine.setWeights(targets)
        let batch = 4
        let x = (0..<(batch * 8)).map { _ in Float(rng.uniform()) }
        var y = [Float](repeating: 0, count: batch * 3)
        for b in 0..<batch { y[b * 3 + b % 3] = 1 }
        let biases: [[Float]] = [(0..<6).map { _ in Float(rng.uniform() * 0.4 - 0.1) }, (0..<3).map { _ in Float(rng.uniform() * 0.4 - 0.1) }]
        var relax = Relaxation(engine: engine, biases: biases)
        var reads = 0
        let beta: Float = 0.05
        let free = try await relax.relax(relax.initialState(x, batch: batch), steps: 60, reads: &reads)
        let plus = try await relax.relax(free, steps: 60, beta: beta, target: y, reads: &reads)
        let minus = try await relax.relax(free, steps: 60, beta: -beta, target: y, reads: &reads)
        let eqprop = relax.estimate(plus, minus, betaA: beta, betaB: -beta).weights
        #expect(reads == 3 * 60 * 3 * batch)

        // The same network on the host, with the weights as the board holds them.
        let host = HostSynapses(shape: Self.shape, matrices: try await (0..<2).asyncMap { try await engine.weights($0) })
        relax = Relaxation(engine: host, biases: biases)
        func loss() async throws -> Float {
            var r = 0
            let s = try await relax.relax(relax.initialState(x, batch: batch), steps: 200, reads: &r)
            return relax.cost(s, y) / Float(batch)
        }
        let h: Float = 1e-2
        var fd: [[Float]] = []
        for l in 0..<2 {
            var g = [Float](repeating: 0, count: Self.shape.weightCount(l))
            for k in g.indices {
                let w = host.matrices[l][k]
                host.matrices[l][k] = w + h
                let up = try await loss()
                host.matrices[l][k] = w - h
                let down = try await loss()
                host.matrices[l][k] = w
                g[k] = -(up - down) / (2 * h)
            }
            fd.append(g)
        }
        let c = Self.cosine(eqprop.flatMap { $0 }, fd.flatMap { $0 })
        #expect(c >= 0.99, "cosine \(c)")
        // The check can fail: the opposite sign (gradient ascent on the loss) is caught.
        #expect(Self.cosine(eqprop.flatMap { $0 }, fd.flatMap { $0 }.map { -$0 }) < 0)
    }
}

extension Sequence {
    func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}
