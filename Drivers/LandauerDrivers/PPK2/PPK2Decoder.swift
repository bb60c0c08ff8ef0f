import LandauerFirmware

/// A gap in a PPK2 sample stream, found from the 6-bit counter: samples the device measured but
/// the host never received. Energy over a gap is never interpolated.
public struct PPK2Gap: Sendable, Equatable {
    /// Index, among the samples decoded since the last reset, of the first sample after the gap.
    public var receivedIndex: UInt64
    /// Index of that sample on the device's sample clock (received before it plus all missing
    /// up to it, this gap included).
    public var streamIndex: UInt64
    /// Samples missing, (counter − expected) mod 64: 1…63. A loss of a multiple of 64 samples
    /// leaves the counter in step and cannot be seen from it.
    public var missing: Int
    /// The counter value the decoder expected.
    public var expectedCounter: UInt8
    /// The counter value that arrived.
    public var counter: UInt8

    /// Creates a gap record.
    public init(receivedIndex: UInt64, streamIndex: UInt64, missing: Int, expectedCounter: UInt8, counter: UInt8) {
        self.receivedIndex = receivedIndex
        self.streamIndex = streamIndex
        self.missing = missing
        self.expectedCounter = expectedCounter
        self.counter = counter
    }

    /// The time the gap spans at 100 kS/s.
    public var duration: Seconds { Seconds(Double(missing) * 1e-5) }
}

/// Decoded PPK2 samples as a struct of arrays, oldest first.
public struct PPK2Samples: Sendable, Equatable {
    /// Calibrated (and, when enabled, spike-filtered) current of each sample.
    public var currents: [Amperes] = []
    /// Logic inputs D0…D7 of each sample (bit n = channel n).
    public var logic: [UInt8] = []
    /// Measurement range of each sample (0…4).
    public var ranges: [UInt8] = []

    /// Creates an empty collection.
    public init() {}

    /// The number of samples.
    public var count: Int { currents.count }

    /// The charge over all samples, each taken as constant over its 10 µs.
    public var charge: Coulombs {
        var sum = 0.0
        var compensation = 0.0
        for c in currents {
            let y = c.value - compensation
            let t = sum + y
            compensation = (t - sum) - y
            sum = t
        }
        return Coulombs(sum * 1e-5)
    }
}

/// The host side of a PPK2 sample stream: turns the bytes a PPK2 streams after `AverageStart` into
/// calibrated currents, logic levels and ranges, applies Nordic's spike filter, and records every
/// gap the 6-bit counter reveals.
///
/// Reads may split sample words at any byte: the decoder keeps up to three bytes for the next
/// call. It allocates nothing per sample; the unsafe-buffer entry point writes into the caller's
/// buffers. Call `reset()` when sampling (re)starts (Nordic's hosts reset the spike filter on
/// `AverageStart`).
///
/// Spike filter (Nordic's, per sample; alpha 0.18, alpha5 0.06, 3 samples): two exponential
/// averages follow the current; for three samples after a range change the output is the
/// average (range 4: the slow average, and within the first two samples of range 4 the
/// averages are held at their values before the sample).
public struct PPK2Decoder: Sendable {
    /// The calibration in force.
    public var calibration: PPK2Calibration { didSet { rebuildTable() } }
    /// The regulator voltage (the last RegulatorSet), which enters the S·VDD term.
    public var vdd: Volts { didSet { rebuildTable() } }
    /// Whether Nordic's spike filter is applied.
    public var spikeFilter: Bool

    /// Filter smoothing of the fast average.
    public static let alpha = 0.18
    /// Filter smoothing of the slow average (used in range 4).
    public static let alpha5 = 0.06
    /// Samples after a range change during which the filter's output replaces the current.
    public static let spikeSamples = 3

    /// Coefficients for the eight values of the 3-bit range field (5…7 as 4).
    private var table: [PPK2RangeCoefficients] = []
    private var state = FilterState()
    private var pending: UInt32 = 0
    private var pendingCount = 0

    /// Samples decoded since the last reset.
    public private(set) var receivedCount: UInt64 = 0
    /// Samples lost since the last reset, by the counter.
    public private(set) var missingCount: UInt64 = 0
    /// Every gap since the last reset, in order.
    public private(set) var gaps: [PPK2Gap] = []

    @usableFromInline
    struct FilterState: Sendable {
        var average = 0.0
        var average4 = 0.0
        var started = false
        var previousRange = 0
        var consecutive = 0
        var afterSpike = 0
        var expectedCounter = -1
    }

