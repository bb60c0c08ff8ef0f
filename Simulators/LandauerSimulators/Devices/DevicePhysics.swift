import LandauerFirmware

/// Whether a device is stuck, and where.
public enum StuckState: UInt8, Sendable, Equatable {
    /// The device responds to pulses.
    case free = 0
    /// Stuck at the window's minimum conductance; pulses do nothing.
    case atMinimum = 1
    /// Stuck at the window's maximum conductance; pulses do nothing.
    case atMaximum = 2
}

/// Per-device state of one side (G⁺ or G⁻) of a tile, row-major (index = row·columns + column).
struct DeviceArray: Sendable {
    /// Conductance in siemens, kept in step with `state`.
    var conductance: [Double]
    /// The model's state: G (ideal), w (pulsed models) or x (VTEAM).
    var state: [Double]
    /// Pulsed models: the device's step up and down (≥ 0) and its own bounds of w.
    var stepUp: [Double] = []
    var stepDown: [Double] = []
    var lower: [Double] = []
    var upper: [Double] = []
    /// StuckState raw values.
    var stuck: [UInt8]
    /// Unformed devices: the voltage that forms each one (> 0), 0 once formed. Empty when the
    /// devices start formed (the default), so the check per pulse is one `isEmpty`.
    var formingVoltage: [Double] = []

    init(count: Int) {
        conductance = [Double](repeating: 0, count: count)
        state = [Double](repeating: 0, count: count)
        stuck = [UInt8](repeating: 0, count: count)
    }
}

/// The device model turned into fast per-device operations: state ↔ conductance, variation
/// draws, and the response to one pulse.
struct DevicePhysics: Sendable {
    let model: DeviceModel
    let gMin: Double
    let gMax: Double

    /// Which update law applies (cached for a cheap switch per pulse).
    enum Law: Sendable { case ideal, constant, softBounds, expStep, vteam }
    let law: Law
    // Pulsed models.
    let pulsed: PulsedStepParameters
    let threshold: Double
    let wMin: Double
    let wMax: Double
    let gPerW: Double
    let exp: ExpStepParameters
    // Ideal.
    let idealStep: Double
    // VTEAM.
    let vteam: VTEAMParameters
    let rOn: Double
    let rOff: Double
    let lambda: Double

    init(model: DeviceModel, window: ConductanceWindow) {
        self.model = model
        gMin = window.minimum.value
        gMax = window.maximum.value
        rOn = 1 / gMax
        rOff = 1 / gMin
        lambda = LibM.ln(rOff / rOn)
        var p = PulsedStepParameters(dwMinDtoD: 0, upDownDtoD: 0, cycleToCycle: 0, wMinDtoD: 0, wMaxDtoD: 0)
        var e = ExpStepParameters.reram
        var v = VTEAMParameters()
        var step = 0.0
        var thr = 0.0
        switch model {
        case .ideal(let ip):
            law = .ideal
            step = ip.step.value
            thr = ip.threshold.value
        case .constantStep(let pp):
            law = .constant
            p = pp
            thr = pp.threshold.value
        case .softBounds(let pp):
            precondition(pp.wMin < 0 && pp.wMax > 0, "soft-bounds needs wMin < 0 < wMax")
            law = .softBounds
            p = pp
            thr = pp.threshold.value
        case .expStep(let ep):
            law = .expStep
            p = ep.step
            e = ep
            thr = ep.step.threshold.value
        case .vteam(let vp):
            law = .vteam
            v = vp
        }
        pulsed = p
        exp = e
        vteam = v
        idealStep = step
        threshold = thr
        wMin = p.wMin
        wMax = p.wMax
        gPerW = (gMax - gMin) / (p.wMax - p.wMin)
    }

    var isPulsed: Bool { law == .constant || law == .softBounds || law == .expStep }

    // MARK: State and conductance

    /// Conductance of a device in `state` (G for ideal, w for pulsed, x for VTEAM).
    @inline(__always) func conductance(ofState s: Double) -> Double {
        switch law {
        case .ideal: return s
        case .constant, .softBounds, .expStep: return gMin + (s - wMin) * gPerW
        case .vteam:
            if s <= 0 { return gMax }
            if s >= 1 { return gMin }
            switch vteam.resistance {
            case .linear: return 1 / (rOn + s * (rOff - rOn))
            case .exponential: return 1 / (rOn * LibM.exponential(lambda * s))
            }
        }
    }

    /// The state of a device of conductance `g` (g within the window).
    func state(ofConductance g: Double) -> Double {
        switch law {
        case .ideal: return g
        case .constant, .softBounds, .expStep: return wMin + (g - gMin) / gPerW
        case .vteam:
            if g >= gMax { return 0 }
            if g <= gMin { return 1 }
            let x: Double
            switch vteam.resistance {
            case .linear: x = (1 / g - rOn) / (rOff - rOn)
            case .exponential: x = LibM.ln(1 / (g * rOn)) / lambda
            }
            return min(max(x, 0), 1)
        }
    }

