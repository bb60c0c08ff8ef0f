import LandauerFirmware

/// A session with one crossbar board: the typed async API over the board wire protocol.
///
/// One request is outstanding at a time; concurrent callers queue in order. Each request gets
/// the next sequence number and is encoded once. An attempt writes the frame and reads until
/// the matching response arrives or the attempt's timeout passes. The same bytes are sent again,
/// up to `Configuration.maxRetries` times, when
/// - no valid response arrives in time,
/// - a frame arrives that fails its COBS, length or CRC checks,
/// - the board answers `badFrame` (it could not read the request), or
/// - the transport reports a disconnection and the reconnect handler provides a new transport.
///
/// Resending is safe because the firmware answers a repeated request (same sequence number, same
/// bytes) from its retransmit cache instead of executing it again, so pulses are applied exactly
/// once. Valid responses with another sequence number (late answers to earlier attempts) are
/// discarded and counted. A board refusal is not retried: it is thrown as `BoardError.refused`
/// with the board's reason.
///
/// Every timeout, damaged or stale frame, retry, reconnect, refusal and failure is counted in
/// `statistics` and recorded in `events`, so a run can store what happened on the link.
public actor BoardClient {
    /// Creates the transport that replaces a failed one. It receives the failed transport, to
    /// close or revive, and returns the one to use from now on.
    public typealias Reconnector = @Sendable (_ failed: any Transport) async throws(TransportError) -> any Transport

    /// How a client times and retries its requests.
    public struct Configuration: Sendable {
        /// Time allowed for one attempt: writing the request and receiving its response.
        public var timeout: Duration
        /// Retransmissions after the first attempt before a request fails.
        public var maxRetries: Int
        /// The first sequence number; nil picks a random one.
        public var initialSequence: UInt16?
        /// Pause before each retransmission.
        public var retryDelay: Duration
        /// Largest read asked of the transport, in bytes.
        public var readChunk: Int
        /// Called, on the client, with every event as it is recorded (e.g. to stream it to a run store).
        public var onEvent: (@Sendable (LinkEvent) -> Void)?

        /// Creates a configuration; the defaults suit a USB serial link to a board.
        public init(
            timeout: Duration = .milliseconds(500), maxRetries: Int = 3, initialSequence: UInt16? = nil,
            retryDelay: Duration = .zero, readChunk: Int = Frame.maxEncoded + 1,
            onEvent: (@Sendable (LinkEvent) -> Void)? = nil
        ) {
            self.timeout = timeout
            self.maxRetries = maxRetries
            self.initialSequence = initialSequence
            self.retryDelay = retryDelay
            self.readChunk = readChunk
            self.onEvent = onEvent
        }
    }

    /// The settings in force.
    public private(set) var configuration: Configuration
    /// When the client was created; event times count from here.
    public nonisolated let startedAt: ContinuousClock.Instant
    /// Link counters since the client was created.
    public private(set) var statistics = LinkStatistics()
    /// Events not yet taken with `takeEvents()`, oldest first.
    public private(set) var events: [LinkEvent] = []
    /// What the board said in answer to the last successful `hello()`.
    public private(set) var boardInfo: BoardInfo?
    /// The sequence number the next request will carry.
    public private(set) var nextSequence: UInt16

    private var transport: any Transport
    private let reconnector: Reconnector?
    private var needsReconnect = false
    private let clock = ContinuousClock()
    private var splitter = FrameSplitter()
    private var pending: [FrameSplitter.Piece] = []
    private var pendingHead = 0
    private var linkBusy = false
    private var linkWaiters: [CheckedContinuation<Void, Never>] = []

    /// Opens a session over `transport`. With `reconnect`, a disconnected link is replaced and the
    /// outstanding request resent; without it a disconnection fails the request.
    public init(transport: any Transport, configuration: Configuration = Configuration(), reconnect: Reconnector? = nil) {
        self.transport = transport
        self.configuration = configuration
        self.reconnector = reconnect
        self.startedAt = ContinuousClock.now
        self.nextSequence = configuration.initialSequence ?? UInt16.random(in: 0...UInt16.max)
    }

    /// The endpoint of the transport in use.
    public var endpoint: String { transport.endpoint }

    /// Changes the default timeout for one attempt.
    public func setTimeout(_ timeout: Duration) { configuration.timeout = timeout }

    /// Changes the number of retransmissions allowed per request.
    public func setMaxRetries(_ retries: Int) { configuration.maxRetries = max(0, retries) }

    /// Returns the recorded events and clears the log.
    public func takeEvents() -> [LinkEvent] {
        let taken = events
        events = []
        return taken
    }

    /// Closes the transport at once: a request in flight and later requests fail with a transport error.
    public func close() async {
        await transport.close()
    }

    /// Replaces the transport now through the reconnect handler, e.g. after the board was replugged.
    public func reconnect() async throws(BoardError) {
        await acquireLink()
        defer { releaseLink() }
        guard reconnector != nil else {
            throw .invalidRequest(
                reason: "the client has no reconnect handler", BoardErrorContext(device: transport.endpoint))
        }
        if let failure = await replaceTransport(opcode: nil, sequence: nil, attempt: 0) {
            throw .transport(failure, BoardErrorContext(device: transport.endpoint))
        }
    }

    // MARK: Typed requests

    /// Opens the protocol session: sends HELLO, checks the protocol version, and keeps the board's
    /// description in `boardInfo`. The board clears its retransmit cache.
    public func hello(timeout: Duration? = nil) async throws(BoardError) -> BoardInfo {
        let info = try await expect(.hello(hostVersion: ProtocolVersion.current), timeout) { r -> BoardInfo? in
            if case .info(let i) = r { return i }
            return nil
        }
        if info.protocolVersion != ProtocolVersion.current {
            throw .incompatibleBoard(
                boardVersion: info.protocolVersion, hostVersion: ProtocolVersion.current,
                lastContext(opcode: .hello))
        }
        boardInfo = info
        return info
    }

    /// Sends PING with `payload` and checks the echo. Returns the round-trip time, retries included.
    public func ping(_ payload: [UInt8] = [], timeout: Duration? = nil) async throws(BoardError) -> Duration {
        let start = clock.now
        let echo = try await expect(.ping(payload), timeout) { r -> [UInt8]? in
            if case .pong(let p) = r { return p }
            return nil
        }
        if echo != payload { throw .unexpectedResponse(type: Opcode.ping.responseType, lastContext(opcode: .ping)) }
        return clock.now - start
    }

    /// Reads the conductances of a region of a tile, one device at a time.
    public func readConductances(_ read: ConductanceRead, timeout: Duration? = nil) async throws(BoardError)
        -> ConductanceReadResult
    {
        try await expect(.readConductance(read), timeout) { r -> ConductanceReadResult? in
            if case .conductances(let c) = r { return c }
            return nil
        }
    }

    /// Runs a batch of analog matrix-vector reads in one frame (forward or transposed by
    /// `read.orientation`).
    public func matrixVector(_ read: MatrixVectorRead, timeout: Duration? = nil) async throws(BoardError)
        -> MatrixVectorResult
    {
        try await expect(.matrixVector(read), timeout) { r -> MatrixVectorResult? in
            if case .matrixVector(let m) = r { return m }
            return nil
        }
    }

    /// Runs matrix-vector reads of any number of vectors (at most 65 535), split into as few
    /// frames as the request and response size limits allow, and joins the results.
    ///
    /// - Parameters:
    ///   - inputs: `vectorLength` signed DAC codes per vector, vector after vector.
    ///   - inputFullScale: The voltage of the DAC's full-scale code.
    ///   - timeout: Time allowed for each attempt of each frame.
    public func matrixVector(
        tile: UInt8, orientation: ReadOrientation = .forward, vectorLength: Int, inputs: [Int16],
        inputFullScale: Volts, timeout: Duration? = nil
    ) async throws(BoardError) -> MatrixVectorResult {
        let opcode: Opcode = orientation == .forward ? .matrixVector : .matrixVectorTransposed
        func invalid(_ reason: String) -> BoardError {
            .invalidRequest(reason: reason, BoardErrorContext(device: transport.endpoint, opcode: opcode))
        }
        guard vectorLength > 0, vectorLength <= Int(UInt16.max) else {
            throw invalid("vector length \(vectorLength) is not in 1…65535")
        }
        guard inputs.count % vectorLength == 0 else {
            throw invalid("\(inputs.count) input codes are not a whole number of vectors of \(vectorLength)")
        }
        let total = inputs.count / vectorLength
        guard total <= Int(UInt16.max) else { throw invalid("\(total) vectors exceed 65535 per call") }
        let perFrame = maxVectorsPerFrame(tile: tile, orientation: orientation, vectorLength: vectorLength)
        guard perFrame > 0 else { throw invalid("one vector of \(vectorLength) codes does not fit in a frame") }
        var joined = MatrixVectorResult(vectorCount: 0, outputLength: 0, amperesPerCode: .zero, saturated: 0, outputs: [])
        var first = 0
        repeat {
            let count = min(perFrame, total - first)
            let read = MatrixVectorRead(
                tile: tile, orientation: orientation, vectorCount: UInt16(count), vectorLength: UInt16(vectorLength),
                inputFullScale: inputFullScale,
                inputs: count == total ? inputs : Array(inputs[(first * vectorLength)..<((first + count) * vectorLength)]))
            let part = try await matrixVector(read, timeout: timeout)
            if first == 0 {
                joined = part
                joined.outputs.reserveCapacity(total * Int(part.outputLength))
            } else {
                joined.vectorCount &+= part.vectorCount
                joined.saturated &+= part.saturated
                joined.outputs += part.outputs
            }
            first += count
        } while first < total
        return joined
    }

    /// The most vectors of `vectorLength` codes one MATRIX VECTOR frame can carry on `tile`: limited
    /// by the board's largest request body and, when the tile's geometry is known from `hello()`,
    /// by the largest response body.
    public func maxVectorsPerFrame(tile: UInt8, orientation: ReadOrientation, vectorLength: Int) -> Int {
        guard vectorLength > 0 else { return 0 }
        let maxRequest = min(Int(boardInfo?.maxRequestBody ?? UInt16(Frame.maxBody)), Frame.maxBody)
        var n = (maxRequest - 10) / (2 * vectorLength)
        if let info = boardInfo, Int(tile) < info.tiles.count {
            let t = info.tiles[Int(tile)]
            let outputs = Int(orientation == .forward ? t.columns : t.rows)
            // The response must fit the board's buffers too (a microcontroller's may be far below the protocol's limit).
            if outputs > 0 { n = min(n, (maxRequest - 12) / (2 * outputs)) }
        }
        return max(0, min(n, Int(UInt16.max)))
    }

    /// Applies programming pulses, each `repeat` times. Exactly once, even when retried.
    public func program(pulses: [PulseCommand], timeout: Duration? = nil) async throws(BoardError) -> ProgramResult {
        try await expect(.programPulses(pulses), timeout) { r -> ProgramResult? in
            if case .programmed(let p) = r { return p }
            return nil
        }
    }

    /// Runs a parallel stochastic outer-product update. Exactly once, even when retried.
    public func outerProduct(_ update: OuterProductUpdate, timeout: Duration? = nil) async throws(BoardError)
        -> OuterProductResult
    {
        try await expect(.outerProduct(update), timeout) { r -> OuterProductResult? in
            if case .outerProduct(let o) = r { return o }
            return nil
        }
    }

    /// Runs a SINGLE-CELL SWEEP: a staircase or pulsed voltage sweep on one device with a current
    /// compliance the board's engine enforces (clamped to the active limit, refused above the
    /// hardware's), stopping early when the stop condition is met. Exactly once, even when
    /// retried. Boards older than firmware 0.2 refuse it with `unknownOpcode`.
    public func sweep(_ request: SweepRequest, timeout: Duration? = nil) async throws(BoardError) -> SweepResult {
        try await expect(.sweep(request), timeout) { r -> SweepResult? in
            if case .sweep(let q) = r { return q }
            return nil
        }
    }

    /// The most steps one SINGLE-CELL SWEEP may ask for on this board: limited by the request and
    /// response bodies the board's buffers hold and by its active `maxPulsesPerRequest` (when
    /// `hello()` has told them).
    public var maxSweepSteps: Int {
        let maxBody = min(Int(boardInfo?.maxRequestBody ?? UInt16(Frame.maxBody)), Frame.maxBody)
        var n = min((maxBody - SweepRequest.headerSize) / 4, (maxBody - SweepResult.headerSize) / SweepStep.wireSize)
        if let limit = boardInfo?.activeLimits.maxPulsesPerRequest { n = min(n, Int(limit)) }
        return max(0, min(n, Int(UInt16.max)))
    }

    /// Sets the active safety limits (never beyond the hardware's); returns the limits in force.
    public func setLimits(_ limits: SafetyLimits, timeout: Duration? = nil) async throws(BoardError) -> SafetyLimits {
        let active = try await expect(.setLimits(limits), timeout) { r -> SafetyLimits? in
            if case .limits(let l) = r { return l }
            return nil
        }
        boardInfo?.activeLimits = active
        return active
    }

    /// Drives the marker lines with `value`; returns the board time of the change.
    public func marker(_ value: UInt8, timeout: Duration? = nil) async throws(BoardError) -> MarkerAck {
        try await expect(.marker(value), timeout) { r -> MarkerAck? in
            if case .marker(let m) = r { return m }
            return nil
        }
    }

    /// Reads the board's temperature sensor.
    public func temperature(timeout: Duration? = nil) async throws(BoardError) -> TemperatureReading {
        try await expect(.temperature, timeout) { r -> TemperatureReading? in
            if case .temperature(let t) = r { return t }
            return nil
        }
    }

    /// Reads the board's activity counters.
    public func counters(timeout: Duration? = nil) async throws(BoardError) -> Counters {
        try await expect(.counters, timeout) { r -> Counters? in
            if case .counters(let c) = r { return c }
            return nil
        }
    }

    /// Resets the board's counters, limits and marker lines.
    public func reset(timeout: Duration? = nil) async throws(BoardError) {
        try await expect(.reset, timeout) { r -> Void? in
            if case .reset = r { return () }
            return nil
        }
        if var info = boardInfo {
            info.activeLimits = info.absoluteLimits
            boardInfo = info
        }
    }

    // MARK: The exchange

    /// Sends any request and returns the board's success response.
    ///
    /// - Parameters:
    ///   - timeout: Time allowed for each attempt (default `configuration.timeout`). The call takes
    ///     at most about `(maxRetries + 1) × timeout` plus retry delays.
    ///   - maxRetries: Retransmissions allowed (default `configuration.maxRetries`).
    /// - Throws: `BoardError.refused` when the board refuses; other cases when the link fails.
    public func send(_ request: Request, timeout: Duration? = nil, maxRetries: Int? = nil) async throws(BoardError)
        -> Response
    {
        await acquireLink()
        defer { releaseLink() }
        return try await exchange(
            request, timeout: timeout ?? configuration.timeout, maxRetries: max(0, maxRetries ?? configuration.maxRetries))
    }

    /// The result of the last exchange, for errors raised after it returned.
    private var last = (sequence: UInt16(0), attempts: 0, elapsed: Duration.zero, raw: [UInt8]())

    private func lastContext(opcode: Opcode) -> BoardErrorContext {
        BoardErrorContext(
            device: transport.endpoint, opcode: opcode, sequence: last.sequence, attempts: last.attempts,
            elapsed: last.elapsed, rawBytes: last.raw)
    }

    /// Sends `request` and extracts the expected response, or throws `unexpectedResponse`.
    private func expect<T>(_ request: Request, _ timeout: Duration?, _ extract: (Response) -> T?) async throws(BoardError)
        -> T
    {
        let response = try await send(request, timeout: timeout)
        if let value = extract(response) { return value }
        let type = response.frame(answering: request.opcode, sequence: 0).type
        throw .unexpectedResponse(type: type, lastContext(opcode: request.opcode))
    }

    /// What one attempt came to.
    private enum Attempt {
        case answered(Response, raw: [UInt8])
        case retry(Setback)
        case fatal(Fatal)
    }

    /// A failed attempt that a retransmission may mend.
    private enum Setback {
        case timeout
        case corrupted(ProtocolError, raw: [UInt8])
        case badFrame(ErrorResponse, raw: [UInt8])
        case link(TransportError)

        var cause: RetryCause {
            switch self {
            case .timeout: .timeout
            case .corrupted: .corruptedResponse
            case .badFrame: .badFrameReported
            case .link: .disconnected
            }
        }
    }

    /// A failure that retrying cannot mend.
    private enum Fatal {
        case transport(TransportError)
        case malformed(ProtocolError, raw: [UInt8])
        case unexpected(type: UInt8, raw: [UInt8])
        case incompatible(version: UInt8, raw: [UInt8])
        case cancelled
    }

    /// What a received piece of the stream is, for the outstanding request.
    private enum Received {
        case answer(Response, raw: [UInt8])
        case stale(sequence: UInt16, type: UInt8)
        case corrupted(ProtocolError, raw: [UInt8])
        case badFrame(ErrorResponse, raw: [UInt8])
        case fatal(Fatal)
    }

    private func exchange(_ request: Request, timeout: Duration, maxRetries: Int) async throws(BoardError) -> Response {
        let opcode = request.opcode
        let start = clock.now
        var sequence = takeSequence()
        var attempt = 0
        var raw: [UInt8] = []
        func context() -> BoardErrorContext {
            BoardErrorContext(
                device: transport.endpoint, opcode: opcode, sequence: sequence, attempts: attempt,
                elapsed: clock.now - start, rawBytes: raw)
        }
        func fail(_ error: BoardError) -> BoardError {
            statistics.failed += 1
            record(.failed(error), opcode, sequence, attempt)
            last = (sequence, attempt, clock.now - start, raw)
            return error
        }

        statistics.requests += 1
        let body = request.body()
        if let problem = sizeProblem(body.count, opcode) { throw fail(.invalidRequest(reason: problem, context())) }
        var encoded = Frame(type: opcode.rawValue, sequence: sequence, body: body).encoded()
        var cause = RetryCause.timeout
        while true {
            attempt += 1
            if attempt > 1 {
                statistics.retries += 1
                record(.retry(cause), opcode, sequence, attempt)
                if configuration.retryDelay > .zero {
                    do { try await Task.sleep(for: configuration.retryDelay) } catch { throw fail(.cancelled(context())) }
                }
            }
            if Task.isCancelled { throw fail(.cancelled(context())) }
            let outcome = await attemptOnce(encoded, sequence: sequence, opcode: opcode, timeout: timeout, attempt: attempt)
            switch outcome {
            case .answered(let response, let bytes):
                raw = bytes
                let elapsed = clock.now - start
                if case .error(let refusal) = response {
                    if refusal.code == .sequenceReused && attempt <= maxRetries {
                        // The board holds another request under this number (e.g. from an earlier
                        // session); nothing was executed, so take a fresh number and send again.
                        let old = sequence
                        sequence = takeSequence()
                        encoded = Frame(type: opcode.rawValue, sequence: sequence, body: body).encoded()
                        record(.sequenceReassigned(from: old, to: sequence), opcode, sequence, attempt)
                        cause = .sequenceReused
                        continue
                    }
                    statistics.refused += 1
                    noteResponseTime(elapsed)
                    record(.refused(refusal), opcode, sequence, attempt)
                    last = (sequence, attempt, elapsed, raw)
                    throw .refused(refusal, context())
                }
                statistics.completed += 1
                noteResponseTime(elapsed)
                last = (sequence, attempt, elapsed, raw)
                return response
            case .retry(let setback):
                cause = setback.cause
                if attempt > maxRetries {
                    switch setback {
                    case .timeout: throw fail(.timeout(context()))
                    case .corrupted(let e, let bytes):
                        raw = bytes
                        throw fail(.integrity(.response(e), context()))
                    case .badFrame(let e, let bytes):
                        raw = bytes
                        throw fail(.integrity(.request(e), context()))
                    case .link(let e): throw fail(.transport(e, context()))
                    }
                }
            case .fatal(let f):
                switch f {
                case .transport(let e): throw fail(.transport(e, context()))
                case .malformed(let e, let bytes):
                    raw = bytes
                    throw fail(.malformedResponse(e, context()))
                case .unexpected(let type, let bytes):
                    raw = bytes
                    throw fail(.unexpectedResponse(type: type, context()))
                case .incompatible(let version, let bytes):
                    raw = bytes
                    throw fail(.incompatibleBoard(boardVersion: version, hostVersion: ProtocolVersion.current, context()))
                case .cancelled: throw fail(.cancelled(context()))
                }
            }
        }
    }

    /// One attempt: write the frame, then read until the answer, a damaged frame, or the deadline.
    private func attemptOnce(_ encoded: [UInt8], sequence: UInt16, opcode: Opcode, timeout: Duration, attempt: Int) async
        -> Attempt
    {
        let begun = clock.now
        let deadline = begun + timeout
        if needsReconnect {
            if let failure = await replaceTransport(opcode: opcode, sequence: sequence, attempt: attempt) {
                // A replugged board may take a while to reappear; the next attempt tries again.
                if case .cancelled = failure { return .fatal(.cancelled) }
                return .retry(.link(failure))
            }
        }
        do {
            try await transport.write(encoded, timeout: timeout)
        } catch {
            return linkFailure(error, opcode, sequence, attempt, waited: clock.now - begun)
        }
        statistics.framesSent += 1
        statistics.bytesSent += encoded.count
        var setback: Setback?
        while true {
            while pendingHead < pending.count {
                let piece = pending[pendingHead]
                pendingHead += 1
                switch classify(piece, sequence: sequence, opcode: opcode) {
                case .answer(let response, let raw):
                    return .answered(response, raw: raw)
                case .stale(let s, let type):
                    statistics.staleResponses += 1
                    record(.staleResponse(sequence: s, type: type), opcode, sequence, attempt)
                case .corrupted(let e, let raw):
                    statistics.corruptedFrames += 1
                    record(.corruptedFrame(e, size: raw.count, prefix: Array(raw.prefix(64))), opcode, sequence, attempt)
                    setback = .corrupted(e, raw: raw)
                case .badFrame(let e, let raw):
                    statistics.badFrameReports += 1
                    record(.badFrameReported(e), opcode, sequence, attempt)
                    setback = .badFrame(e, raw: raw)
                case .fatal(let f):
                    return .fatal(f)
                }
            }
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
            if let s = setback {
                // Before resending, take what has already arrived: the answer may sit right behind
                // the damaged frame (noise on the line ahead of a good response).
                let more: [UInt8]
                do {
                    more = try await transport.read(maxCount: configuration.readChunk, timeout: .zero)
                } catch .timeout {
                    return .retry(s)
                } catch {
                    return linkFailure(error, opcode, sequence, attempt, waited: clock.now - begun)
                }
                receive(more)
                continue
            }
            let remaining = deadline - clock.now
            if remaining <= .zero {
                statistics.timeouts += 1
                record(.timeout(operation: .read, waited: clock.now - begun), opcode, sequence, attempt)
                return .retry(.timeout)
            }
            let bytes: [UInt8]
            do {
                bytes = try await transport.read(maxCount: configuration.readChunk, timeout: remaining)
            } catch {
                return linkFailure(error, opcode, sequence, attempt, waited: clock.now - begun)
            }
            receive(bytes)
        }
    }

    /// Splits received bytes into pieces queued for classification.
    private func receive(_ bytes: [UInt8]) {
        statistics.bytesReceived += bytes.count
        var pieces: [FrameSplitter.Piece] = []
        splitter.feed(bytes) { pieces.append($0) }
        pending.append(contentsOf: pieces)
    }

    /// Sorts a transport failure into retry or give up, counting and recording it.
    private func linkFailure(_ error: TransportError, _ opcode: Opcode, _ sequence: UInt16, _ attempt: Int, waited: Duration)
        -> Attempt
    {
        switch error {
        case .timeout(let c):
            statistics.timeouts += 1
            record(.timeout(operation: c.operation, waited: waited), opcode, sequence, attempt)
            return .retry(.timeout)
        case .disconnected, .io:
            record(.disconnected(error), opcode, sequence, attempt)
            if reconnector == nil { return .fatal(.transport(error)) }
            needsReconnect = true
            return .retry(.link(error))
        case .cancelled:
            return .fatal(.cancelled)
        case .closed, .openFailed, .invalidArgument:
            return .fatal(.transport(error))
        }
    }

    /// Classifies one piece of the received stream against the outstanding request.
    private func classify(_ piece: FrameSplitter.Piece, sequence: UInt16, opcode: Opcode) -> Received {
        statistics.framesReceived += 1
        let raw: [UInt8]
        switch piece {
        case .overflow(let discarded):
            return .corrupted(.frameTooLong(size: discarded, limit: UInt32(Frame.maxEncoded)), raw: [])
        case .frame(let bytes):
            raw = bytes
        }
        let frame: Frame
        do {
            frame = try Frame.decode(raw)
        } catch {
            return .corrupted(error, raw: raw)
        }
        if frame.type == FrameType.error {
            let response: Response
            do {
                response = try Response.decode(frame)
            } catch {
                if frame.sequence != sequence { return .stale(sequence: frame.sequence, type: frame.type) }
                if case .unsupportedVersion(let v) = error { return .fatal(.incompatible(version: v, raw: raw)) }
                return .fatal(.malformed(error, raw: raw))
            }
            guard case .error(let refusal) = response else {
                return .fatal(.unexpected(type: frame.type, raw: raw))
            }
            // The board could not read a frame; its sequence number may be garbage. The only frame
            // it can mean is the outstanding request, so that is what gets resent.
            if refusal.code == .badFrame { return .badFrame(refusal, raw: raw) }
            if frame.sequence != sequence { return .stale(sequence: frame.sequence, type: frame.type) }
            return .answer(response, raw: raw)
        }
        if frame.sequence != sequence { return .stale(sequence: frame.sequence, type: frame.type) }
        if frame.version != ProtocolVersion.current { return .fatal(.incompatible(version: frame.version, raw: raw)) }
        if frame.type != opcode.responseType { return .fatal(.unexpected(type: frame.type, raw: raw)) }
        do {
            return .answer(try Response.decode(frame), raw: raw)
        } catch {
            return .fatal(.malformed(error, raw: raw))
        }
    }

    /// Asks the reconnect handler for a new transport. Returns the failure, or nil on success.
    private func replaceTransport(opcode: Opcode?, sequence: UInt16?, attempt: Int) async -> TransportError? {
        guard let reconnector else { return nil }
        do {
            transport = try await reconnector(transport)
        } catch {
            statistics.reconnectFailures += 1
            record(.reconnectFailed(error), opcode, sequence, attempt)
            return error
        }
        needsReconnect = false
        splitter = FrameSplitter()
        pending.removeAll()
        pendingHead = 0
        statistics.reconnects += 1
        record(.reconnected(endpoint: transport.endpoint), opcode, sequence, attempt)
        return nil
    }

    /// Why a body of `size` bytes cannot be sent, or nil.
    private func sizeProblem(_ size: Int, _ opcode: Opcode) -> String? {
        if size > Frame.maxBody {
            return "its body of \(size) bytes exceeds the frame limit of \(Frame.maxBody) bytes; split the batch"
        }
        if let info = boardInfo, size > Int(info.maxRequestBody) {
            return "its body of \(size) bytes exceeds the board's limit of \(info.maxRequestBody) bytes; split the batch"
        }
        return nil
    }

    private func takeSequence() -> UInt16 {
        let s = nextSequence
        nextSequence &+= 1
        return s
    }

    private func noteResponseTime(_ elapsed: Duration) {
        statistics.totalResponseTime += elapsed
        if elapsed > statistics.maxResponseTime { statistics.maxResponseTime = elapsed }
    }

    private func record(_ kind: LinkEvent.Kind, _ opcode: Opcode?, _ sequence: UInt16?, _ attempt: Int) {
        let event = LinkEvent(time: clock.now - startedAt, opcode: opcode, sequence: sequence, attempt: attempt, kind: kind)
        events.append(event)
        configuration.onEvent?(event)
    }

    // MARK: One request at a time

    private func acquireLink() async {
        if !linkBusy {
            linkBusy = true
            return
        }
        await withCheckedContinuation { linkWaiters.append($0) }
    }

    private func releaseLink() {
        if linkWaiters.isEmpty {
            linkBusy = false
        } else {
            linkWaiters.removeFirst().resume()  // the link passes straight to the next caller
        }
    }
}
