import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerSimulators

/// The main job as it stands: a board session that programs weights, runs batched analog
/// inference and a parallel update, each in its own marker phase, and accounts for the energy.
///
/// The host side uses only the protocol. On a virtual board the energy comes from the simulator's
/// ground truth (ledger and supply waveform split at the marker edges), since no power meter is
/// connected yet; on real hardware the energy section is absent.
public struct Demo {
    /// What to run.
    public struct Options: Sendable {
        /// Board connection string.
        public var board: String = "sim"
        /// Seed of the demo's own random choices (target weights, inputs, trains).
        public var seed: UInt64 = 1
        /// Tile used throughout.
        public var tile: UInt8 = 1
        /// Number of inference input vectors.
        public var vectors: Int = 2_000
        /// Program-and-verify rounds.
        public var rounds: Int = 6
        /// Programming pulse amplitude.
        public var pulseAmplitude = Volts(1.5)
        /// Programming pulse width.
        public var pulseWidthNanoseconds: UInt32 = 1_000
        /// Read voltage of conductance reads (high enough for a fine conductance resolution,
        /// well below the devices' switching threshold).
        public var readVoltage = Volts(0.4)
        /// Input full scale of inference.
        public var inferenceFullScale = Volts(0.2)
        /// The meter on a virtual board: `sim`, `sim:?…` (a virtual PPK2 with hidden errors,
        /// calibrated against its reference loads), or `none`.
        public var meter = "sim"
        /// The workspace whose calibrations/ the run cites (and where a new one is saved); nil: none kept.
        public var workspace: URL? = URL(fileURLWithPath: ".")
        /// When to calibrate the meter.
        public var calibrate = MeteredRun.CalibrationPolicy.ifMissing
        public init() {}
    }

    public let options: Options

    public init(options: Options = Options()) { self.options = options }

