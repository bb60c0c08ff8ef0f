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

    // A board may send any binary32 as an error's value or limit: Response.decode accepts NaN,
    // infinities and huge numbers, so the text must render them without trapping.

    @Test("a refusal with a non-finite or huge number still reads as a sentence", arguments: [
        (ErrorResponse(code: .voltageOutOfLimit, opcode: 0x06, index: 3, value: .nan, limit: 3),
         "board refused PROGRAM PULSES item 3: voltage NaN V is outside the allowed range (0 V, 3.0 V]"),
        (ErrorResponse(code: .voltageOutOfLimit, opcode: 0x06, index: 3, value: .infinity, limit: 3),
         "board refused PROGRAM PULSES item 3: voltage ∞ V exceeds limit 3.0 V"),
        (ErrorResponse(code: .voltageOutOfLimit, opcode: 0x03, value: 1e30, limit: -.infinity),
         "board refused READ CONDUCTANCE: voltage 1e+30 V exceeds limit -∞ V"),
        (ErrorResponse(code: .pulseWidthOutOfLimit, opcode: 0x07, value: .nan, limit: 1_000_000),
         "board refused OUTER PRODUCT: pulse width NaN ns is outside the limit 1000000 ns"),
        (ErrorResponse(code: .pulseWidthOutOfLimit, opcode: 0x07, value: 1e30, limit: 1_000_000),
         "board refused OUTER PRODUCT: pulse width 1e+30 ns exceeds the maximum 1000000 ns"),
        (ErrorResponse(code: .pulseWidthOutOfLimit, opcode: 0x06, index: 1, value: -1e30, limit: 10),
         "board refused PROGRAM PULSES item 1: pulse width -1e+30 ns is below the minimum 10 ns"),
        (ErrorResponse(code: .pulseWidthOutOfLimit, opcode: 0x06, value: -.infinity, limit: .infinity),
         "board refused PROGRAM PULSES item 0: pulse width -∞ ns is below the minimum ∞ ns"),
        (ErrorResponse(code: .currentOutOfLimit, opcode: 0x06, index: 1, value: 1e30, limit: 1e-4),
         "board refused PROGRAM PULSES item 1: current 1e+30 A exceeds limit 100 µA"),
        (ErrorResponse(code: .currentOutOfLimit, opcode: 0x06, index: 1, value: -.infinity, limit: .nan),
         "board refused PROGRAM PULSES item 1: current -∞ A exceeds limit NaN A"),
        (ErrorResponse(code: .currentOutOfLimit, opcode: 0x06, index: 1, value: 2e-4, limit: -1e30),
         "board refused PROGRAM PULSES item 1: current 200 µA exceeds limit -1e+30 A"),
        (ErrorResponse(code: .pulseCountOutOfLimit, opcode: 0x06, value: .infinity, limit: 1000),
         "board refused PROGRAM PULSES: ∞ pulses exceed the limit of 1000 per request; split the request"),
        (ErrorResponse(code: .pulseCountOutOfLimit, opcode: 0x06, value: 1e30, limit: .nan),
         "board refused PROGRAM PULSES: 1e+30 pulses exceed the limit of NaN per request; split the request"),
        (ErrorResponse(code: .valueOutOfRange, opcode: 0x04, index: 2, value: -1e30, limit: .infinity),
         "board refused MATRIX VECTOR vector 2: value -1e+30 is outside ±∞"),
        (ErrorResponse(code: .unsupportedVersion, opcode: 0x01, value: .nan, limit: 1),
         "board refused HELLO: protocol version NaN is not supported (the board speaks 1)"),
        (ErrorResponse(code: .addressOutOfRange, opcode: 0x03, value: -.infinity, limit: 1e30),
         "board refused READ CONDUCTANCE: address out of range (value -∞, limit 1e+30)"),
        (ErrorResponse(code: .geometryMismatch, opcode: 0x05, value: 9.5, limit: 2e7),
         "board refused MATRIX VECTOR TRANSPOSED: length 9.5 does not match the tile's 20000000"),
        (ErrorResponse(code: .sequenceReused, opcode: 0x02, value: 1e30),
         "board refused PING: sequence number 1e+30 was already used for a different request still in the board's cache"),
        (ErrorResponse(code: .limitAboveHardware, opcode: 0x08, index: 1, value: .nan, limit: 1),
         "board refused SET LIMITS: read voltage NaN V is beyond the hardware's 1.0 V"),
        (ErrorResponse(code: .limitAboveHardware, opcode: 0x08, index: 2, value: 1e30, limit: 100),
         "board refused SET LIMITS: minimum pulse width 1e+30 ns is beyond the hardware's 100 ns"),
        (ErrorResponse(code: .limitAboveHardware, opcode: 0x08, index: 4, value: .infinity, limit: 1e-3),
         "board refused SET LIMITS: compliance current ∞ A is beyond the hardware's 1.00 mA"),
        (ErrorResponse(code: .limitAboveHardware, opcode: 0x08, index: 5, value: 1e30, limit: -.infinity),
         "board refused SET LIMITS: pulses per request 1e+30 is beyond the hardware's -∞"),
        (ErrorResponse(code: .responseTooLarge, opcode: 0x03, value: 1e30, limit: 32763),
         "board refused READ CONDUCTANCE: the answer would not fit in one frame (1e+30 items, at most 32763); split the batch"),
    ])
    func wildNumberSentences(_ refusal: ErrorResponse, _ sentence: String) {
        #expect(BoardError.refused(refusal, Self.context).description == sentence + " [serial:/dev/ttyACM0, seq 17, 2 attempts, 1.50 ms]")
    }

    /// Numbers no board should send but any may: each with the text it must appear as.
    static let wild: [(Float, String)] = [(.nan, "NaN"), (.infinity, "∞"), (-.infinity, "-∞"), (1e30, "1e+30"), (-1e30, "-1e+30")]

    /// The codes whose sentence quotes the error's `value` and `limit`.
    static func quotesValue(_ code: ErrorCode) -> Bool { ![.badFrame, .unknownOpcode, .malformedBody, .busy].contains(code) }
    static func quotesLimit(_ code: ErrorCode) -> Bool { quotesValue(code) && code != .sequenceReused }

    @Test("every error code renders NaN, ±∞ and ±1e30 in its value and limit", arguments: ErrorCode.allCases)
    func wildNumbersForEveryCode(_ code: ErrorCode) {
        let ordinary: (Float, String) = (3, "3")
        let pairs = Self.wild.map { ($0, ordinary) } + Self.wild.map { (ordinary, $0) }
            + Self.wild.flatMap { v in Self.wild.map { (v, $0) } }
        let opcodes: [UInt8] = [0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x42]
        let indices: [UInt16] = code == .limitAboveHardware ? Array(0...7) : [0, 3]
        for opcode in opcodes {
            for index in indices {
                for (value, limit) in pairs {
                    let refusal = ErrorResponse(code: code, opcode: opcode, index: index, value: value.0, limit: limit.0)
                    let error = BoardError.refused(refusal, Self.context)
                    let text = error.description
                    let event = LinkEvent(time: .zero, opcode: nil, sequence: nil, attempt: 1, kind: .refused(refusal))
                    let line = event.description
                    // Swift's own spellings of these numbers are "nan", "inf" and "-inf".
                    let words = text.split(whereSeparator: { " (),:;±[]".contains($0) })
                    let what = "\(code) \(opcode) \(index) \(value.1) \(limit.1): \(text)"
                    #expect(text.hasPrefix("board refused "), "\(what)")
                    #expect(text.hasSuffix(" [serial:/dev/ttyACM0, seq 17, 2 attempts, 1.50 ms]"), "\(what)")
                    #expect(line.hasPrefix("0 s attempt 1: refused: "), "\(line)")
                    #expect(!words.contains("nan") && !words.contains("inf") && !words.contains("-inf"), "\(what)")
                    for (quoted, number) in [(Self.quotesValue(code), value), (Self.quotesLimit(code), limit)] {
                        guard quoted && number.1 != ordinary.1 else { continue }
                        #expect(text.contains(number.1), "\(what)")
                        #expect(line.contains(number.1), "\(line)")
                    }
                    if !Self.quotesValue(code) {
                        #expect(!text.contains("NaN") && !text.contains("∞") && !text.contains("e+30"), "\(what)")
                    }
                }
            }
        }
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
