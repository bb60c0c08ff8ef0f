import LandauerFirmware

/// A change of the marker lines, with the virtual time at which it happened and the ground-truth
/// energy drawn up to then, so phase energies survive however little of the waveform is kept.
public struct MarkerEvent: Sendable, Equatable {
    /// When the lines changed.
    public var time: VirtualTime
    /// The new value of the lines (bit k on line k).
    public var value: UInt8
    /// The ledger total (energy drawn from the supply since power-up) at the change.
    public var energy: Joules

    /// Creates a marker event.
    public init(time: VirtualTime, value: UInt8, energy: Joules) {
        self.time = time
        self.value = value
        self.energy = energy
    }
}

/// The simulated analog front end: converters, switches, pulse drivers, marker lines and a
/// temperature sensor on top of simulated crossbar tiles. The real `FirmwareEngine` drives it
/// exactly as it drives the microcontroller's peripherals.
///
/// It owns the virtual clock, the tiles, the energy ledger, the supply waveform and the marker
/// lines. Every operation advances the clock by its duration and books its energy into the
/// ledger and the waveform; all time, whatever happens in it, also carries the quiescent power
/// and the MCU's power (active during `run(cycles:)`, asleep otherwise: the core waits in a
/// low-power state while the analog hardware works and while the link is idle).
///
/// Timing: a read takes DAC settling (in `driveInputs`), then t_read and ⌈outputs / ADCs⌉
/// conversion rounds (in `convertOutputs`); a single-device read takes all three; a pulse or
/// slot takes the driver set-up time plus its width.
public struct VirtualFrontEnd: AnalogFrontEnd, Sendable {
    /// The configuration the board was built from.
    public let config: VirtualBoardConfig
    /// What the firmware learns about the hardware.
    public let hardware: FrontEndDescription
    /// The virtual clock.
    public private(set) var clock = VirtualClock()
    /// The crossbar tiles (ground truth; tests may set conductances through them, but must not
    /// replace a tile by one of another geometry).
    public var tiles: [CrossbarTile]
    /// Ground-truth energy by event kind and rail.
    public private(set) var ledger = EnergyLedger()
    /// The board's supply current over time.
    public private(set) var waveform: SupplyWaveform
    /// The value the marker lines carry now.
    public private(set) var markers: UInt8 = 0
    /// Every change of the marker lines, in time order (the lines are 0 at power-up).
    public private(set) var markerHistory: [MarkerEvent] = []
    /// The array's temperature now (sets the thermal noise; the sensor reads it).
    public var temperature: Kelvin
    /// The largest true device current |I| of any DC step so far (ground truth, before the
    /// converter and its noise): what the compliance limiter let through.
    public private(set) var peakDCCurrent = Amperes.zero

    private var readRandom: [SimulationRandom]
    private var sensorRandom: SimulationRandom
    private let clockHertz: UInt64
    private let settlePicoseconds: UInt64
    private let readPicoseconds: UInt64
    private let conversionPicoseconds: UInt64
    private let setupPicoseconds: UInt64
    private let sensorPicoseconds: UInt64
    private let dacMaxCode: Double
    private let adcMaxCode: Double
    private let markerMask: UInt8
    private var inputVolts: [Double]
    private var currents: [Double]
    private var driven = false
    private var drivenTile = -1
    private var drivenOrientation = ReadOrientation.forward

