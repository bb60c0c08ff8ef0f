import LandauerFirmware

/// A switchable bank of reference resistors for calibrating a meter, as a lab builds one from
/// precision resistors with calibration certificates and a relay per position.
///
/// Each load has a nominal value (what is printed on it), a certified value with its standard
/// uncertainty (what its certificate says), and an actual value that only the simulation knows:
/// drawn once, by the bank's seed, from a normal distribution around the certified value with the
/// certified uncertainty — which is what a certificate claims. Position `nil` connects the device
/// under test (the board) instead of a load; `open` connects nothing (zero current: the offset).
public struct ReferenceLoadBank: Sendable {
    /// One position of the bank.
    public struct Load: Sendable, Equatable {
        /// Its label, e.g. "R5".
        public var name: String
        /// The value printed on it.
        public var nominal: Ohms
        /// The certified value.
        public var certified: Ohms
        /// The certificate's standard uncertainty.
        public var standardUncertainty: Ohms
        /// The value the simulation uses (hidden from any host).
        public var actual: Ohms
    }

    /// The loads, in position order.
    public let loads: [Load]
    /// The voltage the loads are driven at (the meter's source voltage).
    public let voltage: Volts

    /// A bank of `nominals` with certificates of relative standard uncertainty `certifiedRelative`
    /// and values within `tolerance` of nominal.
    public init(nominals: [Ohms], voltage: Volts, tolerance: Double = 0.01, certifiedRelative: Double = 2e-4, seed: UInt64 = 0x4C_4F_41_44) {
        var random = SimulationRandom(seed: seed, stream: 0x4C4F_4144)
        self.voltage = voltage
        loads = nominals.enumerated().map { k, r in
            let certified = r * (1 + tolerance * (2 * random.uniform() - 1))
            let u = certified * certifiedRelative
            let actual = certified + u * random.gaussian()
            return Load(name: "R\(k + 1)", nominal: r, certified: certified, standardUncertainty: u, actual: actual)
        }
    }

    /// The current load `index` draws: V/R_actual (the truth).
    public func current(ofLoad index: Int) -> Amperes { Amperes(voltage.value / loads[index].actual.value) }

    /// E24-series values covering a PPK2's ranges 0–3 at 3.3 V with three points per range (the
    /// open position adds the zero of range 0): about 0.1, 0.5, 1, 3.3, 5.9, 10, 33, 59, 100, 330
    /// and 590 mA.
    public static let ppk2Nominals: [Ohms] = [33_000, 6_800, 3_300, 1_000, 560, 330, 100, 56, 33, 10, 5.6].map { Ohms($0) }
}
