import LandauerFirmware

/// A deterministic analog front end for driver tests: integer "conductances", exact integer
/// matrix-vector products, one conductance step per pulse, and a pulse counter.
struct TestFrontEnd: AnalogFrontEnd {
    /// Output codes are the integer product divided by this.
    static let outputDivisor = 16

    let hardware: FrontEndDescription
    var nanoseconds: UInt64 = 0
    /// Conductance units per tile and side, row-major: g[tile][side][row * columns + column].
    var g: [[[Int]]]
    /// Pulses fired at full amplitude, single or in outer-product slots.
    var pulseCount = 0
    var markers: UInt8 = 0
    private var driven: [Int16] = []

    static let limits = SafetyLimits(
        programVoltage: Volts(3.0), readVoltage: Volts(0.5), minPulseWidthNanoseconds: 10,
        maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(1e-4), maxPulsesPerRequest: 1000)

    /// Tile 0 is 8 × 4; tile 1 is 64 × 32 (the benchmark geometry).
    static let tiles = [
        TileInfo(rows: 8, columns: 4, outputFullScale: Amperes(1e-5)),
        TileInfo(rows: 64, columns: 32, outputFullScale: Amperes(1e-4)),
    ]

    init() {
        hardware = FrontEndDescription(
            serial: Array("TEST-0001".utf8), clockHertz: 100_000_000, dacBits: 8, adcBits: 12, markerLines: 8,
            tiles: Self.tiles, deviceReadFullScale: Amperes(1e-5), absoluteLimits: Self.limits)
        g = Self.tiles.map { t in
            let n = Int(t.rows) * Int(t.columns)
            return [(0..<n).map { Self.initialPlus($0) }, [Int](repeating: 2, count: n)]
        }
    }

    static func initialPlus(_ k: Int) -> Int { k % 5 }

    /// The weight G⁺ − G⁻ of a cell.
    func weight(tile: Int, row: Int, column: Int) -> Int {
        let k = row * Int(hardware.tiles[tile].columns) + column
        return g[tile][0][k] - g[tile][1][k]
    }

    /// The output codes a read of `inputs` should give (the same arithmetic, written plainly).
    func expectedOutputs(tile: Int, orientation: ReadOrientation, inputs: [Int16]) -> [Int16] {
        let t = hardware.tiles[tile]
        let (nIn, nOut) = orientation == .forward ? (Int(t.rows), Int(t.columns)) : (Int(t.columns), Int(t.rows))
        let maxCode = Int(hardware.adcMaxCode)
        // w[o][i]: the weight between output o and input i.
        let w = (0..<nOut).map { o in
            (0..<nIn).map { i in
                orientation == .forward ? weight(tile: tile, row: i, column: o) : weight(tile: tile, row: o, column: i)
            }
        }
        var out: [Int16] = []
        for v in 0..<(inputs.count / nIn) {
            let x = inputs[(v * nIn)..<((v + 1) * nIn)]
            for o in 0..<nOut {
                let sum = zip(x, w[o]).reduce(0) { $0 + Int($1.0) * $1.1 }
                out.append(Int16(max(-maxCode, min(maxCode, sum / Self.outputDivisor))))
            }
        }
        return out
    }

    mutating func run(cycles: UInt32) {
        nanoseconds &+= UInt64(cycles) * 1_000_000_000 / UInt64(hardware.clockHertz)
    }

    mutating func sleep(nanoseconds n: UInt64) { nanoseconds &+= n }

    mutating func driveInputs(tile: Int, orientation: ReadOrientation, codes: UnsafeBufferPointer<Int16>, fullScale: Volts) {
        driven = Array(codes)
    }

