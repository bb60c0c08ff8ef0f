/// What a virtual image is: the board it describes in INFO and the devices it models.
struct ModelProfile {
    /// Board serial number, printable ASCII.
    var serial: StaticString
    var dacBits: UInt8
    var adcBits: UInt8
    var tiles: [TileInfo]
    var deviceReadFullScale: Amperes
    var absoluteLimits: SafetyLimits
    /// Largest request or response body, sized to what the 128 KiB of SRAM holds.
    var maxFrameBody: UInt16
    /// How devices respond to pulses.
    var response: DeviceResponse
    /// Matrix-vector output code = Σ code × weight units / `outputDivisor`, truncated, clipped.
    var outputDivisor: Int32
    /// Seed of the device-to-device variation.
    var seed: UInt64
    /// Conductance window of every device, in units.
    var window: ClosedRange<Int16>
    /// The array temperature the sensor reports.
    var temperature: Kelvin

    /// The board QEMU runs in CI: the geometry, converters, limits, starting conductances and
    /// integer arithmetic of the host's driver-test front end
    /// (Tests/LandauerDriversTests/Support/TestFrontEnd.swift), so the same protocol-level checks
    /// hold for both: tile 0 is 8 × 4, tile 1 is 64 × 32, G⁺ starts at (cell index mod 5) units
    /// and G⁻ at 2, one unit per pulse, outputs Σ x·(G⁺ − G⁻) / 16.
    static let qemuReference = ModelProfile(
        serial: "LDR-QEMU-0001", dacBits: 8, adcBits: 12,
        tiles: [
            TileInfo(rows: 8, columns: 4, outputFullScale: Amperes(1e-5)),
            TileInfo(rows: 64, columns: 32, outputFullScale: Amperes(1e-4)),
        ],
        deviceReadFullScale: Amperes(1e-5),
        absoluteLimits: SafetyLimits(
            programVoltage: Volts(3.0), readVoltage: Volts(0.5), minPulseWidthNanoseconds: 10,
            maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(1e-4), maxPulsesPerRequest: 1000),
        maxFrameBody: 8192, response: .ideal, outputDivisor: 16, seed: 0x4C41_4E44_4155_4552,
        window: 0...2047, temperature: Kelvin(300.0))

    /// The same board with constant-step devices: each device moves by its own step of 2 … 6
    /// units per pulse, drawn from the seed, within a window of 0 … 64 units (built with
    /// `-D LANDAUER_CONSTANT_STEP`: `build.sh virtual-step`).
    static let qemuConstantStep: ModelProfile = {
        var p = qemuReference
        p.serial = "LDR-QEMU-STEP"
        p.response = .constantStep(mean: 4, spread: 2)
        p.window = 0...64
        return p
    }()

    /// A DC step of at least this magnitude moves a model device one step in its direction, as a
    /// pulse does; below it the device only conducts.
    static let dcSwitchingVoltage = Volts(1.0)

    static func initialPlus(_ k: Int) -> Int16 { Int16(k % 5) }
    static func initialMinus(_ k: Int) -> Int16 { 2 }
}

/// Time the model spends on each operation, like converters and pulse drivers would.
enum ModelTiming {
    static let dacSettleNanoseconds: UInt64 = 200
    static let integrationNanoseconds: UInt64 = 500
    static let conversionNanoseconds: UInt64 = 250
    static let deviceReadNanoseconds: UInt64 = 500
    static let pulseSetupNanoseconds: UInt64 = 100
}

/// An analog front end on integer model devices, for images without converters (QEMU): every
/// operation is exact integer arithmetic on the tiles' conductance units, takes its modelled time
/// on the real SysTick timebase, and drives the real marker lines.
struct ModelFrontEnd: AnalogFrontEnd {
    let hardware: FrontEndDescription
    let profile: ModelProfile
    let timebase: Timebase
    let markerLines: MarkerLines
    var tiles: [ModelTile]
    /// Codes driven by the last `driveInputs`, and how many.
    var driven: [Int16]
    var drivenCount = 0
    /// The marker value on the lines.
    var markers: UInt8 = 0

    init(profile: ModelProfile, clock: ClockTree, timebase: Timebase, markerLines: MarkerLines) {
        self.profile = profile
        self.timebase = timebase
        self.markerLines = markerLines
        var serial: [UInt8] = []
        profile.serial.withUTF8Buffer { serial.append(contentsOf: $0) }
        hardware = FrontEndDescription(
            serial: serial, clockHertz: clock.systemHertz, dacBits: profile.dacBits, adcBits: profile.adcBits,
            markerLines: MarkerLines.count, tiles: profile.tiles, deviceReadFullScale: profile.deviceReadFullScale,
            absoluteLimits: profile.absoluteLimits, maxFrameBody: profile.maxFrameBody)
        var generator = SplitMix64(seed: profile.seed)
        var built: [ModelTile] = []
        var widest = 0
        for t in profile.tiles {
            built.append(ModelTile(
                rows: Int(t.rows), columns: Int(t.columns), response: profile.response, window: profile.window,
                generator: &generator, initialPlus: ModelProfile.initialPlus, initialMinus: ModelProfile.initialMinus))
            widest = max(widest, Int(t.rows), Int(t.columns))
        }
        tiles = built
        driven = [Int16](repeating: 0, count: widest)
    }

