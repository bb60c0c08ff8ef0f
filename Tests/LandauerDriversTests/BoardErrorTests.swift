import LandauerDrivers
import LandauerFirmware
import Testing

@Suite("BoardError")
struct BoardErrorTests {
    static let context = BoardErrorContext(
        device: "serial:/dev/ttyACM0", opcode: .programPulses, sequence: 17, attempts: 2, elapsed: .microseconds(1500))

    @Test("a refusal reads as a sentence with what, where and by how much", arguments: [
        (ErrorResponse(code: .voltageOutOfLimit, opcode: 0x06, index: 3, value: 5.0, limit: 3.0),
         "board refused PROGRAM PULSES item 3: voltage 5.0 V exceeds limit 3.0 V"),
        (ErrorResponse(code: .pulseWidthOutOfLimit, opcode: 0x06, index: 0, value: 5, limit: 10),
         "board refused PROGRAM PULSES item 0: pulse width 5 ns is below the minimum 10 ns"),
        (ErrorResponse(code: .pulseWidthOutOfLimit, opcode: 0x07, value: 2_000_000, limit: 1_000_000),
         "board refused OUTER PRODUCT: pulse width 2000000 ns exceeds the maximum 1000000 ns"),
        (ErrorResponse(code: .pulseCountOutOfLimit, opcode: 0x06, value: 2000, limit: 1000),
         "board refused PROGRAM PULSES: 2000 pulses exceed the limit of 1000 per request; split the request"),
        (ErrorResponse(code: .valueOutOfRange, opcode: 0x04, index: 2, value: 200, limit: 127),
         "board refused MATRIX VECTOR vector 2: value 200 is outside ±127"),
        (ErrorResponse(code: .geometryMismatch, opcode: 0x05, value: 9, limit: 4),
         "board refused MATRIX VECTOR TRANSPOSED: length 9 does not match the tile's 4"),
        (ErrorResponse(code: .voltageOutOfLimit, opcode: 0x03, value: 0.7, limit: 0.5),
         "board refused READ CONDUCTANCE: voltage 0.7 V exceeds limit 0.5 V"),
        (ErrorResponse(code: .currentOutOfLimit, opcode: 0x06, index: 1, value: 2e-4, limit: 1e-4),
         "board refused PROGRAM PULSES item 1: current 200 µA exceeds limit 100 µA"),
        (ErrorResponse(code: .limitAboveHardware, opcode: 0x08, index: 0, value: 4, limit: 3),
         "board refused SET LIMITS: program voltage 4.0 V is beyond the hardware's 3.0 V"),
        (ErrorResponse(code: .limitAboveHardware, opcode: 0x08, index: 3, value: 5e6, limit: 1e6),
         "board refused SET LIMITS: maximum pulse width 5000000 ns is beyond the hardware's 1000000 ns"),
        (ErrorResponse(code: .malformedBody, opcode: 0x02, index: 4),
         "board refused PING at body offset 4: the body does not parse"),
        (ErrorResponse(code: .unknownOpcode, opcode: 0x42),
         "board refused request type 0x42: the board does not know this request"),
        (ErrorResponse(code: .responseTooLarge, opcode: 0x03, value: 40000, limit: 32763),
         "board refused READ CONDUCTANCE: the answer would not fit in one frame (40000 items, at most 32763); split the batch"),
    ])
    func refusalSentences(_ refusal: ErrorResponse, _ sentence: String) {
        let error = BoardError.refused(refusal, Self.context)
        #expect(error.description.hasPrefix(sentence + " ["))
        #expect(error.description.hasSuffix("[serial:/dev/ttyACM0, seq 17, 2 attempts, 1.50 ms]"))
        #expect(error.refusal == refusal)
    }

    @Test("every failure names the device and the request", arguments: [
        BoardError.timeout(context),
        .integrity(.response(.checksumMismatch(received: 1, computed: 2)), context),
        .integrity(.request(ErrorResponse(code: .badFrame, opcode: 0)), context),
        .transport(.closed(TransportErrorContext(endpoint: "serial:/dev/ttyACM0", operation: .write)), context),
        .malformedResponse(.truncatedBody(type: 0x86, offset: 4), context),
        .unexpectedResponse(type: 0x8A, context),
        .incompatibleBoard(boardVersion: 2, hostVersion: 1, context),
        .cancelled(context),
    ])
    func failuresNameDeviceAndRequest(_ error: BoardError) {
        #expect(error.description.contains("serial:/dev/ttyACM0"))
        #expect(error.description.contains("PROGRAM PULSES"))
        #expect(error.context == Self.context)
        #expect(error.refusal == nil)
    }

    @Test func timeoutsAdviseWhatToCheck() {
        let text = BoardError.timeout(Self.context).description
        #expect(text.hasPrefix("no response from serial:/dev/ttyACM0 to PROGRAM PULSES [serial:/dev/ttyACM0, seq 17, 2 attempts, 1.50 ms]"))
        #expect(text.contains("powered"))
    }

    @Test func integrityFailuresQuoteTheLastFault() {
        let text = BoardError.integrity(.response(.checksumMismatch(received: 0xAB, computed: 0xCD)), Self.context).description
        #expect(text.contains("CRC mismatch: frame carries 0xAB, bytes give 0xCD"))
        #expect(text.contains("check the cable"))
    }
}
