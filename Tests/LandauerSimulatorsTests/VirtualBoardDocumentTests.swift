import Foundation
import Testing
@testable import LandauerFirmware
@testable import LandauerSimulators

/// The machine-checked tables of docs/virtual-board.md, read from the document itself.
///
/// A table follows a `<!-- table: NAME -->` line. Its second column holds a key in a code span;
/// the columns after it hold values in code spans: a number with an optional SI unit
/// (`200 ns`, `0.001`), a quoted string, or a word.
struct VirtualBoardDocument {
    struct Table {
        var name: String
        var header: [String]
        var rows: [[String]]

        /// The code span of column `column` of each row, keyed by the row's key.
        /// The key of a row: the code span of its second cell.
        static func key(of row: [String]) -> String {
            guard row.count > 1 else { return "" }
            return VirtualBoardDocument.codeSpan(row[1]) ?? row[1]
        }

        /// Each row's key and the code span of its column `column`.
        func values(column: Int) -> [(key: String, code: String?)] {
            rows.map { row in (Table.key(of: row), column < row.count ? VirtualBoardDocument.codeSpan(row[column]) : nil) }
        }

        /// The keys of the rows.
        var keys: [String] { rows.map(Table.key(of:)) }

        /// The code span of the value column (the last) for `key`.
        func code(_ key: String) -> String? {
            guard let row = rows.first(where: { Table.key(of: $0) == key }), let last = row.last else { return nil }
            return VirtualBoardDocument.codeSpan(last)
        }
    }

    var tables: [String: Table] = [:]

    static let path: String = {
        // Tests/LandauerSimulatorsTests/VirtualBoardDocumentTests.swift → repository root
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/docs/virtual-board.md"
    }()

    static func load() throws -> VirtualBoardDocument {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var doc = VirtualBoardDocument()
        var current: Table?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("<!-- table: ") {
                if let t = current { doc.tables[t.name] = t }
                let name = String(line.dropFirst("<!-- table: ".count).dropLast(" -->".count))
                current = Table(name: name, header: [], rows: [])
            } else if var t = current {
                if line.hasPrefix("|") {
                    let cells = cells(of: String(line))
                    if t.header.isEmpty {
                        t.header = cells
                    } else if !cells.allSatisfy({ $0.allSatisfy { $0 == "-" || $0 == ":" } }) {
                        t.rows.append(cells)
                    }
                    current = t
                } else if !t.header.isEmpty {
                    doc.tables[t.name] = t
                    current = nil
                }
            }
        }
        if let t = current { doc.tables[t.name] = t }
        return doc
    }

    /// The cells of a table row (`\|` is a literal bar).
    static func cells(of line: String) -> [String] {
        var cells: [String] = []
        var cell = ""
        var escaped = false
        for ch in line {
            if escaped {
                cell.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == "|" {
                cells.append(cell.trimmingCharacters(in: .whitespaces))
                cell = ""
            } else {
                cell.append(ch)
            }
        }
        // Drop what precedes the leading bar; what follows the trailing bar is empty.
        return Array(cells.dropFirst())
    }

    /// The text of the first code span of a cell.
    static func codeSpan(_ cell: String) -> String? {
        guard let open = cell.firstIndex(of: "`") else { return nil }
        let rest = cell[cell.index(after: open)...]
        guard let close = rest.firstIndex(of: "`") else { return nil }
        return String(rest[..<close])
    }

    func table(_ name: String) throws -> Table {
        try #require(tables[name], "docs/virtual-board.md has no table '\(name)'")
    }
}

/// A value as the document prints it.
enum PrintedValue: Equatable, CustomStringConvertible {
    /// A number in SI base units, the unit's base symbol ("" for a pure number) and half a unit of
    /// the last printed digit (in base units).
    case quantity(Double, unit: String, halfDigit: Double)
    /// A quoted string (without its quotes) or a word.
    case text(String)

    static let baseUnits: Set<String> = ["s", "Hz", "V", "A", "S", "F", "J", "W", "K", "B/s", "bit"]
    static let prefixes: [Character: Double] = [
        "p": 1e-12, "n": 1e-9, "µ": 1e-6, "μ": 1e-6, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9,
    ]

