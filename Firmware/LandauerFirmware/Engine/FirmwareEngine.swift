/// The board's command engine: frames in, frames out.
///
/// It splits the link's byte stream into frames, checks them, answers retransmissions from a
/// cache, validates every request against the safety limits *before* touching the hardware
/// (a refused request changes nothing), runs it on the analog front end, and counts what it did.
/// The same source runs on the microcontroller and inside the virtual board.
public struct FirmwareEngine<FrontEnd: AnalogFrontEnd> {
    /// The hardware (or simulated hardware) the engine drives.
    public var frontEnd: FrontEnd
    /// Limits in force; reset to the hardware's absolute limits by RESET.
    public private(set) var limits: SafetyLimits
    /// The firmware version reported in INFO.
    public let firmwareVersion: FirmwareVersion
    /// The marker value currently driven.
    public private(set) var marker: UInt8 = 0
    /// The newest sequence number executed (or refused) in this session; nil before the first.
    public private(set) var latestSequence: UInt16?

    @usableFromInline var counters = Counters()
    @usableFromInline var splitter: FrameSplitter
    /// The largest request or response body, from the hardware's buffers.
    @usableFromInline let maxBody: UInt16
    @usableFromInline var cache: RetransmitCache
    @usableFromInline var costs = CycleCosts()

    /// The version of this firmware engine.
    public static var currentVersion: FirmwareVersion { FirmwareVersion(major: 0, minor: 2, patch: 1) }

    /// Creates an engine on `frontEnd`, answering up to `retransmitDepth` recent requests from cache.
    public init(frontEnd: FrontEnd, retransmitDepth: Int = 4, firmwareVersion: FirmwareVersion = Self.currentVersion) {
        self.frontEnd = frontEnd
        self.limits = frontEnd.hardware.absoluteLimits
        self.firmwareVersion = firmwareVersion
        self.cache = RetransmitCache(depth: retransmitDepth)
        self.maxBody = frontEnd.hardware.maxFrameBody
        let decoded = Frame.headerSize + Int(maxBody) + Frame.checksumSize
        self.splitter = FrameSplitter(limit: COBS.maxEncodedCount(decoded))
    }

    /// The activity counters, with the uptime read from the board timer.
    public var currentCounters: Counters {
        var c = counters
        c.uptimeNanoseconds = frontEnd.nanoseconds
        return c
    }

    /// Feeds bytes arriving on the link; calls `send` with each complete encoded response frame
    /// (0x00 delimiter included), in order.
    public mutating func receive(_ bytes: [UInt8], send: ([UInt8]) -> Void) {
        var frames: [FrameSplitter.Piece] = []
        splitter.feed(bytes) { frames.append($0) }
        for piece in frames {
            switch piece {
            case .frame(let encoded):
                send(handle(encodedFrame: encoded))
            case .overflow(let discarded):
                counters.framesRejected &+= 1
                let e = ErrorResponse(code: .badFrame, opcode: 0, value: Float(discarded), limit: Float(splitter.limit))
                send(Response.error(e).frame(answering: .ping, sequence: 0xFFFF).encoded())
            }
        }
    }

