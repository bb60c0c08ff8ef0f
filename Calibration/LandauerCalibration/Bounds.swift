// Thermodynamic bounds and digital baselines to print beside a measured energy. Each one carries
// its name, its formula with the inputs filled in, where it comes from, what kind of statement it
// is, and the temperature it was evaluated at, so a report never shows a bare number.
import LandauerFirmware

/// What kind of statement an `EnergyBound` is.
public enum EnergyBoundKind: String, Sendable, Codable, Equatable, CaseIterable {
    /// A lower bound that holds under the model it is stated for (Landauer per erased bit, the
    /// dynamic and quasi-static inference bounds).
    case lowerBound
    /// A lower bound up to factors of order one: a scaling estimate written with ≳ or ≈
    /// (quasi-static analog training, digital training at the Landauer limit).
    case approximateLowerBound
    /// k_B·T·ln 2 per bit applied to bits that are not erased (learned, written, readout): a
    /// yardstick and a hypothesis to test, not a theorem.
    case hypothesis
    /// What today's hardware spends, not a bound.
    case baseline
}

/// A thermodynamic bound or a baseline, evaluated: name, formula, source, kind, temperature and
/// energy.
public struct EnergyBound: Sendable, Equatable {
    /// A short name, e.g. "quasi-static analog training".
    public var name: String
    /// The formula, with the inputs it was evaluated for, e.g. "2·N·D·k_B·T (N = 2410, D = 5391)".
    public var formula: String
    /// Where the formula comes from.
    public var source: String
    /// Whether it is a bound, an approximate bound, a hypothesis or a baseline.
    public var kind: EnergyBoundKind
    /// The temperature it was evaluated at (the heat sink's), or nil for a figure that does not
    /// depend on temperature (today's digital hardware).
    public var temperature: Kelvin?
    /// The energy.
    public var energy: Joules
    /// The standard uncertainty of `energy` carried over from its inputs (a bit count's
    /// uncertainty); zero when every input is an exact count.
    public var standardUncertainty: Joules

    /// A bound or baseline given by the caller.
    public init(
        name: String, formula: String, source: String, kind: EnergyBoundKind, temperature: Kelvin?,
        energy: Joules, standardUncertainty: Joules = .zero
    ) {
        self.name = name
        self.formula = formula
        self.source = source
        self.kind = kind
        self.temperature = temperature
        self.energy = energy
        self.standardUncertainty = standardUncertainty
    }

    /// The measured energy as a multiple of this bound: measured / bound. Nil when the bound is
    /// zero (quasi-static analog inference), where no finite ratio exists.
    public func ratio(of measured: Joules) -> Double? {
        energy == .zero ? nil : measured / energy
    }
}

// MARK: - The bounds

extension EnergyBound {
    static let landauerSource = "R. Landauer, IBM J. Res. Dev. 5, 183 (1961)"
    static let tkachenkoSource =
        "A. V. Tkachenko, Thermodynamic bounds on energy use in deep neural networks, arXiv:2503.09980v2 (2025)"

    /// Landauer's bound for erasing one bit: k_B·T·ln 2 (2.871 × 10⁻²¹ J at 300 K).
    public static func landauer(at temperature: Kelvin) -> EnergyBound {
        EnergyBound(
            name: "Landauer bound, one bit", formula: "k_B·T·ln 2", source: landauerSource, kind: .lowerBound,
            temperature: temperature, energy: temperature.landauerBound)
    }

    /// k_B·T·ln 2 times a bit count. For bits erased it is Landauer's bound; for bits learned it is
    /// the hypothesis E_learn ≥ k_B·T·ln 2·I that measurements here test; for bits written or read
    /// out it is a yardstick. The kind says which. The bit count's uncertainty is carried over.
    public static func landauer(for bits: BitCount, at temperature: Kelvin) -> EnergyBound {
        let perBit = temperature.landauerBound
        let n = SignificantDigits.format(bits.bits, digits: 4)
        return EnergyBound(
            name: "Landauer bound × \(bits.definition.name)",
            formula: "k_B·T·ln 2 × n (n = \(n) \(bits.definition.name))",
            source: bits.definition == .erased
                ? landauerSource
                : landauerSource + "; applied to bits that are not erased as a hypothesis to test",
            kind: bits.definition == .erased ? .lowerBound : .hypothesis,
            temperature: temperature, energy: perBit * bits.bits,
            standardUncertainty: perBit * bits.standardUncertainty)
    }

