/// A USBTMC session with one instrument over its bulk endpoints: messages out, responses in, and
/// the clear and abort sequences of the class.
///
/// Runs over any `BulkEndpoints`: libusb for real instruments, `InMemoryBulkPair` for tests and
/// virtual instruments. Every message is one or more `DEV_DEP_MSG_OUT` transfers (EOM on the
/// last); every read sends `REQUEST_DEV_DEP_MSG_IN` and takes `DEV_DEP_MSG_IN` transfers until
/// one carries EOM. Tags run 1…255 and wrap to 1.
///
/// ```swift
/// let session = USBTMCSession(endpoints: try LibUSBBulkEndpoints.open(vendorID: 0x0957, productID: 0x1A07))
/// let idn = try await session.query("*IDN?\n")
/// ```
public actor USBTMCSession {
    /// The endpoints the session talks through.
    public let endpoints: any BulkEndpoints
    /// The most payload bytes sent in one `DEV_DEP_MSG_OUT` transfer (longer messages are split).
    public let maxTransferSize: Int
    /// The time each transfer and each class request may take.
    public var timeout: Duration
    /// The bTag of the last header sent (0 before the first).
    public private(set) var lastTag: UInt8 = 0

    /// Creates a session; `maxTransferSize` bounds each bulk-OUT transfer's payload.
    public init(endpoints: any BulkEndpoints, timeout: Duration = .seconds(5), maxTransferSize: Int = 1 << 20) {
        self.endpoints = endpoints
        self.timeout = timeout
        self.maxTransferSize = max(4, maxTransferSize)
    }

    /// Sets the timeout of later transfers and requests.
    public func setTimeout(_ timeout: Duration) { self.timeout = timeout }

    private func takeTag() -> UInt8 {
        lastTag = USBTMC.nextTag(after: lastTag)
        return lastTag
    }

    /// Sends `message` to the instrument, split into transfers of at most `maxTransferSize` bytes.
    public func write(_ message: [UInt8]) async throws(USBTMCError) {
        var offset = 0
        repeat {
            let end = min(message.count, offset + maxTransferSize)
            let transfer = USBTMC.devDepMsgOut(
                Array(message[offset..<end]), tag: takeTag(), endOfMessage: end == message.count)
            do {
                try await endpoints.bulkOut(transfer, timeout: timeout)
            } catch {
                throw .transport(error)
            }
            offset = end
        } while offset < message.count
    }

    /// Sends a text command (UTF-8), such as `*RST\n`.
    public func write(_ command: String) async throws(USBTMCError) {
        try await write(Array(command.utf8))
    }

    /// Reads one whole response message of at most `maxLength` bytes (asking again while the
    /// device's transfers lack EOM), ending early at `termChar` when given.
    ///
    /// - Throws: `.malformedResponse` for a wrong message ID, a tag that is not the request's, or a
    ///   transfer shorter than its header says; `.transport` when a transfer fails.
    public func read(maxLength: Int = 1 << 20, termChar: UInt8? = nil) async throws(USBTMCError) -> [UInt8] {
        var message: [UInt8] = []
        while message.count < maxLength {
            let wanted = maxLength - message.count
            let tag = takeTag()
            let request = USBTMCHeader.requestDevDepMsgIn(tag: tag, maxSize: UInt32(clamping: wanted), termChar: termChar)
            do {
                try await endpoints.bulkOut(request.bytes, timeout: timeout)
            } catch {
                throw .transport(error)
            }
            let (payload, header) = try await receiveResponse(tag: tag, wanted: wanted)
            message += payload
            if header.endOfMessage { break }
            if header.transferSize == 0 {
                throw .malformedResponse(reason: "an empty transfer without EOM", bytes: header.bytes)
            }
        }
        return message
    }

    /// Takes one `DEV_DEP_MSG_IN` answer to the request with `tag`, trimming padding and the bytes
    /// beyond TransferSize.
    private func receiveResponse(tag: UInt8, wanted: Int) async throws(USBTMCError) -> ([UInt8], USBTMCHeader) {
        let capacity = USBTMCHeader.size + wanted + USBTMC.padding(wanted)
        var transfer: [UInt8]
        do {
            transfer = try await endpoints.bulkIn(maxLength: capacity, timeout: timeout)
        } catch {
            throw .transport(error)
        }
        let header = try USBTMCHeader(parsing: transfer)
        guard header.messageID == USBTMC.MessageID.requestDevDepMsgIn.rawValue else {
            throw .malformedResponse(reason: "expected DEV_DEP_MSG_IN (2), got MsgID \(header.messageID)", bytes: transfer)
        }
        guard header.tag == tag else {
            throw .malformedResponse(reason: "the answer's bTag \(header.tag) is not the request's \(tag)", bytes: transfer)
        }
        guard Int(header.transferSize) <= wanted else {
            throw .malformedResponse(
                reason: "the device sent \(header.transferSize) bytes where at most \(wanted) were asked for", bytes: transfer)
        }
        let total = USBTMCHeader.size + Int(header.transferSize)
        // Only the first packet carries the header; a long answer may come in more bulk-IN transfers.
        while transfer.count < total {
            do {
                transfer += try await endpoints.bulkIn(maxLength: capacity - transfer.count, timeout: timeout)
            } catch {
                throw .transport(error)
            }
        }
        return (Array(transfer[USBTMCHeader.size..<total]), header)
    }

    /// Sends `command` and reads the response, as text (UTF-8).
    public func query(_ command: String, maxLength: Int = 1 << 20) async throws(USBTMCError) -> String {
        try await write(command)
        let bytes = try await read(maxLength: maxLength)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Sends one class request and returns its answer after checking its status byte.
    private func request(
        _ r: USBTMC.Request, value: UInt16 = 0, index: UInt16, recipient: UInt8, allowPending: Bool = false
    ) async throws(USBTMCError) -> [UInt8] {
        let setup = USBControlSetup(requestType: recipient, request: r.rawValue, value: value, index: index)
        let answer: [UInt8]
        do {
            answer = try await endpoints.controlIn(setup, length: r.responseLength, timeout: timeout)
        } catch {
            throw .transport(error)
        }
        guard let status = answer.first else {
            throw .malformedResponse(reason: "an empty answer to \(r)", bytes: answer)
        }
        if status == USBTMC.Status.success.rawValue || (allowPending && status == USBTMC.Status.pending.rawValue) {
            return answer
        }
        throw .requestFailed(r, status: status)
    }

    /// Polls a CHECK_… request while it answers pending; returns the final answer. `whilePending`
    /// runs between polls with the pending answer (e.g. to drain the bulk-IN endpoint).
    private func poll(
        _ r: USBTMC.Request, index: UInt16, recipient: UInt8,
        whilePending: ([UInt8]) async throws(USBTMCError) -> Void = { _ throws(USBTMCError) in }
    ) async throws(USBTMCError) -> [UInt8] {
        let start = ContinuousClock.now
        while true {
            let answer = try await request(r, index: index, recipient: recipient, allowPending: true)
            if answer[0] == USBTMC.Status.success.rawValue { return answer }
            let elapsed = ContinuousClock.now - start
            if elapsed > timeout { throw .stillPending(r, elapsed: elapsed) }
            try await whilePending(answer)
            do {
                try await Task.sleep(for: .milliseconds(1))
            } catch {
                throw .transport(.cancelled(TransportErrorContext(endpoint: endpoints.endpoint, operation: .configure, elapsed: elapsed)))
            }
        }
    }

    /// Clears the instrument's input and output buffers: INITIATE_CLEAR, CHECK_CLEAR_STATUS while
    /// pending (draining bulk-IN when the device asks), then CLEAR_FEATURE(HALT) on bulk-OUT.
    public func clear() async throws(USBTMCError) {
        let interface = UInt16(endpoints.interfaceNumber)
        _ = try await request(.initiateClear, index: interface, recipient: USBTMC.interfaceRequestType)
        _ = try await poll(.checkClearStatus, index: interface, recipient: USBTMC.interfaceRequestType) {
            answer throws(USBTMCError) in
            // bmClear bit 0: the device has bytes queued on bulk-IN; read them so it can finish.
            if answer.count > 1 && answer[1] & 0x01 != 0 { await self.drainBulkIn() }
        }
        try await clearHalt(endpoints.bulkOutAddress)
    }

    /// Aborts the bulk-OUT transfer with `tag` (the last one sent by default): INITIATE_ABORT_BULK_OUT,
    /// CHECK_ABORT_BULK_OUT_STATUS while pending, then CLEAR_FEATURE(HALT) on bulk-OUT.
    ///
    /// - Throws: `.requestFailed(.initiateAbortBulkOut, status: 0x81)` when no such transfer is in progress.
    public func abortBulkOut(tag: UInt8? = nil) async throws(USBTMCError) {
        let address = UInt16(endpoints.bulkOutAddress)
        _ = try await request(
            .initiateAbortBulkOut, value: UInt16(tag ?? lastTag), index: address, recipient: USBTMC.endpointRequestType)
        _ = try await poll(.checkAbortBulkOutStatus, index: address, recipient: USBTMC.endpointRequestType)
        try await clearHalt(endpoints.bulkOutAddress)
    }

    /// Aborts the bulk-IN transfer with `tag` (the last one requested by default): INITIATE_ABORT_BULK_IN,
    /// reading bulk-IN until the device has nothing more, then CHECK_ABORT_BULK_IN_STATUS while pending.
    ///
    /// - Throws: `.requestFailed(.initiateAbortBulkIn, status: 0x81)` when no such transfer is in progress.
    public func abortBulkIn(tag: UInt8? = nil) async throws(USBTMCError) {
        let address = UInt16(endpoints.bulkInAddress)
        _ = try await request(
            .initiateAbortBulkIn, value: UInt16(tag ?? lastTag), index: address, recipient: USBTMC.endpointRequestType)
        await drainBulkIn()
        _ = try await poll(.checkAbortBulkInStatus, index: address, recipient: USBTMC.endpointRequestType) {
            _ throws(USBTMCError) in await self.drainBulkIn()
        }
    }

    /// Reads the interface's capabilities (GET_CAPABILITIES).
    public func capabilities() async throws(USBTMCError) -> USBTMCCapabilities {
        let answer = try await request(
            .getCapabilities, index: UInt16(endpoints.interfaceNumber), recipient: USBTMC.interfaceRequestType)
        return try USBTMCCapabilities(parsing: answer)
    }

    /// Reads and discards bulk-IN transfers until one times out briefly or is short.
    private func drainBulkIn() async {
        let packet = max(1, endpoints.maxPacketSize)
        for _ in 0..<1024 {
            guard let got = try? await endpoints.bulkIn(maxLength: packet, timeout: .milliseconds(20)) else { return }
            if got.count < packet { return }
        }
    }

    private func clearHalt(_ address: UInt8) async throws(USBTMCError) {
        do {
            try await endpoints.clearHalt(endpointAddress: address, timeout: timeout)
        } catch {
            throw .transport(error)
        }
    }

    /// Closes the endpoints.
    public func close() async {
        await endpoints.close()
    }
}
