import LandauerFirmware

/// What a virtual PPK2 measures when it is not fed from a board.
public enum PPK2CurrentSource: Sendable {
    /// A constant current.
    case constant(Amperes)
    /// The mean current over each sample's interval of virtual time (10 µs).
    case function(@Sendable (Range<VirtualTime>) -> Amperes)
}

/// A virtual Nordic Power Profiler Kit II that speaks the real device's bytes.
///
/// It consumes command bytes (`receive(_:)`, any split, same opcodes as the device), answers
/// `GetMetadata` with its metadata text, and obeys RegulatorSet, SetPowerMode, DeviceRunningSet,
/// AverageStart/Stop, Reset and SetUserGains. While sampling it produces the 4-byte sample words
/// at 100 kS/s of virtual time, either from a `PPK2CurrentSource` (`samples(count:)`) or from a
/// `VirtualBoard`'s supply waveform (`samples(from:)`: each sample is the mean current over its
/// 10 µs, from the board's drained bins, and the logic inputs are the board's marker lines at
/// the sample's start).
///
/// Measurement model, per sample: the true current I (0 while the DUT power is off) picks the
/// range (automatic switching with hysteresis on each range's full scale, 0.72 V across the
/// shunt R[r]); the ADC code is the one the reported calibration maps to I·(1 + gain error[r]),
/// plus the offset error[r] and Gaussian noise in counts, rounded and clamped to 14 bits. The
/// 6-bit counter advances with every sample measured, including samples dropped with
/// `dropSamples(_:)` (the firmware's answer to a USB link that cannot keep up).
///
/// Time: sample n after AverageStart covers [start + n·10 µs, start + (n+1)·10 µs). With a board,
/// sampling starts at the first waveform bin not yet drained (drain, i.e. call `samples(from:)`,
/// just before AverageStart to align); bins drained while not sampling are discarded. The current
/// is E/(V·Δt) at the board's supply voltage, which stands for the regulator voltage in source mode.
public struct VirtualPPK2: Sendable {
    /// The configuration the unit was built with.
    public let config: VirtualPPK2Config
    /// The source measured by `samples(count:)`.
    public var source: PPK2CurrentSource
    /// The logic inputs D0…D7 reported with samples from `source` (board samples carry the markers).
    public var logicInputs: UInt8 = 0

    /// The regulator voltage, in millivolts (the last valid RegulatorSet; 3000 at power-up).
    public private(set) var regulatorMillivolts: Int
    /// The power mode.
    public private(set) var powerMode: PPK2PowerMode
    /// Whether the DUT power is on.
    public private(set) var dutPowered = false
    /// Whether the sample stream runs.
    public private(set) var isSampling = false
    /// The user gains per range, as last set (reported in the metadata; the device does not apply them).
    public private(set) var userGains: [Float] = [1, 1, 1, 1, 1]
    /// The counter value the next sample will carry.
    public private(set) var counter: UInt8 = 0
    /// The range in use.
    public private(set) var range = 0
    /// Start of the next sample's interval.
    public private(set) var sampleTime: VirtualTime = .zero
    /// Samples measured since power-up (sent or dropped).
    public private(set) var measuredCount: UInt64 = 0
    /// Samples measured but dropped.
    public private(set) var droppedCount: UInt64 = 0
    /// Samples never measured because the board had already discarded their waveform bins (it
    /// keeps only `waveformRetention` of them): a meter drained too rarely. A simulation artefact
    /// with no counterpart on a real unit, so the counter does not move; the bench reads this figure
    /// to mark the gap exactly.
    public private(set) var lostCount: UInt64 = 0
    /// True while consecutive `samples(from:)` calls follow the board's waveform without a break.
    private var followingBoard = false
    /// The board supply voltage of the last waveform measured with `samples(from:)`, or nil.
    public private(set) var boardSupplyVoltage: Volts?

    /// Command bytes not understood (unknown opcodes), skipped one by one.
    public private(set) var unknownByteCount: UInt64 = 0

    private var random: SimulationRandom
    private var commandBuffer: [UInt8] = []
    private var dropRemaining = 0
    /// Per range: the reported coefficients folded for the inverse formula.
    private let inverse: [Inverse]
    /// Per range: the current at full scale of the ADC.
    private let fullScale: [Double]
    /// Board bins drained but not yet making up a whole sample (energies, joules).
    private var pendingBins: [Double] = []
    /// Index into the board's marker history of the last event at or before `sampleTime`.
    private var markerCursor = 0
    private var markerValue: UInt8 = 0

    private struct Inverse: Sendable {
        var offset: Double, scale: Double, quadratic: Double, linear: Double, slope: Double, intercept: Double, userGain: Double
    }

