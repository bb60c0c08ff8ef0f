import LandauerFirmware

/// A run of consecutive bins of a supply waveform, handed to a consumer (a virtual power meter).
public struct SupplyWaveformChunk: Sendable, Equatable {
    /// Start of the first bin.
    public var start: VirtualTime
    /// Width of every bin.
    public var binWidth: VirtualTime
    /// The board supply voltage the energies were drawn at.
    public var supplyVoltage: Volts
    /// Energy drawn in each bin, oldest first.
    public var energies: [Joules]

    /// Creates a chunk.
    public init(start: VirtualTime, binWidth: VirtualTime, supplyVoltage: Volts, energies: [Joules]) {
        self.start = start
        self.binWidth = binWidth
        self.supplyVoltage = supplyVoltage
        self.energies = energies
    }

    /// End of the last bin.
    public var end: VirtualTime {
        VirtualTime(picoseconds: start.picoseconds + binWidth.picoseconds * UInt64(energies.count))
    }

    /// Mean supply current in bin `index` of this chunk: E / (V·Δt).
    public func meanCurrent(_ index: Int) -> Amperes {
        Amperes(energies[index].value / (supplyVoltage.value * binWidth.seconds.value))
    }

    /// Energy of all bins of the chunk (compensated sum).
    public var totalEnergy: Joules {
        var s = CompensatedSum()
        for e in energies { s.add(e.value) }
        return Joules(s.value)
    }
}

/// The board's supply current over virtual time, as energy per fixed-width bin: what a power
/// meter on the board's supply would see.
///
/// An event of energy E over [t₀, t₁) deposits E into the bins it overlaps, in proportion to the
/// overlap; an instantaneous event (t₀ = t₁) goes into the bin holding t₀. Constant-power
/// background is deposited the same way. The mean current of a bin is E / (V_supply · width).
///
/// Memory: by default every bin is kept. A consumer drains completed bins with
/// `drainCompletedBins(upTo:)`; with `retentionLimit` set, the oldest bins beyond the limit are
/// discarded (their energy still counts in `totalEnergy`). Either way `totalEnergy` is the
/// integral over all virtual time and equals the ledger's total.
public struct SupplyWaveform: Sendable {
    /// Width of one bin.
    public let binWidth: VirtualTime
    /// The board supply voltage (e.g. a PPK2 in source mode at 3.3 V).
    public let supplyVoltage: Volts
    /// The largest number of bins kept; older ones are discarded. `nil` keeps everything.
    public var retentionLimit: Int?

    private var bins: [Double] = []
    /// Index in `bins` of the first retained bin.
    private var head = 0
    /// Absolute index (time / binWidth) of the first retained bin.
    private var firstBin: UInt64 = 0
    /// Energy of bins drained or discarded.
    private var released = CompensatedSum()
    /// Bins handed out by `drainCompletedBins`.
    public private(set) var drainedBinCount: UInt64 = 0
    /// Bins dropped because of `retentionLimit`.
    public private(set) var discardedBinCount: UInt64 = 0
    /// Deposits that started before the retained window and were moved into its first bin.
    public private(set) var lateDepositCount: UInt64 = 0
    /// The latest end of any deposit.
    public private(set) var frontier: VirtualTime = .zero

    /// Creates an empty waveform with bins of `binWidth` (default 1 µs) at `supplyVoltage`.
    public init(binWidth: Seconds = Seconds(1e-6), supplyVoltage: Volts = Volts(3.3), retentionLimit: Int? = nil) {
        let w = VirtualTime(rounding: binWidth)
        precondition(w.picoseconds > 0, "bin width must be at least 1 ps")
        precondition(supplyVoltage.value > 0, "supply voltage must be positive")
        precondition(retentionLimit.map { $0 > 0 } ?? true, "retention limit must be positive")
        self.binWidth = w
        self.supplyVoltage = supplyVoltage
        self.retentionLimit = retentionLimit
    }

    /// Number of bins currently kept.
    public var retainedBinCount: Int { bins.count - head }

    /// The span covered by the kept bins.
    public var retainedRange: Range<VirtualTime> {
        let w = binWidth.picoseconds
        return VirtualTime(picoseconds: firstBin * w)..<VirtualTime(picoseconds: (firstBin + UInt64(retainedBinCount)) * w)
    }

    /// Absolute index of the bin holding instant `t`.
    public func binIndex(containing t: VirtualTime) -> UInt64 { t.picoseconds / binWidth.picoseconds }

    /// Absolute indices of the kept bins.
    public var retainedBins: Range<UInt64> { firstBin..<(firstBin + UInt64(retainedBinCount)) }

    /// Adds zero bins so that absolute bin `index` exists.
    private mutating func grow(through index: UInt64) {
        let last = firstBin + UInt64(retainedBinCount)
        if index >= last {
            bins.append(contentsOf: repeatElement(0.0, count: Int(index - last + 1)))
        }
    }

