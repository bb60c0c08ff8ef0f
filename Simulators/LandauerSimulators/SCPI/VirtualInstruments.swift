import LandauerFirmware

/// A meter's own imperfections, unknown to the host: what calibration has to find.
public struct MeterImperfections: Sendable, Equatable {
    /// Relative gain error: a reading is (1 + gain)·I + offset + noise.
    public var gain: Double
    /// Offset current.
    public var offset: Amperes
    /// Standard deviation of the reading noise.
    public var noise: Amperes
    /// Seed of the noise.
    public var seed: UInt64
    /// Creates a set of imperfections.
    public init(gain: Double = 0, offset: Amperes = .zero, noise: Amperes = .zero, seed: UInt64 = 1) {
        self.gain = gain
        self.offset = offset
        self.noise = noise
        self.seed = seed
    }
    /// A perfect meter.
    public static let none = MeterImperfections()
}

/// Readings of a meter: true current, then the meter's errors and its quantisation.
struct MeterFrontEnd: Sendable {
    var imperfections: MeterImperfections
    var random: SimulationRandom
    /// Quantisation step of a reading.
    var resolution: Amperes

    init(_ imperfections: MeterImperfections, resolution: Amperes) {
        self.imperfections = imperfections
        self.random = SimulationRandom(seed: imperfections.seed)
        self.resolution = resolution
    }

    mutating func reading(_ i: Amperes) -> Double {
        var r = (1 + imperfections.gain) * i.value + imperfections.offset.value
        if imperfections.noise.value > 0 { r += imperfections.noise.value * random.gaussian() }
        let q = resolution.value
        return q > 0 ? (r / q).rounded() * q : r
    }
}

/// A Keysight N6705-style DC power analyzer with one N6781A-style source-measure module on
/// channel 1: immediate measurements and array acquisition (the commands listed in
/// docs/instruments.md), ASCII or IEEE 488.2 binary (REAL, big-endian float32) transfers.
public struct VirtualPowerAnalyzer: SCPIModel {
    /// `*IDN?` answer.
    public var identity: String
    let probe: SupplyProbe
    var meter: MeterFrontEnd
    var points = 1024
    var interval = Seconds(20.48e-6)
    var currentOn = true
    var voltageOn = true
    var busTrigger = true
    var armed = false
    var triggeredAt: VirtualTime?
    var binary = false

    /// An analyzer measuring `probe`'s supply, with its own `imperfections`.
    public init(probe: SupplyProbe, serial: String = "MY56006098", imperfections: MeterImperfections = .none) {
        self.identity = "Keysight Technologies,N6705C,\(serial),E.02.09.3271"
        self.probe = probe
        self.meter = MeterFrontEnd(imperfections, resolution: Amperes(1e-9))
    }

    public mutating func reset() {
        points = 1024
        interval = Seconds(20.48e-6)
        currentOn = true
        voltageOn = true
        busTrigger = true
        armed = false
        triggeredAt = nil
        binary = false
    }

