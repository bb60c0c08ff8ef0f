import LandauerFirmware

/// How a standard uncertainty was evaluated (GUM, JCGM 100:2008, §4).
public enum UncertaintyEvaluation: String, Sendable, Codable, Equatable {
    /// Type A: by statistical analysis of a series of observations (noise, repeats).
    case typeA = "A"
    /// Type B: by other means (calibration certificates, resolution, timing, specifications).
    case typeB = "B"
}

/// One contribution to an uncertainty budget: its name, how it was evaluated, and its standard
/// uncertainty in the unit of the measurand (already multiplied by its sensitivity coefficient).
public struct UncertaintyComponent: Sendable, Codable, Equatable {
    /// What it stands for, e.g. "reference resistor certificate".
    public var name: String
    /// Type A or type B.
    public var evaluation: UncertaintyEvaluation
    /// The standard uncertainty u_i, in the measurand's SI unit.
    public var standardUncertainty: Double

    /// A component.
    public init(_ name: String, _ evaluation: UncertaintyEvaluation, _ standardUncertainty: Double) {
        self.name = name
        self.evaluation = evaluation
        self.standardUncertainty = standardUncertainty
    }
}

/// A GUM uncertainty budget for one measurand: uncorrelated components combined in quadrature,
/// expanded with a coverage factor (k = 2 unless stated, ≈ 95 % for a normal distribution).
public struct UncertaintyBudget: Sendable, Codable, Equatable {
    /// The components, in the order they were added.
    public var components: [UncertaintyComponent]
    /// The coverage factor for the expanded uncertainty.
    public var coverageFactor: Double

    /// An empty budget with coverage factor `k`.
    public init(components: [UncertaintyComponent] = [], coverageFactor k: Double = 2) {
        self.components = components
        self.coverageFactor = k
    }

    /// Adds a component.
    public mutating func add(_ name: String, _ evaluation: UncertaintyEvaluation, _ u: Double) {
        components.append(UncertaintyComponent(name, evaluation, u))
    }

    /// Combined standard uncertainty u_c = √(Σ u_i²).
    public var combined: Double {
        var s = 0.0
        for c in components { s += c.standardUncertainty * c.standardUncertainty }
        return s.squareRoot()
    }

    /// Expanded uncertainty U = k·u_c.
    public var expanded: Double { coverageFactor * combined }

    /// Combined standard uncertainty of the type A components only.
    public var typeA: Double { partial(.typeA) }
    /// Combined standard uncertainty of the type B components only.
    public var typeB: Double { partial(.typeB) }

    private func partial(_ e: UncertaintyEvaluation) -> Double {
        var s = 0.0
        for c in components where c.evaluation == e { s += c.standardUncertainty * c.standardUncertainty }
        return s.squareRoot()
    }

    /// This budget scaled by a constant factor (every component times |factor|).
    public func scaled(by factor: Double) -> UncertaintyBudget {
        var b = self
        b.components = components.map { UncertaintyComponent($0.name, $0.evaluation, $0.standardUncertainty * abs(factor)) }
        return b
    }
}
