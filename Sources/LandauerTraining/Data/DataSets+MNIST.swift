import Foundation

extension DataSets {
    /// MNIST (or a data set in the same format, such as Fashion-MNIST) from the four standard IDX
    /// files in `directory`: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each either plain or gzipped with a
    /// `.gz` suffix (the plain file is read when both exist).
    ///
    /// Pixels are scaled by 1/255 into [0, 1] and rows × columns become the dimension (784 for
    /// MNIST); there are 10 classes. Every file is checked — its magic number (0x00000803 for
    /// images, 0x00000801 for labels), its dimensions, that its length is exactly what its header
    /// announces, that labels lie in 0…9, that each labels file counts as many items as its images
    /// file and that the test images have the training images' size — and any fault is a typed
    /// error naming the file: `.unreadableFile`, `.badGzip` or `.badIDX`.
    public static func mnist(directory: URL) throws(DataSetError) -> (train: Dataset, test: Dataset) {
        let train = try readIDXPair(
            images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte", in: directory, name: "mnist-train")
        let test = try readIDXPair(
            images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte", in: directory, name: "mnist-test")
        guard test.images.rows == train.images.rows && test.images.columns == train.images.columns else {
            throw .badIDX(
                path: test.images.path,
                reason: "its images are \(test.images.rows)×\(test.images.columns) pixels, but the training images in "
                    + "\(train.images.path) are \(train.images.rows)×\(train.images.columns)")
        }
        return (train.dataset, test.dataset)
    }

    /// Reads an images file and its labels file and joins them into a data set.
    private static func readIDXPair(
        images imagesName: String, labels labelsName: String, in directory: URL, name: String
    ) throws(DataSetError) -> (images: IDXImages, dataset: Dataset) {
        let images = try IDXImages(try IDXFile(imagesName, in: directory))
        let labels = try IDXLabels(try IDXFile(labelsName, in: directory), classes: 10)
        guard labels.labels.count == images.count else {
            throw .badIDX(
                path: labels.path,
                reason: "it holds \(labels.labels.count) labels, but \(images.path) holds \(images.count) images")
        }
        let dataset = Dataset(
            name: name, dimension: images.rows * images.columns, classes: 10, features: images.features,
            labels: labels.labels)
        return (images, dataset)
    }
}

/// One IDX file's bytes, decompressed when it was gzipped, and the path it was read from.
struct IDXFile {
    /// The path read, with `.gz` when the gzipped file was used.
    var path: String
    /// The uncompressed IDX bytes.
    var bytes: [UInt8]

    /// Reads `name` in `directory`, or else `name.gz`, decompressing the latter.
    init(_ name: String, in directory: URL) throws(DataSetError) {
        let plain = directory.appendingPathComponent(name)
        let gzipped = directory.appendingPathComponent(name + ".gz")
        if FileManager.default.fileExists(atPath: plain.path) {
            path = plain.path
            bytes = try DataSets.readFile(plain)
        } else if FileManager.default.fileExists(atPath: gzipped.path) {
            path = gzipped.path
            bytes = try Gzip.decompress(try DataSets.readFile(gzipped), path: gzipped.path)
        } else {
            throw .unreadableFile(
                path: plain.path, reason: "neither \(name) nor \(name).gz exists in \(directory.path)")
        }
    }

    /// The big-endian 32-bit word at byte `offset` (the caller has checked the length).
    func word(at offset: Int) -> Int {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }

    /// Checks the magic number and that the header of `dimensions` sizes is complete; returns the sizes.
    /// `kind` names what the file should hold, for messages.
    func header(magic: Int, dimensions: Int, kind: String) throws(DataSetError) -> [Int] {
        let headerLength = 4 + 4 * dimensions
        guard bytes.count >= 4 else {
            throw .badIDX(path: path, reason: "truncated: \(bytes.count) bytes, too short for the 4-byte magic number")
        }
        let found = word(at: 0)
        guard found == magic else {
            let hint = bytes[0] == 0x1F && bytes[1] == 0x8B ? " (the file is gzipped: add a .gz suffix to its name)" : ""
            throw .badIDX(
                path: path,
                reason: "magic number \(Self.hex(found)), expected \(Self.hex(magic)) for \(kind)\(hint)")
        }
        guard bytes.count >= headerLength else {
            throw .badIDX(
                path: path,
                reason: "truncated: \(bytes.count) bytes, shorter than the \(headerLength)-byte header of \(kind)")
        }
        return (0..<dimensions).map { word(at: 4 + 4 * $0) }
    }

    /// Checks that exactly `expected` bytes follow a header of `headerLength` bytes.
    func checkPayload(after headerLength: Int, expected: Int, announced: String) throws(DataSetError) {
        let present = bytes.count - headerLength
        if present < expected {
            throw .badIDX(
                path: path,
                reason: "truncated: the header announces \(announced) (\(expected) bytes), but only \(present) bytes follow")
        }
        if present > expected {
            throw .badIDX(
                path: path,
                reason: "the header announces \(announced) (\(expected) bytes), but \(present) bytes follow "
                    + "(\(present - expected) too many)")
        }
    }

    /// `value` as eight hex digits, 0x00000803.
    static func hex(_ value: Int) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// An IDX images file: magic 0x00000803 (unsigned bytes, 3 dimensions), then the count, rows and
/// columns as big-endian 32-bit words, then count × rows × columns pixel bytes.
struct IDXImages {
    /// The path the images were read from.
    var path: String
    /// The number of images.
    var count: Int
    /// Pixel rows per image.
    var rows: Int
    /// Pixel columns per image.
    var columns: Int
    /// All pixels, image after image, row-major, scaled by 1/255 into [0, 1].
    var features: [Float]

    /// Validates and decodes `file`.
    init(_ file: IDXFile) throws(DataSetError) {
        let sizes = try file.header(magic: 0x0000_0803, dimensions: 3, kind: "images (unsigned bytes, 3 dimensions)")
        path = file.path
        count = sizes[0]
        rows = sizes[1]
        columns = sizes[2]
        guard rows > 0 && columns > 0 else {
            throw .badIDX(path: path, reason: "the header announces images of \(rows)×\(columns) pixels")
        }
        let area = rows.multipliedReportingOverflow(by: columns)
        let pixels = count.multipliedReportingOverflow(by: area.partialValue)
        guard !area.overflow && !pixels.overflow else {
            throw .badIDX(path: path, reason: "the header announces \(count) images of \(rows)×\(columns) pixels, too many")
        }
        try file.checkPayload(after: 16, expected: pixels.partialValue, announced: "\(count) images of \(rows)×\(columns) pixels")
        let scaled = (0...255).map { Float($0) / 255 }
        features = file.bytes[16...].map { scaled[Int($0)] }
    }
}

/// An IDX labels file: magic 0x00000801 (unsigned bytes, 1 dimension), then the count as a
/// big-endian 32-bit word, then one label byte per item.
struct IDXLabels {
    /// The path the labels were read from.
    var path: String
    /// The labels, each in `0..<classes`.
    var labels: [Int]

    /// Validates and decodes `file`, whose labels must lie in `0..<classes`.
    init(_ file: IDXFile, classes: Int) throws(DataSetError) {
        path = file.path
        let count = try file.header(magic: 0x0000_0801, dimensions: 1, kind: "labels (unsigned bytes, 1 dimension)")[0]
        try file.checkPayload(after: 8, expected: count, announced: "\(count) labels")
        labels = file.bytes[8...].map { Int($0) }
        if let bad = labels.firstIndex(where: { $0 >= classes }) {
            throw .badIDX(path: path, reason: "label \(bad + 1) is \(labels[bad]), outside 0…\(classes - 1)")
        }
    }
}
