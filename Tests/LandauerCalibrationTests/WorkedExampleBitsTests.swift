import Foundation
import Testing
import LandauerCalibration
import LandauerFirmware

/// The worked example of the bits-and-bounds section of the energy-accounting document, read from
/// the page and recomputed with the library.
///
/// The page holds four machine-read tables, each after a `<!-- table: NAME -->` line, with the key
/// of a row in a code span in its second cell and its values in code spans after it. Given values
/// must equal the inputs below exactly, counts must be the exact integers, and every other figure
/// must be the library's result rounded to the 4 significant digits printed. Every number in the
/// example's prose must also appear in one of its tables, so the prose cannot drift either.
@Suite("Worked example: bits and bounds (docs/energy-accounting-bits.md)")
struct WorkedExampleBitsTests {
    // MARK: The inputs, which the page must state as given

    static let layers = [64, 32, 10]
    static let classCounts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    static let trainingSamples = 1797
    static let epochs = 3
    static let stepsPerSample = 24
    static let neurons = 42
    static let activatedPerCycle = 6.3
    static let activatedPerCycleUncertainty = 0.2
    static let levelsPerUpdate = 3
    static let devicesChanged = 2410
    static let conductanceStates = 32
    static let crossEntropy = 0.12
    static let crossEntropyUncertainty = 0.005
    static let readoutSamples = 1797
    static let classes = 10
    static let energy = Joules(120e-6)
    static let energyUncertainty = Joules(2e-6)
    static let temperature = Kelvin(300)

    // MARK: What follows from them

    static let weights = zip(layers, layers.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 }
    static let biases = layers.dropFirst().reduce(0, +)
    static let parameters = weights + biases
    static let samplesSeen = epochs * trainingSamples
    static let cycles = stepsPerSample * samplesSeen
    static let updates = parameters * samplesSeen

    static let erased = BitCount.erasedByNeuronResets(
        neurons: neurons, activatedPerCycle: activatedPerCycle, cycles: cycles,
        activatedPerCycleUncertainty: activatedPerCycleUncertainty)
    static let writtenUpdates = BitCount.writtenByUpdates(updates, levelsPerUpdate: levelsPerUpdate)
    static let writtenDevices = BitCount.writtenToDevices(devicesChanged, conductanceStates: conductanceStates)
    static let learned = BitCount.learned(
        classCounts: classCounts, meanCrossEntropyNats: crossEntropy, crossEntropyStandardError: crossEntropyUncertainty)
    static let readout = BitCount.readout(samples: readoutSamples, classes: classes)

    // MARK: Tests

