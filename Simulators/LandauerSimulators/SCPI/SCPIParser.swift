import LandauerFirmware

// SCPI message parsing for the virtual instruments (IEEE 488.2 / SCPI-1999 syntax, the subset
// bench instruments use): program messages split at ';', headers of ':'-separated mnemonics in
// short or long form, case-insensitive, optional nodes, queries ending in '?', comma-separated
// parameters with quoted strings and channel lists "(@1,2)".

/// One parsed program message unit, e.g. `SENS:SWE:POIN 1024,(@1)`.
public struct SCPICommand: Equatable, Sendable {
    /// Header mnemonics as sent, upper-cased, e.g. ["SENS", "SWE", "POIN"]; ["*IDN"] for a common command.
    public var path: [String]
    /// True for a query (header ends with '?').
    public var isQuery: Bool
    /// Parameters as text, outer whitespace removed, quotes kept.
    public var parameters: [String]

    /// True for an IEEE 488.2 common command such as `*RST`.
    public var isCommon: Bool { path.first?.hasPrefix("*") ?? false }
}

/// A header pattern in SCPI notation: upper-case letters are the short form, `[...]` marks an
/// optional node, e.g. `[:SOURce]:VOLTage[:LEVel]`, `SENSe:SWEep:POINts`, `*IDN`.
public struct SCPIPattern: Sendable {
    struct Node: Sendable {
        var short: String
        var long: String
        var optional: Bool
    }
    let nodes: [Node]

    /// Parses a pattern.
    public init(_ text: String) {
        var nodes: [Node] = []
        var optional = false
        var current = ""
        func flush() {
            if !current.isEmpty {
                let short = String(current.filter { $0.isUppercase || $0.isNumber || $0 == "*" })
                nodes.append(Node(short: short, long: current.uppercased(), optional: optional))
            }
            current = ""
        }
        for c in text {
            switch c {
            case "[": flush(); optional = true
            case "]": flush(); optional = false
            case ":": flush()
            default: current.append(c)
            }
        }
        flush()
        self.nodes = nodes
    }

    /// True when `path` (upper-cased mnemonics) matches this pattern. A numeric suffix on a
    /// mnemonic (`OUTP1`) is accepted where the pattern has none only if it is 1.
    public func matches(_ path: [String]) -> Bool { Self.match(nodes[...], path[...]) }

    static func match(_ nodes: ArraySlice<Node>, _ path: ArraySlice<String>) -> Bool {
        guard let node = nodes.first else { return path.isEmpty }
        if let word = path.first, Self.word(word, matches: node), match(nodes.dropFirst(), path.dropFirst()) { return true }
        return node.optional && match(nodes.dropFirst(), path)
    }

    static func word(_ w: String, matches node: Node) -> Bool {
        var base = Substring(w)
        if !node.long.last!.isNumber {
            while let l = base.last, l.isNumber { base.removeLast() }
            if base.count < w.count, w[base.endIndex...] != "1" { return false }
        }
        return base == node.short || base == node.long
    }
}

/// Splits and parses SCPI program messages.
public enum SCPIParser {
    /// Parses one line (without its terminator) into command units. Relative headers after ';'
    /// are resolved against the previous header's path, as SCPI specifies.
    public static func parse(_ line: String) -> Result<[SCPICommand], SCPIError> {
        var commands: [SCPICommand] = []
        var parent: [String] = []
        for unit in split(line, on: ";") {
            let text = unit.trimmingASCIIWhitespace()
            if text.isEmpty { continue }
            let (header, rest) = splitHeader(text)
            if header.isEmpty { return .failure(.init(-102, "Syntax error")) }
            let isQuery = header.hasSuffix("?")
            let bare = isQuery ? String(header.dropLast()) : header
            var path: [String]
            if bare.hasPrefix("*") {
                path = [bare.uppercased()]
            } else {
                let absolute = bare.hasPrefix(":")
                let words = bare.split(separator: ":", omittingEmptySubsequences: false).map { String($0).uppercased() }
                let mnemonics = absolute ? Array(words.dropFirst()) : words
                if mnemonics.contains(where: { $0.isEmpty || !$0.allSatisfy { $0.isLetter || $0.isNumber } }) {
                    return .failure(.init(-102, "Syntax error"))
                }
                path = (absolute || commands.isEmpty ? [] : parent) + mnemonics
                parent = Array(path.dropLast())
            }
            let parameters = rest.isEmpty ? [] : split(rest, on: ",").map { $0.trimmingASCIIWhitespace() }
            if parameters.contains(where: \.isEmpty) { return .failure(.init(-104, "Data type error")) }
            commands.append(SCPICommand(path: path, isQuery: isQuery, parameters: parameters))
        }
        return .success(commands)
    }

    /// Splits at `separator` outside quotes and parentheses.
    static func split(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        var depth = 0
        for c in text {
            if let q = quote {
                current.append(c)
                if c == q { quote = nil }
                continue
            }
            switch c {
            case "\"", "'": quote = c; current.append(c)
            case "(": depth += 1; current.append(c)
            case ")": depth -= 1; current.append(c)
            case separator where depth == 0: parts.append(current); current = ""
            default: current.append(c)
            }
        }
        parts.append(current)
        return parts
    }

    static func splitHeader(_ text: String) -> (String, String) {
        guard let i = text.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (text, "") }
        return (String(text[..<i]), String(text[i...]).trimmingASCIIWhitespace())
    }
}

/// An SCPI error as kept in an instrument's error queue: `-113,"Undefined header"`.
public struct SCPIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The SCPI error number (0 for no error, negative for standard errors).
    public var code: Int
    /// The message.
    public var message: String
    /// Creates an error.
    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }
    /// The queue's text form, e.g. `-113,"Undefined header"`.
    public var description: String { "\(code),\"\(message)\"" }
}

/// The IEEE 488.2 / SCPI error queue of an instrument: first in, first out, with the standard
/// overflow behaviour (the newest entry replaced by -350 "Queue overflow").
public struct SCPIErrorQueue: Sendable {
    var entries: [SCPIError] = []
    /// Capacity of the queue.
    public let capacity: Int

    /// Creates an empty queue.
    public init(capacity: Int = 10) { self.capacity = max(2, capacity) }

    /// Adds an error.
    public mutating func push(_ e: SCPIError) {
        if entries.count < capacity - 1 {
            entries.append(e)
        } else if entries.count == capacity - 1 {
            entries.append(SCPIError(-350, "Queue overflow"))
        }
    }

    /// Removes and returns the oldest error, or `0,"No error"`.
    public mutating func pop() -> SCPIError { entries.isEmpty ? SCPIError(0, "No error") : entries.removeFirst() }

    /// Empties the queue (`*CLS`).
    public mutating func clear() { entries.removeAll() }

    /// Errors waiting.
    public var count: Int { entries.count }
}
