import LandauerFirmware

/// Where and when a board request failed: the context every `BoardError` carries.
public struct BoardErrorContext: Sendable, Equatable {
    /// The board's endpoint, as its transport describes it.
    public var device: String
    /// The request that failed, if one was being made.
    public var opcode: Opcode?
    /// The request's sequence number, if it got one.
    public var sequence: UInt16?
    /// Frames sent for the request: 1 for the first try, more after retries.
    public var attempts: Int
    /// Time from the first send to the failure.
    public var elapsed: Duration
    /// The encoded frame received that bears on the failure (a refusal, a corrupted or malformed
    /// response), without its 0x00 delimiter; empty when there is none.
    public var rawBytes: [UInt8]

    /// Creates a context.
    public init(
        device: String, opcode: Opcode? = nil, sequence: UInt16? = nil, attempts: Int = 0, elapsed: Duration = .zero,
        rawBytes: [UInt8] = []
    ) {
        self.device = device
        self.opcode = opcode
        self.sequence = sequence
        self.attempts = attempts
        self.elapsed = elapsed
        self.rawBytes = rawBytes
    }
}

/// Which side of the link could not read a frame.
public enum IntegrityFailure: Sendable, Equatable {
    /// A response failed its COBS, length or CRC checks on the host.
    case response(ProtocolError)
    /// The board reported that it could not read the request (an error response with code `badFrame`).
    case request(ErrorResponse)
}

/// Why a request to a board failed. One error type for the whole board client; every case carries
/// a `BoardErrorContext` (device, request, sequence, attempts, elapsed time, raw bytes), and
/// `description` is a sentence a person can act on.
public enum BoardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The board refused the request and changed nothing: what, where and by how much is in the
    /// error response (`code`, `index`, `value`, `limit`).
    case refused(ErrorResponse, BoardErrorContext)
    /// No valid response came on any attempt before its timeout.
    case timeout(BoardErrorContext)
    /// Every attempt ended in a frame that could not be read; the last such failure is given.
    case integrity(IntegrityFailure, BoardErrorContext)
    /// The transport failed in a way retries cannot mend (closed, no reconnect possible, cancelled…).
    case transport(TransportError, BoardErrorContext)
    /// A response passed its checksum but its body does not parse: the board speaks another dialect.
    case malformedResponse(ProtocolError, BoardErrorContext)
    /// A response with the request's sequence number answers something else (frame type given),
    /// or does not match what was asked (e.g. a PING echo that differs).
    case unexpectedResponse(type: UInt8, BoardErrorContext)
    /// The board speaks a protocol version this host does not.
    case incompatibleBoard(boardVersion: UInt8, hostVersion: UInt8, BoardErrorContext)
    /// The request was not sent because it cannot be valid (too large for a frame or for the board).
    case invalidRequest(reason: String, BoardErrorContext)
    /// The calling task was cancelled while the request was outstanding.
    case cancelled(BoardErrorContext)

    /// The context of the failure.
    public var context: BoardErrorContext {
        switch self {
        case .refused(_, let c), .timeout(let c), .integrity(_, let c), .transport(_, let c),
            .malformedResponse(_, let c), .unexpectedResponse(_, let c), .incompatibleBoard(_, _, let c),
            .invalidRequest(_, let c), .cancelled(let c):
            c
        }
    }

    /// The board's refusal, when the board refused.
    public var refusal: ErrorResponse? {
        if case .refused(let e, _) = self { return e }
        return nil
    }

    /// A sentence saying what failed, why, and what to check.
    public var description: String {
        let c = context
        let request = c.opcode.map(ProtocolText.name) ?? "request"
        switch self {
        case .refused(let e, _):
            return "board refused \(ProtocolText.describe(e)) [\(Self.trail(c))]"
        case .timeout:
            return "no response from \(c.device) to \(request) [\(Self.trail(c))]: check that the board is powered, "
                + "connected and running its firmware, that the endpoint is the right one, and that the timeout "
                + "allows for the request's work and the link's speed"
        case .integrity(.response(let p), _):
            return "responses from \(c.device) to \(request) failed their integrity checks on every attempt "
                + "(last: \(ProtocolText.describe(p))) [\(Self.trail(c))]: the link corrupts data; check the cable, "
                + "grounding and serial settings"
        case .integrity(.request, _):
            return "\(c.device) could not read the \(request) request on any attempt (it answered bad frame) "
                + "[\(Self.trail(c))]: the link corrupts data; check the cable, grounding and serial settings"
        case .transport(let t, _):
            return "\(request) to \(c.device) failed [\(Self.trail(c))]: \(t)"
        case .malformedResponse(let p, _):
            return "the response from \(c.device) to \(request) passed its checksum but does not parse "
                + "(\(ProtocolText.describe(p))) [\(Self.trail(c))]: host and firmware disagree on the protocol; "
                + "update one of them"
        case .unexpectedResponse(let type, _):
            let expected = c.opcode.map { " where \(ProtocolText.hex($0.responseType)) was expected" } ?? ""
            return "the response from \(c.device) to \(request) has type \(ProtocolText.hex(type))\(expected) "
                + "or does not match the request [\(Self.trail(c))]"
        case .incompatibleBoard(let board, let host, _):
            return "\(c.device) answered \(request) in protocol version \(board) and this host speaks \(host) [\(Self.trail(c))]: "
                + "update the firmware or the host software so they match"
        case .invalidRequest(let reason, _):
            return "\(request) was not sent to \(c.device): \(reason)"
        case .cancelled:
            return "\(request) to \(c.device) was cancelled [\(Self.trail(c))]"
        }
    }

    /// "device, seq 17, 2 attempts, 1.20 ms".
    private static func trail(_ c: BoardErrorContext) -> String {
        var parts = [c.device]
        if let s = c.sequence { parts.append("seq \(s)") }
        parts.append(c.attempts == 1 ? "1 attempt" : "\(c.attempts) attempts")
        parts.append(DurationText.format(c.elapsed))
        return parts.joined(separator: ", ")
    }
}
