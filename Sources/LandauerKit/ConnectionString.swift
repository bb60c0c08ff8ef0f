import LandauerFirmware

/// A parsed connection string: the scheme that picks the backend, a path or address, and options.
///
/// Forms: `sim`, `sim:?seed=7&device=exp-step`, `serial:/dev/ttyACM0?baud=115200`,
/// `tcp:192.0.2.10:5025`. Option keys are lower-case; values are kept as text until a backend
/// reads them with `value(_:as:)`, which says which key was wrong and why.
public struct ConnectionString: Equatable, Sendable, CustomStringConvertible {
    /// The backend, e.g. `sim`, `serial`, `tcp`.
    public var scheme: String
    /// Everything between the scheme and `?`, e.g. a device path.
    public var location: String
    /// Options after `?`, in order.
    public var options: [(key: String, value: String)]

    /// The text form.
    public var description: String {
        var s = scheme
        if !location.isEmpty || !options.isEmpty { s += ":" + location }
        if !options.isEmpty { s += "?" + options.map { "\($0.key)=\($0.value)" }.joined(separator: "&") }
        return s
    }

    public static func == (a: ConnectionString, b: ConnectionString) -> Bool {
        a.scheme == b.scheme && a.location == b.location && a.options.elementsEqual(b.options) { $0 == $1 }
    }

    /// Parses `text`.
    public init(parsing text: String) throws(ConnectionError) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { throw .malformed(text, reason: "empty connection string") }
        let (head, query) = trimmed.splitOnce("?")
        let (scheme, location) = head.splitOnce(":")
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" }) else {
            throw .malformed(text, reason: "it must start with a scheme such as sim, serial or tcp")
        }
        self.scheme = scheme.lowercased()
        self.location = location ?? ""
        var options: [(key: String, value: String)] = []
        if let query, !query.isEmpty {
            for pair in query.split(separator: "&") {
                let (key, value) = String(pair).splitOnce("=")
                guard !key.isEmpty, let value else {
                    throw .malformed(text, reason: "option '\(pair)' is not of the form key=value")
                }
                if options.contains(where: { $0.key == key.lowercased() }) {
                    throw .malformed(text, reason: "option '\(key)' is given twice")
                }
                options.append((key.lowercased(), value))
            }
        }
        self.options = options
    }

    /// The raw value of option `key`, if present.
    public subscript(key: String) -> String? { options.first { $0.key == key }?.value }

    /// Reads option `key` as a `T`, or nil when it is absent.
    public func value<T: LosslessStringConvertible>(_ key: String, as: T.Type = T.self) throws(ConnectionError) -> T? {
        guard let raw = self[key] else { return nil }
        guard let v = T(raw) else { throw .badOption(description, key: key, value: raw, expected: "\(T.self)") }
        return v
    }

    /// Throws for any option not in `known`, naming the ones that are.
    public func rejectUnknownOptions(_ known: [String]) throws(ConnectionError) {
        for (key, _) in options where !known.contains(key) {
            throw .unknownOption(description, key: key, known: known)
        }
    }
}

/// Why a connection string cannot be used.
public enum ConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text does not parse.
    case malformed(String, reason: String)
    /// No backend has this scheme.
    case unknownScheme(String, scheme: String, known: [String])
    /// A backend that this build does not provide yet.
    case unsupportedScheme(String, scheme: String, reason: String)
    /// An option the backend does not know.
    case unknownOption(String, key: String, known: [String])
    /// An option whose value does not parse or is out of range.
    case badOption(String, key: String, value: String, expected: String)
    /// The device could not be opened (missing, busy, no permission).
    case unavailable(String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let s, let reason): "connection string '\(s)': \(reason)"
        case .unknownScheme(let s, let scheme, let known):
            "connection string '\(s)': unknown scheme '\(scheme)' (known: \(known.joined(separator: ", ")))"
        case .unsupportedScheme(let s, let scheme, let reason): "connection string '\(s)': '\(scheme)' is not available: \(reason)"
        case .unknownOption(let s, let key, let known):
            "connection string '\(s)': unknown option '\(key)' (known: \(known.joined(separator: ", ")))"
        case .badOption(let s, let key, let value, let expected):
            "connection string '\(s)': option \(key)=\(value) is not valid; expected \(expected)"
        case .unavailable(let s, let reason): "cannot open '\(s)': \(reason)"
        }
    }
}

extension String {

    /// Splits at the first `separator`: the part before, and the part after (nil without one).
    func splitOnce(_ separator: Character) -> (String, String?) {
        guard let i = firstIndex(of: separator) else { return (self, nil) }
        return (String(self[..<i]), String(self[index(after: i)...]))
    }
}
