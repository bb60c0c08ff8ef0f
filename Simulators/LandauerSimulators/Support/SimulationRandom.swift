import LandauerFirmware

/// The simulator's seeded random source: xoshiro256** (Blackman & Vigna 2018), seeded through
/// SplitMix64, with uniform and Gaussian variates.
///
/// The same seed always yields the same bit stream, on every platform, so a simulation is
/// reproducible. Independent streams for different purposes (device variation of tile 0, read
/// noise of tile 1, …) are derived from one master seed with `init(seed:stream:)`, so adding
/// draws to one purpose never shifts the numbers another purpose sees.
public struct SimulationRandom: RandomNumberGenerator, Sendable, Equatable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64
    /// The second Gaussian of the last polar-method pair, waiting to be returned.
    @usableFromInline var spare: Double = 0
    @usableFromInline var hasSpare = false

    /// Creates a generator from a 64-bit seed (state filled by four SplitMix64 outputs).
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }  // the one forbidden state
    }

    /// Creates the generator of an independent child stream of `seed`, named by `labels`
    /// (for example purpose and tile index). Different label lists give unrelated streams.
    public init(seed: UInt64, stream labels: UInt64...) {
        self.init(seed: SimulationRandom.deriveSeed(seed, labels))
    }

    /// Creates a generator with an explicit xoshiro256** state (not all zero); for reference vectors.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state.0 | state.1 | state.2 | state.3 != 0, "xoshiro256** state must not be all zero")
        (s0, s1, s2, s3) = state
    }

    /// The seed of the child stream of `seed` named by `labels`.
    public static func deriveSeed(_ seed: UInt64, _ labels: [UInt64]) -> UInt64 {
        var h = SplitMix64.mix(seed &+ 0x6A09_E667_F3BC_C909)
        for label in labels {
            h = SplitMix64.mix(h ^ SplitMix64.mix(label &+ 0xBB67_AE85_84CA_A73B))
        }
        return h
    }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// The next 64 random bits (xoshiro256**).
    @inlinable public mutating func next() -> UInt64 {
        let result = SimulationRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SimulationRandom.rotl(s3, 45)
        return result
    }

    /// A uniform variate in [0, 1) with 53 random bits.
    @inlinable public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal variate (mean 0, variance 1), by Marsaglia's polar method; the second
    /// variate of each pair is kept and returned by the next call.
    @inlinable public mutating func gaussian() -> Double {
        if hasSpare {
            hasSpare = false
            return spare
        }
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let m = (-2 * LibM.ln(s) / s).squareRoot()
                spare = v * m
                hasSpare = true
                return u * m
            }
        }
    }

    /// A normal variate with the given mean and standard deviation.
    @inlinable public mutating func gaussian(mean: Double, standardDeviation: Double) -> Double {
        mean + standardDeviation * gaussian()
    }

    /// True with probability `p`.
    @inlinable public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }
}

/// The purposes that get their own random stream, so one purpose's draws never shift another's.
public enum RandomStreamPurpose: UInt64, Sendable, CaseIterable {
    /// Device-to-device parameter spreads, drawn once per tile.
    case deviceVariation = 1
    /// Which devices are stuck, and at which bound.
    case stuckDevices = 2
    /// Cycle-to-cycle noise of programming pulses.
    case programmingNoise = 3
    /// Read noise (thermal and extra) of matrix-vector and device reads.
    case readNoise = 4
    /// The temperature sensor's noise.
    case sensorNoise = 5
    /// Each fresh device's forming voltage, drawn once per tile when devices start unformed.
    case forming = 6
}

extension SimulationRandom {
    /// The stream for `purpose` (and tile `index` where the purpose is per tile) of master `seed`.
    public init(seed: UInt64, purpose: RandomStreamPurpose, index: Int = 0) {
        self.init(seed: seed, stream: purpose.rawValue, UInt64(truncatingIfNeeded: index))
    }
}
