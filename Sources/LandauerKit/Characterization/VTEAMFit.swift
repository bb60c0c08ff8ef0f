import Foundation
import LandauerFirmware
import LandauerSimulators

/// The simulator's VTEAM compact model (`VTEAMParameters` with a Biolek window, p = 2, and
/// exponential resistance) fitted by least squares to pulse responses at several amplitudes
/// (`Characterizer.pulseResponse(…, amplitudes:)`, `landauer characterize pulse --amplitudes`).
///
/// **Sign convention.** In this codebase a positive *device* voltage potentiates (raises the
/// conductance). In VTEAM that is the ON transition, which a *negative* VTEAM voltage drives:
/// v_VTEAM = −v_device. The fit reports magnitudes: `thresholdOn` = |v_on| and `rateOn` = |k_on|
/// describe the potentiating pulses, `thresholdOff` = v_off and `rateOff` = k_off the depressing
/// ones; `vteamParameters` restores VTEAM's signs (v_on = −thresholdOn < 0, k_on = −rateOn ≤ 0).
///
/// **Model.** With u ∈ [0, 1] the state measured from the high-resistance bound (u = 1 − x in
/// VTEAM's x), G = G_min·e^(λu), λ = ln(G_max/G_min). A potentiating pulse of amplitude V and width
/// w moves m = u, a depressing one m = 1 − u = x, by dm/dt = D(V)·(1 − m⁴) (the Biolek window
/// toward the bound m approaches), D(V) = |k|·(V/v_th − 1)^α above the threshold and 0 below.
/// This integrates in closed form: after n pulses F(m_n) = F(m_0) + n·w·D(V), with
/// F(m) = ½(atanh m + atan m). The write-current compliance is taken as not binding
/// (V·G_max below the compliance current).
///
/// **Method** (docs/characterization.md, "Compact model (VTEAM)"):
/// 1. read noise σ²(G) = a + b·G² from the repeated reads, as the soft-bounds fit models it;
/// 2. weighted least squares (Levenberg–Marquardt, weights 1/σ²(G)) of every reading of every
///    device: ln G_min, λ and the per-pulse drive w·D at each amplitude and polarity, pooled over
///    the devices, with F(m_0) free for every train of every device (eliminated through the Schur
///    complement, so the normal equations stay as small as the pooled parameters);
/// 3. per polarity, D(V) = |k|·(V/v_th − 1)^α by generalised least squares on the measurable
///    drives (significant, and moving a device by 3 read-noise σ or more over a train: at least 3
///    amplitudes each way) and their covariance, v_th below the lowest of them, from the best
///    point of a (v_th, α) grid with |k| profiled out;
/// 4. standard uncertainties from a seeded one-step bootstrap over devices: each resample's
///    drives and window are one Gauss–Newton step from the fit with the devices reweighted, and
///    step 3 is repeated on them;
/// 5. goodness of fit of the full model (the law's drives, train starts refitted): reduced χ²
///    against the read noise, residual RMS, and a lack of fit that averages the residuals over
///    devices in bins of the position along the measurable trains of each amplitude and polarity.
public struct VTEAMFit: Sendable, Codable, Equatable {
    /// The drive measured at one amplitude and polarity (step 2), with the law's value there.
    public struct Drive: Sendable, Codable, Equatable {
        /// Pulse amplitude (a device-voltage magnitude).
        public var amplitude: Volts
        /// +1 potentiating (VTEAM's ON transition), −1 depressing (OFF).
        public var polarity: Int8
        /// D fitted freely at this amplitude, s⁻¹.
        public var rate: Estimate
        /// D the fitted law |k|·(V/v_th − 1)^α gives at this amplitude, s⁻¹.
        public var law: Double
        /// Whether the response is measurable: D at least `VTEAMFit.measurableSignificance`
        /// standard uncertainties above zero, moving a device by at least `measurableSwing` read-noise
        /// σ over a train. Only measurable drives enter the drive law and the lack of fit.
        public var measurable: Bool
    }

    /// The conductance window's minimum G_min = 1/R_off, S (pooled over the devices).
    public var gMin: Estimate
    /// The conductance window's maximum G_max = 1/R_on, S.
    public var gMax: Estimate
    /// Potentiation (VTEAM ON): the threshold |v_on|, V (a device-voltage magnitude).
    public var thresholdOn: Estimate
    /// Potentiation: the rate |k_on|, s⁻¹.
    public var rateOn: Estimate
    /// Potentiation: the exponent α_on.
    public var alphaOn: Estimate
    /// Depression (VTEAM OFF): the threshold v_off, V (a device-voltage magnitude).
    public var thresholdOff: Estimate
    /// Depression: the rate k_off, s⁻¹.
    public var rateOff: Estimate
    /// Depression: the exponent α_off.
    public var alphaOff: Estimate
    /// The pulse width the rates are referred to, ns.
    public var widthNanoseconds: UInt32
    /// Every amplitude and polarity measured, low amplitude first, potentiation before depression.
    public var drives: [Drive]
    /// Standard deviation of one reading (noise and quantisation), pooled, S.
    public var readNoise: Double
    /// Weighted residual sum of squares of the full model over readings − parameters, with the
    /// read noise σ²(G) as weights: about 1 when VTEAM and the read noise explain the readings.
    public var reducedChiSquare: Double
    /// Root mean square residual over all fitted readings, S.
    public var residualRMS: Double
    /// Lack of fit of the curves' shape: the full model's residuals averaged over the devices in
    /// `lackOfFitBins` bins of the position along the measurable trains of each amplitude and
    /// polarity, each in units of its standard error (from the scatter between devices), squared
    /// and averaged. About 1 when VTEAM describes the board and the ADC's codes are fine against
    /// the read noise; alike devices read through coarse codes share the codes' bias, which
    /// raises it (4–7 on the reference board's 9-bit ADC); a different law raises it far more
    /// (about 50 for soft bounds).
    public var lackOfFitChiSquare: Double
    /// Bins per amplitude and polarity of `lackOfFitChiSquare`.
    public static let lackOfFitBins = 10
    /// The drive law's generalised χ² per degree of freedom over both polarities (nil with 3
    /// amplitudes: no degree of freedom left): about 1 when D(V) follows the power law.
    public var driveLawChiSquare: Double?
    /// Readings fitted.
    public var points: Int
    /// Devices fitted.
    public var devices: Int
    /// Devices left out, with the reason.
    public var excluded: [SoftBoundsFit.ExcludedDevice]