    // MARK: Set-up

    /// Fills a fresh device array: device-to-device draws (pulsed models; four Gaussians per
    /// device, always drawn so the stream does not depend on which spreads are zero), stuck
    /// devices, and the initial state.
    func populate(
        _ a: inout DeviceArray, variation: inout SimulationRandom, stuck: inout SimulationRandom,
        stuckFraction: Double, initialConductance: Double?
    ) {
        let n = a.state.count
        if isPulsed {
            a.stepUp = [Double](repeating: 0, count: n)
            a.stepDown = [Double](repeating: 0, count: n)
            a.lower = [Double](repeating: 0, count: n)
            a.upper = [Double](repeating: 0, count: n)
            let p = pulsed
            let range = p.wMax - p.wMin
            for k in 0..<n {
                let xiStep = variation.gaussian()
                let xiBias = variation.gaussian()
                let xiUpper = variation.gaussian()
                let xiLower = variation.gaussian()
                let beta = p.upDown + p.upDownDtoD * xiBias
                a.stepUp[k] = max(0, p.dwMin * (1 + beta + p.dwMinDtoD * xiStep))
                a.stepDown[k] = max(0, p.dwMin * (1 - beta + p.dwMinDtoD * xiStep))
                var hi = min(p.wMax, p.wMax * (1 + p.wMaxDtoD * xiUpper))
                var lo = max(p.wMin, p.wMin * (1 + p.wMinDtoD * xiLower))
                if p.wMax > 0 { hi = max(hi, 0.05 * p.wMax) }
                if p.wMin < 0 { lo = min(lo, 0.05 * p.wMin) }
                if hi - lo < 0.05 * range {
                    let mid = 0.5 * (hi + lo)
                    hi = min(p.wMax, mid + 0.025 * range)
                    lo = max(p.wMin, mid - 0.025 * range)
                }
                a.lower[k] = lo
                a.upper[k] = hi
            }
        }
        for k in 0..<n {
            var s: Double
            if let g = initialConductance {
                s = state(ofConductance: min(max(g, gMin), gMax))
            } else {
                switch law {
                case .ideal: s = 0.5 * (gMin + gMax)
                case .vteam: s = state(ofConductance: 0.5 * (gMin + gMax))
                case .constant, .softBounds, .expStep: s = (wMin < 0 && wMax > 0) ? 0 : 0.5 * (wMin + wMax)
                }
            }
            if isPulsed { s = min(max(s, a.lower[k]), a.upper[k]) }
            a.state[k] = s
            a.conductance[k] = conductance(ofState: s)
        }
        if stuckFraction > 0 {
            for k in 0..<n {
                let hit = stuck.uniform() < stuckFraction
                let high = stuck.uniform() < 0.5
                if hit {
                    a.stuck[k] = high ? StuckState.atMaximum.rawValue : StuckState.atMinimum.rawValue
                    a.conductance[k] = high ? gMax : gMin
                    a.state[k] = state(ofConductance: a.conductance[k])
                }
            }
        }
    }

    // MARK: Pulses

    /// Applies one pulse of device voltage `v` (positive potentiates) lasting `width` seconds,
    /// with the drivers' current limited to `compliance`, to device `k`. Stuck devices ignore it.
    @inline(__always)
    func apply(
        _ a: inout DeviceArray, _ k: Int, voltage v: Double, width: Double, compliance: Double,
        random: inout SimulationRandom
    ) {
        if a.stuck[k] != 0 { return }
        if !a.formingVoltage.isEmpty && a.formingVoltage[k] > 0 {
            if v >= a.formingVoltage[k] { form(&a, k, voltage: v, compliance: compliance) }
            return
        }
        switch law {
        case .ideal:
            if abs(v) < threshold { return }
            let g = a.state[k] + (v > 0 ? idealStep : -idealStep)
            let c = min(max(g, gMin), gMax)
            a.state[k] = c
            a.conductance[k] = c
        case .constant, .softBounds, .expStep:
            if abs(v) < threshold { return }
            applyPulsed(&a, k, up: v > 0, random: &random)
        case .vteam:
            applyVTEAM(&a, k, voltage: v, width: width, compliance: compliance)
        }
    }

    /// Forms an unformed device at positive voltage `v` ≥ its forming voltage: the filament grows
    /// until the current reaches the compliance, so the device lands at G = I_c / v, limited to
    /// the window (and, for pulsed models, to the device's own bounds).
    func form(_ a: inout DeviceArray, _ k: Int, voltage v: Double, compliance: Double) {
        var s = state(ofConductance: min(max(compliance / v, gMin), gMax))
        if isPulsed { s = min(max(s, a.lower[k]), a.upper[k]) }
        a.state[k] = s
        a.conductance[k] = conductance(ofState: s)
        a.formingVoltage[k] = 0
    }

