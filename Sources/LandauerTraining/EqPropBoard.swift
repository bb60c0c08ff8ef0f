import LandauerDrivers
import LandauerFirmware

/// A network's weights on a board: weight layer l on tile l, each weight a differential pair,
/// w = (G⁺ − G⁻)/G_unit. G⁻ is a fixed reference, programmed once; updates move G⁺ only, with
/// potentiating or depressing pulses, so an up and a down step are the same device's.
///
/// Every matrix-vector product is an analog read through the board client: inputs in [0, 1] are
/// DAC codes round(x·maxCode) at `inputFullScale`, outputs ADC codes converted back to weight
/// units, code × amperesPerCode/(inputFullScale·G_unit). The host never sees the simulator.
public final class BoardSynapses: SynapseEngine, @unchecked Sendable {
    // @unchecked: used by one trainer task at a time; the client is an actor.
    /// How a board is set up for a network.
    public struct Settings: Sendable, Equatable, Codable {
        /// How updates reach the devices.
        public var scheme = UpdateScheme.pulses
        /// What is done about devices whose up and down steps differ.
        public var remedy = AsymmetryRemedy.none
        /// Conductance per weight unit, G_unit.
        public var siemensPerWeight = 8e-6
        /// Read voltage of a DAC full-scale input; nil: the board's read-voltage limit.
        public var inputFullScale: Double?
        /// Read voltage of single-device conductance reads (verify).
        public var verifyReadVoltage = 0.4
        /// Programming pulse amplitude (V) and width (ns).
        public var pulseAmplitude = 1.5
        public var pulseWidthNanoseconds: UInt32 = 1_000
        /// Program-and-verify rounds when setting weights.
        public var verifyRounds = 6
        /// Up-and-down pulse pairs that settle the devices at their symmetric point.
        public var symmetricPointPairs = 200
        /// Largest pulse count per device and update (a guard against a runaway step estimate).
        public var maxPulsesPerUpdate = 200

        /// Defaults.
        public init() {}
    }

    public let shape: NetworkShape
    public let client: BoardClient
    public let settings: Settings
    let info: BoardInfo
    /// Run after every round of program-and-verify (a meter on the board's supply is read there,
    /// so programming a large network never outlasts the waveform a virtual board keeps).
    public var afterProgrammingRound: (() async throws -> Void)?
    let inputFullScale: Volts
    /// G⁻ of every weight, per layer (the reference each G⁺ is measured against), siemens.
    var reference: [[Double]] = []
    /// Conductance change of one pulse on G⁺, estimated from the board, siemens (up, down).
    public internal(set) var step: (up: Double, down: Double) = (0, 0)
    private var rng: SplitMix64

    /// The random generator's state (for checkpoints).
    var randomState: UInt64 {
        get { rng.state }
        set { rng.state = newValue }
    }

    /// Opens the network on `client`'s board (HELLO first). Tile l must have at least
    /// layers[l] rows and layers[l + 1] columns.
    public init(client: BoardClient, shape: NetworkShape, settings: Settings = Settings(), seed: UInt64) async throws {
        let info = try await client.hello()
        for l in 0..<shape.weightLayers {
            guard l < info.tiles.count, Int(info.tiles[l].rows) >= shape.layers[l], Int(info.tiles[l].columns) >= shape.layers[l + 1] else {
                throw TrainingError.boardTooSmall(
                    shape: shape.description, layer: l,
                    tiles: info.tiles.map { "\($0.rows)×\($0.columns)" }.joined(separator: ", "))
            }
        }
        self.shape = shape
        self.client = client
        self.settings = settings
        self.info = info
        inputFullScale = Volts(settings.inputFullScale ?? info.activeLimits.readVoltage.value)
        rng = SplitMix64(seed: seed)
    }

    // MARK: Setting weights

    /// Reads both devices of every pair of layer l: (G⁺, G⁻) row-major, siemens.
    func readPairs(_ l: Int) async throws -> (plus: [Double], minus: [Double]) {
        let n = shape.layers[l], m = shape.layers[l + 1]
        var plus = [Double](repeating: 0, count: n * m), minus = plus
        // One request per block of rows that fits a frame.
        let perRow = m * 2 * 2
        let rowsPerRequest = max(1, (Int(info.maxRequestBody) - 32) / max(perRow, 1))
        var row = 0
        while row < n {
            let rows = min(rowsPerRequest, n - row)
            let r = try await client.readConductances(
                ConductanceRead(tile: UInt8(l), sides: 3, row: UInt16(row), column: 0, rows: UInt16(rows), columns: UInt16(m), readVoltage: Volts(settings.verifyReadVoltage)))
            for k in 0..<(rows * m) {
                plus[row * m + k] = r.conductance(2 * k).value
                minus[row * m + k] = r.conductance(2 * k + 1).value
            }
            row += rows
        }
        return (plus, minus)
    }

