import Foundation
import LandauerFirmware

/// A value with its standard uncertainty (k = 1).
public struct Estimate: Sendable, Equatable, Codable {
    public var value: Double
    /// Standard uncertainty (one standard deviation).
    public var uncertainty: Double

    public init(_ value: Double, uncertainty: Double) {
        self.value = value
        self.uncertainty = uncertainty
    }
}

/// The fit of one device's pulse response by the soft-bounds law, in conductance:
/// a potentiating pulse moves G by r⁺·(G_top − G), a depressing one by −r⁻·(G − G_bottom).
public struct DeviceFit: Sendable, Equatable, Codable {
    public var device: DeviceAddress
    /// The conductance potentiation approaches (the device's own upper bound), S.
    public var top: Double
    /// The conductance depression approaches (the device's own lower bound), S.
    public var bottom: Double
    /// Fraction of the distance to the top closed by one potentiating pulse.
    public var rateUp: Double
    /// Fraction of the distance to the bottom closed by one depressing pulse.
    public var rateDown: Double
    /// Fitted conductance at the start of each train, S (train order).
    public var starts: [Double]
    /// Covariance of (top, bottom, ln rateUp, ln rateDown): read noise and cycle-to-cycle walk (sandwich).
    public var covariance: [Double]
    /// Readings fitted.
    public var points: Int
    /// Root mean square of the residuals, S.
    public var residualRMS: Double
    /// Residual sum of squares over its expectation under the noise model (read noise and
    /// cycle-to-cycle walk): about 1 when the model describes the device.
    public var reducedChiSquare: Double

    /// The model's conductance after `pulses` pulses of `polarity` from `start`.
    public func conductance(from start: Double, pulses: Int, polarity: Int8) -> Double {
        if polarity > 0 { return top - (top - start) * pow(1 - rateUp, Double(pulses)) }
        return bottom + (start - bottom) * pow(1 - rateDown, Double(pulses))
    }
}

/// The simulator's pulsed soft-bounds model fitted to a pulse-response characterisation.
///
/// Method (docs/characterization.md):
/// 1. per device, least squares (Levenberg–Marquardt) of the expected trajectory: the train
///    starts are free, so the cycle-to-cycle walk does not carry over from train to train; the
///    soft-bounds update is affine in G, so the expectation of the noisy trajectory is exactly
///    the noise-free one and the fit is unbiased;
/// 2. the read noise from repeated reads before any pulse; the cycle-to-cycle spread from the
///    residuals beyond the read noise, against the walk variance the fitted law predicts (with
///    what fitting the parameters absorbs subtracted: tr Σ − tr((JᵀJ)⁻¹JᵀΣJ));
/// 3. the conductance window from the devices at the nominal bounds (the bounds' spread only
///    shrinks them, so a quarter of the devices or more sit at each); the conductance of w = 0
///    as the one that makes the up/down asymmetry most uniform over the devices (β varies much
///    less from device to device than the bounds); in the convention wMax − wMin = 2;
/// 4. the means and device-to-device spreads from the distribution of the per-device values,
///    less each device's own estimation variance; uncertainties by bootstrap over the devices.
public struct SoftBoundsFit: Sendable, Equatable, Codable {
    /// Model parameters in the simulator's convention (`PulsedStepParameters`), wMax − wMin = 2.
    public var dwMin: Estimate
    public var upDown: Estimate
    public var dwMinDtoD: Estimate
    public var upDownDtoD: Estimate
    public var cycleToCycle: Estimate
    public var wMin: Estimate
    public var wMax: Estimate
    public var wMinDtoD: Estimate
    public var wMaxDtoD: Estimate
    /// The conductance window (G at wMin and wMax), S.
    public var gMin: Estimate
    public var gMax: Estimate
    /// The conductance of w = 0, S.
    public var gZero: Estimate
    /// Standard deviation of one reading (noise and quantisation), S.
    public var readNoise: Double
    /// Residual sum of squares over its expectation, all devices together.
    public var reducedChiSquare: Double
    /// The same against the read noise alone (what it would be without cycle-to-cycle noise).
    public var reducedChiSquareReadNoiseOnly: Double
    /// Root mean square residual over all fitted readings, S.
    public var residualRMS: Double
    /// Lack of fit of the curve's shape: the residuals averaged over the devices in
    /// `lackOfFitBins` bins of the position along the potentiating and the depressing trains,
    /// each in units of its standard error (from the scatter between devices), squared and
    /// averaged. About 1 when the soft-bounds law has the right shape; noise alone cannot raise
    /// it, a wrong law (exponential steps, a threshold, a nonlinear read) does.
    public var lackOfFitChiSquare: Double
    /// Bins per polarity of `lackOfFitChiSquare`.
    public static let lackOfFitBins = 20
    /// Readings fitted.
    public var points: Int
    /// Per-device fits.
    public var devices: [DeviceFit]
    /// Devices left out, with the reason.
    public var excluded: [ExcludedDevice]