    /// Builds a front end (and its tiles, from the configuration's seed) at power-up, time zero.
    public init(config: VirtualBoardConfig) {
        let problems = config.problems()
        precondition(problems.isEmpty, "invalid board configuration: \(problems)")
        self.config = config
        hardware = config.frontEndDescription
        tiles = config.tiles.indices.map { k in
            CrossbarTile(
                rows: config.tiles[k].rows, columns: config.tiles[k].columns, model: config.deviceModel,
                window: config.conductanceWindow, stuckFraction: config.stuckFraction,
                initialConductance: config.initialConductance, forming: config.forming, seed: config.seed, index: k)
        }
        waveform = SupplyWaveform(binWidth: config.waveformBinWidth, supplyVoltage: config.supplyVoltage, retentionLimit: config.waveformRetention)
        temperature = config.temperature
        readRandom = config.tiles.indices.map { SimulationRandom(seed: config.seed, purpose: .readNoise, index: $0) }
        sensorRandom = SimulationRandom(seed: config.seed, purpose: .sensorNoise)
        clockHertz = UInt64(config.clock.value.rounded())
        settlePicoseconds = VirtualTime(rounding: config.dacSettleTime).picoseconds
        readPicoseconds = VirtualTime(rounding: config.readTime).picoseconds
        conversionPicoseconds = VirtualTime(rounding: config.adcConversionTime).picoseconds
        setupPicoseconds = VirtualTime(rounding: config.pulseSetupTime).picoseconds
        sensorPicoseconds = VirtualTime(rounding: config.temperatureReadTime).picoseconds
        dacMaxCode = Double(hardware.dacMaxCode)
        adcMaxCode = Double(hardware.adcMaxCode)
        markerMask = config.markerLines >= 8 ? 0xFF : UInt8((1 << Int(config.markerLines)) - 1)
        let lines = config.tiles.reduce(0) { max($0, $1.rows, $1.columns) }
        inputVolts = [Double](repeating: 0, count: lines)
        currents = [Double](repeating: 0, count: lines)
    }

    /// Builds the front end of a configuration (the reference board by default).
    public init() { self.init(config: .default) }

    // MARK: Time and background energy

    /// The virtual time now.
    public var now: VirtualTime { clock.now }

    /// The board timer: nanoseconds since power-up.
    public var nanoseconds: UInt64 { clock.nanoseconds }

    /// Moves time on by `picoseconds`, booking the quiescent power and the MCU's power (active
    /// or asleep) over it, plus `eventEnergy` of events already recorded in the ledger for the
    /// same span, in one waveform deposit. Returns the span covered.
    @discardableResult
    private mutating func spend(_ picoseconds: UInt64, active: Bool, eventEnergy: Double = 0) -> Range<VirtualTime> {
        if picoseconds == 0 {
            if eventEnergy != 0 { waveform.deposit(Joules(eventEnergy), over: clock.now..<clock.now) }
            return clock.now..<clock.now
        }
        let span = clock.advance(picoseconds: picoseconds)
        let dt = Double(picoseconds) * 1e-12
        let quiescent = config.quiescentPower.value * dt
        let core = (active ? config.mcuActivePower : config.mcuSleepPower).value * dt
        ledger.record(.quiescent, energy: Joules(quiescent))
        ledger.record(active ? .mcuActive : .mcuSleep, energy: Joules(core))
        waveform.deposit(Joules(quiescent + core + eventEnergy), over: span)
        return span
    }

    /// Books `count` events of `kind` with `energy` in the ledger and returns the energy, for
    /// `spend(_:active:eventEnergy:)` to deposit over the events' span.
    private mutating func book(_ kind: EnergyEventKind, _ energy: Double, count: UInt64) -> Double {
        if count == 0 && energy == 0 { return 0 }
        ledger.record(kind, energy: Joules(energy), count: count)
        return energy
    }

    /// Idles for `duration` with the core asleep (host think time, link waits).
    public mutating func idle(for duration: VirtualTime) {
        spend(duration.picoseconds, active: false)
    }

    /// Idles for `duration` (rounded to the picosecond) with the core asleep.
    public mutating func advance(by duration: Seconds) {
        spend(VirtualTime(rounding: duration).picoseconds, active: false)
    }

    /// Accounts for firmware work: `cycles` core cycles at the configured clock, exactly (the
    /// sub-picosecond remainder carries over), with the core active.
    public mutating func run(cycles: UInt32) {
        let ps = clock.picoseconds(forCycles: cycles, clockHertz: clockHertz)
        spend(ps, active: true)
    }

    /// Sleeps (core idle, peripherals quiescent) for `nanoseconds`.
    public mutating func sleep(nanoseconds: UInt64) {
        spend(nanoseconds * 1000, active: false)
    }