    /// Sends pulses in as many requests as the board's frame allows.
    func send(_ pulses: [PulseCommand]) async throws -> UpdateTally {
        var tally = UpdateTally()
        let perRequest = max(1, (Int(info.maxRequestBody) - 8) / 17)
        var k = 0
        while k < pulses.count {
            let chunk = Array(pulses[k..<min(k + perRequest, pulses.count)])
            let r = try await client.program(pulses: chunk)
            tally.pulses += Int(r.pulsesApplied)
            tally.devices += chunk.count
            tally.requests += 1
            k += chunk.count
        }
        return tally
    }

    func pulse(_ l: Int, side: DeviceSide, index: Int, polarity: Int8, count: Int) -> PulseCommand {
        let m = shape.layers[l + 1]
        return PulseCommand(
            tile: UInt8(l), side: side, row: UInt16(index / m), column: UInt16(index % m), polarity: polarity,
            amplitude: Volts(settings.pulseAmplitude), widthNanoseconds: settings.pulseWidthNanoseconds, repeat: UInt16(count))
    }

    /// Estimates the pulse step from the board (a few pulses up, then down, on the G⁺ devices of
    /// layer 0, read back), then programs every weight to `weights` by program-and-verify:
    /// G⁻ to the reference `referenceConductance` (default: the median device as found), G⁺ to
    /// reference + w·G_unit.
    public func setWeights(_ weights: [[Float]], referenceConductance: Double? = nil) async throws -> UpdateTally {
        var tally = UpdateTally()
        // Pulse step, up and down.
        let probe = 8
        let (before, _) = try await readPairs(0)
        let count = min(before.count, 256)
        tally = tally + (try await send((0..<count).map { pulse(0, side: .plus, index: $0, polarity: 1, count: probe) }))
        let (up, _) = try await readPairs(0)
        tally = tally + (try await send((0..<count).map { pulse(0, side: .plus, index: $0, polarity: -1, count: probe) }))
        let (down, _) = try await readPairs(0)
        var su = 0.0, sd = 0.0
        for k in 0..<count {
            su += up[k] - before[k]
            sd += up[k] - down[k]
        }
        step = (max(su / Double(count * probe), 1e-12), max(sd / Double(count * probe), 1e-12))
        // Reference and targets.
        var all: [Double] = []
        for l in 0..<shape.weightLayers {
            let (p, n) = try await readPairs(l)
            all += p + n
        }
        let sorted = all.sorted()
        let g0 = referenceConductance ?? sorted[sorted.count / 2]
        reference = (0..<shape.weightLayers).map { [Double](repeating: g0, count: shape.weightCount($0)) }
        if settings.remedy == .symmetricPoint {
            // Alternating up and down pulses, one pair per request round, until the devices settle.
            for _ in 0..<settings.symmetricPointPairs {
                for polarity: Int8 in [1, -1] {
                    var pulses: [PulseCommand] = []
                    for l in 0..<shape.weightLayers {
                        for k in 0..<shape.weightCount(l) { pulses.append(pulse(l, side: .plus, index: k, polarity: polarity, count: 1)) }
                    }
                    tally = tally + (try await send(pulses))
                }
            }
            for l in 0..<shape.weightLayers { reference[l] = try await readPairs(l).plus }
        }
        let plusTargets = (0..<shape.weightLayers).map { l in
            (0..<shape.weightCount(l)).map { reference[l][$0] + Double(weights[l][$0]) * settings.siemensPerWeight }
        }
        tally = tally + (try await programPairs(plus: plusTargets, minus: reference))
        // The reference each pair is measured against is its G⁻ as it ended up.
        for l in 0..<shape.weightLayers { reference[l] = try await readPairs(l).minus }
        return tally
    }

    /// Program-and-verify: up to `verifyRounds` rounds of reading every pair and pulsing each
    /// device towards its target (G⁺ to `plus`, G⁻ to `minus`, per layer, siemens) by the
    /// measured step, until no device is a step away.
    func programPairs(plus: [[Double]], minus: [[Double]]) async throws -> UpdateTally {
        var tally = UpdateTally()
        for _ in 0..<settings.verifyRounds {
            var pulses: [PulseCommand] = []
            for l in 0..<shape.weightLayers {
                let (p, n) = try await readPairs(l)
                for k in p.indices {
                    for (side, g, target) in [(DeviceSide.plus, p[k], plus[l][k]), (.minus, n[k], minus[l][k])] {
                        let e = target - g
                        let count = Int((abs(e) / (e > 0 ? step.up : step.down)).rounded())
                        if count > 0 { pulses.append(pulse(l, side: side, index: k, polarity: e > 0 ? 1 : -1, count: min(count, 2_000))) }
                    }
                }
            }
            if pulses.isEmpty { break }
            tally = tally + (try await send(pulses))
            try await afterProgrammingRound?()
        }
        return tally
    }