    /// Creates a decoder with `calibration` (default: Nordic's defaults) at regulator voltage `vdd`.
    public init(calibration: PPK2Calibration = .defaults, vdd: Volts = Volts(3.0), spikeFilter: Bool = true) {
        self.calibration = calibration
        self.vdd = vdd
        self.spikeFilter = spikeFilter
        rebuildTable()
    }

    private mutating func rebuildTable() {
        table = (0..<8).map { PPK2RangeCoefficients(calibration, range: min($0, 4), vdd: vdd) }
    }

    /// Forgets the stream: the spike filter, the counter reference, any partial word, the counts
    /// and the gap list. Call it when sampling starts.
    public mutating func reset() {
        state = FilterState()
        pending = 0
        pendingCount = 0
        receivedCount = 0
        missingCount = 0
        gaps = []
    }

    /// Samples a stream of `elapsed` sampling time (at 100 kS/s) should hold but that neither
    /// arrived nor show as counter gaps: losses of whole multiples of 64 samples, such as the
    /// firmware's 512-sample blocks, which leave the 6-bit counter in step. Positive when samples
    /// are unaccounted for; the caller's time reference (and the device's clock accuracy) bounds
    /// how small a loss this can reveal.
    public func unaccountedSamples(after elapsed: Seconds) -> Int64 {
        let expected = (elapsed.value * Double(PPK2Sample.samplesPerSecond)).rounded()
        return Int64(expected) - Int64(receivedCount &+ missingCount)
    }

    /// Bytes held back from the last call (0…3): the start of a word not yet complete.
    public var remainderCount: Int { pendingCount }

    /// The number of samples the next `decode` of `byteCount` bytes will produce.
    public func sampleCount(forByteCount byteCount: Int) -> Int { (pendingCount + byteCount) / PPK2Sample.byteCount }

