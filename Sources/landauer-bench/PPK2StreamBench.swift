import ArgumentParser
import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators

/// `landauer-bench ppk2-stream`: the virtual bench's PPK2 streaming the board's supply in real time
/// over a pseudo-terminal, read and decoded by `PPK2Session` as it comes.
struct PPK2Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppk2-stream",
        abstract: "Real-time PPK2 streaming over a pty from the virtual bench: samples received, lost (target 0), sample rate.")

    @Option(help: "Wall time to stream, in seconds.") var seconds = 60.0
    @Option(help: "Board connection string of the bench's virtual board (a sim board).") var board = "sim:?seed=1"

    func validate() throws {
        guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be a positive number of seconds") }
    }

    func run() async throws {
        let config = try SimulatorOptions.config(from: ConnectionString(parsing: board))
        let bench = try VirtualBench(config: config, ppk2: VirtualBench.ppk2Config(for: config))
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        guard let path = bench.endpoints.ppk2, let port = bench.ppk2 else { throw ValidationError("the bench started no PPK2") }
        let session = PPK2Session(transport: try TermiosTransport(path: path))
        try await session.connect()
        try await session.start()
        let began = ContinuousClock.now
        var received = 0
        var batches = 0
        var largestLag: Int64 = 0
        while ContinuousClock.now - began < .seconds(seconds) {
            guard let batch = try await session.next() else { break }
            received += batch.count
            batches += 1
            largestLag = max(largestLag, batch.unaccounted)
        }
        let (summary, last) = try await session.stop()
        received += last?.count ?? 0
        await session.close()
        let elapsed = summary.elapsed.inSeconds.value
        let measured = port.measuredCount
        // Lost: what the host saw missing (counter gaps, losses against wall time), or what the
        // device measured and the host never decoded, whichever is larger.
        let seen = Int64(summary.samplesMissing) + summary.losses.reduce(0) { $0 + max($1.samples, 0) }
        let lost = max(seen, Int64(measured) - Int64(received))
        let context = "\(batches) batches; device measured \(measured), dropped \(port.droppedBlocks) blocks; \(summary.gaps.count) counter gaps; unaccounted against wall time \(summary.unaccounted); largest in flight \(largestLag)"
        func emit(_ name: String, _ value: Double, unit: String) throws {
            let f = Figure(suite: "ppk2", name: name, value: value, unit: unit, batch: nil, iterations: received, seconds: elapsed,
                           board: board, deviceModel: config.deviceModel.name, seed: config.seed, cores: ProcessInfo.processInfo.activeProcessorCount,
                           note: context)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(f), as: UTF8.self))
        }
        try emit("stream_samples_received", Double(received), unit: "samples")
        try emit("stream_lost_samples", Double(lost), unit: "samples")
        try emit("stream_sample_rate", Double(received) / elapsed, unit: "1/s")
        try emit("stream_unaccounted_samples", Double(summary.unaccounted), unit: "samples")
    }
}