    /// Dynamic analog inference (Tkachenko eq. 5): resetting ν neurons of which ν_a were active
    /// costs at least k_B·T·ν·H(p) per cycle, H in nats and p = ν_a/ν; k_B·T·ν·ln 2 at p = ½.
    /// Over `cycles` cycles (relaxation steps × samples) it equals `landauer(for:at:)` of
    /// `BitCount.erasedByNeuronResets` with the same inputs.
    public static func dynamicAnalogInference(
        neurons: Int, activatedPerCycle: Double, cycles: Int, at temperature: Kelvin
    ) -> EnergyBound {
        precondition(cycles >= 0, "a number of cycles must not be negative, got \(cycles)")
        let bitsPerCycle = BitCount.resetBitsPerCycle(neurons: neurons, activatedPerCycle: activatedPerCycle)
        let p = SignificantDigits.format(activatedPerCycle / Double(neurons), digits: 4)
        return EnergyBound(
            name: "dynamic analog inference",
            formula: "C·k_B·T·ν·H(p), H in nats (C = \(cycles), ν = \(neurons), p = \(p))",
            source: tkachenkoSource + ", eq. 5", kind: .lowerBound, temperature: temperature,
            energy: temperature.landauerBound * (bitsPerCycle * Double(cycles)))
    }

    /// Quasi-static analog inference (Tkachenko eq. 7): zero. Inference that relaxes slowly to a
    /// unique free-energy minimum can be reversible, so thermodynamics sets no minimum; any energy
    /// measured is overhead of the implementation, and `ratio(of:)` is nil.
    public static func quasiStaticAnalogInference(at temperature: Kelvin) -> EnergyBound {
        EnergyBound(
            name: "quasi-static analog inference", formula: "0 (no thermodynamic minimum)",
            source: tkachenkoSource + ", eq. 7", kind: .lowerBound, temperature: temperature, energy: .zero)
    }

    /// Quasi-static analog training (Tkachenko eq. 16): E ≳ 2·N·D·k_B·T·⟨|∇F|²⟩/var(∇F), and
    /// ≈ 2·N·D·k_B·T when the gradient's signal-to-noise ratio ⟨|∇F|²⟩/var(∇F) is about 1.
    ///
    /// - Parameters:
    ///   - parameters: N, the trainable parameters.
    ///   - samplesSeen: D, the training samples seen (epochs × training set size).
    ///   - gradientSignalToNoise: ⟨|∇F|²⟩/var(∇F); 1 gives the paper's headline figure.
    public static func quasiStaticAnalogTraining(
        parameters: Int, samplesSeen: Int, gradientSignalToNoise: Double = 1, at temperature: Kelvin
    ) -> EnergyBound {
        precondition(parameters >= 0 && samplesSeen >= 0, "counts must not be negative")
        precondition(
            gradientSignalToNoise.isFinite && gradientSignalToNoise > 0,
            "a signal-to-noise ratio must be finite and positive, got \(gradientSignalToNoise)")
        let ratio = SignificantDigits.format(gradientSignalToNoise, digits: 4)
        let snr = gradientSignalToNoise == 1 ? "" : ", ⟨|∇F|²⟩/var(∇F) = \(ratio)"
        return EnergyBound(
            name: "quasi-static analog training",
            formula: (gradientSignalToNoise == 1 ? "2·N·D·k_B·T" : "2·N·D·k_B·T·⟨|∇F|²⟩/var(∇F)")
                + " (N = \(parameters), D = \(samplesSeen)\(snr))",
            source: tkachenkoSource + ", eq. 16", kind: .approximateLowerBound, temperature: temperature,
            energy: temperature.thermalEnergy * (2 * Double(parameters) * Double(samplesSeen) * gradientSignalToNoise))
    }

