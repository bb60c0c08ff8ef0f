import LandauerFirmware
import Testing

@Suite("Framing: CRC-32, COBS, frames, stream splitting")
struct FrameTests {
    @Test("CRC-32/ISO-HDLC check value")
    func crcCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test("COBS examples from Cheshire & Baker", arguments: [
        ([0x00], [0x01, 0x01]),
        ([0x00, 0x00], [0x01, 0x01, 0x01]),
        ([0x11, 0x22, 0x00, 0x33], [0x03, 0x11, 0x22, 0x02, 0x33]),
        ([0x11, 0x22, 0x33, 0x44], [0x05, 0x11, 0x22, 0x33, 0x44]),
        ([0x11, 0x00, 0x00, 0x00], [0x02, 0x11, 0x01, 0x01, 0x01]),
    ] as [([UInt8], [UInt8])])
    func cobsExamples(payload: [UInt8], encoded: [UInt8]) throws {
        var out: [UInt8] = []
        payload.withUnsafeBufferPointer { COBS.encode($0, into: &out) }
        #expect(out == encoded)
        var back: [UInt8] = []
        try encoded.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(ProtocolError) in
            try COBS.decode(b, into: &back)
        }
        #expect(back == payload)
    }

    @Test("COBS round-trips long runs across the 254-byte block boundary", arguments: [253, 254, 255, 508, 1000])
    func cobsLongRuns(count: Int) throws {
        var rng = TestRandom(seed: UInt64(count))
        let payload = (0..<count).map { i in i % 97 == 0 ? 0 : UInt8.random(in: 1...255, using: &rng) }
        var enc: [UInt8] = []
        payload.withUnsafeBufferPointer { COBS.encode($0, into: &enc) }
        #expect(!enc.contains(0))
        #expect(enc.count <= COBS.maxEncodedCount(payload.count))
        var dec: [UInt8] = []
        try enc.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(ProtocolError) in try COBS.decode(b, into: &dec) }
        #expect(dec == payload)
    }

    @Test("a frame with the largest body round-trips")
    func largestFrame() throws {
        let body = (0..<Frame.maxBody).map { UInt8(truncatingIfNeeded: $0) }
        let f = Frame(type: 0x02, sequence: 0xBEEF, body: body)
        let wire = f.encoded()
        #expect(wire.count - 1 <= Frame.maxEncoded)
        #expect(try Frame.decode(wire) == f)
    }

    @Test("typed errors say what is wrong")
    func typedErrors() {
        #expect(throws: ProtocolError.emptyFrame) { try Frame.decode([]) }
        #expect(throws: ProtocolError.cobsZeroByte(offset: 1)) { try Frame.decode([0x03, 0x00, 0x01]) }
        #expect(throws: ProtocolError.cobsOverrun(offset: 0)) { try Frame.decode([0x05, 0x01]) }
        #expect(throws: ProtocolError.frameTooShort(size: 3)) { try Frame.decode([0x04, 0x01, 0x02, 0x03]) }
        var f = Frame(type: 0x0A, sequence: 7, body: []).encoded()
        f[3] ^= 0x40  // corrupt the sequence number
        #expect { try Frame.decode(f) } throws: { e in
            if case ProtocolError.checksumMismatch = e { return true }
            return false
        }
        let v2 = Frame(type: 0x0A, sequence: 7, body: [], version: 2)
        #expect(throws: ProtocolError.unsupportedVersion(2)) { try Request.decode(try Frame.decode(v2.encoded())) }
        #expect(throws: ProtocolError.unknownType(0x3F)) { try Request.decode(Frame(type: 0x3F, sequence: 1, body: [])) }
    }

    @Test("the splitter finds frames in arbitrary pieces and bounds runs without delimiters")
    func splitter() throws {
        let a = Request.ping([1, 2, 3]).frame(sequence: 1).encoded()
        let b = Request.counters.frame(sequence: 2).encoded()
        let stream = [0, 0] + a + [0] + b
        for cut in 0...stream.count {
            var s = FrameSplitter()
            var got: [FrameSplitter.Piece] = []
            s.feed(Array(stream[..<cut])) { got.append($0) }
            s.feed(Array(stream[cut...])) { got.append($0) }
            #expect(got == [.frame(Array(a.dropLast())), .frame(Array(b.dropLast()))])
        }
        var s = FrameSplitter(limit: 16)
        var got: [FrameSplitter.Piece] = []
        s.feed([UInt8](repeating: 0x55, count: 40)) { got.append($0) }
        #expect(s.bufferedCount == 0)
        s.feed([0x55, 0x55, 0] + b) { got.append($0) }
        #expect(got == [.overflow(discarded: 42), .frame(Array(b.dropLast()))])
    }
}

/// The seeded generator of these tests.
typealias TestRandom = SplitMix64

@Suite("CRC-32 slicing")
struct CRC32SlicingTests {
    /// The bit-serial definition, as the reference the table-driven code must equal.
    static func bitwise(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    @Test("slicing-by-4 equals the bit-serial CRC for every length and split")
    func matchesBitwise() {
        var rng = TestRandom(seed: 77)
        for n in 0..<70 {
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(CRC32.checksum(bytes) == Self.bitwise(bytes))
            for cut in 0...n {
                var c = CRC32()
                c.update(Array(bytes[..<cut]))
                c.update(Array(bytes[cut...]))
                #expect(c.value == Self.bitwise(bytes))
            }
        }
    }
}