    /// Decodes `bytes`, continuing any partial word, into the caller's buffers; returns the number
    /// of samples written (`sampleCount(forByteCount: bytes.count)`). `logic` and `ranges` may be
    /// nil when not wanted.
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, currents: UnsafeMutableBufferPointer<Amperes>,
        logic: UnsafeMutableBufferPointer<UInt8>? = nil, ranges: UnsafeMutableBufferPointer<UInt8>? = nil
    ) -> Int {
        let total = sampleCount(forByteCount: bytes.count)
        precondition(currents.count >= total && (logic?.count ?? total) >= total && (ranges?.count ?? total) >= total,
                     "PPK2Decoder.decode: output buffers hold fewer than \(total) samples")
        guard total > 0 else {
            for b in bytes { pending |= UInt32(b) << (8 * UInt32(pendingCount)); pendingCount += 1 }
            return 0
        }
        var consumed = 0
        var written = 0
        let out = currents.baseAddress!
        let logicOut = logic?.baseAddress
        let rangeOut = ranges?.baseAddress
        if pendingCount > 0 {
            var word = pending
            while pendingCount < 4 {
                word |= UInt32(bytes[consumed]) << (8 * UInt32(pendingCount))
                pendingCount += 1
                consumed += 1
            }
            pending = 0
            pendingCount = 0
            let n = withWords(single: word) { words in
                run(words, out, logicOut, rangeOut)
            }
            written += n
        }
        let whole = (bytes.count - consumed) / 4
        if whole > 0 {
            let words = UnsafeRawBufferPointer(rebasing: bytes[consumed..<(consumed + whole * 4)])
            written += run(words, out + written, logicOut.map { $0 + written }, rangeOut.map { $0 + written })
            consumed += whole * 4
        }
        while consumed < bytes.count {
            pending |= UInt32(bytes[consumed]) << (8 * UInt32(pendingCount))
            pendingCount += 1
            consumed += 1
        }
        return written
    }

    /// Decodes `bytes` and appends the samples to `samples`.
    public mutating func decode(_ bytes: [UInt8], appendingTo samples: inout PPK2Samples) {
        let n = sampleCount(forByteCount: bytes.count)
        let start = samples.count
        samples.currents.append(contentsOf: repeatElement(.zero, count: n))
        samples.logic.append(contentsOf: repeatElement(0, count: n))
        samples.ranges.append(contentsOf: repeatElement(0, count: n))
        bytes.withUnsafeBytes { raw in
            samples.currents.withUnsafeMutableBufferPointer { c in
                samples.logic.withUnsafeMutableBufferPointer { l in
                    samples.ranges.withUnsafeMutableBufferPointer { r in
                        _ = decode(raw, currents: UnsafeMutableBufferPointer(rebasing: c[start...]),
                                   logic: UnsafeMutableBufferPointer(rebasing: l[start...]),
                                   ranges: UnsafeMutableBufferPointer(rebasing: r[start...]))
                    }
                }
            }
        }
    }

    /// Decodes `bytes` into a new collection of samples.
    public mutating func decode(_ bytes: [UInt8]) -> PPK2Samples {
        var s = PPK2Samples()
        decode(bytes, appendingTo: &s)
        return s
    }

    private func withWords<R>(single word: UInt32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var w = word.littleEndian
        return withUnsafeBytes(of: &w) { body($0) }
    }

    /// Decodes whole words; the hot loop.
    private mutating func run(
        _ words: UnsafeRawBufferPointer, _ out: UnsafeMutablePointer<Amperes>,
        _ logicOut: UnsafeMutablePointer<UInt8>?, _ rangeOut: UnsafeMutablePointer<UInt8>?
    ) -> Int {
        let count = words.count / 4
        var s = state
        let filter = spikeFilter
        var gapFound = false
        table.withUnsafeBufferPointer { t in
            let table = t.baseAddress!
            if filter {
                gapFound = PPK2Decoder.loop(words, count, table, &s, out, logicOut, rangeOut, filter: true)
            } else {
                gapFound = PPK2Decoder.loop(words, count, table, &s, out, logicOut, rangeOut, filter: false)
            }
        }
        if gapFound {
            // Rare: walk the counters again to record each gap exactly.
            recordGaps(words, count, startCounter: state.expectedCounter)
        }
        state = s
        receivedCount &+= UInt64(count)
        return count
    }

    /// Re-reads the counters of `count` words and records every jump.
    private mutating func recordGaps(_ words: UnsafeRawBufferPointer, _ count: Int, startCounter: Int) {
        var expected = startCounter
        for k in 0..<count {
            let w = UInt32(littleEndian: words.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))
            let counter = Int((w >> 18) & 0x3F)
            if expected >= 0 && counter != expected {
                let missing = (counter - expected) & 0x3F
                let received = receivedCount &+ UInt64(k)
                gaps.append(PPK2Gap(receivedIndex: received, streamIndex: received &+ missingCount &+ UInt64(missing), missing: missing,
                                    expectedCounter: UInt8(expected), counter: UInt8(counter)))
                missingCount &+= UInt64(missing)
            }
            expected = (counter + 1) & 0x3F
        }
    }

    @inline(__always)
    private static func loop(
        _ words: UnsafeRawBufferPointer, _ count: Int, _ table: UnsafePointer<PPK2RangeCoefficients>,
        _ s: inout FilterState, _ out: UnsafeMutablePointer<Amperes>,
        _ logicOut: UnsafeMutablePointer<UInt8>?, _ rangeOut: UnsafeMutablePointer<UInt8>?, filter: Bool
    ) -> Bool {
        let alpha = PPK2Decoder.alpha
        let alpha5 = PPK2Decoder.alpha5
        var average = s.average
        var average4 = s.average4
        var started = s.started
        var previousRange = s.previousRange
        var consecutive = s.consecutive
        var afterSpike = s.afterSpike
        var expected = s.expectedCounter
        var gap = false
        let base = words.baseAddress!
        for k in 0..<count {
            let w = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 &* k, as: UInt32.self))
            let rawRange = Int(truncatingIfNeeded: (w >> 14) & 7)
            let range = rawRange > 4 ? 4 : rawRange
            var current = table[rawRange].current(Double(w & 0x3FFF) * 4)
            let counter = Int(truncatingIfNeeded: (w >> 18) & 0x3F)
            if counter != expected && expected >= 0 { gap = true }
            expected = (counter &+ 1) & 0x3F
            if filter {
                let previousAverage = average
                let previousAverage4 = average4
                if started {
                    average = alpha * current + (1 - alpha) * average
                    average4 = alpha5 * current + (1 - alpha5) * average4
                } else {
                    average = current
                    average4 = current
                    previousRange = range
                    started = true
                }
                if range != previousRange || afterSpike > 0 {
                    if range != previousRange {
                        consecutive = 0
                        afterSpike = PPK2Decoder.spikeSamples
                    } else {
                        consecutive &+= 1
                    }
                    if range == 4 {
                        if consecutive < 2 {
                            average = previousAverage
                            average4 = previousAverage4
                        }
                        current = average4
                    } else {
                        current = average
                    }
                    afterSpike &-= 1
                }
                previousRange = range
            }
            out[k] = Amperes(current)
            logicOut?[k] = UInt8(truncatingIfNeeded: w >> 24)
            rangeOut?[k] = UInt8(truncatingIfNeeded: range)
        }
        s.average = average
        s.average4 = average4
        s.started = started
        s.previousRange = previousRange
        s.consecutive = consecutive
        s.afterSpike = afterSpike
        s.expectedCounter = expected
        return gap
    }
}