    /// A drive is measurable when it is at least this many standard uncertainties above zero…
    public static let measurableSignificance = 10.0
    /// …and moves a device by at least this many read-noise σ over a train.
    public static let measurableSwing = 3.0

    /// The fitted model for the simulator, in VTEAM's signs (v_on < 0, k_on ≤ 0).
    public var vteamParameters: VTEAMParameters {
        VTEAMParameters(
            vOn: Volts(-thresholdOn.value), vOff: Volts(thresholdOff.value), kOn: Hertz(-rateOn.value), kOff: Hertz(rateOff.value),
            alphaOn: alphaOn.value, alphaOff: alphaOff.value, window: .biolek(p: 2), resistance: .exponential)
    }

    /// The fitted model's conductance after `pulses` pulses of `polarity` (+1 potentiating) and
    /// `amplitude` from `start`: the state x = ln(G_max/G)/ln(G_max/G_min) moves by the Biolek
    /// integral, F(m_n) = F(m_0) + n·w·|k|·(V/v_th − 1)^α with m = x depressing and m = 1 − x
    /// potentiating (the compliance ignored). What the report draws over a measured train.
    public func conductance(from start: Siemens, pulses: Int, polarity: Int8, amplitude: Volts) -> Siemens {
        let lo = gMin.value, hi = gMax.value
        guard hi > lo, lo > 0, polarity != 0, pulses > 0 else { return start }
        let lambda = log(hi / lo)
        let x0 = min(max(log(hi / max(start.value, 1e-30)) / lambda, 0), 1)
        let on = polarity > 0
        let law = DriveLaw(
            threshold: on ? thresholdOn.value : thresholdOff.value, alpha: on ? alphaOn.value : alphaOff.value,
            logScale: log((on ? rateOn.value : rateOff.value) * Double(widthNanoseconds) * 1e-9))
        let m0 = min(on ? 1 - x0 : x0, 1 - 1e-15)
        let m = BiolekIntegral.inverse(BiolekIntegral.value(m0) + Double(pulses) * law.drive(amplitude.value), guess: m0)
        let x = on ? 1 - m : m
        return Siemens(hi * exp(-lambda * x))
    }

    /// The fitted parameters as the list reports print.
    public var parameters: [(key: String, name: String, estimate: Estimate, unit: String)] {
        [
            ("gMin", "conductance window, minimum (1/R_off)", gMin, "S"),
            ("gMax", "conductance window, maximum (1/R_on)", gMax, "S"),
            ("thresholdOn", "potentiation threshold |v_on|", thresholdOn, "V"),
            ("rateOn", "potentiation rate |k_on|", rateOn, "1/s"),
            ("alphaOn", "potentiation exponent α_on", alphaOn, "1"),
            ("thresholdOff", "depression threshold v_off", thresholdOff, "V"),
            ("rateOff", "depression rate k_off", rateOff, "1/s"),
            ("alphaOff", "depression exponent α_off", alphaOff, "1"),
        ]
    }

    /// What keeps the fit from driving a simulator (empty when usable).
    public func problems() -> [String] {
        var p: [String] = []
        if !(gMin.value > 0 && gMax.value > gMin.value && gMax.value.isFinite) { p.append("the VTEAM conductance window is not 0 < gMin < gMax") }
        for (k, v) in [("thresholdOn", thresholdOn.value), ("thresholdOff", thresholdOff.value), ("alphaOn", alphaOn.value), ("alphaOff", alphaOff.value)]
        where !(v > 0 && v.isFinite) {
            p.append("VTEAM \(k) is not a finite positive number")
        }
        for (k, v) in [("rateOn", rateOn.value), ("rateOff", rateOff.value)] where !(v >= 0 && v.isFinite) {
            p.append("VTEAM \(k) is not a finite non-negative rate")
        }
        return p
    }

    // MARK: Fitting

