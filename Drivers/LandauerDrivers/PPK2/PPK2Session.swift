import LandauerFirmware

/// How a `PPK2Session` sets the meter up and reads it.
public struct PPK2SessionOptions: Sendable {
    /// Source meter (the PPK2 powers the DUT at `supply`) or ampere meter.
    public var mode: PPK2PowerMode
    /// Regulator voltage; nil takes the `VDD` the device reports in its metadata (Nordic's app).
    public var supply: Volts?
    /// Whether the DUT power is switched on at connect (Nordic's app: on in ampere mode).
    public var dutPower: Bool
    /// The user gain sent for each range 0…4 (Nordic's app sends the metadata's `UG`; 1 by default).
    public var userGains: [Float]?
    /// Whether Nordic's spike filter is applied to the currents.
    public var spikeFilter: Bool
    /// How long one metadata request may take before it is sent again.
    public var metadataTimeout: Duration
    /// How many times GetMetadata is sent before giving up.
    public var metadataAttempts: Int
    /// How long a read of the sample stream waits for its first byte before `.timeout`.
    public var streamTimeout: Duration
    /// Largest read from the transport, in bytes.
    public var readSize: Int
    /// After AverageStop, how long the line must stay silent before the stream counts as drained.
    public var drainQuiet: Duration
    /// The disagreement between samples expected from wall time and samples accounted for (received
    /// plus counter gaps) above which `stop()` records a loss. The latency of the start and stop
    /// commands (the link, the host's and the device's scheduling) makes disagreements of tens of
    /// milliseconds normal, so the default is 0.25 s (25 000 samples); smaller losses of whole
    /// 64-sample multiples stay visible only in `PPK2StreamSummary.unaccounted`.
    public var lossTolerance: Int

    /// Creates options; the defaults follow Nordic's app in source mode.
    public init(
        mode: PPK2PowerMode = .sourceMeter, supply: Volts? = nil, dutPower: Bool = true, userGains: [Float]? = nil,
        spikeFilter: Bool = true, metadataTimeout: Duration = .seconds(2), metadataAttempts: Int = 3,
        streamTimeout: Duration = .seconds(5), readSize: Int = 65_536, drainQuiet: Duration = .milliseconds(250),
        lossTolerance: Int = 25_000
    ) {
        self.mode = mode
        self.supply = supply
        self.dutPower = dutPower
        self.userGains = userGains
        self.spikeFilter = spikeFilter
        self.metadataTimeout = metadataTimeout
        self.metadataAttempts = metadataAttempts
        self.streamTimeout = streamTimeout
        self.readSize = readSize
        self.drainQuiet = drainQuiet
        self.lossTolerance = lossTolerance
    }
}

/// Samples lost where the 6-bit counter cannot show it: a whole multiple of 64 samples (the
/// firmware's 512-sample blocks) seen against wall time, or the time a link was down.
public struct PPK2Loss: Sendable, Equatable {
    /// Why the samples are missing.
    public enum Kind: String, Sendable, Equatable {
        /// Fewer samples arrived (with counter gaps counted) than the wall time of the run says.
        case unaccounted
        /// The link was down between a disconnect and a reconnect; the count is estimated from wall time.
        case reconnect
    }
    /// Why the samples are missing.
    public var kind: Kind
    /// Session stream index of the first sample after the loss.
    public var streamIndex: UInt64
    /// Samples missing (an estimate from wall time).
    public var samples: Int64

    /// Creates a loss record.
    public init(kind: Kind, streamIndex: UInt64, samples: Int64) {
        self.kind = kind
        self.streamIndex = streamIndex
        self.samples = samples
    }
}

