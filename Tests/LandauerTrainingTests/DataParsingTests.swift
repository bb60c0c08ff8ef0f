import Foundation
import LandauerFirmware
import Testing

@testable import LandauerTraining

@Suite("PixelCSV")
struct DataPixelCSVTests {
    /// A 2-pixel, 3-class layout with pixels 0…4.
    let layout = PixelCSV(dimension: 2, maxPixel: 4, classes: 3)

    func parse(_ text: String) throws(DataSetError) -> Dataset {
        try layout.parse(Array(text.utf8), path: "tiny.csv", name: "tiny")
    }

    @Test func parsesAndScales() throws {
        let set = try parse("0,4,2\n1, 3 ,0\r\n2,2,1\n")
        #expect(set.count == 3)
        #expect(set.features == [0, 1, 0.25, 0.75, 0.5, 0.5])
        #expect(set.labels == [2, 0, 1])
        #expect(try parse("0,4,2") == parse("0,4,2\n"), "the final line end is optional")
    }

    @Test(arguments: [
        ("0,4,2\n1,3\n", 2, "expected 3 comma-separated values (2 pixels, then the label), found 2"),
        ("0,4,2\n\n1,3,0\n", 2, "the line is empty"),
        ("0,4,2\n1,3,0\n2,x,1\n", 3, "pixel 2 is \"x\", not a whole number"),
        ("1.5,4,2\n", 1, "pixel 1 is \"1.5\", not a whole number"),
        ("-1,4,2\n", 1, "pixel 1 is \"-1\", not a whole number"),
        ("0,,2\n", 1, "pixel 2 is \"\", not a whole number"),
        ("0,5,2\n", 1, "pixel 2 is 5, outside 0…4"),
        ("0,4,2\n0,4,3\n", 2, "the label is 3, outside 0…2"),
        ("0,4,1,\n", 1, "expected 3 comma-separated values (2 pixels, then the label), found 4"),
        ("", 1, "the file holds no rows"),
    ])
    func aMalformedLineIsNamed(text: String, line: Int, reason: String) {
        let error = #expect(throws: DataSetError.self) { try parse(text) }
        #expect(error == .badCSVLine(path: "tiny.csv", line: line, reason: reason))
        #expect(error?.description == "tiny.csv, line \(line): \(reason)")
    }

    @Test func longFieldsAreCutInMessages() {
        let error = #expect(throws: DataSetError.self) { try parse(String(repeating: "7", count: 40) + ",0,0\n") }
        #expect(error?.reason == "pixel 1 is \"\(String(repeating: "7", count: 24))…\", not a whole number")
    }
}

@Suite("Gzip")
struct DataGzipTests {
    /// `bytes` gzipped by /bin/gzip.
    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("blob")
            try Data(bytes).write(to: url)
            return [UInt8](try run("/bin/gzip", ["-n", "-c", url.path]))
        }
    }

    @Test(arguments: [0, 1, 1000, 300_000, 1_000_003])
    func roundTripsThroughGzip(size: Int) throws {
        var generator = SplitMix64(seed: UInt64(size))
        // Half random, half slow ramps, so the data neither compresses to nothing nor stays incompressible.
        let bytes = (0..<size).map { $0 % 2 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : UInt8($0 / 1000 % 256) }
        #expect(try Gzip.decompress(try gzip(bytes), path: "blob.gz") == bytes)
    }

    @Test func concatenatedMembersAreReadInTurn() throws {
        let first = Array("first member\n".utf8)
        let second = Array("second member\n".utf8)
        #expect(try Gzip.decompress(try gzip(first) + gzip(second), path: "two.gz") == first + second)
    }

    @Test func emptyCorruptAndTruncatedInputsAreBadGzip() throws {
        let whole = try gzip(Array(repeating: 42, count: 5000) + Array(0...255))
        let cases: [(input: [UInt8], phrase: String)] = [
            ([], "the file is empty"),
            (Array("plain text, not gzip".utf8), "a gzip file starts with the bytes 1f 8b"),
            (Array(whole.dropLast(4)), "truncated"),
            (Array(whole.prefix(whole.count / 2)), "truncated"),
            (whole + Array("junk".utf8), "in member 2"),
        ]
        for (input, phrase) in cases {
            let error = #expect(throws: DataSetError.self) { try Gzip.decompress(input, path: "x.gz") }
            #expect(error?.path == "x.gz")
            #expect(error?.reason.contains(phrase) == true, "\(String(describing: error)) should say \(phrase)")
            if case .badGzip = error {} else { Issue.record("expected badGzip, got \(String(describing: error))") }
        }
        var corrupt = whole
        corrupt[12] ^= 0xFF
        corrupt[20] ^= 0xFF
        #expect(throws: DataSetError.self) { try Gzip.decompress(corrupt, path: "x.gz") }
    }
}

@Suite("DataSetError")
struct DataSetErrorTests {
    @Test func messagesNameTheFileAndTheFault() {
        #expect(
            DataSetError.unreadableFile(path: "/d/a", reason: "no such file").description == "cannot read /d/a: no such file")
        #expect(DataSetError.badGzip(path: "a.gz", reason: "truncated").description == "a.gz is not valid gzip data: truncated")
        #expect(DataSetError.badIDX(path: "i", reason: "r").description == "i is not a valid IDX file: r")
        #expect(DataSetError.badCSVLine(path: "c", line: 7, reason: "r").path == "c")
    }
}
