// Physical quantities as value types. Each type stores its value in the coherent SI unit that
// names it; arithmetic exists only where physics allows it (Watts × Seconds → Joules), so a
// bare Double never stands for a physical value in a public API.
//
// Embedded-Swift subset: no Foundation, no existentials.

/// A scalar physical quantity stored in its SI unit.
///
/// Conformers get addition, subtraction, scaling by a dimensionless number, a dimensionless
/// ratio of two values of the same kind, and ordering. Cross-kind products and quotients are
/// declared one by one in `UnitAlgebra.swift`.
public protocol PhysicalQuantity: Comparable, Hashable, Sendable, AdditiveArithmetic {
    /// The value in the type's SI unit (joules for `Joules`, volts for `Volts`, …).
    var value: Double { get }
    /// Creates a quantity from its value in the type's SI unit.
    init(_ value: Double)
}

extension PhysicalQuantity {
    /// The zero of this quantity.
    @inlinable public static var zero: Self { Self(0) }

    @inlinable public static func + (a: Self, b: Self) -> Self { Self(a.value + b.value) }
    @inlinable public static func - (a: Self, b: Self) -> Self { Self(a.value - b.value) }
    @inlinable public static func += (a: inout Self, b: Self) { a = a + b }
    @inlinable public static func -= (a: inout Self, b: Self) { a = a - b }
    @inlinable public static prefix func - (a: Self) -> Self { Self(-a.value) }

    /// Scales by a dimensionless factor.
    @inlinable public static func * (a: Self, k: Double) -> Self { Self(a.value * k) }
    /// Scales by a dimensionless factor.
    @inlinable public static func * (k: Double, a: Self) -> Self { Self(a.value * k) }
    /// Divides by a dimensionless factor.
    @inlinable public static func / (a: Self, k: Double) -> Self { Self(a.value / k) }
    /// The dimensionless ratio of two values of the same kind.
    @inlinable public static func / (a: Self, b: Self) -> Double { a.value / b.value }

    @inlinable public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    /// The magnitude, with the same unit.
    @inlinable public var magnitude: Self { Self(value < 0 ? -value : value) }
    /// True when the value is a finite number (not NaN, not infinite).
    @inlinable public var isFinite: Bool { value.isFinite }
}

/// Energy in joules (J).
public struct Joules: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Power in watts (W).
public struct Watts: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Time or duration in seconds (s).
public struct Seconds: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
    /// A duration given in nanoseconds.
    @inlinable public init(nanoseconds: UInt64) { self.value = Double(nanoseconds) * 1e-9 }
}

/// Electric potential in volts (V).
public struct Volts: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Electric current in amperes (A).
public struct Amperes: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Electric conductance in siemens (S).
public struct Siemens: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Electric resistance in ohms (Ω).
public struct Ohms: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Electric charge in coulombs (C).
public struct Coulombs: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Capacitance in farads (F).
public struct Farads: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Thermodynamic temperature in kelvins (K). Differences of temperatures are also kelvins.
public struct Kelvin: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Frequency or bandwidth in hertz (Hz).
public struct Hertz: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Entropy or heat capacity in joules per kelvin (J/K); the unit of the Boltzmann constant.
public struct JoulesPerKelvin: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Current noise power spectral density in A²/Hz.
public struct AmperesSquaredPerHertz: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}

/// Current variance in A² (the square of an RMS current).
public struct AmperesSquared: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
    /// The standard deviation (root of the variance).
    @inlinable public var standardDeviation: Amperes { Amperes(value.squareRoot()) }
}

/// Energy per bit in J/bit, always attached to a named definition of "bit" by its user.
public struct JoulesPerBit: PhysicalQuantity {
    public var value: Double
    @inlinable public init(_ value: Double) { self.value = value }
}
