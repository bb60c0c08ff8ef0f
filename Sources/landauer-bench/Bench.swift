import ArgumentParser
import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators

/// One benchmark figure: one JSON object per line, `value` in `unit` is the headline number.
struct Figure: Encodable {
    var suite: String
    var name: String
    var value: Double
    var unit: String
    var batch: Int?
    var iterations: Int
    var seconds: Double
    var board: String
    var deviceModel: String
    var seed: UInt64
    var cores = 1
    var note: String?

    enum CodingKeys: String, CodingKey {
        case suite, name, value, unit, batch, iterations, seconds, board, cores, note, seed
        case deviceModel = "device_model"
    }
}

@main
struct LandauerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landauer-bench",
        abstract: "Benchmarks, one JSON object per figure. Build with -c release.",
        subcommands: [Board.self, PPK2Decode.self, PPK2Stream.self, TrainBench.self, StoreBench.self])
}

struct Board: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole in-process board path: encode, frame, engine, physics with noise, response, decode.")

    @Option(help: "Board connection string (a sim board). Nothing drains the supply waveform here, so keep its retention bounded.")
    var board = "sim:?retention=1000000"
    @Option(help: "Minimum wall time per figure, in seconds.") var seconds = 2.0

    func validate() throws {
        guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be a positive number of seconds") }
    }
    @Option(help: "Vectors per matrix-vector frame.") var batch = 128
    @Option(help: "Run only the figures whose name contains this text.") var only: String?

    func run() async throws {
        let session = try BoardConnection.open(board)
        let client = session.client
        let info = try await client.hello()
        let config = session.virtualBoard?.config
        let model = config?.deviceModel.name ?? "hardware"
        let seed = config?.seed ?? 0
        let wanted = { (name: String) in only.map { name.contains($0) } ?? true }
        func emit(_ name: String, _ rate: Double, unit: String = "1/s", batch: Int? = nil, iterations: Int, seconds: Double, note: String? = nil) throws {
            let f = Figure(suite: "board", name: name, value: rate, unit: unit, batch: batch, iterations: iterations, seconds: seconds, board: board, deviceModel: model, seed: seed, note: note)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(f), as: UTF8.self))
        }

        // Batched 64 × 32 matrix-vector reads on tile 0, noise on.
        let tile = info.tiles[0]
        let rows = Int(tile.rows)
        let fits = await client.maxVectorsPerFrame(tile: 0, orientation: .forward, vectorLength: rows)
        guard batch >= 1, batch <= fits else {
            throw ValidationError("--batch must be 1 … \(fits) vectors for a \(rows)-input frame on this board, not \(batch)")
        }
        let maxCode = info.dacMaxCode
        var rng = SplitMix64(seed: seed)  // reproducible inputs
        let inputs = (0..<(batch * rows)).map { _ in Int16.random(in: -maxCode...maxCode, using: &rng) }
        let read = MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: UInt16(batch), vectorLength: UInt16(rows), inputFullScale: Volts(0.2), inputs: inputs)
        var (n, elapsed) = (0, 0.0)
        if wanted("mvm_\(rows)x\(tile.columns)_batched") {
        (n, elapsed) = try await measure(seconds) { _ = try await client.matrixVector(read) }
        try emit("mvm_\(rows)x\(tile.columns)_batched", Double(n * batch) / elapsed, batch: batch, iterations: n * batch, seconds: elapsed,
                 note: "forward reads per second through the whole in-process path on one core")
        }
        let transposed = MatrixVectorRead(tile: 0, orientation: .transposed, vectorCount: UInt16(batch), vectorLength: tile.columns, inputFullScale: Volts(0.2), inputs: Array(inputs.prefix(batch * Int(tile.columns))))
        if wanted("mvm_\(rows)x\(tile.columns)_transposed_batched") {
            (n, elapsed) = try await measure(seconds) { _ = try await client.matrixVector(transposed) }
            try emit("mvm_\(rows)x\(tile.columns)_transposed_batched", Double(n * batch) / elapsed, batch: batch, iterations: n * batch, seconds: elapsed)
        }

        // Programming pulses, 1000 single pulses per frame.
        let pulses = (0..<1_000).map { k in
            PulseCommand(tile: 0, side: k % 2 == 0 ? .plus : .minus, row: UInt16(k % rows), column: UInt16(k % Int(tile.columns)), polarity: k % 4 < 2 ? 1 : -1, amplitude: Volts(1.5), widthNanoseconds: 1_000, repeat: 1)
        }
        if wanted("program_pulses") {
            (n, elapsed) = try await measure(seconds) { _ = try await client.program(pulses: pulses) }
            try emit("program_pulses", Double(n * pulses.count) / elapsed, batch: pulses.count, iterations: n * pulses.count, seconds: elapsed)
        }

        // Parallel outer-product updates on tile 0, BL = 31, about half the lines firing per slot.
        let bl: UInt16 = 31
        let tb = OuterProductUpdate.trainBytes(bl)
        let update = OuterProductUpdate(
            tile: 0, mode: .plusSigned, trainLength: bl, amplitude: Volts(1.5), widthNanoseconds: 100,
            rowSigns: (0..<rows).map { _ in Bool.random(using: &rng) ? 1 : -1 },
            columnSigns: (0..<Int(tile.columns)).map { _ in Bool.random(using: &rng) ? 1 : -1 },
            rowTrains: (0..<(rows * tb)).map { _ in UInt8.random(in: 0...255, using: &rng) },
            columnTrains: (0..<(Int(tile.columns) * tb)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        if wanted("outer_product_\(rows)x\(tile.columns)_bl31") {
            (n, elapsed) = try await measure(seconds) { _ = try await client.outerProduct(update) }
            try emit("outer_product_\(rows)x\(tile.columns)_bl31", Double(n) / elapsed, iterations: n, seconds: elapsed)
        }

        // Request round trips with an empty PING: the per-frame cost of the path.
        if wanted("ping_round_trips") {
            (n, elapsed) = try await measure(seconds) { _ = try await client.ping() }
            try emit("ping_round_trips", Double(n) / elapsed, iterations: n, seconds: elapsed)
        }
        await client.close()
    }

    /// Runs `body` repeatedly for at least `seconds` of wall time; returns the count and time.
    func measure(_ seconds: Double, _ body: () async throws -> Void) async throws -> (Int, Double) {
        try await body()  // warm-up
        let start = ContinuousClock.now
        var n = 0
        var elapsed = 0.0
        repeat {
            try await body()
            n += 1
            elapsed = (ContinuousClock.now - start).inSeconds.value
        } while elapsed < seconds
        return (n, elapsed)
    }
}