    init(_ code: String) {
        if code.count >= 2, code.hasPrefix("\""), code.hasSuffix("\"") {
            self = .text(String(code.dropFirst().dropLast()))
            return
        }
        let parts = code.split(separator: " ", maxSplits: 1).map(String.init)
        guard let mantissa = parts.first, !mantissa.hasPrefix("0x"), let number = Double(mantissa) else {
            self = .text(code)
            return
        }
        var scale = 1.0
        var unit = parts.count > 1 ? parts[1] : ""
        if !unit.isEmpty && !Self.baseUnits.contains(unit) {
            guard let first = unit.first, let factor = Self.prefixes[first], Self.baseUnits.contains(String(unit.dropFirst())) else {
                self = .text(code)
                return
            }
            scale = factor
            unit = String(unit.dropFirst())
        }
        let decimals = mantissa.split(separator: ".", maxSplits: 1).dropFirst().first?.count ?? 0
        self = .quantity(number * scale, unit: unit, halfDigit: 0.5 * pow(10, -Double(decimals)) * scale)
    }

    /// The number, in SI base units, or nil for text.
    var number: Double? {
        if case .quantity(let v, _, _) = self { return v }
        return nil
    }

    var description: String {
        switch self {
        case .quantity(let v, let unit, _): "\(v) \(unit)"
        case .text(let t): "'\(t)'"
        }
    }
}

/// A value the code has.
enum ActualValue: CustomStringConvertible {
    case quantity(Double, unit: String)
    case text(String)

    static func number(_ x: Double, _ unit: String = "") -> ActualValue { .quantity(x, unit: unit) }
    static func optional(_ x: Double?, _ unit: String) -> ActualValue { x.map { .quantity($0, unit: unit) } ?? .text("nil") }
    static func flag(_ on: Bool) -> ActualValue { .text(on ? "on" : "off") }

    var description: String {
        switch self {
        case .quantity(let v, let unit): "\(v) \(unit)"
        case .text(let t): "'\(t)'"
        }
    }

    /// Whether `printed` states this value: exactly (to 10⁻¹² relative, for decimal parameters) or,
    /// when not `exact`, to the printed digits.
    func agrees(with printed: PrintedValue, exact: Bool) -> Bool {
        switch (self, printed) {
        case (.text(let a), .text(let p)):
            return a == p
        case (.quantity(let a, let unitA), .quantity(let p, let unitP, let halfDigit)):
            guard unitA == unitP else { return false }
            let slack = 1e-12 * max(abs(a), abs(p))
            return exact ? abs(a - p) <= slack : abs(a - p) <= halfDigit * (1 + 1e-9) + slack
        default:
            return false
        }
    }
}

/// The labels of the stored properties of `value`.
private func storedPropertyLabels(of value: Any) -> [String] {
    Mirror(reflecting: value).children.compactMap(\.label)
}

/// Checks every row of `table` (key in column 1, value in `column`) against `actual`.
private func checkRows(
    _ table: VirtualBoardDocument.Table, column: Int, against actual: [String: ActualValue], exact: Bool,
    requireAll: Bool, sourceLocation: SourceLocation = #_sourceLocation
) {
    var seen = Set<String>()
    for (key, code) in table.values(column: column) {
        seen.insert(key)
        guard let value = actual[key] else {
            Issue.record("table '\(table.name)': the code has no value for key '\(key)'", sourceLocation: sourceLocation)
            continue
        }
        guard let code else {
            Issue.record("table '\(table.name)', '\(key)': no value in a code span", sourceLocation: sourceLocation)
            continue
        }
        let printed = PrintedValue(code)
        #expect(value.agrees(with: printed, exact: exact), "table '\(table.name)', '\(key)': the document says `\(code)`, the code gives \(value)", sourceLocation: sourceLocation)
    }
    if requireAll {
        let missing = Set(actual.keys).subtracting(seen).sorted()
        #expect(missing.isEmpty, "table '\(table.name)' lacks rows for \(missing)", sourceLocation: sourceLocation)
    }
}

// MARK: - What the code has