    // MARK: SynapseEngine

    func codes(_ x: [Float], length: Int, padded: Int) -> [Int16] {
        let maxCode = Float(info.dacMaxCode)
        let batch = x.count / length
        var out = [Int16](repeating: 0, count: batch * padded)
        for b in 0..<batch {
            for i in 0..<length { out[b * padded + i] = Int16((min(max(x[b * length + i], 0), 1) * maxCode).rounded()) }
        }
        return out
    }

    public func forward(_ l: Int, _ x: [Float], batch: Int) async throws -> [Float] {
        let n = shape.layers[l], m = shape.layers[l + 1]
        let tile = info.tiles[l]
        let r = try await client.matrixVector(
            tile: UInt8(l), vectorLength: Int(tile.rows), inputs: codes(x, length: n, padded: Int(tile.rows)), inputFullScale: inputFullScale)
        let scale = Float(r.amperesPerCode.value / (inputFullScale.value * settings.siemensPerWeight))
        let width = Int(r.outputLength)
        var out = [Float](repeating: 0, count: batch * m)
        for b in 0..<batch { for j in 0..<m { out[b * m + j] = Float(r.outputs[b * width + j]) * scale } }
        return out
    }

    public func transposed(_ l: Int, _ y: [Float], batch: Int) async throws -> [Float] {
        let n = shape.layers[l], m = shape.layers[l + 1]
        let tile = info.tiles[l]
        let r = try await client.matrixVector(
            tile: UInt8(l), orientation: .transposed, vectorLength: Int(tile.columns), inputs: codes(y, length: m, padded: Int(tile.columns)),
            inputFullScale: inputFullScale)
        let scale = Float(r.amperesPerCode.value / (inputFullScale.value * settings.siemensPerWeight))
        let width = Int(r.outputLength)
        var out = [Float](repeating: 0, count: batch * n)
        for b in 0..<batch { for i in 0..<n { out[b * n + i] = Float(r.outputs[b * width + i]) * scale } }
        return out
    }

    /// Per-device pulse counts computed on the host (update scheme "pulses"): Δw·G_unit over the
    /// estimated step, rounded stochastically (so the expected change is the asked one), on G⁺.
    /// Under write-and-verify, G⁺ is read, the target G⁺ + Δw·G_unit aimed at and checked twice.
    public func update(_ l: Int, delta: [Float]) async throws -> UpdateTally {
        if settings.scheme == .writeVerify { return try await writeVerify(l, delta: delta) }
        var pulses: [PulseCommand] = []
        for k in delta.indices where delta[k] != 0 {
            let g = Double(delta[k]) * settings.siemensPerWeight
            let exact = abs(g) / (g > 0 ? step.up : step.down)
            var n = Int(exact.rounded(.down))
            if rng.uniform() < exact - Double(n) { n += 1 }
            n = min(n, settings.maxPulsesPerUpdate)
            if n > 0 { pulses.append(pulse(l, side: .plus, index: k, polarity: g > 0 ? 1 : -1, count: n)) }
        }
        return try await send(pulses)
    }

    func writeVerify(_ l: Int, delta: [Float]) async throws -> UpdateTally {
        var tally = UpdateTally()
        let start = try await readPairs(l).plus
        let targets = (0..<delta.count).map { start[$0] + Double(delta[$0]) * settings.siemensPerWeight }
        var now = start
        for round in 0..<2 {
            var pulses: [PulseCommand] = []
            for k in targets.indices {
                let e = targets[k] - now[k]
                let exact = abs(e) / (e > 0 ? step.up : step.down)
                var n = Int(exact.rounded(.down))
                if rng.uniform() < exact - Double(n) { n += 1 }
                n = min(n, settings.maxPulsesPerUpdate)
                if n > 0 { pulses.append(pulse(l, side: .plus, index: k, polarity: e > 0 ? 1 : -1, count: n)) }
            }
            if pulses.isEmpty { break }
            tally = tally + (try await send(pulses))
            if round == 0 { now = try await readPairs(l).plus }
        }
        return tally
    }