    @Test func givenValuesAreTheInputs() throws {
        let table = try Page.load().table("bits-example-given")
        #expect(Set(table.keys) == [
            "layers", "trainingSamples", "classCounts", "epochs", "stepsPerSample", "neurons", "activatedPerCycle",
            "activatedPerCycle.u", "levelsPerUpdate", "devicesChanged", "conductanceStates", "crossEntropy",
            "crossEntropy.u", "readoutSamples", "classes", "energy", "energy.u", "temperature",
        ])
        #expect(table.list("layers") == Self.layers)
        #expect(table.list("classCounts") == Self.classCounts)
        #expect(Self.classCounts.reduce(0, +) == Self.trainingSamples)
        let exact: [(String, Double, String)] = [
            ("trainingSamples", Double(Self.trainingSamples), ""), ("epochs", Double(Self.epochs), ""),
            ("stepsPerSample", Double(Self.stepsPerSample), ""), ("neurons", Double(Self.neurons), ""),
            ("activatedPerCycle", Self.activatedPerCycle, ""), ("activatedPerCycle.u", Self.activatedPerCycleUncertainty, ""),
            ("levelsPerUpdate", Double(Self.levelsPerUpdate), ""), ("devicesChanged", Double(Self.devicesChanged), ""),
            ("conductanceStates", Double(Self.conductanceStates), ""), ("crossEntropy", Self.crossEntropy, "nats"),
            ("crossEntropy.u", Self.crossEntropyUncertainty, "nats"), ("readoutSamples", Double(Self.readoutSamples), ""),
            ("classes", Double(Self.classes), ""), ("energy", Self.energy.value, "J"),
            ("energy.u", Self.energyUncertainty.value, "J"), ("temperature", Self.temperature.value, "K"),
        ]
        for (key, value, unit) in exact {
            let printed = try #require(table.value(key), "no row `\(key)`")
            let number = try #require(Printed(printed, unit: unit), "`\(key)`: cannot read `\(printed)` in \(unit)")
            #expect(abs(number.value - value) <= 1e-12 * abs(value), "`\(key)` is `\(printed)`, the input is \(value)")
        }
    }

    @Test func countsAreExact() throws {
        let table = try Page.load().table("bits-example-counts")
        let expected = [
            "weights": Self.weights, "biases": Self.biases, "parameters": Self.parameters,
            "samplesSeen": Self.samplesSeen, "cycles": Self.cycles, "updates": Self.updates,
        ]
        #expect(Set(table.keys) == Set(expected.keys))
        for (key, value) in expected {
            #expect(table.value(key) == String(value), "`\(key)` should be \(value)")
        }
        #expect(Self.weights == 2368)  // the brief's 64·32 + 32·10, independently of the page
    }

    @Test func resultsMatchTheLibrary() throws {
        let table = try Page.load().table("bits-example-results")
        let t = Self.temperature
        let exactPerCycle = BitCount.resetBitsPerCycle(neurons: Self.neurons, activatedPerCycle: Self.activatedPerCycle)
        let sparsePerCycle = BitCount.sparseResetBitsPerCycle(
            neurons: Self.neurons, activatedPerCycle: Self.activatedPerCycle)
        let expected: [String: (Double, String)] = [
            "thermalEnergy": (t.thermalEnergy.value, "J"),
            "landauerPerBit": (EnergyBound.landauer(at: t).energy.value, "J"),
            "activationProbability": (Self.activatedPerCycle / Double(Self.neurons), ""),
            "binaryEntropy": (Entropy.binaryBits(Self.activatedPerCycle / Double(Self.neurons)), "bits"),
            "erased.perCycle": (exactPerCycle, "bits"),
            "erased.perCycleSparse": (sparsePerCycle, "bits"),
            "erased.sparseExcess": (sparsePerCycle / exactPerCycle - 1, ""),
            "erased": (Self.erased.bits, "bits"),
            "erased.u": (Self.erased.standardUncertainty, "bits"),
            "written.updates": (Self.writtenUpdates.bits, "bits"),
            "written.devices": (Self.writtenDevices.bits, "bits"),
            "labelEntropy.nats": (Entropy.labelNats(classCounts: Self.classCounts), "nats"),
            "labelEntropy.bits": (Entropy.labelBits(classCounts: Self.classCounts), "bits"),
            "labelInformation": (Double(Self.trainingSamples) * Entropy.labelBits(classCounts: Self.classCounts), "bits"),
            "learned": (Self.learned.bits, "bits"),
            "learned.u": (Self.learned.standardUncertainty, "bits"),
            "readout": (Self.readout.bits, "bits"),
            "landauer.erased.u": (EnergyBound.landauer(for: Self.erased, at: t).standardUncertainty.value, "J"),
        ]
        #expect(Set(table.keys) == Set(expected.keys))
        for (key, (value, unit)) in expected {
            try checkRounded(table.value(key), key: key, value: value, unit: unit)
        }
    }

    @Test func boundsAndRatiosMatchTheLibrary() throws {
        let table = try Page.load().table("bits-example-bounds")
        let t = Self.temperature
        let bounds: [String: EnergyBound] = [
            "landauer.erased": .landauer(for: Self.erased, at: t),
            "dynamicInference": .dynamicAnalogInference(
                neurons: Self.neurons, activatedPerCycle: Self.activatedPerCycle, cycles: Self.cycles, at: t),
            "quasiStaticInference": .quasiStaticAnalogInference(at: t),
            "quasiStaticTraining": .quasiStaticAnalogTraining(parameters: Self.parameters, samplesSeen: Self.samplesSeen, at: t),
            "digitalLandauer": .digitalTrainingAtLandauerLimit(
                activeParameters: Self.parameters, samplesSeen: Self.samplesSeen, at: t),
            "digitalToday": .digitalHardwareToday(parameters: Self.parameters, samplesSeen: Self.samplesSeen),
            "landauer.learned": .landauer(for: Self.learned, at: t),
        ]
        #expect(Set(table.keys) == Set(bounds.keys))
        for (key, bound) in bounds {
            try checkRounded(table.value(key, column: 2), key: key, value: bound.energy.value, unit: "J")
            if let ratio = bound.ratio(of: Self.energy) {
                try checkRounded(table.value(key, column: 3), key: key + " ratio", value: ratio, unit: "")
            } else {
                #expect(table.value(key, column: 3) == "none", "`\(key)` has no ratio; the page should say `none`")
            }
        }
    }

    @Test func energyPerBitMatchesTheLibrary() throws {
        let table = try Page.load().table("bits-example-per-bit")
        let counts: [String: BitCount] = [
            "erased": Self.erased, "written.updates": Self.writtenUpdates, "written.devices": Self.writtenDevices,
            "learned": Self.learned, "readout": Self.readout,
        ]
        #expect(Set(table.keys) == Set(counts.keys))
        for (key, bits) in counts {
            let e = EnergyPerBit(
                energy: Self.energy, energyUncertainty: Self.energyUncertainty, bits: bits, at: Self.temperature)
            let perBit = try #require(e.joulesPerBit)
            let u = try #require(e.standardUncertainty)
            let multiple = try #require(e.landauerRatio)
            try checkRounded(table.value(key, column: 2), key: key, value: perBit.value, unit: "J/bit")
            try checkRounded(table.value(key, column: 3), key: key + " uncertainty", value: u.value, unit: "J/bit")
            try checkRounded(table.value(key, column: 4), key: key + " multiple", value: multiple, unit: "")
        }
    }

    @Test func everyNumberInTheProseIsInATable() throws {
        let page = try Page.load()
        let tableNumbers = Set(page.example.filter { $0.hasPrefix("|") }.flatMap(Page.numbers(in:)))
        let prose = page.example.filter { !$0.hasPrefix("|") && !$0.hasPrefix("<!--") }
        let proseNumbers = prose.flatMap(Page.numbers(in:))
        #expect(proseNumbers.count > 30, "the example's prose should be found and state its figures")
        for n in proseNumbers {
            let inATable = tableNumbers.contains(n)
            #expect(inATable, "\(n) is printed in the worked example's prose but in none of its tables")
        }
    }

    /// Expects `printed` to be `value`, in `unit` with any SI prefix, rounded to exactly 4
    /// significant digits; a zero must be printed as 0.
    private func checkRounded(_ printed: String?, key: String, value: Double, unit: String) throws {
        let text = try #require(printed, "no value for `\(key)`")
        let number = try #require(Printed(text, unit: unit), "`\(key)`: cannot read `\(text)` in \(unit)")
        if value == 0 {
            #expect(number.value == 0, "`\(key)` is `\(text)`, the library gives 0")
            return
        }
        #expect(number.significantDigits == 4, "`\(key)` is `\(text)`: print 4 significant digits")
        let inPrintedUnit = value / number.scale
        let exponent = (log10(abs(inPrintedUnit))).rounded(.down)
        let q = pow(10, Double(number.significantDigits - 1) - exponent)
        let rounded = (inPrintedUnit * q).rounded() / q
        #expect(
            abs(rounded - number.mantissaValue) <= 1e-9 * abs(rounded),
            "`\(key)` is `\(text)`, the library gives \(inPrintedUnit) (\(rounded) rounded)")
    }
}

