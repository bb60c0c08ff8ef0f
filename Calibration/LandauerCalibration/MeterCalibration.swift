import LandauerFirmware

/// A reference load as its certificate states it: a resistance with its standard uncertainty.
public struct ReferenceLoad: Sendable, Equatable, Codable {
    /// A short name, e.g. "R3".
    public var name: String
    /// The certified resistance; nil for an open circuit.
    public var resistance: Ohms?
    /// Standard uncertainty of the resistance (certificate value divided by its coverage factor).
    public var standardUncertainty: Ohms

    /// A load.
    public init(name: String, resistance: Ohms?, standardUncertainty: Ohms) {
        self.name = name
        self.resistance = resistance
        self.standardUncertainty = standardUncertainty
    }

    /// An open circuit: no current, no uncertainty (it measures the offset).
    public static let open = ReferenceLoad(name: "open", resistance: nil, standardUncertainty: .zero)

    /// True for the open position.
    public var isOpen: Bool { resistance == nil }
}

/// What the meter read while one reference load was connected, on one range.
public struct CalibrationObservation: Sendable, Equatable, Codable {
    /// The load.
    public var load: ReferenceLoad
    /// The meter range the samples were taken on.
    public var range: Int
    /// Mean raw reading (amperes, as the meter reports with its own calibration).
    public var mean: Amperes
    /// Standard deviation of the raw samples.
    public var standardDeviation: Amperes
    /// Number of samples.
    public var count: Int

    /// An observation.
    public init(load: ReferenceLoad, range: Int, mean: Amperes, standardDeviation: Amperes, count: Int) {
        self.load = load
        self.range = range
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.count = count
    }

    /// Summarises raw samples (all taken on `range`).
    public init(load: ReferenceLoad, range: Int, samples: [Double]) {
        let n = Double(samples.count)
        let mean = samples.reduce(0, +) / max(n, 1)
        var ss = 0.0
        for s in samples { ss += (s - mean) * (s - mean) }
        self.init(load: load, range: range, mean: Amperes(mean), standardDeviation: Amperes(n > 1 ? (ss / (n - 1)).squareRoot() : 0), count: samples.count)
    }

    /// The current the load draws at `voltage`: V/R (zero when open).
    public func referenceCurrent(at voltage: Volts) -> Amperes { load.resistance.map { Amperes(voltage.value / $0.value) } ?? .zero }
}

/// The straight line that maps true current to the meter's raw reading on one range,
/// raw = gain·true + offset, fitted by weighted least squares to reference-load observations.
///
/// Two covariance matrices of (gain, offset) are kept apart: one from the scatter of the
/// readings (type A) and one from the reference loads' certificates and the reference voltage
/// (type B), so a budget can name both.
public struct RangeCalibration: Sendable, Equatable, Codable {
    /// The range.
    public var range: Int
    /// Fitted gain (dimensionless).
    public var gain: Double
    /// Fitted offset, in amperes of raw reading.
    public var offset: Amperes
    /// Type A covariance [var g, cov(g,o), var o] (o in amperes).
    public var covarianceA: [Double]
    /// Type B covariance [var g, cov(g,o), var o] from the references.
    public var covarianceB: [Double]
    /// Pooled standard deviation of single raw samples on this range (the meter's noise).
    public var sampleNoise: Amperes
    /// Reduced χ² of the fit (≈ 1 when the line and the noise explain the readings; nil with two points).
    public var reducedChiSquare: Double?
    /// Number of reference points.
    public var points: Int

    /// A fit from its parts (a record read back, a worked example).
    public init(
        range: Int, gain: Double, offset: Amperes, covarianceA: [Double], covarianceB: [Double], sampleNoise: Amperes,
        reducedChiSquare: Double?, points: Int
    ) {
        self.range = range
        self.gain = gain
        self.offset = offset
        self.covarianceA = covarianceA
        self.covarianceB = covarianceB
        self.sampleNoise = sampleNoise
        self.reducedChiSquare = reducedChiSquare
        self.points = points
    }

    /// The true current for a raw reading: (raw − offset)/gain.
    @inlinable public func corrected(_ raw: Amperes) -> Amperes { Amperes((raw.value - offset.value) / gain) }
}

/// Why a set of observations cannot calibrate a range.
public enum CalibrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer than two distinct reference currents on a range.
    case tooFewPoints(range: Int, points: Int)
    /// An observation is unusable (no samples, non-finite values).
    case badObservation(range: Int, load: String, reason: String)
    /// The readings do not follow the reference currents (a load not connected, the wrong range).
    case implausible(range: Int, gain: Double)
    /// A record cannot be used as asked.
    case invalid(String)

    public var description: String {
        switch self {
        case .tooFewPoints(let r, let n):
            "range \(r): \(n) distinct reference current(s); a gain and an offset need at least two (add a load whose current falls in this range)"
        case .badObservation(let r, let load, let reason): "range \(r), load \(load): \(reason)"
        case .implausible(let r, let g):
            "range \(r): the readings do not follow the reference loads (fitted gain \(SignificantDigits.format(g, digits: 3)), expected near 1); was each load connected when asked?"
        case .invalid(let why): why
        }
    }
}