    /// Fits the readings of a pulse-response procedure run at several amplitudes; `widthNanoseconds`
    /// is the width of its pulses. `bootstrap` resamples (0: no uncertainties).
    public static func fit(_ points: [CharacterizationPoint], widthNanoseconds: UInt32, bootstrap: Int = 200) throws -> VTEAMFit {
        let advice = "characterise again with --amplitudes with at least 3 levels above the switching threshold (e.g. landauer characterize pulse --amplitudes 1.1,1.2,1.3,1.4,1.5), with trains long enough that the highest level approaches both bounds"
        guard widthNanoseconds > 0 else { throw CharacterizationError.cannotFit("the pulse width is 0 ns") }
        let width = Double(widthNanoseconds) * 1e-9
        let pulse = points.filter { $0.procedure == .pulse }
        // Each train's amplitude.
        var trainAmplitude: [Int: Double] = [:]
        for p in pulse where p.train >= 0 && p.polarity != 0 {
            if let v = p.voltage { trainAmplitude[p.train] = abs(v.value) }
        }
        var levels: [Double] = []
        for v in trainAmplitude.values.sorted() where levels.last.map({ v - $0 > 1e-6 }) ?? true { levels.append(v) }
        guard levels.count >= 3 else {
            throw CharacterizationError.cannotFit(
                levels.isEmpty
                    ? "the run records no pulse amplitudes (it was taken before they were stored), so the voltage dependence of a compact model cannot be fitted; " + advice
                    : "a compact (VTEAM) model needs pulse responses at 3 or more amplitudes and this run has \(levels.count) (\(levels.map { Volts($0).formatted() }.joined(separator: ", "))); " + advice)
        }
        func level(_ v: Double) -> Int { levels.indices.min { abs(levels[$0] - v) < abs(levels[$1] - v) }! }
        let byDevice = Dictionary(grouping: pulse, by: \.device)
        guard let noise = ReadNoiseModel.fromRepeatedReads(byDevice) else {
            throw CharacterizationError.cannotFit("the run has no repeated reads without pulses between them, so the read noise is unknown")
        }
        let sigma = noise.pooled.squareRoot()
        // The devices' trains.
        var problem = VTEAMProblem(levels: levels.count)
        var excluded: [SoftBoundsFit.ExcludedDevice] = []
        for device in byDevice.keys.sorted() {
            let ps = byDevice[device]!
            let pulsed = ps.filter { $0.train >= 0 && $0.polarity != 0 && trainAmplitude[$0.train] != nil }
            guard pulsed.contains(where: { $0.polarity > 0 }), pulsed.contains(where: { $0.polarity < 0 }) else {
                excluded.append(SoftBoundsFit.ExcludedDevice(device: device, reason: "needs a potentiating and a depressing train"))
                continue
            }
            let values = pulsed.map(\.conductance.value)
            let swing = values.max()! - values.min()!
            guard swing >= 10 * sigma else {
                excluded.append(SoftBoundsFit.ExcludedDevice(
                    device: device,
                    reason: "does not respond to pulses (swing \(Siemens(swing).formatted(significantDigits: 2)) against read noise \(Siemens(sigma).formatted(significantDigits: 2)))"))
                continue
            }
            problem.add(ps, noise: noise.model) { train in trainAmplitude[train].map(level) }
        }
        guard problem.deviceCount >= 4 else {
            throw CharacterizationError.cannotFit(
                "only \(problem.deviceCount) devices respond (\(excluded.count) left out: \(excluded.prefix(3).map { "\($0.device): \($0.reason)" }.joined(separator: "; "))); the compact-model fit needs at least 4 (characterise a larger block, --block)")
        }
        // Step 2: window and free drives, pooled; a start per train.
        var theta = problem.initialGlobals()
        var phi = problem.initialStarts(theta)
        let allFree = [Bool](repeating: true, count: problem.parameterCount)
        let stage = problem.minimise(&theta, &phi, free: allFree)
        let systems = problem.deviceSystems(stage, free: allFree)
        var total = [Double](repeating: 0, count: problem.parameterCount * problem.parameterCount)
        for s in systems { for k in total.indices { total[k] += s.h[k] } }
        guard let inverse = invert(total, p: problem.parameterCount) else {
            throw CharacterizationError.cannotFit("the window and drives are not determined by the data (a singular normal matrix); " + advice)
        }
        let dof = Double(max(problem.readingCount - problem.parameterCount - problem.trains.count, 1))
        let scale = max(1, stage.sse / dof)
        let covariance = inverse.map { $0 * scale }
        // Which drives are measurable: significant, and moving a device by a few reads' noise over a
        // train (a response below that is pooled from readings a code of the ADC biases alike).
        let P = problem.parameterCount
        let swings = problem.swings(theta, phi)
        var measurable = [Bool](repeating: false, count: P)
        for j in 2..<P {
            let sd = covariance[j * P + j].squareRoot()
            measurable[j] = theta[j] > 0 && theta[j] >= measurableSignificance * sd && swings[j] >= measurableSwing * sigma
        }
        // Step 3: the drive law of each polarity, on its measurable amplitudes.
        var used: [[Int]] = []
        for on in [true, false] {
            let levelsUsed = levels.indices.filter { measurable[problem.driveIndex(level: $0, on: on)] }
            guard levelsUsed.count >= 3 else {
                let seen = { (o: Bool) in levels.indices.filter { measurable[problem.driveIndex(level: $0, on: o)] }.map { Volts(levels[$0]).formatted() } }
                throw CharacterizationError.cannotFit(
                    "the response is measurable at \(seen(true).count) amplitudes when potentiating (\(seen(true).joined(separator: ", "))) and \(seen(false).count) when depressing (\(seen(false).joined(separator: ", "))), of \(levels.count) (\(levels.map { Volts($0).formatted() }.joined(separator: ", "))); a compact (VTEAM) model needs 3 in each direction; "
                        + advice)
            }
            used.append(levelsUsed)
        }
        func system(_ k: Int, _ t: [Double]) -> DriveSystem {
            let indices = used[k].map { problem.driveIndex(level: $0, on: k == 0) }
            return DriveSystem(amplitudes: used[k].map { levels[$0] }, drives: indices.map { t[$0] }, covariance: indices.flatMap { a in indices.map { covariance[a * P + $0] } })
        }
        var laws: [DriveLaw] = []
        var lawChi = 0.0
        for k in 0..<2 {
            let upper = levels[used[k][0]]
            guard let (law, chi) = system(k, theta).fit(upper: upper, start: nil) else {
                throw CharacterizationError.cannotFit(
                    "the \(k == 0 ? "potentiating" : "depressing") drives do not follow D = |k|·(V/v_th − 1)^α for any threshold below \(Volts(upper).formatted()); " + advice)
            }
            laws.append(law)
            lawChi += chi
        }
        // Step 4: bootstrap over devices, one Gauss–Newton step per resample.
        var rng = SplitMixRandom(seed: 0x5EED_7EA)
        var samples: [[Double]] = []
        var drivesSampled: [[Double]] = []
        for _ in 0..<max(bootstrap, 0) {
            var h = [Double](repeating: 0, count: P * P), g = [Double](repeating: 0, count: P)
            for _ in 0..<systems.count {
                let s = systems[Int(rng.next() % UInt64(systems.count))]
                for k in h.indices { h[k] += s.h[k] }
                for k in g.indices { g[k] += s.g[k] }
            }
            guard let step = solve(h, g, p: P) else { continue }
            let t = zip(theta, step).map { $0 + $1 }
            var row = [exp(t[0]), exp(t[0] + t[1])]
            var ok = true
            for k in 0..<2 {
                guard let (law, _) = system(k, t).fit(upper: levels[used[k][0]], start: laws[k]) else { ok = false; break }
                row += [law.threshold, exp(law.logScale) / width, law.alpha]
            }
            guard ok else { continue }
            samples.append(row)
            drivesSampled.append(Array(t[2...]).map { $0 / width })
        }
        func spread(_ k: Int) -> Double { standardDeviation(samples.map { $0[k] }) }
        // Step 5: the full model, train starts refitted.
        var final = theta
        for l in levels.indices {
            final[problem.driveIndex(level: l, on: true)] = laws[0].drive(levels[l])
            final[problem.driveIndex(level: l, on: false)] = laws[1].drive(levels[l])
        }
        var finalPhi = phi
        let frozen = [Bool](repeating: false, count: P)
        let full = problem.minimise(&final, &finalPhi, free: frozen, residuals: true)
        let fittedParameters = problem.trains.count + 8
        var drives: [Drive] = []
        for l in levels.indices {
            for (k, on) in [true, false].enumerated() {
                let j = problem.driveIndex(level: l, on: on)
                drives.append(Drive(
                    amplitude: Volts(levels[l]), polarity: on ? 1 : -1, rate: Estimate(theta[j] / width, uncertainty: standardDeviation(drivesSampled.map { $0[j - 2] })),
                    law: laws[k].drive(levels[l]) / width, measurable: measurable[j]))
            }
        }
        let lawDof = used[0].count + used[1].count - 6
        return VTEAMFit(
            gMin: Estimate(exp(theta[0]), uncertainty: spread(0)), gMax: Estimate(exp(theta[0] + theta[1]), uncertainty: spread(1)),
            thresholdOn: Estimate(laws[0].threshold, uncertainty: spread(2)), rateOn: Estimate(exp(laws[0].logScale) / width, uncertainty: spread(3)),
            alphaOn: Estimate(laws[0].alpha, uncertainty: spread(4)),
            thresholdOff: Estimate(laws[1].threshold, uncertainty: spread(5)), rateOff: Estimate(exp(laws[1].logScale) / width, uncertainty: spread(6)),
            alphaOff: Estimate(laws[1].alpha, uncertainty: spread(7)),
            widthNanoseconds: widthNanoseconds, drives: drives, readNoise: sigma,
            reducedChiSquare: full.sse / Double(max(problem.readingCount - fittedParameters, 1)),
            residualRMS: (full.residuals.reduce(0) { $0 + $1 * $1 } / Double(max(problem.readingCount, 1))).squareRoot(),
            lackOfFitChiSquare: problem.lackOfFit(full.residuals, measurable: measurable), driveLawChiSquare: lawDof > 0 ? lawChi / Double(lawDof) : nil,
            points: problem.readingCount, devices: problem.deviceCount, excluded: excluded)
    }
}