    /// Handles one encoded frame (the bytes between delimiters) and returns the encoded response.
    ///
    /// Sequence rules (docs/protocol.md, Exchange): a frame whose sequence number and bytes are in
    /// the cache gets the cached response; any other frame whose sequence number is not newer than
    /// the session's latest is refused (`sequenceReused`), since it was either executed already or
    /// is a stale copy. HELLO is never answered from the cache: it starts a new session, and only
    /// a successful HELLO clears the cache and resets the latest sequence number.
    public mutating func handle(encodedFrame encoded: [UInt8]) -> [UInt8] {
        frontEnd.run(cycles: costs.perFrame &+ costs.perByte &* UInt32(truncatingIfNeeded: encoded.count))
        let frame: Frame
        let key: UInt32
        do {
            (frame, key) = try encoded.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(ProtocolError) in
                try Frame.decodeWithChecksum(b)
            }
        } catch {
            counters.framesRejected &+= 1
            let e = ErrorResponse(code: .badFrame, opcode: 0, index: 0)
            return Response.error(e).frame(answering: .ping, sequence: Self.bestEffortSequence(encoded)).encoded()
        }
        let isHello = frame.type == Opcode.hello.rawValue
        if !isHello {
            switch cache.lookup(sequence: frame.sequence, key: key) {
            case .hit(let response):
                counters.retransmitsAnswered &+= 1
                return response
            case .conflict:
                return refuseSequence(frame)
            case .miss:
                if let latest = latestSequence, !Self.isNewer(frame.sequence, than: latest) {
                    return refuseSequence(frame)
                }
            }
        }
        let response: [UInt8]
        let request: Request
        do {
            request = try Request.decode(frame)
        } catch {
            counters.framesRejected &+= 1
            let e = Self.refusal(for: error, type: frame.type)
            response = Response.error(e).frame(answering: .ping, sequence: frame.sequence).encoded()
            if !isHello { remember(frame.sequence, key: key, response: response) }
            return response
        }
        let reply = execute(request)
        response = reply.frame(answering: request.opcode, sequence: frame.sequence).encoded()
        frontEnd.run(cycles: costs.perByte &* UInt32(truncatingIfNeeded: response.count))
        if isHello {
            if case .info = reply {
                cache.clear()
                latestSequence = frame.sequence
            }
        } else {
            remember(frame.sequence, key: key, response: response)
        }
        return response
    }

    /// Caches a response and advances the session's latest sequence number.
    mutating func remember(_ sequence: UInt16, key: UInt32, response: [UInt8]) {
        cache.store(sequence: sequence, key: key, response: response)
        if latestSequence.map({ Self.isNewer(sequence, than: $0) }) ?? true { latestSequence = sequence }
    }

    /// Refuses a frame whose sequence number was used already (value: its number, limit: the latest).
    mutating func refuseSequence(_ frame: Frame) -> [UInt8] {
        counters.framesRejected &+= 1
        let e = ErrorResponse(code: .sequenceReused, opcode: frame.type, index: 0, value: Float(frame.sequence), limit: Float(latestSequence ?? 0))
        return Response.error(e).frame(answering: .ping, sequence: frame.sequence).encoded()
    }

    /// Serial-number order of 16-bit sequence numbers (RFC 1982): `a` is newer than `b` when it is
    /// 1 … 32 767 steps ahead of it, modulo 65 536.
    @inlinable public static func isNewer(_ a: UInt16, than b: UInt16) -> Bool {
        let d = a &- b
        return d != 0 && d < 0x8000
    }

    /// The sequence number of a damaged frame when its header is still readable, else 0xFFFF.
    /// The COBS decoding here is lenient: it keeps whatever decodes before the damage.
    static func bestEffortSequence(_ encoded: [UInt8]) -> UInt16 {
        var raw: [UInt8] = []
        var i = 0
        while i < encoded.count && raw.count < Frame.headerSize {
            let code = Int(encoded[i])
            if code == 0 { break }
            var j = i + 1
            while j < i + code && j < encoded.count && encoded[j] != 0 {
                raw.append(encoded[j])
                j += 1
            }
            if j < i + code { break }
            i = j
            if code != 0xFF { raw.append(0) }
        }
        guard raw.count >= 4 else { return 0xFFFF }
        return UInt16(raw[2]) | UInt16(raw[3]) << 8
    }

    static func refusal(for error: ProtocolError, type: UInt8) -> ErrorResponse {
        switch error {
        case .unsupportedVersion(let v):
            return ErrorResponse(code: .unsupportedVersion, opcode: type, value: Float(v), limit: Float(ProtocolVersion.current))
        case .unknownType:
            return ErrorResponse(code: .unknownOpcode, opcode: type)
        case .truncatedBody(_, let offset), .trailingBytes(_, let offset), .invalidField(_, let offset):
            return ErrorResponse(code: .malformedBody, opcode: type, index: UInt16(truncatingIfNeeded: offset))
        default:
            return ErrorResponse(code: .badFrame, opcode: type)
        }
    }

    // MARK: Execution

    /// Validates and runs one request. Validation happens in full before anything is driven.
    public mutating func execute(_ request: Request) -> Response {
        frontEnd.run(cycles: costs.dispatch)
        let result: Result<Response, ErrorResponse>
        switch request {
        case .hello(let hostVersion):
            if hostVersion != ProtocolVersion.current {
                result = .failure(ErrorResponse(code: .unsupportedVersion, opcode: Opcode.hello.rawValue, value: Float(hostVersion), limit: Float(ProtocolVersion.current)))
            } else {
                result = .success(.info(info))
            }
        case .ping(let payload):
            result = .success(.pong(payload))
        case .readConductance(let r):
            result = readConductances(r)
        case .matrixVector(let m):
            result = matrixVector(m)
        case .programPulses(let pulses):
            result = program(pulses)
        case .outerProduct(let u):
            result = outerProduct(u)
        case .setLimits(let l):
            result = setLimits(l)
        case .marker(let value):
            frontEnd.setMarkers(value)
            marker = value
            result = .success(.marker(MarkerAck(value: value, timestampNanoseconds: frontEnd.nanoseconds)))
        case .temperature:
            let t = frontEnd.readTemperature()
            result = .success(.temperature(TemperatureReading(temperature: t, timestampNanoseconds: frontEnd.nanoseconds)))
        case .counters:
            result = .success(.counters(currentCounters))
        case .sweep(let q):
            result = sweep(q)
        case .reset:
            counters = Counters()
            limits = frontEnd.hardware.absoluteLimits
            frontEnd.setMarkers(0)
            marker = 0
            result = .success(.reset)
        }
        switch result {
        case .success(let r):
            counters.requestsExecuted &+= 1
            return r
        case .failure(let e):
            return .error(e)
        }
    }

    /// The INFO this board reports.
    public var info: BoardInfo {
        let hw = frontEnd.hardware
        return BoardInfo(
            protocolVersion: ProtocolVersion.current, firmwareVersion: firmwareVersion, serial: hw.serial,
            clockHertz: hw.clockHertz, dacBits: hw.dacBits, adcBits: hw.adcBits, markerLines: hw.markerLines,
            maxRequestBody: maxBody, deviceReadFullScale: hw.deviceReadFullScale, tiles: hw.tiles,
            absoluteLimits: hw.absoluteLimits, activeLimits: limits)
    }

    @usableFromInline func tileInfo(_ tile: UInt8, opcode: Opcode) -> Result<TileInfo, ErrorResponse> {
        let tiles = frontEnd.hardware.tiles
        if Int(tile) >= tiles.count {
            return .failure(ErrorResponse(code: .addressOutOfRange, opcode: opcode.rawValue, value: Float(tile), limit: Float(tiles.count)))
        }
        return .success(tiles[Int(tile)])
    }

    @usableFromInline func checkReadVoltage(_ v: Volts, opcode: Opcode) -> ErrorResponse? {
        if !(v.value > 0) || exceeds(v.value, limits.readVoltage.value) {
            return ErrorResponse(code: .voltageOutOfLimit, opcode: opcode.rawValue, value: Float(v.value), limit: Float(limits.readVoltage.value))
        }
        return nil
    }

    mutating func readConductances(_ r: ConductanceRead) -> Result<Response, ErrorResponse> {
        let op = Opcode.readConductance
        let tile: TileInfo
        switch tileInfo(r.tile, opcode: op) {
        case .success(let t): tile = t
        case .failure(let e): return .failure(e)
        }
        // index 0: the rows are out of range, 1: the columns; value: one past the last requested.
        if r.rows == 0 || Int(r.row) + Int(r.rows) > Int(tile.rows) {
            return .failure(ErrorResponse(code: .addressOutOfRange, opcode: op.rawValue, index: 0, value: Float(Int(r.row) + Int(r.rows)), limit: Float(tile.rows)))
        }
        if r.columns == 0 || Int(r.column) + Int(r.columns) > Int(tile.columns) {
            return .failure(ErrorResponse(code: .addressOutOfRange, opcode: op.rawValue, index: 1, value: Float(Int(r.column) + Int(r.columns)), limit: Float(tile.columns)))
        }
        if let e = checkReadVoltage(r.readVoltage, opcode: op) { return .failure(e) }
        let cells = UInt64(r.rows) * UInt64(r.columns) * UInt64(r.sideCount)
        let fits = (UInt64(maxBody) - 9) / 2
        if cells > fits {
            return .failure(ErrorResponse(code: .responseTooLarge, opcode: op.rawValue, value: Float(cells), limit: Float(fits)))
        }
        let n = Int(cells)
        var codes: [Int16] = []
        codes.reserveCapacity(n)
        for i in 0..<Int(r.rows) {
            for j in 0..<Int(r.columns) {
                for side in DeviceSide.allCases where r.sides & (1 << side.rawValue) != 0 {
                    frontEnd.run(cycles: costs.perDeviceRead)
                    codes.append(frontEnd.readDevice(tile: Int(r.tile), row: Int(r.row) + i, column: Int(r.column) + j, side: side, voltage: r.readVoltage))
                }
            }
        }
        counters.deviceReads &+= UInt64(n)
        counters.adcConversions &+= UInt64(n)
        counters.dacUpdates &+= UInt64(n)
        let hw = frontEnd.hardware
        let perCode = Siemens(hw.deviceReadFullScale.value / Double(hw.adcMaxCode) / r.readVoltage.value)
        return .success(.conductances(ConductanceReadResult(rows: r.rows, columns: r.columns, sides: r.sides, siemensPerCode: perCode, codes: codes)))
    }

    mutating func matrixVector(_ m: MatrixVectorRead) -> Result<Response, ErrorResponse> {
        let op: Opcode = m.orientation == .forward ? .matrixVector : .matrixVectorTransposed
        let tile: TileInfo
        switch tileInfo(m.tile, opcode: op) {
        case .success(let t): tile = t
        case .failure(let e): return .failure(e)
        }
        let inputs = Int(m.orientation == .forward ? tile.rows : tile.columns)
        let outputs = Int(m.orientation == .forward ? tile.columns : tile.rows)
        if Int(m.vectorLength) != inputs {
            return .failure(ErrorResponse(code: .geometryMismatch, opcode: op.rawValue, value: Float(m.vectorLength), limit: Float(inputs)))
        }
        if let e = checkReadVoltage(m.inputFullScale, opcode: op) { return .failure(e) }
        let maxCode = frontEnd.hardware.dacMaxCode
        var bad = -1
        m.inputs.withUnsafeBufferPointer { codes in
            for k in 0..<codes.count where codes[k] > maxCode || codes[k] < -maxCode {
                bad = k
                break
            }
        }
        if bad >= 0 {
            return .failure(ErrorResponse(code: .valueOutOfRange, opcode: op.rawValue, index: UInt16(truncatingIfNeeded: bad / inputs), value: Float(m.inputs[bad]), limit: Float(maxCode)))
        }
        let count = Int(m.vectorCount)
        let fits = (UInt64(maxBody) - 12) / (2 * UInt64(outputs))
        if UInt64(count) > fits {
            return .failure(ErrorResponse(code: .responseTooLarge, opcode: op.rawValue, value: Float(count), limit: Float(fits)))
        }
        var out = [Int16](repeating: 0, count: count * outputs)
        var saturated: UInt32 = 0
        let tileIndex = Int(m.tile)
        let perVector = costs.perVector &+ costs.perLine &* UInt32(inputs + outputs)
        m.inputs.withUnsafeBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                for v in 0..<count {
                    frontEnd.run(cycles: perVector)
                    frontEnd.driveInputs(
                        tile: tileIndex, orientation: m.orientation,
                        codes: UnsafeBufferPointer(rebasing: inBuf[(v * inputs)..<((v + 1) * inputs)]),
                        fullScale: m.inputFullScale)
                    saturated &+= frontEnd.convertOutputs(
                        tile: tileIndex, orientation: m.orientation,
                        into: UnsafeMutableBufferPointer(rebasing: outBuf[(v * outputs)..<((v + 1) * outputs)]))
                }
            }
        }
        counters.vectorReads &+= UInt64(count)
        counters.dacUpdates &+= UInt64(count * inputs)
        counters.adcConversions &+= UInt64(count * outputs)
        let perCode = Amperes(tile.outputFullScale.value / Double(frontEnd.hardware.adcMaxCode))
        return .success(.matrixVector(MatrixVectorResult(vectorCount: m.vectorCount, outputLength: UInt16(outputs), amperesPerCode: perCode, saturated: saturated, outputs: out)))
    }

    /// Checks a programming amplitude and width against the active limits.
    @usableFromInline func checkPulse(amplitude: Volts, width: UInt32, index: Int, opcode: Opcode) -> ErrorResponse? {
        if !(amplitude.value > 0) || exceeds(amplitude.value, limits.programVoltage.value) {
            return ErrorResponse(code: .voltageOutOfLimit, opcode: opcode.rawValue, index: UInt16(truncatingIfNeeded: index), value: Float(amplitude.value), limit: Float(limits.programVoltage.value))
        }
        if width < limits.minPulseWidthNanoseconds {
            return ErrorResponse(code: .pulseWidthOutOfLimit, opcode: opcode.rawValue, index: UInt16(truncatingIfNeeded: index), value: Float(width), limit: Float(limits.minPulseWidthNanoseconds))
        }
        if width > limits.maxPulseWidthNanoseconds {
            return ErrorResponse(code: .pulseWidthOutOfLimit, opcode: opcode.rawValue, index: UInt16(truncatingIfNeeded: index), value: Float(width), limit: Float(limits.maxPulseWidthNanoseconds))
        }
        return nil
    }

    mutating func program(_ pulses: [PulseCommand]) -> Result<Response, ErrorResponse> {
        let op = Opcode.programPulses
        let tiles = frontEnd.hardware.tiles
        var total: UInt64 = 0
        for (k, p) in pulses.enumerated() {
            if Int(p.tile) >= tiles.count || p.row >= tiles[Int(p.tile)].rows || p.column >= tiles[Int(p.tile)].columns {
                return .failure(ErrorResponse(code: .addressOutOfRange, opcode: op.rawValue, index: UInt16(truncatingIfNeeded: k), value: Float(p.tile)))
            }
            if p.polarity != 1 && p.polarity != -1 {
                return .failure(ErrorResponse(code: .valueOutOfRange, opcode: op.rawValue, index: UInt16(truncatingIfNeeded: k), value: Float(p.polarity), limit: 1))
            }
            if let e = checkPulse(amplitude: p.amplitude, width: p.widthNanoseconds, index: k, opcode: op) { return .failure(e) }
            total &+= UInt64(p.repeat)
        }
        if total > UInt64(limits.maxPulsesPerRequest) {
            return .failure(ErrorResponse(code: .pulseCountOutOfLimit, opcode: op.rawValue, value: Float(total), limit: Float(limits.maxPulsesPerRequest)))
        }
        let start = frontEnd.nanoseconds
        for p in pulses {
            for _ in 0..<Int(p.repeat) {
                frontEnd.run(cycles: costs.perPulse)
                frontEnd.pulse(tile: Int(p.tile), row: Int(p.row), column: Int(p.column), side: p.side, polarity: p.polarity, amplitude: p.amplitude, widthNanoseconds: p.widthNanoseconds, compliance: limits.complianceCurrent)
            }
        }
        counters.pulses &+= total
        return .success(.programmed(ProgramResult(pulsesApplied: UInt32(truncatingIfNeeded: total), elapsedNanoseconds: frontEnd.nanoseconds &- start)))
    }

    mutating func outerProduct(_ u: OuterProductUpdate) -> Result<Response, ErrorResponse> {
        let op = Opcode.outerProduct
        let tile: TileInfo
        switch tileInfo(u.tile, opcode: op) {
        case .success(let t): tile = t
        case .failure(let e): return .failure(e)
        }
        let nr = Int(tile.rows)
        let nc = Int(tile.columns)
        if u.rowSigns.count != nr {
            return .failure(ErrorResponse(code: .geometryMismatch, opcode: op.rawValue, value: Float(u.rowSigns.count), limit: Float(nr)))
        }
        if u.columnSigns.count != nc {
            return .failure(ErrorResponse(code: .geometryMismatch, opcode: op.rawValue, index: 1, value: Float(u.columnSigns.count), limit: Float(nc)))
        }
        for (k, s) in (u.rowSigns + u.columnSigns).enumerated() where s < -1 || s > 1 {
            return .failure(ErrorResponse(code: .valueOutOfRange, opcode: op.rawValue, index: UInt16(truncatingIfNeeded: k), value: Float(s), limit: 1))
        }
        if let e = checkPulse(amplitude: u.amplitude, width: u.widthNanoseconds, index: 0, opcode: op) { return .failure(e) }
        let bl = Int(u.trainLength)
        // Worst case: every active row meets every active column in every slot.
        let activeRows = u.rowSigns.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let activeColumns = u.columnSigns.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let worst = UInt64(bl) * UInt64(activeRows) * UInt64(activeColumns)
        if worst > UInt64(limits.maxPulsesPerRequest) {
            return .failure(ErrorResponse(code: .pulseCountOutOfLimit, opcode: op.rawValue, value: Float(worst), limit: Float(limits.maxPulsesPerRequest)))
        }
        let start = frontEnd.nanoseconds
        var rowDrive = [Int8](repeating: 0, count: nr)
        var columnDrive = [Int8](repeating: 0, count: nc)
        var coincidences: UInt32 = 0
        // Each slot runs as up to four sub-slots, one per pair of input signs, because a half-select
        // drive (r + c)·V/2 reaches full amplitude only where row and column drives are equal.
        let phases = Self.updatePhases(u.mode)
        for slot in 0..<bl {
            for phase in phases {
                var anyRow = false
                var anyColumn = false
                for i in 0..<nr {
                    let fires = u.rowSigns[i] == phase.rowSign && OuterProductUpdate.fires(u.rowTrains, line: i, slot: slot, length: u.trainLength)
                    rowDrive[i] = fires ? phase.drive : 0
                    anyRow = anyRow || fires
                }
                for j in 0..<nc {
                    let fires = u.columnSigns[j] == phase.columnSign && OuterProductUpdate.fires(u.columnTrains, line: j, slot: slot, length: u.trainLength)
                    columnDrive[j] = fires ? phase.drive : 0
                    anyColumn = anyColumn || fires
                }
                frontEnd.run(cycles: costs.perSlot &+ costs.perLine &* UInt32(nr + nc))
                if !(anyRow && anyColumn) { continue }
                coincidences &+= rowDrive.withUnsafeBufferPointer { r in
                    columnDrive.withUnsafeBufferPointer { c in
                        frontEnd.pulseSlot(tile: Int(u.tile), side: phase.side, rowDrive: r, columnDrive: c, amplitude: u.amplitude, widthNanoseconds: u.widthNanoseconds, compliance: limits.complianceCurrent)
                    }
                }
            }
        }
        counters.pulses &+= UInt64(coincidences)
        return .success(.outerProduct(OuterProductResult(coincidences: coincidences, slots: u.trainLength, elapsedNanoseconds: frontEnd.nanoseconds &- start)))
    }

    /// One sub-slot of an outer-product update: lines with these signs are driven at `drive` on `side`.
    @usableFromInline struct UpdatePhase {
        @usableFromInline var rowSign: Int8
        @usableFromInline var columnSign: Int8
        @usableFromInline var side: DeviceSide
        @usableFromInline var drive: Int8
    }

    /// The sub-slots that realise the sign product s_i·s_j of a coincidence for each mode.
    @usableFromInline static func updatePhases(_ mode: UpdateMode) -> [UpdatePhase] {
        switch mode {
        case .plusSigned:
            // s_i·s_j = +1 potentiates G⁺, −1 depresses it.
            return [UpdatePhase(rowSign: 1, columnSign: 1, side: .plus, drive: 1),
                    UpdatePhase(rowSign: -1, columnSign: -1, side: .plus, drive: 1),
                    UpdatePhase(rowSign: 1, columnSign: -1, side: .plus, drive: -1),
                    UpdatePhase(rowSign: -1, columnSign: 1, side: .plus, drive: -1)]
        case .minusSigned:
            // The weight G⁺ − G⁻ moves by s_i·s_j: depress G⁻ for +1, potentiate it for −1.
            return [UpdatePhase(rowSign: 1, columnSign: 1, side: .minus, drive: -1),
                    UpdatePhase(rowSign: -1, columnSign: -1, side: .minus, drive: -1),
                    UpdatePhase(rowSign: 1, columnSign: -1, side: .minus, drive: 1),
                    UpdatePhase(rowSign: -1, columnSign: 1, side: .minus, drive: 1)]
        case .differentialSet:
            // Potentiation only: +1 on G⁺, −1 on G⁻.
            return [UpdatePhase(rowSign: 1, columnSign: 1, side: .plus, drive: 1),
                    UpdatePhase(rowSign: -1, columnSign: -1, side: .plus, drive: 1),
                    UpdatePhase(rowSign: 1, columnSign: -1, side: .minus, drive: 1),
                    UpdatePhase(rowSign: -1, columnSign: 1, side: .minus, drive: 1)]
        }
    }

    /// The compliance a sweep runs with: the requested one, clamped to the active limit; refused
    /// (`currentOutOfLimit`, limit: the absolute compliance) when it is not positive or above the
    /// hardware's absolute limit. Returns the compliance in force and whether it was clamped.
    @usableFromInline func sweepCompliance(_ requested: Amperes) -> Result<(Amperes, Bool), ErrorResponse> {
        let absolute = frontEnd.hardware.absoluteLimits.complianceCurrent
        if !(requested.value > 0) || exceeds(requested.value, absolute.value) {
            return .failure(ErrorResponse(code: .currentOutOfLimit, opcode: Opcode.sweep.rawValue, value: Float(requested.value), limit: Float(absolute.value)))
        }
        if exceeds(requested.value, limits.complianceCurrent.value) { return .success((limits.complianceCurrent, true)) }
        return .success((requested, false))
    }

    /// SINGLE-CELL SWEEP: validates everything (address, compliance, every step voltage, dwell,
    /// read voltage, step count, response size) before the first step, then runs the steps,
    /// stopping after the one that meets the stop condition.
    mutating func sweep(_ q: SweepRequest) -> Result<Response, ErrorResponse> {
        let op = Opcode.sweep
        let tiles = frontEnd.hardware.tiles
        if Int(q.tile) >= tiles.count || q.row >= tiles[Int(q.tile)].rows || q.column >= tiles[Int(q.tile)].columns {
            return .failure(ErrorResponse(code: .addressOutOfRange, opcode: op.rawValue, value: Float(q.tile), limit: Float(tiles.count)))
        }
        let compliance: Amperes
        let clamped: Bool
        switch sweepCompliance(q.compliance) {
        case .success(let c): (compliance, clamped) = c
        case .failure(let e): return .failure(e)
        }
        let n = q.voltages.count
        for k in 0..<n where exceeds(q.voltages[k].magnitude.value, limits.programVoltage.value) {
            return .failure(ErrorResponse(code: .voltageOutOfLimit, opcode: op.rawValue, index: UInt16(truncatingIfNeeded: k), value: Float(q.voltages[k].value), limit: Float(limits.programVoltage.value)))
        }
        if q.dwellNanoseconds < limits.minPulseWidthNanoseconds {
            return .failure(ErrorResponse(code: .pulseWidthOutOfLimit, opcode: op.rawValue, value: Float(q.dwellNanoseconds), limit: Float(limits.minPulseWidthNanoseconds)))
        }
        if q.dwellNanoseconds > limits.maxPulseWidthNanoseconds {
            return .failure(ErrorResponse(code: .pulseWidthOutOfLimit, opcode: op.rawValue, value: Float(q.dwellNanoseconds), limit: Float(limits.maxPulseWidthNanoseconds)))
        }
        let pulsed = q.mode == .pulsed
        if pulsed, var e = checkReadVoltage(q.readVoltage, opcode: op) {
            e.index = 0xFFFF
            return .failure(e)
        }
        if UInt64(n) > UInt64(limits.maxPulsesPerRequest) {
            return .failure(ErrorResponse(code: .pulseCountOutOfLimit, opcode: op.rawValue, value: Float(n), limit: Float(limits.maxPulsesPerRequest)))
        }
        let fits = (Int(maxBody) - SweepResult.headerSize) / SweepStep.wireSize
        if n > fits {
            return .failure(ErrorResponse(code: .responseTooLarge, opcode: op.rawValue, value: Float(n), limit: Float(fits)))
        }
        let hw = frontEnd.hardware
        let range = hw.sweepCurrentRange(for: compliance)
        let amperesPerCode = Amperes(range.value / Double(hw.adcMaxCode))
        let siemensPerCode = pulsed ? Siemens(hw.deviceReadFullScale.value / Double(hw.adcMaxCode) / q.readVoltage.value) : Siemens.zero
        let tile = Int(q.tile)
        let row = Int(q.row)
        let column = Int(q.column)
        let start = frontEnd.nanoseconds
        var steps: [SweepStep] = []
        steps.reserveCapacity(n)
        var stopped = false
        for k in 0..<n {
            frontEnd.run(cycles: costs.perPulse)
            let m = frontEnd.applyDC(tile: tile, row: row, column: column, side: q.side, voltage: q.voltages[k], compliance: compliance, dwellNanoseconds: q.dwellNanoseconds,
                currentFullScale: range)
            var step = SweepStep(voltage: m.voltage, currentCode: m.currentCode, limited: m.limited)
            if pulsed {
                frontEnd.run(cycles: costs.perDeviceRead)
                step.readCode = frontEnd.readDevice(tile: tile, row: row, column: column, side: q.side, voltage: q.readVoltage)
            }
            steps.append(step)
            switch q.stop {
            case .none: break
            case .compliance: stopped = m.limited
            case .conductance:
                if pulsed {
                    stopped = siemensPerCode.value * Double(step.readCode) >= q.stopConductance.value
                } else if m.voltage.value != 0 {
                    stopped = (amperesPerCode.value * Double(step.currentCode) / m.voltage.value) >= q.stopConductance.value
                }
            }
            if stopped { break }
        }
        let done = UInt64(steps.count)
        let reads: UInt64 = pulsed ? done : 0
        counters.pulses &+= done
        counters.deviceReads &+= reads
        counters.adcConversions &+= done &+ reads
        counters.dacUpdates &+= done &+ reads
        return .success(.sweep(SweepResult(
            stopped: stopped, complianceClamped: clamped, compliance: compliance, amperesPerCode: amperesPerCode,
            siemensPerCode: siemensPerCode, elapsedNanoseconds: frontEnd.nanoseconds &- start, steps: steps)))
    }

    mutating func setLimits(_ l: SafetyLimits) -> Result<Response, ErrorResponse> {
        let op = Opcode.setLimits.rawValue
        let hw = frontEnd.hardware.absoluteLimits
        func above(_ index: UInt16, _ v: Double, _ limit: Double) -> ErrorResponse {
            ErrorResponse(code: .limitAboveHardware, opcode: op, index: index, value: Float(v), limit: Float(limit))
        }
        if !(l.programVoltage.value > 0) || exceeds(l.programVoltage.value, hw.programVoltage.value) { return .failure(above(0, l.programVoltage.value, hw.programVoltage.value)) }
        if !(l.readVoltage.value > 0) || exceeds(l.readVoltage.value, hw.readVoltage.value) { return .failure(above(1, l.readVoltage.value, hw.readVoltage.value)) }
        if l.minPulseWidthNanoseconds < hw.minPulseWidthNanoseconds { return .failure(above(2, Double(l.minPulseWidthNanoseconds), Double(hw.minPulseWidthNanoseconds))) }
        if l.maxPulseWidthNanoseconds > hw.maxPulseWidthNanoseconds || l.maxPulseWidthNanoseconds < l.minPulseWidthNanoseconds { return .failure(above(3, Double(l.maxPulseWidthNanoseconds), Double(hw.maxPulseWidthNanoseconds))) }
        if !(l.complianceCurrent.value > 0) || exceeds(l.complianceCurrent.value, hw.complianceCurrent.value) { return .failure(above(4, l.complianceCurrent.value, hw.complianceCurrent.value)) }
        if l.maxPulsesPerRequest == 0 || l.maxPulsesPerRequest > hw.maxPulsesPerRequest { return .failure(above(5, Double(l.maxPulsesPerRequest), Double(hw.maxPulsesPerRequest))) }
        limits = l
        return .success(.limits(l))
    }
}

