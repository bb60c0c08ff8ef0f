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
        let (scale, prefix) = prefixes.first { m >= $0.0 } ?? prefixes[prefixes.count - 1]
        return "\(SignificantDigits.format(v / scale, digits: significantDigits)) \(prefix)\(Self.symbol)"
    }
}

enum SignificantDigits {
    /// Formats `x` with `digits` significant digits without Foundation.
    static func format(_ x: Double, digits: Int) -> String {
        let m = x < 0 ? -x : x
        var intDigits = 1
        var t = m
        while t >= 10 { t /= 10; intDigits += 1 }
        let decimals = max(0, digits - intDigits)
        var p = 1.0
        for _ in 0..<decimals { p *= 10 }
        let r = (m * p).rounded() / p
        var s = String(Int(r))
        if decimals > 0 {
            var frac = Int(((r - r.rounded(.towardZero)) * p).rounded())
            var fs = ""
            for _ in 0..<decimals { fs = String(frac % 10) + fs; frac /= 10 }
            s += "." + fs
        }
        return (x < 0 ? "-" : "") + s
    }
}
#endif
