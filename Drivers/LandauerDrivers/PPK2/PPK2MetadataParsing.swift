import LandauerFirmware

extension PPK2Metadata {
    /// Reads the metadata text a PPK2 sends in reply to `GetMetadata`.
    ///
    /// Tolerant, like Nordic's own hosts: bytes before the first key (stale samples still in
    /// flight) are skipped, and line ends may be `\n` or `\r\n`. A missing key or a value that does
    /// not parse keeps its default; `nan` / `-nan` is kept as NaN and a zero as zero (the raw
    /// values), and `PPK2Calibration(metadata:)` replaces both with the defaults.
    /// - Throws: `.metadataIncomplete` when there is no `END` line.
    public init(parsing bytes: [UInt8]) throws(PPK2Error) {
        guard let end = PPK2Metadata.endLineIndex(in: bytes) else {
            throw .metadataIncomplete(received: bytes.count, tail: Array(bytes.suffix(64)))
        }
        self.init()
        var lineStart = 0
        var k = 0
        while k <= end {
            if k == end || bytes[k] == 0x0A {
                if k > lineStart { apply(line: bytes[lineStart..<k]) }
                lineStart = k + 1
            }
            k += 1
        }
    }

    /// Reads the metadata text from a string (see `init(parsing:)` for bytes).
    public init(parsing text: String) throws(PPK2Error) {
        try self.init(parsing: Array(text.utf8))
    }

    /// True once `bytes` hold the whole reply (the `END` line has arrived): a client reads until then.
    public static func isComplete(_ bytes: [UInt8]) -> Bool { endLineIndex(in: bytes) != nil }

    /// The index of the `E` of the `END` line, which starts the buffer or follows a line end.
    static func endLineIndex(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 3 else { return nil }
        for k in 0...(bytes.count - 3) where bytes[k] == 0x45 && bytes[k + 1] == 0x4E && bytes[k + 2] == 0x44 {
            let atLineStart = k == 0 || bytes[k - 1] == 0x0A
            let atLineEnd = k + 3 == bytes.count || bytes[k + 3] == 0x0A || bytes[k + 3] == 0x0D
            if atLineStart && atLineEnd { return k }
        }
        return nil
    }

    /// The keys in wire order, for matching the end of a line's key part.
    private static let keys: [String] = {
        var keys = ["Calibrated"]
        for name in ["R", "GS", "GI", "O"] { keys += (0..<5).map { "\(name)\($0)" } }
        keys += ["VDD", "HW", "mode"]
        for name in ["S", "I", "UG"] { keys += (0..<5).map { "\(name)\($0)" } }
        keys.append("IA")
        return keys
    }()

    /// Applies one `key: value` line; unknown keys and unreadable values change nothing.
    private mutating func apply(line: ArraySlice<UInt8>) {
        guard let colon = line.lastIndex(of: 0x3A) else { return }  // the key's colon: values have none
        let keyBytes = line[line.startIndex..<colon]
        // The longest known key that ends the key part (so stale bytes before it are ignored, and
        // "GS0" is not taken for "S0").
        var key: String?
        for candidate in PPK2Metadata.keys where keyBytes.count >= candidate.utf8.count {
            if keyBytes.suffix(candidate.utf8.count).elementsEqual(candidate.utf8), candidate.utf8.count > (key?.utf8.count ?? 0) {
                key = candidate
            }
        }
        guard let key else { return }
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
            .trimmingWhitespace()
        switch key {
        case "Calibrated": if let v = Self.integer(value) { calibrated = v }
        case "VDD": if let v = Self.integer(value) { vdd = v }
        case "HW": if let v = Self.integer(value) { hw = v }
        case "mode": if let v = Self.integer(value) { mode = v }
        case "IA": if let v = Self.integer(value) { ia = v }
        default:
            guard let v = Self.float(value), let digit = key.last?.wholeNumberValue else { return }
            switch key.dropLast() {
            case "R": r[digit] = v
            case "GS": gs[digit] = v
            case "GI": gi[digit] = v
            case "O": o[digit] = v
            case "S": s[digit] = v
            case "I": i[digit] = v
            case "UG": ug[digit] = v
            default: break
            }
        }
    }

    /// A float as printed by C (`%.20f`, `nan`, `-nan`, `inf`), or nil.
    private static func float(_ text: Substring) -> Double? {
        switch text.lowercased() {
        case "nan", "+nan": return .nan
        case "-nan": return -Double.nan
        default: return Double(text)
        }
    }

    /// An integer, or a float with an integral value, or nil.
    private static func integer(_ text: Substring) -> Int? {
        if let v = Int(text) { return v }
        if let d = Double(text), d.isFinite, d.rounded() == d, abs(d) < 9e18 { return Int(d) }
        return nil
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and carriage returns.
    fileprivate func trimmingWhitespace() -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return self[first...last]
    }
}