    /// Runs the demo and returns its report.
    public func run() async throws -> DemoReport {
        guard options.vectors >= 1, options.vectors <= 65_535 else { throw DemoError.badOption("vectors must be 1 … 65535, not \(options.vectors)") }
        guard options.rounds >= 1 else { throw DemoError.badOption("rounds must be at least 1, not \(options.rounds)") }
        let session = try BoardConnection.open(options.board)
        let client = session.client
        var metered: MeteredRun?
        if let board = session.virtualBoard, options.meter != "none" {
            metered = try await MeteredRun(
                board: board, meter: try SimulatedMeterOptions(parsing: options.meter), workspace: options.workspace, calibrate: options.calibrate)
        }
        let info = try await client.hello()
        var report = DemoReport(board: BoardInfoReport(info, endpoint: await client.endpoint), seed: options.seed)
        guard Int(options.tile) < info.tiles.count else {
            throw DemoError.noSuchTile(Int(options.tile), available: info.tiles.count)
        }
        let tile = info.tiles[Int(options.tile)]
        let rows = Int(tile.rows), columns = Int(tile.columns)
        var rng = SplitMix64(seed: options.seed)  // the demo's own choices, independent of the board's

        // Phase 1: program-and-verify a random target weight matrix into the differential pairs.
        _ = try await client.marker(MarkerCode(phase: .program).lines)
        let first = try await readPairs(client, tile: options.tile, rows: rows, columns: columns)
        let gLow = first.min() ?? .zero, gHigh = first.max() ?? .zero
        let centre = (gLow.value + gHigh.value) / 2
        let span = 0.6 * (gHigh.value - gLow.value)
        var targets = [Double](repeating: 0, count: rows * columns * 2)
        for k in 0..<(rows * columns) {
            let w = rng.uniform() * 2 - 1
            targets[2 * k] = centre + w * span / 4
            targets[2 * k + 1] = centre - w * span / 4
        }
        // Step size estimated from the board itself: a probe of a few pulses on every G⁺ device.
        let probe = 8
        _ = try await client.program(pulses: (0..<(rows * columns)).map { k in
            pulse(k: 2 * k, columns: columns, polarity: 1, count: probe)
        })
        var measured = try await readPairs(client, tile: options.tile, rows: rows, columns: columns)
        var stepSum = 0.0
        for k in 0..<(rows * columns) { stepSum += (measured[2 * k] - first[2 * k]).value }
        let step = max(stepSum / Double(rows * columns * probe), 1e-12)
        report.programming.estimatedStepSiemens = step
        for _ in 0..<options.rounds {
            var pulses: [PulseCommand] = []
            for d in 0..<targets.count {
                let error = targets[d] - measured[d].value
                let n = min(Int((abs(error) / step).rounded()), 2_000)
                if n > 0 { pulses.append(pulse(k: d, columns: columns, polarity: error > 0 ? 1 : -1, count: n)) }
            }
            let result = try await client.program(pulses: pulses)
            report.programming.pulses += Int(result.pulsesApplied)
            measured = try await readPairs(client, tile: options.tile, rows: rows, columns: columns)
            report.programming.rmsErrorSiemens.append(rms(zip(targets, measured).map { $0 - $1.value }))
        }

        // Phase 2: batched analog inference, checked against the product of the read-back matrix.
        _ = try await client.marker(MarkerCode(phase: .readout).lines)
        let maxCode = info.dacMaxCode
        var inputs = [Int16](repeating: 0, count: options.vectors * rows)
        for i in inputs.indices { inputs[i] = Int16.random(in: -maxCode...maxCode, using: &rng) }
        let started = ContinuousClock.now
        let result = try await client.matrixVector(tile: options.tile, vectorLength: rows, inputs: inputs, inputFullScale: options.inferenceFullScale)
        let elapsed = ContinuousClock.now - started
        let weights = (0..<(rows * columns)).map { measured[2 * $0].value - measured[2 * $0 + 1].value }
        var errors: [Double] = []
        errors.reserveCapacity(result.outputs.count)
        for v in 0..<options.vectors {
            for j in 0..<columns {
                var current = 0.0
                for i in 0..<rows {
                    current += Double(inputs[v * rows + i]) / Double(maxCode) * options.inferenceFullScale.value * weights[i * columns + j]
                }
                errors.append(Double(result.outputs[v * columns + j]) - current / result.amperesPerCode.value)
            }
        }
        report.inference = .init(
            vectors: options.vectors, outputs: result.outputs.count, saturated: Int(result.saturated),
            rmsErrorLSB: rms(errors), hostVectorsPerSecond: Double(options.vectors) / elapsed.inSeconds.value)

        // Phase 3: one parallel stochastic outer-product update (BL = 31).
        _ = try await client.marker(MarkerCode(phase: .update).lines)
        let bl: UInt16 = 31
        let trainBytes = OuterProductUpdate.trainBytes(bl)
        let update = OuterProductUpdate(
            tile: options.tile, mode: .plusSigned, trainLength: bl, amplitude: options.pulseAmplitude,
            widthNanoseconds: options.pulseWidthNanoseconds,
            rowSigns: (0..<rows).map { _ in rng.uniform() < 0.5 ? -1 : 1 },
            columnSigns: (0..<columns).map { _ in rng.uniform() < 0.5 ? -1 : 1 },
            rowTrains: (0..<(rows * trainBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) & 0x7F },
            columnTrains: (0..<(columns * trainBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) & 0x7F })
        let updated = try await client.outerProduct(update)
        report.update = .init(trainLength: Int(bl), coincidences: Int(updated.coincidences), boardNanoseconds: updated.elapsedNanoseconds)
        _ = try await client.marker(0)

        let counters = try await client.counters()
        report.counters = .init(counters)
        report.temperatureKelvin = try await client.temperature().temperature.value
        let stats = await client.statistics
        report.link = .init(requests: stats.requests, retries: stats.retries, timeouts: stats.timeouts, corruptedFrames: stats.corruptedFrames)

        let names: [(Phase, String)] = [(.program, "program-and-verify"), (.readout, "inference"), (.update, "outer-product update")]
        if let board = session.virtualBoard {
            report.groundTruth = GroundTruthReport(
                board: board, phaseNames: Dictionary(uniqueKeysWithValues: names.map { (Int(MarkerCode(phase: $0.0).lines), $0.1) }))
        }
        if let metered, let board = session.virtualBoard {
            let m = try metered.finish(temperature: Kelvin(report.temperatureKelvin))
            // The ledger between the run's edges, for comparison (the host never reads it during the run).
            let truth = LedgerTruth(board: board)
            let ledger = (truth?.energyByPhase ?? [:]).mapValues(\.value)
            let runLedger = truth?.energy.value
            let dynamicLedger = truth?.dynamicEnergy.value
            let levels = 2 * Int(info.adcMaxCode) + 1
            report.measured = MeasuredEnergyReport(
                m, phases: names, ledger: ledger, runLedger: runLedger, dynamicLedger: dynamicLedger,
                bits: [(.readout, BitCount.readout(samples: report.inference.outputs, classes: levels)),
                       (.program, BitCount.writtenByUpdates(report.programming.pulses, levelsPerUpdate: 2))])
        }
        await client.close()
        return report
    }

    func pulse(k: Int, columns: Int, polarity: Int8, count: Int) -> PulseCommand {
        let cell = k / 2
        return PulseCommand(
            tile: options.tile, side: k % 2 == 0 ? .plus : .minus, row: UInt16(cell / columns), column: UInt16(cell % columns),
            polarity: polarity, amplitude: options.pulseAmplitude, widthNanoseconds: options.pulseWidthNanoseconds,
            repeat: UInt16(count))
    }

    /// Both devices of every cell, G⁺ then G⁻, row-major.
    func readPairs(_ client: BoardClient, tile: UInt8, rows: Int, columns: Int) async throws -> [Siemens] {
        let r = try await client.readConductances(ConductanceRead(tile: tile, sides: 3, row: 0, column: 0, rows: UInt16(rows), columns: UInt16(columns), readVoltage: options.readVoltage))
        return r.codes.indices.map { r.conductance($0) }
    }
}

func rms(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return 0 }
    return (xs.reduce(0) { $0 + $1 * $1 } / Double(xs.count)).squareRoot()
}


/// Why the demo cannot run.
public enum DemoError: Error, CustomStringConvertible {
    case noSuchTile(Int, available: Int)
    case badOption(String)
    public var description: String {
        switch self {
        case .noSuchTile(let t, let n): "the board has \(n) tile(s); tile \(t) does not exist"
        case .badOption(let reason): reason
        }
    }
}
