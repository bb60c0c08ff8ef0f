import LandauerDrivers
import LandauerFirmware
import Testing

/// Words for decoder tests: a run of samples with ranges changing now and then (range 4
/// included), consecutive counters and varied logic.
func ppk2TestWords(count: Int, seed: UInt64 = 7, firstCounter: UInt8 = 0) -> [UInt32] {
    var rng = SplitMix64(seed: seed)
    var range: UInt8 = 0
    return (0..<count).map { k in
        if rng.next() % 16 == 0 { range = UInt8(rng.next() % 5) }
        let adc = UInt16(rng.next() % 16384)
        return PPK2Sample(adc: adc, range: range, counter: UInt8((Int(firstCounter) + k) % 64), logic: UInt8(truncatingIfNeeded: rng.next())).word
    }
}

func ppk2Bytes(_ words: [UInt32]) -> [UInt8] {
    var out: [UInt8] = []
    for w in words { PPK2Sample(word: w).append(to: &out) }
    return out
}

@Suite("PPK2Decoder")
struct PPK2DecoderTests {
    @Test("the reference's worked example: 88 93 14 AA is ADC 5000, range 2, counter 5, logic 0xAA, 22.117 mA")
    func workedExample() {
        let s = PPK2Sample(bytes: 0x88, 0x93, 0x14, 0xAA)
        #expect(s.word == 0xAA14_9388)
        #expect(s.adc == 5000 && s.range == 2 && s.counter == 5 && s.logic == 0xAA)
        #expect(PPK2Sample(adc: 5000, range: 2, counter: 5, logic: 0xAA) == s)
        var decoder = PPK2Decoder()
        let out = decoder.decode([0x88, 0x93, 0x14, 0xAA])
        #expect(out.count == 1)
        #expect(out.logic == [0xAA])
        #expect(out.ranges == [2])
        let rwg = 20000 * (1.8 / 163_840 / 10.15)  // Nordic's order of operations
        #expect(abs(rwg - 21.648e-3) < 0.5e-6)
        #expect(abs(out.currents[0].value - 22.117e-3) < 0.5e-6)
        #expect(out.currents[0].value == rwg * (rwg + 1))
        #expect(PPK2Calibration.defaults.current(adc: 5000, range: 2, vdd: Volts(3)).value == rwg * (rwg + 1))
    }

    @Test("the full formula uses O, R, GS, GI, S·VDD, I and UG of the sample's range")
    func formula() {
        var m = PPK2Metadata()
        m.r[1] = 100
        m.o[1] = 40
        m.gs[1] = 0.5
        m.gi[1] = 1.01
        m.s[1] = 1e-3
        m.i[1] = 2e-6
        m.ug[1] = 0.98
        var decoder = PPK2Decoder(calibration: PPK2Calibration(metadata: m), vdd: Volts(1.8), spikeFilter: false)
        let out = decoder.decode(ppk2Bytes([PPK2Sample(adc: 1234, range: 1, counter: 0, logic: 0).word]))
        let rwg = (1234.0 * 4 - 40) * (1.8 / 163_840 / 100)
        let expected = 0.98 * (rwg * (0.5 * rwg + 1.01) + (1e-3 * 1.8 + 2e-6))
        #expect(abs(out.currents[0].value - expected) <= 1e-18)
    }

    @Test("reads split at every byte offset decode identically to one read")
    func splitReads() {
        let bytes = ppk2Bytes(ppk2TestWords(count: 97))
        var whole = PPK2Decoder()
        let reference = whole.decode(bytes)
        for split in 0...bytes.count {
            var d = PPK2Decoder()
            var out = PPK2Samples()
            d.decode(Array(bytes[..<split]), appendingTo: &out)
            #expect(d.remainderCount == split % 4)
            d.decode(Array(bytes[split...]), appendingTo: &out)
            #expect(out == reference, "split at \(split)")
            #expect(d.remainderCount == 0)
        }
        // And byte by byte, and in ragged pieces.
        var d = PPK2Decoder()
        var out = PPK2Samples()
        for b in bytes { d.decode([b], appendingTo: &out) }
        #expect(out == reference)
        var r = PPK2Decoder()
        var ragged = PPK2Samples()
        var k = 0
        var size = 1
        while k < bytes.count {
            let end = min(k + size, bytes.count)
            r.decode(Array(bytes[k..<end]), appendingTo: &ragged)
            k = end
            size = size % 11 + 2
        }
        #expect(ragged == reference)
        #expect(r.gaps.isEmpty && r.receivedCount == 97)
    }