    /// A device the fit leaves out.
    public struct ExcludedDevice: Sendable, Equatable, Codable {
        public var device: DeviceAddress
        public var reason: String
    }

    /// The population parameters for one choice of w = 0 and window (used by the bootstrap too).
    struct Population {
        var dwMin = 0.0, upDown = 0.0, dwMinDtoD = 0.0, upDownDtoD = 0.0, wMin = 0.0, wMax = 0.0, wMinDtoD = 0.0, wMaxDtoD = 0.0
        var gMin = 0.0, gMax = 0.0, gZero = 0.0
    }

    // MARK: Fitting

    /// Fits the readings of a pulse-response procedure (`Characterizer.pulseResponse`).
    public static func fit(_ points: [CharacterizationPoint], bootstrap: Int = 100) throws -> SoftBoundsFit {
        let byDevice = Dictionary(grouping: points.filter { $0.procedure == .pulse }, by: \.device)
        guard byDevice.count >= 8 else {
            throw CharacterizationError.cannotFit(
                "a pulse-response fit needs at least 8 devices and this run has \(byDevice.count); characterise a larger block (landauer characterize pulse --block …)")
        }
        // Read noise: repeated reads with no pulse between them (before the first train, and at the
        // end of every train when the run took them). A read's noise grows with the conductance
        // read, so its variance is modelled as a + b·G², fitted by weighted least squares to the
        // groups' sample variances (weights: degrees of freedom over the variance squared, iterated
        // once); with reads at one conductance only it is their pooled variance.
        guard let (noiseModel, pooled) = ReadNoiseModel.fromRepeatedReads(byDevice) else {
            throw CharacterizationError.cannotFit("the run has no repeated reads before the pulses, so the read noise is unknown")
        }
        let readVariance = pooled
        // Per device.
        var fits: [(fit: DeviceFit, work: DeviceWork)] = []
        var excluded: [ExcludedDevice] = []
        for device in byDevice.keys.sorted() {
            let series = Series(byDevice[device]!)
            guard series.trains.count >= 2, series.trains.contains(where: { $0.polarity > 0 }), series.trains.contains(where: { $0.polarity < 0 }) else {
                excluded.append(ExcludedDevice(device: device, reason: "needs a potentiating and a depressing train"))
                continue
            }
            let all = series.trains.flatMap(\.readings)
            let swing = (all.max() ?? 0) - (all.min() ?? 0)
            if swing < 10 * readVariance.squareRoot() {
                excluded.append(ExcludedDevice(device: device, reason: "does not respond to pulses (swing \(Siemens(swing).formatted(significantDigits: 2)) against read noise \(Siemens(readVariance.squareRoot()).formatted(significantDigits: 2)))"))
                continue
            }
            guard let w = DeviceWork(device: device, series: series) else {
                excluded.append(ExcludedDevice(device: device, reason: "the least-squares fit does not converge to a soft-bounds law"))
                continue
            }
            fits.append((w.result, w))
        }
        guard fits.count >= 8 else {
            throw CharacterizationError.cannotFit(
                "only \(fits.count) devices could be fitted (\(excluded.count) left out: \(excluded.prefix(3).map { "\($0.device): \($0.reason)" }.joined(separator: "; "))); is the block on working devices?")
        }
        // Cycle-to-cycle spread, pooled: residuals beyond the read noise against the walk variance.
        var numerator = 0.0, denominator = 0.0
        var perDeviceC: [(num: Double, den: Double)] = []
        for (_, w) in fits {
            let num = w.sse - w.readNoiseVariance(noiseModel) * Double(w.n - w.p)
            perDeviceC.append((num, w.walkTrace))
            numerator += num
            denominator += w.walkTrace
        }
        let c2 = max(0, numerator / max(denominator, 1e-300))
        // Per-device covariances, chi-square.
        var totalSSE = 0.0, totalExpected = 0.0, totalReadOnly = 0.0, totalPoints = 0
        var deviceFits: [DeviceFit] = []
        for (f, w) in fits {
            var d = f
            d.covariance = w.covariance(readVariance: readVariance, walkVariance: c2)
            let expected = w.readNoiseVariance(noiseModel) * Double(w.n - w.p) + c2 * w.walkTrace
            d.reducedChiSquare = w.sse / max(expected, 1e-300)
            totalSSE += w.sse
            totalExpected += expected
            totalReadOnly += w.readNoiseVariance(noiseModel) * Double(w.n - w.p)
            totalPoints += w.n
            deviceFits.append(d)
        }
        // Lack of fit: per-device mean residual in each bin, then across devices.
        let bins = 2 * lackOfFitBins
        var perBin = [[Double]](repeating: [], count: bins)
        for (_, w) in fits {
            var sum = [Double](repeating: 0, count: bins), count = [Int](repeating: 0, count: bins)
            for (r, b) in zip(w.residuals, w.bins) { sum[b] += r; count[b] += 1 }
            for b in 0..<bins where count[b] > 0 { perBin[b].append(sum[b] / Double(count[b])) }
        }
        var lackOfFit = 0.0, used = 0
        for v in perBin where v.count >= 3 {
            let se = standardDeviation(v) / Double(v.count).squareRoot()
            guard se > 0 else { continue }
            lackOfFit += pow(mean(v) / se, 2)
            used += 1
        }
        // Population.
        let base = population(deviceFits)
        var samples: [Population] = []
        var cSamples: [Double] = []
        var rng = SplitMixRandom(seed: 0x5EED_F17)
        for _ in 0..<max(bootstrap, 0) {
            var pick: [DeviceFit] = []
            var num = 0.0, den = 0.0
            for _ in 0..<deviceFits.count {
                let k = Int(rng.next() % UInt64(deviceFits.count))
                pick.append(deviceFits[k])
                num += perDeviceC[k].num
                den += perDeviceC[k].den
            }
            samples.append(population(pick, coarse: true))
            cSamples.append(max(0, num / max(den, 1e-300)).squareRoot())
        }
        func est(_ v: Double, _ path: (Population) -> Double) -> Estimate { Estimate(v, uncertainty: standardDeviation(samples.map(path))) }
        return SoftBoundsFit(
            dwMin: est(base.dwMin, \.dwMin), upDown: est(base.upDown, \.upDown), dwMinDtoD: est(base.dwMinDtoD, \.dwMinDtoD),
            upDownDtoD: est(base.upDownDtoD, \.upDownDtoD), cycleToCycle: Estimate(c2.squareRoot(), uncertainty: standardDeviation(cSamples)),
            wMin: est(base.wMin, \.wMin), wMax: est(base.wMax, \.wMax), wMinDtoD: est(base.wMinDtoD, \.wMinDtoD), wMaxDtoD: est(base.wMaxDtoD, \.wMaxDtoD),
            gMin: est(base.gMin, \.gMin), gMax: est(base.gMax, \.gMax), gZero: est(base.gZero, \.gZero),
            readNoise: readVariance.squareRoot(), reducedChiSquare: totalSSE / max(totalExpected, 1e-300),
            reducedChiSquareReadNoiseOnly: totalSSE / max(totalReadOnly, 1e-300), residualRMS: (totalSSE / Double(max(totalPoints, 1))).squareRoot(),
            lackOfFitChiSquare: lackOfFit / Double(max(used, 1)), points: totalPoints, devices: deviceFits, excluded: excluded)
    }