    /// Deposits `energy` spread uniformly over `span`.
    public mutating func deposit(_ energy: Joules, over span: Range<VirtualTime>) {
        let w = binWidth.picoseconds
        var s = span.lowerBound.picoseconds
        var e = span.upperBound.picoseconds
        let windowStart = firstBin * w
        if s < windowStart {
            lateDepositCount &+= 1
            if e < windowStart { e = windowStart }
            s = windowStart
            if e == s {
                // Entirely before the window: lands in the first kept bin.
                grow(through: firstBin)
                bins[head] += energy.value
                trim()
                return
            }
        }
        if span.upperBound > frontier { frontier = span.upperBound }
        let first = s / w
        if e <= s {
            grow(through: first)
            bins[head + Int(first - firstBin)] += energy.value
            trim()
            return
        }
        let last = (e - 1) / w
        grow(through: last)
        let base = head - Int(firstBin)
        if first == last {
            bins[base + Int(first)] += energy.value
        } else {
            // Partial first and last bins; every bin between gets the same share.
            let perPicosecond = energy.value / Double(e - s)
            let perBin = perPicosecond * Double(w)
            bins.withUnsafeMutableBufferPointer { buf in
                buf[base + Int(first)] += perPicosecond * Double((first + 1) * w - s)
                var k = base + Int(first) + 1
                let end = base + Int(last)
                while k < end {
                    buf[k] += perBin
                    k += 1
                }
                buf[end] += perPicosecond * Double(e - last * w)
            }
        }
        trim()
    }

    /// Deposits a constant power drawn over `span` (energy P·Δt).
    public mutating func deposit(power: Watts, over span: Range<VirtualTime>) {
        let dt = Double(span.upperBound.picoseconds - span.lowerBound.picoseconds) * 1e-12
        deposit(Joules(power.value * dt), over: span)
    }

    /// Applies the retention limit and reclaims storage of released bins.
    private mutating func trim() {
        if let limit = retentionLimit, retainedBinCount > limit {
            let n = retainedBinCount - limit
            // Sum the released bins in blocks, then add each block to the compensated total.
            bins.withUnsafeBufferPointer { buf in
                var k = head
                while k < head + n {
                    let stop = min(k + 64, head + n)
                    var block = 0.0
                    while k < stop {
                        block += buf[k]
                        k += 1
                    }
                    released.add(block)
                }
            }
            head += n
            firstBin += UInt64(n)
            discardedBinCount &+= UInt64(n)
        }
        compact()
    }

    private mutating func compact() {
        if head >= 4096 && head * 2 >= bins.count {
            bins.removeFirst(head)
            head = 0
        }
    }

    /// Energy in absolute bin `index` (0 for a bin not kept or not reached yet).
    public func energy(inBin index: UInt64) -> Joules {
        guard retainedBins.contains(index) else { return .zero }
        return Joules(bins[head + Int(index - firstBin)])
    }

    /// Mean supply current in absolute bin `index`: E / (V·width).
    public func meanCurrent(inBin index: UInt64) -> Amperes {
        Amperes(energy(inBin: index).value / (supplyVoltage.value * binWidth.seconds.value))
    }

    /// Energy drawn over `span`, from the kept bins (partial bins pro rata, the current taken as
    /// uniform within a bin), or nil when part of the span lies in bins already drained or
    /// discarded: a missing stretch of waveform is never reported as zero energy.
    public func energy(over span: Range<VirtualTime>) -> Joules? {
        let w = binWidth.picoseconds
        let s = span.lowerBound.picoseconds
        let e = span.upperBound.picoseconds
        let kept = retainedBins
        if e > s && s / w < firstBin { return nil }
        guard e > s, !kept.isEmpty else { return .zero }
        let first = max(s / w, kept.lowerBound)
        let last = min((e - 1) / w, kept.upperBound - 1)
        guard first <= last else { return .zero }
        var sum = CompensatedSum()
        for b in first...last {
            let lo = max(s, b * w)
            let hi = min(e, (b + 1) * w)
            let energy = bins[head + Int(b - firstBin)]
            sum.add(hi - lo == w ? energy : energy * Double(hi - lo) / Double(w))
        }
        return Joules(sum.value)
    }

    /// Charge drawn from the supply over `span`: energy / V (nil where `energy(over:)` is nil).
    public func charge(over span: Range<VirtualTime>) -> Coulombs? { energy(over: span).map { $0 / supplyVoltage } }

    /// Energy of all bins ever deposited, kept, drained or discarded: the integral of the waveform
    /// over all virtual time.
    public var totalEnergy: Joules {
        var s = released
        for k in head..<bins.count { s.add(bins[k]) }
        return Joules(s.value)
    }

    /// Energy in the kept bins only.
    public var retainedEnergy: Joules {
        var s = CompensatedSum()
        for k in head..<bins.count { s.add(bins[k]) }
        return Joules(s.value)
    }

    /// Hands out and forgets every kept bin that ends at or before `time` (bins no event reached
    /// are handed out as zero). Pass the board's current time: bins before it are complete,
    /// because the board only deposits at or after its clock.
    public mutating func drainCompletedBins(upTo time: VirtualTime) -> SupplyWaveformChunk {
        let w = binWidth.picoseconds
        let completeEnd = time.picoseconds / w  // exclusive absolute bin index
        let start = VirtualTime(picoseconds: firstBin * w)
        guard completeEnd > firstBin else {
            return SupplyWaveformChunk(start: start, binWidth: binWidth, supplyVoltage: supplyVoltage, energies: [])
        }
        grow(through: completeEnd - 1)
        let n = Int(completeEnd - firstBin)
        var out = [Joules]()
        out.reserveCapacity(n)
        for k in head..<(head + n) {
            out.append(Joules(bins[k]))
            released.add(bins[k])
        }
        head += n
        firstBin = completeEnd
        drainedBinCount &+= UInt64(n)
        compact()
        return SupplyWaveformChunk(start: start, binWidth: binWidth, supplyVoltage: supplyVoltage, energies: out)
    }
}
