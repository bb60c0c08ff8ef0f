/// The Landauer reference board (docs/hardware.md): pins, parts and analog scales.
enum ReferenceBoard {
    /// One crossbar tile: 32 rows × 16 weight columns, i.e. 32 × 32 physical devices.
    static let rows = 32
    static let physicalColumns = 32
    static var weightColumns: Int { physicalColumns / 2 }
    /// Crossbar lines: rows, then physical columns.
    static var lines: Int { rows + physicalColumns }

    /// Line drivers: ±0.5 V from the DACs' 0–2.5 V (level shifter gain 0.4 around 1.25 V).
    static let lineFullScale = Volts(0.5)
    /// Transimpedance of every sense amplifier.
    static let transimpedance = Ohms(10_000)
    /// ADC full scale in matrix-vector reads (±5.12 V over 10 kΩ) and in single-device reads (±2.56 V).
    static let outputFullScale = Amperes(5.12 / 10_000)
    static let deviceReadFullScale = Amperes(2.56 / 10_000)

    /// What the hardware can do without harm (docs/hardware.md, "Safe limits").
    static let absoluteLimits = SafetyLimits(
        programVoltage: Volts(3.0), readVoltage: Volts(0.3), minPulseWidthNanoseconds: 100,
        maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(100e-6), maxPulsesPerRequest: 100_000)

    /// Switches settle (ADG1414 on/off, line capacitance) before a read or a pulse.
    static let switchSettleNanoseconds: UInt64 = 2_000
    /// DAC outputs settle (AD5676R, 5 µs to ½ LSB) before a conversion.
    static let dacSettleNanoseconds: UInt64 = 5_000
    /// A DC step keeps the bus gate open this much longer than its dwell, so the ADS8688's
    /// conversion at the end of the dwell (a few µs at 10.5 MHz) happens under bias.
    static let conversionGuardNanoseconds: UInt64 = 20_000
    /// A DC step counts as compliance-limited when its current is within this fraction of the
    /// limit (the bus drivers' limiter has no status line; 2 % covers its accuracy and the ADC's).
    static let limitedFraction = 0.98

    // SPI1 (PB3 SCK, PB4 MISO, PB5 MOSI, AF5): AD5676R chain, SYNC PD0, LDAC PD1.
    // SPI2 (PB13 SCK, PB14 MISO, PB15 MOSI, AF5): ADS8688 ×4, CS PD2–PD5.
    // SPI3 (PC10 SCK, PC11 MISO, PC12 MOSI, AF6): ADG1414 chain, SYNC PD7.
    static let dacDevices = 4
    static let adcDevices = 4
}

/// The serial number: "LDR-" and eight hex digits folded from the STM32's 96-bit unique device
/// ID (RM0090 §39.1, at 0x1FFF7A10).
func boardSerial() -> [UInt8] {
    let id = Peripheral(0x1FFF_7A10)
    let folded = id[0].read() ^ id[4].read() ^ id[8].read()
    var serial: [UInt8] = Array("LDR-".utf8)
    let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
    for shift in stride(from: 28, through: 0, by: -4) {
        serial.append(digits[Int((folded >> UInt32(shift)) & 0xF)])
    }
    return serial
}

/// The analog front end of the reference board: AD5676R line DACs, ADS8688 ADCs behind
/// transimpedance amplifiers, an ADG1414 switch matrix, the programming buses gated by TIM1,
/// marker lines to the meter, a TMP117 on the array and an INA228 on the supply.
///
/// Between operations every line is connected to its sense amplifier, i.e. held at virtual
/// ground, and every DAC sits at 0 V: nothing is biased while the board waits.
struct ReferenceFrontEnd: AnalogFrontEnd {
    let hardware: FrontEndDescription
    let timebase: Timebase
    let markerLines: MarkerLines
    let dacs: AD5676Chain
    let adcs: [ADS8688]
    let switches: SwitchMatrix
    let pulses: PulseGenerator
    let thermometer: TMP117
    let supply: INA228
    /// Whether the INA228 answered at start-up.
    let supplyMonitored: Bool

    private var dacWords: [UInt16]
    private var connections: [SwitchMatrix.Connection]
    private var adcCodes: [Int32]
    private var lastTemperature = Kelvin(0)

