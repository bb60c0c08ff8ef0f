import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerSimulators
import Synchronization

/// Samples a meter delivered: raw readings (the meter's own calibration, no spike filter), the
/// range and logic lines of each, and each one's index on the meter's sample clock (gaps are jumps).
public struct MeterSamples: Sendable, Equatable {
    /// Sample-clock index of each sample.
    public var indices: [Int64] = []
    /// Raw current readings, in amperes.
    public var raw: [Double] = []
    /// The range each was taken on.
    public var ranges: [UInt8] = []
    /// The logic inputs with each.
    public var logic: [UInt8] = []
    /// The meter's raw sample words, when it has them (a PPK2's 4-byte words), for the trace store.
    public var words: [UInt32] = []

    /// No samples.
    public init() {}

    /// The number of samples.
    public var count: Int { raw.count }

    /// Appends `other`'s samples (taken after these).
    public mutating func append(contentsOf other: MeterSamples) {
        indices += other.indices
        raw += other.raw
        ranges += other.ranges
        logic += other.logic
        words += other.words
    }

    /// Feeds every sample to `attribution`.
    public func feed(_ attribution: inout MarkerAttribution) {
        for k in 0..<raw.count { attribution.add(index: indices[k], raw: raw[k], range: Int(ranges[k]), lines: logic[k]) }
    }

    /// Raw sums of all samples (no windows).
    public var sums: RangeSums { sums { _ in true } }

    /// Raw sums of the samples whose logic lines pass `include`; samples missing between the
    /// first and the last sample are counted as missing.
    public func sums(where include: (UInt8) -> Bool) -> RangeSums {
        var s = RangeSums()
        for k in 0..<raw.count where include(logic[k]) { s.add(raw[k], range: Int(ranges[k])) }
        if let first = indices.first, let last = indices.last { s.missing = Double(last - first + 1) - Double(raw.count) }
        return s
    }
}

/// A meter that can be switched onto reference loads: what `landauer calibrate` needs.
public protocol ReferenceLoadMeter: Sendable {
    /// The meter's identity.
    var identity: InstrumentIdentity { get async }
    /// The loads, as their certificates state them.
    var loads: [ReferenceLoad] { get }
    /// The voltage the loads are driven at.
    var loadVoltage: Volts { get }
    /// The voltage's relative standard uncertainty.
    var loadVoltageRelativeUncertainty: Double { get }
    /// One ADC step per range, where known.
    var resolution: [Amperes] { get }
    /// Connects load `index` of `loads`, or nothing (open circuit) for nil.
    func connectLoad(_ index: Int?) async throws
    /// Reads `count` samples of whatever is connected.
    func acquire(count: Int) async throws -> MeterSamples
}

/// A virtual Nordic PPK2 on a virtual board, in process and in lockstep with the board's clock,
/// with a switchable reference-load bank between them.
///
/// The host side is the production code: commands are `PPK2Command`s encoded to bytes, the
/// metadata text is parsed by `PPK2Metadata(parsing:)`, samples are decoded by `PPK2Decoder`
/// with the calibration the unit reports (no spike filter: it does not conserve charge). Only the
/// simulation knows the unit's hidden gain and offset errors and the loads' actual values.
public final class LockstepPowerBench: ReferenceLoadMeter, Sendable {
    /// The board measured when no load is switched in.
    public let board: VirtualBoard
    /// The reference loads (truth included).
    public let bank: ReferenceLoadBank
    /// The unit's configuration (hidden errors included).
    public let ppk2Config: VirtualPPK2Config
    /// The serial number the unit reports.
    public let serial: String

    struct State: Sendable {
        var ppk2: VirtualPPK2
        var decoder: PPK2Decoder
        var metadata: PPK2Metadata?
        /// Sample-clock index of the next sample.
        var nextIndex: Int64 = 0
        /// nil: the board is connected; otherwise a load position (-1: open).
        var position: Int?
        /// Bytes of a sample word not yet complete.
        var carry: [UInt8] = []
    }

    let state: Mutex<State>

    /// A bench: `board`, a PPK2 built with `ppk2`, and `bank` (default: the PPK2 bank at the
    /// board's supply voltage).
    /// True when the bench lifts the board's waveform retention on connecting (see `connect()`).
    public let streamsWaveform: Bool

    public init(
        board: VirtualBoard, ppk2: VirtualPPK2Config, bank: ReferenceLoadBank? = nil, serial: String = "SIM-PPK2", streamsWaveform: Bool = true
    ) {
        self.board = board
        self.streamsWaveform = streamsWaveform
        self.ppk2Config = ppk2
        self.bank = bank ?? ReferenceLoadBank(nominals: ReferenceLoadBank.ppk2Nominals, voltage: board.config.supplyVoltage)
        self.serial = serial
        state = Mutex(State(ppk2: VirtualPPK2(config: ppk2), decoder: PPK2Decoder(spikeFilter: false)))
    }