// MARK: - Reading the page

/// The page, found from this file's path: docs/energy-accounting-bits.md, or the merged
/// docs/energy-accounting.md once the section has moved there.
private struct Page {
    struct Table {
        var rows: [[String]]
        var keys: [String] { rows.map { $0[1] } }

        /// The code span of column `column` of the row `key`.
        func value(_ key: String, column: Int = 2) -> String? {
            guard let row = rows.first(where: { $0[1] == key }), column < row.count else { return nil }
            return row[column]
        }

        /// A value that is a comma-separated list of integers.
        func list(_ key: String) -> [Int]? {
            value(key).map { $0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        }
    }

    var lines: [String]

    static func load() throws -> Page {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates = ["docs/energy-accounting-bits.md", "docs/energy-accounting.md"]
        for name in candidates {
            let url = root.appendingPathComponent(name)
            if let text = try? String(contentsOf: url, encoding: .utf8), text.contains("<!-- table: bits-example-given -->") {
                return Page(lines: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
            }
        }
        throw PageError(message: "no page under \(root.path) holds the bits worked example (looked in \(candidates))")
    }

    /// The rows after `<!-- table: NAME -->`, header and rule skipped, cells trimmed and code
    /// spans unwrapped.
    func table(_ name: String) throws -> Table {
        guard let start = lines.firstIndex(of: "<!-- table: \(name) -->") else {
            throw PageError(message: "no table \(name)")
        }
        var rows: [[String]] = []
        for line in lines[(start + 1)...] {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .map { $0.hasPrefix("`") && $0.hasSuffix("`") && $0.count >= 2 ? String($0.dropFirst().dropLast()) : $0 }
            rows.append(Array(cells))
        }
        guard rows.count > 2 else { throw PageError(message: "table \(name) has no rows") }
        return Table(rows: Array(rows.dropFirst(2)))
    }

    /// The lines between the worked example's begin and end markers.
    var example: [String] {
        guard let begin = lines.firstIndex(of: "<!-- worked-example: begin -->"),
            let end = lines.firstIndex(of: "<!-- worked-example: end -->"), begin < end
        else { return [] }
        return Array(lines[(begin + 1)..<end])
    }

    /// The decimal numbers written in `line` ("6.3", "2368", "1.261e10").
    static func numbers(in line: String) -> [String] {
        var found: [String] = []
        var current = ""
        var chars = Array(line)
        chars.append(" ")
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isASCII && c.isNumber {
                current.append(c)
            } else if !current.isEmpty, c == ".", i + 1 < chars.count, chars[i + 1].isASCII && chars[i + 1].isNumber {
                current.append(c)
            } else if !current.isEmpty, c == "e", i + 1 < chars.count, chars[i + 1].isASCII && chars[i + 1].isNumber {
                current.append(c)
            } else {
                if !current.isEmpty { found.append(current) }
                current = ""
            }
            i += 1
        }
        return found
    }
}

private struct PageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A printed value: a number, then a unit with an optional SI prefix.
private struct Printed {
    /// The number as printed, in the printed unit.
    var mantissaValue: Double
    /// The factor from the printed unit to the plain unit (1e-21 for zJ).
    var scale: Double
    /// The significant digits printed (leading zeros not counted).
    var significantDigits: Int
    /// The value in the plain unit.
    var value: Double { mantissaValue * scale }

    static let prefixes: [Character: Double] = [
        "y": 1e-24, "z": 1e-21, "a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "µ": 1e-6, "m": 1e-3,
        "k": 1e3, "M": 1e6, "G": 1e9,
    ]

    /// Reads `text` as a number followed by `unit` (or by `unit` with an SI prefix); nil when it is not.
    init?(_ text: String, unit: String) {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        guard let first = parts.first, let number = Double(first) else { return nil }
        let printedUnit = parts.count > 1 ? parts[1] : ""
        if printedUnit == unit {
            scale = 1
        } else if let p = printedUnit.first, let s = Printed.prefixes[p], printedUnit.dropFirst() == unit, !unit.isEmpty {
            scale = s
        } else {
            return nil
        }
        mantissaValue = number
        let mantissa = first.split(separator: "e").first.map(String.init) ?? first
        significantDigits = mantissa.filter(\.isNumber).drop(while: { $0 == "0" }).count
    }
}
