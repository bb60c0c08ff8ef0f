import LandauerFirmware

/// Geometry and output range of one simulated tile.
public struct TileConfig: Sendable, Equatable {
    /// Rows (forward-read inputs).
    public var rows: Int
    /// Weight columns (forward-read outputs).
    public var columns: Int
    /// Differential current at the ADC's full-scale code; `nil` uses
    /// max(rows, columns) × G_max × the absolute read-voltage limit.
    public var outputFullScale: Amperes?

    /// Creates a tile configuration.
    public init(rows: Int, columns: Int, outputFullScale: Amperes? = nil) {
        self.rows = rows
        self.columns = columns
        self.outputFullScale = outputFullScale
    }
}

/// Everything that defines a simulated board: identity, converters, limits, device physics,
/// noise, timing, energy figures, link and seed. A value type, so a profile can be copied and
/// tweaked (`var c = VirtualBoardConfig.default; c.thermalNoise = false`).
///
/// The default profile is the "Landauer reference board": a bench board with a ReRAM crossbar
/// chip. Its per-event energies follow NeuroSim/ISAAC-class figures (physics.md); its
/// board-level rails (MCU, converter and regulator bias) are bench-board sized, a few to tens
/// of milliwatts.
public struct VirtualBoardConfig: Sendable, Equatable {
    // MARK: Identity and converters
    /// Profile name, for reports.
    public var name: String
    /// Board serial number (printable ASCII, at most 32 bytes).
    public var serial: String
    /// Microcontroller core clock.
    public var clock: Hertz
    /// Input DAC resolution in bits (signed codes ±(2^(bits−1) − 1)).
    public var dacBits: UInt8
    /// Output ADC resolution in bits.
    public var adcBits: UInt8
    /// Number of marker lines.
    public var markerLines: UInt8
    /// The tiles.
    public var tiles: [TileConfig]
    /// Device current at the full-scale code of a single-device read; `nil` uses
    /// G_max × the absolute read-voltage limit.
    public var deviceReadFullScale: Amperes?
    /// What the hardware can safely do.
    public var absoluteLimits: SafetyLimits
    /// The sweep-current conversion's ranges below the absolute compliance (which is always the
    /// top range): a sweep converts in the smallest at or above its compliance. Default 1-2-5
    /// steps from 1 µA, as a source-measure unit's current ranges.
    public var sweepCurrentRanges: [Amperes] = [1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6].map { Amperes($0) }

    // MARK: Devices
    /// The devices' conductance window.
    public var conductanceWindow: ConductanceWindow
    /// The device model and its parameters.
    public var deviceModel: DeviceModel
    /// Fraction of devices stuck at G_min or G_max (even odds), immune to pulses.
    public var stuckFraction: Double
    /// Starting conductance of every device; `nil` uses the model's own starting point.
    public var initialConductance: Siemens?
    /// Fresh, unformed devices that must be formed (with a compliance) before they switch;
    /// `nil` (the default) starts every device formed.
    public var forming: FormingParameters?

    // MARK: Noise
    /// Temperature of the array (sets the Johnson–Nyquist noise).
    public var temperature: Kelvin
    /// Johnson–Nyquist current noise on reads, 4·k_B·T·Δf·ΣG per output.
    public var thermalNoise: Bool
    /// Extra read noise σ as a fraction of the output full scale (amplifier, ADC input noise).
    public var readNoiseFraction: Double
    /// Read bandwidth Δf; `nil` uses 1/(2·readTime).
    public var readBandwidth: Hertz?
    /// Standard deviation of the temperature sensor's noise (before its 1/16 K quantisation).
    public var temperatureSensorNoise: Kelvin

    // MARK: Timing
    /// DAC settling time before a read integrates.
    public var dacSettleTime: Seconds
    /// Read integration window t_read.
    public var readTime: Seconds
    /// Time of one ADC conversion.
    public var adcConversionTime: Seconds
    /// ADCs per tile, shared by the outputs (conversions run in ⌈outputs / ADCs⌉ rounds).
    public var adcsPerTile: Int
    /// Pulse driver set-up time before each pulse or slot.
    public var pulseSetupTime: Seconds
    /// Time the temperature sensor takes to answer.
    public var temperatureReadTime: Seconds

    // MARK: Energy
    /// Board supply voltage (e.g. a PPK2 in source mode).
    public var supplyVoltage: Volts
    /// Energy of one DAC update (one driven line).
    public var dacUpdateEnergy: Joules
    /// Energy of one ADC conversion.
    public var adcConversionEnergy: Joules
    /// Capacitance of one row or column line, charged by each pulse (C·V² per pulse and line).
    public var lineCapacitance: Farads
    /// Microcontroller power while running firmware.
    public var mcuActivePower: Watts
    /// Microcontroller power while asleep.
    public var mcuSleepPower: Watts
    /// Always-on bias power of converters, references and regulators.
    public var quiescentPower: Watts