    init(clock: ClockTree, timebase: Timebase, markerLines: MarkerLines) {
        self.timebase = timebase
        self.markerLines = markerLines
        let b = ReferenceBoard.self
        hardware = FrontEndDescription(
            serial: boardSerial(), clockHertz: clock.systemHertz, dacBits: 16, adcBits: 16, markerLines: MarkerLines.count,
            tiles: [TileInfo(rows: UInt16(b.rows), columns: UInt16(b.weightColumns), outputFullScale: b.outputFullScale)],
            deviceReadFullScale: b.deviceReadFullScale, absoluteLimits: b.absoluteLimits, maxFrameBody: 8192,
            sweepCurrentFullScale: b.deviceReadFullScale)

        ClockGate.spi1.enable()
        ClockGate.spi2.enable()
        ClockGate.spi3.enable()
        configureSPIPins(.b, [3, 4, 5], function: 5)
        configureSPIPins(.b, [13, 14, 15], function: 5)
        configureSPIPins(.c, [10, 11, 12], function: 6)
        let dacBus = SPIBus(base: 0x4001_3000), adcBus = SPIBus(base: 0x4000_3800), switchBus = SPIBus(base: 0x4000_3C00)
        dacBus.configure(mode: .mode2, divider: 1)  // 84 MHz / 4 = 21 MHz (AD5676R: 50 MHz max)
        adcBus.configure(mode: .mode1, divider: 1)  // 42 MHz / 4 = 10.5 MHz (ADS8688: 17 MHz max)
        switchBus.configure(mode: .mode2, divider: 1)  // 10.5 MHz (ADG1414: 50 MHz max)

        dacs = AD5676Chain(bus: dacBus, sync: ChipSelect(port: .d, pin: 0), ldac: ChipSelect(port: .d, pin: 1), devices: b.dacDevices)
        adcs = (0..<b.adcDevices).map { ADS8688(bus: adcBus, select: ChipSelect(port: .d, pin: UInt32(2 + $0))) }
        switches = SwitchMatrix(bus: switchBus, sync: ChipSelect(port: .d, pin: 7), lines: b.lines)
        pulses = PulseGenerator.start(timerHertz: clock.apb2Hertz * 2)
        let i2c = I2CBus.start(apb1Hertz: clock.apb1Hertz)
        thermometer = TMP117(bus: i2c)
        supply = INA228(bus: i2c)

        dacs.start()
        for adc in adcs { adc.start(range: .bipolar1_25) }
        switches.start()
        supplyMonitored = supply.start()
        dacWords = [UInt16](repeating: AD5676Chain.midScale, count: b.dacDevices * AD5676Chain.channelsPerDevice)
        connections = [SwitchMatrix.Connection](repeating: .sense, count: b.lines)
        adcCodes = [Int32](repeating: 0, count: b.physicalColumns)
    }

    var nanoseconds: UInt64 { timebase.nanoseconds }

    /// The core really spends the engine's cycles; nothing to account for.
    mutating func run(cycles: UInt32) {}

    /// The DAC word for a signed line code at `scale` = full scale / line full scale (≤ 1).
    @inline(__always) static func dacWord(_ code: Int32, maxCode: Int32, scale: Double) -> UInt16 {
        let offset = Int32(Double(code) * scale * 32767 / Double(maxCode))
        return UInt16(truncatingIfNeeded: 0x8000 &+ max(-32767, min(32767, offset)))
    }

    /// Every line back to its sense amplifier, every DAC to 0 V.
    private mutating func release() {
        for k in 0..<dacWords.count { dacWords[k] = AD5676Chain.midScale }
        dacs.load(&dacWords)
        for l in 0..<connections.count { connections[l] = .sense }
        switches.apply(&connections)
    }

