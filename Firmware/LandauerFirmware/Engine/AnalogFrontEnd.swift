/// What the hardware behind an analog front end is: fixed at build or power-up.
public struct FrontEndDescription: Equatable, Sendable {
    /// Board serial number, printable ASCII, at most 32 bytes.
    public var serial: [UInt8]
    /// Microcontroller core clock in hertz.
    public var clockHertz: UInt32
    /// Input DAC resolution in bits; codes are signed, ±(2^(bits−1) − 1).
    public var dacBits: UInt8
    /// Output ADC resolution in bits; codes are signed, ±(2^(bits−1) − 1).
    public var adcBits: UInt8
    /// Number of marker lines (GPIO) the board drives.
    public var markerLines: UInt8
    /// The crossbar tiles: geometry and matrix-vector output full scale.
    public var tiles: [TileInfo]
    /// Device current at full-scale code in a single-device read.
    public var deviceReadFullScale: Amperes
    /// What the hardware can safely do; the firmware's limits never exceed these.
    public var absoluteLimits: SafetyLimits
    /// The largest request or response body the firmware's buffers hold, in bytes (at most the
    /// protocol's 65 535). A microcontroller with little RAM reports less; the host splits batches.
    public var maxFrameBody: UInt16
    /// Device current at the full-scale code of a sweep step's current conversion (`applyDC`):
    /// the range the front end converts forming and I-V currents in, at least the absolute
    /// compliance so a limited current is still on scale.
    public var sweepCurrentFullScale: Amperes
    /// The full scales the sweep-current conversion can switch between, ascending, the last one
    /// `sweepCurrentFullScale`. A sweep converts in the smallest range at or above its compliance
    /// (as a source-measure unit's current range follows its compliance), so a low compliance is
    /// measured finely and a limited current still reads on scale.
    public var sweepCurrentRanges: [Amperes]

    /// Describes the hardware; `sweepCurrentFullScale` defaults to the absolute compliance current,
    /// `sweepCurrentRanges` to that one range (ranges above the full scale are dropped).
    public init(
        serial: [UInt8], clockHertz: UInt32, dacBits: UInt8, adcBits: UInt8, markerLines: UInt8,
        tiles: [TileInfo], deviceReadFullScale: Amperes, absoluteLimits: SafetyLimits,
        maxFrameBody: UInt16 = UInt16(Frame.maxBody), sweepCurrentFullScale: Amperes? = nil, sweepCurrentRanges: [Amperes] = []
    ) {
        self.maxFrameBody = maxFrameBody
        let top = sweepCurrentFullScale ?? absoluteLimits.complianceCurrent
        self.sweepCurrentFullScale = top
        var ranges: [Amperes] = []
        for r in sweepCurrentRanges where r.value > 0 && r.value < top.value && (ranges.isEmpty || r.value > ranges[ranges.count - 1].value) {
            ranges.append(r)
        }
        ranges.append(top)
        self.sweepCurrentRanges = ranges
        self.serial = serial
        self.clockHertz = clockHertz
        self.dacBits = dacBits
        self.adcBits = adcBits
        self.markerLines = markerLines
        self.tiles = tiles
        self.deviceReadFullScale = deviceReadFullScale
        self.absoluteLimits = absoluteLimits
    }

    /// Largest DAC code magnitude.
    @inlinable public var dacMaxCode: Int16 { Int16((1 << Int(dacBits - 1)) - 1) }
    /// Largest ADC code magnitude.
    @inlinable public var adcMaxCode: Int16 { Int16((1 << Int(adcBits - 1)) - 1) }

    /// The sweep-current range for `compliance`: the smallest at or above it (to one part in a
    /// million, the wire's single precision), else the largest.
    public func sweepCurrentRange(for compliance: Amperes) -> Amperes {
        for r in sweepCurrentRanges where r.value >= compliance.value * (1 - 1e-6) { return r }
        return sweepCurrentFullScale
    }
}

/// What one DC step on a single device measured (`AnalogFrontEnd.applyDC`).
public struct DCMeasurement: Equatable, Sendable {
    /// The voltage the drivers actually applied across the device (the DAC's realisation of the
    /// requested one).
    public var voltage: Volts
    /// The device current at the end of the step, as a signed ADC code of the sweep's current
    /// range (code k stands for k × range / (2^(adcBits−1) − 1)).
    public var currentCode: Int16
    /// True when the current limiter held the device current at the compliance during the step.
    public var limited: Bool
    /// Creates a measurement.
    public init(voltage: Volts, currentCode: Int16, limited: Bool) {
        self.voltage = voltage
        self.currentCode = currentCode
        self.limited = limited
    }
}

