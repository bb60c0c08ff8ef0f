import LandauerFirmware

/// A host → PPK2 command, encoded as its opcode byte plus payload (no framing, no checksum).
///
/// ```
/// AverageStart      06
/// AverageStop       07
/// DeviceRunningSet  0C on(1)/off(0)
/// RegulatorSet      0D mV_hi mV_lo            (big-endian, 800…5000; 800 mV → 0D 03 20)
/// SetPowerMode      11 mode                   (1 ampere meter, 2 source meter)
/// GetMetadata       19
/// Reset             20
/// SetUserGains      25 range g0 g1 g2 g3      (float32 little-endian; 1.0, range 0 → 25 00 00 00 80 3F)
/// ```
public enum PPK2Command: Sendable, Equatable {
    /// Starts the 100 kS/s sample stream.
    case averageStart
    /// Stops the sample stream.
    case averageStop
    /// Switches the DUT power on or off.
    case deviceRunning(Bool)
    /// Sets the regulator (source-mode supply) voltage, rounded to the millivolt.
    case regulator(Volts)
    /// Chooses ampere-meter or source-meter mode.
    case powerMode(PPK2PowerMode)
    /// Asks for the metadata text.
    case getMetadata
    /// Resets the device.
    case reset
    /// Sets the user gain of a measurement range (0…4).
    case userGain(range: Int, gain: Float)

    /// The regulator voltages the PPK2 accepts, in millivolts.
    public static let regulatorMillivolts: ClosedRange<Int> = 800...5000

    /// The command's opcode.
    public var opcode: PPK2Opcode {
        switch self {
        case .averageStart: return .averageStart
        case .averageStop: return .averageStop
        case .deviceRunning: return .deviceRunningSet
        case .regulator: return .regulatorSet
        case .powerMode: return .setPowerMode
        case .getMetadata: return .getMetadata
        case .reset: return .reset
        case .userGain: return .setUserGains
        }
    }

    /// The command's bytes.
    /// - Throws: `.regulatorOutOfRange` for a voltage outside 800…5000 mV (or not finite),
    ///   `.rangeOutOfBounds` or `.invalidGain` for a bad user gain.
    public func encoded() throws(PPK2Error) -> [UInt8] {
        let op = opcode.rawValue
        switch self {
        case .averageStart, .averageStop, .getMetadata, .reset:
            return [op]
        case .deviceRunning(let on):
            return [op, on ? 1 : 0]
        case .regulator(let v):
            let mv = (v.value * 1000).rounded()
            guard mv.isFinite, mv >= Double(Self.regulatorMillivolts.lowerBound), mv <= Double(Self.regulatorMillivolts.upperBound) else {
                throw .regulatorOutOfRange(requested: v, allowedMillivolts: Self.regulatorMillivolts)
            }
            let m = UInt16(mv)
            return [op, UInt8(m >> 8), UInt8(m & 0xFF)]
        case .powerMode(let mode):
            return [op, mode.rawValue]
        case .userGain(let range, let gain):
            guard (0..<PPK2Sample.rangeCount).contains(range) else { throw .rangeOutOfBounds(range: range) }
            guard gain.isFinite else { throw .invalidGain(range: range, gain: gain) }
            let b = gain.bitPattern
            return [op, UInt8(range), UInt8(truncatingIfNeeded: b), UInt8(truncatingIfNeeded: b >> 8),
                    UInt8(truncatingIfNeeded: b >> 16), UInt8(truncatingIfNeeded: b >> 24)]
        }
    }
}
