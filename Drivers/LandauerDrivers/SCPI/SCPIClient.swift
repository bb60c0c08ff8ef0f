import LandauerFirmware

/// The four fields of an SCPI instrument's `*IDN?` answer; a run stores all of them.
public struct SCPIIdentity: Sendable, Equatable, Codable {
    public var manufacturer: String
    public var model: String
    public var serial: String
    public var firmware: String

    /// Parses `Manufacturer,Model,Serial,Firmware`.
    public init?(parsing text: String) {
        let f = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingASCIIWhitespace() }
        guard f.count == 4, !f[0].isEmpty, !f[1].isEmpty else { return nil }
        (manufacturer, model, serial, firmware) = (f[0], f[1], f[2], f[3])
    }
}

/// An entry of an instrument's error queue, as `SYST:ERR?` reports it.
public struct SCPIInstrumentError: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var description: String { "\(code),\"\(message)\"" }
}

/// Why an SCPI exchange failed.
public enum SCPIClientError: Error, Sendable, CustomStringConvertible {
    /// The transport failed (timeout, disconnect, I/O).
    case transport(TransportError, command: String)
    /// The answer did not parse as what the query returns.
    case malformedResponse(command: String, response: String, reason: String)
    /// The instrument reported errors after a command (its error queue, oldest first).
    case instrument(command: String, errors: [SCPIInstrumentError])

    public var description: String {
        switch self {
        case .transport(let e, let c): "SCPI \(c): \(e)"
        case .malformedResponse(let c, let r, let reason): "SCPI \(c): unexpected answer '\(r.prefix(80))': \(reason)"
        case .instrument(let c, let errors): "SCPI \(c): the instrument reported " + errors.map(\.description).joined(separator: "; ")
        }
    }
}

/// An SCPI session over any transport (TCP port 5025, a serial line, USBTMC): commands and
/// queries terminated by `\n`, ASCII and IEEE 488.2 binary answers, and the error queue.
public actor SCPIClient {
    let transport: any Transport
    /// Time allowed for each write and each answer.
    public var timeout: Duration
    var buffer: [UInt8] = []

    /// Opens a session over `transport`.
    public init(transport: any Transport, timeout: Duration = .seconds(2)) {
        self.transport = transport
        self.timeout = timeout
    }

    /// The endpoint of the transport.
    public var endpoint: String { transport.endpoint }

    /// Sends a command (no answer expected).
    public func write(_ command: String) async throws(SCPIClientError) {
        do {
            try await transport.write(Array((command + "\n").utf8), timeout: timeout)
        } catch {
            throw .transport(error, command: command)
        }
    }

    /// Sends a query and returns its answer line without the terminator.
    public func query(_ command: String) async throws(SCPIClientError) -> String {
        try await write(command)
        let line = try await readLine(command: command)
        return String(decoding: line, as: UTF8.self).trimmingASCIIWhitespace()
    }

    /// Sends a query whose answer is an IEEE 488.2 definite-length block; returns its bytes.
    public func queryBlock(_ command: String) async throws(SCPIClientError) -> [UInt8] {
        try await write(command)
        try await fill(2, command: command)
        guard buffer[0] == UInt8(ascii: "#"), let digits = Int(String(UnicodeScalar(buffer[1]))), digits > 0 else {
            let line = try await readLine(command: command)
            throw .malformedResponse(command: command, response: String(decoding: line, as: UTF8.self), reason: "not a definite-length block")
        }
        try await fill(2 + digits, command: command)
        guard let length = Int(String(decoding: buffer[2..<(2 + digits)], as: UTF8.self)) else {
            throw .malformedResponse(command: command, response: String(decoding: buffer.prefix(2 + digits), as: UTF8.self), reason: "bad block length")
        }
        try await fill(2 + digits + length, command: command)
        let payload = Array(buffer[(2 + digits)..<(2 + digits + length)])
        buffer.removeFirst(2 + digits + length)
        _ = try await readLine(command: command)  // the terminator after the block
        return payload
    }

    /// `*IDN?`, parsed.
    public func identify() async throws(SCPIClientError) -> SCPIIdentity {
        let text = try await query("*IDN?")
        guard let id = SCPIIdentity(parsing: text) else {
            throw .malformedResponse(command: "*IDN?", response: text, reason: "expected Manufacturer,Model,Serial,Firmware")
        }
        return id
    }

    /// Drains the error queue (`SYST:ERR?` until `0,...`), oldest first.
    public func errors() async throws(SCPIClientError) -> [SCPIInstrumentError] {
        var out: [SCPIInstrumentError] = []
        for _ in 0..<64 {
            let text = try await query("SYST:ERR?")
            let (codeText, rest) = text.splitAtFirstComma()
            guard let code = Int(codeText) else { throw .malformedResponse(command: "SYST:ERR?", response: text, reason: "expected <code>,\"<message>\"") }
            if code == 0 { break }
            out.append(SCPIInstrumentError(code: code, message: rest.trimmingQuotes()))
        }
        return out
    }

    /// Sends a command, then checks the error queue; throws the instrument's errors if any.
    public func checked(_ command: String) async throws(SCPIClientError) {
        try await write(command)
        let e = try await errors()
        if !e.isEmpty { throw .instrument(command: command, errors: e) }
    }

    /// A query whose answer is comma-separated numbers.
    public func queryNumbers(_ command: String) async throws(SCPIClientError) -> [Double] {
        let text = try await query(command)
        if text.isEmpty { return [] }
        var values: [Double] = []
        for field in text.split(separator: ",") {
            guard let v = Double(field.trimmingASCIIWhitespace()) else {
                throw .malformedResponse(command: command, response: text, reason: "'\(field)' is not a number")
            }
            values.append(v)
        }
        return values
    }

    /// A query whose answer is a block of big-endian float32 values (`FORM REAL`).
    public func queryFloats(_ command: String) async throws(SCPIClientError) -> [Double] {
        let bytes = try await queryBlock(command)
        guard bytes.count % 4 == 0 else { throw .malformedResponse(command: command, response: "\(bytes.count) bytes", reason: "not a whole number of float32 values") }
        var values: [Double] = []
        values.reserveCapacity(bytes.count / 4)
        var k = 0
        while k < bytes.count {
            var bits = UInt32(bytes[k]) << 24
            bits |= UInt32(bytes[k + 1]) << 16
            bits |= UInt32(bytes[k + 2]) << 8
            bits |= UInt32(bytes[k + 3])
            values.append(Double(Float(bitPattern: bits)))
            k += 4
        }
        return values
    }

    // MARK: Reading

    func fill(_ count: Int, command: String) async throws(SCPIClientError) {
        while buffer.count < count {
            do {
                buffer += try await transport.read(maxCount: 65_536, timeout: timeout)
            } catch {
                throw .transport(error, command: command)
            }
        }
    }

    func readLine(command: String) async throws(SCPIClientError) -> [UInt8] {
        while true {
            if let end = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<end])
                buffer.removeFirst(end + 1)
                return line
            }
            try await fill(buffer.count + 1, command: command)
        }
    }
}

extension String {

    func splitAtFirstComma() -> (String, String) {
        guard let i = firstIndex(of: ",") else { return (self, "") }
        return (String(self[..<i]), String(self[index(after: i)...]))
    }

    func trimmingQuotes() -> String {
        var s = Substring(trimmingASCIIWhitespace())
        if s.first == "\"" { s.removeFirst() }
        if s.last == "\"" { s.removeLast() }
        return String(s)
    }
}