    @Test("counter jumps report exactly the missing samples and where, wrap-around included")
    func gaps() {
        var words = ppk2TestWords(count: 400)
        // Remove samples: 3 after index 10, 1 around the wrap 63 → 0, 63 at index 200, and 64
        // (invisible: the counter comes back in step).
        var received: [UInt32] = []
        var expectedGaps: [(Int, Int)] = []  // (received index, missing)
        var k = 0
        var missingSoFar = 0
        let drops: [Int: Int] = [11: 3, 63: 1, 200: 63, 300: 64]
        while k < words.count {
            if let n = drops[k] {
                if n % 64 != 0 { expectedGaps.append((received.count, n)) }
                missingSoFar += n
                k += n
                continue
            }
            received.append(words[k])
            k += 1
        }
        words = received
        var d = PPK2Decoder()
        let bytes = ppk2Bytes(words)
        var out = PPK2Samples()
        // In uneven reads, so gaps fall in the pending word and inside the block.
        var at = 0
        for size in [5, 37, 3, 250, 1, 600, 1000, 7, 10_000] where at < bytes.count {
            let end = min(at + size, bytes.count)
            d.decode(Array(bytes[at..<end]), appendingTo: &out)
            at = end
        }
        #expect(out.count == words.count)
        #expect(d.gaps.map(\.receivedIndex) == expectedGaps.map { UInt64($0.0) })
        #expect(d.gaps.map(\.missing) == expectedGaps.map(\.1))
        #expect(d.missingCount == 67)
        let wrap = d.gaps[1]
        #expect(wrap.expectedCounter == 63 && wrap.counter == 0)
        #expect(d.gaps.map(\.streamIndex) == [14, 64, 263])
        #expect(d.gaps[2].expectedCounter == 8 && d.gaps[2].counter == 7)
        d.reset()
        #expect(d.gaps.isEmpty && d.missingCount == 0 && d.receivedCount == 0)
    }

    @Test("a stream starting at any counter value has no gap; the first sample is the reference")
    func firstSample() {
        var d = PPK2Decoder()
        _ = d.decode(ppk2Bytes(ppk2TestWords(count: 130, firstCounter: 61)))
        #expect(d.gaps.isEmpty)
    }

    @Test("spike filter by hand: after a change to range 4 the averages hold for two samples")
    func spikeFilterByHand() {
        let cal = PPK2Calibration.defaults
        let v = Volts(3)
        let codes: [(UInt16, UInt8)] = [(5000, 2), (9000, 4), (9100, 4), (9200, 4), (9300, 4), (9400, 4)]
        let raw = codes.map { cal.current(adc: $0.0, range: Int($0.1), vdd: v).value }
        var d = PPK2Decoder(vdd: v)
        let out = d.decode(ppk2Bytes(codes.enumerated().map { PPK2Sample(adc: $1.0, range: $1.1, counter: UInt8($0), logic: 0).word }))
        let i0 = raw[0]
        #expect(out.currents[0].value == i0)
        #expect(out.currents[1].value == i0)  // averages restored
        #expect(out.currents[2].value == i0)  // consecutive = 1: restored again
        let avg4 = 0.06 * raw[3] + (1 - 0.06) * i0
        #expect(out.currents[3].value == avg4)  // consecutive = 2: slow average
        #expect(out.currents[4].value == raw[4])  // filter done
        #expect(out.currents[5].value == raw[5])
    }

    @Test("spike filter by hand: a change to a range below 4 outputs the fast average for three samples")
    func spikeFilterLowRange() {
        let cal = PPK2Calibration.defaults
        let v = Volts(3)
        let codes: [(UInt16, UInt8)] = [(3000, 1), (4000, 2), (4100, 2), (4200, 2), (4300, 2)]
        let raw = codes.map { cal.current(adc: $0.0, range: Int($0.1), vdd: v).value }
        var d = PPK2Decoder(vdd: v)
        let out = d.decode(ppk2Bytes(codes.enumerated().map { PPK2Sample(adc: $1.0, range: $1.1, counter: UInt8($0), logic: 0).word }))
        var a = raw[0]
        var expected = [raw[0]]
        for k in 1...3 {
            a = 0.18 * raw[k] + (1 - 0.18) * a
            expected.append(a)
        }
        expected.append(raw[4])
        #expect(out.currents.map(\.value) == expected)
    }