    public mutating func execute(_ c: SCPICommand) -> Result<SCPIResponse?, SCPIError> {
        let p = c.parameters
        func channelsOK(_ text: String?) -> Bool { text.map { SCPIValue.channels($0) == [1] } ?? true }
        let undefined = Result<SCPIResponse?, SCPIError>.failure(SCPIError(-113, "Undefined header"))
        if SCPIPattern("SENSe:FUNCtion:CURRent").matches(c.path), !c.isQuery {
            guard p.count >= 1, let on = SCPIValue.boolean(p[0]), channelsOK(p.dropFirst().first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            currentOn = on
            return .success(nil)
        }
        if SCPIPattern("SENSe:FUNCtion:VOLTage").matches(c.path), !c.isQuery {
            guard p.count >= 1, let on = SCPIValue.boolean(p[0]), channelsOK(p.dropFirst().first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            voltageOn = on
            return .success(nil)
        }
        if SCPIPattern("SENSe:SWEep:POINts").matches(c.path) {
            if c.isQuery { return .success(.text(String(points))) }
            guard let first = p.first, let n = Int(first), channelsOK(p.dropFirst().first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            guard n >= 1, n <= 524_288 else { return .failure(SCPIError(-222, "Data out of range")) }
            points = n
            return .success(nil)
        }
        if SCPIPattern("SENSe:SWEep:TINTerval").matches(c.path) {
            if c.isQuery { return .success(.text(SCPIValue.format(interval.value))) }
            guard let first = p.first, let s = SCPIValue.number(first), channelsOK(p.dropFirst().first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            guard s >= 5.12e-6, s <= 40_000 else { return .failure(SCPIError(-222, "Data out of range")) }
            interval = Seconds(s)
            return .success(nil)
        }
        if SCPIPattern("TRIGger:ACQuire:SOURce").matches(c.path), !c.isQuery {
            guard let first = p.first, channelsOK(p.dropFirst().first) else { return .failure(SCPIError(-109, "Missing parameter")) }
            guard SCPIPattern("BUS").matches([first.uppercased()]) || SCPIPattern("IMMediate").matches([first.uppercased()]) else {
                return .failure(SCPIError(-224, "Illegal parameter value"))
            }
            busTrigger = SCPIPattern("BUS").matches([first.uppercased()])
            return .success(nil)
        }
        if SCPIPattern("INITiate[:IMMediate]:ACQuire").matches(c.path), !c.isQuery {
            guard channelsOK(p.first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            armed = true
            triggeredAt = busTrigger ? nil : probe.now()
            return .success(nil)
        }
        if SCPIPattern("TRIGger:ACQuire[:IMMediate]").matches(c.path), !c.isQuery {
            guard armed else { return .failure(SCPIError(-211, "Trigger ignored")) }
            triggeredAt = probe.now()
            return .success(nil)
        }
        if SCPIPattern("FETCh:ARRay:CURRent[:DC]").matches(c.path), c.isQuery {
            guard channelsOK(p.first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            return fetch(current: true)
        }
        if SCPIPattern("FETCh:ARRay:VOLTage[:DC]").matches(c.path), c.isQuery {
            guard channelsOK(p.first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            return fetch(current: false)
        }
        if SCPIPattern("MEASure[:SCALar]:CURRent[:DC]").matches(c.path), c.isQuery {
            guard channelsOK(p.first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            let start = probe.now()
            let end = start + VirtualTime(rounding: interval * Double(points))
            probe.wait(end)
            guard let i = probe.meanCurrent(start..<end) else { return .failure(SCPIError(-230, "Data corrupt or stale")) }
            return .success(.text(SCPIValue.format(meter.reading(i))))
        }
        if SCPIPattern("MEASure[:SCALar]:VOLTage[:DC]").matches(c.path), c.isQuery {
            guard channelsOK(p.first) else { return .failure(SCPIError(-224, "Illegal parameter value")) }
            return .success(.text(SCPIValue.format(probe.voltage.value)))
        }
        if SCPIPattern("FORMat[:DATA]").matches(c.path) {
            if c.isQuery { return .success(.text(binary ? "REAL" : "ASC")) }
            guard let f = p.first?.uppercased() else { return .failure(SCPIError(-109, "Missing parameter")) }
            if SCPIPattern("REAL").matches([f]) { binary = true } else if SCPIPattern("ASCii").matches([f]) { binary = false } else {
                return .failure(SCPIError(-224, "Illegal parameter value"))
            }
            return .success(nil)
        }
        return undefined
    }

    /// The acquired array: point k is the mean over [t₀ + k·Δt, t₀ + (k+1)·Δt).
    mutating func fetch(current: Bool) -> Result<SCPIResponse?, SCPIError> {
        guard armed, let start = triggeredAt else { return .failure(SCPIError(-230, "Data corrupt or stale")) }
        if current && !currentOn || !current && !voltageOn { return .failure(SCPIError(-221, "Settings conflict")) }
        let step = VirtualTime(rounding: interval)
        probe.wait(start + VirtualTime(picoseconds: step.picoseconds * UInt64(points)))
        var values: [Double] = []
        values.reserveCapacity(points)
        for k in 0..<points {
            let a = start + VirtualTime(picoseconds: step.picoseconds * UInt64(k))
            if current {
                guard let i = probe.meanCurrent(a..<(a + step)) else { return .failure(SCPIError(-230, "Data corrupt or stale")) }
                values.append(meter.reading(i))
            } else {
                values.append(probe.voltage.value)
            }
        }
        if binary {
            var bytes: [UInt8] = []
            for v in values { withUnsafeBytes(of: Float(v).bitPattern.bigEndian) { bytes += $0 } }
            return .success(.block(bytes))
        }
        return .success(.text(values.map(SCPIValue.format).joined(separator: ",")))
    }
}

/// A Keithley 2450-style source-measure unit sourcing the supply voltage and measuring current:
/// `:READ?`, `:MEAS:CURR?`, NPLC integration, a reading count, and named reading buffers with
/// `:TRAC:MAKE/POIN/CLE/TRIG/ACT?/DATA?`.
public struct VirtualSourceMeter: SCPIModel {
    /// `*IDN?` answer.
    public var identity: String
    let probe: SupplyProbe
    var meter: MeterFrontEnd
    var sourceVoltage: Volts
    var currentLimit = Amperes(0.105)
    var nplc = 1.0
    var count = 1
    var output = false
    var buffers: [String: Buffer] = [:]
    /// Power-line frequency that sets the integration time of one PLC.
    public var lineFrequency = Hertz(50)

    struct Buffer: Sendable {
        var capacity: Int
        var readings: [(time: VirtualTime, current: Double, source: Double)] = []
    }

    /// A source-measure unit on `probe`'s supply, with its own `imperfections`.
    public init(probe: SupplyProbe, serial: String = "04365704", imperfections: MeterImperfections = .none) {
        self.identity = "KEITHLEY INSTRUMENTS,MODEL 2450,\(serial),1.7.12b"
        self.probe = probe
        self.meter = MeterFrontEnd(imperfections, resolution: Amperes(1e-12))
        self.sourceVoltage = probe.voltage
        reset()
    }

    public mutating func reset() {
        sourceVoltage = probe.voltage
        currentLimit = Amperes(0.105)
        nplc = 1
        count = 1
        output = false
        buffers = ["DEFBUFFER1": Buffer(capacity: 100_000), "DEFBUFFER2": Buffer(capacity: 100_000)]
    }

    /// One measurement: the mean current over NPLC power-line cycles from now.
    mutating func measure() -> Result<(VirtualTime, Double), SCPIError> {
        guard output else { return .failure(SCPIError(-221, "Settings conflict")) }  // output off: no reading
        let start = probe.now()
        let end = start + VirtualTime(rounding: Seconds(nplc / lineFrequency.value))
        probe.wait(end)
        guard let i = probe.meanCurrent(start..<end) else { return .failure(SCPIError(-230, "Data corrupt or stale")) }
        let limited = max(-currentLimit.value, min(currentLimit.value, i.value))
        return .success((start, meter.reading(Amperes(limited))))
    }

    func bufferName(_ text: String?) -> String { text.map { SCPIValue.unquoted($0).uppercased() } ?? "DEFBUFFER1" }

    public mutating func execute(_ c: SCPICommand) -> Result<SCPIResponse?, SCPIError> {
        let p = c.parameters
        let illegal = Result<SCPIResponse?, SCPIError>.failure(SCPIError(-224, "Illegal parameter value"))
        if SCPIPattern("[SOURce[1]]:FUNCtion[:MODE]").matches(c.path) {
            if c.isQuery { return .success(.text("VOLT")) }
            return p.first.map { SCPIPattern("VOLTage").matches([$0.uppercased()]) } == true ? .success(nil) : illegal
        }
        if SCPIPattern("[SOURce[1]]:VOLTage[:LEVel][:IMMediate][:AMPLitude]").matches(c.path) {
            if c.isQuery { return .success(.text(SCPIValue.format(sourceVoltage.value))) }
            guard let v = p.first.flatMap(SCPIValue.number) else { return illegal }
            guard abs(v) <= 210 else { return .failure(SCPIError(-222, "Data out of range")) }
            sourceVoltage = Volts(v)
            return .success(nil)
        }
        if SCPIPattern("[SOURce[1]]:VOLTage:ILIMit[:LEVel]").matches(c.path) {
            if c.isQuery { return .success(.text(SCPIValue.format(currentLimit.value))) }
            guard let i = p.first.flatMap(SCPIValue.number) else { return illegal }
            guard i >= 1e-9, i <= 1.05 else { return .failure(SCPIError(-222, "Data out of range")) }
            currentLimit = Amperes(i)
            return .success(nil)
        }
        if SCPIPattern("[SENSe[1]]:FUNCtion[:ON]").matches(c.path) {
            if c.isQuery { return .success(.text("\"CURR:DC\"")) }
            let f = p.first.map { SCPIValue.unquoted($0).uppercased() }
            return f.map { SCPIPattern("CURRent[:DC]").matches($0.split(separator: ":").map(String.init)) } == true ? .success(nil) : illegal
        }
        if SCPIPattern("[SENSe[1]]:CURRent[:DC]:NPLCycles").matches(c.path) {
            if c.isQuery { return .success(.text(SCPIValue.format(nplc))) }
            guard let n = p.first.flatMap(SCPIValue.number) else { return illegal }
            guard n >= 0.01, n <= 10 else { return .failure(SCPIError(-222, "Data out of range")) }
            nplc = n
            return .success(nil)
        }
        if SCPIPattern("[SENSe[1]]:COUNt").matches(c.path) {
            if c.isQuery { return .success(.text(String(count))) }
            guard let n = p.first.flatMap({ Int($0) }) else { return illegal }
            guard n >= 1, n <= 300_000 else { return .failure(SCPIError(-222, "Data out of range")) }
            count = n
            return .success(nil)
        }
        if SCPIPattern("OUTPut[1][:STATe]").matches(c.path) {
            if c.isQuery { return .success(.text(output ? "1" : "0")) }
            guard let on = p.first.flatMap(SCPIValue.boolean) else { return illegal }
            output = on
            return .success(nil)
        }
        if SCPIPattern("READ").matches(c.path) || SCPIPattern("MEASure:CURRent[:DC]").matches(c.path), c.isQuery {
            let name = bufferName(p.first)
            guard buffers[name] != nil else { return illegal }
            var last = 0.0
            for _ in 0..<count {
                switch measure() {
                case .success(let (t, i)):
                    store(name, time: t, current: i)
                    last = i
                case .failure(let e): return .failure(e)
                }
            }
            return .success(.text(SCPIValue.format(last)))
        }
        if SCPIPattern("TRACe:MAKE").matches(c.path), !c.isQuery {
            guard p.count == 2, let n = Int(p[1]), n >= 10 else { return illegal }
            let name = bufferName(p[0])
            guard buffers[name] == nil else { return .failure(SCPIError(-224, "Buffer name exists")) }
            buffers[name] = Buffer(capacity: n)
            return .success(nil)
        }
        if SCPIPattern("TRACe:POINts").matches(c.path) {
            let name = bufferName(c.isQuery ? p.first : p.dropFirst().first)
            guard buffers[name] != nil else { return illegal }
            if c.isQuery { return .success(.text(String(buffers[name]!.capacity))) }
            guard let n = p.first.flatMap({ Int($0) }), n >= 10 else { return illegal }
            buffers[name]!.capacity = n
            buffers[name]!.readings.removeAll()
            return .success(nil)
        }
        if SCPIPattern("TRACe:CLEar").matches(c.path), !c.isQuery {
            let name = bufferName(p.first)
            guard buffers[name] != nil else { return illegal }
            buffers[name]!.readings.removeAll()
            return .success(nil)
        }
        if SCPIPattern("TRACe:ACTual").matches(c.path), c.isQuery {
            let name = bufferName(p.first)
            guard let b = buffers[name] else { return illegal }
            return .success(.text(String(b.readings.count)))
        }
        if SCPIPattern("TRACe:TRIGger").matches(c.path), !c.isQuery {
            let name = bufferName(p.first)
            guard buffers[name] != nil else { return illegal }
            for _ in 0..<count {
                switch measure() {
                case .success(let (t, i)): store(name, time: t, current: i)
                case .failure(let e): return .failure(e)
                }
            }
            return .success(nil)
        }
        if SCPIPattern("TRACe:DATA").matches(c.path), c.isQuery {
            guard p.count >= 2, let first = Int(p[0]), let last = Int(p[1]) else { return .failure(SCPIError(-109, "Missing parameter")) }
            let name = bufferName(p.count > 2 ? p[2] : nil)
            guard let b = buffers[name] else { return illegal }
            guard first >= 1, last >= first, last <= b.readings.count else { return .failure(SCPIError(-222, "Data out of range")) }
            let fields = p.count > 3 ? p[3...].map { $0.uppercased() } : ["READ"]
            let t0 = b.readings.first?.time ?? .zero
            var values: [String] = []
            for r in b.readings[(first - 1)..<last] {
                for f in fields {
                    switch f {
                    case "READ", "READING": values.append(SCPIValue.format(r.current))
                    case "REL", "RELATIVE": values.append(SCPIValue.format((r.time - t0).seconds.value))
                    case "SOUR", "SOURCE": values.append(SCPIValue.format(r.source))
                    default: return illegal
                    }
                }
            }
            return .success(.text(values.joined(separator: ",")))
        }
        return .failure(SCPIError(-113, "Undefined header"))
    }

    /// Keeps a reading in a buffer (a full buffer wraps, dropping its oldest reading, like the instrument's fill-continuous mode).
    mutating func store(_ name: String, time: VirtualTime, current: Double) {
        guard var b = buffers[name] else { return }
        if b.readings.count >= b.capacity { b.readings.removeFirst() }
        b.readings.append((time, current, sourceVoltage.value))
        buffers[name] = b
    }
}
