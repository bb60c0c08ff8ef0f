import LandauerFirmware

/// The conductance range a device can take, [minimum, maximum].
public struct ConductanceWindow: Sendable, Equatable {
    /// Lowest conductance (high-resistance state).
    public var minimum: Siemens
    /// Highest conductance (low-resistance state).
    public var maximum: Siemens

    /// Creates a window; `minimum` must be positive and below `maximum`.
    public init(minimum: Siemens, maximum: Siemens) {
        precondition(minimum.value > 0 && maximum > minimum, "conductance window must satisfy 0 < min < max")
        self.minimum = minimum
        self.maximum = maximum
    }

    /// 1–20 µS: more than a decade, in the range of ReRAM arrays (physics.md).
    public static let `default` = ConductanceWindow(minimum: Siemens(1e-6), maximum: Siemens(20e-6))

    /// maximum − minimum.
    public var span: Siemens { maximum - minimum }

    /// The conductance a fraction `f` of the way from minimum to maximum.
    public func conductance(atFraction f: Double) -> Siemens { minimum + span * f }

    /// How far `g` lies from minimum to maximum, as a fraction.
    public func fraction(of g: Siemens) -> Double { (g - minimum) / span }

    /// `g` limited to the window.
    public func clamp(_ g: Siemens) -> Siemens { g < minimum ? minimum : (g > maximum ? maximum : g) }
}

/// An idealised linear device: every pulse at or above the threshold moves the conductance by a
/// fixed step in the pulse's direction, clipped to the window; no noise, no variation.
public struct IdealDeviceParameters: Sendable, Equatable {
    /// Conductance change per effective pulse.
    public var step: Siemens
    /// Smallest |device voltage| that moves the device.
    public var threshold: Volts

    /// Creates ideal-device parameters (defaults: 0.19 µS ≈ 1 % of the default window, 0.8 V).
    public init(step: Siemens = Siemens(0.19e-6), threshold: Volts = Volts(0.8)) {
        self.step = step
        self.threshold = threshold
    }
}

/// Parameters shared by the pulsed step models of the aihwkit family (ConstantStep, SoftBounds,
/// ExpStep), on a normalised weight w mapped linearly onto the conductance window:
/// w = wMin ↦ G_min, w = wMax ↦ G_max.
///
/// Per device, drawn once (ξ standard normal): the step in direction d = ±1 is
/// Δw^d = dwMin·(1 + d·β + dwMinDtoD·ξ), with β = upDown + upDownDtoD·ξ′, and the device's own
/// bounds are wMax·(1 + wMaxDtoD·ξ″), wMin·(1 + wMinDtoD·ξ‴), limited to the nominal
/// [wMin, wMax] (the window is a hard physical limit). Per pulse the model's step factor is
/// applied, then cycle-to-cycle noise (1 + cycleToCycle·ξ), then clipping to the device's bounds.
/// Pulses with |V| below `threshold` do nothing; the pulse width does not matter.
public struct PulsedStepParameters: Sendable, Equatable {
    /// Smallest |device voltage| that moves the device.
    public var threshold: Volts
    /// Mean step per pulse, in normalised units (aihwkit `dw_min`).
    public var dwMin: Double
    /// Up/down asymmetry β (aihwkit `up_down`): up steps scale by 1 + β, down steps by 1 − β.
    public var upDown: Double
    /// Device-to-device spread of the step, relative (aihwkit `dw_min_dtod`).
    public var dwMinDtoD: Double
    /// Device-to-device spread of β (aihwkit `up_down_dtod`).
    public var upDownDtoD: Double
    /// Cycle-to-cycle spread of each step, relative, multiplicative (aihwkit `dw_min_std`).
    public var cycleToCycle: Double
    /// Lower bound of the normalised weight.
    public var wMin: Double
    /// Upper bound of the normalised weight.
    public var wMax: Double
    /// Device-to-device spread of the lower bound, relative to `wMin`.
    public var wMinDtoD: Double
    /// Device-to-device spread of the upper bound, relative to `wMax`.
    public var wMaxDtoD: Double

    /// Creates pulsed-step parameters; the defaults are aihwkit's ConstantStep/Gokmen–Vlasov-like
    /// device on [−1, 1] with 0.002 steps (1000 steps per range).
    public init(
        threshold: Volts = Volts(0.8), dwMin: Double = 0.002, upDown: Double = 0, dwMinDtoD: Double = 0.3,
        upDownDtoD: Double = 0.01, cycleToCycle: Double = 0.3, wMin: Double = -1, wMax: Double = 1,
        wMinDtoD: Double = 0.3, wMaxDtoD: Double = 0.3
    ) {
        precondition(wMax > wMin, "wMax must exceed wMin")
        precondition(dwMin > 0, "dwMin must be positive")
        self.threshold = threshold
        self.dwMin = dwMin
        self.upDown = upDown
        self.dwMinDtoD = dwMinDtoD
        self.upDownDtoD = upDownDtoD
        self.cycleToCycle = cycleToCycle
        self.wMin = wMin
        self.wMax = wMax
        self.wMinDtoD = wMinDtoD
        self.wMaxDtoD = wMaxDtoD
    }