    /// Window, w = 0, means and spreads from per-device fits.
    static func population(_ fits: [DeviceFit], coarse: Bool = false) -> Population {
        var p = Population()
        let tops = fits.map(\.top).sorted(), bottoms = fits.map(\.bottom).sorted()
        // At least half of the devices sit at each nominal bound (the spread only shrinks bounds).
        p.gMax = quantile(tops, 0.75)
        p.gMin = quantile(bottoms, 0.25)
        let lo = bottoms.last!, hi = tops.first!
        let gPerW = (p.gMax - p.gMin) / 2
        func betaSpread(_ g0: Double) -> Double {
            var m: [Double] = [], d: [Double] = []
            for f in fits {
                let su = f.rateUp * (f.top - g0), sd = f.rateDown * (g0 - f.bottom)
                m.append((su + sd) / 2)
                d.append(su - sd)
            }
            let mean = m.reduce(0, +) / Double(m.count)
            return variance(d.map { $0 / (2 * mean) })
        }
        // w = 0: where β is most uniform, searched inside (highest bottom, lowest top).
        var g0 = 0.5 * (lo + hi)
        if hi > lo {
            let n = coarse ? 60 : 400
            var best = Double.infinity
            var bestK = 0
            for k in 1..<n {
                let g = lo + (hi - lo) * Double(k) / Double(n)
                let v = betaSpread(g)
                if v < best { best = v; bestK = k }
            }
            var a = lo + (hi - lo) * Double(bestK - 1) / Double(n), b = lo + (hi - lo) * Double(bestK + 1) / Double(n)
            for _ in 0..<40 {
                let x1 = b - 0.618_033_988_75 * (b - a), x2 = a + 0.618_033_988_75 * (b - a)
                if betaSpread(x1) < betaSpread(x2) { b = x2 } else { a = x1 }
            }
            g0 = 0.5 * (a + b)
        }
        p.gZero = g0
        p.wMin = (p.gMin - g0) / gPerW
        p.wMax = (p.gMax - g0) / gPerW
        // Per device: steps (normalised), asymmetry, bound deficits, with their estimation variances.
        var m: [Double] = [], mVar: [Double] = []
        var up: [Double] = [], down: [Double] = [], upDownCov: [(Double, Double, Double)] = []
        var u: [Double] = [], uVar: [Double] = [], l: [Double] = [], lVar: [Double] = []
        for f in fits {
            let c = f.covariance
            let su = f.rateUp * (f.top - g0) / gPerW, sd = f.rateDown * (g0 - f.bottom) / gPerW
            // Gradients with respect to (top, bottom, ln r⁺, ln r⁻).
            let gu = [f.rateUp / gPerW, 0, su, 0], gd = [0, -f.rateDown / gPerW, 0, sd]
            let vuu = quadratic(gu, c, gu), vdd = quadratic(gd, c, gd), vud = quadratic(gu, c, gd)
            up.append(su)
            down.append(sd)
            upDownCov.append((vuu, vdd, vud))
            m.append((su + sd) / 2)
            mVar.append((vuu + vdd + 2 * vud) / 4)
            u.append((p.gMax - f.top) / (p.gMax - g0))
            uVar.append(c[0] / pow(p.gMax - g0, 2))
            l.append((f.bottom - p.gMin) / (g0 - p.gMin))
            lVar.append(c[5] / pow(g0 - p.gMin, 2))
        }
        p.dwMin = mean(m)
        p.dwMinDtoD = max(0, variance(m) - mean(mVar)).squareRoot() / p.dwMin
        let beta = zip(up, down).map { ($0 - $1) / (2 * p.dwMin) }
        let betaVar = upDownCov.map { ($0.0 + $0.1 - 2 * $0.2) / pow(2 * p.dwMin, 2) }
        p.upDown = mean(beta)
        p.upDownDtoD = max(0, variance(beta) - mean(betaVar)).squareRoot()
        // A bound is min(nominal, nominal·(1 + σξ)): the relative deficit is σ·|ξ| for ξ < 0, so E[deficit²] = σ²/2.
        p.wMaxDtoD = max(0, 2 * (mean(u.map { $0 * $0 }) - mean(uVar))).squareRoot()
        p.wMinDtoD = max(0, 2 * (mean(l.map { $0 * $0 }) - mean(lVar))).squareRoot()
        return p
    }