extension VirtualBoardDocumentTests {
    /// Every stored field of a configuration (nested ones flattened) and its derived values.
    static func configValues(_ c: VirtualBoardConfig) -> [String: ActualValue] {
        var v: [String: ActualValue] = [
            "name": .text(c.name),
            "serial": .text(c.serial),
            "clock": .number(c.clock.value, "Hz"),
            "dacBits": .number(Double(c.dacBits), "bit"),
            "adcBits": .number(Double(c.adcBits), "bit"),
            "markerLines": .number(Double(c.markerLines)),
            "tiles.count": .number(Double(c.tiles.count)),
            "deviceReadFullScale": .optional(c.deviceReadFullScale?.value, "A"),
            "effectiveDeviceReadFullScale": .number(c.effectiveDeviceReadFullScale.value, "A"),
            "absoluteLimits.programVoltage": .number(c.absoluteLimits.programVoltage.value, "V"),
            "absoluteLimits.readVoltage": .number(c.absoluteLimits.readVoltage.value, "V"),
            "absoluteLimits.minPulseWidthNanoseconds": .number(Double(c.absoluteLimits.minPulseWidthNanoseconds) * 1e-9, "s"),
            "absoluteLimits.maxPulseWidthNanoseconds": .number(Double(c.absoluteLimits.maxPulseWidthNanoseconds) * 1e-9, "s"),
            "absoluteLimits.complianceCurrent": .number(c.absoluteLimits.complianceCurrent.value, "A"),
            "absoluteLimits.maxPulsesPerRequest": .number(Double(c.absoluteLimits.maxPulsesPerRequest)),
            "sweepCurrentRanges": .text(c.sweepCurrentRanges.map { SignificantDigits.format($0.value * 1e6, digits: 3) }.joined(separator: ", ") + " µA"),
            "conductanceWindow.minimum": .number(c.conductanceWindow.minimum.value, "S"),
            "conductanceWindow.maximum": .number(c.conductanceWindow.maximum.value, "S"),
            "deviceModel": .text(c.deviceModel.name),
            "stuckFraction": .number(c.stuckFraction),
            "initialConductance": .optional(c.initialConductance?.value, "S"),
            "forming": .text(c.forming == nil ? "off" : "on"),
            "temperature": .number(c.temperature.value, "K"),
            "thermalNoise": .flag(c.thermalNoise),
            "readNoiseFraction": .number(c.readNoiseFraction),
            "readBandwidth": .optional(c.readBandwidth?.value, "Hz"),
            "effectiveReadBandwidth": .number(c.effectiveReadBandwidth.value, "Hz"),
            "temperatureSensorNoise": .number(c.temperatureSensorNoise.value, "K"),
            "dacSettleTime": .number(c.dacSettleTime.value, "s"),
            "readTime": .number(c.readTime.value, "s"),
            "adcConversionTime": .number(c.adcConversionTime.value, "s"),
            "adcsPerTile": .number(Double(c.adcsPerTile)),
            "pulseSetupTime": .number(c.pulseSetupTime.value, "s"),
            "temperatureReadTime": .number(c.temperatureReadTime.value, "s"),
            "supplyVoltage": .number(c.supplyVoltage.value, "V"),
            "dacUpdateEnergy": .number(c.dacUpdateEnergy.value, "J"),
            "adcConversionEnergy": .number(c.adcConversionEnergy.value, "J"),
            "lineCapacitance": .number(c.lineCapacitance.value, "F"),
            "mcuActivePower": .number(c.mcuActivePower.value, "W"),
            "mcuSleepPower": .number(c.mcuSleepPower.value, "W"),
            "quiescentPower": .number(c.quiescentPower.value, "W"),
            "waveformBinWidth": .number(c.waveformBinWidth.value, "s"),
            "waveformRetention": .optional(c.waveformRetention.map(Double.init), ""),
            "linkBytesPerSecond": .number(c.linkBytesPerSecond, "B/s"),
            "seed": .text("0x" + String(c.seed, radix: 16, uppercase: true)),
        ]
        for (k, t) in c.tiles.enumerated() {
            v["tiles[\(k)].rows"] = .number(Double(t.rows))
            v["tiles[\(k)].columns"] = .number(Double(t.columns))
            v["tiles[\(k)].outputFullScale"] = .optional(t.outputFullScale?.value, "A")
            v["outputFullScale(ofTile: \(k))"] = .number(c.outputFullScale(ofTile: k).value, "A")
        }
        return v
    }