    /// Digital training at the Landauer limit (Tkachenko eq. 17): ≈ 10²·N_a·D·k_B·T, from
    /// 6·N_a·D floating-point operations of 16 bits each, every bit paid at about k_B·T.
    ///
    /// The paper rounds 6 × 16 = 96 up to 10² and leaves out ln 2; charging exactly k_B·T·ln 2 per
    /// bit would give 66.5·N_a·D·k_B·T. The paper's figure is kept so reports match the literature.
    ///
    /// - Parameters:
    ///   - activeParameters: N_a, the parameters active for each sample (all of them in a dense network).
    ///   - samplesSeen: D, the training samples seen.
    public static func digitalTrainingAtLandauerLimit(
        activeParameters: Int, samplesSeen: Int, at temperature: Kelvin
    ) -> EnergyBound {
        precondition(activeParameters >= 0 && samplesSeen >= 0, "counts must not be negative")
        return EnergyBound(
            name: "digital training at the Landauer limit",
            formula: "10²·N_a·D·k_B·T (N_a = \(activeParameters), D = \(samplesSeen))",
            source: tkachenkoSource + ", eq. 17", kind: .approximateLowerBound, temperature: temperature,
            energy: temperature.thermalEnergy * (100 * Double(activeParameters) * Double(samplesSeen)))
    }

    /// Digital hardware today: `energyPerFLOP` (≈ 5 × 10⁻¹³ J, Tkachenko 2025) times 6·N·D
    /// floating-point operations of training. Not a bound; it does not depend on temperature.
    public static func digitalHardwareToday(
        parameters: Int, samplesSeen: Int, energyPerFLOP: Joules = Joules(5e-13)
    ) -> EnergyBound {
        precondition(parameters >= 0 && samplesSeen >= 0, "counts must not be negative")
        let perFLOP = SignificantDigits.format(energyPerFLOP.value, digits: 4)
        return EnergyBound(
            name: "digital hardware today",
            formula: "6·N·D × \(perFLOP) J per FLOP (N = \(parameters), D = \(samplesSeen))",
            source: tkachenkoSource + ", estimate for current digital hardware", kind: .baseline, temperature: nil,
            energy: energyPerFLOP * (6 * Double(parameters) * Double(samplesSeen)))
    }
}

// MARK: - Energy per bit

/// A measured energy spread over a named bit count: joules per bit and its multiple of
/// k_B·T·ln 2 at a temperature.
public struct EnergyPerBit: Sendable, Equatable {
    /// The measured energy.
    public var energy: Joules
    /// The standard uncertainty of the measured energy.
    public var energyUncertainty: Joules
    /// The bits it is spread over, with their definition.
    public var bits: BitCount
    /// The temperature of the heat sink, for the comparison with k_B·T·ln 2.
    public var temperature: Kelvin

    /// A measured energy, its standard uncertainty, the bits and the heat sink's temperature.
    public init(energy: Joules, energyUncertainty: Joules, bits: BitCount, at temperature: Kelvin) {
        precondition(
            energyUncertainty.isFinite && energyUncertainty >= .zero,
            "a standard uncertainty must be finite and not negative")
        self.energy = energy
        self.energyUncertainty = energyUncertainty
        self.bits = bits
        self.temperature = temperature
    }

    /// Energy per bit, E/n; nil when the count is zero.
    public var joulesPerBit: JoulesPerBit? {
        bits.bits > 0 ? energy / bits.bits : nil
    }

    /// Energy per bit as a multiple of k_B·T·ln 2: E/(n·k_B·T·ln 2); nil when the count is zero.
    public var landauerRatio: Double? {
        joulesPerBit.map { $0.value / temperature.landauerBound.value }
    }

    /// The relative standard uncertainty of the energy per bit: the energy's and the count's
    /// relative uncertainties in quadrature (taken as uncorrelated); nil when the count or the
    /// energy is zero.
    public var relativeStandardUncertainty: Double? {
        guard bits.bits > 0, energy != .zero else { return nil }
        let re = energyUncertainty / energy
        let rb = bits.standardUncertainty / bits.bits
        return (re * re + rb * rb).squareRoot()
    }

    /// The standard uncertainty of `joulesPerBit`; nil when that or the relative uncertainty is.
    public var standardUncertainty: JoulesPerBit? {
        guard let perBit = joulesPerBit, let r = relativeStandardUncertainty else { return nil }
        return perBit.magnitude * r
    }
}