// MARK: - The Biolek integral

/// F(m) = ½(atanh m + atan m) = ∫ dm/(1 − m⁴), the time integral of the Biolek window (p = 2).
enum BiolekIntegral {
    static func value(_ m: Double) -> Double { 0.5 * (atanh(m) + atan(m)) }

    /// dm/dF = 1 − m⁴, written so that it stays accurate near m = 1.
    static func slope(_ m: Double) -> Double { (1 - m) * (1 + m) * (1 + m * m) }

    /// The m ∈ (−1, 1) with F(m) = `f`; `guess` (a nearby m) speeds it up. Newton steps kept
    /// inside a bracket: F is odd, increasing, and F(m) ≥ m for m ≥ 0, so the root of a positive
    /// f lies in [0, min(f, 1)).
    static func inverse(_ f: Double, guess: Double) -> Double {
        if f < 0 { return -inverse(-f, guess: -guess) }
        if f == 0 { return 0 }
        // Beyond this the root is 1 to double precision (1 − m ≈ 2·e^(π/2 − 4f)).
        if f > 9.5 { return 1 - 2 * exp(Double.pi / 2 - 4 * f) }
        var lo = 0.0, hi = min(f, 1)
        var m = guess > lo && guess < hi ? guess : 0.5 * (lo + hi)
        for _ in 0..<200 {
            let r = value(m) - f
            if r == 0 { return m }
            if r > 0 { hi = m } else { lo = m }
            var next = m - r * slope(m)
            if !(next > lo && next < hi) { next = 0.5 * (lo + hi) }
            if abs(next - m) <= 4e-16 { return next }
            m = next
        }
        return m
    }
}

