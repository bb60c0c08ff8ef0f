import LandauerDrivers
import LandauerFirmware
import Testing

@Suite("PPK2Command")
struct PPK2CommandTests {
    @Test("every command encodes to its golden bytes", arguments: [
        (PPK2Command.averageStart, [0x06]),
        (.averageStop, [0x07]),
        (.deviceRunning(true), [0x0C, 0x01]),
        (.deviceRunning(false), [0x0C, 0x00]),
        (.regulator(Volts(0.8)), [0x0D, 0x03, 0x20]),
        (.regulator(Volts(3.3)), [0x0D, 0x0C, 0xE4]),
        (.regulator(Volts(5.0)), [0x0D, 0x13, 0x88]),
        (.powerMode(.ampereMeter), [0x11, 0x01]),
        (.powerMode(.sourceMeter), [0x11, 0x02]),
        (.getMetadata, [0x19]),
        (.reset, [0x20]),
        (.userGain(range: 0, gain: 1.0), [0x25, 0x00, 0x00, 0x00, 0x80, 0x3F]),
        (.userGain(range: 4, gain: -2.5), [0x25, 0x04, 0x00, 0x00, 0x20, 0xC0]),
    ] as [(PPK2Command, [UInt8])])
    func golden(command: PPK2Command, bytes: [UInt8]) throws {
        #expect(try command.encoded() == bytes)
        #expect(command.opcode.rawValue == bytes[0])
        #expect(command.opcode.payloadCount == bytes.count - 1)
    }

    @Test("regulator voltages outside 800…5000 mV are refused with what was asked",
          arguments: [0.7994, 5.0006, 0, -3.3, .nan, .infinity])
    func regulatorOutOfRange(volts: Double) {
        #expect {
            try PPK2Command.regulator(Volts(volts)).encoded()
        } throws: { error in
            guard case .regulatorOutOfRange(let requested, let allowed) = error as? PPK2Error else { return false }
            return (requested.value == volts || (volts.isNaN && requested.value.isNaN)) && allowed == 800...5000
        }
    }

    @Test("regulator voltages round to the millivolt at the edges")
    func regulatorRounding() throws {
        #expect(try PPK2Command.regulator(Volts(0.7996)).encoded() == [0x0D, 0x03, 0x20])
        #expect(try PPK2Command.regulator(Volts(5.0004)).encoded() == [0x0D, 0x13, 0x88])
    }

    @Test("user gains need a range 0…4 and a finite gain")
    func userGainErrors() {
        #expect(throws: PPK2Error.rangeOutOfBounds(range: 5)) { try PPK2Command.userGain(range: 5, gain: 1).encoded() }
        #expect(throws: PPK2Error.rangeOutOfBounds(range: -1)) { try PPK2Command.userGain(range: -1, gain: 1).encoded() }
        #expect(throws: PPK2Error.self) { try PPK2Command.userGain(range: 1, gain: .nan).encoded() }
        #expect(PPK2Error.rangeOutOfBounds(range: 5).description.contains("0…4"))
    }
}