    /// The fitted parameters as the JSON-friendly list reports print.
    public var parameters: [(key: String, name: String, estimate: Estimate, unit: String)] {
        [
            ("dwMin", "mean step per pulse (dw_min, normalised, wMax − wMin = 2)", dwMin, "1"),
            ("upDown", "up/down asymmetry β (up_down)", upDown, "1"),
            ("wMin", "lower bound of w (w_min)", wMin, "1"),
            ("wMax", "upper bound of w (w_max)", wMax, "1"),
            ("gMin", "conductance at wMin", gMin, "S"),
            ("gMax", "conductance at wMax", gMax, "S"),
            ("gZero", "conductance at w = 0", gZero, "S"),
            ("dwMinDtoD", "device-to-device spread of the step (dw_min_dtod)", dwMinDtoD, "1"),
            ("upDownDtoD", "device-to-device spread of β (up_down_dtod)", upDownDtoD, "1"),
            ("wMinDtoD", "device-to-device spread of the lower bound (w_min_dtod)", wMinDtoD, "1"),
            ("wMaxDtoD", "device-to-device spread of the upper bound (w_max_dtod)", wMaxDtoD, "1"),
            ("cycleToCycle", "cycle-to-cycle spread of each step (multiplicative)", cycleToCycle, "1"),
        ]
    }
}

