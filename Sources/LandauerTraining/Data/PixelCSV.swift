/// The CSV layout of the bundled digits file: one sample per line, `dimension` whole-number pixels
/// in `0...maxPixel`, then the class label in `0..<classes`, separated by commas. Pixels are scaled
/// by `1 / maxPixel` into [0, 1].
struct PixelCSV {
    /// Pixels per line, before the label.
    var dimension: Int
    /// The largest pixel value; pixels are divided by it.
    var maxPixel: Int
    /// The number of classes; labels lie in `0..<classes`.
    var classes: Int

    /// Parses `text` (the whole file, `\n` or `\r\n` line ends, an optional final line end) into a
    /// data set called `name`. Any malformed line is a `.badCSVLine` naming `path` and the line.
    func parse(_ text: [UInt8], path: String, name: String) throws(DataSetError) -> Dataset {
        var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty else { throw .badCSVLine(path: path, line: 1, reason: "the file holds no rows") }

        var features: [Float] = []
        features.reserveCapacity(lines.count * dimension)
        var labels: [Int] = []
        labels.reserveCapacity(lines.count)
        let scale = Float(maxPixel)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            guard fields.count == dimension + 1 else {
                let reason =
                    line.allSatisfy(Self.isBlank)
                    ? "the line is empty"
                    : "expected \(dimension + 1) comma-separated values (\(dimension) pixels, then the label), found \(fields.count)"
                throw .badCSVLine(path: path, line: number, reason: reason)
            }
            for (column, field) in fields.enumerated() {
                let what = column < dimension ? "pixel \(column + 1)" : "the label"
                guard let value = Self.wholeNumber(field) else {
                    throw .badCSVLine(
                        path: path, line: number, reason: "\(what) is \(Self.quoted(field)), not a whole number")
                }
                if column < dimension {
                    guard value <= maxPixel else {
                        throw .badCSVLine(path: path, line: number, reason: "\(what) is \(value), outside 0…\(maxPixel)")
                    }
                    features.append(Float(value) / scale)
                } else {
                    guard value < classes else {
                        throw .badCSVLine(path: path, line: number, reason: "\(what) is \(value), outside 0…\(classes - 1)")
                    }
                    labels.append(value)
                }
            }
        }
        return Dataset(name: name, dimension: dimension, classes: classes, features: features, labels: labels)
    }

    /// A field of ASCII digits, optionally surrounded by blanks, as a number; nil for anything else
    /// (a sign, a decimal point, an empty field, more than nine digits).
    static func wholeNumber(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.firstIndex(where: { !isBlank($0) }),
            let last = field.lastIndex(where: { !isBlank($0) })
        else { return nil }
        let digits = field[first...last]
        guard digits.count <= 9 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// A space, a tab or a carriage return (the `\r` of a `\r\n` line end).
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    /// The field as text for a message, quoted and cut to 24 bytes.
    static func quoted(_ field: ArraySlice<UInt8>) -> String {
        let shown = String(decoding: field.prefix(24), as: UTF8.self)
        return "\"\(shown)\(field.count > 24 ? "…" : "")\""
    }
}