    // MARK: Waveform, link, randomness
    /// Bin width of the supply waveform.
    public var waveformBinWidth: Seconds
    /// Most waveform bins kept (older ones are dropped, their energy still counted in the total);
    /// `nil` keeps all. The default, 2²² bins (about 4 s at 1 µs, 32 MiB), bounds memory however
    /// long a request lasts; a meter drains the waveform as it samples it.
    public var waveformRetention: Int?
    /// Link throughput in bytes per second (USB full-speed CDC ≈ 1 MB/s).
    public var linkBytesPerSecond: Double
    /// Master seed of every random stream of the board.
    public var seed: UInt64

    /// Creates a configuration; every parameter defaults to the reference board's value.
    public init(
        name: String = "Landauer reference board",
        serial: String = "LDR-SIM-0001",
        clock: Hertz = Hertz(150e6),
        dacBits: UInt8 = 7,
        adcBits: UInt8 = 9,
        markerLines: UInt8 = 8,
        tiles: [TileConfig] = [TileConfig(rows: 64, columns: 32), TileConfig(rows: 32, columns: 10)],
        deviceReadFullScale: Amperes? = nil,
        absoluteLimits: SafetyLimits = VirtualBoardConfig.referenceLimits,
        conductanceWindow: ConductanceWindow = .default,
        deviceModel: DeviceModel = .expStep(.reram),
        stuckFraction: Double = 0,
        initialConductance: Siemens? = nil,
        forming: FormingParameters? = nil,
        temperature: Kelvin = Kelvin(300),
        thermalNoise: Bool = true,
        readNoiseFraction: Double = 0.001,
        readBandwidth: Hertz? = nil,
        temperatureSensorNoise: Kelvin = Kelvin(0.01),
        dacSettleTime: Seconds = Seconds(200e-9),
        readTime: Seconds = Seconds(500e-9),
        adcConversionTime: Seconds = Seconds(250e-9),
        adcsPerTile: Int = 8,
        pulseSetupTime: Seconds = Seconds(100e-9),
        temperatureReadTime: Seconds = Seconds(20e-6),
        supplyVoltage: Volts = Volts(3.3),
        dacUpdateEnergy: Joules = Joules(1e-12),
        adcConversionEnergy: Joules = Joules(1e-12),
        lineCapacitance: Farads = Farads(2e-12),
        mcuActivePower: Watts = Watts(30e-3),
        mcuSleepPower: Watts = Watts(1.5e-3),
        quiescentPower: Watts = Watts(10e-3),
        waveformBinWidth: Seconds = Seconds(1e-6),
        waveformRetention: Int? = 1 << 22,
        linkBytesPerSecond: Double = 1e6,
        seed: UInt64 = 0x4C41_4E44_4155_4552
    ) {
        self.name = name
        self.serial = serial
        self.clock = clock
        self.dacBits = dacBits
        self.adcBits = adcBits
        self.markerLines = markerLines
        self.tiles = tiles
        self.deviceReadFullScale = deviceReadFullScale
        self.absoluteLimits = absoluteLimits
        self.conductanceWindow = conductanceWindow
        self.deviceModel = deviceModel
        self.stuckFraction = stuckFraction
        self.initialConductance = initialConductance
        self.forming = forming
        self.temperature = temperature
        self.thermalNoise = thermalNoise
        self.readNoiseFraction = readNoiseFraction
        self.readBandwidth = readBandwidth
        self.temperatureSensorNoise = temperatureSensorNoise
        self.dacSettleTime = dacSettleTime
        self.readTime = readTime
        self.adcConversionTime = adcConversionTime
        self.adcsPerTile = adcsPerTile
        self.pulseSetupTime = pulseSetupTime
        self.temperatureReadTime = temperatureReadTime
        self.supplyVoltage = supplyVoltage
        self.dacUpdateEnergy = dacUpdateEnergy
        self.adcConversionEnergy = adcConversionEnergy
        self.lineCapacitance = lineCapacitance
        self.mcuActivePower = mcuActivePower
        self.mcuSleepPower = mcuSleepPower
        self.quiescentPower = quiescentPower
        self.waveformBinWidth = waveformBinWidth
        self.waveformRetention = waveformRetention
        self.linkBytesPerSecond = linkBytesPerSecond
        self.seed = seed
    }

    /// The reference board's hardware limits: program ≤ 3 V, read ≤ 0.5 V, pulses 10 ns … 1 ms,
    /// compliance 100 µA, at most 1 000 000 pulses per request.
    public static let referenceLimits = SafetyLimits(
        programVoltage: Volts(3), readVoltage: Volts(0.5), minPulseWidthNanoseconds: 10,
        maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(100e-6), maxPulsesPerRequest: 1_000_000)

    /// The "Landauer reference board": ReRAM ExpStep devices (aihwkit preset), 1–20 µS, thermal
    /// noise at 300 K plus 0.1 % extra read noise, realistic timing and energies.
    public static let `default` = VirtualBoardConfig()