// MARK: - One device

/// The readings of one device, in trains.
struct Series {
    struct Train {
        var index: Int
        var polarity: Int8
        /// Pulses between readings.
        var pulsesPerStep: Int
        var readings: [Double]
    }
    var trains: [Train]
    /// The last reading before the first train.
    var before: Double?

    init(_ points: [CharacterizationPoint]) {
        let baseline = points.filter { $0.train < 0 }.sorted { $0.step < $1.step }
        before = baseline.last?.conductance.value
        var trains: [Train] = []
        for (index, ps) in Dictionary(grouping: points.filter { $0.train >= 0 && $0.polarity != 0 }, by: \.train).sorted(by: { $0.key < $1.key }) {
            let sorted = ps.sorted { $0.step < $1.step }
            guard let first = sorted.first, first.step > 0 else { continue }
            let k = max(1, first.pulses / first.step)
            trains.append(Train(index: index, polarity: first.polarity, pulsesPerStep: k, readings: sorted.map(\.conductance.value)))
        }
        self.trains = trains
    }
}

/// A read's noise variance as a function of the conductance read: a + b·G² (siemens²).
struct ReadNoiseModel {
    var a: Double
    var b: Double

    func variance(at g: Double) -> Double { max(a + b * g * g, 1e-30) }

    /// Weighted least squares of the groups' sample variances on (1, G²); the pooled variance when
    /// the groups do not span conductance enough to tell the terms apart, or a term comes out negative.
    static func fit(_ groups: [(g: Double, variance: Double, dof: Int)], pooled: Double) -> ReadNoiseModel {
        let flat = ReadNoiseModel(a: pooled, b: 0)
        guard groups.count >= 4, let lo = groups.map(\.g).min(), let hi = groups.map(\.g).max(), hi > 1.5 * lo else { return flat }
        var model = flat
        for _ in 0..<2 {
            var s00 = 0.0, s01 = 0.0, s11 = 0.0, t0 = 0.0, t1 = 0.0
            for x in groups {
                let v = model.variance(at: x.g)
                let w = Double(x.dof) / (v * v)
                let g2 = x.g * x.g
                s00 += w; s01 += w * g2; s11 += w * g2 * g2
                t0 += w * x.variance; t1 += w * x.variance * g2
            }
            let det = s00 * s11 - s01 * s01
            guard det > 0 else { return flat }
            let a = (t0 * s11 - t1 * s01) / det, b = (s00 * t1 - s01 * t0) / det
            guard a >= 0, b >= 0 else { return flat }
            model = ReadNoiseModel(a: a, b: b)
        }
        return model
    }
}

