import Foundation
import LandauerFirmware
import Testing

@testable import LandauerTraining

/// The bundled digits file, found from this source file (the tests read it independently of the
/// module bundle).
private let digitsFile = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Sources/LandauerTraining/Resources/digits.csv.gz")

/// The digits class counts, 0 to 9, as the data set's documentation states them.
private let digitsClassCounts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]

@Suite("Dataset")
struct DatasetTests {
    let small = Dataset(
        name: "small", dimension: 3, classes: 4,
        features: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 0.25],
        labels: [2, 0, 2, 1])

    @Test func shapeAndRows() {
        #expect(small.count == 4)
        #expect(small.indices == 0..<4)
        #expect(Array(small.features(of: 0)) == [0, 0.1, 0.2])
        #expect(Array(small.features(of: 3)) == [0.9, 1, 0.25])
        #expect(small.features(of: 2).startIndex == 6, "a row is a slice of the flat array, not a copy")
    }

    @Test func classCountsIncludeEmptyClasses() {
        #expect(small.classCounts == [1, 1, 2, 0])
    }

    @Test func subsetKeepsOrderRepeatsAndMetadata() {
        let picked = small.subset([3, 0, 3])
        #expect(picked.name == "small")
        #expect(picked.dimension == 3)
        #expect(picked.classes == 4)
        #expect(picked.labels == [1, 2, 1])
        #expect(picked.features == [0.9, 1, 0.25, 0, 0.1, 0.2, 0.9, 1, 0.25])
        #expect(small.subset([]).count == 0)
        #expect(small.subset(Array(small.indices)) == small)
    }

    @Test func xorIsTheTruthTable() {
        let xor = DataSets.xor()
        #expect(xor.count == 4)
        #expect(xor.dimension == 2)
        #expect(xor.classes == 2)
        for i in xor.indices {
            let bits = xor.features(of: i).map { Int($0) }
            #expect(xor.features(of: i).allSatisfy { $0 == 0 || $0 == 1 })
            #expect(xor.labels[i] == bits[0] ^ bits[1], "row \(i): \(bits)")
        }
        #expect(Set(xor.indices.map { Array(xor.features(of: $0)) }).count == 4, "all four inputs, once each")
        #expect(xor.classCounts == [2, 2])
    }
}

@Suite("DataSets.digits")
struct DataSetsDigitsTests {
    @Test func shapeRangeAndClassCounts() throws {
        let digits = try DataSets.digits()
        #expect(digits.name == "digits")
        #expect(digits.count == 1797)
        #expect(digits.count == DataSets.digitsCount)
        #expect(digits.dimension == 64)
        #expect(digits.classes == 10)
        #expect(digits.features.count == 1797 * 64)
        #expect(digits.features.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(digits.features.contains(0) && digits.features.contains(1), "0 and 16 both occur")
        #expect(digits.classCounts == digitsClassCounts)
    }

    @Test func firstAndLastRowsAsInTheFile() throws {
        let digits = try DataSets.digits()
        // Row 1 of the file: 0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,… label 0.
        let first: [Float] = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
        #expect(Array(digits.features(of: 0).prefix(16)) == first.map { $0 / 16 })
        #expect(digits.labels.prefix(3) == [0, 1, 2])
        // The last row: 0,0,10,14,8,1,0,0,… label 8.
        #expect(Array(digits.features(of: 1796).prefix(6)) == [0, 0, 10, 14, 8, 1].map { Float($0) / 16 })
        #expect(digits.labels.last == 8)
    }

    /// Every value, against the file decompressed by zcat and parsed here.
    @Test func everyValueMatchesZcat() throws {
        let text = try run("/bin/zcat", [digitsFile.path])
        let rows = String(decoding: text, as: UTF8.self).split(separator: "\n")
        #expect(rows.count == 1797)
        let digits = try DataSets.digits()
        for (i, row) in rows.enumerated() {
            let values = row.split(separator: ",").compactMap { Int($0) }
            try #require(values.count == 65, "row \(i + 1)")
            #expect(Array(digits.features(of: i)) == values.prefix(64).map { Float($0) / 16 }, "row \(i + 1)")
            #expect(digits.labels[i] == values[64], "row \(i + 1)")
        }
    }

    @Test func readTwiceGivesTheSameSet() throws {
        #expect(try DataSets.digits() == DataSets.digits())
    }
}

