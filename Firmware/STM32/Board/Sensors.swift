/// TMP117 digital temperature sensor (Texas Instruments) at I²C address 0x48 (ADD0 to ground),
/// glued to the crossbar package: ±0.1 °C, 7.8125 m°C per LSB, continuous conversion.
struct TMP117: Sendable {
    let bus: I2CBus
    static let address: UInt8 = 0x48
    static let temperatureResult: UInt8 = 0x00, configuration: UInt8 = 0x01, deviceID: UInt8 = 0x0F

    /// True when the device answers with its ID (0x117 in the low 12 bits).
    func identify() -> Bool {
        guard let id = bus.read(Self.address, register: Self.deviceID, count: 2) else { return false }
        return (UInt16(id[0]) << 8 | UInt16(id[1])) & 0x0FFF == 0x117
    }

    /// The last conversion, or nil when the sensor does not answer.
    func temperature() -> Kelvin? {
        guard let raw = bus.read(Self.address, register: Self.temperatureResult, count: 2) else { return nil }
        let counts = Int16(bitPattern: UInt16(raw[0]) << 8 | UInt16(raw[1]))
        return Kelvin(Double(counts) * 7.8125e-3 + 273.15)
    }
}

/// INA228 20-bit power and energy monitor (Texas Instruments) at I²C address 0x40, on a 0.1 Ω
/// shunt in the board's analog supply: it integrates energy and charge in hardware, so the board
/// can account for its own consumption next to the bench meter.
///
/// Calibration (datasheet §8.1.2): CURRENT_LSB = I_max / 2¹⁹; SHUNT_CAL = 13107.2 × 10⁶ ·
/// CURRENT_LSB · R_shunt (ADCRANGE = 0, ±163.84 mV). With SHUNT_CAL = 1000 and 0.1 Ω,
/// CURRENT_LSB = 763 nA (full scale 0.4 A); power = 3.2 · CURRENT_LSB · POWER, energy =
/// 16 · 3.2 · CURRENT_LSB · ENERGY, bus voltage = VBUS[23:4] · 195.3125 µV.
struct INA228: Sendable {
    let bus: I2CBus
    static let address: UInt8 = 0x40
    static let shuntCalibration: UInt16 = 1000
    static let shunt = Ohms(0.1)

    enum RegisterAddress: UInt8 {
        case configuration = 0x00, adcConfiguration = 0x01, shuntCalibration = 0x02
        case busVoltage = 0x05, current = 0x07, power = 0x08, energy = 0x09, charge = 0x0A
        case manufacturerID = 0x3E, deviceID = 0x3F
    }

    /// Amperes per CURRENT count.
    static var currentLSB: Amperes { Amperes(Double(shuntCalibration) / (13_107.2e6 * shunt.value)) }

    private func write(_ r: RegisterAddress, _ value: UInt16) -> Bool {
        bus.write(Self.address, [r.rawValue, UInt8(value >> 8), UInt8(value & 0xFF)])
    }

    private func read(_ r: RegisterAddress, bytes: Int) -> UInt64? {
        guard let raw = bus.read(Self.address, register: r.rawValue, count: bytes) else { return nil }
        return raw.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Resets the device, checks its IDs (0x5449 "TI", device 0x228x), calibrates the shunt and
    /// starts continuous bus, shunt and temperature conversions (1052 µs each, 16-sample
    /// averages). Returns whether the device answered correctly.
    func start() -> Bool {
        guard write(.configuration, 0x8000),
              read(.manufacturerID, bytes: 2) == 0x5449,
              let device = read(.deviceID, bytes: 2), device >> 4 == 0x228
        else { return false }
        let adc: UInt16 = 0xF << 12 | 5 << 9 | 5 << 6 | 5 << 3 | 2
        return write(.shuntCalibration, Self.shuntCalibration) && write(.adcConfiguration, adc)
    }

    /// Zeroes the energy and charge accumulators (CONFIG.RSTACC).
    func clearAccumulators() -> Bool { write(.configuration, 1 << 14) }

    /// Energy drawn since the accumulators were cleared.
    func energy() -> Joules? {
        read(.energy, bytes: 5).map { Joules(16 * 3.2 * Self.currentLSB.value * Double($0)) }
    }

    /// Power now (the last conversion).
    func power() -> Watts? {
        read(.power, bytes: 3).map { Watts(3.2 * Self.currentLSB.value * Double($0)) }
    }

    /// Supply voltage now.
    func busVoltage() -> Volts? {
        read(.busVoltage, bytes: 3).map { Volts(Double($0 >> 4) * 195.3125e-6) }
    }
}
