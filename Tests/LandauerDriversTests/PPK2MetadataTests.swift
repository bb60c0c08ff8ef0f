import Foundation
import LandauerDrivers
import LandauerFirmware
import Testing

@Suite("PPK2Metadata")
struct PPK2MetadataTests {
    func text(_ m: PPK2Metadata) -> String { String(decoding: m.text, as: UTF8.self) }

    @Test("the text has every key in Nordic's order, floats with 20 decimals, and ends with END")
    func layout() {
        let lines = text(PPK2Metadata()).split(separator: "\n", omittingEmptySubsequences: false)
        let keys = lines.map { $0.split(separator: ":").first.map(String.init) ?? "" }
        var expected = ["Calibrated"]
        for k in ["R", "GS", "GI", "O"] { expected += (0..<5).map { "\(k)\($0)" } }
        expected += ["VDD", "HW", "mode"]
        for k in ["S", "I", "UG"] { expected += (0..<5).map { "\(k)\($0)" } }
        expected += ["IA", "END", ""]
        #expect(keys == expected)
        #expect(lines[1] == "R0: 1031.64000000000010004442")
        #expect(lines[6] == "GS0: 1.00000000000000000000")
        #expect(lines[0] == "Calibrated: 0")
        #expect(lines[21] == "VDD: 3000")
    }

    @Test("floats print exactly like C's %.20f", arguments: [
        0.0, -0.0, 1.0, 0.043, 1031.64, 101.65, 1e-7, 2.5e-8, .leastNonzeroMagnitude, 2.2250738585072014e-308, 123_456_789.987654321,
        1e22, 1.7976931348623157e308, 0.5, 0.125, 9.999999999999999999e-21, 0.99999999999999999999, 5e-21, 1.5e-20, 2.5e-20,
        -3.75, -0.000123456789, 18446744073709551615.0, 4503599627370497.5,
    ])
    func fixed20(value: Double) {
        var out: [UInt8] = []
        PPK2Metadata.appendFixed20(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(format: "%.20f", value))
    }

    @Test("floats print exactly like C's %.20f over many magnitudes")
    func fixed20Random() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            let e = Double(Int(rng.next() % 80) - 40)
            let v = (rng.uniform() - 0.5) * pow(10, e)
            var out: [UInt8] = []
            PPK2Metadata.appendFixed20(v, to: &out)
            let expected = String(format: "%.20f", v)
            #expect(String(decoding: out, as: UTF8.self) == expected, "\(v)")
            if String(decoding: out, as: UTF8.self) != expected { return }
        }
    }

    @Test("specials print as glibc does")
    func specials() {
        func f(_ v: Double) -> String { var o: [UInt8] = []; PPK2Metadata.appendFixed20(v, to: &o); return String(decoding: o, as: UTF8.self) }
        #expect(f(-.nan) == "-nan")
        #expect(f(.nan) == "nan")
        #expect(f(.infinity) == "inf")
        #expect(f(-.infinity) == "-inf")
    }

    @Test("parse(format(m)) == m, NaN included", arguments: [
        PPK2Metadata(),
        PPK2Metadata(calibrated: 1, r: [1028.375, 101.2125, 10.1875, 0.9421875, 0.04296875], gs: [0.0123, 1, 2, 3, 4],
                     gi: [1.0125, 0.99, 1, 1, 1], o: [46.25, -41.5, 37.75, 52.125, 60.5], vdd: 1800, hw: 9173, mode: 1,
                     s: [-0.0625, 0, 0.001953125, 0, 0], i: [0.0001220703125, 0, 0, 0, -0.5], ug: [1, 0.5, 2, 1.25, 1], ia: 56),
        PPK2Metadata(r: [-.nan, 101.65, .nan, 0.94, 0.043], gs: [1, -.nan, 1, 1, 1], o: [0, 0, 0, 0, -.nan], ia: -3),
    ])
    func roundTrip(metadata: PPK2Metadata) throws {
        let parsed = try PPK2Metadata(parsing: metadata.text)
        #expect(parsed == metadata)
        #expect(parsed.text == metadata.text)
    }

    @Test("-nan and zero keep their defaults in the calibration; the raw values are kept")
    func nanAndZero() throws {
        var text = text(PPK2Metadata())
        text = text.replacingOccurrences(of: "R2: 10.15000000000000035527", with: "R2: -nan")
        text = text.replacingOccurrences(of: "GI1: 1.00000000000000000000", with: "GI1: 0.00000000000000000000")
        text = text.replacingOccurrences(of: "R3: 0.93999999999999994671", with: "R3: 0.95000000000000000000")
        let m = try PPK2Metadata(parsing: text)
        #expect(m.r[2].isNaN)
        #expect(m.gi[1] == 0)
        let c = PPK2Calibration(metadata: m)
        #expect(c.resistances.map(\.value) == [1031.64, 101.65, 10.15, 0.95, 0.043])
        #expect(c.linearGains == [1, 1, 1, 1, 1])
    }

    @Test("stale bytes before the text, CRLF, missing keys and unreadable values are tolerated")
    func tolerant() throws {
        var bytes: [UInt8] = [0x88, 0x93, 0x14, 0xAA, 0x0A, 0x3A, 0xFF, 0x47]  // stale sample bytes, a newline, ':' and 'G'
        bytes += Array("Calibrated: 1\r\nR1: 99.5\r\nGS0: banana\nVDD: 3300\nS0: 0.25\nIA: 7\nEND\n".utf8)
        let m = try PPK2Metadata(parsing: bytes)
        #expect(m.calibrated == 1)
        #expect(m.r == [1031.64, 99.5, 10.15, 0.94, 0.043])
        #expect(m.gs == [1, 1, 1, 1, 1])
        #expect(m.s == [0.25, 0, 0, 0, 0])
        #expect(m.vdd == 3300)
        #expect(m.ia == 7)
        #expect(m.mode == 2)
    }

    @Test("a reply without END is incomplete, and says how much arrived")
    func incomplete() {
        let bytes = Array("Calibrated: 1\nR0: 1000.0\n".utf8)
        #expect(!PPK2Metadata.isComplete(bytes))
        #expect(PPK2Metadata.isComplete(bytes + Array("END\n".utf8)))
        #expect(!PPK2Metadata.isComplete(Array("VENDOR: x\n".utf8)))
        #expect(throws: PPK2Error.metadataIncomplete(received: bytes.count, tail: bytes)) { try PPK2Metadata(parsing: bytes) }
    }
}
