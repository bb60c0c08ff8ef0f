import CZlib
import Foundation
import GRDB

/// Meter traces in the run store: the meter's raw sample words, lossless, in compressed chunks,
/// and beside them min/max/mean summaries of the decoded current at several zoom levels.
///
/// A chunk holds up to `chunkSamples` consecutive samples of one stream of one run. Its 32-bit
/// words (the PPK2's: ADC code in bits 0–13, range in 14–16, logic inputs in 24–31; the counter is
/// dropped — the sample index replaces it, and gaps are recorded as events) are split into planes
/// — ADC codes as zig-zag deltas, ranges, logic — and deflated. Summaries of the current (which
/// the caller decodes with the meter's calibration) are kept per bucket of 2^10, 2^14 and 2^18
/// samples, so a view of an hour reads a few thousand rows.
public struct TraceStore: Sendable {
    /// Samples per chunk.
    public static let chunkSamples = 65_536
    /// log₂ of the samples per summary bucket, finest first.
    public static let summaryLevels = [10, 14, 18]

    let store: RunStore

    /// The traces of `store`.
    public init(_ store: RunStore) { self.store = store }

    /// One bucket of a summary.
    public struct Bucket: Sendable, Equatable {
        /// First sample of the bucket.
        public var firstSample: Int64
        /// Samples in it.
        public var count: Int
        /// Current, amperes.
        public var minimum: Double
        public var maximum: Double
        public var mean: Double
    }