    /// The keys a configuration's stored properties must appear under.
    static func storedConfigKeys(_ c: VirtualBoardConfig) -> [String] {
        var keys: [String] = []
        for label in storedPropertyLabels(of: c) {
            switch label {
            case "tiles":
                keys.append("tiles.count")
                for (k, t) in c.tiles.enumerated() { keys += storedPropertyLabels(of: t).map { "tiles[\(k)].\($0)" } }
            case "absoluteLimits": keys += storedPropertyLabels(of: c.absoluteLimits).map { "absoluteLimits.\($0)" }
            case "conductanceWindow": keys += storedPropertyLabels(of: c.conductanceWindow).map { "conductanceWindow.\($0)" }
            default: keys.append(label)
            }
        }
        return keys
    }

    static func pulsedValues(_ p: PulsedStepParameters) -> [String: ActualValue] {
        [
            "threshold": .number(p.threshold.value, "V"), "dwMin": .number(p.dwMin), "upDown": .number(p.upDown),
            "dwMinDtoD": .number(p.dwMinDtoD), "upDownDtoD": .number(p.upDownDtoD), "cycleToCycle": .number(p.cycleToCycle),
            "wMin": .number(p.wMin), "wMax": .number(p.wMax), "wMinDtoD": .number(p.wMinDtoD), "wMaxDtoD": .number(p.wMaxDtoD),
        ]
    }

    static func pulsedParameters(of model: DeviceModel) -> PulsedStepParameters? {
        switch model {
        case .constantStep(let p), .softBounds(let p): p
        case .expStep(let e): e.step
        case .ideal, .vteam: nil
        }
    }

    /// The model with every device-to-device and cycle-to-cycle spread removed.
    static func withoutVariation(_ model: DeviceModel) -> DeviceModel {
        switch model {
        case .constantStep(let p): return .constantStep(p.withoutVariation)
        case .softBounds(let p): return .softBounds(p.withoutVariation)
        case .expStep(var e):
            e.step = e.step.withoutVariation
            return .expStep(e)
        case .ideal, .vteam: return model
        }
    }

    /// The energy of every event kind, every rail and the total, under `energy.…` and `rail.…`.
    static func energyValues(_ ledger: EnergyLedger) -> [String: ActualValue] {
        var v: [String: ActualValue] = ["energy.total": .number(ledger.total.value, "J")]
        for kind in EnergyEventKind.allCases { v["energy.\(kind)"] = .number(ledger.energy(of: kind).value, "J") }
        for rail in SupplyRail.allCases { v["rail.\(rail)"] = .number(ledger.energy(on: rail).value, "J") }
        return v
    }

    /// The numeric value of `key` in `table`, in SI base units.
    static func given(_ table: VirtualBoardDocument.Table, _ key: String) throws -> Double {
        let code = try #require(table.code(key), "table '\(table.name)' has no row '\(key)'")
        return try #require(PrintedValue(code).number, "table '\(table.name)', '\(key)': `\(code)` is not a number")
    }
}

// MARK: - The tests

@Suite("docs/virtual-board.md agrees with the simulator")
struct VirtualBoardDocumentTests {
    let doc: VirtualBoardDocument

    init() throws { doc = try VirtualBoardDocument.load() }

    @Test("every machine-checked table is present and parses")
    func tablesPresent() throws {
        let names = [
            "firmware-cycles", "device-models", "ideal-parameters", "pulsed-parameters", "exp-step-parameters",
            "vteam-parameters", "nominal-steps", "operation-durations", "example-forward-read",
            "example-matrix-vector-request", "example-pulse", "defaults",
        ]
        #expect(Set(doc.tables.keys) == Set(names))
        for name in names {
            let t = try doc.table(name)
            #expect(!t.rows.isEmpty, "table '\(name)' has no rows")
            for row in t.rows {
                #expect(row.count == t.header.count, "table '\(name)': row \(row) does not match the header")
            }
            #expect(Set(t.keys).count == t.keys.count, "table '\(name)' repeats a key")
        }
    }