/// The least-squares fit of one device and what the noise analysis needs from it.
struct DeviceWork {
    var result: DeviceFit
    var n: Int
    var p: Int
    var sse: Double
    /// (JᵀJ)⁻¹, p × p.
    var inverse: [Double]
    /// JᵀΣJ per unit cycle-to-cycle variance, p × p.
    var jsj: [Double]
    /// tr Σ − tr((JᵀJ)⁻¹ JᵀΣJ): the walk variance the residuals keep, per unit c².
    var walkTrace: Double
    /// Each reading's residual, and its lack-of-fit bin (polarity, position along the train).
    var residuals: [Double]
    var bins: [Int]

    /// The readings, in fit order (for the read-noise model).
    var readings: [Double] = []

    /// The mean read-noise variance over this device's readings.
    func readNoiseVariance(_ model: ReadNoiseModel) -> Double {
        guard !readings.isEmpty else { return model.variance(at: 0) }
        return readings.reduce(0) { $0 + model.variance(at: $1) } / Double(readings.count)
    }

    /// Parameters: top, bottom, ln r⁺, ln r⁻, then one start per train.
    init?(device: DeviceAddress, series: Series) {
        let trains = series.trains
        let p = 4 + trains.count
        var theta = [Double](repeating: 0, count: p)
        // Starting values: lagged regressions within trains (G_{n+L} = a + b·G_n, b = (1 − r)^(kL)).
        let all = trains.flatMap(\.readings)
        let gHi = all.max()!, gLo = all.min()!, span = max(gHi - gLo, 1e-12)
        func initial(_ polarity: Int8) -> (bound: Double, rate: Double) {
            var xs: [Double] = [], ys: [Double] = []
            var kl = 1
            for t in trains where t.polarity == polarity {
                let lag = max(1, t.readings.count / 8)
                kl = lag * t.pulsesPerStep
                for i in 0..<(t.readings.count - lag) { xs.append(t.readings[i]); ys.append(t.readings[i + lag]) }
            }
            let mx = mean(xs), my = mean(ys)
            var sxy = 0.0, sxx = 0.0
            for (x, y) in zip(xs, ys) { sxy += (x - mx) * (y - my); sxx += (x - mx) * (x - mx) }
            let b = sxx > 0 ? sxy / sxx : 0.5
            let steps = Double(trains.first { $0.polarity == polarity }.map { $0.readings.count * $0.pulsesPerStep } ?? 100)
            guard b > 0.01, b < 0.999 else { return (polarity > 0 ? gHi + 0.05 * span : gLo - 0.05 * span, 2 / steps) }
            let a = my - b * mx
            let bound = a / (1 - b)
            let rate = 1 - pow(b, 1 / Double(kl))
            guard bound.isFinite, rate > 0, rate < 1, abs(bound - (polarity > 0 ? gHi : gLo)) < 2 * span else {
                return (polarity > 0 ? gHi + 0.05 * span : gLo - 0.05 * span, 2 / steps)
            }
            return (bound, rate)
        }
        let upInit = initial(1), downInit = initial(-1)
        theta[0] = max(upInit.bound, gHi - 0.01 * span)
        theta[1] = min(downInit.bound, gLo + 0.01 * span)
        theta[2] = log(upInit.rate)
        theta[3] = log(downInit.rate)
        var previous = series.before ?? trains[0].readings[0]
        for (j, t) in trains.enumerated() {
            theta[4 + j] = previous
            previous = t.readings.last!
        }
        let n = all.count
        func evaluate(_ th: [Double], jacobian: Bool) -> (residuals: [Double], j: [Double])? {
            let top = th[0], bottom = th[1], ru = exp(th[2]), rd = exp(th[3])
            guard top > bottom, ru > 0, ru < 1, rd > 0, rd < 1 else { return nil }
            var res = [Double](repeating: 0, count: n)
            var jac = jacobian ? [Double](repeating: 0, count: n * p) : []
            var i = 0
            for (jt, t) in trains.enumerated() {
                let start = th[4 + jt]
                let up = t.polarity > 0
                let r = up ? ru : rd
                let q = 1 - r
                let qk = pow(q, Double(t.pulsesPerStep))
                var Q = 1.0
                for (s, y) in t.readings.enumerated() {
                    let m = Double((s + 1) * t.pulsesPerStep)
                    Q *= qk
                    let g = up ? top - (top - start) * Q : bottom + (start - bottom) * Q
                    res[i] = y - g
                    if jacobian {
                        let dQdRho = -m * Q / q * r
                        if up {
                            jac[i * p + 0] = 1 - Q
                            jac[i * p + 2] = -(top - start) * dQdRho
                        } else {
                            jac[i * p + 1] = 1 - Q
                            jac[i * p + 3] = (start - bottom) * dQdRho
                        }
                        jac[i * p + 4 + jt] = Q
                    }
                    i += 1
                }
            }
            return (res, jac)
        }
        guard var current = evaluate(theta, jacobian: true) else { return nil }
        var sse = current.residuals.reduce(0) { $0 + $1 * $1 }
        var lambda = 1e-3
        var converged = false
        for _ in 0..<200 {
            let (a, g) = normalEquations(current.j, current.residuals, n: n, p: p)
            var damped = a
            for k in 0..<p { damped[k * p + k] += lambda * max(a[k * p + k], 1e-300) }
            guard let delta = solve(damped, g, p: p) else { lambda *= 10; continue }
            let trial = zip(theta, delta).map { $0 + $1 }
            if let e = evaluate(trial, jacobian: true) {
                let s = e.residuals.reduce(0) { $0 + $1 * $1 }
                if s <= sse {
                    let improvement = (sse - s) / max(sse, 1e-300)
                    theta = trial
                    current = e
                    sse = s
                    lambda = max(lambda / 3, 1e-12)
                    if improvement < 1e-12 { converged = true; break }
                    continue
                }
            }
            lambda *= 4
            if lambda > 1e12 { converged = true; break }
        }
        guard converged || sse.isFinite else { return nil }
        let (a, _) = normalEquations(current.j, current.residuals, n: n, p: p)
        guard let inv = invert(a, p: p) else { return nil }
        // The walk: per pulse, variance (r·distance to the bound)² per unit c², decaying by (1 − r)².
        let top = theta[0], bottom = theta[1], ru = exp(theta[2]), rd = exp(theta[3])
        var jsj = [Double](repeating: 0, count: p * p)
        var traceSigma = 0.0
        var row = 0
        for (jt, t) in trains.enumerated() {
            let up = t.polarity > 0
            let r = up ? ru : rd
            let q = 1 - r
            let pulses = t.readings.count * t.pulsesPerStep
            // Deterministic path at every pulse; increments' variance v_m.
            var v = [Double](repeating: 0, count: pulses + 1)
            var g = theta[4 + jt]
            var variance = 0.0
            for m in 1...pulses {
                let step = up ? r * (top - g) : r * (g - bottom)
                v[m] = step * step
                g += up ? step : -step
                variance = q * q * variance + v[m]
                if m % t.pulsesPerStep == 0 { traceSigma += variance }
            }
            // z_l = Σ_{readings at pulse ≥ l} q^(pulse − l) J_reading, backwards.
            var z = [Double](repeating: 0, count: p)
            for l in stride(from: pulses, through: 1, by: -1) {
                for k in 0..<p { z[k] *= q }
                if l % t.pulsesPerStep == 0 {
                    let reading = row + l / t.pulsesPerStep - 1
                    for k in 0..<p { z[k] += current.j[reading * p + k] }
                }
                for a in 0..<p where z[a] != 0 {
                    for b in 0..<p { jsj[a * p + b] += v[l] * z[a] * z[b] }
                }
            }
            row += t.readings.count
        }
        var absorbed = 0.0
        for a in 0..<p { for b in 0..<p { absorbed += inv[a * p + b] * jsj[b * p + a] } }
        self.n = n
        self.p = p
        self.sse = sse
        residuals = current.residuals
        var bins: [Int] = []
        let perPolarity = SoftBoundsFit.lackOfFitBins
        for t in trains {
            for s in 0..<t.readings.count {
                bins.append((t.polarity > 0 ? 0 : perPolarity) + min(perPolarity - 1, s * perPolarity / t.readings.count))
            }
        }
        self.bins = bins
        readings = trains.flatMap(\.readings)
        inverse = inv
        self.jsj = jsj
        walkTrace = max(traceSigma - absorbed, 0)
        result = DeviceFit(
            device: device, top: top, bottom: bottom, rateUp: ru, rateDown: rd, starts: Array(theta[4...]), covariance: [],
            points: n, residualRMS: (sse / Double(n)).squareRoot(), reducedChiSquare: 0)
    }