// MARK: - The read noise from repeated reads

extension ReadNoiseModel {
    /// The read-noise model of a pulse-response run, from its groups of repeated reads with no
    /// pulse between them (train −1, and the polarity-0 reads at the end of every train): their
    /// pooled variance and σ²(G) = a + b·G² fitted to the groups (`ReadNoiseModel.fit`).
    /// Nil when there are no repeated reads.
    static func fromRepeatedReads(_ byDevice: [DeviceAddress: [CharacterizationPoint]]) -> (model: ReadNoiseModel, pooled: Double)? {
        var groups: [(g: Double, variance: Double, dof: Int)] = []
        var sum = 0.0, dof = 0
        // In a fixed order (devices, then trains), so the sums and the fit do not depend on hashing.
        for device in byDevice.keys.sorted() {
            let groupsOfDevice = Dictionary(grouping: byDevice[device]!.filter { $0.train < 0 || $0.polarity == 0 }, by: \.train)
            for train in groupsOfDevice.keys.sorted() {
                let reads = groupsOfDevice[train]!.sorted { $0.step < $1.step }.map(\.conductance.value)
                guard reads.count >= 2 else { continue }
                let m = mean(reads)
                let ss = reads.reduce(0) { $0 + ($1 - m) * ($1 - m) }
                groups.append((m, ss / Double(reads.count - 1), reads.count - 1))
                sum += ss
                dof += reads.count - 1
            }
        }
        guard dof > 0 else { return nil }
        let pooled = max(sum / Double(dof), 1e-30)
        return (ReadNoiseModel.fit(groups, pooled: pooled), pooled)
    }
}

// MARK: - Step 2: pooled least squares with a start per train

/// Every reading of every device, in trains, and the pooled least-squares problem over them.
/// Global parameters: ln G_min, λ, then the per-pulse drive w·D of each amplitude level,
/// potentiating then depressing; one start F(m_0) per train.
struct VTEAMProblem {
    /// One monotone train of one device: its readings are `first ..< first + count` of the arrays.
    struct Train {
        var device: Int
        var on: Bool
        var level: Int
        var first: Int
        var count: Int
        /// The conductance before the train's first pulse (as read), S.
        var startGuess: Double
    }

    /// One train's share of the normal equations: its 3 global columns (ln G_min, λ, its drive)
    /// and its start.
    struct Block {
        var aa = 0.0, al = 0.0, ad = 0.0, ll = 0.0, ld = 0.0, dd = 0.0
        var ba = 0.0, bl = 0.0, bd = 0.0, c = 0.0
        var ga = 0.0, gl = 0.0, gd = 0.0, gs = 0.0

        func a(_ p: Int, _ q: Int) -> Double {
            switch (min(p, q), max(p, q)) {
            case (0, 0): aa
            case (0, 1): al
            case (0, 2): ad
            case (1, 1): ll
            case (1, 2): ld
            default: dd
            }
        }
        func b(_ p: Int) -> Double { p == 0 ? ba : (p == 1 ? bl : bd) }
        func g(_ p: Int) -> Double { p == 0 ? ga : (p == 1 ? gl : gd) }
    }

    /// The outcome of one pass over the readings.
    struct Pass {
        /// Weighted residual sum of squares.
        var sse: Double
        var blocks: [Block]
        /// Residuals (reading − model), S, when asked for.
        var residuals: [Double]
    }

    let levels: Int
    var trains: [Train] = []
    var pulses: [Double] = []
    var readings: [Double] = []
    var weights: [Double] = []
    /// Lack-of-fit bin of each reading: (level·2 + direction)·bins + position along the train.
    var bins: [Int] = []
    var deviceCount = 0

    init(levels: Int) { self.levels = levels }

    var parameterCount: Int { 2 + 2 * levels }
    var readingCount: Int { readings.count }

    func driveIndex(level: Int, on: Bool) -> Int { 2 + 2 * level + (on ? 0 : 1) }

    /// Adds one device's readings: every train with an amplitude level (`level(train)`), its reads
    /// after the last pulse, and the reads before any pulse as the start of the first train.
    mutating func add(_ points: [CharacterizationPoint], noise: ReadNoiseModel, level: (Int) -> Int?) {
        let device = deviceCount
        let byTrain = Dictionary(grouping: points, by: \.train)
        let baseline = (byTrain[-1] ?? []).map(\.conductance.value)
        var previousEnd = baseline.isEmpty ? nil : mean(baseline)
        var firstTrain = true
        let perLevel = VTEAMFit.lackOfFitBins
        for t in byTrain.keys.sorted() where t >= 0 {
            let train = byTrain[t]!
            guard let first = train.first(where: { $0.polarity != 0 }), let l = level(t) else { continue }
            var rs = train.map { (n: Double($0.pulses), g: $0.conductance.value, order: $0.step) }
            if firstTrain { rs += baseline.enumerated().map { (n: 0, g: $0.element, order: $0.offset - baseline.count) } }
            rs.sort { ($0.n, $0.order) < ($1.n, $1.order) }
            let nMax = max(rs.last!.n, 1)
            let on = first.polarity > 0
            trains.append(Train(device: device, on: on, level: l, first: readings.count, count: rs.count, startGuess: previousEnd ?? rs[0].g))
            for r in rs {
                pulses.append(r.n)
                readings.append(r.g)
                weights.append(1 / noise.variance(at: r.g))
                bins.append((2 * l + (on ? 0 : 1)) * perLevel + min(perLevel - 1, Int(r.n / nMax * Double(perLevel))))
            }
            let after = train.filter { $0.polarity == 0 }.map(\.conductance.value)
            previousEnd = after.isEmpty ? rs.last!.g : mean(after)
            firstTrain = false
        }
        deviceCount += 1
    }

