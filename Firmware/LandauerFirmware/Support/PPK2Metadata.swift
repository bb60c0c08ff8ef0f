// The PPK2's metadata text (its reply to GetMetadata): the calibration coefficients as the device
// stores and prints them. Shared by the virtual PPK2 (which prints its own) and the host driver
// (which parses the device's). Printing is here; parsing, which needs the standard library's
// decimal → binary conversion, is in the driver.
//
// Embedded-Swift subset: no Foundation, no existentials; text is built as bytes.

/// The PPK2's metadata: the values of the `key: value` lines of its reply to `GetMetadata`, as
/// printed (raw: a `-nan` stays NaN and a zero stays zero here; the host's effective
/// calibration replaces them with the defaults).
///
/// Line order on the wire: `Calibrated`, `R0`…`R4`, `GS0`…`GS4`, `GI0`…`GI4`, `O0`…`O4`, `VDD`,
/// `HW`, `mode`, `S0`…`S4`, `I0`…`I4`, `UG0`…`UG4`, `IA`, `END`. Floats print as `%.20f`.
///
/// Equality treats two NaNs as equal (a `-nan` read back is the `-nan` written), and compares
/// everything else exactly.
public struct PPK2Metadata: Sendable {
    /// `Calibrated`: 1 when the device carries a factory calibration.
    public var calibrated: Int
    /// `R0`…`R4`: shunt resistances per range, in ohms (raw coefficients of Nordic's formula).
    public var r: [Double]
    /// `GS0`…`GS4`: quadratic gain term per range, per ampere.
    public var gs: [Double]
    /// `GI0`…`GI4`: linear gain per range (dimensionless).
    public var gi: [Double]
    /// `O0`…`O4`: ADC offset per range, in units of `4 · ADC`.
    public var o: [Double]
    /// `VDD`: the regulator voltage in millivolts.
    public var vdd: Int
    /// `HW`: hardware revision number.
    public var hw: Int
    /// `mode`: 1 = ampere meter, 2 = source meter.
    public var mode: Int
    /// `S0`…`S4`: supply-voltage slope per range, in amperes per volt.
    public var s: [Double]
    /// `I0`…`I4`: current offset per range, in amperes.
    public var i: [Double]
    /// `UG0`…`UG4`: user gains per range (dimensionless).
    public var ug: [Double]
    /// `IA`: the device's last reported input-amplifier setting (opaque to the host).
    public var ia: Int

    /// Nordic's defaults: R = [1031.64, 101.65, 10.15, 0.94, 0.043], GS = GI = UG = 1, O = S = I = 0,
    /// VDD 3000 mV, source mode, not calibrated.
    public init(
        calibrated: Int = 0,
        r: [Double] = PPK2Metadata.defaultResistors,
        gs: [Double] = [1, 1, 1, 1, 1],
        gi: [Double] = [1, 1, 1, 1, 1],
        o: [Double] = [0, 0, 0, 0, 0],
        vdd: Int = 3000,
        hw: Int = 0,
        mode: Int = 2,
        s: [Double] = [0, 0, 0, 0, 0],
        i: [Double] = [0, 0, 0, 0, 0],
        ug: [Double] = [1, 1, 1, 1, 1],
        ia: Int = 0
    ) {
        precondition(r.count == 5 && gs.count == 5 && gi.count == 5 && o.count == 5 && s.count == 5 && i.count == 5 && ug.count == 5,
                     "PPK2 coefficients come in fives, one per range")
        self.calibrated = calibrated
        self.r = r
        self.gs = gs
        self.gi = gi
        self.o = o
        self.vdd = vdd
        self.hw = hw
        self.mode = mode
        self.s = s
        self.i = i
        self.ug = ug
        self.ia = ia
    }