    /// Powers up a unit measuring `source` (default: nothing, 0 A).
    public init(config: VirtualPPK2Config = .default, source: PPK2CurrentSource = .constant(.zero)) {
        self.config = config
        self.source = source
        regulatorMillivolts = config.metadata.vdd >= 800 && config.metadata.vdd <= 5000 ? config.metadata.vdd : 3000
        powerMode = PPK2PowerMode(rawValue: UInt8(truncatingIfNeeded: config.metadata.mode)) ?? .sourceMeter
        random = SimulationRandom(seed: config.seed, stream: 0x5050_4B32)
        let m = config.metadata.effective
        inverse = (0..<5).map { r in
            Inverse(offset: m.o[r], scale: PPK2Sample.adcVoltsPerCount / m.r[r], quadratic: m.gs[r], linear: m.gi[r],
                    slope: m.s[r], intercept: m.i[r], userGain: m.ug[r])
        }
        fullScale = (0..<5).map { r in (Double(PPK2Sample.adcMax) * 4 - m.o[r]) * PPK2Sample.adcVoltsPerCount / m.r[r] }
    }

    /// The current at the top of each range's ADC scale (about 0.72 V across the shunt), ranges 0…4.
    public var fullScaleCurrents: [Amperes] { fullScale.map(Amperes.init) }

    /// The regulator voltage.
    public var regulator: Volts { Volts(Double(regulatorMillivolts) / 1000) }

    /// False when the unit measures a board in source mode whose supply voltage is not the
    /// regulator voltage (to the millivolt): the composition layer should set the regulator to
    /// the board's supply (RegulatorSet) so the host's S·VDD term and the board's energy agree.
    public var regulatorMatchesBoard: Bool {
        guard powerMode == .sourceMeter, let v = boardSupplyVoltage else { return true }
        return Int((v.value * 1000).rounded()) == regulatorMillivolts
    }

    /// The metadata the unit reports now: its calibration, with VDD, mode and user gains as set.
    public var metadata: PPK2Metadata {
        var m = config.metadata
        m.vdd = regulatorMillivolts
        m.mode = Int(powerMode.rawValue)
        m.ug = userGains.map(Double.init)
        return m
    }

    // MARK: Commands

    /// Command bytes from the host, split anywhere; returns the reply bytes (the metadata text
    /// for GetMetadata, nothing for the other commands). Unknown opcodes are skipped.
    public mutating func receive(_ bytes: [UInt8]) -> [UInt8] {
        commandBuffer.append(contentsOf: bytes)
        var reply: [UInt8] = []
        var k = 0
        while k < commandBuffer.count {
            guard let op = PPK2Opcode(rawValue: commandBuffer[k]) else {
                unknownByteCount &+= 1
                k += 1
                continue
            }
            guard commandBuffer.count - k - 1 >= op.payloadCount else { break }
            let p = commandBuffer[(k + 1)..<(k + 1 + op.payloadCount)]
            execute(op, Array(p), reply: &reply)
            k += 1 + op.payloadCount
        }
        commandBuffer.removeFirst(k)
        return reply
    }

    private mutating func execute(_ op: PPK2Opcode, _ p: [UInt8], reply: inout [UInt8]) {
        switch op {
        case .averageStart:
            isSampling = true
        case .averageStop:
            isSampling = false
        case .deviceRunningSet:
            dutPowered = p[0] != 0
        case .regulatorSet:
            let mv = Int(p[0]) << 8 | Int(p[1])
            if mv >= 800 && mv <= 5000 { regulatorMillivolts = mv }
        case .setPowerMode:
            if let mode = PPK2PowerMode(rawValue: p[0]) { powerMode = mode }
        case .getMetadata:
            reply.append(contentsOf: metadata.text)
        case .reset:
            isSampling = false
            dutPowered = false
            userGains = [1, 1, 1, 1, 1]
            counter = 0
            dropRemaining = 0
            regulatorMillivolts = config.metadata.vdd >= 800 && config.metadata.vdd <= 5000 ? config.metadata.vdd : 3000
        case .setUserGains:
            let bits = UInt32(p[1]) | UInt32(p[2]) << 8 | UInt32(p[3]) << 16 | UInt32(p[4]) << 24
            if Int(p[0]) < 5 { userGains[Int(p[0])] = Float(bitPattern: bits) }
        }
    }

    /// Drops the next `count` samples (default: one 512-sample block, as the firmware does): they
    /// are measured, their counter values used, but never sent.
    public mutating func dropSamples(_ count: Int = 512) {
        precondition(count >= 0, "cannot drop a negative number of samples")
        dropRemaining += count
    }

    // MARK: Sampling

