#if !hasFeature(Embedded)
// Human-readable forms for the host only (the microcontroller build has no string formatting).

/// A symbol for each quantity, used when printing.
public protocol UnitSymbol {
    /// The SI symbol of the unit, e.g. "J".
    static var symbol: String { get }
}

extension Joules: UnitSymbol { public static var symbol: String { "J" } }
extension Watts: UnitSymbol { public static var symbol: String { "W" } }
extension Seconds: UnitSymbol { public static var symbol: String { "s" } }
extension Volts: UnitSymbol { public static var symbol: String { "V" } }
extension Amperes: UnitSymbol { public static var symbol: String { "A" } }
extension Siemens: UnitSymbol { public static var symbol: String { "S" } }
extension Ohms: UnitSymbol { public static var symbol: String { "Ω" } }
extension Coulombs: UnitSymbol { public static var symbol: String { "C" } }
extension Farads: UnitSymbol { public static var symbol: String { "F" } }
extension Kelvin: UnitSymbol { public static var symbol: String { "K" } }
extension Hertz: UnitSymbol { public static var symbol: String { "Hz" } }
extension JoulesPerKelvin: UnitSymbol { public static var symbol: String { "J/K" } }
extension AmperesSquaredPerHertz: UnitSymbol { public static var symbol: String { "A²/Hz" } }
extension AmperesSquared: UnitSymbol { public static var symbol: String { "A²" } }
extension JoulesPerBit: UnitSymbol { public static var symbol: String { "J/bit" } }

extension PhysicalQuantity where Self: UnitSymbol {
    /// The value with an SI prefix chosen so the mantissa lies in [1, 1000), e.g. "2.50 µJ".
    public func formatted(significantDigits: Int = 4) -> String {
        let prefixes: [(Double, String)] = [
            (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "µ"),
            (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a"), (1e-21, "z"), (1e-24, "y"),
        ]
        let v = value
        guard v.isFinite, v != 0 else { return "\(v) \(Self.symbol)" }
        let m = v < 0 ? -v : v
        if m >= 1e15 || m < 1e-24 {  // beyond the prefixes: an exponent
            return SignificantDigits.format(v, digits: significantDigits) + " " + Self.symbol
        }
        let (scale, prefix) = prefixes.first { m >= $0.0 } ?? prefixes[prefixes.count - 1]
        return "\(SignificantDigits.plain(v < 0 ? -v / scale : v / scale, digits: significantDigits).withSign(v < 0)) \(prefix)\(Self.symbol)"
    }
}

extension String {
    fileprivate func withSign(_ negative: Bool) -> String { negative ? "-" + self : self }
}

/// Number formatting with a number of significant digits, without Foundation.
public enum SignificantDigits {
    /// Formats `x` with `digits` significant digits: plain for 10⁻³ ≤ |x| < 10⁶, else with an
    /// exponent ("1.23e-7").
    public static func format(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return "\(x)" }
        if x == 0 { return "0" }
        let m = x < 0 ? -x : x
        if m >= 1e6 || m < 1e-3 {
            var e = 0
            var v = m
            while v >= 10 { v /= 10; e += 1 }
            while v < 1 { v *= 10; e -= 1 }
            var mantissa = plain(v, digits: digits)
            if mantissa.split(separator: ".").first == "10" {  // rounding carried over: 9.9999… became 10
                mantissa = plain(v / 10, digits: digits)
                e += 1
            }
            return (x < 0 ? "-" : "") + mantissa + "e" + String(e)
        }
        return (x < 0 ? "-" : "") + plain(m, digits: digits)
    }

    /// `m` ≥ 0 with `digits` significant digits in positional notation.
    public static func plain(_ m: Double, digits: Int) -> String {
        var intDigits = 1
        var t = m
        while t >= 10 { t /= 10; intDigits += 1 }
        var leadingZeros = 0
        if m > 0 && m < 1 {
            t = m
            while t < 0.1 { t *= 10; leadingZeros += 1 }
        }
        var decimals = m < 1 ? digits + leadingZeros : max(0, digits - intDigits)
        var p = 1.0
        for _ in 0..<decimals { p *= 10 }
        var r = (m * p).rounded() / p
        // The power of ten one above the leading digit: 10^intDigits, or 10^−leadingZeros below 1.
        var bound = 1.0
        if m < 1 {
            for _ in 0..<leadingZeros { bound /= 10 }
        } else {
            for _ in 0..<intDigits { bound *= 10 }
        }
        if r >= bound && decimals > 0 {  // rounding carried into a new leading digit: one decimal fewer
            decimals -= 1
            p /= 10
            r = (m * p).rounded() / p
        }
        var s = String(Int(r))
        if decimals > 0 {
            var frac = Int(((r - r.rounded(.towardZero)) * p).rounded())
            var fs = ""
            for _ in 0..<decimals { fs = String(frac % 10) + fs; frac /= 10 }
            s += "." + fs
        }
        return s
    }
}
#endif