    /// One device current `current` (amperes) through the sense amplifier and ADC of `column`: the
    /// thermal noise of the column's load and the extra read noise (a fraction of `fullScale`) added,
    /// then converted to a signed code clipped to ±adcMaxCode.
    mutating func senseCode(_ current: Double, tile: Int, column: Int, side: DeviceSide, fullScale: Double) -> Double {
        var i = current
        let extra = config.readNoiseFraction * fullScale
        let variance = thermalFactor * tiles[tile].physicalColumnLoad(column, side: side) + extra * extra
        if variance > 0 { i += variance.squareRoot() * readRandom[tile].gaussian() }
        let q = (i * adcMaxCode / fullScale).rounded()
        return q < adcMaxCode ? max(q, -adcMaxCode) : adcMaxCode
    }

    /// Sets how many waveform bins the board keeps (nil: all). A meter that drains the waveform as it
    /// streams lifts the limit, so no stretch between two of its reads is ever discarded unmeasured.
    public mutating func setWaveformRetention(_ limit: Int?) {
        precondition(limit.map { $0 > 0 } ?? true, "retention limit must be positive")
        waveform.retentionLimit = limit
    }

    /// Hands out the completed bins of the supply waveform, up to `time` (default: now).
    public mutating func drainSupplyWaveform(upTo time: VirtualTime? = nil) -> SupplyWaveformChunk {
        waveform.drainCompletedBins(upTo: min(time ?? clock.now, clock.now))
    }

    // MARK: Reads

    /// The noise model in force: thermal density factor 4·k_B·T·Δf (A²/S) or 0.
    private var thermalFactor: Double {
        config.thermalNoise ? 4 * PhysicalConstants.boltzmann.value * temperature.value * config.effectiveReadBandwidth.value : 0
    }

    /// Sets the input DACs of `tile`: code c drives c / (2^(dacBits−1) − 1) × `fullScale`. Takes
    /// the DAC settling time; books one DAC update per input line.
    public mutating func driveInputs(tile: Int, orientation: ReadOrientation, codes: UnsafeBufferPointer<Int16>, fullScale: Volts) {
        precondition(tile >= 0 && tile < tiles.count, "tile out of range")
        let n = orientation == .forward ? tiles[tile].rows : tiles[tile].columns
        precondition(codes.count == n, "one DAC code per input line")
        let scale = fullScale.value / dacMaxCode
        for k in 0..<n { inputVolts[k] = Double(codes[k]) * scale }
        driven = true
        drivenTile = tile
        drivenOrientation = orientation
        let dac = book(.dacUpdate, config.dacUpdateEnergy.value * Double(n), count: UInt64(n))
        spend(settlePicoseconds, active: false, eventEnergy: dac)
    }

    /// Integrates the output currents over t_read (with Johnson–Nyquist and extra read noise,
    /// one Gaussian per output), converts them (code = round(I / I_LSB), clipped), releases the
    /// inputs, and returns how many outputs hit a full-scale code. Inputs not driven for this
    /// tile and orientation read as 0 V.
    public mutating func convertOutputs(tile: Int, orientation: ReadOrientation, into codes: UnsafeMutableBufferPointer<Int16>) -> UInt32 {
        precondition(tile >= 0 && tile < tiles.count, "tile out of range")
        let nIn = orientation == .forward ? tiles[tile].rows : tiles[tile].columns
        let nOut = orientation == .forward ? tiles[tile].columns : tiles[tile].rows
        precondition(codes.count == nOut, "one ADC code per output line")
        if !(driven && drivenTile == tile && drivenOrientation == orientation) {
            for k in 0..<nIn { inputVolts[k] = 0 }
        }
        driven = false
        tiles[tile].refreshCaches()
        let fullScale = hardware.tiles[tile].outputFullScale.value
        let readPower: Double = inputVolts.withUnsafeBufferPointer { vin in
            currents.withUnsafeMutableBufferPointer { out in
                let input = UnsafeBufferPointer(rebasing: vin[0..<nIn])
                tiles[tile].outputCurrents(orientation: orientation, inputs: input, into: UnsafeMutableBufferPointer(rebasing: out[0..<nOut]))
                return tiles[tile].readPower(orientation: orientation, inputs: input)
            }
        }
        let thermal = thermalFactor
        let extra = config.readNoiseFraction * fullScale
        let extraVariance = extra * extra
        let noisy = thermal > 0 || extraVariance > 0
        let inverseLSB = adcMaxCode / fullScale
        let maxCode = adcMaxCode
        var saturated: UInt32 = 0
        var random = readRandom[tile]
        let loads = orientation == .forward ? tiles[tile].columnLoad : tiles[tile].rowLoad
        currents.withUnsafeBufferPointer { cur in
            loads.withUnsafeBufferPointer { load in
                for k in 0..<nOut {
                    var i = cur[k]
                    if noisy {
                        i += (thermal * load[k] + extraVariance).squareRoot() * random.gaussian()
                    }
                    var q = (i * inverseLSB).rounded()
                    if !(q < maxCode) { q = maxCode }  // also catches NaN
                    if q < -maxCode { q = -maxCode }
                    if q == maxCode || q == -maxCode { saturated += 1 }
                    codes[k] = Int16(q)
                }
            }
        }
        readRandom[tile] = random
        let array = book(.arrayRead, readPower * config.readTime.value, count: 1)
        spend(readPicoseconds, active: false, eventEnergy: array)
        let rounds = (nOut + config.adcsPerTile - 1) / config.adcsPerTile
        let adc = book(.adcConversion, config.adcConversionEnergy.value * Double(nOut), count: UInt64(nOut))
        spend(conversionPicoseconds * UInt64(rounds), active: false, eventEnergy: adc)
        return saturated
    }