    /// The same parameters without any device-to-device or cycle-to-cycle variation.
    public var withoutVariation: PulsedStepParameters {
        var p = self
        p.dwMinDtoD = 0
        p.upDownDtoD = 0
        p.cycleToCycle = 0
        p.wMinDtoD = 0
        p.wMaxDtoD = 0
        return p
    }

    /// aihwkit's ReRAM soft-bounds preset (`ReRamSBPresetDevice`, a loose fit to Gong et al. 2018):
    /// dw_min 0.002, range −0.75…1.25, d2d 0.3, bound d2d 0.3/1.25 and 0.3/0.75. The preset's
    /// additive cycle-to-cycle noise (`dw_min_std` 3.75, not multiplicative) is replaced here by
    /// a multiplicative 0.3.
    public static let reramSoftBounds = PulsedStepParameters(
        dwMin: 0.002, upDown: 0, dwMinDtoD: 0.3, upDownDtoD: 0.01, cycleToCycle: 0.3, wMin: -0.75, wMax: 1.25,
        wMinDtoD: 0.3 / 0.75, wMaxDtoD: 0.3 / 1.25)
}

/// The ExpStep model (aihwkit `ExpStepDevice`): the step is scaled by max(y, 0) with
/// z = 2·a·w/(b_max − b_min) + b and y = 1 − A^d·e^(d·γ^d·z), d = ±1 the pulse direction and
/// b_max, b_min the device's own bounds.
public struct ExpStepParameters: Sendable, Equatable {
    /// The shared pulsed-step parameters.
    public var step: PulsedStepParameters
    /// Global slope a of z.
    public var a: Double
    /// Global offset b of z.
    public var b: Double
    /// Exponent γ for up steps.
    public var gammaUp: Double
    /// Exponent γ for down steps.
    public var gammaDown: Double
    /// Factor A for up steps.
    public var aUp: Double
    /// Factor A for down steps.
    public var aDown: Double

    /// Creates ExpStep parameters (defaults: the ReRAM preset).
    public init(
        step: PulsedStepParameters = ExpStepParameters.reram.step, a: Double = -0.5, b: Double = -0.5,
        gammaUp: Double = 5, gammaDown: Double = 5, aUp: Double = -1.18445, aDown: Double = -0.081404
    ) {
        self.step = step
        self.a = a
        self.b = b
        self.gammaUp = gammaUp
        self.gammaDown = gammaDown
        self.aUp = aUp
        self.aDown = aDown
    }

    /// aihwkit's ReRAM ExpStep preset (`ReRamESPresetDevice`, a fit to Gong et al., Nat. Commun.
    /// 2018): dw_min 0.00135, up_down 0.259359, range ±1, a = b = −0.5, γ 5/5, A_up −1.18445,
    /// A_down −0.081404, d2d 0.2 (step), 0.05 (up_down), 0.3 (bounds). The preset's special
    /// cycle-to-cycle model (`dw_min_std` 5 with additive terms, `write_noise_std` 75) is not
    /// reproduced; a multiplicative cycle-to-cycle spread of 0.3 is used instead.
    public static let reram = ExpStepParameters(
        step: PulsedStepParameters(
            dwMin: 0.00135, upDown: 0.259359, dwMinDtoD: 0.2, upDownDtoD: 0.05, cycleToCycle: 0.3, wMin: -1, wMax: 1,
            wMinDtoD: 0.3, wMaxDtoD: 0.3),
        a: -0.5, b: -0.5, gammaUp: 5, gammaDown: 5, aUp: -1.18445, aDown: -0.081404)
}

/// The window function f(x) of a VTEAM device, which slows the state near its bounds.
public enum VTEAMWindow: Sendable, Equatable {
    /// f = 1: the state runs into its bounds and is clipped.
    case none
    /// Joglekar: f = 1 − (2x − 1)^(2p); zero at both bounds whatever the direction (a device at a
    /// bound never leaves it, a known flaw of this window).
    case joglekar(p: Int)
    /// Biolek: zero at the bound the state moves toward, one at the other:
    /// f = 1 − x^(2p) when x grows, 1 − (1 − x)^(2p) when it shrinks.
    case biolek(p: Int)
}

/// How a VTEAM device's resistance depends on its state x ∈ [0, 1] (x = 0 is R_on).
public enum VTEAMResistance: Sendable, Equatable {
    /// R = R_on + x·(R_off − R_on).
    case linear
    /// R = R_on·e^(λx), λ = ln(R_off/R_on): the conductance falls by the same factor per unit x.
    case exponential
}