extension RangeCalibration {
    /// Fits raw = gain·true + offset on one range.
    ///
    /// Weights are 1/s², s = standard error of each mean (noise/√n; never below a tenth of the
    /// pooled noise/√n, so a silent meter does not get infinite weight). The type B covariance
    /// propagates each reference current's relative uncertainty — its resistor's, plus the
    /// reference voltage's `voltageRelativeUncertainty`, common to all points — through the
    /// least-squares solution by its exact linear sensitivities.
    public static func fit(
        range: Int, observations: [CalibrationObservation], voltage: Volts, voltageRelativeUncertainty: Double
    ) throws(CalibrationError) -> RangeCalibration {
        for o in observations {
            guard o.count > 0 else { throw .badObservation(range: range, load: o.load.name, reason: "no samples") }
            guard o.mean.isFinite, o.standardDeviation.isFinite else {
                throw .badObservation(range: range, load: o.load.name, reason: "non-finite reading")
            }
        }
        let x = observations.map { $0.referenceCurrent(at: voltage).value }
        let distinct = Set(x.map { ($0 * 1e15).rounded() }).count
        guard distinct >= 2 else { throw .tooFewPoints(range: range, points: distinct) }
        let y = observations.map(\.mean.value)
        // Pooled single-sample noise.
        var ss = 0.0
        var dof = 0.0
        for o in observations where o.count > 1 {
            ss += o.standardDeviation.value * o.standardDeviation.value * Double(o.count - 1)
            dof += Double(o.count - 1)
        }
        let pooled = dof > 0 ? (ss / dof).squareRoot() : 0
        let s = observations.map { o -> Double in
            let n = Double(o.count)
            let own = o.standardDeviation.value / n.squareRoot()
            let floor = 0.1 * pooled / n.squareRoot()
            return max(own, floor, 1e-18)
        }
        let uxRel = observations.map { o in o.load.resistance.map { o.load.standardUncertainty.value / $0.value } ?? 0 }
        /// Weighted least squares for fixed weights: the estimates are linear in y, θ = M·y.
        func solve(_ x: [Double], _ w: [Double]) -> (g: Double, o: Double, mg: [Double], mo: [Double]) {
            var sw = 0.0, sx = 0.0, sxx = 0.0
            for k in 0..<x.count { sw += w[k]; sx += w[k] * x[k]; sxx += w[k] * x[k] * x[k] }
            let det = sw * sxx - sx * sx
            let mg = (0..<x.count).map { w[$0] * (sw * x[$0] - sx) / det }
            let mo = (0..<x.count).map { w[$0] * (sxx - sx * x[$0]) / det }
            var g = 0.0, o = 0.0
            for k in 0..<x.count { g += mg[k] * y[k]; o += mo[k] * y[k] }
            return (g, o, mg, mo)
        }
        // Effective variances (noise, and each reference's own error through the slope), from a
        // first pass with noise weights only; the second pass gives the estimates.
        let first = solve(x, s.map { 1 / ($0 * $0) })
        let variance = (0..<x.count).map { k in s[k] * s[k] + (first.g * x[k] * uxRel[k]) * (first.g * x[k] * uxRel[k]) }
        let w = variance.map { 1 / $0 }
        let (g, o, mg, mo) = solve(x, w)
        // Type A: the readings' noise through M.
        var covA = [0.0, 0.0, 0.0]
        for k in 0..<x.count {
            covA[0] += mg[k] * mg[k] * s[k] * s[k]
            covA[1] += mg[k] * mo[k] * s[k] * s[k]
            covA[2] += mo[k] * mo[k] * s[k] * s[k]
        }
        // Type B: d(g, o)/d x_k by central differences at fixed weights (the solution is smooth in x).
        var covB = [0.0, 0.0, 0.0]
        var common = (dg: 0.0, do_: 0.0)  // the reference voltage moves every x together
        for k in 0..<x.count where x[k] != 0 {
            let h = abs(x[k]) * 1e-6
            var up = x, down = x
            up[k] += h
            down[k] -= h
            let a = solve(up, w), b = solve(down, w)
            let dg = (a.g - b.g) / (2 * h), dO = (a.o - b.o) / (2 * h)
            let ux = abs(x[k]) * uxRel[k]
            covB[0] += dg * dg * ux * ux
            covB[1] += dg * dO * ux * ux
            covB[2] += dO * dO * ux * ux
            common.dg += dg * x[k]
            common.do_ += dO * x[k]
        }
        let uv = voltageRelativeUncertainty
        covB[0] += common.dg * common.dg * uv * uv
        covB[1] += common.dg * common.do_ * uv * uv
        covB[2] += common.do_ * common.do_ * uv * uv
        guard g.isFinite, g > 0.5, g < 2 else { throw .implausible(range: range, gain: g) }
        // χ² against everything that makes points leave a straight line: their noise and their
        // references' own errors.
        var chi: Double?
        if x.count > 2 {
            var c = 0.0
            for k in 0..<x.count {
                let r = y[k] - (g * x[k] + o)
                c += r * r * w[k]
            }
            chi = c / Double(x.count - 2)
        }
        // When the points scatter about the line more than noise and references explain (the
        // meter is not quite linear), the covariances are scaled by the reduced χ² (Birge
        // ratio²), so the misfit is in the budget rather than hidden.
        let birge = max(1, chi ?? 1)
        return RangeCalibration(
            range: range, gain: g, offset: Amperes(o), covarianceA: covA.map { $0 * birge }, covarianceB: covB.map { $0 * birge },
            sampleNoise: Amperes(pooled), reducedChiSquare: chi, points: x.count)
    }
}