    mutating func driveInputs(tile: Int, orientation: ReadOrientation, codes: UnsafeBufferPointer<Int16>, fullScale: Volts) {
        let scale = fullScale / ReferenceBoard.lineFullScale
        let maxCode = Int32(hardware.dacMaxCode)
        let rows = ReferenceBoard.rows
        if orientation == .forward {
            for r in 0..<codes.count {
                dacWords[r] = Self.dacWord(Int32(codes[r]), maxCode: maxCode, scale: scale)
                connections[r] = .drive
            }
            for c in 0..<ReferenceBoard.physicalColumns { connections[rows + c] = .sense }
        } else {
            // Pair j: its G⁺ column at +V_j, its G⁻ column at −V_j; the rows are sensed.
            for j in 0..<codes.count {
                dacWords[2 * j] = Self.dacWord(Int32(codes[j]), maxCode: maxCode, scale: scale)
                dacWords[2 * j + 1] = Self.dacWord(-Int32(codes[j]), maxCode: maxCode, scale: scale)
                connections[rows + 2 * j] = .drive
                connections[rows + 2 * j + 1] = .drive
            }
            for r in 0..<rows { connections[r] = .sense }
        }
        dacs.load(&dacWords)
        switches.apply(&connections)
        timebase.wait(nanoseconds: ReferenceBoard.dacSettleNanoseconds)
    }

    /// Converts TIA channels `first ..< first + count` (channel k is input k mod 8 of ADC k / 8),
    /// as signed codes oriented so that current into the line is positive (the amplifiers invert).
    private mutating func convert(first: Int, count: Int) {
        var channels: [Int] = []
        var codes = [Int32](repeating: 0, count: 8)
        var k = first
        while k < first + count {
            let adc = k / 8
            channels.removeAll(keepingCapacity: true)
            while k < first + count && k / 8 == adc {
                channels.append(k % 8)
                k += 1
            }
            adcs[adc].convert(channels: channels, into: &codes)
            for (i, ch) in channels.enumerated() { adcCodes[adc * 8 + ch] = -codes[i] }
        }
    }

    mutating func convertOutputs(tile: Int, orientation: ReadOrientation, into codes: UnsafeMutableBufferPointer<Int16>) -> UInt32 {
        let maxCode = Int32(hardware.adcMaxCode)
        var saturated: UInt32 = 0
        func clip(_ value: Int32) -> Int16 {
            if value > maxCode || value < -maxCode { saturated &+= 1 }
            return Int16(max(-maxCode, min(maxCode, value)))
        }
        if orientation == .forward {
            convert(first: 0, count: ReferenceBoard.physicalColumns)
            for j in 0..<codes.count { codes[j] = clip(adcCodes[2 * j] &- adcCodes[2 * j + 1]) }
        } else {
            convert(first: 0, count: ReferenceBoard.rows)
            for i in 0..<codes.count { codes[i] = clip(adcCodes[i]) }
        }
        release()
        return saturated
    }

    mutating func readDevice(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts) -> Int16 {
        let line = 2 * column + Int(side.rawValue)
        let adc = adcs[line / 8]
        adc.setRange(channel: line % 8, .bipolar0_625)
        dacWords[row] = Self.dacWord(1, maxCode: 1, scale: voltage / ReferenceBoard.lineFullScale)
        connections[row] = .drive  // every other line stays at virtual ground
        dacs.load(&dacWords)
        switches.apply(&connections)
        timebase.wait(nanoseconds: ReferenceBoard.dacSettleNanoseconds)
        convert(first: line, count: 1)
        adc.setRange(channel: line % 8, .bipolar1_25)
        release()
        return Int16(max(-32767, min(32767, adcCodes[line])))
    }

    /// Routes rows and physical columns to the programming buses and fires one gated pulse.
    /// A line at +1 is on bus A (+V/2), at −1 on bus B (−V/2), at 0 held at 0 V by its DAC; a
    /// column's drive is negated, so device (i, j) sees (row_i + column_j)·V/2.
    private mutating func fire(
        rowDrive: (Int) -> Int8, columnDrive: (Int) -> Int8, amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes
    ) {
        func connection(_ drive: Int8) -> SwitchMatrix.Connection {
            drive > 0 ? .busA : drive < 0 ? .busB : .drive
        }
        for r in 0..<ReferenceBoard.rows { connections[r] = connection(rowDrive(r)) }
        for c in 0..<ReferenceBoard.physicalColumns { connections[ReferenceBoard.rows + c] = connection(-columnDrive(c)) }
        pulses.set(amplitude: amplitude, compliance: compliance)
        switches.apply(&connections)
        timebase.wait(nanoseconds: ReferenceBoard.switchSettleNanoseconds)
        pulses.fire(widthNanoseconds: widthNanoseconds)
        pulses.set(amplitude: .zero, compliance: .zero)
        for l in 0..<connections.count { connections[l] = .sense }
        switches.apply(&connections)
    }