    @Test("the defaults table is VirtualBoardConfig.default and .ideal, field by field")
    func defaultsTable() throws {
        let t = try doc.table("defaults")
        #expect(t.header.count == 4)
        let reference = Self.configValues(.default)
        let ideal = Self.configValues(.ideal)
        checkRows(t, column: 2, against: reference, exact: true, requireAll: true)
        for row in t.rows {
            let key = VirtualBoardDocument.Table.key(of: row)
            guard row.count == 4 else {
                Issue.record("defaults, '\(key)': expected four cells")
                continue
            }
            let idealCell = row[3]
            let code = idealCell == "same" ? VirtualBoardDocument.codeSpan(row[2]) : VirtualBoardDocument.codeSpan(idealCell)
            guard let code, let value = ideal[key] else {
                Issue.record("defaults, '\(key)': no ideal-board value")
                continue
            }
            #expect(value.agrees(with: PrintedValue(code), exact: true), "defaults, '\(key)', ideal board: the document says \(idealCell) (`\(code)`), the code gives \(value)")
        }
        // A new stored field of the configuration (or of its nested values) needs a row.
        for config in [VirtualBoardConfig.default, .ideal] {
            let missing = Self.storedConfigKeys(config).filter { !t.keys.contains($0) }
            #expect(missing.isEmpty, "the defaults table lacks rows for \(missing)")
        }
        // Each profile's device model is its named model with default parameters (section 6).
        for config in [VirtualBoardConfig.default, .ideal] {
            #expect(DeviceModel(named: config.deviceModel.name) == config.deviceModel)
        }
    }

    @Test("the device models and their default parameters")
    func deviceParameters() throws {
        let models = try doc.table("device-models")
        #expect(models.keys == DeviceModel.names)
        let expressions: [String: DeviceModel] = [
            "IdealDeviceParameters()": .ideal(IdealDeviceParameters()),
            "PulsedStepParameters()": .constantStep(PulsedStepParameters()),
            "PulsedStepParameters.reramSoftBounds": .softBounds(.reramSoftBounds),
            "ExpStepParameters.reram": .expStep(.reram),
            "VTEAMParameters()": .vteam(VTEAMParameters()),
        ]
        for (name, code) in models.values(column: 2) {
            let expected = try #require(code.flatMap { expressions[$0] }, "device-models, '\(name)': unknown parameters `\(code ?? "")`")
            #expect(DeviceModel(named: name) == expected, "device '\(name)' does not default to `\(code ?? "")`")
        }

        guard case .ideal(let ideal) = DeviceModel(named: "ideal") else {
            Issue.record("'ideal' is not the ideal model")
            return
        }
        let idealTable = try doc.table("ideal-parameters")
        checkRows(idealTable, column: 2, against: ["step": .number(ideal.step.value, "S"), "threshold": .number(ideal.threshold.value, "V")], exact: true, requireAll: true)
        #expect(Set(idealTable.keys) == Set(storedPropertyLabels(of: ideal)))

        let pulsed = try doc.table("pulsed-parameters")
        #expect(pulsed.header.count == 5)
        for column in 2..<pulsed.header.count {
            let name = try #require(VirtualBoardDocument.codeSpan(pulsed.header[column]))
            let model = try #require(DeviceModel(named: name), "pulsed-parameters: unknown model '\(name)'")
            let p = try #require(Self.pulsedParameters(of: model), "'\(name)' is not a pulsed-step model")
            checkRows(pulsed, column: column, against: Self.pulsedValues(p), exact: true, requireAll: true)
            #expect(Set(pulsed.keys) == Set(storedPropertyLabels(of: p)))
        }

        guard case .expStep(let e) = DeviceModel(named: "exp-step") else {
            Issue.record("'exp-step' is not the ExpStep model")
            return
        }
        let expTable = try doc.table("exp-step-parameters")
        let expValues: [String: ActualValue] = [
            "a": .number(e.a), "b": .number(e.b), "gammaUp": .number(e.gammaUp), "gammaDown": .number(e.gammaDown),
            "aUp": .number(e.aUp), "aDown": .number(e.aDown),
        ]
        checkRows(expTable, column: 2, against: expValues, exact: true, requireAll: true)
        #expect(Set(expTable.keys + ["step"]) == Set(storedPropertyLabels(of: e)))

        guard case .vteam(let v) = DeviceModel(named: "vteam") else {
            Issue.record("'vteam' is not the VTEAM model")
            return
        }
        let vteamTable = try doc.table("vteam-parameters")
        let vteamValues: [String: ActualValue] = [
            "vOn": .number(v.vOn.value, "V"), "vOff": .number(v.vOff.value, "V"),
            "kOn": .number(v.kOn.value, "Hz"), "kOff": .number(v.kOff.value, "Hz"),
            "alphaOn": .number(v.alphaOn), "alphaOff": .number(v.alphaOff),
            "window": .text("\(v.window)"), "resistance": .text("\(v.resistance)"),
            "maximumStatePerStep": .number(v.maximumStatePerStep),
        ]
        checkRows(vteamTable, column: 2, against: vteamValues, exact: true, requireAll: true)
        #expect(Set(vteamTable.keys) == Set(storedPropertyLabels(of: v)))
    }