/// Identity of an instrument, as it reports itself.
public struct InstrumentIdentity: Sendable, Equatable, Codable {
    /// Vendor, e.g. "Nordic Semiconductor".
    public var vendor: String
    /// Model, e.g. "PPK2".
    public var model: String
    /// Serial number, when known.
    public var serial: String?
    /// Firmware or hardware version, when known.
    public var firmware: String?

    /// An identity.
    public init(vendor: String, model: String, serial: String? = nil, firmware: String? = nil) {
        self.vendor = vendor
        self.model = model
        self.serial = serial
        self.firmware = firmware
    }

    /// "vendor model serial".
    public var summary: String { [vendor, model, serial].compactMap { $0 }.joined(separator: " ") }
}

/// A meter calibration: a versioned record with its date, due date, the instrument it belongs
/// to, how it was made, and a fit per range. Runs cite it by `id`.
public struct MeterCalibration: Sendable, Equatable, Codable {
    /// Format version of this record.
    public static let formatVersion = 1

    /// Unique id, e.g. "cal-20261124-0530-ppk2-C2F1".
    public var id: String
    /// Format version the record was written with.
    public var version: Int
    /// When the calibration was made (seconds since 1970-01-01 UTC).
    public var date: Seconds
    /// When it expires (seconds since 1970-01-01 UTC).
    public var due: Seconds
    /// The meter calibrated.
    public var instrument: InstrumentIdentity
    /// How it was made (procedure, loads, voltage, samples per point).
    public var method: String
    /// The reference voltage the loads were driven at.
    public var voltage: Volts
    /// Relative standard uncertainty of that voltage.
    public var voltageRelativeUncertainty: Double
    /// The fits, one per calibrated range.
    public var ranges: [RangeCalibration]
    /// Resolution (one ADC step) per range, in amperes, where the meter's description gives it.
    public var resolution: [Amperes]
    /// The observations the fits came from.
    public var observations: [CalibrationObservation]

    /// A record.
    public init(
        id: String, date: Seconds, due: Seconds, instrument: InstrumentIdentity, method: String, voltage: Volts,
        voltageRelativeUncertainty: Double, ranges: [RangeCalibration], resolution: [Amperes] = [],
        observations: [CalibrationObservation] = []
    ) {
        self.id = id
        self.version = MeterCalibration.formatVersion
        self.date = date
        self.due = due
        self.instrument = instrument
        self.method = method
        self.voltage = voltage
        self.voltageRelativeUncertainty = voltageRelativeUncertainty
        self.ranges = ranges
        self.resolution = resolution
        self.observations = observations
    }

    /// Fits every range that has observations.
    public static func fit(
        id: String, date: Seconds, validFor: Seconds, instrument: InstrumentIdentity, method: String, voltage: Volts,
        voltageRelativeUncertainty: Double, observations: [CalibrationObservation], resolution: [Amperes] = []
    ) throws(CalibrationError) -> MeterCalibration {
        let ranges = Set(observations.map(\.range)).sorted()
        var fits: [RangeCalibration] = []
        for r in ranges {
            fits.append(
                try RangeCalibration.fit(
                    range: r, observations: observations.filter { $0.range == r }, voltage: voltage,
                    voltageRelativeUncertainty: voltageRelativeUncertainty))
        }
        return MeterCalibration(
            id: id, date: date, due: date + validFor, instrument: instrument, method: method, voltage: voltage,
            voltageRelativeUncertainty: voltageRelativeUncertainty, ranges: fits, resolution: resolution,
            observations: observations)
    }

    /// The fit for `range`, if that range was calibrated.
    public func fit(forRange range: Int) -> RangeCalibration? { ranges.first { $0.range == range } }

    /// Warnings to show with a run measured at `time` by `instrument`: expired, another instrument.
    public func warnings(at time: Seconds, instrument other: InstrumentIdentity?) -> [String] {
        var w: [String] = []
        if time > due { w.append("calibration \(id) expired \(Self.days(time - due)) days ago; recalibrate with `landauer calibrate`") }
        if let other, other.serial != nil, instrument.serial != nil, other.serial != instrument.serial || other.model != instrument.model {
            w.append("calibration \(id) belongs to \(instrument.summary), not to \(other.summary)")
        }
        return w
    }

    static func days(_ s: Seconds) -> Int { Int((s.value / 86_400).rounded(.down)) }
}