    /// Reads one device: `voltage` on its row, its physical column sensed (the other columns
    /// float, so only this device carries the read current; every device on the sensed column
    /// adds thermal noise), converted in the device-read range.
    public mutating func readDevice(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts) -> Int16 {
        precondition(tile >= 0 && tile < tiles.count, "tile out of range")
        tiles[tile].refreshCaches()
        let g = tiles[tile].conductance(row: row, column: column, side: side).value
        let v = voltage.value
        let q = senseCode(v * g, tile: tile, column: column, side: side, fullScale: hardware.deviceReadFullScale.value)
        spend(settlePicoseconds, active: false, eventEnergy: book(.dacUpdate, config.dacUpdateEnergy.value, count: 1))
        spend(readPicoseconds, active: false, eventEnergy: book(.deviceRead, v * v * g * config.readTime.value, count: 1))
        spend(conversionPicoseconds, active: false, eventEnergy: book(.adcConversion, config.adcConversionEnergy.value, count: 1))
        return Int16(q)
    }

    // MARK: Programming

    /// Fires one pulse of ±`amplitude` on one device (after the driver set-up time). Books the
    /// device's energy |V|·min(|V|·(G_before + G_after)/2, I_c)·t and the line charging C·V².
    public mutating func pulse(
        tile: Int, row: Int, column: Int, side: DeviceSide, polarity: Int8, amplitude: Volts,
        widthNanoseconds: UInt32, compliance: Amperes
    ) {
        precondition(tile >= 0 && tile < tiles.count, "tile out of range")
        let v = Volts(Double(polarity) * amplitude.value)
        let width = Seconds(nanoseconds: UInt64(widthNanoseconds))
        spend(setupPicoseconds, active: false)
        let (before, after) = tiles[tile].applyPulse(row: row, column: column, side: side, voltage: v, width: width, compliance: compliance)
        let device = book(.programmingPulse, CrossbarTile.pulseEnergy(voltage: v, before: before, after: after, width: width, compliance: compliance).value, count: 1)
        let lines = book(.lineCharging, config.lineCapacitance.value * v.value * v.value, count: 1)
        spend(UInt64(widthNanoseconds) * 1000, active: false, eventEnergy: device + lines)
    }