    /// Starting values of the globals: the window just outside the readings' extremes, and each
    /// drive from the slope of F(m) against the pulse count along its trains (the closed form).
    func initialGlobals() -> [Double] {
        let sorted = readings.sorted()
        let gMin = 0.97 * max(quantile(sorted, 0.005), 1e-12)
        let gMax = 1.03 * max(quantile(sorted, 0.995), gMin * 1.5)
        var theta = [Double](repeating: 0, count: parameterCount)
        theta[0] = log(gMin)
        theta[1] = log(gMax / gMin)
        var sxy = [Double](repeating: 0, count: parameterCount), sxx = [Double](repeating: 0, count: parameterCount)
        for t in trains {
            var xs: [Double] = [], ys: [Double] = []
            for i in t.first..<(t.first + t.count) where readings[i] > 0 {
                let u = log(readings[i] / gMin) / theta[1]
                let m = t.on ? u : 1 - u
                guard m > -0.5, m < 0.9 else { continue }
                xs.append(pulses[i])
                ys.append(BiolekIntegral.value(m))
            }
            guard xs.count >= 2 else { continue }
            let mx = mean(xs), my = mean(ys)
            let j = driveIndex(level: t.level, on: t.on)
            for (x, y) in zip(xs, ys) {
                sxy[j] += (x - mx) * (y - my)
                sxx[j] += (x - mx) * (x - mx)
            }
        }
        for j in 2..<parameterCount { theta[j] = sxx[j] > 0 ? max(sxy[j] / sxx[j], 1e-7) : 1e-7 }
        return theta
    }

    /// Starting values of the trains' starts, from the conductance read before each.
    func initialStarts(_ theta: [Double]) -> [Double] {
        trains.map { t in
            let u = min(max(log(max(t.startGuess, 1e-15) / exp(theta[0])) / theta[1], 0.001), 0.999)
            return BiolekIntegral.value(t.on ? u : 1 - u)
        }
    }

    /// One pass over the readings at (`theta`, `phi`): the weighted residual sum of squares, and
    /// on request each train's normal-equation block and the residuals.
    func pass(_ theta: [Double], _ phi: [Double], blocks wantBlocks: Bool, residuals wantResiduals: Bool = false) -> Pass {
        var sse = 0.0
        var blocks: [Block] = []
        if wantBlocks { blocks.reserveCapacity(trains.count) }
        var residuals: [Double] = wantResiduals ? [Double](repeating: 0, count: readings.count) : []
        let a = theta[0], lambda = theta[1]
        for (k, t) in trains.enumerated() {
            let d = theta[driveIndex(level: t.level, on: t.on)]
            let start = phi[k]
            let sign: Double = t.on ? 1 : -1
            var block = Block()
            var m = BiolekIntegral.inverse(start, guess: 0)
            for i in t.first..<(t.first + t.count) {
                let n = pulses[i]
                m = BiolekIntegral.inverse(start + n * d, guess: m)
                let u = t.on ? m : 1 - m
                let g = exp(a + lambda * u)
                let r = readings[i] - g
                let w = weights[i]
                sse += w * r * r
                if wantResiduals { residuals[i] = r }
                guard wantBlocks else { continue }
                let js = g * lambda * sign * BiolekIntegral.slope(m)
                let ja = g, jl = g * u, jd = js * n
                block.aa += w * ja * ja
                block.al += w * ja * jl
                block.ad += w * ja * jd
                block.ll += w * jl * jl
                block.ld += w * jl * jd
                block.dd += w * jd * jd
                block.ba += w * ja * js
                block.bl += w * jl * js
                block.bd += w * jd * js
                block.c += w * js * js
                block.ga += w * ja * r
                block.gl += w * jl * r
                block.gd += w * jd * r
                block.gs += w * js * r
            }
            if wantBlocks { blocks.append(block) }
        }
        return Pass(sse: sse, blocks: blocks, residuals: residuals)
    }

    /// The smallest start curvature treated as informative (saturated trains have none).
    func curvatureFloor(_ blocks: [Block]) -> Double { 1e-14 * (blocks.map(\.c).max() ?? 0) }

