// The Nordic Power Profiler Kit II's wire vocabulary, shared by the host driver and the virtual
// PPK2: the command opcodes, the power modes and the 4-byte sample word. The protocol is Nordic's
// (see docs and the reference notes); this file only names its pieces once.
//
// Embedded-Swift subset: no Foundation, no existentials.

/// A PPK2 command opcode: the first byte of every host → device command (no framing, no checksum).
public enum PPK2Opcode: UInt8, Sendable, CaseIterable {
    /// Starts the continuous sample stream. No payload.
    case averageStart = 0x06
    /// Stops the sample stream. No payload.
    case averageStop = 0x07
    /// Switches the DUT power on (1) or off (0). One payload byte.
    case deviceRunningSet = 0x0C
    /// Sets the regulator voltage: two payload bytes, millivolts, big-endian, 800…5000.
    case regulatorSet = 0x0D
    /// Chooses ampere-meter (1) or source-meter (2) mode. One payload byte.
    case setPowerMode = 0x11
    /// Asks for the metadata text (calibration), which ends with `END`. No payload.
    case getMetadata = 0x19
    /// Resets the device. No payload.
    case reset = 0x20
    /// Sets a user gain: range (u8), then the gain as float32 little-endian. Five payload bytes.
    case setUserGains = 0x25

    /// The number of payload bytes that follow the opcode.
    @inlinable public var payloadCount: Int {
        switch self {
        case .averageStart, .averageStop, .getMetadata, .reset: return 0
        case .deviceRunningSet, .setPowerMode: return 1
        case .regulatorSet: return 2
        case .setUserGains: return 5
        }
    }
}

/// The PPK2's power mode, the payload of `SetPowerMode`.
public enum PPK2PowerMode: UInt8, Sendable, CaseIterable {
    /// Ampere meter: the DUT is powered from outside, the PPK2 measures the current through it.
    case ampereMeter = 1
    /// Source meter: the PPK2 supplies the DUT at its regulator voltage and measures the current.
    case sourceMeter = 2
}

/// One PPK2 sample word as it travels on the wire (4 bytes, little-endian).
///
/// ```
/// bits 31..24  logic inputs D0..D7 (bit n = channel n)
/// bits 23..18  6-bit counter, +1 per sample, wraps 63 → 0
/// bit  17      unused
/// bits 16..14  measurement range 0..4
/// bits 13..0   14-bit ADC value
/// ```
/// Example: ADC 5000, range 2, counter 5, logic 0xAA → `0xAA149388` → bytes `88 93 14 AA`.
public struct PPK2Sample: Hashable, Sendable {
    /// The raw 32-bit word.
    public var word: UInt32

    /// Wraps a raw word.
    @inlinable public init(word: UInt32) { self.word = word }

    /// Builds a word from its fields; each field is masked to its width.
    @inlinable public init(adc: UInt16, range: UInt8, counter: UInt8, logic: UInt8) {
        word = UInt32(adc) & PPK2Sample.adcMask
            | (UInt32(range) & 0x7) << PPK2Sample.rangeShift
            | (UInt32(counter) & PPK2Sample.counterMask) << PPK2Sample.counterShift
            | UInt32(logic) << PPK2Sample.logicShift
    }

    /// Reads a word from the first four bytes of `bytes` (little-endian).
    @inlinable public init(bytes b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        word = UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24
    }

    /// The 14-bit ADC value (bits 13…0).
    @inlinable public var adc: UInt16 { UInt16(truncatingIfNeeded: word & PPK2Sample.adcMask) }
    /// The measurement range (bits 16…14); 0…4 on a working device.
    @inlinable public var range: UInt8 { UInt8(truncatingIfNeeded: (word >> PPK2Sample.rangeShift) & 0x7) }
    /// The 6-bit sample counter (bits 23…18).
    @inlinable public var counter: UInt8 {
        UInt8(truncatingIfNeeded: (word >> PPK2Sample.counterShift) & PPK2Sample.counterMask)
    }
    /// The eight logic inputs D0…D7 (bits 31…24, bit n = channel n).
    @inlinable public var logic: UInt8 { UInt8(truncatingIfNeeded: word >> PPK2Sample.logicShift) }

    /// The four wire bytes, least significant first.
    @inlinable public var bytes: (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(truncatingIfNeeded: word), UInt8(truncatingIfNeeded: word >> 8),
         UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 24))
    }

    /// Appends the four wire bytes to `out`.
    @inlinable public func append(to out: inout [UInt8]) {
        let b = bytes
        out.append(b.0)
        out.append(b.1)
        out.append(b.2)
        out.append(b.3)
    }

    /// Bytes per sample on the wire.
    public static let byteCount = 4
    /// Samples per second of the stream (10 µs per sample).
    public static let samplesPerSecond = 100_000
    /// The sample period in nanoseconds.
    public static let periodNanoseconds: UInt64 = 10_000
    /// The largest ADC value (14 bits).
    public static let adcMax: UInt16 = 0x3FFF
    /// The number of measurement ranges (0…4).
    public static let rangeCount = 5
    /// The counter's modulus: it wraps 63 → 0.
    public static let counterModulus = 64
    /// Mask of the ADC field.
    public static let adcMask: UInt32 = 0x3FFF
    /// Position of the range field.
    public static let rangeShift: UInt32 = 14
    /// Position of the counter field.
    public static let counterShift: UInt32 = 18
    /// Mask of the counter field after shifting.
    public static let counterMask: UInt32 = 0x3F
    /// Position of the logic field.
    public static let logicShift: UInt32 = 24
    /// The converter scale of the raw → current formula: volts per unit of `4 · ADC` (1.8 / 163840).
    public static let adcVoltsPerCount = 1.8 / 163_840
}
