// The products and quotients between different quantities that physics allows.

// MARK: Power, energy, time
/// Energy delivered by a power over a duration: E = P·t.
@inlinable public func * (p: Watts, t: Seconds) -> Joules { Joules(p.value * t.value) }
/// Energy delivered by a power over a duration: E = t·P.
@inlinable public func * (t: Seconds, p: Watts) -> Joules { Joules(p.value * t.value) }
/// Mean power of an energy spread over a duration: P = E/t.
@inlinable public func / (e: Joules, t: Seconds) -> Watts { Watts(e.value / t.value) }
/// Time a power needs to deliver an energy: t = E/P.
@inlinable public func / (e: Joules, p: Watts) -> Seconds { Seconds(e.value / p.value) }

// MARK: Electrical power
/// Electrical power: P = V·I.
@inlinable public func * (v: Volts, i: Amperes) -> Watts { Watts(v.value * i.value) }
/// Electrical power: P = I·V.
@inlinable public func * (i: Amperes, v: Volts) -> Watts { Watts(v.value * i.value) }
/// Current drawn at a supply voltage for a power: I = P/V.
@inlinable public func / (p: Watts, v: Volts) -> Amperes { Amperes(p.value / v.value) }
/// Voltage at which a current carries a power: V = P/I.
@inlinable public func / (p: Watts, i: Amperes) -> Volts { Volts(p.value / i.value) }

// MARK: Ohm's law
/// Ohm's law: I = G·V.
@inlinable public func * (g: Siemens, v: Volts) -> Amperes { Amperes(g.value * v.value) }
/// Ohm's law: I = V·G.
@inlinable public func * (v: Volts, g: Siemens) -> Amperes { Amperes(g.value * v.value) }
/// Ohm's law: G = I/V.
@inlinable public func / (i: Amperes, v: Volts) -> Siemens { Siemens(i.value / v.value) }
/// Ohm's law: V = I/G.
@inlinable public func / (i: Amperes, g: Siemens) -> Volts { Volts(i.value / g.value) }
/// Ohm's law: R = V/I.
@inlinable public func / (v: Volts, i: Amperes) -> Ohms { Ohms(v.value / i.value) }
/// Ohm's law: V = I·R.
@inlinable public func * (i: Amperes, r: Ohms) -> Volts { Volts(i.value * r.value) }

extension Siemens {
    /// The resistance of this conductance: R = 1/G.
    @inlinable public var resistance: Ohms { Ohms(1 / value) }
}

extension Ohms {
    /// The conductance of this resistance: G = 1/R.
    @inlinable public var conductance: Siemens { Siemens(1 / value) }
}

// MARK: Charge
/// Charge moved by a current over a duration: Q = I·t.
@inlinable public func * (i: Amperes, t: Seconds) -> Coulombs { Coulombs(i.value * t.value) }
/// Charge moved by a current over a duration: Q = t·I.
@inlinable public func * (t: Seconds, i: Amperes) -> Coulombs { Coulombs(i.value * t.value) }
/// Mean current of a charge moved over a duration: I = Q/t.
@inlinable public func / (q: Coulombs, t: Seconds) -> Amperes { Amperes(q.value / t.value) }
/// Energy of a charge moved through a potential: E = Q·V.
@inlinable public func * (q: Coulombs, v: Volts) -> Joules { Joules(q.value * v.value) }
/// Energy of a charge moved through a potential: E = V·Q.
@inlinable public func * (v: Volts, q: Coulombs) -> Joules { Joules(q.value * v.value) }
/// Charge drawn from a supply at a voltage for an energy: Q = E/V.
@inlinable public func / (e: Joules, v: Volts) -> Coulombs { Coulombs(e.value / v.value) }
/// Charge held by a capacitance at a voltage: Q = C·V.
@inlinable public func * (c: Farads, v: Volts) -> Coulombs { Coulombs(c.value * v.value) }

extension Farads {
    /// Energy drawn from a supply to charge this capacitance to `v` (half is stored, half lost): C·V².
    @inlinable public func chargingEnergy(at v: Volts) -> Joules { Joules(value * v.value * v.value) }
}

// MARK: Frequency
extension Seconds {
    /// The frequency whose period is this duration: f = 1/t.
    @inlinable public var reciprocal: Hertz { Hertz(1 / value) }
}

extension Hertz {
    /// The period of this frequency: t = 1/f.
    @inlinable public var period: Seconds { Seconds(1 / value) }
}

// MARK: Thermodynamics
/// Thermal energy scale: E = k·T.
@inlinable public func * (k: JoulesPerKelvin, t: Kelvin) -> Joules { Joules(k.value * t.value) }
/// Thermal energy scale: E = T·k.
@inlinable public func * (t: Kelvin, k: JoulesPerKelvin) -> Joules { Joules(k.value * t.value) }

// MARK: Noise
/// Noise variance from a power spectral density over a bandwidth: σ² = S·Δf.
@inlinable public func * (s: AmperesSquaredPerHertz, f: Hertz) -> AmperesSquared {
    AmperesSquared(s.value * f.value)
}

// MARK: Energy per bit
/// Energy per bit for an energy spread over a count of bits (the count's definition is the caller's).
@inlinable public func / (e: Joules, bits: Double) -> JoulesPerBit { JoulesPerBit(e.value / bits) }