    /// Levenberg–Marquardt over the `free` globals and every train's start; the starts are
    /// eliminated through the Schur complement (each couples only to its train's 3 globals).
    func minimise(_ theta: inout [Double], _ phi: inout [Double], free: [Bool], residuals: Bool = false, iterations: Int = 200) -> Pass {
        let P = parameterCount
        var current = pass(theta, phi, blocks: true)
        var mu = 1e-3
        for _ in 0..<iterations {
            let floor = curvatureFloor(current.blocks)
            var h = [Double](repeating: 0, count: P * P), g = [Double](repeating: 0, count: P), diagonal = [Double](repeating: 0, count: P)
            for (k, b) in current.blocks.enumerated() {
                let index = [0, 1, driveIndex(level: trains[k].level, on: trains[k].on)]
                let c = b.c > floor ? b.c * (1 + mu) : 0
                for p in 0..<3 {
                    diagonal[index[p]] += b.a(p, p)
                    g[index[p]] += b.g(p) - (c > 0 ? b.b(p) * b.gs / c : 0)
                    for q in 0..<3 { h[index[p] * P + index[q]] += b.a(p, q) - (c > 0 ? b.b(p) * b.b(q) / c : 0) }
                }
            }
            for i in 0..<P {
                if free[i] {
                    h[i * P + i] += mu * max(diagonal[i], 1e-300)
                } else {
                    for j in 0..<P { h[i * P + j] = 0; h[j * P + i] = 0 }
                    h[i * P + i] = 1
                    g[i] = 0
                }
            }
            guard let delta = solve(h, g, p: P) else {
                mu *= 10
                if mu > 1e12 { break }
                continue
            }
            var trialTheta = theta
            for i in 0..<P where free[i] { trialTheta[i] += delta[i] }
            var trialPhi = phi
            for (k, b) in current.blocks.enumerated() {
                let c = b.c > floor ? b.c * (1 + mu) : 0
                guard c > 0 else { continue }
                let index = [0, 1, driveIndex(level: trains[k].level, on: trains[k].on)]
                var step = b.gs
                for p in 0..<3 { step -= b.b(p) * delta[index[p]] }
                trialPhi[k] += min(max(step / c, -2), 2)
            }
            if trialTheta[1] > 0.05, trialTheta[1] < 50, trialTheta.allSatisfy(\.isFinite), trialPhi.allSatisfy(\.isFinite) {
                let trial = pass(trialTheta, trialPhi, blocks: true)
                if trial.sse <= current.sse {
                    let improvement = (current.sse - trial.sse) / max(current.sse, 1e-300)
                    theta = trialTheta
                    phi = trialPhi
                    current = trial
                    mu = max(mu / 3, 1e-12)
                    if improvement < 1e-11 { break }
                    continue
                }
            }
            mu *= 4
            if mu > 1e12 { break }
        }
        return residuals ? pass(theta, phi, blocks: true, residuals: true) : current
    }

    /// Each device's share of the reduced (starts eliminated) normal equations at a solution,
    /// over the `free` globals (the others' rows and columns stay 0): what the bootstrap resamples.
    func deviceSystems(_ solution: Pass, free: [Bool]) -> [(h: [Double], g: [Double])] {
        let P = parameterCount
        let floor = curvatureFloor(solution.blocks)
        var out = [(h: [Double], g: [Double])](repeating: ([Double](repeating: 0, count: P * P), [Double](repeating: 0, count: P)), count: deviceCount)
        for (k, b) in solution.blocks.enumerated() {
            let t = trains[k]
            let index = [0, 1, driveIndex(level: t.level, on: t.on)]
            let c = b.c > floor ? b.c : 0
            for p in 0..<3 where free[index[p]] {
                out[t.device].g[index[p]] += b.g(p) - (c > 0 ? b.b(p) * b.gs / c : 0)
                for q in 0..<3 where free[index[q]] {
                    out[t.device].h[index[p] * P + index[q]] += b.a(p, q) - (c > 0 ? b.b(p) * b.b(q) / c : 0)
                }
            }
        }
        return out
    }

    /// The mean over trains of |G(end) − G(start)| the model gives, per global index (0 for the window).
    func swings(_ theta: [Double], _ phi: [Double]) -> [Double] {
        var sum = [Double](repeating: 0, count: parameterCount), n = [Int](repeating: 0, count: parameterCount)
        for (k, t) in trains.enumerated() {
            let j = driveIndex(level: t.level, on: t.on)
            let m0 = BiolekIntegral.inverse(phi[k], guess: 0)
            let m1 = BiolekIntegral.inverse(phi[k] + pulses[t.first + t.count - 1] * theta[j], guess: m0)
            let u0 = t.on ? m0 : 1 - m0, u1 = t.on ? m1 : 1 - m1
            sum[j] += abs(exp(theta[0] + theta[1] * u1) - exp(theta[0] + theta[1] * u0))
            n[j] += 1
        }
        return zip(sum, n).map { $1 > 0 ? $0 / Double($1) : 0 }
    }

    /// The lack of fit of `residuals` over the trains whose drive is `measurable` (by global
    /// index): per device the mean residual in each bin, then per bin the mean over devices in
    /// units of its standard error, squared, averaged over the bins.
    func lackOfFit(_ residuals: [Double], measurable: [Bool]) -> Double {
        let count = 2 * levels * VTEAMFit.lackOfFitBins
        var sum = [Double](repeating: 0, count: deviceCount * count), n = [Int](repeating: 0, count: deviceCount * count)
        for t in trains where measurable[driveIndex(level: t.level, on: t.on)] {
            for i in t.first..<(t.first + t.count) {
                sum[t.device * count + bins[i]] += residuals[i]
                n[t.device * count + bins[i]] += 1
            }
        }
        var total = 0.0, used = 0
        for b in 0..<count {
            var v: [Double] = []
            for d in 0..<deviceCount where n[d * count + b] > 0 { v.append(sum[d * count + b] / Double(n[d * count + b])) }
            guard v.count >= 3 else { continue }
            let se = standardDeviation(v) / Double(v.count).squareRoot()
            guard se > 0 else { continue }
            total += pow(mean(v) / se, 2)
            used += 1
        }
        return total / Double(max(used, 1))
    }
}

