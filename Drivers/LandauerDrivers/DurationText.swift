import LandauerFirmware

/// Conversions and human-readable text for `Duration`, shared by error messages and event logs.
enum DurationText {
    /// `d` in seconds as a `Double`.
    static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }

    /// `d` with an SI prefix and three significant digits, e.g. "250 ms", "1.20 s", "0 s".
    static func format(_ d: Duration) -> String {
        let s = seconds(d)
        if s == 0 { return "0 s" }
        return Seconds(s).formatted(significantDigits: 3)
    }
}

extension Duration {
    /// This duration as a physical time.
    public var inSeconds: Seconds { Seconds(DurationText.seconds(self)) }
}
