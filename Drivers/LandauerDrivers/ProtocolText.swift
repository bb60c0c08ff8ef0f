import LandauerFirmware

/// Human-readable names and sentences for the wire protocol's values, used in error messages
/// and event logs.
enum ProtocolText {
    /// The request's name as the protocol document writes it, e.g. "PROGRAM PULSES".
    static func name(_ opcode: Opcode) -> String {
        switch opcode {
        case .hello: "HELLO"
        case .ping: "PING"
        case .readConductance: "READ CONDUCTANCE"
        case .matrixVector: "MATRIX VECTOR"
        case .matrixVectorTransposed: "MATRIX VECTOR TRANSPOSED"
        case .programPulses: "PROGRAM PULSES"
        case .outerProduct: "OUTER PRODUCT"
        case .setLimits: "SET LIMITS"
        case .marker: "MARKER"
        case .temperature: "TEMPERATURE"
        case .counters: "COUNTERS"
        case .reset: "RESET"
        case .sweep: "SINGLE-CELL SWEEP"
        }
    }

    /// The name of a request type byte, or its hex value when it names no request.
    static func name(opcodeByte b: UInt8) -> String {
        if let op = Opcode(rawValue: b) { return name(op) }
        return b == 0 ? "an unreadable request" : "request type \(hex(b))"
    }

