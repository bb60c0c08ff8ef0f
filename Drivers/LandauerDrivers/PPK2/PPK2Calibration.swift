import LandauerFirmware

/// The coefficients the host uses to turn a PPK2 sample into a current: the device's metadata
/// with unusable values (NaN, infinite, zero, missing) replaced by Nordic's defaults.
///
/// Per range r (0…4), with `adc` the 14-bit value times 4:
/// ```
/// rwg = (adc − O[r]) · (1.8 / 163840) / R[r]                     amperes before gain correction
/// I   = UG[r] · ( rwg · (GS[r]·rwg + GI[r]) + S[r]·VDD + I[r] )
/// ```
public struct PPK2Calibration: Sendable, Equatable {
    /// Shunt resistance per range (R).
    public var resistances: [Ohms]
    /// Quadratic gain term per range (GS), per ampere.
    public var quadraticGains: [Double]
    /// Linear gain per range (GI).
    public var linearGains: [Double]
    /// ADC offset per range (O), in units of 4 · ADC.
    public var adcOffsets: [Double]
    /// Supply-voltage slope per range (S): a current per volt of VDD.
    public var voltageSlopes: [Siemens]
    /// Current offset per range (I).
    public var currentOffsets: [Amperes]
    /// User gain per range (UG).
    public var userGains: [Double]

    /// Nordic's defaults (R = [1031.64, 101.65, 10.15, 0.94, 0.043] Ω, GS = GI = UG = 1, O = S = I = 0).
    public static let defaults = PPK2Calibration(metadata: PPK2Metadata())

    /// The effective coefficients of `metadata`: every NaN, infinite or zero value becomes its default.
    public init(metadata: PPK2Metadata) {
        let m = metadata.effective
        resistances = m.r.map(Ohms.init)
        quadraticGains = m.gs
        linearGains = m.gi
        adcOffsets = m.o
        voltageSlopes = m.s.map(Siemens.init)
        currentOffsets = m.i.map(Amperes.init)
        userGains = m.ug
    }

    /// The current of one ADC reading in `range` (ranges above 4 count as 4, as in Nordic's
    /// hosts) at regulator voltage `vdd`, before the spike filter.
    public func current(adc: UInt16, range: Int, vdd: Volts) -> Amperes {
        let c = PPK2RangeCoefficients(self, range: min(max(range, 0), 4), vdd: vdd)
        return Amperes(c.current(Double(adc & UInt16(PPK2Sample.adcMask)) * 4))
    }
}

/// One range's coefficients folded for the decoder's inner loop.
@usableFromInline
struct PPK2RangeCoefficients: Sendable {
    @usableFromInline var offset: Double
    @usableFromInline var scale: Double
    @usableFromInline var quadratic: Double
    @usableFromInline var linear: Double
    @usableFromInline var additive: Double
    @usableFromInline var userGain: Double

    @usableFromInline init(_ c: PPK2Calibration, range r: Int, vdd: Volts) {
        offset = c.adcOffsets[r]
        scale = PPK2Sample.adcVoltsPerCount / c.resistances[r].value
        quadratic = c.quadraticGains[r]
        linear = c.linearGains[r]
        additive = c.voltageSlopes[r].value * vdd.value + c.currentOffsets[r].value
        userGain = c.userGains[r]
    }

    /// Current in amperes from `adc4` = 4 · ADC.
    @inline(__always) @usableFromInline func current(_ adc4: Double) -> Double {
        let rwg = (adc4 - offset) * scale
        return userGain * (rwg * (quadratic * rwg + linear) + additive)
    }
}