    /// The coefficients a host computes with: every NaN, infinite or zero coefficient (R, GS, GI,
    /// O, S, I, UG) replaced by its default, as Nordic's hosts do. The integers are unchanged.
    public var effective: PPK2Metadata {
        let d = PPK2Metadata()
        func pick(_ v: [Double], _ defaults: [Double]) -> [Double] {
            var out = defaults
            for k in 0..<5 where v[k].isFinite && v[k] != 0 { out[k] = v[k] }
            return out
        }
        var m = self
        m.r = pick(r, d.r)
        m.gs = pick(gs, d.gs)
        m.gi = pick(gi, d.gi)
        m.o = pick(o, d.o)
        m.s = pick(s, d.s)
        m.i = pick(i, d.i)
        m.ug = pick(ug, d.ug)
        return m
    }

    /// Nordic's default shunt resistances R0…R4, in ohms.
    public static let defaultResistors: [Double] = [1031.64, 101.65, 10.15, 0.94, 0.043]

    /// The metadata text exactly as the device prints it, `END` line included.
    public var text: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1200)
        func line(_ key: StaticString, _ index: Int?, _ body: (inout [UInt8]) -> Void) {
            key.withUTF8Buffer { out.append(contentsOf: $0) }
            if let index { out.append(0x30 + UInt8(index)) }
            out.append(0x3A)  // ':'
            out.append(0x20)  // ' '
            body(&out)
            out.append(0x0A)
        }
        func floats(_ key: StaticString, _ values: [Double]) {
            for k in 0..<5 { line(key, k) { PPK2Metadata.appendFixed20(values[k], to: &$0) } }
        }
        line("Calibrated", nil) { PPK2Metadata.appendInteger(calibrated, to: &$0) }
        floats("R", r)
        floats("GS", gs)
        floats("GI", gi)
        floats("O", o)
        line("VDD", nil) { PPK2Metadata.appendInteger(vdd, to: &$0) }
        line("HW", nil) { PPK2Metadata.appendInteger(hw, to: &$0) }
        line("mode", nil) { PPK2Metadata.appendInteger(mode, to: &$0) }
        floats("S", s)
        floats("I", i)
        floats("UG", ug)
        line("IA", nil) { PPK2Metadata.appendInteger(ia, to: &$0) }
        out.append(contentsOf: [0x45, 0x4E, 0x44, 0x0A])  // "END\n"
        return out
    }

    // MARK: Number printing

    /// Appends a decimal integer.
    public static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(0x2D) }
        var m = value.magnitude
        var digits: [UInt8] = []
        repeat {
            digits.append(0x30 + UInt8(m % 10))
            m /= 10
        } while m > 0
        out.append(contentsOf: digits.reversed())
    }

    /// Appends `value` as C's `printf("%.20f")` prints it with glibc: the exact binary value
    /// rounded to 20 decimals (round half to even), `-0.000…` for negative zero, `nan`/`-nan` and
    /// `inf`/`-inf` for the specials.
    public static func appendFixed20(_ value: Double, to out: inout [UInt8]) {
        let places = 20
        if value.isNaN {
            if value.sign == .minus { out.append(0x2D) }
            out.append(contentsOf: [0x6E, 0x61, 0x6E])  // nan
            return
        }
        if value.sign == .minus { out.append(0x2D) }
        if value.isInfinite {
            out.append(contentsOf: [0x69, 0x6E, 0x66])  // inf
            return
        }
        // value = significand · 2^exponent with an integer significand.
        let bits = value.magnitude.bitPattern
        let biased = Int((bits >> 52) & 0x7FF)
        let fraction = bits & ((1 << 52) - 1)
        let significand: UInt64 = biased == 0 ? fraction : fraction | (1 << 52)
        let exponent = biased == 0 ? -1074 : biased - 1075

        // Integer part, as decimal digits (most significant first).
        var integerDigits: [UInt8]
        // Fraction part as a big binary fraction: limbs (little-endian) over 2^(32·limbCount).
        var limbs: [UInt32] = []
        if exponent >= 0 {
            integerDigits = decimalDigits(ofLimbs: shiftedLimbs(significand, by: exponent))
        } else {
            let fractionBits = -exponent
            let whole: UInt64 = fractionBits >= 64 ? 0 : significand >> UInt64(fractionBits)
            integerDigits = decimalDigits(ofLimbs: shiftedLimbs(whole, by: 0))
            let numerator = fractionBits >= 64 ? significand : significand & ((1 << UInt64(fractionBits)) - 1)
            let limbCount = (fractionBits + 31) / 32
            limbs = shiftedLimbs(numerator, by: limbCount * 32 - fractionBits)
            while limbs.count < limbCount { limbs.append(0) }
        }
        // Fraction digits: multiply by ten, the carry out of the top limb is the next digit.
        var fractionDigits: [UInt8] = []
        fractionDigits.reserveCapacity(places + 1)
        for _ in 0...places {
            var carry: UInt64 = 0
            for k in 0..<limbs.count {
                let v = UInt64(limbs[k]) * 10 + carry
                limbs[k] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            fractionDigits.append(UInt8(carry))
        }
        let next = fractionDigits.removeLast()
        let sticky = limbs.contains { $0 != 0 }
        let lastOdd = (fractionDigits.last ?? 0) & 1 == 1
        if next > 5 || (next == 5 && (sticky || lastOdd)) {
            // Round up, carrying through the fraction into the integer part.
            var k = fractionDigits.count - 1
            var carry = true
            while carry && k >= 0 {
                if fractionDigits[k] == 9 { fractionDigits[k] = 0 } else { fractionDigits[k] += 1; carry = false }
                k -= 1
            }
            k = integerDigits.count - 1
            while carry && k >= 0 {
                if integerDigits[k] == 9 { integerDigits[k] = 0 } else { integerDigits[k] += 1; carry = false }
                k -= 1
            }
            if carry { integerDigits.insert(1, at: 0) }
        }
        for d in integerDigits { out.append(0x30 + d) }
        out.append(0x2E)  // '.'
        for d in fractionDigits { out.append(0x30 + d) }
    }

    /// Little-endian 32-bit limbs of `value · 2^shift`.
    private static func shiftedLimbs(_ value: UInt64, by shift: Int) -> [UInt32] {
        var limbs = [UInt32](repeating: 0, count: shift / 32)
        let bitShift = UInt64(shift % 32)
        var carry: UInt64 = 0
        for part in [UInt32(truncatingIfNeeded: value), UInt32(truncatingIfNeeded: value >> 32)] {
            let v = (UInt64(part) << bitShift) | carry
            limbs.append(UInt32(truncatingIfNeeded: v))
            carry = v >> 32
        }
        limbs.append(UInt32(truncatingIfNeeded: carry))
        while limbs.count > 1 && limbs[limbs.count - 1] == 0 { limbs.removeLast() }
        return limbs
    }

    /// Decimal digits (values 0…9, most significant first) of a little-endian limb number.
    private static func decimalDigits(ofLimbs input: [UInt32]) -> [UInt8] {
        var limbs = input
        var digits: [UInt8] = []
        repeat {
            var remainder: UInt64 = 0
            for k in stride(from: limbs.count - 1, through: 0, by: -1) {
                let v = (remainder << 32) | UInt64(limbs[k])
                limbs[k] = UInt32(truncatingIfNeeded: v / 10)
                remainder = v % 10
            }
            digits.append(UInt8(remainder))
            while limbs.count > 1 && limbs[limbs.count - 1] == 0 { limbs.removeLast() }
        } while limbs.count > 1 || limbs[0] != 0
        return digits.reversed()
    }
}

extension PPK2Metadata: Equatable {
    /// Field-by-field equality in which NaN equals NaN (so a printed `-nan` reads back equal).
    public static func == (a: PPK2Metadata, b: PPK2Metadata) -> Bool {
        func same(_ x: [Double], _ y: [Double]) -> Bool {
            guard x.count == y.count else { return false }
            for k in 0..<x.count where !(x[k] == y[k] || (x[k].isNaN && y[k].isNaN)) { return false }
            return true
        }
        return a.calibrated == b.calibrated && a.vdd == b.vdd && a.hw == b.hw && a.mode == b.mode && a.ia == b.ia
            && same(a.r, b.r) && same(a.gs, b.gs) && same(a.gi, b.gi) && same(a.o, b.o)
            && same(a.s, b.s) && same(a.i, b.i) && same(a.ug, b.ug)
    }
}
