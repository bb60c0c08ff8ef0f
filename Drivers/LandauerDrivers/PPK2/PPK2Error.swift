import LandauerFirmware

/// Why a PPK2 operation failed: one error type for the host-side PPK2 protocol, each case with
/// the context a person needs to act on it.
public enum PPK2Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// A regulator voltage outside what the PPK2 accepts (800…5000 mV); `requested` is what was
    /// asked (NaN or infinite values included).
    case regulatorOutOfRange(requested: Volts, allowedMillivolts: ClosedRange<Int>)
    /// A user gain for a range the PPK2 does not have (it has 0…4).
    case rangeOutOfBounds(range: Int)
    /// A user gain that is not a finite number.
    case invalidGain(range: Int, gain: Float)
    /// The metadata reply ended without its `END` line; `received` is the number of bytes seen and
    /// `tail` the last (up to 64) of them.
    case metadataIncomplete(received: Int, tail: [UInt8])

    /// A sentence a person can act on.
    public var description: String {
        switch self {
        case .regulatorOutOfRange(let v, let allowed):
            return "PPK2 regulator voltage \(v.value) V is outside \(allowed.lowerBound)…\(allowed.upperBound) mV; choose a supply voltage in that range"
        case .rangeOutOfBounds(let r):
            return "PPK2 measurement range \(r) does not exist; the PPK2 has ranges 0…4"
        case .invalidGain(let r, let g):
            return "PPK2 user gain \(g) for range \(r) is not a finite number"
        case .metadataIncomplete(let n, let tail):
            let text = String(decoding: tail.map { $0 >= 0x20 && $0 < 0x7F || $0 == 0x0A ? $0 : 0x3F }, as: UTF8.self)
            return "PPK2 metadata reply ended after \(n) bytes without its END line (last bytes: \"\(text)\"); read again or reset the device"
        }
    }
}
