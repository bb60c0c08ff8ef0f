import Foundation
import LandauerFirmware

/// The data sets Landauer trains on: the bundled 8×8 handwritten digits with the project's fixed
/// train/test split, MNIST read from the user's IDX files, and the XOR truth table.
public enum DataSets {
    // MARK: Digits

    /// The number of rows of the bundled digits set.
    public static let digitsCount = 1797

    /// The share of each class the fixed digits split puts in the test set.
    public static let digitsTestFraction = 0.2

    /// The 8×8 handwritten digits set bundled with the module (UCI, E. Alpaydin and C. Kaynak 1998,
    /// CC BY 4.0; see `Resources/README.md`): 1797 samples of 64 pixels, each 0…16 in the file and
    /// scaled by 1/16 into [0, 1], and 10 classes (the digits 0 to 9, with 178, 182, 177, 183, 181,
    /// 182, 181, 179, 174 and 180 samples), in the file's order. The file is decompressed in memory
    /// with zlib and parsed once per process; a malformed line is a `.badCSVLine` naming it.
    public static func digits() throws(DataSetError) -> Dataset {
        try loadedDigits.get()
    }

    /// The digits set, read on first use.
    private static let loadedDigits = Result { () throws(DataSetError) -> Dataset in try readDigits() }

    /// Reads and parses the bundled `digits.csv.gz`.
    private static func readDigits() throws(DataSetError) -> Dataset {
        guard let url = Bundle.module.url(forResource: "digits.csv", withExtension: "gz") else {
            throw .unreadableFile(
                path: "digits.csv.gz",
                reason: "the resource is missing from the module bundle at \(Bundle.module.bundlePath)")
        }
        let text = try Gzip.decompress(try readFile(url), path: url.path)
        let digits = try PixelCSV(dimension: 64, maxPixel: 16, classes: 10).parse(text, path: url.path, name: "digits")
        guard digits.count == digitsCount else {
            throw .badCSVLine(
                path: url.path, line: digits.count + 1,
                reason: "the file ends after \(digits.count) rows; the digits set has \(digitsCount)")
        }
        return digits
    }

    /// THE fixed train/test split of the digits set that the project uses everywhere:
    /// `split(digits(), testFraction: 0.2, seed: seed)`, with seed 0 unless a study varies it.
    ///
    /// With every seed it puts 36, 36, 35, 37, 36, 36, 36, 36, 35 and 36 samples of the digits 0 to
    /// 9 in the test set: 1438 training samples ("digits-train") and 359 test samples
    /// ("digits-test"), each in the file's order. Which samples they are depends on the seed alone.
    public static func digitsSplit(seed: UInt64 = 0) throws(DataSetError) -> (train: Dataset, test: Dataset) {
        split(try digits(), testFraction: digitsTestFraction, seed: seed)
    }

    // MARK: Splitting

    /// A seeded, stratified split of `data` into a training and a test set: the samples that
    /// `splitIndices(_:testFraction:seed:)` chooses, named `name-train` and `name-test`.
    ///
    /// Every class's test share is within half a sample of `testFraction`; the two sets are
    /// disjoint, together hold every sample once, and keep the original order (shuffle per epoch
    /// when training). The same data and seed always give the same split.
    public static func split(_ data: Dataset, testFraction: Double, seed: UInt64) -> (train: Dataset, test: Dataset) {
        let chosen = splitIndices(data, testFraction: testFraction, seed: seed)
        return (data.subset(chosen.train, name: "\(data.name)-train"), data.subset(chosen.test, name: "\(data.name)-test"))
    }

    /// The sample indices of the seeded, stratified split of `data`, each list ascending.
    ///
    /// Each class's samples are shuffled (Fisher–Yates driven by one `SplitMix64(seed:)`, classes in
    /// order 0, 1, …) and the first `round(testFraction × n_c)` of the class's `n_c` samples go to the
    /// test set, the rest to training. The result depends only on the labels, the fraction and the
    /// seed — on every platform and Swift version.
    public static func splitIndices(
        _ data: Dataset, testFraction: Double, seed: UInt64
    ) -> (train: [Int], test: [Int]) {
        precondition(
            testFraction >= 0 && testFraction <= 1, "split: testFraction \(testFraction) must lie in [0, 1]")
        var members = Array(repeating: [Int](), count: data.classes)
        for i in data.indices { members[data.labels[i]].append(i) }

        var generator = SplitMix64(seed: seed)
        var train: [Int] = []
        var test: [Int] = []
        for var samples in members {
            shuffle(&samples, using: &generator)
            let testCount = Int((testFraction * Double(samples.count)).rounded())
            test += samples[..<testCount]
            train += samples[testCount...]
        }
        return (train.sorted(), test.sorted())
    }

    /// Fisher–Yates with a fixed rule for drawing an index (the high word of `next() × bound`), so the
    /// order depends only on the generator, not on the standard library's shuffling algorithm.
    static func shuffle(_ values: inout [Int], using generator: inout SplitMix64) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let j = Int(UInt64(i + 1).multipliedFullWidth(by: generator.next()).high)
            values.swapAt(i, j)
        }
    }

    // MARK: XOR

    /// The XOR truth table: 4 samples of 2 features, (0, 0), (0, 1), (1, 0), (1, 1) in that order,
    /// labelled a XOR b (0, 1, 1, 0), 2 classes. The smallest problem that needs a hidden layer.
    public static func xor() -> Dataset {
        Dataset(name: "xor", dimension: 2, classes: 2, features: [0, 0, 0, 1, 1, 0, 1, 1], labels: [0, 1, 1, 0])
    }

    // MARK: Files

    /// The whole file at `url`; a missing or unreadable file is an `.unreadableFile`.
    static func readFile(_ url: URL) throws(DataSetError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw .unreadableFile(path: url.path, reason: "no such file")
        }
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw .unreadableFile(path: url.path, reason: "\(error.localizedDescription)")
        }
    }
}
