import Foundation
import Testing

@testable import LandauerTraining

/// Four tiny IDX files in the MNIST layout, built byte by byte.
struct TinyMNIST {
    var trainImages: [UInt8]
    var trainLabels: [UInt8]
    var testImages: [UInt8]
    var testLabels: [UInt8]

    /// 5 training and 3 test images of 3×2 pixels.
    static let standard = TinyMNIST(
        trainImages: images(count: 5, rows: 3, columns: 2), trainLabels: labels([5, 0, 4, 1, 9]),
        testImages: images(count: 3, rows: 3, columns: 2, start: 200), testLabels: labels([7, 2, 1]))

    /// The file names and their contents.
    var files: [(name: String, bytes: [UInt8])] {
        [
            ("train-images-idx3-ubyte", trainImages), ("train-labels-idx1-ubyte", trainLabels),
            ("t10k-images-idx3-ubyte", testImages), ("t10k-labels-idx1-ubyte", testLabels),
        ]
    }

    /// A big-endian 32-bit word.
    static func word(_ value: UInt32) -> [UInt8] {
        [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    /// An images file whose pixel k (over the whole file) is (start + 37·k) mod 256, so 0 and 255 occur.
    static func images(count: Int, rows: Int, columns: Int, start: Int = 0, magic: UInt32 = 0x0000_0803) -> [UInt8] {
        var bytes = word(magic) + word(UInt32(count)) + word(UInt32(rows)) + word(UInt32(columns))
        bytes += (0..<(count * rows * columns)).map { UInt8((start + 37 * $0) % 256) }
        return bytes
    }

    /// Pixel `k` of an images file made with `start`, scaled by 1/255.
    static func pixel(_ k: Int, start: Int = 0) -> Float {
        Float((start + 37 * k) % 256) / 255
    }

    /// A labels file.
    static func labels(_ values: [UInt8], magic: UInt32 = 0x0000_0801) -> [UInt8] {
        word(magic) + word(UInt32(values.count)) + values
    }

    /// Writes the files into `directory`, gzipped by /bin/gzip (as `NAME.gz`) when asked.
    func write(to directory: URL, gzipped: Bool) throws {
        for (name, bytes) in files {
            let url = directory.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            if gzipped { _ = try run("/bin/gzip", ["-n", "-f", url.path]) }
        }
    }
}

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("landauer-data-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// One way to spoil the tiny MNIST files, the file whose error it must be, and a phrase of the reason.
enum Corruption: String, CaseIterable, Sendable {
    case imagesMagic, labelsMagic, labelsFileGivenForImages, truncatedPixels, truncatedHeader, extraBytes
    case mismatchedCounts, labelOutOfRange, zeroColumns, testImageSize

    func apply(to files: inout TinyMNIST) {
        switch self {
        case .imagesMagic: files.trainImages[3] = 0x02
        case .labelsMagic: files.testLabels[3] = 0x03
        case .labelsFileGivenForImages: files.testImages = files.testLabels
        case .truncatedPixels: files.trainImages.removeLast()
        case .truncatedHeader: files.testImages = Array(files.testImages.prefix(10))
        case .extraBytes: files.trainLabels.append(3)
        case .mismatchedCounts: files.trainLabels = TinyMNIST.labels([1, 2, 3, 4])
        case .labelOutOfRange: files.testLabels[9] = 10
        case .zeroColumns: files.trainImages = TinyMNIST.images(count: 5, rows: 3, columns: 0)
        case .testImageSize: files.testImages = TinyMNIST.images(count: 3, rows: 2, columns: 3)
        }
    }

    /// The file the error must name.
    var file: String {
        switch self {
        case .imagesMagic, .truncatedPixels, .zeroColumns: "train-images-idx3-ubyte"
        case .extraBytes, .mismatchedCounts: "train-labels-idx1-ubyte"
        case .labelsFileGivenForImages, .truncatedHeader, .testImageSize: "t10k-images-idx3-ubyte"
        case .labelsMagic, .labelOutOfRange: "t10k-labels-idx1-ubyte"
        }
    }

    /// A phrase the reason must contain.
    var phrase: String {
        switch self {
        case .imagesMagic: "magic number 0x00000802, expected 0x00000803"
        case .labelsMagic: "magic number 0x00000803, expected 0x00000801"
        case .labelsFileGivenForImages: "magic number 0x00000801, expected 0x00000803"
        case .truncatedPixels: "truncated: the header announces 5 images of 3×2 pixels (30 bytes), but only 29"
        case .truncatedHeader: "truncated: 10 bytes, shorter than the 16-byte header"
        case .extraBytes: "(1 too many)"
        case .mismatchedCounts: "it holds 4 labels, but"
        case .labelOutOfRange: "label 2 is 10, outside 0…9"
        case .zeroColumns: "images of 3×0 pixels"
        case .testImageSize: "its images are 2×3 pixels, but the training images"
        }
    }
}

@Suite("DataSets.mnist")
struct DataSetsMNISTTests {
    @Test(arguments: [false, true])
    func readsTheFourFiles(gzipped: Bool) throws {
        let (train, test) = try withTemporaryDirectory { directory in
            try TinyMNIST.standard.write(to: directory, gzipped: gzipped)
            return try DataSets.mnist(directory: directory)
        }
        #expect(train.name == "mnist-train" && test.name == "mnist-test")
        #expect(train.count == 5 && test.count == 3)
        #expect(train.dimension == 6 && test.dimension == 6)
        #expect(train.classes == 10 && test.classes == 10)
        #expect(train.labels == [5, 0, 4, 1, 9])
        #expect(test.labels == [7, 2, 1])
        let trainPixels: [Float] = (0..<30).map { TinyMNIST.pixel($0) }
        let lastTestPixels: [Float] = (12..<18).map { TinyMNIST.pixel($0, start: 200) }
        #expect(train.features == trainPixels)
        #expect(Array(test.features(of: 2)) == lastTestPixels)
        #expect(train.features.contains(0) && train.features.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test func gzippedAndPlainGiveTheSameSetsAndMayBeMixed() throws {
        let plain = try withTemporaryDirectory { directory in
            try TinyMNIST.standard.write(to: directory, gzipped: false)
            return try DataSets.mnist(directory: directory)
        }
        let mixed = try withTemporaryDirectory { directory in
            try TinyMNIST.standard.write(to: directory, gzipped: false)
            _ = try run("/bin/gzip", ["-n", directory.appendingPathComponent("train-images-idx3-ubyte").path])
            _ = try run("/bin/gzip", ["-n", directory.appendingPathComponent("t10k-labels-idx1-ubyte").path])
            return try DataSets.mnist(directory: directory)
        }
        #expect(plain.train == mixed.train && plain.test == mixed.test)
    }

    @Test func thePlainFileWinsOverAGzippedOne() throws {
        let sets = try withTemporaryDirectory { directory in
            try TinyMNIST.standard.write(to: directory, gzipped: false)
            try Data("not gzip".utf8).write(to: directory.appendingPathComponent("train-images-idx3-ubyte.gz"))
            return try DataSets.mnist(directory: directory)
        }
        #expect(sets.train.count == 5)
    }

    @Test func aMissingFileIsNamed() throws {
        let error = try withTemporaryDirectory { directory in
            try TinyMNIST.standard.write(to: directory, gzipped: true)
            try FileManager.default.removeItem(at: directory.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
            return #expect(throws: DataSetError.self) { try DataSets.mnist(directory: directory) }
        }
        guard case .unreadableFile(let path, let reason) = error else {
            Issue.record("expected unreadableFile, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("/t10k-labels-idx1-ubyte"))
        #expect(reason.contains("neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz exists"))
    }

    @Test(arguments: Corruption.allCases, [false, true])
    func aCorruptFileIsATypedErrorNamingIt(corruption: Corruption, gzipped: Bool) throws {
        var files = TinyMNIST.standard
        corruption.apply(to: &files)
        let error = try withTemporaryDirectory { directory in
            try files.write(to: directory, gzipped: gzipped)
            return #expect(throws: DataSetError.self) { try DataSets.mnist(directory: directory) }
        }
        guard case .badIDX(let path, let reason) = error else {
            Issue.record("expected badIDX, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("/" + corruption.file + (gzipped ? ".gz" : "")), "\(path)")
        #expect(reason.contains(corruption.phrase), "\(reason)")
        #expect(error?.description.hasPrefix(path + " is not a valid IDX file: ") == true)
    }

    @Test func aGzippedFileWithoutItsSuffixGetsAHint() throws {
        let error = try withTemporaryDirectory { directory in
            try TinyMNIST.standard.write(to: directory, gzipped: false)
            let images = directory.appendingPathComponent("train-images-idx3-ubyte")
            _ = try run("/bin/gzip", ["-n", images.path])
            try FileManager.default.moveItem(at: directory.appendingPathComponent("train-images-idx3-ubyte.gz"), to: images)
            return #expect(throws: DataSetError.self) { try DataSets.mnist(directory: directory) }
        }
        #expect(error?.path.hasSuffix("/train-images-idx3-ubyte") == true)
        #expect(error?.reason.contains("add a .gz suffix") == true, "\(String(describing: error))")
    }

    @Test func aTruncatedGzipFileIsABadGzipNamingIt() throws {
        let error = try withTemporaryDirectory { directory in
            try TinyMNIST.standard.write(to: directory, gzipped: true)
            let url = directory.appendingPathComponent("t10k-images-idx3-ubyte.gz")
            let whole = try Data(contentsOf: url)
            try whole.prefix(whole.count - 12).write(to: url)
            return #expect(throws: DataSetError.self) { try DataSets.mnist(directory: directory) }
        }
        guard case .badGzip(let path, let reason) = error else {
            Issue.record("expected badGzip, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("/t10k-images-idx3-ubyte.gz"))
        #expect(reason.contains("truncated"), "\(reason)")
    }
}
