import LandauerFirmware

/// Why the client sent a request again (with the same sequence number and bytes).
public enum RetryCause: String, Sendable, Equatable, CaseIterable {
    /// No valid response came before the attempt's timeout.
    case timeout
    /// A response frame failed its COBS, length or CRC checks.
    case corruptedResponse
    /// The board answered that it could not read the request.
    case badFrameReported
    /// The link went down and was re-established.
    case disconnected
    /// The board still held a different request under this sequence number; a new one was taken.
    case sequenceReused
}

/// Something that happened on a board link: a timeout, a damaged or stale frame, a retry, a
/// reconnect, a refusal or a failed request. Runs store these, so no gap goes unrecorded.
public struct LinkEvent: Sendable, Equatable, CustomStringConvertible {
    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// An operation did not finish in time; `waited` is how long the attempt waited.
        case timeout(operation: TransportOperation, waited: Duration)
        /// A frame failed its integrity checks; `size` is its length on the wire and `prefix` its
        /// first bytes (at most 64).
        case corruptedFrame(ProtocolError, size: Int, prefix: [UInt8])
        /// The board reported that it could not read a request (error response `badFrame`).
        case badFrameReported(ErrorResponse)
        /// A valid response whose sequence number is not the outstanding request's was discarded.
        case staleResponse(sequence: UInt16, type: UInt8)
        /// The request was sent again, for this reason.
        case retry(RetryCause)
        /// The transport reported that the link is down.
        case disconnected(TransportError)
        /// A new transport replaced the failed one.
        case reconnected(endpoint: String)
        /// Re-establishing the link failed.
        case reconnectFailed(TransportError)
        /// The request moved to a new sequence number after a `sequenceReused` refusal.
        case sequenceReassigned(from: UInt16, to: UInt16)
        /// The board refused the request.
        case refused(ErrorResponse)
        /// The request failed for good.
        case failed(BoardError)
    }

    /// Time since the client was created (`BoardClient.startedAt`).
    public var time: Duration
    /// The request outstanding when it happened, if any.
    public var opcode: Opcode?
    /// Its sequence number.
    public var sequence: UInt16?
    /// The attempt number (1 for the first send).
    public var attempt: Int
    /// What happened.
    public var kind: Kind

    /// Creates an event.
    public init(time: Duration, opcode: Opcode?, sequence: UInt16?, attempt: Int, kind: Kind) {
        self.time = time
        self.opcode = opcode
        self.sequence = sequence
        self.attempt = attempt
        self.kind = kind
    }

    /// One line, e.g. "12.3 ms PROGRAM PULSES seq 17 attempt 1: timeout after 250 ms".
    public var description: String {
        var head = DurationText.format(time)
        if let opcode { head += " \(ProtocolText.name(opcode))" }
        if let sequence { head += " seq \(sequence)" }
        head += " attempt \(attempt)"
        let what: String
        switch kind {
        case .timeout(let op, let waited): what = "\(op.rawValue) timed out after \(DurationText.format(waited))"
        case .corruptedFrame(let e, let size, _): what = "corrupted frame of \(size) bytes: \(ProtocolText.describe(e))"
        case .badFrameReported: what = "board reported a bad frame"
        case .staleResponse(let s, let t): what = "discarded stale response seq \(s) type \(ProtocolText.hex(t))"
        case .retry(let cause): what = "resent after \(cause.rawValue)"
        case .disconnected(let e): what = "link down: \(e)"
        case .reconnected(let endpoint): what = "reconnected to \(endpoint)"
        case .reconnectFailed(let e): what = "reconnect failed: \(e)"
        case .sequenceReassigned(let from, let to): what = "sequence \(from) reused on the board, moved to \(to)"
        case .refused(let e): what = "refused: \(ProtocolText.describe(e))"
        case .failed(let e): what = "failed: \(e)"
        }
        return "\(head): \(what)"
    }
}

/// Counters of a board link since the client was created.
public struct LinkStatistics: Sendable, Equatable {
    /// Requests issued (distinct sequence numbers).
    public var requests = 0
    /// Requests answered with a success response.
    public var completed = 0
    /// Requests the board refused.
    public var refused = 0
    /// Requests that failed for good (timeout, integrity, transport, malformed response, invalid).
    public var failed = 0
    /// Frames written, retransmissions included.
    public var framesSent = 0
    /// Frames read, valid or not.
    public var framesReceived = 0
    /// Bytes written.
    public var bytesSent = 0
    /// Bytes read.
    public var bytesReceived = 0
    /// Retransmissions of a request.
    public var retries = 0
    /// Attempts that ended in a timeout.
    public var timeouts = 0
    /// Frames received that failed their integrity checks.
    public var corruptedFrames = 0
    /// Bad-frame reports received from the board.
    public var badFrameReports = 0
    /// Valid responses discarded because their sequence number was not the outstanding one.
    public var staleResponses = 0
    /// Times a new transport replaced a failed one.
    public var reconnects = 0
    /// Failed attempts to re-establish the link.
    public var reconnectFailures = 0
    /// Sum over answered requests (success or refusal) of the time from first send to answer.
    public var totalResponseTime: Duration = .zero
    /// The longest time from first send to answer.
    public var maxResponseTime: Duration = .zero

    /// Creates zeroed counters.
    public init() {}

    /// Mean time from first send to answer, if any request was answered.
    public var meanResponseTime: Duration? {
        let answered = completed + refused
        return answered == 0 ? nil : totalResponseTime / answered
    }
}
