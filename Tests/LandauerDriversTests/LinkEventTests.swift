import LandauerDrivers
import LandauerFirmware
import Testing

@Suite("LinkEvent")
struct LinkEventTests {
    @Test("events read as one line each", arguments: [
        (LinkEvent.Kind.timeout(operation: .read, waited: .milliseconds(250)), "read timed out after 250 ms"),
        (.retry(.corruptedResponse), "resent after corruptedResponse"),
        (.staleResponse(sequence: 16, type: 0x86), "discarded stale response seq 16 type 0x86"),
        (.corruptedFrame(.checksumMismatch(received: 1, computed: 2), size: 40, prefix: []), "corrupted frame of 40 bytes: CRC mismatch"),
        (.badFrameReported(ErrorResponse(code: .badFrame, opcode: 0)), "board reported a bad frame"),
        (.reconnected(endpoint: "serial:/dev/ttyACM0"), "reconnected to serial:/dev/ttyACM0"),
        (.sequenceReassigned(from: 17, to: 18), "sequence 17 reused on the board, moved to 18"),
        (.refused(ErrorResponse(code: .busy, opcode: 0x06)), "refused: PROGRAM PULSES: the board is busy"),
    ])
    func descriptions(_ kind: LinkEvent.Kind, _ text: String) {
        let event = LinkEvent(time: .microseconds(12_300), opcode: .programPulses, sequence: 17, attempt: 2, kind: kind)
        #expect(event.description.hasPrefix("12.3 ms PROGRAM PULSES seq 17 attempt 2: " + text))
    }

    @Test func eventsWithoutARequestSayLess() {
        let event = LinkEvent(time: .zero, opcode: nil, sequence: nil, attempt: 0, kind: .reconnected(endpoint: "tcp:192.0.2.1:7"))
        #expect(event.description == "0 s attempt 0: reconnected to tcp:192.0.2.1:7")
    }
}

@Suite("LinkStatistics")
struct LinkStatisticsTests {
    @Test func meanResponseTimeCountsAnsweredRequests() {
        var s = LinkStatistics()
        #expect(s.meanResponseTime == nil)
        s.completed = 3
        s.refused = 1
        s.totalResponseTime = .milliseconds(8)
        #expect(s.meanResponseTime == .milliseconds(2))
    }
}
