import LandauerDrivers
import Synchronization
import Testing

/// USBTMC framing checked byte for byte against docs (instruments.md), and the session against a
/// small instrument served on an in-memory pair of bulk endpoints.
@Suite("USBTMC")
struct USBTMCSessionTests {
    // MARK: header bytes

    @Test func theIDNExampleFromTheReference() {
        // instruments.md: `*IDN?\n`, bTag 1 → 01 01 FE 00 06 00 00 00 01 00 00 00 2A 49 44 4E 3F 0A 00 00
        let expected: [UInt8] = [
            0x01, 0x01, 0xFE, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x2A, 0x49, 0x44, 0x4E, 0x3F, 0x0A, 0x00, 0x00,
        ]
        #expect(USBTMC.devDepMsgOut(Array("*IDN?\n".utf8), tag: 1) == expected)
        #expect(USBTMCHeader.devDepMsgOut(tag: 1, transferSize: 6).bytes == Array(expected.prefix(12)))
    }

    @Test func aRequestForAResponse() {
        // 02 bTag ~bTag 00 <maxlen u32 LE> 00 00 00 00
        #expect(USBTMCHeader.requestDevDepMsgIn(tag: 2, maxSize: 0x0001_0400).bytes
            == [0x02, 0x02, 0xFD, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00])
        // With a TermChar: attribute bit 1 and the character in byte 9.
        #expect(USBTMCHeader.requestDevDepMsgIn(tag: 0xFF, maxSize: 64, termChar: 0x0A).bytes
            == [0x02, 0xFF, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x02, 0x0A, 0x00, 0x00])
    }

    @Test func aResponseHeaderParses() throws {
        // 02 bTag ~bTag 00 <n u32> 01 00 00 00 <n bytes><pad>
        let transfer: [UInt8] = [0x02, 0x07, 0xF8, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x31, 0x2E, 0x0A, 0x00]
        let h = try USBTMCHeader(parsing: transfer)
        #expect(h.knownMessageID == .requestDevDepMsgIn && h.tag == 7 && h.transferSize == 3 && h.endOfMessage)
        #expect(h.bytes == Array(transfer.prefix(12)))
        let big = try USBTMCHeader(parsing: USBTMCHeader(messageID: 2, tag: 9, transferSize: 0xA1B2_C3D4).bytes)
        #expect(big.transferSize == 0xA1B2_C3D4)
    }

    @Test func brokenHeadersAreRefused() {
        #expect(throws: USBTMCError.self) { try USBTMCHeader(parsing: [0x02, 0x01, 0xFE]) }
        #expect(throws: USBTMCError.self) { try USBTMCHeader(parsing: [0x02, 0x01, 0xFD, 0, 0, 0, 0, 0, 1, 0, 0, 0]) }
        #expect(throws: USBTMCError.self) { try USBTMCHeader(parsing: [0x02, 0x01, 0xFE, 1, 0, 0, 0, 0, 1, 0, 0, 0]) }
    }

    @Test func tagsWrapFrom255To1AndPaddingReachesAMultipleOf4() {
        #expect(USBTMC.nextTag(after: 0) == 1 && USBTMC.nextTag(after: 254) == 255 && USBTMC.nextTag(after: 255) == 1)
        #expect((0...8).map(USBTMC.padding) == [0, 3, 2, 1, 0, 3, 2, 1, 0])
        for n in 0...9 { #expect(USBTMC.devDepMsgOut([UInt8](repeating: 0x41, count: n), tag: 3).count % 4 == 0) }
    }

    @Test func classRequestCodes() {
        #expect(USBTMC.Request.initiateAbortBulkOut.rawValue == 1 && USBTMC.Request.checkAbortBulkOutStatus.rawValue == 2)
        #expect(USBTMC.Request.initiateAbortBulkIn.rawValue == 3 && USBTMC.Request.checkAbortBulkInStatus.rawValue == 4)
        #expect(USBTMC.Request.initiateClear.rawValue == 5 && USBTMC.Request.checkClearStatus.rawValue == 6)
        #expect(USBTMC.Request.getCapabilities.rawValue == 7 && USBTMC.Request.getCapabilities.responseLength == 0x18)
        #expect(USBTMC.Status.success.rawValue == 1 && USBTMC.Status.pending.rawValue == 2)
        #expect(USBTMC.Status.failed.rawValue == 0x80 && USBTMC.Status.transferNotInProgress.rawValue == 0x81)
        #expect(USBTMC.interfaceClass == 0xFE && USBTMC.interfaceSubclass == 0x03)
    }

    // MARK: a session against an in-memory instrument

    /// A tiny USBTMC instrument: answers `*IDN?` and `DATA?` (a long answer), sends answers in
    /// transfers of at most `chunk` bytes, and plays the clear and abort requests.
    final class Instrument: Sendable {
        struct State {
            var pendingAnswer: [UInt8] = []
            var commands: [String] = []
            var rawOut: [[UInt8]] = []
            var lastRequestTag: UInt8 = 0
            var clearPolls = 0
            var abortInPolls = 0
        }
        let state = Mutex(State())
        let chunk: Int
        static let idn = "LANDAUER,Virtual USBTMC,0001,1.0\n"
        static let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 13) }

        init(chunk: Int = 1 << 20) { self.chunk = chunk }

        func control(_ setup: USBControlSetup, _ length: Int) -> [UInt8] {
            state.withLock { s in
                switch (setup.requestType, USBTMC.Request(rawValue: setup.request)) {
                case (0xA1, .initiateClear?):
                    s.pendingAnswer = []
                    s.clearPolls = 0
                    return [0x01]
                case (0xA1, .checkClearStatus?):
                    s.clearPolls += 1
                    return s.clearPolls < 3 ? [0x02, 0x00] : [0x01, 0x00]
                case (0xA2, .initiateAbortBulkIn?):
                    guard setup.value == UInt16(s.lastRequestTag) else { return [0x81, 0x00] }
                    s.abortInPolls = 0
                    return [0x01, s.lastRequestTag]
                case (0xA2, .checkAbortBulkInStatus?):
                    s.abortInPolls += 1
                    return s.abortInPolls < 2 ? [0x02, 0, 0, 0, 0, 0, 0, 0] : [0x01, 0, 0, 0, 0, 0, 0, 0]
                case (0xA2, .initiateAbortBulkOut?):
                    return [0x81, 0x00]  // nothing in progress: every message was taken whole
                case (0xA1, .getCapabilities?):
                    var caps = [UInt8](repeating: 0, count: 0x18)
                    caps[0] = 0x01
                    caps[2] = 0x00
                    caps[3] = 0x01
                    caps[4] = 0x04
                    caps[5] = 0x01
                    caps[12] = 0x00
                    caps[13] = 0x01
                    caps[15] = 0x08
                    return caps
                default:
                    return [0x80]
                }
            }
        }

        /// Serves bulk transfers until the pair closes.
        func serve(_ device: InMemoryBulkDevice, answerRequests: Bool = true) -> Task<Void, Never> {
            Task {
                var message: [UInt8] = []
                while true {
                    let transfer: [UInt8]
                    do throws(TransportError) {
                        transfer = try await device.receive(timeout: .milliseconds(200))
                    } catch .timeout {
                        continue
                    } catch {
                        return
                    }
                    state.withLock { $0.rawOut.append(transfer) }
                    guard let h = try? USBTMCHeader(parsing: transfer) else { continue }
                    switch h.knownMessageID {
                    case .devDepMsgOut?:
                        message += transfer[12..<(12 + Int(h.transferSize))]
                        if h.endOfMessage {
                            let text = String(decoding: message, as: UTF8.self)
                            message = []
                            state.withLock { s in
                                s.commands.append(text)
                                if text == "*IDN?\n" { s.pendingAnswer += Array(Self.idn.utf8) }
                                if text == "DATA?\n" { s.pendingAnswer += Self.data }
                            }
                        }
                    case .requestDevDepMsgIn?:
                        let reply: [UInt8] = state.withLock { s in
                            s.lastRequestTag = h.tag
                            let n = min(Int(h.transferSize), chunk, s.pendingAnswer.count)
                            let payload = Array(s.pendingAnswer.prefix(n))
                            s.pendingAnswer.removeFirst(n)
                            let header = USBTMCHeader(
                                messageID: 2, tag: h.tag, transferSize: UInt32(n),
                                attributes: s.pendingAnswer.isEmpty ? 0x01 : 0x00)
                            return header.bytes + payload + [UInt8](repeating: 0, count: USBTMC.padding(n))
                        }
                        if answerRequests { device.send(reply) }
                    default:
                        continue
                    }
                }
            }
        }
    }

    struct Rig {
        let instrument: Instrument
        let pair: InMemoryBulkPair
        let server: Task<Void, Never>
        let session: USBTMCSession

        init(chunk: Int = 1 << 20, answerRequests: Bool = true) {
            let instrument = Instrument(chunk: chunk)
            self.instrument = instrument
            pair = InMemoryBulkPair(endpoint: "usb-memory:tmc") { setup, length in instrument.control(setup, length) }
            server = instrument.serve(pair.device, answerRequests: answerRequests)
            session = USBTMCSession(endpoints: pair.host, timeout: .seconds(10))
        }

        func close() async {
            await session.close()
            await server.value
        }
    }

    @Test func aQueryAndItsResponse() async throws {
        let rig = Rig()
        let idn = try await rig.session.query("*IDN?\n")
        #expect(idn == Instrument.idn)
        let raw = rig.instrument.state.withLock { $0.rawOut }
        // The first transfer is exactly the reference example; the second asks for the answer with tag 2.
        #expect(raw.first == USBTMC.devDepMsgOut(Array("*IDN?\n".utf8), tag: 1))
        #expect(raw.count == 2 && Array(raw[1].prefix(4)) == [0x02, 0x02, 0xFD, 0x00] && raw[1].count == 12)
        #expect(await rig.session.lastTag == 2)
        await rig.close()
    }

    @Test func aLongAnswerInSeveralTransfersIsJoined() async throws {
        let rig = Rig(chunk: 64)
        try await rig.session.write("DATA?\n")
        let data = try await rig.session.read()
        #expect(data == Instrument.data)
        await rig.close()
    }

    @Test func aLongMessageIsSplitWithEOMOnlyOnTheLast() async throws {
        let instrument = Instrument()
        let pair = InMemoryBulkPair { setup, length in instrument.control(setup, length) }
        let server = instrument.serve(pair.device)
        let session = USBTMCSession(endpoints: pair.host, timeout: .seconds(10), maxTransferSize: 8)
        let text = "SOUR:VOLT 1.25;:OUTP ON\n"
        try await session.write(text)
        try await session.write("*IDN?\n")
        #expect(try await session.read() == Array(Instrument.idn.utf8))
        let raw = instrument.state.withLock { $0.rawOut }
        let headers = try raw.prefix(3).map { try USBTMCHeader(parsing: $0) }
        #expect(headers.map(\.transferSize) == [8, 8, 8] && headers.map(\.endOfMessage) == [false, false, true])
        #expect(headers.map(\.tag) == [1, 2, 3])
        #expect(instrument.state.withLock { $0.commands }.first == text)
        await session.close()
        await server.value
    }

    @Test func clearPollsWhilePendingThenClearsTheOutHalt() async throws {
        let rig = Rig()
        try await rig.session.clear()
        let log = rig.pair.device.controlRequests
        #expect(log.map(\.request) == [5, 6, 6, 6])
        #expect(log.allSatisfy { $0.requestType == 0xA1 && $0.index == 0 })
        #expect(rig.pair.device.clearedHalts == [0x02])
        await rig.close()
    }

    @Test func abortingAnUnansweredReadDrainsAndPolls() async throws {
        let rig = Rig(answerRequests: false)
        try await rig.session.write("*IDN?\n")
        await rig.session.setTimeout(.milliseconds(100))
        let error = await caught { () async throws(USBTMCError) in _ = try await rig.session.read() }
        guard case .transport(.timeout) = error else {
            Issue.record("expected a transport timeout, got \(String(describing: error))")
            return
        }
        await rig.session.setTimeout(.seconds(10))
        rig.pair.device.send([0x02, 0x02, 0xFD, 0x00])  // a stale fragment the abort must drain
        try await rig.session.abortBulkIn()
        let log = rig.pair.device.controlRequests
        #expect(log.map(\.request) == [3, 4, 4])
        #expect(log.allSatisfy { $0.requestType == 0xA2 && $0.index == 0x86 })
        #expect(log.first?.value == 2)  // the tag of the REQUEST_DEV_DEP_MSG_IN
        #expect(rig.pair.device.pendingInCount == 0)
        await rig.close()
    }

    @Test func anAbortWithNothingInProgressIsATypedFailure() async throws {
        let rig = Rig()
        _ = try await rig.session.query("*IDN?\n")
        let error = await caught { () async throws(USBTMCError) in try await rig.session.abortBulkOut() }
        #expect(error == .requestFailed(.initiateAbortBulkOut, status: 0x81))
        let log = rig.pair.device.controlRequests
        #expect(log.count == 1 && log[0].requestType == 0xA2 && log[0].request == 1 && log[0].index == 0x02 && log[0].value == 2)
        await rig.close()
    }

    @Test func capabilities() async throws {
        let rig = Rig()
        let caps = try await rig.session.capabilities()
        #expect(caps.usbtmcVersion == 0x0100 && caps.indicatorPulse && !caps.talkOnly && caps.termChar)
        #expect(caps.usb488Version == 0x0100 && caps.scpi)
        await rig.close()
    }

    @Test func aWrongTagInTheAnswerIsRefused() async throws {
        let pair = InMemoryBulkPair { _, _ in [0x80] }
        let session = USBTMCSession(endpoints: pair.host, timeout: .seconds(10))
        pair.device.send(USBTMCHeader(messageID: 2, tag: 9, transferSize: 0, attributes: 1).bytes)
        let error = await caught { () async throws(USBTMCError) in _ = try await session.read() }
        guard case .malformedResponse(let reason, _) = error else {
            Issue.record("expected .malformedResponse, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("bTag"))
        await session.close()
    }
}