    /// Makes every free device of a fresh array unformed: conductance `unformed` and a forming
    /// voltage drawn per device (one Gaussian each, in index order, stuck devices included so the
    /// stream does not depend on them; stuck devices stay as they are, formed).
    func makeUnformed(_ a: inout DeviceArray, _ parameters: FormingParameters, random: inout SimulationRandom) {
        let n = a.state.count
        a.formingVoltage = [Double](repeating: 0, count: n)
        for k in 0..<n {
            let drawn = parameters.formingVoltage.value + parameters.formingVoltageSpread.value * random.gaussian()
            if a.stuck[k] != 0 { continue }
            a.formingVoltage[k] = max(drawn, parameters.minimumFormingVoltage.value)
            a.conductance[k] = parameters.unformedConductance.value
        }
    }

    @inline(__always)
    private func applyPulsed(_ a: inout DeviceArray, _ k: Int, up: Bool, random: inout SimulationRandom) {
        var w = a.state[k]
        let lo = a.lower[k]
        let hi = a.upper[k]
        var dw = up ? a.stepUp[k] : a.stepDown[k]
        switch law {
        case .softBounds:
            dw *= max(0, up ? 1 - w / hi : 1 - w / lo)
        case .expStep:
            let z = 2 * exp.a * w / (hi - lo) + exp.b
            let y = up ? 1 - exp.aUp * LibM.exponential(exp.gammaUp * z) : 1 - exp.aDown * LibM.exponential(-exp.gammaDown * z)
            dw *= max(y, 0)
        default:
            break
        }
        if pulsed.cycleToCycle != 0 { dw *= 1 + pulsed.cycleToCycle * random.gaussian() }
        w += up ? dw : -dw
        w = min(max(w, lo), hi)
        a.state[k] = w
        a.conductance[k] = gMin + (w - wMin) * gPerW
    }

    // MARK: VTEAM

    /// (x)^n for a small non-negative integer n.
    @inline(__always) private static func integerPower(_ x: Double, _ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= x }
        return r
    }

    /// The window function for state x moving up (toward R_off) or down.
    @inline(__always) private func window(_ x: Double, increasing: Bool) -> Double {
        switch vteam.window {
        case .none: return 1
        case .joglekar(let p): return 1 - DevicePhysics.integerPower(2 * x - 1, 2 * p)
        case .biolek(let p): return 1 - DevicePhysics.integerPower(increasing ? x : 1 - x, 2 * p)
        }
    }

    /// The drive term |k|·(v/v_th − 1)^α of a VTEAM-polarity voltage magnitude; 0 below threshold.
    @inline(__always) private func drive(_ magnitude: Double, off: Bool) -> Double {
        if off {
            let t = vteam.vOff.value
            return magnitude > t ? vteam.kOff.value * LibM.power(magnitude / t - 1, vteam.alphaOff) : 0
        } else {
            let t = -vteam.vOn.value
            return magnitude > t ? -vteam.kOn.value * LibM.power(magnitude / t - 1, vteam.alphaOn) : 0
        }
    }

    /// dx/dt at state x for a pulse of magnitude `magnitude`; compliance limits the voltage
    /// across the device to I_c/G(x).
    @inline(__always) private func rate(_ x: Double, magnitude: Double, off: Bool, compliance: Double) -> Double {
        let g = conductance(ofState: x)
        let limited = min(magnitude, compliance / g)
        let d = drive(limited, off: off)
        if d == 0 { return 0 }
        return off ? d * window(x, increasing: true) : -d * window(x, increasing: false)
    }

    private func applyVTEAM(_ a: inout DeviceArray, _ k: Int, voltage v: Double, width: Double, compliance: Double) {
        // VTEAM polarity is the opposite of this codebase's: v_VTEAM = −v_device.
        let vt = -v
        let off = vt > 0
        let magnitude = abs(vt)
        let nominal = drive(magnitude, off: off)
        if nominal == 0 || width <= 0 { return }
        var x = a.state[k]
        let total = nominal * width
        let steps = min(max(Int((total / vteam.maximumStatePerStep).rounded(.up)), 1), 20_000)
        let h = width / Double(steps)
        for _ in 0..<steps {
            let k1 = rate(x, magnitude: magnitude, off: off, compliance: compliance)
            // Saturated against a bound (the window only approaches zero): nothing left to do.
            if abs(h * k1) < 1e-13 { break }
            let k2 = rate(min(max(x + 0.5 * h * k1, 0), 1), magnitude: magnitude, off: off, compliance: compliance)
            let k3 = rate(min(max(x + 0.5 * h * k2, 0), 1), magnitude: magnitude, off: off, compliance: compliance)
            let k4 = rate(min(max(x + h * k3, 0), 1), magnitude: magnitude, off: off, compliance: compliance)
            x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            x = min(max(x, 0), 1)
        }
        a.state[k] = x
        a.conductance[k] = conductance(ofState: x)
    }
}