    /// Covariance of (top, bottom, ln r⁺, ln r⁻): σ²(JᵀJ)⁻¹ + c²(JᵀJ)⁻¹JᵀΣJ(JᵀJ)⁻¹, row-major 4 × 4.
    func covariance(readVariance: Double, walkVariance: Double) -> [Double] {
        var out = [Double](repeating: 0, count: 16)
        for a in 0..<4 {
            for b in 0..<4 {
                var s = readVariance * inverse[a * p + b]
                var w = 0.0
                for i in 0..<p {
                    let ai = inverse[a * p + i]
                    if ai == 0 { continue }
                    for j in 0..<p { w += ai * jsj[i * p + j] * inverse[j * p + b] }
                }
                s += walkVariance * w
                out[a * 4 + b] = s
            }
        }
        return out
    }
}

// MARK: - Small linear algebra and statistics

/// JᵀJ and Jᵀr for an n × p Jacobian (row-major).
func normalEquations(_ j: [Double], _ r: [Double], n: Int, p: Int) -> ([Double], [Double]) {
    var a = [Double](repeating: 0, count: p * p)
    var g = [Double](repeating: 0, count: p)
    for i in 0..<n {
        let base = i * p
        for x in 0..<p {
            let jx = j[base + x]
            if jx == 0 { continue }
            g[x] += jx * r[i]
            for y in x..<p { a[x * p + y] += jx * j[base + y] }
        }
    }
    for x in 0..<p { for y in 0..<x { a[x * p + y] = a[y * p + x] } }
    return (a, g)
}

