import ArgumentParser
import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerStore

/// `landauer-bench store`: trace ingest into the run store and zoomed reads of it.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Run-store traces: ingest of PPK2-rate words with summaries, bytes per sample, and a zoomed view of the whole trace.")

    @Option(help: "Seconds of trace at 100 kS/s (3600: one hour).") var traceSeconds = 600
    @Option(help: "Samples per append (a meter's batch).") var batch = 100_000
    @Option(help: "Where the store file goes (deleted afterwards).") var directory = FileManager.default.temporaryDirectory.path

    func run() async throws {
        let path = (directory as NSString).appendingPathComponent("landauer-bench-\(UUID().uuidString).sqlite")
        defer {
            for suffix in ["", "-wal", "-shm", ".events.jsonl"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let store = try RunStore(path: path)
        let run = RunRecord(name: "bench", kind: .train, toolkitVersion: "bench", gitCommit: nil, seed: 1, configuration: "{}")
        try store.begin(run)
        let traces = TraceStore(store)
        let total = traceSeconds * 100_000
        // One batch of PPK2-like words, reused with a shifting pattern: noise of a few counts on a
        // level that moves, range switches, logic lines changing every few thousand samples.
        var rng = SplitMix64(seed: 1)
        var words = [UInt32](repeating: 0, count: batch)
        var currents = [Float](repeating: 0, count: batch)
        var written = 0
        let started = ContinuousClock.now
        while written < total {
            let n = min(batch, total - written)
            for i in 0..<n {
                let t = written + i
                let range: UInt32 = (t / 50_000) % 4 == 3 ? 2 : 1
                let adc = UInt32(3_000 + (t / 7_000) % 400 + Int(rng.next() % 7) + (range == 2 ? 2_000 : 0))
                words[i] = adc | range << 14 | UInt32(t % 64) << 18 | UInt32((t / 3_000) % 8 | 0x20) << 24
                currents[i] = Float(adc) * (range == 2 ? 1e-5 : 1e-6)
            }
            try traces.append(runId: run.id, stream: "ppk2", firstSample: Int64(written), words: Array(words[0..<n]), currents: Array(currents[0..<n]))
            written += n
        }
        let ingest = ContinuousClock.now - started
        let ingestSeconds = ingest.inSeconds.value
        let bytes = try traces.storedBytes(runId: run.id, stream: "ppk2")
        // The database and its write-ahead log (not yet checkpointed) together.
        let fileBytes = ["", "-wal"].reduce(0) { sum, suffix in
            sum + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size]) as? Int ?? 0)
        }
        // A zoomed view of the whole trace (about 1 000 buckets), timed over 20 repetitions.
        var best = Double.infinity
        var buckets = 0
        for _ in 0..<20 {
            let t0 = ContinuousClock.now
            buckets = try traces.view(runId: run.id, stream: "ppk2", range: 0..<Int64(total), buckets: 1_000).count
            let d = ContinuousClock.now - t0
            best = min(best, d.inSeconds.value)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func emit(_ name: String, _ value: Double, _ unit: String, _ note: String) throws {
            let f = Figure(suite: "store", name: name, value: value, unit: unit, batch: batch, iterations: total, seconds: ingestSeconds,
                           board: "synthetic PPK2 words", deviceModel: "-", seed: 1, note: note)
            print(String(decoding: try encoder.encode(f), as: UTF8.self))
        }
        try emit("trace_ingest", Double(total) / ingestSeconds, "samples/s", "\(traceSeconds) s of 100 kS/s trace with summaries, committed per append")
        try emit("trace_bytes_per_sample", Double(bytes) / Double(total), "B", "compressed chunk bytes; whole file \(String(format: "%.3f", Double(fileBytes) / Double(total))) B/sample with summaries and indexes")
        try emit("trace_zoom_query", best * 1_000, "ms", "view of the whole \(traceSeconds) s trace in \(buckets) buckets, best of 20")
    }
}