    @Test("the optimised decoder matches a plain transcription of Nordic's filter on a long stream")
    func spikeFilterReference() {
        let words = ppk2TestWords(count: 5000, seed: 99)
        let cal = PPK2Calibration.defaults
        var avg: Double?
        var avg4: Double?
        var prevRange: Int?
        var consecutive = 0
        var afterSpike = 0
        var expected: [Double] = []
        for w in words {
            let s = PPK2Sample(word: w)
            let range = min(Int(s.range), 4)
            var adc = cal.current(adc: s.adc, range: range, vdd: Volts(3)).value
            let prevAvg = avg
            let prevAvg4 = avg4
            avg = avg.map { 0.18 * adc + (1 - 0.18) * $0 } ?? adc
            avg4 = avg4.map { 0.06 * adc + (1 - 0.06) * $0 } ?? adc
            if prevRange == nil { prevRange = range }
            if prevRange != range || afterSpike > 0 {
                if prevRange != range {
                    consecutive = 0
                    afterSpike = 3
                } else {
                    consecutive += 1
                }
                if range == 4 {
                    if consecutive < 2 {
                        avg = prevAvg
                        avg4 = prevAvg4
                    }
                    adc = avg4!
                } else {
                    adc = avg!
                }
                afterSpike -= 1
            }
            prevRange = range
            expected.append(adc)
        }
        var d = PPK2Decoder()
        #expect(d.decode(ppk2Bytes(words)).currents.map(\.value) == expected)
        var plain = PPK2Decoder(spikeFilter: false)
        let unfiltered = plain.decode(ppk2Bytes(words)).currents.map(\.value)
        #expect(unfiltered == words.map { cal.current(adc: PPK2Sample(word: $0).adc, range: Int(PPK2Sample(word: $0).range), vdd: Volts(3)).value })
        #expect(unfiltered != expected)
        // reset() restarts the filter: decoding again gives the same samples.
        d.reset()
        #expect(d.decode(ppk2Bytes(words)).currents.map(\.value) == expected)
    }

    @Test("range values 5…7 count as range 4, as in Nordic's hosts")
    func highRanges() {
        var d = PPK2Decoder(spikeFilter: false)
        let out = d.decode(ppk2Bytes([PPK2Sample(adc: 100, range: 7, counter: 0, logic: 0).word, PPK2Sample(adc: 100, range: 4, counter: 1, logic: 0).word]))
        #expect(out.ranges == [4, 4])
        #expect(out.currents[0] == out.currents[1])
    }

    @Test("the unsafe-buffer entry point writes into the caller's buffers and skips unwanted outputs")
    func callerBuffers() {
        let bytes = ppk2Bytes(ppk2TestWords(count: 50)) + [0x01, 0x02]
        var d = PPK2Decoder()
        var reference = PPK2Decoder()
        let expected = reference.decode(bytes)
        let n = d.sampleCount(forByteCount: bytes.count)
        #expect(n == 50)
        var currents = [Amperes](repeating: .zero, count: n)
        let written = bytes.withUnsafeBytes { raw in currents.withUnsafeMutableBufferPointer { d.decode(raw, currents: $0) } }
        #expect(written == 50)
        #expect(currents == expected.currents)
        #expect(d.remainderCount == 2)
    }

    @Test("changing the calibration or VDD changes the currents")
    func calibrationChanges() {
        var m = PPK2Metadata()
        m.s = [1e-3, 1e-3, 1e-3, 1e-3, 1e-3]
        let bytes = ppk2Bytes([PPK2Sample(adc: 2000, range: 0, counter: 0, logic: 0).word])
        var d = PPK2Decoder(calibration: PPK2Calibration(metadata: m), vdd: Volts(3), spikeFilter: false)
        let a = d.decode(bytes).currents[0].value
        d.vdd = Volts(1.8)
        d.reset()
        let b = d.decode(bytes).currents[0].value
        #expect(abs((a - b) - 1.2e-3) < 1e-12)
    }
}