    /// Measures the next `count` samples of `source` and returns the bytes sent (none while not
    /// sampling: time does not move then).
    public mutating func samples(count: Int) -> [UInt8] {
        guard isSampling, count > 0 else { return [] }
        followingBoard = false
        var out: [UInt8] = []
        out.reserveCapacity(count * PPK2Sample.byteCount)
        let period = VirtualTime(nanoseconds: PPK2Sample.periodNanoseconds)
        for _ in 0..<count {
            let span = sampleTime..<(sampleTime + period)
            let current: Amperes
            switch source {
            case .constant(let c): current = c
            case .function(let f): current = f(span)
            }
            measure(current, logic: logicInputs, into: &out)
        }
        return out
    }

    /// Measures `board`'s supply current: drains its completed waveform bins and returns the
    /// bytes of every whole sample they make (none while not sampling; the bins are then discarded).
    public mutating func samples(from board: VirtualBoard) -> [UInt8] {
        let chunk = board.drainSupplyWaveform()
        let period = PPK2Sample.periodNanoseconds * 1000
        precondition(chunk.binWidth.picoseconds > 0 && period % chunk.binWidth.picoseconds == 0,
                     "the board's waveform bins must divide the PPK2's 10 µs sample period")
        let binsPerSample = Int(period / chunk.binWidth.picoseconds)
        boardSupplyVoltage = chunk.supplyVoltage
        guard isSampling else {
            pendingBins = []
            sampleTime = chunk.end
            return []
        }
        let binPs = chunk.binWidth.picoseconds
        let expected = sampleTime.picoseconds + UInt64(pendingBins.count) * binPs
        if followingBoard && chunk.start.picoseconds > expected {
            // The board dropped bins this unit never saw: the samples over them are lost, not filled in.
            let lost = (chunk.start.picoseconds - sampleTime.picoseconds + period - 1) / period
            lostCount &+= lost
            pendingBins = []
        }
        if pendingBins.isEmpty { sampleTime = chunk.start }
        followingBoard = true
        pendingBins.append(contentsOf: chunk.energies.lazy.map(\.value))
        let whole = pendingBins.count / binsPerSample
        guard whole > 0 else { return [] }
        let history = board.markerHistory
        let scale = 1 / (chunk.supplyVoltage.value * Double(period) * 1e-12)
        var out: [UInt8] = []
        out.reserveCapacity(whole * PPK2Sample.byteCount)
        for n in 0..<whole {
            var energy = 0.0
            for b in (n * binsPerSample)..<((n + 1) * binsPerSample) { energy += pendingBins[b] }
            while markerCursor < history.count && history[markerCursor].time <= sampleTime {
                markerValue = history[markerCursor].value
                markerCursor += 1
            }
            measure(Amperes(energy * scale), logic: markerValue, into: &out)
        }
        pendingBins.removeFirst(whole * binsPerSample)
        return out
    }

    /// Measures one sample of true current `current`, advances time and the counter, and appends
    /// the word unless it is to be dropped.
    private mutating func measure(_ current: Amperes, logic: UInt8, into out: inout [UInt8]) {
        let i = dutPowered ? current.value : 0
        // Range switching with hysteresis.
        let magnitude = abs(i)
        while range < 4 && magnitude > config.switchUpFraction * fullScale[range] { range += 1 }
        while range > 0 && magnitude < config.switchDownFraction * fullScale[range - 1] { range -= 1 }
        // The ADC code the reported calibration maps to the (gain-erred) current.
        let c = inverse[range]
        let target = i * (1 + config.gainErrors[range])
        let z = target / c.userGain - (c.slope * Double(regulatorMillivolts) / 1000 + c.intercept)
        let rwg: Double
        if c.quadratic == 0 {
            rwg = z / c.linear
        } else {
            let discriminant = c.linear * c.linear + 4 * c.quadratic * z
            rwg = discriminant >= 0 ? 2 * z / (c.linear + discriminant.squareRoot()) : -c.linear / (2 * c.quadratic)
        }
        var code = (rwg / c.scale + c.offset) / 4 + config.offsetErrorCounts[range]
        if config.noiseCounts > 0 { code += config.noiseCounts * random.gaussian() }
        let adc = UInt16(min(max(code.rounded(), 0), Double(PPK2Sample.adcMax)))
        let word = PPK2Sample(adc: adc, range: UInt8(range), counter: counter, logic: logic)
        counter = (counter &+ 1) & 0x3F
        measuredCount &+= 1
        sampleTime = sampleTime + VirtualTime(nanoseconds: PPK2Sample.periodNanoseconds)
        if dropRemaining > 0 {
            dropRemaining -= 1
            droppedCount &+= 1
        } else {
            word.append(to: &out)
        }
    }
}