// MARK: - Step 3: the drive law

/// D(V) = e^logScale·(V/threshold − 1)^alpha above the threshold, 0 below; per pulse (w·D).
struct DriveLaw: Equatable {
    var threshold: Double
    var alpha: Double
    /// ln(w·|k|).
    var logScale: Double

    func drive(_ v: Double) -> Double { v > threshold ? exp(logScale) * pow(v / threshold - 1, alpha) : 0 }
}

/// The per-pulse drives of one polarity at every amplitude, with their covariance, and the
/// generalised least-squares fit of a `DriveLaw` to them.
struct DriveSystem {
    var amplitudes: [Double]
    var drives: [Double]
    /// Row-major, amplitudes × amplitudes.
    var covariance: [Double]

    /// The law minimising (d − D)ᵀC⁻¹(d − D) with the threshold in (0, `upper`), and that minimum.
    /// Without `start`: from the best point of a (threshold, α) grid with the scale profiled out.
    func fit(upper: Double, start: DriveLaw?) -> (DriveLaw, Double)? {
        let n = amplitudes.count
        guard let l = cholesky(covariance, n: n) else { return nil }
        let white = forwardSubstitute(l, drives, n: n)
        func chi(_ law: DriveLaw) -> Double {
            let r = forwardSubstitute(l, zip(drives, amplitudes).map { $0 - law.drive($1) }, n: n)
            return r.reduce(0) { $0 + $1 * $1 }
        }
        var best: DriveLaw
        if let start {
            best = start
        } else {
            var bestChi = Double.infinity
            best = DriveLaw(threshold: 0.5 * upper, alpha: 1, logScale: 0)
            for i in 0..<160 {
                let threshold = 0.05 + (upper * 0.999 - 0.05) * Double(i) / 159
                for k in 0..<60 {
                    let alpha = 0.3 * pow(40, Double(k) / 59)
                    let shape = amplitudes.map { $0 > threshold ? pow($0 / threshold - 1, alpha) : 0 }
                    let f = forwardSubstitute(l, shape, n: n)
                    let ff = f.reduce(0) { $0 + $1 * $1 }
                    guard ff > 0 else { continue }
                    let scale = zip(f, white).reduce(0) { $0 + $1.0 * $1.1 } / ff
                    guard scale > 0 else { continue }
                    let law = DriveLaw(threshold: threshold, alpha: alpha, logScale: log(scale))
                    let c = chi(law)
                    if c < bestChi { bestChi = c; best = law }
                }
            }
            guard bestChi.isFinite else { return nil }
        }
        // Levenberg–Marquardt on (threshold, α, ln scale), whitened by the Cholesky factor.
        var current = chi(best)
        var mu = 1e-3
        for _ in 0..<300 {
            var jac = [Double](repeating: 0, count: n * 3)
            for (a, v) in amplitudes.enumerated() where v > best.threshold {
                let u = v / best.threshold - 1
                let d = best.drive(v)
                jac[a * 3 + 0] = -d * best.alpha / u * v / (best.threshold * best.threshold)
                jac[a * 3 + 1] = d * log(u)
                jac[a * 3 + 2] = d
            }
            var wj = [Double](repeating: 0, count: n * 3)
            for c in 0..<3 {
                let col = forwardSubstitute(l, (0..<n).map { jac[$0 * 3 + c] }, n: n)
                for a in 0..<n { wj[a * 3 + c] = col[a] }
            }
            let r = forwardSubstitute(l, zip(drives, amplitudes).map { $0 - best.drive($1) }, n: n)
            var (h, g) = normalEquations(wj, r, n: n, p: 3)
            for c in 0..<3 { h[c * 3 + c] += mu * max(h[c * 3 + c], 1e-300) }
            guard let step = solve(h, g, p: 3) else {
                mu *= 10
                if mu > 1e12 { break }
                continue
            }
            let trial = DriveLaw(threshold: best.threshold + step[0], alpha: best.alpha + step[1], logScale: best.logScale + step[2])
            if trial.threshold > 0.01, trial.threshold < upper, trial.alpha > 0.05, trial.alpha < 50, trial.logScale.isFinite {
                let c = chi(trial)
                if c <= current {
                    let improvement = (current - c) / max(current, 1e-300)
                    best = trial
                    current = c
                    mu = max(mu / 3, 1e-12)
                    if improvement < 1e-12 { break }
                    continue
                }
            }
            mu *= 4
            if mu > 1e12 { break }
        }
        return current.isFinite ? (best, current) : nil
    }
}

/// The lower Cholesky factor of a symmetric positive-definite n × n matrix, or nil.
func cholesky(_ a: [Double], n: Int) -> [Double]? {
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var s = a[i * n + j]
            for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
            if i == j {
                guard s > 0 else { return nil }
                l[i * n + i] = s.squareRoot()
            } else {
                l[i * n + j] = s / l[j * n + j]
            }
        }
    }
    return l
}

/// L⁻¹·v for a lower-triangular n × n L.
func forwardSubstitute(_ l: [Double], _ v: [Double], n: Int) -> [Double] {
    var out = v
    for i in 0..<n {
        var s = out[i]
        for k in 0..<i { s -= l[i * n + k] * out[k] }
        out[i] = s / l[i * n + i]
    }
    return out
}