    @Test("the firmware's cycle costs")
    func firmwareCycles() throws {
        let t = try doc.table("firmware-cycles")
        var costs: [String: ActualValue] = [:]
        for child in Mirror(reflecting: CycleCosts()).children {
            guard let label = child.label, let cycles = child.value as? UInt32 else {
                Issue.record("CycleCosts has a field that is not a UInt32 cycle count: \(child)")
                continue
            }
            costs[label] = .number(Double(cycles))
        }
        checkRows(t, column: 2, against: costs, exact: true, requireAll: true)
    }

    @Test("one pulse on a fresh device of each model, without variation")
    func nominalSteps() throws {
        let t = try doc.table("nominal-steps")
        var steps: [String: ActualValue] = [:]
        for name in DeviceModel.names {
            let model = Self.withoutVariation(try #require(DeviceModel(named: name)))
            var changes: [Double] = []
            var start = 0.0
            for polarity in [1.0, -1.0] {
                var tile = CrossbarTile(rows: 1, columns: 1, model: model, seed: 1)
                start = tile.conductance(row: 0, column: 0, side: .plus).value
                let (before, after) = tile.applyPulse(
                    row: 0, column: 0, side: .plus, voltage: Volts(1.5 * polarity), width: Seconds(1e-6), compliance: Amperes(100e-6))
                changes.append(after.value - before.value)
            }
            steps["\(name).start"] = .number(start, "S")
            steps["\(name).up"] = .number(changes[0], "S")
            steps["\(name).down"] = .number(changes[1], "S")
        }
        checkRows(t, column: 2, against: steps, exact: false, requireAll: true)
    }

    @Test("the durations of the front end's operations on the reference board")
    func operationDurations() throws {
        let t = try doc.table("operation-durations")
        func duration(_ body: (inout VirtualFrontEnd) -> Void) -> ActualValue {
            var fe = VirtualFrontEnd(config: .default)
            let start = fe.now
            body(&fe)
            return .number((fe.now - start).seconds.value, "s")
        }
        func read(_ fe: inout VirtualFrontEnd, tile: Int, _ orientation: ReadOrientation) {
            let inputs = orientation == .forward ? fe.tiles[tile].rows : fe.tiles[tile].columns
            let outputs = orientation == .forward ? fe.tiles[tile].columns : fe.tiles[tile].rows
            let codes = [Int16](repeating: 10, count: inputs)
            var out = [Int16](repeating: 0, count: outputs)
            codes.withUnsafeBufferPointer { fe.driveInputs(tile: tile, orientation: orientation, codes: $0, fullScale: Volts(0.2)) }
            _ = out.withUnsafeMutableBufferPointer { fe.convertOutputs(tile: tile, orientation: orientation, into: $0) }
        }
        let durations: [String: ActualValue] = [
            "forward-read.tile0": duration { read(&$0, tile: 0, .forward) },
            "transposed-read.tile0": duration { read(&$0, tile: 0, .transposed) },
            "forward-read.tile1": duration { read(&$0, tile: 1, .forward) },
            "transposed-read.tile1": duration { read(&$0, tile: 1, .transposed) },
            "device-read": duration { _ = $0.readDevice(tile: 0, row: 0, column: 0, side: .plus, voltage: Volts(0.2)) },
            "pulse.100ns": duration {
                $0.pulse(tile: 0, row: 0, column: 0, side: .plus, polarity: 1, amplitude: Volts(1), widthNanoseconds: 100, compliance: Amperes(100e-6))
            },
            "slot.100ns": duration { fe in
                let rows = [Int8](repeating: 0, count: 63) + [1]
                let columns = [Int8](repeating: 0, count: 31) + [1]
                _ = rows.withUnsafeBufferPointer { r in
                    columns.withUnsafeBufferPointer { c in
                        fe.pulseSlot(tile: 0, side: .plus, rowDrive: r, columnDrive: c, amplitude: Volts(1), widthNanoseconds: 100, compliance: Amperes(100e-6))
                    }
                }
            },
            "temperature": duration { _ = $0.readTemperature() },
            "run.150": duration { $0.run(cycles: 150) },
        ]
        checkRows(t, column: 2, against: durations, exact: true, requireAll: true)
    }

    @Test("worked example: one forward read on the reference board")
    func exampleForwardRead() throws {
        let t = try doc.table("example-forward-read")
        let code = try #require(Int16(exactly: try Self.given(t, "given.code")), "the DAC code must be an integer")
        let fullScale = try Self.given(t, "given.full-scale")
        let config = VirtualBoardConfig.default
        var fe = VirtualFrontEnd(config: config)
        let tile = fe.tiles[0]
        let g = tile.conductance(row: 0, column: 0, side: .plus).value
        for side in DeviceSide.allCases {
            #expect(tile.conductances(side: side).allSatisfy { $0.value == g }, "the example assumes every device starts at the same conductance")
        }
        var columnLoad = 0.0
        for i in 0..<tile.rows {
            columnLoad += tile.conductance(row: i, column: 0, side: .plus).value + tile.conductance(row: i, column: 0, side: .minus).value
        }
        let thermal = (4 * PhysicalConstants.boltzmann.value * config.temperature.value * config.effectiveReadBandwidth.value * columnLoad).squareRoot()

        let codes = [Int16](repeating: code, count: tile.rows)
        var out = [Int16](repeating: 0, count: tile.columns)
        codes.withUnsafeBufferPointer { fe.driveInputs(tile: 0, orientation: .forward, codes: $0, fullScale: Volts(fullScale)) }
        _ = out.withUnsafeMutableBufferPointer { fe.convertOutputs(tile: 0, orientation: .forward, into: $0) }

        var actual = Self.energyValues(fe.ledger)
        actual["device.conductance"] = .number(g, "S")
        actual["dac.lsb"] = .number(fullScale / Double(fe.hardware.dacMaxCode), "V")
        actual["adc.lsb"] = .number(fe.hardware.tiles[0].outputFullScale.value / Double(fe.hardware.adcMaxCode), "A")
        actual["noise.thermal"] = .number(thermal, "A")
        actual["noise.extra"] = .number(config.readNoiseFraction * config.outputFullScale(ofTile: 0).value, "A")
        actual["duration"] = .number(fe.now.seconds.value, "s")
        actual["waveform.bin0"] = .number(fe.waveform.energy(inBin: 0).value, "J")
        actual["waveform.bin0.current"] = .number(fe.waveform.meanCurrent(inBin: 0).value, "A")
        actual["waveform.bin1"] = .number(fe.waveform.energy(inBin: 1).value, "J")
        let drained = fe.drainSupplyWaveform()
        actual["waveform.drained"] = .number(Double(drained.energies.count))
        actual["given.code"] = .number(Double(code))
        actual["given.full-scale"] = .number(fullScale, "V")
        #expect(t.keys.contains("duration") && t.keys.contains("energy.total"))
        checkRows(t, column: 2, against: actual, exact: false, requireAll: false)
        #expect(abs(fe.waveform.totalEnergy.value - fe.ledger.total.value) <= 1e-12 * fe.ledger.total.value)
    }

    @Test("worked example: the same read as a MATRIX-VECTOR request over the link")
    func exampleMatrixVectorRequest() throws {
        let t = try doc.table("example-matrix-vector-request")
        let given = try doc.table("example-forward-read")
        let code = try #require(Int16(exactly: try Self.given(given, "given.code")), "the DAC code must be an integer")
        let fullScale = try Self.given(given, "given.full-scale")
        let board = VirtualBoard(config: .default)
        let rows = board.config.tiles[0].rows
        let read = MatrixVectorRead(
            tile: 0, orientation: .forward, vectorCount: 1, vectorLength: UInt16(rows), inputFullScale: Volts(fullScale),
            inputs: [Int16](repeating: code, count: rows))
        let request = Request.matrixVector(read).frame(sequence: 1).encoded()
        let response = board.receive(request)
        guard case .matrixVector(let result) = try Response.decode(Frame.decode(response)) else {
            Issue.record("the board did not answer with a matrix-vector result")
            return
        }
        #expect(result.outputs.count == board.config.tiles[0].columns)
        #expect(board.counters.vectorReads == 1)

        var actual = Self.energyValues(board.ledger)
        actual["link.request-bytes"] = .number(Double(request.count))
        actual["link.response-bytes"] = .number(Double(response.count))
        actual["duration"] = .number(board.now.seconds.value, "s")
        #expect(t.keys.contains("duration") && t.keys.contains("energy.total"))
        checkRows(t, column: 2, against: actual, exact: false, requireAll: false)
    }

    @Test("worked example: one programming pulse on the ideal board")
    func examplePulse() throws {
        let t = try doc.table("example-pulse")
        let amplitude = try Self.given(t, "given.amplitude")
        let width = try Self.given(t, "given.width")
        let compliance = try Self.given(t, "given.compliance")
        var fe = VirtualFrontEnd(config: .ideal)
        fe.pulse(
            tile: 0, row: 0, column: 0, side: .plus, polarity: 1, amplitude: Volts(amplitude),
            widthNanoseconds: UInt32((width * 1e9).rounded()), compliance: Amperes(compliance))

        var actual = Self.energyValues(fe.ledger)
        actual["given.amplitude"] = .number(amplitude, "V")
        actual["given.width"] = .number(width, "s")
        actual["given.compliance"] = .number(compliance, "A")
        actual["device.conductance"] = .number(fe.tiles[0].conductance(row: 0, column: 0, side: .plus).value, "S")
        actual["duration"] = .number(fe.now.seconds.value, "s")
        #expect(t.keys.contains("duration") && t.keys.contains("energy.total"))
        checkRows(t, column: 2, against: actual, exact: false, requireAll: false)
    }

    @Test("the table reader itself: units, prefixes, digits and strings")
    func printedValues() {
        func parsed(_ code: String, _ value: Double, _ unit: String, _ halfDigit: Double) -> Bool {
            guard case .quantity(let v, let u, let h) = PrintedValue(code) else { return false }
            return abs(v - value) <= 1e-15 * abs(value) && u == unit && abs(h - halfDigit) <= 1e-15 * halfDigit
        }
        #expect(parsed("200 ns", 200e-9, "s", 0.5e-9))
        #expect(parsed("1 MB/s", 1e6, "B/s", 0.5e6))
        #expect(parsed("0.001", 0.001, "", 0.0005))
        #expect(parsed("-249.3 nS", -249.3e-9, "S", 0.05e-9))
        #expect(parsed("3.3 V", 3.3, "V", 0.05))
        #expect(PrintedValue("\"LDR-SIM-0001\"") == .text("LDR-SIM-0001"))
        #expect(PrintedValue("0x4C414E4441554552") == .text("0x4C414E4441554552"))
        #expect(PrintedValue("exp-step") == .text("exp-step"))
        #expect(PrintedValue("3 furlongs") == .text("3 furlongs"))
        #expect(ActualValue.number(17.7216e-9, "S").agrees(with: PrintedValue("17.72 nS"), exact: false))
        #expect(!ActualValue.number(17.7216e-9, "S").agrees(with: PrintedValue("17.73 nS"), exact: false))
        #expect(!ActualValue.number(17.7216e-9, "S").agrees(with: PrintedValue("17.72 ns"), exact: false))
        #expect(!ActualValue.number(150e6, "Hz").agrees(with: PrintedValue("150.4 MHz"), exact: true))
        #expect(VirtualBoardDocument.cells(of: "| a | `b` | \\|V\\| |") == ["a", "`b`", "|V|"])
    }
}