/// The VTEAM compact model (Kvatinsky et al., IEEE TCAS-II 2015) on a normalised state
/// x ∈ [0, 1], x_on = 0 (R_on = 1/G_max) and x_off = 1 (R_off = 1/G_min):
///
/// dx/dt = k_off·(v/v_off − 1)^α_off·f(x) for v > v_off > 0, 0 for v_on ≤ v ≤ v_off, and
/// k_on·(v/v_on − 1)^α_on·f(x) for v < v_on < 0 (k_on < 0, so x falls toward R_on).
///
/// Sign convention: in this codebase a positive device voltage potentiates (raises the
/// conductance). VTEAM's positive voltage switches OFF (toward R_off), so the simulator feeds the
/// model v_VTEAM = −v_device: a positive device pulse above |v_on| drives the ON transition.
/// While a pulse lasts, the write-current compliance limits |v| to I_c/G.
///
/// Default normalisation: |v_on| = v_off = 0.8 V (half-selection at 0.75 V of a 1.5 V pulse does
/// nothing), α = 3, |k| = 1.2·10⁴ s⁻¹, Biolek window p = 2, exponential resistance. A 1 µs,
/// 1.5 V pulse at the window's mid conductance (10.5 µS) then moves the conductance by about
/// 0.8 % of the window (potentiation) and 1.3 % (depression).
public struct VTEAMParameters: Sendable, Equatable {
    /// ON threshold (negative, VTEAM polarity).
    public var vOn: Volts
    /// OFF threshold (positive, VTEAM polarity).
    public var vOff: Volts
    /// ON rate constant (negative): dx/dt per unit of the drive term.
    public var kOn: Hertz
    /// OFF rate constant (positive).
    public var kOff: Hertz
    /// ON exponent.
    public var alphaOn: Double
    /// OFF exponent.
    public var alphaOff: Double
    /// Window function.
    public var window: VTEAMWindow
    /// State-to-resistance law.
    public var resistance: VTEAMResistance
    /// Largest change of x per integration sub-step (RK4); smaller is more accurate.
    public var maximumStatePerStep: Double

    /// Creates VTEAM parameters (defaults documented on the type).
    public init(
        vOn: Volts = Volts(-0.8), vOff: Volts = Volts(0.8), kOn: Hertz = Hertz(-1.2e4), kOff: Hertz = Hertz(1.2e4),
        alphaOn: Double = 3, alphaOff: Double = 3, window: VTEAMWindow = .biolek(p: 2),
        resistance: VTEAMResistance = .exponential, maximumStatePerStep: Double = 0.002
    ) {
        precondition(vOn.value < 0 && vOff.value > 0, "VTEAM needs v_on < 0 < v_off")
        precondition(kOn.value <= 0 && kOff.value >= 0, "VTEAM needs k_on ≤ 0 ≤ k_off")
        precondition(maximumStatePerStep > 0, "sub-step size must be positive")
        self.vOn = vOn
        self.vOff = vOff
        self.kOn = kOn
        self.kOff = kOff
        self.alphaOn = alphaOn
        self.alphaOff = alphaOff
        self.window = window
        self.resistance = resistance
        self.maximumStatePerStep = maximumStatePerStep
    }
}

/// The physical model of the memristive devices of a board.
public enum DeviceModel: Sendable, Equatable {
    /// Ideal linear steps (config name "ideal").
    case ideal(IdealDeviceParameters)
    /// aihwkit ConstantStep: the step does not depend on the state ("constant-step").
    case constantStep(PulsedStepParameters)
    /// aihwkit SoftBounds: the step shrinks linearly to zero at the bound it moves toward,
    /// up: ×(1 − w/b_max), down: ×(1 − w/b_min) ("soft-bounds"; needs b_min < 0 < b_max).
    case softBounds(PulsedStepParameters)
    /// aihwkit ExpStep ("exp-step"; the default parameters are the ReRAM preset).
    case expStep(ExpStepParameters)
    /// VTEAM, driven by pulse voltage and width ("vteam").
    case vteam(VTEAMParameters)

    /// The configuration names, in the order of the cases.
    public static let names = ["ideal", "constant-step", "soft-bounds", "exp-step", "vteam"]

    /// The model with default parameters for a configuration name (see `names`), or nil.
    public init?(named name: String) {
        switch name {
        case "ideal": self = .ideal(IdealDeviceParameters())
        case "constant-step": self = .constantStep(PulsedStepParameters())
        case "soft-bounds": self = .softBounds(.reramSoftBounds)
        case "exp-step": self = .expStep(.reram)
        case "vteam": self = .vteam(VTEAMParameters())
        default: return nil
        }
    }

    /// The configuration name of this model.
    public var name: String {
        switch self {
        case .ideal: "ideal"
        case .constantStep: "constant-step"
        case .softBounds: "soft-bounds"
        case .expStep: "exp-step"
        case .vteam: "vteam"
        }
    }

    /// True when the model has no randomness at all (no variation, no cycle noise).
    public var isDeterministic: Bool {
        switch self {
        case .ideal, .vteam: return true
        case .constantStep(let p), .softBounds(let p): return p == p.withoutVariation
        case .expStep(let p): return p.step == p.step.withoutVariation
        }
    }
}