    /// A board for exact tests: ideal linear devices, no noise of any kind, no stuck devices;
    /// everything else as the reference board.
    public static let ideal = VirtualBoardConfig(
        name: "Landauer ideal board", serial: "LDR-SIM-IDEAL", deviceModel: .ideal(IdealDeviceParameters()),
        thermalNoise: false, readNoiseFraction: 0, temperatureSensorNoise: Kelvin(0))

    // MARK: Derived values

    /// The read bandwidth in force: `readBandwidth`, or 1/(2·readTime).
    public var effectiveReadBandwidth: Hertz { readBandwidth ?? Hertz(1 / (2 * readTime.value)) }

    /// The output full scale of tile `index` in force.
    public func outputFullScale(ofTile index: Int) -> Amperes {
        let t = tiles[index]
        return t.outputFullScale
            ?? Amperes(Double(max(t.rows, t.columns)) * conductanceWindow.maximum.value * absoluteLimits.readVoltage.value)
    }

    /// The single-device read full scale in force.
    public var effectiveDeviceReadFullScale: Amperes {
        deviceReadFullScale ?? conductanceWindow.maximum * absoluteLimits.readVoltage
    }

    /// What the firmware learns about this hardware.
    public var frontEndDescription: FrontEndDescription {
        FrontEndDescription(
            serial: Array(serial.utf8), clockHertz: UInt32(clock.value.rounded()), dacBits: dacBits, adcBits: adcBits,
            markerLines: markerLines,
            tiles: tiles.indices.map { TileInfo(rows: UInt16(tiles[$0].rows), columns: UInt16(tiles[$0].columns), outputFullScale: outputFullScale(ofTile: $0)) },
            deviceReadFullScale: effectiveDeviceReadFullScale, absoluteLimits: absoluteLimits, sweepCurrentRanges: sweepCurrentRanges)
    }

    /// Energy of one SAR ADC conversion by NeuroSim's 32 nm model (`SarADC.cpp`):
    /// P = (1.1294·bits + 8.90) µW + 0.0794·e^(−2.297·log₁₀ R_col) µW, E = P·(bits + 1) ns.
    /// About 0.19 pJ at 9 bits; use it for `adcConversionEnergy` to model an on-chip ADC.
    public static func neuroSimSARConversionEnergy(bits: Int, columnResistance: Ohms) -> Joules {
        let b = Double(bits)
        let microwatts = 1.1294 * b + 8.90 + 0.0794 * LibM.exponential(-2.297 * LibM.decimalLog(columnResistance.value))
        return Joules(microwatts * 1e-6 * (b + 1) * 1e-9)
    }

    /// Checks the configuration; returns a description of each problem (empty when valid).
    public func problems() -> [String] {
        var p: [String] = []
        if serial.utf8.count > 32 { p.append("serial longer than 32 bytes") }
        if !serial.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { p.append("serial is not printable ASCII") }
        if clock.value < 1e3 || clock.value > 4e9 { p.append("clock outside 1 kHz … 4 GHz") }
        if dacBits < 2 || dacBits > 16 { p.append("dacBits outside 2 … 16") }
        if adcBits < 2 || adcBits > 16 { p.append("adcBits outside 2 … 16") }
        if markerLines > 8 { p.append("more than 8 marker lines") }
        if tiles.isEmpty { p.append("no tiles") }
        for (k, t) in tiles.enumerated() where t.rows < 1 || t.columns < 1 || t.rows > 65535 || t.columns > 65535 {
            p.append("tile \(k) has an invalid geometry")
        }
        if !(stuckFraction >= 0 && stuckFraction <= 1) { p.append("stuck fraction outside [0, 1]") }
        if let forming { p += forming.problems(window: conductanceWindow) }
        if !(temperature.value > 0) { p.append("temperature must be positive") }
        if !(readNoiseFraction >= 0) { p.append("read noise fraction must be non-negative") }
        if !(readTime.value > 0) { p.append("read time must be positive") }
        if adcsPerTile < 1 { p.append("need at least one ADC per tile") }
        if !(supplyVoltage.value > 0) { p.append("supply voltage must be positive") }
        if !(waveformBinWidth.value >= 1e-12) { p.append("waveform bin width below 1 ps") }
        if !(linkBytesPerSecond > 0) { p.append("link rate must be positive") }
        if let r = waveformRetention, r < 1 { p.append("waveform retention must be at least one bin") }
        for (name, e) in [("DAC", dacUpdateEnergy), ("ADC", adcConversionEnergy)] where !(e.value >= 0) {
            p.append("\(name) energy must be non-negative")
        }
        for (name, w) in [("MCU active", mcuActivePower), ("MCU sleep", mcuSleepPower), ("quiescent", quiescentPower)] where !(w.value >= 0) {
            p.append("\(name) power must be non-negative")
        }
        return p
    }
}