    /// Appends `words` (and their decoded currents, for the summaries) to `stream` of run `runId`,
    /// starting at sample `firstSample`; whole chunks and buckets are committed in one transaction.
    /// Samples must come in order; an append of any size is cut into chunks of at most `chunkSamples`
    /// (a chunk is keyed by its first sample).
    public func append(runId: String, stream: String, firstSample: Int64, words: [UInt32], currents: [Float]) throws {
        precondition(words.count == currents.count, "one current per word")
        var k = 0
        var rows: [(index: Int64, first: Int64, count: Int, data: Data)] = []
        var buckets: [(level: Int, bucket: Int64, count: Int, min: Double, max: Double, mean: Double)] = []
        while k < words.count {
            let n = min(Self.chunkSamples, words.count - k)
            let first = firstSample + Int64(k)
            rows.append((first, first, n, try Self.encode(words[k..<(k + n)])))
            for level in Self.summaryLevels {
                let size = 1 << level
                var b = k
                while b < k + n {
                    let sample = firstSample + Int64(b)
                    let end = min(k + n, b + size - Int(sample % Int64(size)))
                    var lo = Double.infinity, hi = -Double.infinity, sum = 0.0
                    for i in b..<end {
                        let c = Double(currents[i])
                        lo = min(lo, c)
                        hi = max(hi, c)
                        sum += c
                    }
                    buckets.append((level, sample >> Int64(level), end - b, lo, hi, sum / Double(end - b)))
                    b = end
                }
            }
            k += n
        }
        try store.write { db in
            for r in rows {
                try db.execute(
                    sql: "INSERT INTO traceChunk (runId, stream, chunk, firstSample, sampleCount, data) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [runId, stream, r.index, r.first, r.count, r.data])
            }
            // A bucket split over two appends is merged (count-weighted mean, min of mins, max of maxes).
            for b in buckets {
                try db.execute(
                    sql: """
                        INSERT INTO traceSummary (runId, stream, level, bucket, sampleCount, minimum, maximum, mean) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(runId, stream, level, bucket) DO UPDATE SET
                          mean = (mean * sampleCount + excluded.mean * excluded.sampleCount) / (sampleCount + excluded.sampleCount),
                          sampleCount = sampleCount + excluded.sampleCount,
                          minimum = min(minimum, excluded.minimum), maximum = max(maximum, excluded.maximum)
                        """,
                    arguments: [runId, stream, b.level, b.bucket, b.count, b.min, b.max, b.mean])
            }
        }
    }

    /// The raw words of samples `range` of a stream (counter bits zero), decompressed.
    public func words(runId: String, stream: String, range: Range<Int64>) throws -> [UInt32] {
        try indexedWords(runId: runId, stream: stream, range: range).map(\.word)
    }

    /// The raw words of samples `range` with their sample indices (gaps are simply absent).
    public func indexedWords(runId: String, stream: String, range: Range<Int64>) throws -> [(index: Int64, word: UInt32)] {
        let chunk = Int64(Self.chunkSamples)
        return try store.read { db in
            var out: [(index: Int64, word: UInt32)] = []
            let rows = try Row.fetchAll(
                db, sql: "SELECT firstSample, sampleCount, data FROM traceChunk WHERE runId = ? AND stream = ? AND chunk BETWEEN ? AND ? ORDER BY chunk",
                arguments: [runId, stream, range.lowerBound - chunk + 1, range.upperBound - 1])
            for row in rows {
                let first: Int64 = row["firstSample"]
                let count: Int = row["sampleCount"]
                for (i, w) in try Self.decode(row["data"], count: count).enumerated() where range.contains(first + Int64(i)) {
                    out.append((first + Int64(i), w))
                }
            }
            return out
        }
    }

    /// A view of samples `range` in at least `buckets` buckets where the data allow: the coarsest
    /// summary level that still gives that many.
    public func view(runId: String, stream: String, range: Range<Int64>, buckets: Int) throws -> [Bucket] {
        let span = Double(range.count)
        let level = Self.summaryLevels.reversed().first { span / Double(1 << $0) >= Double(buckets) } ?? Self.summaryLevels[0]
        return try store.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT bucket, sampleCount, minimum, maximum, mean FROM traceSummary WHERE runId = ? AND stream = ? AND level = ? AND bucket BETWEEN ? AND ? ORDER BY bucket",
                arguments: [runId, stream, level, range.lowerBound >> Int64(level), (range.upperBound - 1) >> Int64(level)]
            ).map { row in
                let bucket: Int64 = row["bucket"]
                return Bucket(firstSample: bucket << Int64(level), count: row["sampleCount"], minimum: row["minimum"], maximum: row["maximum"], mean: row["mean"])
            }
        }
    }

    /// The samples a stream spans, first to last (gaps inside included), or nil when it has none.
    public func extent(runId: String, stream: String) throws -> Range<Int64>? {
        try store.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT MIN(firstSample) AS lo, MAX(firstSample + sampleCount) AS hi FROM traceChunk WHERE runId = ? AND stream = ?",
                arguments: [runId, stream]), let lo: Int64 = row["lo"], let hi: Int64 = row["hi"]
            else { return nil }
            return lo..<hi
        }
    }

    /// Bytes the chunks of a stream take, compressed.
    public func storedBytes(runId: String, stream: String) throws -> Int {
        try store.read { try Int.fetchOne($0, sql: "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM traceChunk WHERE runId = ? AND stream = ?", arguments: [runId, stream]) ?? 0 }
    }

    // MARK: Encoding

    static func encode(_ words: ArraySlice<UInt32>) throws -> Data {
        let n = words.count
        // Planes, one after the other: delta low bytes, delta high bytes, ranges, logic.
        var raw = [UInt8](repeating: 0, count: n * 4)
        var previous: Int32 = 0
        for (k, w) in words.enumerated() {
            let adc = Int32(w & 0x3FFF)
            let d = adc - previous
            previous = adc
            let z = UInt16(truncatingIfNeeded: (d << 1) ^ (d >> 31))
            raw[k] = UInt8(z & 0xFF)
            raw[n + k] = UInt8(z >> 8)
            raw[2 * n + k] = UInt8((w >> 14) & 0x7)
            raw[3 * n + k] = UInt8(w >> 24)
        }
        return try deflate(raw)
    }

    static func decode(_ data: Data, count n: Int) throws -> [UInt32] {
        let raw = try inflate(data, expected: n * 4)
        guard raw.count == n * 4 else { throw RunStoreError.database("a trace chunk holds \(raw.count) bytes, not \(n * 4)") }
        var out = [UInt32](repeating: 0, count: n)
        var adc: Int32 = 0
        for i in 0..<n {
            let z = UInt16(raw[i]) | UInt16(raw[n + i]) << 8
            let d = Int32(z >> 1) ^ -Int32(z & 1)
            adc += d
            out[i] = UInt32(adc & 0x3FFF) | UInt32(raw[2 * n + i] & 0x7) << 14 | UInt32(raw[3 * n + i]) << 24
        }
        return out
    }

    static func deflate(_ bytes: [UInt8]) throws -> Data {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let r = compress2(&out, &size, bytes, uLong(bytes.count), 1)
        guard r == Z_OK else { throw RunStoreError.database("deflate failed (\(r))") }
        return Data(out.prefix(Int(size)))
    }

    static func inflate(_ data: Data, expected: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: expected)
        var size = uLong(expected)
        let bytes = [UInt8](data)
        let r = uncompress(&out, &size, bytes, uLong(bytes.count))
        guard r == Z_OK else { throw RunStoreError.database("a trace chunk does not inflate (\(r))") }
        return Array(out.prefix(Int(size)))
    }
}