/// Solves a·x = b (p × p, Gaussian elimination with partial pivoting); nil when singular.
func solve(_ a: [Double], _ b: [Double], p: Int) -> [Double]? {
    var m = a, x = b
    for c in 0..<p {
        var pivot = c
        for r in (c + 1)..<max(p, c + 1) where abs(m[r * p + c]) > abs(m[pivot * p + c]) { pivot = r }
        guard abs(m[pivot * p + c]) > 1e-300 else { return nil }
        if pivot != c {
            for k in 0..<p { m.swapAt(c * p + k, pivot * p + k) }
            x.swapAt(c, pivot)
        }
        for r in (c + 1)..<max(p, c + 1) {
            let f = m[r * p + c] / m[c * p + c]
            if f == 0 { continue }
            for k in c..<p { m[r * p + k] -= f * m[c * p + k] }
            x[r] -= f * x[c]
        }
    }
    for c in stride(from: p - 1, through: 0, by: -1) {
        var s = x[c]
        for k in (c + 1)..<max(p, c + 1) { s -= m[c * p + k] * x[k] }
        x[c] = s / m[c * p + c]
    }
    return x.allSatisfy(\.isFinite) ? x : nil
}

/// The inverse of a p × p matrix, or nil when singular.
func invert(_ a: [Double], p: Int) -> [Double]? {
    var out = [Double](repeating: 0, count: p * p)
    for c in 0..<p {
        var e = [Double](repeating: 0, count: p)
        e[c] = 1
        guard let col = solve(a, e, p: p) else { return nil }
        for r in 0..<p { out[r * p + c] = col[r] }
    }
    return out
}

/// xᵀ·C·y for a 4 × 4 C.
func quadratic(_ x: [Double], _ c: [Double], _ y: [Double]) -> Double {
    var s = 0.0
    for a in 0..<4 { for b in 0..<4 { s += x[a] * c[a * 4 + b] * y[b] } }
    return s
}

func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }

/// Sample variance (n − 1).
func variance(_ v: [Double]) -> Double {
    guard v.count > 1 else { return 0 }
    let m = mean(v)
    return v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
}

func standardDeviation(_ v: [Double]) -> Double { variance(v).squareRoot() }

/// Linear-interpolated quantile of sorted values.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let x = q * Double(sorted.count - 1)
    let i = Int(x.rounded(.down)), f = x - Double(i)
    return i + 1 < sorted.count ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i]
}

/// SplitMix64, for the bootstrap's resampling (fixed seed: a fit is reproducible).
struct SplitMixRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
