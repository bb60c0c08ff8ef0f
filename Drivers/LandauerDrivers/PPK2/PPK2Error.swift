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
    /// Nothing (or not enough) arrived within `waited` during `operation` (e.g. "metadata",
    /// "sample stream") on `endpoint`.
    case timeout(endpoint: String, operation: String, waited: Duration)
    /// The link went away (unplugged, reset, the far end closed). The session kept every sample
    /// decoded before: `samplesReceived` of them, `samplesMissing` more lost in counter gaps.
    case disconnected(endpoint: String, reason: String, samplesReceived: UInt64, samplesMissing: UInt64)
    /// Any other failure of the transport underneath, as the transport reported it.
    case transport(TransportError)
    /// The call needs a state the session is not in (`expected`, while it is `actual`).
    case invalidState(operation: String, expected: String, actual: String)

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
        case .timeout(let endpoint, let operation, let waited):
            return "PPK2 on \(endpoint): no reply during \(operation) within \(waited); check that the device is a PPK2 and is powered"
        case .disconnected(let endpoint, let reason, let received, let missing):
            return "PPK2 on \(endpoint) disconnected (\(reason)) after \(received) samples (\(missing) lost in counter gaps); the samples so far are kept, reconnect to go on"
        case .transport(let e):
            return "PPK2 transport failed: \(e)"
        case .invalidState(let operation, let expected, let actual):
            return "PPK2 \(operation) needs the session \(expected), but it is \(actual)"
        }
    }
}