    mutating func convertOutputs(tile: Int, orientation: ReadOrientation, into codes: UnsafeMutableBufferPointer<Int16>)
        -> UInt32
    {
        let columns = Int(hardware.tiles[tile].columns)
        let maxCode = Int(hardware.adcMaxCode)
        var saturated: UInt32 = 0
        let forward = orientation == .forward
        g[tile][0].withUnsafeBufferPointer { plus in
            g[tile][1].withUnsafeBufferPointer { minus in
                driven.withUnsafeBufferPointer { x in
                    for o in 0..<codes.count {
                        var sum = 0
                        var k = forward ? o : o * columns
                        let stride = forward ? columns : 1
                        for i in 0..<x.count {
                            sum &+= Int(x[i]) &* (plus[k] &- minus[k])
                            k &+= stride
                        }
                        let code = sum / Self.outputDivisor
                        if code > maxCode || code < -maxCode { saturated += 1 }
                        codes[o] = Int16(max(-maxCode, min(maxCode, code)))
                    }
                }
            }
        }
        driven = []
        nanoseconds &+= 1_000
        return saturated
    }

    mutating func readDevice(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts) -> Int16 {
        nanoseconds &+= 500
        return Int16(g[tile][Int(side.rawValue)][row * Int(hardware.tiles[tile].columns) + column])
    }

    mutating func pulse(
        tile: Int, row: Int, column: Int, side: DeviceSide, polarity: Int8, amplitude: Volts, widthNanoseconds: UInt32,
        compliance: Amperes
    ) {
        g[tile][Int(side.rawValue)][row * Int(hardware.tiles[tile].columns) + column] += Int(polarity)
        pulseCount += 1
        nanoseconds &+= UInt64(widthNanoseconds)
    }

    mutating func pulseSlot(
        tile: Int, side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>, columnDrive: UnsafeBufferPointer<Int8>,
        amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes
    ) -> UInt32 {
        let columns = Int(hardware.tiles[tile].columns)
        var full: UInt32 = 0
        for i in 0..<rowDrive.count {
            for j in 0..<columnDrive.count {
                let level = Int(rowDrive[i]) + Int(columnDrive[j])
                if level == 2 || level == -2 {
                    g[tile][Int(side.rawValue)][i * columns + j] += level / 2
                    full += 1
                }
            }
        }
        pulseCount += Int(full)
        nanoseconds &+= UInt64(widthNanoseconds)
        return full
    }

    /// A DC step at or above this magnitude moves a device one unit in its direction.
    static let dcSwitchingVoltage = Volts(1.0)

    /// The QEMU model's DC step (Firmware/STM32/Virtual/ModelFrontEnd.swift), the same arithmetic:
    /// move one unit at |V| ≥ 1 V, then I = units × deviceReadFullScale / maxCode / readVoltage
    /// limit × V, limited to the compliance, converted with round-half-away-from-zero.
    mutating func applyDC(
        tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts, compliance: Amperes, dwellNanoseconds: UInt32,
        currentFullScale: Amperes
    ) -> DCMeasurement {
        let k = row * Int(hardware.tiles[tile].columns) + column
        let s = Int(side.rawValue)
        if voltage.magnitude >= Self.dcSwitchingVoltage { g[tile][s][k] += voltage.value > 0 ? 1 : -1 }
        nanoseconds &+= 100 &+ UInt64(dwellNanoseconds) &+ 250
        let (code, limited) = Self.dcCode(units: g[tile][s][k], voltage: voltage, compliance: compliance, hardware: hardware, currentFullScale: currentFullScale)
        return DCMeasurement(voltage: voltage, currentCode: code, limited: limited)
    }

    /// The current code and limiter flag of a model device of `units` at `voltage`.
    static func dcCode(units: Int, voltage: Volts, compliance: Amperes, hardware: FrontEndDescription, currentFullScale: Amperes) -> (Int16, Bool) {
        let maxCode = Double(hardware.adcMaxCode)
        let unit = hardware.deviceReadFullScale.value / maxCode / hardware.absoluteLimits.readVoltage.value
        let ideal = Double(units) * unit * voltage.value
        let limited = ideal >= compliance.value || -ideal >= compliance.value
        let current = limited ? (ideal < 0 ? -compliance.value : compliance.value) : ideal
        var x = current / (currentFullScale.value / maxCode)
        x = max(-maxCode, min(maxCode, x))
        return (x < 0 ? -Int16(-x + 0.5) : Int16(x + 0.5), limited)
    }

    mutating func setMarkers(_ value: UInt8) { markers = value }

    mutating func readTemperature() -> Kelvin { Kelvin(300.0) }
}