/// The small hardware interface the firmware engine is written against: converters, switches,
/// the pulse timer, marker lines, the temperature sensor and the core's own time. Idle time
/// between requests (waiting for the link) is the port's business, not the engine's.
///
/// On the microcontroller it drives real peripherals; in the simulator it is a virtual analog
/// front end on device physics. Either way the engine is the same code. Calls return when the
/// operation is complete, so the board's timer (`nanoseconds`) has advanced by its duration.
///
/// Crossbar conventions: tile `t` has `rows × columns` weights, each a differential pair of
/// devices (G⁺, G⁻) in separate physical columns. A forward read drives rows and senses the
/// differential column currents I_j = Σᵢ Vᵢ·(G⁺ᵢⱼ − G⁻ᵢⱼ); a transposed read drives the G⁺ column
/// of pair j at +V_j and its G⁻ column at −V_j, and senses rows, I_i = Σⱼ Vⱼ·(G⁺ᵢⱼ − G⁻ᵢⱼ).
/// Positive device voltage potentiates (raises conductance), negative depresses.
public protocol AnalogFrontEnd {
    /// The hardware's description.
    var hardware: FrontEndDescription { get }

    /// The board timer: nanoseconds since power-up.
    var nanoseconds: UInt64 { get }

    /// Accounts for firmware work: the core is active for `cycles` clock cycles.
    mutating func run(cycles: UInt32)

    /// Sets the input DACs of `tile` and closes the input switches: rows for a forward read,
    /// columns for a transposed one. `codes` has one code per input line; code c drives
    /// c / (2^(dacBits−1) − 1) × `fullScale`.
    mutating func driveInputs(
        tile: Int, orientation: ReadOrientation, codes: UnsafeBufferPointer<Int16>, fullScale: Volts)

    /// Integrates the output currents over the read window and converts every output line with
    /// the ADCs, writing signed codes (clipped to ±(2^(adcBits−1) − 1)) into `codes`; then
    /// releases the inputs to 0 V. Returns how many outputs clipped.
    mutating func convertOutputs(
        tile: Int, orientation: ReadOrientation, into codes: UnsafeMutableBufferPointer<Int16>) -> UInt32

    /// Reads one device: applies `voltage` across it alone and converts its current in the
    /// device-read range. Returns the signed ADC code.
    mutating func readDevice(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts) -> Int16

    /// Fires one programming pulse on one device: `polarity` +1 applies +`amplitude` (potentiate),
    /// −1 applies −`amplitude` (depress), for `widthNanoseconds`, current limited to `compliance`.
    mutating func pulse(
        tile: Int, row: Int, column: Int, side: DeviceSide, polarity: Int8, amplitude: Volts,
        widthNanoseconds: UInt32, compliance: Amperes)

    /// Fires one slot of a parallel update on the `side` devices of `tile`. Row i is driven at
    /// rowDrive[i]·amplitude/2 and column j at −columnDrive[j]·amplitude/2 (drives are −1, 0, +1;
    /// 0 holds the line at 0 V), so device (i, j) sees (rowDrive[i] + columnDrive[j])·amplitude/2:
    /// full amplitude at a coincidence of equal drives, half amplitude when half-selected.
    /// Returns the number of devices that saw full amplitude.
    mutating func pulseSlot(
        tile: Int, side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>,
        columnDrive: UnsafeBufferPointer<Int8>, amplitude: Volts, widthNanoseconds: UInt32,
        compliance: Amperes) -> UInt32

    /// Applies `voltage` (signed: positive potentiates) across one device alone for
    /// `dwellNanoseconds`, with the drivers' current limiter set to `compliance` so that
    /// |I| ≤ `compliance` at every instant, converts the device current at the end of the step in
    /// the range `currentFullScale` (one of `sweepCurrentRanges`, chosen by the engine), and
    /// returns the lines to 0 V. The device may switch (form, SET,
    /// RESET) during the step. The engine has checked the voltage, the dwell and the compliance
    /// against its limits; the front end must still never let more than `compliance` flow.
    mutating func applyDC(
        tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts, compliance: Amperes,
        dwellNanoseconds: UInt32, currentFullScale: Amperes) -> DCMeasurement

    /// Drives the marker lines with `value` (bit k on line k).
    mutating func setMarkers(_ value: UInt8)

    /// Reads the temperature sensor.
    mutating func readTemperature() -> Kelvin
}