/// Decoded samples from one read of the stream, with their place on the device's sample clock.
public struct PPK2Batch: Sendable {
    /// Currents, logic inputs and ranges, oldest first.
    public var samples: PPK2Samples
    /// Session index of `samples[0]` among all samples received since `start()`.
    public var firstReceivedIndex: UInt64
    /// Session stream index (sample clock since `start()`, gaps and reconnect losses included) of `samples[0]`.
    public var firstStreamIndex: UInt64
    /// Counter gaps found in this batch, with session indices; never interpolated.
    public var gaps: [PPK2Gap]
    /// Samples the wall time since `start()` says should have been accounted for by now but were
    /// not (received plus gaps): the samples still in flight on the link, plus any loss the counter
    /// cannot see. Only meaningful while the stream runs in real time.
    public var unaccounted: Int64
    /// When the bytes were read.
    public var receivedAt: ContinuousClock.Instant

    /// Creates a batch.
    public init(samples: PPK2Samples, firstReceivedIndex: UInt64, firstStreamIndex: UInt64, gaps: [PPK2Gap],
                unaccounted: Int64, receivedAt: ContinuousClock.Instant) {
        self.samples = samples
        self.firstReceivedIndex = firstReceivedIndex
        self.firstStreamIndex = firstStreamIndex
        self.gaps = gaps
        self.unaccounted = unaccounted
        self.receivedAt = receivedAt
    }

    /// The number of samples.
    public var count: Int { samples.count }

    /// Stream index of sample `k` of the batch: its received index plus every sample missing before it.
    public func streamIndex(ofSample k: Int) -> UInt64 {
        let received = firstReceivedIndex + UInt64(k)
        var index = firstStreamIndex + UInt64(k)
        for g in gaps where g.receivedIndex > firstReceivedIndex && g.receivedIndex <= received { index += UInt64(g.missing) }
        return index
    }

    /// Time of sample `k` since `start()`: stream index × 10 µs.
    public func time(ofSample k: Int) -> Seconds {
        Seconds(Double(streamIndex(ofSample: k)) / Double(PPK2Sample.samplesPerSecond))
    }
}

/// What `stop()` found when the stream ended.
public struct PPK2StreamSummary: Sendable, Equatable {
    /// Samples received since `start()`.
    public var samplesReceived: UInt64
    /// Samples lost in counter gaps.
    public var samplesMissing: UInt64
    /// Wall time from AverageStart to AverageStop, as the host sent them.
    public var elapsed: Duration
    /// Samples the elapsed wall time says the device measured, less those received or in gaps
    /// (positive: unaccounted for; the link's command latency makes it a few hundred either way).
    public var unaccounted: Int64
    /// Every counter gap of the run, with session indices.
    public var gaps: [PPK2Gap]
    /// Every other loss of the run (unaccounted blocks, reconnects).
    public var losses: [PPK2Loss]
}

