import Foundation
import LandauerStore
import Testing

@Suite("Traces in the run store")
struct TraceStoreTests {
    /// PPK2-like words: a noisy current on range 1 stepping to range 2 and back, logic lines changing.
    static func trace(_ n: Int, seed: UInt64) -> (words: [UInt32], currents: [Float]) {
        var state = seed
        func next() -> UInt64 { state &+= 0x9E37_79B9_7F4A_7C15; var z = state; z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB; return z ^ (z >> 31) }
        var words: [UInt32] = []
        var currents: [Float] = []
        for i in 0..<n {
            let range: UInt32 = (i / 5_000) % 3 == 1 ? 2 : 1
            let adc = UInt32(4_000 + Int(next() % 7) - 3 + (range == 2 ? 2_000 : 0))
            let logic = UInt32((i / 12_345) % 8) | 0x20
            let counter = UInt32(i % 64)
            words.append(adc | range << 14 | counter << 18 | logic << 24)
            currents.append(Float(adc) * (range == 2 ? 1e-5 : 1e-6))
        }
        return (words, currents)
    }

    static func store() throws -> (RunStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("traces-\(UUID().uuidString).sqlite").path
        let store = try RunStore(path: path)
        let run = RunRecord(name: "trace", kind: .train, toolkitVersion: "0", gitCommit: nil, seed: nil, configuration: "{}")
        try store.begin(run)
        return (store, run.id)
    }

    @Test("words come back exactly (counter bits aside), in any range, from appends of any size, in ≤ 2 bytes per sample")
    func lossless() throws {
        let (store, run) = try Self.store()
        let traces = TraceStore(store)
        let (words, currents) = Self.trace(200_000, seed: 3)
        // Appends of a whole number of chunks, then the rest.
        try traces.append(runId: run, stream: "ppk2", firstSample: 0, words: Array(words[0..<131_072]), currents: Array(currents[0..<131_072]))
        try traces.append(runId: run, stream: "ppk2", firstSample: 131_072, words: Array(words[131_072...]), currents: Array(currents[131_072...]))
        let strip = { (w: UInt32) in w & ~(0x3F << 18) }
        #expect(try traces.words(runId: run, stream: "ppk2", range: 0..<200_000) == words.map(strip))
        #expect(try traces.words(runId: run, stream: "ppk2", range: 65_000..<70_123) == words[65_000..<70_123].map(strip))
        let bytes = try traces.storedBytes(runId: run, stream: "ppk2")
        #expect(Double(bytes) / 200_000 <= 2, "\(Double(bytes) / 200_000) bytes per sample")
    }

    @Test("summaries give min, max and mean per bucket at the zoom asked, across appends")
    func summaries() throws {
        let (store, run) = try Self.store()
        let traces = TraceStore(store)
        let (words, currents) = Self.trace(300_000, seed: 5)
        var k = 0
        while k < words.count {  // uneven appends: buckets split across them must merge
            let n = min(70_000, words.count - k)
            try traces.append(runId: run, stream: "ppk2", firstSample: Int64(k), words: Array(words[k..<(k + n)]), currents: Array(currents[k..<(k + n)]))
            k += n
        }
        let view = try traces.view(runId: run, stream: "ppk2", range: 0..<300_000, buckets: 200)
        #expect(view.count == (300_000 + 1_023) / 1_024)  // 2^10 gives ≥ 200, 2^14 would give 19
        for b in view {
            let slice = currents[Int(b.firstSample)..<(Int(b.firstSample) + b.count)].map(Double.init)
            #expect(b.minimum == slice.min()! && b.maximum == slice.max()!)
            #expect(abs(b.mean - slice.reduce(0, +) / Double(slice.count)) <= 1e-9 * abs(b.mean))
        }
        let coarse = try traces.view(runId: run, stream: "ppk2", range: 0..<300_000, buckets: 10)
        #expect(coarse.count == (300_000 + 16_383) / 16_384)
        #expect(coarse.reduce(0) { $0 + $1.count } == 300_000)
    }
}
