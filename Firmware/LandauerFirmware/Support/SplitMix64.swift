/// SplitMix64 (Steele, Lea & Flood 2014; constants as published by Vigna): a tiny, fast, seedable
/// 64-bit generator. The simulator expands seeds with it, fault injection and demos draw from it,
/// and it is small enough for the microcontroller.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The generator's whole state.
    public var state: UInt64

    /// Creates a generator whose first output is derived from `seed`.
    @inlinable public init(seed: UInt64) { self.state = seed }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// A uniform number in [0, 1) from the top 53 bits.
    @inlinable public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// SplitMix64's output function: a bijective 64-bit finaliser with good avalanche.
    @inlinable public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