    /// Under the outer-product scheme, each term goes to the board as one OUTER PRODUCT request:
    /// row i fires with probability |u_i|, column j with probability κ·|v_j|, over BL slots, with
    /// BL·κ = |c|·G_unit/step (BL the smallest that keeps κ ≤ 1, at most 255), so the expected
    /// pulses on device (i, j) are |c·u_i·v_j|·G_unit/step; the line signs carry the signs of u, v and c.
    public func update(_ l: Int, terms: [RankOneTerm]) async throws -> UpdateTally {
        guard settings.scheme == .outerProduct else {
            return try await update(l, delta: RankOneTerm.matrix(terms, rows: shape.layers[l], columns: shape.layers[l + 1]))
        }
        var tally = UpdateTally()
        let tile = info.tiles[l]
        let rows = Int(tile.rows), columns = Int(tile.columns)
        let n = shape.layers[l], m = shape.layers[l + 1]
        for t in terms where t.coefficient != 0 {
            let stepSize = t.coefficient > 0 ? step.up : step.down
            let want = Double(abs(t.coefficient)) * settings.siemensPerWeight / stepSize
            let length = min(max(Int(want.rounded(.up)), 1), 255)
            let kappa = min(want / Double(length), 1)
            let bytes = OuterProductUpdate.trainBytes(UInt16(length))
            var rowTrains = [UInt8](repeating: 0, count: rows * bytes)
            var columnTrains = [UInt8](repeating: 0, count: columns * bytes)
            var rowSigns = [Int8](repeating: 0, count: rows), columnSigns = [Int8](repeating: 0, count: columns)
            for i in 0..<n where t.u[i] != 0 {
                rowSigns[i] = t.u[i] > 0 ? 1 : -1
                let p = Double(min(abs(t.u[i]), 1))
                for k in 0..<length where rng.uniform() < p { rowTrains[i * bytes + k / 8] |= 1 << UInt8(k % 8) }
            }
            for j in 0..<m where t.v[j] != 0 {
                columnSigns[j] = (t.v[j] > 0) == (t.coefficient > 0) ? 1 : -1
                let q = kappa * Double(min(abs(t.v[j]), 1))
                for k in 0..<length where rng.uniform() < q { columnTrains[j * bytes + k / 8] |= 1 << UInt8(k % 8) }
            }
            let update = OuterProductUpdate(
                tile: UInt8(l), mode: .plusSigned, trainLength: UInt16(length), amplitude: Volts(settings.pulseAmplitude),
                widthNanoseconds: settings.pulseWidthNanoseconds, rowSigns: rowSigns, columnSigns: columnSigns,
                rowTrains: rowTrains, columnTrains: columnTrains)
            let r = try await client.outerProduct(update)
            tally.pulses += Int(r.coincidences)
            tally.requests += 1
        }
        return tally
    }

    public func weights(_ l: Int) async throws -> [Float] {
        let (p, n) = try await readPairs(l)
        return (0..<p.count).map { Float((p[$0] - n[$0]) / settings.siemensPerWeight) }
    }
}

/// What is done about devices whose up and down steps differ (soft bounds, exponential steps):
/// with a fixed reference, equal numbers of up and down pulses do not cancel, and every weight
/// drifts towards the conductance where they would.
public enum AsymmetryRemedy: String, Sendable, Codable, CaseIterable {
    /// Nothing: G⁻ is the median conductance found on the board.
    case none
    /// Symmetric-point shifting (Kim et al., "zero-shifting"): before training, every G⁺ device
    /// gets alternating up and down pulses until it settles where an up and a down step are
    /// equal; its G⁻ is then programmed to that conductance, so w = 0 where updates are balanced.
    case symmetricPoint = "symmetric-point"
}

/// How a weight update reaches the devices.
public enum UpdateScheme: String, Sendable, Codable, CaseIterable {
    /// Per-device pulse counts computed on the host (Δw·G_unit over the pulse step, rounded
    /// stochastically), one PROGRAM PULSES batch per layer.
    case pulses
    /// The board's parallel stochastic outer-product update: each rank-one term of the EqProp
    /// update as row and column pulse trains whose coincidences pulse the devices.
    case outerProduct = "outer-product"
    /// Write-and-verify: read G⁺, aim at G⁺ + Δw·G_unit, pulse, read again (two rounds).
    case writeVerify = "write-verify"
}

/// Why training cannot go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case boardTooSmall(shape: String, layer: Int, tiles: String)
    case badSettings(String)

    public var description: String {
        switch self {
        case .boardTooSmall(let shape, let layer, let tiles):
            "the board cannot hold a \(shape) network: weight layer \(layer) needs a tile at index \(layer) at least as large, and the board has tiles \(tiles)"
        case .badSettings(let why): why
        }
    }
}