    /// GetMetadata, parse, then the production set-up: regulator at the board's supply voltage,
    /// user gains, source mode, DUT power on, AverageStart. A real PPK2 samples without pause, so
    /// with `streamsWaveform` the board keeps its waveform until the unit has sampled it (the
    /// board's retention limit is lifted; memory is then bounded by how often `collect()` is called,
    /// about 8 MB per second of board time between calls). Without it, waveform the board discards
    /// before a `collect()` is lost samples: a gap (`lostSamples`).
    @discardableResult
    public func connect() throws -> PPK2Metadata {
        if streamsWaveform { board.withFrontEnd { $0.setWaveformRetention(nil) } }
        return try state.withLock { s throws -> PPK2Metadata in
            let text = s.ppk2.receive(try PPK2Command.getMetadata.encoded())
            let metadata = try PPK2Metadata(parsing: text)
            let v = board.config.supplyVoltage
            var setup = try PPK2Command.regulator(v).encoded()
            for r in 0..<5 { setup += try PPK2Command.userGain(range: r, gain: Float(metadata.ug[r])).encoded() }
            setup += try PPK2Command.powerMode(.sourceMeter).encoded()
            setup += try PPK2Command.deviceRunning(true).encoded()
            _ = s.ppk2.receive(setup)
            _ = s.ppk2.samples(from: board)  // align the unit's sample clock with the board's
            _ = s.ppk2.receive(try PPK2Command.averageStart.encoded())
            s.decoder = PPK2Decoder(calibration: PPK2Calibration(metadata: metadata), vdd: v, spikeFilter: false)
            s.metadata = metadata
            return metadata
        }
    }

    public var identity: InstrumentIdentity {
        let hw = state.withLock { $0.metadata?.hw }
        return InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: serial, firmware: hw.map { "hw \($0)" })
    }

    public var loads: [ReferenceLoad] {
        bank.loads.map { ReferenceLoad(name: "\($0.name) \(SignificantDigits.format($0.nominal.value, digits: 3)) Ω", resistance: $0.certified, standardUncertainty: $0.standardUncertainty) }
    }

    public var loadVoltage: Volts { bank.voltage }
    public var loadVoltageRelativeUncertainty: Double { 0 }

    public var resolution: [Amperes] {
        guard let m = state.withLock({ $0.metadata }) else { return [] }
        // One 14-bit ADC step across each range's shunt, as the unit's calibration scales it.
        return (0..<5).map { Amperes(PPK2Sample.adcVoltsPerCount * 4 / m.r[$0]) }
    }

    public func connectLoad(_ index: Int?) async throws {
        precondition(index.map { bank.loads.indices.contains($0) } ?? true, "no such load")
        state.withLock { $0.position = index ?? -1 }
    }

    /// Switches the board back in.
    public func connectBoard() {
        state.withLock { s in
            s.position = nil
            _ = s.ppk2.samples(from: board)  // board time spent on loads is not the board's
        }
    }

    public func acquire(count: Int) async throws -> MeterSamples {
        state.withLock { s in
            guard let position = s.position else { preconditionFailure("acquire(count:) measures loads; use collect() for the board") }
            let current = position < 0 ? Amperes.zero : bank.current(ofLoad: position)
            s.ppk2.source = .constant(current)
            let bytes = s.ppk2.samples(count: count)
            return Self.decode(bytes, &s)
        }
    }

    /// The board's samples since the last call: everything up to its clock now (whole 10 µs samples).
    public func collect() -> MeterSamples {
        state.withLock { s in
            precondition(s.position == nil, "collect() measures the board; call connectBoard() first")
            let lostBefore = s.ppk2.lostCount
            let bytes = s.ppk2.samples(from: board)
            // Samples the unit could not measure (the board had discarded their waveform): a gap in the indices.
            s.nextIndex += Int64(s.ppk2.lostCount - lostBefore)
            return Self.decode(bytes, &s)
        }
    }

    /// Lets `duration` of board time pass, reading the meter every millisecond of it (the board
    /// keeps only so much waveform), and returns every sample taken.
    public func advanceBoard(by duration: Seconds) -> MeterSamples {
        var out = MeterSamples()
        var left = duration.value
        while left > 0 {
            let step = min(left, 1e-3)
            board.advance(by: Seconds(step))
            out.append(contentsOf: collect())
            left -= step
        }
        return out
    }

    /// Samples lost so far because the board's waveform was drained too rarely (see `VirtualPPK2.lostCount`).
    public var lostSamples: UInt64 { state.withLock { $0.ppk2.lostCount } }

    /// Drops the next `count` samples in the unit (a USB link that cannot keep up): the host sees a counter gap.
    public func dropSamples(_ count: Int) { state.withLock { $0.ppk2.dropSamples(count) } }

    static func decode(_ bytes: [UInt8], _ s: inout State) -> MeterSamples {
        let gapsBefore = s.decoder.gaps.count
        let receivedBefore = s.decoder.receivedCount
        var decoded = PPK2Samples()
        s.decoder.decode(bytes, appendingTo: &decoded)
        var out = MeterSamples()
        out.raw = decoded.currents.map(\.value)
        out.ranges = decoded.ranges
        out.logic = decoded.logic
        let all = s.carry + bytes
        let whole = all.count / 4 * 4
        out.words = stride(from: 0, to: whole, by: 4).map { k in
            UInt32(all[k]) | UInt32(all[k + 1]) << 8 | UInt32(all[k + 2]) << 16 | UInt32(all[k + 3]) << 24
        }
        s.carry = Array(all[whole...])
        out.indices.reserveCapacity(decoded.count)
        // Counter gaps: each moves the sample clock on by its missing count before its sample.
        var jumps: [(received: UInt64, missing: Int)] = s.decoder.gaps[gapsBefore...].map { ($0.receivedIndex, $0.missing) }
        jumps.sort { $0.received < $1.received }
        var j = 0
        for k in 0..<decoded.count {
            let received = receivedBefore + UInt64(k)
            while j < jumps.count && jumps[j].received <= received {
                s.nextIndex += Int64(jumps[j].missing)
                j += 1
            }
            out.indices.append(s.nextIndex)
            s.nextIndex += 1
        }
        return out
    }
}