    mutating func pulse(
        tile: Int, row: Int, column: Int, side: DeviceSide, polarity: Int8, amplitude: Volts, widthNanoseconds: UInt32,
        compliance: Amperes
    ) {
        let line = 2 * column + Int(side.rawValue)
        fire(
            rowDrive: { $0 == row ? polarity : 0 }, columnDrive: { $0 == line ? polarity : 0 },
            amplitude: amplitude, widthNanoseconds: widthNanoseconds, compliance: compliance)
    }

    mutating func pulseSlot(
        tile: Int, side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>, columnDrive: UnsafeBufferPointer<Int8>,
        amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes
    ) -> UInt32 {
        var full: UInt32 = 0
        for i in 0..<rowDrive.count where rowDrive[i] != 0 {
            for j in 0..<columnDrive.count where columnDrive[j] == rowDrive[i] { full &+= 1 }
        }
        let s = Int(side.rawValue)
        fire(
            rowDrive: { rowDrive[$0] }, columnDrive: { $0 % 2 == s ? columnDrive[$0 / 2] : 0 },
            amplitude: amplitude, widthNanoseconds: widthNanoseconds, compliance: compliance)
        return full
    }

    /// A single-device DC step: the device's row on bus A (V > 0) or bus B (V < 0) at |V| (DAC1 at
    /// 2|V|, so |V| ≤ 1.65 V: the realised bus voltage is what is reported), its physical column
    /// on its sense amplifier (virtual ground, ±2.56 V range: 256 µA full scale), every other line
    /// floating. The bus drivers' current limit is set to the compliance (DAC2 / 10 kΩ), so the
    /// hardware holds |I| ≤ I_c. The gate stays open for the dwell plus a conversion guard, and the
    /// current is converted at the end of the dwell, under bias.
    mutating func applyDC(
        tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts, compliance: Amperes, dwellNanoseconds: UInt32,
        currentFullScale: Amperes
    ) -> DCMeasurement {
        let line = 2 * column + Int(side.rawValue)
        let bus = PulseGenerator.busVoltage(forMagnitude: voltage.magnitude)
        let applied = voltage.value < 0 ? Volts(-bus.value) : bus
        for l in 0..<connections.count { connections[l] = .float }
        connections[row] = voltage.value < 0 ? .busB : .busA
        connections[ReferenceBoard.rows + line] = .sense
        let adc = adcs[line / 8]
        adc.setRange(channel: line % 8, .bipolar0_625)
        pulses.set(amplitude: bus * 2, compliance: compliance)
        switches.apply(&connections)
        timebase.wait(nanoseconds: ReferenceBoard.switchSettleNanoseconds)
        pulses.open(widthNanoseconds: UInt64(dwellNanoseconds) &+ ReferenceBoard.conversionGuardNanoseconds)
        timebase.wait(nanoseconds: UInt64(dwellNanoseconds))
        convert(first: line, count: 1)
        pulses.waitClosed()
        pulses.set(amplitude: .zero, compliance: .zero)
        adc.setRange(channel: line % 8, .bipolar1_25)
        release()
        let code = Int16(max(-32767, min(32767, adcCodes[line])))
        let lsb = currentFullScale.value / Double(hardware.adcMaxCode)
        let current = Double(code < 0 ? -Int32(code) : Int32(code)) * lsb
        return DCMeasurement(voltage: applied, currentCode: code, limited: current >= ReferenceBoard.limitedFraction * compliance.value)
    }

    mutating func setMarkers(_ value: UInt8) { markerLines.drive(value) }

    /// The TMP117's last conversion; if it stops answering, the last good reading (0 K before any).
    mutating func readTemperature() -> Kelvin {
        if let t = thermometer.temperature() { lastTemperature = t }
        return lastTemperature
    }
}