    var nanoseconds: UInt64 { timebase.nanoseconds }

    /// The core really spends the engine's cycles; nothing to account for.
    mutating func run(cycles: UInt32) {}

    mutating func driveInputs(tile: Int, orientation: ReadOrientation, codes: UnsafeBufferPointer<Int16>, fullScale: Volts) {
        for i in 0..<codes.count { driven[i] = codes[i] }
        drivenCount = codes.count
        timebase.wait(nanoseconds: ModelTiming.dacSettleNanoseconds)
    }

    mutating func convertOutputs(tile: Int, orientation: ReadOrientation, into codes: UnsafeMutableBufferPointer<Int16>) -> UInt32 {
        timebase.wait(nanoseconds: ModelTiming.integrationNanoseconds)
        let maxCode = Int32(hardware.adcMaxCode)
        let divisor = profile.outputDivisor
        let model = tiles[tile]
        let columns = model.columns
        let forward = orientation == .forward
        var saturated: UInt32 = 0
        for o in 0..<codes.count {
            var sum: Int32 = 0
            var k = forward ? o : o * columns
            let stride = forward ? columns : 1
            for i in 0..<drivenCount {
                sum &+= Int32(driven[i]) &* model.weight(k)
                k &+= stride
            }
            let code = sum / divisor
            if code > maxCode || code < -maxCode { saturated &+= 1 }
            codes[o] = Int16(min(maxCode, max(-maxCode, code)))
        }
        drivenCount = 0
        timebase.wait(nanoseconds: ModelTiming.conversionNanoseconds &* UInt64((codes.count + 7) / 8))
        return saturated
    }

    mutating func readDevice(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts) -> Int16 {
        timebase.wait(nanoseconds: ModelTiming.deviceReadNanoseconds)
        let k = row * tiles[tile].columns + column
        return side == .plus ? tiles[tile].plus[k] : tiles[tile].minus[k]
    }

    mutating func pulse(
        tile: Int, row: Int, column: Int, side: DeviceSide, polarity: Int8, amplitude: Volts, widthNanoseconds: UInt32,
        compliance: Amperes
    ) {
        tiles[tile].step(row * tiles[tile].columns + column, side: side, direction: Int(polarity))
        timebase.wait(nanoseconds: ModelTiming.pulseSetupNanoseconds &+ UInt64(widthNanoseconds))
    }

    mutating func pulseSlot(
        tile: Int, side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>, columnDrive: UnsafeBufferPointer<Int8>,
        amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes
    ) -> UInt32 {
        let columns = tiles[tile].columns
        var full: UInt32 = 0
        for i in 0..<rowDrive.count where rowDrive[i] != 0 {
            for j in 0..<columnDrive.count {
                let level = Int(rowDrive[i]) + Int(columnDrive[j])
                if level == 2 || level == -2 {
                    tiles[tile].step(i * columns + j, side: side, direction: level / 2)
                    full &+= 1
                }
            }
        }
        timebase.wait(nanoseconds: ModelTiming.pulseSetupNanoseconds &+ UInt64(widthNanoseconds))
        return full
    }

    /// A DC step on a model device: a step at or above `dcSwitchingVoltage` first moves the device
    /// one step in its direction, then its current is Ohmic at its conductance, one unit being
    /// deviceReadFullScale / (2^(adcBits−1) − 1) / readVoltage limit siemens (so a read at the
    /// limit returns the units), limited to the compliance, and converted in the sweep range with
    /// round-half-away-from-zero. The same arithmetic as the host's driver-test front end.
    mutating func applyDC(
        tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts, compliance: Amperes, dwellNanoseconds: UInt32,
        currentFullScale: Amperes
    ) -> DCMeasurement {
        let k = row * tiles[tile].columns + column
        if voltage.magnitude >= ModelProfile.dcSwitchingVoltage {
            tiles[tile].step(k, side: side, direction: voltage.value > 0 ? 1 : -1)
        }
        let units = side == .plus ? tiles[tile].plus[k] : tiles[tile].minus[k]
        timebase.wait(nanoseconds: ModelTiming.pulseSetupNanoseconds &+ UInt64(dwellNanoseconds) &+ ModelTiming.conversionNanoseconds)
        let maxCode = Double(hardware.adcMaxCode)
        let unit = hardware.deviceReadFullScale.value / maxCode / hardware.absoluteLimits.readVoltage.value
        let ideal = Double(units) * unit * voltage.value
        let limited = ideal >= compliance.value || -ideal >= compliance.value
        let current = limited ? (ideal < 0 ? -compliance.value : compliance.value) : ideal
        var x = current / (currentFullScale.value / maxCode)
        x = max(-maxCode, min(maxCode, x))
        let code = x < 0 ? -Int16(-x + 0.5) : Int16(x + 0.5)
        return DCMeasurement(voltage: voltage, currentCode: code, limited: limited)
    }

    mutating func setMarkers(_ value: UInt8) {
        markers = value
        markerLines.drive(value)
    }

    mutating func readTemperature() -> Kelvin { profile.temperature }
}