@Suite("DataSets.split")
struct DataSetsSplitTests {
    @Test func theFixedDigitsSplit() throws {
        let (train, test) = try DataSets.digitsSplit()
        #expect(train.count == 1438)
        #expect(test.count == 359)
        #expect(train.name == "digits-train")
        #expect(test.name == "digits-test")
        #expect(test.classCounts == [36, 36, 35, 37, 36, 36, 36, 36, 35, 36])
        #expect(zip(train.classCounts, test.classCounts).map(+) == digitsClassCounts)
        let explicit = DataSets.split(try DataSets.digits(), testFraction: 0.2, seed: 0)
        #expect(train == explicit.train && test == explicit.test)
    }

    /// Pins the samples of the project's split, so that it can never change unnoticed.
    @Test func theFixedDigitsSplitIsPinned() throws {
        let chosen = DataSets.splitIndices(try DataSets.digits(), testFraction: 0.2, seed: 0)
        #expect(Array(chosen.test.prefix(8)) == pinnedTestPrefix)
        #expect(chosen.test.reduce(0, +) == pinnedTestSum)
    }

    @Test(arguments: [UInt64(0), 1, 42, 0xDEAD_BEEF])
    func deterministicPerSeed(seed: UInt64) throws {
        let digits = try DataSets.digits()
        let once = DataSets.split(digits, testFraction: 0.2, seed: seed)
        let again = DataSets.split(digits, testFraction: 0.2, seed: seed)
        #expect(once.train == again.train)
        #expect(once.test == again.test)
        #expect(
            DataSets.splitIndices(digits, testFraction: 0.2, seed: seed)
                == DataSets.splitIndices(digits, testFraction: 0.2, seed: seed))
    }

    @Test(arguments: [0.0, 0.1, 0.2, 0.25, 0.5, 0.9, 1.0])
    func disjointCoveringAndStratified(fraction: Double) throws {
        let digits = try DataSets.digits()
        let chosen = DataSets.splitIndices(digits, testFraction: fraction, seed: 3)
        #expect(Set(chosen.train).isDisjoint(with: chosen.test))
        #expect((chosen.train + chosen.test).sorted() == Array(digits.indices))
        #expect(chosen.train == chosen.train.sorted() && chosen.test == chosen.test.sorted())

        let (train, test) = DataSets.split(digits, testFraction: fraction, seed: 3)
        #expect(train == digits.subset(chosen.train, name: "digits-train"))
        #expect(test == digits.subset(chosen.test, name: "digits-test"))
        for c in 0..<10 {
            let share = fraction * Double(digitsClassCounts[c])
            #expect(abs(Double(test.classCounts[c]) - share) <= 0.5, "class \(c): \(test.classCounts[c]) vs \(share)")
            #expect(train.classCounts[c] + test.classCounts[c] == digitsClassCounts[c])
        }
    }

    @Test func differentSeedsGiveDifferentSplits() throws {
        let digits = try DataSets.digits()
        let splits = (0..<5).map { DataSets.splitIndices(digits, testFraction: 0.2, seed: UInt64($0)).test }
        #expect(Set(splits).count == 5)
        // Same sizes per class whatever the seed.
        for seed in 0..<5 {
            let test = DataSets.split(digits, testFraction: 0.2, seed: UInt64(seed)).test
            #expect(test.classCounts == [36, 36, 35, 37, 36, 36, 36, 36, 35, 36])
        }
    }

    @Test func splitOfATinySet() {
        let xor = DataSets.xor()
        let (train, test) = DataSets.split(xor, testFraction: 0.5, seed: 9)
        #expect(train.count == 2 && test.count == 2)
        #expect(train.classCounts == [1, 1] && test.classCounts == [1, 1])
    }

    @Test func shuffleIsAPermutationAndUsesTheGenerator() {
        var generator = SplitMix64(seed: 5)
        var values = Array(0..<100)
        DataSets.shuffle(&values, using: &generator)
        #expect(values.sorted() == Array(0..<100))
        #expect(values != Array(0..<100))
        #expect(generator != SplitMix64(seed: 5))
    }
}

/// The first test indices and the index sum of `digitsSplit(seed: 0)`.
private let pinnedTestPrefix = [0, 8, 18, 20, 22, 24, 29, 32]
private let pinnedTestSum = 341_261

/// Runs `executable` with `arguments` and returns what it wrote to standard output; a non-zero exit
/// status is an error.
func run(_ executable: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProcessFailure(command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus)
    }
    return data
}

/// A helper process that exited with a non-zero status.
struct ProcessFailure: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var description: String { "\(command) exited with status \(status)" }
}