    /// Fires one slot of a parallel update (see `AnalogFrontEnd`). Books fully selected devices
    /// as programming pulses, half-selected ones as half-select disturb, and (V/2)²·C per driven
    /// line. Returns the number of fully selected devices.
    public mutating func pulseSlot(
        tile: Int, side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>, columnDrive: UnsafeBufferPointer<Int8>,
        amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes
    ) -> UInt32 {
        precondition(tile >= 0 && tile < tiles.count, "tile out of range")
        let width = Seconds(nanoseconds: UInt64(widthNanoseconds))
        spend(setupPicoseconds, active: false)
        let outcome = tiles[tile].applySlot(side: side, rowDrive: rowDrive, columnDrive: columnDrive, amplitude: amplitude, width: width, compliance: compliance)
        let full = book(.programmingPulse, outcome.fullEnergy.value, count: UInt64(outcome.fullySelected))
        let half = book(.halfSelectDisturb, outcome.halfEnergy.value, count: UInt64(outcome.halfSelected))
        let halfV = 0.5 * amplitude.value
        let lines = book(.lineCharging, config.lineCapacitance.value * halfV * halfV * Double(outcome.drivenLines), count: UInt64(outcome.drivenLines))
        spend(UInt64(widthNanoseconds) * 1000, active: false, eventEnergy: full + half + lines)
        return UInt32(outcome.fullySelected)
    }

    /// Holds `voltage` across one device for `dwellNanoseconds` through the drivers' current
    /// limiter (an ideal one: |I| ≤ `compliance`), then converts the current in the sweep-current
    /// range (with the single-device read's noise model on that range). The device model sees the
    /// step as one pulse of that voltage and width: it may form, SET or RESET. Takes the driver
    /// set-up time (one DAC update), the dwell (the device energy
    /// |V|·min(|V|·(G_before + G_after)/2, I_c)·t as a `programming-pulse`, and C·V² of line
    /// charging) and one conversion.
    public mutating func applyDC(
        tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts, compliance: Amperes,
        dwellNanoseconds: UInt32, currentFullScale: Amperes
    ) -> DCMeasurement {
        precondition(tile >= 0 && tile < tiles.count, "tile out of range")
        let width = Seconds(nanoseconds: UInt64(dwellNanoseconds))
        spend(setupPicoseconds, active: false, eventEnergy: book(.dacUpdate, config.dacUpdateEnergy.value, count: 1))
        let outcome = tiles[tile].applyDC(row: row, column: column, side: side, voltage: voltage, width: width, compliance: compliance)
        peakDCCurrent = max(peakDCCurrent, outcome.current.magnitude)
        let device = book(.programmingPulse, CrossbarTile.pulseEnergy(voltage: voltage, before: outcome.before, after: outcome.after, width: width, compliance: compliance).value, count: 1)
        let lines = book(.lineCharging, config.lineCapacitance.value * voltage.value * voltage.value, count: 1)
        spend(UInt64(dwellNanoseconds) * 1000, active: false, eventEnergy: device + lines)
        tiles[tile].refreshCaches()
        let q = senseCode(outcome.current.value, tile: tile, column: column, side: side, fullScale: currentFullScale.value)
        spend(conversionPicoseconds, active: false, eventEnergy: book(.adcConversion, config.adcConversionEnergy.value, count: 1))
        return DCMeasurement(voltage: voltage, currentCode: Int16(q), limited: outcome.limited)
    }

    // MARK: Markers and sensor

    /// Drives the marker lines (bits beyond the board's lines are dropped); each change is
    /// recorded with its virtual time.
    public mutating func setMarkers(_ value: UInt8) {
        let v = value & markerMask
        if v != markers {
            markers = v
            markerHistory.append(MarkerEvent(time: clock.now, value: v, energy: ledger.total))
        }
    }

    /// The value the marker lines carried at `time`.
    public func markers(at time: VirtualTime) -> UInt8 {
        var value: UInt8 = 0
        for e in markerHistory {
            if e.time > time { break }
            value = e.value
        }
        return value
    }

    /// Reads the temperature sensor: the array temperature plus the sensor's noise, quantised to
    /// 1/16 K. Takes the sensor's conversion time.
    public mutating func readTemperature() -> Kelvin {
        spend(sensorPicoseconds, active: false)
        var t = temperature.value
        if config.temperatureSensorNoise.value > 0 { t += config.temperatureSensorNoise.value * sensorRandom.gaussian() }
        return Kelvin((t * 16).rounded() / 16)
    }
}
