import LandauerFirmware

/// A query's answer: text, or an IEEE 488.2 definite-length binary block (`#<n><length><bytes>`).
public enum SCPIResponse: Sendable, Equatable {
    case text(String)
    case block([UInt8])

    /// The bytes on the wire (without the message terminator).
    public var bytes: [UInt8] {
        switch self {
        case .text(let t):
            return Array(t.utf8)
        case .block(let b):
            let length = String(b.count)
            return Array("#\(length.count)\(length)".utf8) + b
        }
    }
}

/// The behaviour of one virtual SCPI instrument: its identity and its commands.
public protocol SCPIModel: Sendable {
    /// The `*IDN?` answer: manufacturer, model, serial, firmware.
    var identity: String { get }
    /// `*RST`: back to the power-on settings.
    mutating func reset()
    /// Executes one command; returns the response text of a query (nil for a command), or an
    /// SCPI error for the queue. Unknown headers return -113.
    mutating func execute(_ command: SCPICommand) -> Result<SCPIResponse?, SCPIError>
}

/// A virtual SCPI instrument at the byte level: program messages in (lines ending in `\n`),
/// responses out, with the common commands and a real error queue.
///
/// It is what a TCP socket, a pseudo-terminal or a USBTMC endpoint carries; the servers only
/// move bytes. Several queries in one message are answered in one line, separated by ';'.
public struct SCPIDevice<Model: SCPIModel>: Sendable {
    /// The instrument's own behaviour.
    public var model: Model
    /// The error queue (`SYST:ERR?`).
    public var errors = SCPIErrorQueue()
    var pending: [UInt8] = []
    /// Longest line accepted, in bytes; a longer one is dropped with -223 "Too much data".
    public var maxLine = 1 << 20
    var overlong = false

    /// Creates a device around `model`.
    public init(model: Model) { self.model = model }

    /// Bytes from the host; returns the response bytes (possibly none).
    public mutating func receive(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            if b == 0x0A {
                if overlong {
                    errors.push(SCPIError(-223, "Too much data"))
                    overlong = false
                } else {
                    out += handle(line: String(decoding: pending, as: UTF8.self))
                }
                pending.removeAll(keepingCapacity: true)
            } else if !overlong {
                pending.append(b)
                if pending.count > maxLine {
                    overlong = true
                    pending.removeAll()
                }
            }
        }
        return out
    }

    /// Handles one program message (without its terminator).
    public mutating func handle(line: String) -> [UInt8] {
        let commands: [SCPICommand]
        switch SCPIParser.parse(line) {
        case .success(let c): commands = c
        case .failure(let e):
            errors.push(e)
            return []
        }
        var answers: [[UInt8]] = []
        func joined() -> [UInt8] {
            guard !answers.isEmpty else { return [] }
            var out: [UInt8] = []
            for (k, a) in answers.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ";")) }
                out += a
            }
            return out + [0x0A]
        }
        for c in commands {
            switch common(c) ?? model.execute(c) {
            case .success(let response?): answers.append(response.bytes)
            case .success(nil): break
            case .failure(let e):
                errors.push(e)
                // IEEE 488.2: the rest of the message is not executed after an error.
                return joined()
            }
        }
        return joined()
    }

    /// The commands every instrument shares.
    mutating func common(_ c: SCPICommand) -> Result<SCPIResponse?, SCPIError>? {
        switch (c.path.first ?? "", c.isQuery) {
        case ("*IDN", true): return .success(.text(model.identity))
        case ("*RST", false): model.reset(); return .success(nil)
        case ("*CLS", false): errors.clear(); return .success(nil)
        case ("*OPC", true): return .success(.text("1"))
        case ("*OPC", false), ("*WAI", false): return .success(nil)
        case ("*ESR", true): return .success(.text(errors.count > 0 ? "32" : "0"))
        default: break
        }
        if SCPIPattern("SYSTem:ERRor[:NEXT]").matches(c.path) && c.isQuery { return .success(.text(errors.pop().description)) }
        if SCPIPattern("SYSTem:ERRor:COUNt").matches(c.path) && c.isQuery { return .success(.text(String(errors.count))) }
        if c.isCommon { return .failure(SCPIError(-113, "Undefined header")) }
        return nil
    }
}

/// Parameter parsing shared by the virtual instruments.
enum SCPIValue {
    /// A number with an optional SI suffix or MIN/MAX/DEF keyword resolved by the caller.
    static func number(_ text: String) -> Double? {
        let t = text.uppercased()
        var factor = 1.0
        var body = Substring(t)
        for (suffix, f) in [("MA", 1e-3), ("UA", 1e-6), ("NA", 1e-9), ("MV", 1e-3), ("UV", 1e-6), ("MS", 1e-3), ("US", 1e-6), ("A", 1.0), ("V", 1.0), ("S", 1.0)] where body.hasSuffix(suffix) {
            if Double(body.dropLast(suffix.count)) != nil {
                factor = f
                body = body.dropLast(suffix.count)
                break
            }
        }
        return Double(body).map { $0 * factor }
    }

    /// ON/OFF/1/0.
    static func boolean(_ text: String) -> Bool? {
        switch text.uppercased() {
        case "ON", "1": true
        case "OFF", "0": false
        default: nil
        }
    }

    /// A channel list `(@1)` or `(@1,2)` or `(@1:3)`.
    static func channels(_ text: String) -> [Int]? {
        guard text.hasPrefix("(@"), text.hasSuffix(")") else { return nil }
        var out: [Int] = []
        for part in text.dropFirst(2).dropLast().split(separator: ",") {
            let bounds = part.split(separator: ":").map { Int($0.trimmingASCIIWhitespace()) }
            if bounds.count == 1, let a = bounds[0] { out.append(a) }
            else if bounds.count == 2, let a = bounds[0], let b = bounds[1], a <= b { out += Array(a...b) }
            else { return nil }
        }
        return out
    }

    /// A string parameter without its quotes.
    static func unquoted(_ text: String) -> String {
        if text.count >= 2, let f = text.first, f == "\"" || f == "'", text.last == f { return String(text.dropFirst().dropLast()) }
        return text
    }

    /// A value as instruments print it in ASCII: `+1.234567E-03`.
    static func format(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "+9.91E+37" : (x > 0 ? "+9.9E+37" : "-9.9E+37") }
        let s = SignificantDigits.format(abs(x), digits: 7)
        var mantissa = s, exponent = 0
        if let e = s.firstIndex(of: "e") {
            mantissa = String(s[..<e])
            exponent = Int(s[s.index(after: e)...]) ?? 0
        }
        // Normalise to one digit before the point.
        var m = Double(mantissa) ?? 0
        while m >= 10 { m /= 10; exponent += 1 }
        while m > 0 && m < 1 { m *= 10; exponent -= 1 }
        var digits = SignificantDigits.format(m, digits: 7)
        if !digits.contains(".") { digits += ".000000" }
        while digits.count < 8 { digits += "0" }
        let sign = x < 0 ? "-" : "+"
        let esign = exponent < 0 ? "-" : "+"
        let e = abs(exponent) < 10 ? "0\(abs(exponent))" : "\(abs(exponent))"
        return "\(sign)\(digits)E\(esign)\(e)"
    }
}
