import LandauerFirmware
import Synchronization

/// What a virtual meter connects to: the supply current of a device under test over virtual time.
///
/// A meter reads the mean current over spans of virtual time; an acquisition that reaches into
/// the future first lets virtual time get there (`wait`), as a real acquisition takes real time.
public struct SupplyProbe: Sendable {
    /// Virtual time now.
    public var now: @Sendable () -> VirtualTime
    /// Lets virtual time reach `t` (the device under test idles until then); no effect for a past `t`.
    public var wait: @Sendable (VirtualTime) -> Void
    /// Mean supply current over a span, or nil when the span's record is gone.
    public var meanCurrent: @Sendable (Range<VirtualTime>) -> Amperes?
    /// Supply voltage of the device under test.
    public var voltage: Volts

    /// Creates a probe from its parts.
    public init(now: @escaping @Sendable () -> VirtualTime, wait: @escaping @Sendable (VirtualTime) -> Void,
                meanCurrent: @escaping @Sendable (Range<VirtualTime>) -> Amperes?, voltage: Volts) {
        self.now = now
        self.wait = wait
        self.meanCurrent = meanCurrent
        self.voltage = voltage
    }

    /// The supply of a virtual board: its waveform, its clock, its supply voltage.
    public static func board(_ board: VirtualBoard) -> SupplyProbe {
        let v = board.config.supplyVoltage
        return SupplyProbe(
            now: { board.now },
            wait: { t in
                let now = board.now
                if t > now { board.advance(by: (t - now).seconds) }
            },
            meanCurrent: { span in
                let dt = (span.upperBound - span.lowerBound).seconds
                guard dt.value > 0, let e = board.supplyEnergy(over: span) else { return nil }
                return e / dt / v
            },
            voltage: v)
    }

    /// A load drawing `current(t)` (in amperes at virtual time t, sampled at 1 µs and averaged),
    /// with a clock of its own that only `wait` advances.
    public static func load(voltage: Volts, _ current: @escaping @Sendable (VirtualTime) -> Amperes) -> SupplyProbe {
        let clock = Mutex(VirtualTime.zero)
        return SupplyProbe(
            now: { clock.withLock { $0 } },
            wait: { t in clock.withLock { if t > $0 { $0 = t } } },
            meanCurrent: { span in
                let step: UInt64 = 1_000_000  // 1 µs in picoseconds
                var t = span.lowerBound.picoseconds
                var sum = 0.0
                var n = 0.0
                repeat {
                    sum += current(VirtualTime(picoseconds: t)).value
                    n += 1
                    t += step
                } while t < span.upperBound.picoseconds
                return Amperes(sum / n)
            },
            voltage: voltage)
    }
}
