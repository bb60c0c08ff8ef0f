import LandauerFirmware

/// How a virtual PPK2 is built: the calibration it reports, and the errors of its analog path
/// that no host knows (gain and offset per range, noise), plus its range-switching thresholds.
public struct VirtualPPK2Config: Sendable {
    /// The metadata it answers `GetMetadata` with (its factory calibration). `VDD`, `mode` and the
    /// user gains in the reply follow the commands received.
    public var metadata: PPK2Metadata
    /// Hidden gain error per range: the measured current is the true one times (1 + error).
    public var gainErrors: [Double]
    /// Hidden offset error per range, in 14-bit ADC counts, added before quantisation.
    public var offsetErrorCounts: [Double]
    /// Gaussian noise of the converter, in 14-bit ADC counts (standard deviation); 0 is silent.
    public var noiseCounts: Double
    /// Seed of the noise.
    public var seed: UInt64
    /// A range is left for the next one up when the current exceeds this fraction of its full scale.
    public var switchUpFraction: Double
    /// A range is left for the next one down when the current falls below this fraction of the
    /// lower range's full scale (below `switchUpFraction`: hysteresis).
    public var switchDownFraction: Double

    /// Creates a configuration; the defaults are a plausible calibrated unit.
    public init(
        metadata: PPK2Metadata = VirtualPPK2Config.factoryMetadata,
        gainErrors: [Double] = [0.0021, -0.0014, 0.0009, -0.0018, 0.0025],
        offsetErrorCounts: [Double] = [1.3, -0.8, 0.6, -1.1, 1.7],
        noiseCounts: Double = 1.5,
        seed: UInt64 = 0x5050_4B32,
        switchUpFraction: Double = 0.9,
        switchDownFraction: Double = 0.7
    ) {
        precondition(gainErrors.count == 5 && offsetErrorCounts.count == 5, "one gain and one offset error per range")
        precondition(noiseCounts >= 0 && noiseCounts.isFinite, "noise must be a finite, non-negative number of counts")
        precondition(switchDownFraction > 0 && switchDownFraction < switchUpFraction && switchUpFraction <= 1,
                     "range thresholds need 0 < down < up ≤ 1")
        self.metadata = metadata
        self.gainErrors = gainErrors
        self.offsetErrorCounts = offsetErrorCounts
        self.noiseCounts = noiseCounts
        self.seed = seed
        self.switchUpFraction = switchUpFraction
        self.switchDownFraction = switchDownFraction
    }

    /// The reference unit.
    public static let `default` = VirtualPPK2Config()

    /// A unit whose analog path is off by errors drawn from `seed`: per range a gain error uniform
    /// in ±`gainSpread` and an offset uniform in ±`offsetSpreadCounts` ADC counts, with `noiseCounts`
    /// of noise — what a calibration must find without being told.
    public static func withHiddenErrors(
        seed: UInt64, gainSpread: Double = 0.03, offsetSpreadCounts: Double = 20, noiseCounts: Double = 3
    ) -> VirtualPPK2Config {
        var random = SimulationRandom(seed: seed, stream: 0x4D45_5445_52)
        let gains = (0..<5).map { _ in gainSpread * (2 * random.uniform() - 1) }
        let offsets = (0..<5).map { _ in offsetSpreadCounts * (2 * random.uniform() - 1) }
        return VirtualPPK2Config(gainErrors: gains, offsetErrorCounts: offsets, noiseCounts: noiseCounts, seed: random.next())
    }

    /// An ideal meter: its reported calibration is exact, no gain or offset error, no noise (only
    /// quantisation remains).
    public static let ideal = VirtualPPK2Config(gainErrors: [0, 0, 0, 0, 0], offsetErrorCounts: [0, 0, 0, 0, 0], noiseCounts: 0)

    /// A plausible factory calibration: shunts within a percent of nominal, gains near one, small
    /// ADC offsets (values chosen to print exactly enough in `%.20f`).
    public static let factoryMetadata = PPK2Metadata(
        calibrated: 1,
        r: [1028.375, 101.2125, 10.1875, 0.9421875, 0.04296875],
        gs: [0.001953125, 0.0015625, 0.00125, 0.0009765625, 0.00078125],
        gi: [1.00125, 0.9990234375, 1.000732421875, 0.998779296875, 1.0015625],
        o: [46.25, 41.5, 37.75, 52.125, 60.5],
        vdd: 3000, hw: 9_173, mode: 2,
        s: [0, 0, 0, 0, 0],
        i: [0, 0, 0, 0, 0],
        ug: [1, 1, 1, 1, 1],
        ia: 56)
}