/// A connection to a Nordic Power Profiler Kit II over any `Transport`.
///
/// `connect()` runs the sequence of Nordic's app: GetMetadata, read the text until `END` (sent
/// again after `metadataTimeout`, at most `metadataAttempts` times), parse; RegulatorSet(VDD);
/// SetUserGains for ranges 0…4; then source mode (DUT power off, SetPowerMode 2) or ampere mode
/// (SetPowerMode 1), and DUT power on as asked. `start()` sends AverageStart; `next()` reads and
/// decodes one batch at a time (or iterate `batches()`); `stop()` sends AverageStop, drains the
/// line and accounts for the whole run against wall time.
///
/// Nothing is interpolated: every counter gap is recorded (`gaps`), every loss the counter cannot
/// see (`losses`) too. A transport that goes away ends streaming with `.disconnected`, carrying the
/// counts; every batch already returned stays valid, and `reconnect(_:)` goes on with a new
/// transport, recording the time the link was down as a loss.
///
/// ```swift
/// let ppk2 = PPK2Session(transport: try TermiosTransport(path: "/dev/ttyACM1"))
/// try await ppk2.connect()
/// try await ppk2.start()
/// while let batch = try await ppk2.next(), elapsed < limit { … }
/// let summary = try await ppk2.stop()
/// ```
public actor PPK2Session {
    /// The session's state.
    public enum State: String, Sendable {
        /// Not set up yet (or reconnecting).
        case idle
        /// Set up, not sampling.
        case connected
        /// AverageStart sent, samples flowing.
        case streaming
        /// The transport went away.
        case disconnected
        /// `close()` was called.
        case closed
    }

    /// The options in force.
    public let options: PPK2SessionOptions
    private var transport: any Transport
    /// The state now.
    public private(set) var state: State = .idle
    /// The metadata read at connect.
    public private(set) var metadata: PPK2Metadata?
    /// The regulator voltage set at connect.
    public private(set) var regulator: Volts?
    private var decoder: PPK2Decoder
    private var startedAt: ContinuousClock.Instant?
    /// Session totals carried over reconnects (the decoder restarts its counts each time).
    private var receivedBase: UInt64 = 0
    private var streamBase: UInt64 = 0
    private var disconnectedAt: ContinuousClock.Instant?
    /// Set when the link went away while streaming: `reconnect(_:)` then restarts the stream.
    private var resumeStreaming = false
    /// Elapsed sampling time before the current stretch (earlier stretches, reconnect losses).
    private var stretchStart: ContinuousClock.Instant?
    /// Every counter gap since `start()`, with session indices.
    public private(set) var gaps: [PPK2Gap] = []
    /// Every loss the counter cannot show since `start()`.
    public private(set) var losses: [PPK2Loss] = []

    /// A session on `transport`; nothing is sent until `connect()`.
    public init(transport: any Transport, options: PPK2SessionOptions = PPK2SessionOptions()) {
        self.transport = transport
        self.options = options
        decoder = PPK2Decoder(spikeFilter: options.spikeFilter)
    }

    /// The transport's endpoint.
    public var endpoint: String { transport.endpoint }

    /// Samples received since `start()` (over reconnects).
    public var samplesReceived: UInt64 { receivedBase + decoder.receivedCount }

    /// Samples lost in counter gaps since `start()`.
    public var samplesMissing: UInt64 { gaps.reduce(0) { $0 + UInt64($1.missing) } }

    // MARK: Connect

    /// Runs Nordic's connect sequence; returns the metadata.
    /// - Throws: `.metadataIncomplete` or `.timeout` when no `END` came after every attempt,
    ///   `.disconnected` / `.transport` for link failures, `.regulatorOutOfRange` for a bad supply.
    @discardableResult
    public func connect() async throws(PPK2Error) -> PPK2Metadata {
        guard state == .idle || state == .connected else {
            throw .invalidState(operation: "connect", expected: "idle or connected", actual: state.rawValue)
        }
        // A unit left streaming by an earlier host would bury the metadata in samples.
        try await send(.averageStop)
        try await drain(quiet: options.drainQuiet, limit: .seconds(2))
        let metadata = try await readMetadata()
        self.metadata = metadata
        let supply = options.supply ?? Volts(Double(metadata.vdd) / 1000)
        try await send(.regulator(supply))
        regulator = Volts((supply.value * 1000).rounded() / 1000)
        let gains = options.userGains ?? metadata.effective.ug.map { Float($0) }
        for r in 0..<PPK2Sample.rangeCount { try await send(.userGain(range: r, gain: r < gains.count ? gains[r] : 1)) }
        switch options.mode {
        case .sourceMeter:
            try await send(.deviceRunning(false))
            try await send(.powerMode(.sourceMeter))
            if options.dutPower { try await send(.deviceRunning(true)) }
        case .ampereMeter:
            try await send(.powerMode(.ampereMeter))
            try await send(.deviceRunning(options.dutPower))
        }
        decoder.calibration = PPK2Calibration(metadata: metadata)
        decoder.vdd = regulator ?? supply
        state = .connected
        return metadata
    }

    /// Sends GetMetadata and collects the text until `END`, sending again on a timeout.
    private func readMetadata() async throws(PPK2Error) -> PPK2Metadata {
        var lastBytes: [UInt8] = []
        for _ in 0..<max(options.metadataAttempts, 1) {
            try await send(.getMetadata)
            var bytes: [UInt8] = []
            let deadline = ContinuousClock.now + options.metadataTimeout
            while !PPK2Metadata.isComplete(bytes) {
                let left = deadline - ContinuousClock.now
                if left <= .zero { break }
                do {
                    bytes += try await transport.read(maxCount: 4096, timeout: left)
                } catch {
                    if case .timeout = error { break }
                    throw mapped(error)
                }
            }
            if PPK2Metadata.isComplete(bytes) { return try PPK2Metadata(parsing: bytes) }
            lastBytes = bytes
        }
        if lastBytes.isEmpty {
            throw .timeout(endpoint: transport.endpoint, operation: "metadata (\(options.metadataAttempts) attempts)",
                           waited: options.metadataTimeout * max(options.metadataAttempts, 1))
        }
        throw .metadataIncomplete(received: lastBytes.count, tail: Array(lastBytes.suffix(64)))
    }

    // MARK: Streaming

    /// Starts sampling (AverageStart); the sample clock of the session starts now.
    public func start() async throws(PPK2Error) {
        guard state == .connected else { throw .invalidState(operation: "start", expected: "connected", actual: state.rawValue) }
        decoder.reset()
        gaps = []
        losses = []
        receivedBase = 0
        streamBase = 0
        try await send(.averageStart)
        let now = ContinuousClock.now
        startedAt = now
        stretchStart = now
        state = .streaming
    }

    /// Reads and decodes the next batch; nil when the session is not streaming.
    /// - Throws: `.disconnected` when the link went away (the samples returned so far stay valid),
    ///   `.timeout` when nothing arrived within `streamTimeout`, `.transport` otherwise.
    public func next() async throws(PPK2Error) -> PPK2Batch? {
        guard state == .streaming else { return nil }
        var bytes: [UInt8]
        do {
            bytes = try await transport.read(maxCount: options.readSize, timeout: options.streamTimeout)
        } catch {
            switch error {
            case .timeout: throw .timeout(endpoint: transport.endpoint, operation: "sample stream", waited: options.streamTimeout)
            default: throw mapped(error)
            }
        }
        // Whatever else is already there joins the batch (a pty hands out at most 4 KB per read);
        // a failure here waits for the next call, after these bytes are decoded.
        while bytes.count < options.readSize {
            guard let more = try? await transport.read(maxCount: options.readSize - bytes.count, timeout: .zero) else { break }
            bytes += more
        }
        return decode(bytes, at: ContinuousClock.now)
    }

    /// The batches as an asynchronous sequence, until `stop()` or an error (a `PPK2Error`).
    public nonisolated func batches() -> AsyncThrowingStream<PPK2Batch, any Error> {
        AsyncThrowingStream { () async throws -> PPK2Batch? in
            try await self.next()
        }
    }

    /// Stops sampling (AverageStop), decodes what is still on the line, and accounts for the run.
    /// Returns the summary and the last batch (nil when nothing came after the stop).
    public func stop() async throws(PPK2Error) -> (summary: PPK2StreamSummary, last: PPK2Batch?) {
        guard state == .streaming, let startedAt else {
            throw .invalidState(operation: "stop", expected: "streaming", actual: state.rawValue)
        }
        try await send(.averageStop)
        let stoppedAt = ContinuousClock.now
        var tail: [UInt8] = []
        do {
            tail = try await collect(quiet: options.drainQuiet, limit: .seconds(5))
        } catch {
            if state == .streaming { state = .connected }
            throw error
        }
        let last = tail.isEmpty ? nil : decode(tail, at: ContinuousClock.now)
        state = .connected
        let elapsed = stoppedAt - startedAt
        let expected = Int64((elapsed.inSeconds.value * Double(PPK2Sample.samplesPerSecond)).rounded())
        let accounted = Int64(samplesReceived + samplesMissing) + losses.reduce(0) { $0 + $1.samples }
        let unaccounted = expected - accounted
        if unaccounted > Int64(max(options.lossTolerance, 0)) {
            losses.append(PPK2Loss(kind: .unaccounted, streamIndex: streamBase + decoder.receivedCount + decoder.missingCount,
                                   samples: unaccounted))
        }
        let summary = PPK2StreamSummary(samplesReceived: samplesReceived, samplesMissing: samplesMissing, elapsed: elapsed,
                                        unaccounted: unaccounted, gaps: gaps, losses: losses)
        return (summary, last)
    }

    /// After a disconnect: goes on over `transport` (the replugged device), running the connect
    /// sequence again and, when the session was streaming, restarting the stream. The samples the
    /// device measured while the link was down are recorded as a `.reconnect` loss estimated from
    /// wall time; stream indices go on past them.
    public func reconnect(_ transport: any Transport) async throws(PPK2Error) {
        guard state == .disconnected || state == .idle || state == .connected else {
            throw .invalidState(operation: "reconnect", expected: "disconnected", actual: state.rawValue)
        }
        await self.transport.close()
        self.transport = transport
        state = .idle
        try await connect()
        guard resumeStreaming else { return }
        resumeStreaming = false
        // Fold the finished stretch into the session totals; the decoder starts over.
        receivedBase += decoder.receivedCount
        streamBase += decoder.receivedCount + decoder.missingCount
        decoder.reset()
        try await send(.averageStart)
        let now = ContinuousClock.now
        let down = now - (disconnectedAt ?? now)
        let lost = Int64((down.inSeconds.value * Double(PPK2Sample.samplesPerSecond)).rounded())
        streamBase += UInt64(max(lost, 0))
        losses.append(PPK2Loss(kind: .reconnect, streamIndex: streamBase, samples: lost))
        stretchStart = now
        state = .streaming
    }

    /// Closes the transport (without stopping the device).
    public func close() async {
        await transport.close()
        state = .closed
    }

    // MARK: Helpers

    private func decode(_ bytes: [UInt8], at time: ContinuousClock.Instant) -> PPK2Batch {
        let receivedBefore = decoder.receivedCount
        let missingBefore = decoder.missingCount
        let gapCount = decoder.gaps.count
        let samples = decoder.decode(bytes)
        var batchGaps: [PPK2Gap] = []
        for g in decoder.gaps[gapCount...] {
            var s = g
            s.receivedIndex += receivedBase
            s.streamIndex += streamBase
            batchGaps.append(s)
        }
        gaps += batchGaps
        // A gap right at the first sample moves the batch's first stream index.
        let leading = decoder.gaps[gapCount...].first { $0.receivedIndex == receivedBefore }.map { UInt64($0.missing) } ?? 0
        let stretch = (stretchStart.map { time - $0 } ?? .zero).inSeconds
        return PPK2Batch(samples: samples, firstReceivedIndex: receivedBase + receivedBefore,
                         firstStreamIndex: streamBase + receivedBefore + missingBefore + leading, gaps: batchGaps,
                         unaccounted: decoder.unaccountedSamples(after: stretch), receivedAt: time)
    }

    private func send(_ command: PPK2Command) async throws(PPK2Error) {
        let bytes = try command.encoded()
        do {
            try await transport.write(bytes, timeout: .seconds(2))
        } catch {
            throw mapped(error)
        }
    }

    /// Reads until the line is silent for `quiet` (or `limit` passes); returns the bytes.
    private func collect(quiet: Duration, limit: Duration) async throws(PPK2Error) -> [UInt8] {
        var out: [UInt8] = []
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            do {
                out += try await transport.read(maxCount: options.readSize, timeout: quiet)
            } catch {
                if case .timeout = error { break }
                throw mapped(error)
            }
        }
        return out
    }

    private func drain(quiet: Duration, limit: Duration) async throws(PPK2Error) {
        _ = try await collect(quiet: quiet, limit: limit)
    }

    /// A transport error as a PPK2 error; a disconnect also moves the session to `.disconnected`.
    private func mapped(_ error: TransportError) -> PPK2Error {
        switch error {
        case .disconnected(let context, let reason):
            if state == .streaming { resumeStreaming = true }
            state = .disconnected
            disconnectedAt = ContinuousClock.now
            return .disconnected(endpoint: context.endpoint, reason: reason, samplesReceived: samplesReceived,
                                 samplesMissing: samplesMissing)
        case .io:
            if state == .streaming { resumeStreaming = true }
            state = .disconnected
            disconnectedAt = ContinuousClock.now
            return .transport(error)
        default:
            return .transport(error)
        }
    }
}