/// True when `value` is above `limit` at the wire's binary32 precision: limits travel as f32, so
/// a value equal to a reported limit after rounding is within it.
@inlinable func exceeds(_ value: Double, _ limit: Double) -> Bool { Float(value) > Float(limit) }

/// Firmware work in core clock cycles, the engine's cost model for its own time and energy.
/// Figures are for a Cortex-M4 at tens to hundreds of MHz running this engine.
@usableFromInline struct CycleCosts {
    /// Per received or sent byte (COBS and CRC).
    @usableFromInline var perByte: UInt32 = 12
    /// Per frame (splitting, header, cache lookup).
    @usableFromInline var perFrame: UInt32 = 400
    /// Per dispatched request.
    @usableFromInline var dispatch: UInt32 = 150
    /// Per matrix-vector input vector.
    @usableFromInline var perVector: UInt32 = 60
    /// Per input or output line handled.
    @usableFromInline var perLine: UInt32 = 4
    /// Per single-device read.
    @usableFromInline var perDeviceRead: UInt32 = 40
    /// Per programming pulse.
    @usableFromInline var perPulse: UInt32 = 50
    /// Per outer-product sub-slot.
    @usableFromInline var perSlot: UInt32 = 30
}

/// Recent responses by sequence number, so a retransmitted request is answered, not re-executed.
@usableFromInline struct RetransmitCache {
    @usableFromInline struct Entry {
        @usableFromInline var sequence: UInt16
        @usableFromInline var key: UInt32
        @usableFromInline var response: [UInt8]
    }
    @usableFromInline var entries: [Entry] = []
    @usableFromInline var next = 0
    @usableFromInline let depth: Int

    @usableFromInline init(depth: Int) { self.depth = depth < 1 ? 1 : depth }

    @usableFromInline enum Lookup {
        case hit([UInt8])
        case conflict
        case miss
    }

    /// A cached response for the same request bytes; a conflict if the sequence was used for other bytes.
    @usableFromInline func lookup(sequence: UInt16, key: UInt32) -> Lookup {
        for e in entries where e.sequence == sequence {
            return e.key == key ? .hit(e.response) : .conflict
        }
        return .miss
    }

    @usableFromInline mutating func store(sequence: UInt16, key: UInt32, response: [UInt8]) {
        let e = Entry(sequence: sequence, key: key, response: response)
        if entries.count < depth {
            entries.append(e)
        } else {
            entries[next] = e
        }
        next = (next + 1) % depth
    }

    @usableFromInline mutating func clear() {
        entries.removeAll()
        next = 0
    }
}
