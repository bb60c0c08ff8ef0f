import LandauerFirmware

/// An instant (or a span) of virtual time, in integer picoseconds since the board powered up.
///
/// Integers, not floating point, so that billions of small steps add up exactly and two runs of
/// the same script land on the same picosecond. 2⁶⁴ ps is about 213 days of virtual time.
public struct VirtualTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Picoseconds since power-up (or the length of a span).
    public var picoseconds: UInt64

    /// Creates a time from picoseconds.
    @inlinable public init(picoseconds: UInt64) { self.picoseconds = picoseconds }

    /// Creates a time from nanoseconds.
    @inlinable public init(nanoseconds: UInt64) { self.picoseconds = nanoseconds &* 1000 }

    /// Creates a time from a duration in seconds, rounded to the nearest picosecond (negative → 0).
    public init(rounding duration: Seconds) {
        let ps = (duration.value * 1e12).rounded()
        precondition(ps < 1.8e19, "virtual time out of range")
        self.picoseconds = ps > 0 ? UInt64(ps) : 0
    }

    /// Power-up.
    public static let zero = VirtualTime(picoseconds: 0)

    /// Whole nanoseconds (truncated), the resolution of the board timer.
    @inlinable public var nanoseconds: UInt64 { picoseconds / 1000 }

    /// The time in seconds.
    @inlinable public var seconds: Seconds { Seconds(Double(picoseconds) * 1e-12) }

    /// The later of two times shifted: `a + b` picoseconds.
    @inlinable public static func + (a: VirtualTime, b: VirtualTime) -> VirtualTime {
        VirtualTime(picoseconds: a.picoseconds + b.picoseconds)
    }

    /// The span between two times (`a` must not be before `b`).
    @inlinable public static func - (a: VirtualTime, b: VirtualTime) -> VirtualTime {
        VirtualTime(picoseconds: a.picoseconds - b.picoseconds)
    }

    /// Orders times.
    @inlinable public static func < (a: VirtualTime, b: VirtualTime) -> Bool { a.picoseconds < b.picoseconds }

    /// The time in seconds, e.g. "0.000012345 s".
    public var description: String { "\(Double(picoseconds) * 1e-12) s" }
}

/// The virtual clock shared by everything on a simulated board. It only moves forward.
public struct VirtualClock: Sendable, Equatable {
    /// The current virtual time.
    public private(set) var now: VirtualTime = .zero
    /// Carry of `advance(cycles:clockHertz:)`: cycles × 10¹² not yet turned into whole picoseconds.
    private var cycleRemainder: UInt64 = 0

    /// A clock at power-up.
    public init() {}

    /// The board timer: nanoseconds since power-up.
    @inlinable public var nanoseconds: UInt64 { now.nanoseconds }

    /// Moves the clock forward by `picoseconds` and returns the span covered, [start, end).
    @discardableResult
    public mutating func advance(picoseconds: UInt64) -> Range<VirtualTime> {
        let start = now
        now.picoseconds += picoseconds
        return start..<now
    }

    /// Moves the clock forward by a duration (rounded to the picosecond).
    @discardableResult
    public mutating func advance(by duration: Seconds) -> Range<VirtualTime> {
        advance(picoseconds: VirtualTime(rounding: duration).picoseconds)
    }

    /// The picoseconds that `cycles` core cycles at `clockHertz` take, exactly: the fraction of a
    /// picosecond left over is carried into the next call, so the clock never drifts against the
    /// cycle count. Does not move the clock.
    public mutating func picoseconds(forCycles cycles: UInt32, clockHertz: UInt64) -> UInt64 {
        precondition(clockHertz >= 1000, "core clock below 1 kHz")
        let product = UInt64(cycles).multipliedFullWidth(by: 1_000_000_000_000)
        var low = product.low
        var high = product.high
        let (sum, overflow) = low.addingReportingOverflow(cycleRemainder)
        low = sum
        if overflow { high += 1 }
        let (q, r) = clockHertz.dividingFullWidth((high: high, low: low))
        cycleRemainder = r
        return q
    }
}
