/// Physical constants, SI 2019 values.
public enum PhysicalConstants {
    /// Boltzmann constant k_B = 1.380649 × 10⁻²³ J/K, exact by definition of the kelvin (SI 2019).
    public static let boltzmann = JoulesPerKelvin(1.380649e-23)
    /// Elementary charge e = 1.602176634 × 10⁻¹⁹ C, exact (SI 2019).
    public static let elementaryCharge = Coulombs(1.602176634e-19)
    /// Natural logarithm of 2, the entropy of one bit in nats.
    public static let ln2: Double = 0.693_147_180_559_945_309_417_232_121_458
}

extension Kelvin {
    /// k_B·T at this temperature.
    @inlinable public var thermalEnergy: Joules { PhysicalConstants.boltzmann * self }
    /// Landauer's bound for erasing one bit at this temperature: k_B·T·ln 2.
    @inlinable public var landauerBound: Joules { thermalEnergy * PhysicalConstants.ln2 }

    /// Johnson–Nyquist current-noise spectral density of a conductance at this temperature: S_I = 4·k_B·T·G.
    @inlinable public func johnsonNyquistDensity(of g: Siemens) -> AmperesSquaredPerHertz {
        AmperesSquaredPerHertz(4 * PhysicalConstants.boltzmann.value * value * g.value)
    }
}