    /// A frame type byte in hex, e.g. "0x86".
    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return "0x" + (s.count < 2 ? "0" + s : s)
    }

    /// A 32-bit value in hex.
    static func hex32(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: true) }

    /// What is wrong with a frame or message, in words.
    static func describe(_ e: ProtocolError) -> String {
        switch e {
        case .emptyFrame: "empty frame"
        case .cobsZeroByte(let offset): "COBS: 0x00 byte inside the frame at offset \(offset)"
        case .cobsOverrun(let offset): "COBS: code byte at offset \(offset) points past the end of the frame"
        case .frameTooLong(let size, let limit): "frame of \(size) bytes is longer than the limit of \(limit)"
        case .frameTooShort(let size): "frame of \(size) bytes is shorter than a header and checksum"
        case .lengthMismatch(let declared, let actual): "length field says \(declared) body bytes, frame holds \(actual)"
        case .checksumMismatch(let received, let computed):
            "CRC mismatch: frame carries \(hex32(received)), bytes give \(hex32(computed))"
        case .unsupportedVersion(let v): "protocol version \(v) is not supported (this host speaks \(ProtocolVersion.current))"
        case .unknownType(let t): "unknown frame type \(hex(t))"
        case .truncatedBody(let t, let offset): "body of type \(hex(t)) ends before the field at offset \(offset)"
        case .trailingBytes(let t, let offset): "body of type \(hex(t)) has extra bytes from offset \(offset)"
        case .invalidField(let t, let offset): "body of type \(hex(t)) has an invalid field at offset \(offset)"
        }
    }

    /// The refusal as a sentence, e.g. "PROGRAM PULSES item 3: voltage 5.0 V exceeds limit 3.0 V".
    static func describe(_ e: ErrorResponse) -> String {
        let op = Opcode(rawValue: e.opcode)
        var subject = name(opcodeByte: e.opcode)
        if let where_ = location(e, op) { subject += " " + where_ }
        return "\(subject): \(reason(e))"
    }

    /// Where in the request the fault lies, when the error code and opcode say.
    private static func location(_ e: ErrorResponse, _ op: Opcode?) -> String? {
        switch e.code {
        case .malformedBody: return "at body offset \(e.index)"
        case .limitAboveHardware: return nil
        case .badFrame, .unsupportedVersion, .unknownOpcode, .busy, .sequenceReused, .responseTooLarge,
            .pulseCountOutOfLimit:
            return nil
        default: break
        }
        switch op {
        case .programPulses: return "item \(e.index)"
        case .matrixVector, .matrixVectorTransposed: return e.code == .valueOutOfRange ? "vector \(e.index)" : nil
        case .outerProduct:
            if e.code == .valueOutOfRange { return "line \(e.index)" }
            if e.code == .geometryMismatch { return e.index == 0 ? "row signs" : "column signs" }
            return nil
        default: return e.index == 0 ? nil : "item \(e.index)"
        }
    }

    private static let limitFields = [
        "program voltage", "read voltage", "minimum pulse width", "maximum pulse width", "compliance current",
        "pulses per request",
    ]

    // Board-supplied numbers. An error response's `value` and `limit` are whatever binary32 the
    // board sent, NaN, ±∞ and 3.4e38 included, so every rendering below is total: no unchecked
    // integer conversion, nothing that can trap on a value from the wire.

    /// `v` as a number for every `Float`: "NaN", "∞" and "-∞" for non-finite values; digits for
    /// whole numbers below 10¹⁵ ("1000000"); otherwise the shortest form that reads back as `v`,
    /// with an exponent when it is large or small ("200.5", "1e+30", "1e-30").
    private static func number(_ v: Float) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-∞" : "∞" }
        // Checked before converting: below 10¹⁵ a whole Float converts to Int64 exactly, far from its bounds.
        if v.magnitude < 1e15 && v == v.rounded(.towardZero) { return String(Int64(v)) }
        return "\(v)"
    }

    /// A voltage as the protocol document writes it, "5.0 V"; see `number` for non-finite values.
    private static func volts(_ v: Float) -> String { v.isFinite ? "\(v) V" : "\(number(v)) V" }
    private static func nanoseconds(_ v: Float) -> String { "\(number(v)) ns" }

    /// A current with an SI prefix, "200 µA", inside the range the prefixes cover (yocto to tera);
    /// outside it, and for non-finite values, as `number` writes it, "1e+30 A".
    private static func amperes(_ v: Float) -> String {
        let m = v.magnitude
        guard m == 0 || (m >= 1e-24 && m < 1e15) else { return "\(number(v)) A" }
        return Amperes(decimal(v)).formatted(significantDigits: 3)
    }

    /// The `Double` nearest the shortest decimal form of `v` (1e-4 rather than 9.99999974e-5), so
    /// values that crossed the wire as binary32 print as they were written.
    private static func decimal(_ v: Float) -> Double { Double("\(v)") ?? Double(v) }
    private static func count(_ v: Float) -> String { number(v) }

    private static func reason(_ e: ErrorResponse) -> String {
        switch e.code {
        case .badFrame: return "the board could not read the frame (COBS, length or CRC check failed)"
        case .unsupportedVersion:
            return "protocol version \(count(e.value)) is not supported (the board speaks \(count(e.limit)))"
        case .unknownOpcode: return "the board does not know this request"
        case .malformedBody: return "the body does not parse"
        case .voltageOutOfLimit:
            if e.value > e.limit { return "voltage \(volts(e.value)) exceeds limit \(volts(e.limit))" }
            return "voltage \(volts(e.value)) is outside the allowed range (0 V, \(volts(e.limit))]"
        case .pulseWidthOutOfLimit:
            if e.value.isNaN || e.limit.isNaN {  // neither below the minimum nor above the maximum
                return "pulse width \(nanoseconds(e.value)) is outside the limit \(nanoseconds(e.limit))"
            }
            if e.value < e.limit {
                return "pulse width \(nanoseconds(e.value)) is below the minimum \(nanoseconds(e.limit))"
            }
            return "pulse width \(nanoseconds(e.value)) exceeds the maximum \(nanoseconds(e.limit))"
        case .currentOutOfLimit: return "current \(amperes(e.value)) exceeds limit \(amperes(e.limit))"
        case .pulseCountOutOfLimit:
            return "\(count(e.value)) pulses exceed the limit of \(count(e.limit)) per request; split the request"
        case .addressOutOfRange: return "address out of range (value \(count(e.value)), limit \(count(e.limit)))"
        case .geometryMismatch: return "length \(count(e.value)) does not match the tile's \(count(e.limit))"
        case .busy: return "the board is busy; try again later"
        case .sequenceReused:
            return "sequence number \(count(e.value)) was already used for a different request still in the board's cache"
        case .valueOutOfRange: return "value \(count(e.value)) is outside ±\(count(e.limit))"
        case .limitAboveHardware:
            let field = Int(e.index) < limitFields.count ? limitFields[Int(e.index)] : "field \(e.index)"
            let text: (Float) -> String =
                switch e.index {
                case 0, 1: volts
                case 2, 3: nanoseconds
                case 4: amperes
                default: count
                }
            return "\(field) \(text(e.value)) is beyond the hardware's \(text(e.limit))"
        case .responseTooLarge:
            return "the answer would not fit in one frame (\(count(e.value)) items, at most \(count(e.limit))); split the batch"
        }
    }
}
