import LandauerFirmware

/// A deterministic, noiseless front end for engine tests: exact conductances, fixed steps per
/// pulse, a log of everything driven. (The physical simulator lives in LandauerSimulators.)
struct TestFrontEnd: AnalogFrontEnd {
    var hardware: FrontEndDescription
    var nanoseconds: UInt64 = 0
    /// Conductances in siemens, [tile][side][row * columns + column].
    var g: [[[Double]]]
    var step = 1e-7
    var gMin = 1e-6
    var gMax = 2e-5
    var pulsesFired = 0
    var slotsFired = 0
    var markerHistory: [UInt8] = []
    var temperature = Kelvin(301.5)
    var inputs: [Double] = []

    init(tiles: [TileInfo] = [TileInfo(rows: 4, columns: 3, outputFullScale: Amperes(f32(4 * 2e-5 * 0.5))), TileInfo(rows: 2, columns: 2, outputFullScale: Amperes(f32(1e-5)))]) {
        hardware = FrontEndDescription(
            serial: Array("TEST-1".utf8), clockHertz: 100_000_000, dacBits: 8, adcBits: 12, markerLines: 8,
            tiles: tiles, deviceReadFullScale: Amperes(f32(2e-5 * 0.5)),
            absoluteLimits: SafetyLimits(programVoltage: Volts(3), readVoltage: Volts(0.5), minPulseWidthNanoseconds: 10, maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(f32(1e-4)), maxPulsesPerRequest: 10_000))
        g = tiles.map { t in
            let n = Int(t.rows) * Int(t.columns)
            return [(0..<n).map { 5e-6 + Double($0) * 1e-7 }, (0..<n).map { 4e-6 + Double($0 % 5) * 2e-7 }]
        }
    }

    func index(_ tile: Int, _ row: Int, _ column: Int) -> Int { row * Int(hardware.tiles[tile].columns) + column }
    func weight(_ tile: Int, _ row: Int, _ column: Int) -> Double {
        let k = index(tile, row, column)
        return g[tile][0][k] - g[tile][1][k]
    }

    mutating func run(cycles: UInt32) { nanoseconds += UInt64(cycles) * 10 }

    mutating func driveInputs(tile: Int, orientation: ReadOrientation, codes: UnsafeBufferPointer<Int16>, fullScale: Volts) {
        let maxCode = Double(hardware.dacMaxCode)
        inputs = codes.map { Double($0) / maxCode * fullScale.value }
        nanoseconds += 100
    }

    mutating func convertOutputs(tile: Int, orientation: ReadOrientation, into codes: UnsafeMutableBufferPointer<Int16>) -> UInt32 {
        let t = hardware.tiles[tile]
        let lsb = t.outputFullScale.value / Double(hardware.adcMaxCode)
        var saturated: UInt32 = 0
        for o in 0..<codes.count {
            var current = 0.0
            for i in 0..<inputs.count {
                current += inputs[i] * (orientation == .forward ? weight(tile, i, o) : weight(tile, o, i))
            }
            let code = (current / lsb).rounded()
            let limit = Double(hardware.adcMaxCode)
            if abs(code) > limit { saturated += 1 }
            codes[o] = Int16(max(-limit, min(limit, code)))
        }
        inputs = []
        nanoseconds += 1_000
        return saturated
    }

    mutating func readDevice(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts) -> Int16 {
        let lsb = hardware.deviceReadFullScale.value / Double(hardware.adcMaxCode)
        nanoseconds += 500
        return Int16((g[tile][Int(side.rawValue)][index(tile, row, column)] * voltage.value / lsb).rounded())
    }

    mutating func pulse(tile: Int, row: Int, column: Int, side: DeviceSide, polarity: Int8, amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes) {
        let k = index(tile, row, column)
        let s = Int(side.rawValue)
        g[tile][s][k] = min(gMax, max(gMin, g[tile][s][k] + Double(polarity) * step))
        pulsesFired += 1
        nanoseconds += UInt64(widthNanoseconds)
    }

    mutating func pulseSlot(tile: Int, side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>, columnDrive: UnsafeBufferPointer<Int8>, amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes) -> UInt32 {
        var hits: UInt32 = 0
        let s = Int(side.rawValue)
        for i in 0..<rowDrive.count {
            for j in 0..<columnDrive.count where rowDrive[i] != 0 && rowDrive[i] == columnDrive[j] {
                let k = index(tile, i, j)
                g[tile][s][k] = min(gMax, max(gMin, g[tile][s][k] + Double(rowDrive[i]) * step))
                hits += 1
            }
        }
        slotsFired += 1
        nanoseconds += UInt64(widthNanoseconds)
        return hits
    }

    /// Every DC step applied: voltage and compliance, in order.
    var dcSteps: [(voltage: Volts, compliance: Amperes)] = []
    /// An ideal current limiter on an ohmic device: I = V·G, |I| ≤ compliance; a step at or above
    /// 1 V moves the device by one `step` in its direction (before the current is converted).
    mutating func applyDC(
        tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts, compliance: Amperes, dwellNanoseconds: UInt32, currentFullScale: Amperes
    ) -> DCMeasurement {
        let k = index(tile, row, column)
        let s = Int(side.rawValue)
        if abs(voltage.value) >= 1 { g[tile][s][k] = min(gMax, max(gMin, g[tile][s][k] + (voltage.value > 0 ? step : -step))) }
        let ideal = voltage.value * g[tile][s][k]
        let limited = abs(ideal) > compliance.value
        let current = limited ? (ideal < 0 ? -compliance.value : compliance.value) : ideal
        let lsb = currentFullScale.value / Double(hardware.adcMaxCode)
        dcSteps.append((voltage, compliance))
        nanoseconds += UInt64(dwellNanoseconds)
        return DCMeasurement(voltage: voltage, currentCode: Int16((current / lsb).rounded()), limited: limited)
    }

    mutating func setMarkers(_ value: UInt8) { markerHistory.append(value) }
    mutating func readTemperature() -> Kelvin { temperature }
}
