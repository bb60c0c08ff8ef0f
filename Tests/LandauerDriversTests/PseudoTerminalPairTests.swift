import LandauerDrivers
import Testing

/// Pseudo-terminal pairs: what virtual devices serve and drivers open as serial ports.
@Suite("PseudoTerminalPair", .serialized)
struct PseudoTerminalPairTests {
    @Test func twoPairsHaveTheirOwnSlaves() throws {
        let a = try PseudoTerminalPair.open()
        let b = try PseudoTerminalPair.open()
        defer {
            a.closeMaster()
            b.closeMaster()
        }
        #expect(a.slavePath != b.slavePath && a.masterFD != b.masterFD)
        #expect(a.masterFD >= 0 && a.slavePath.hasPrefix("/dev/pts/"))
    }

    @Test func theMasterTransportIsNamedAfterTheSlave() async throws {
        let pair = try PseudoTerminalPair.open()
        let master = pair.masterTransport()
        #expect(master.endpoint == "pty-master:\(pair.slavePath)" && master.path == nil)
        let slave = try TermiosTransport(path: pair.slavePath)
        try await master.write([0x0D, 0x0A, 0x03], timeout: .seconds(5))  // raw: CR LF ^C pass unchanged
        var got: [UInt8] = []
        while got.count < 3 { got += try await slave.read(maxCount: 3, timeout: .seconds(5)) }
        #expect(got == [0x0D, 0x0A, 0x03])
        await slave.close()
        await master.close()
    }

    @Test func closingTheMasterEndsThePseudoTerminal() async throws {
        let pair = try PseudoTerminalPair.open()
        pair.closeMaster()
        let error = await caught { () throws(TransportError) in _ = try TermiosTransport(path: pair.slavePath) }
        if case .openFailed = error {} else { Issue.record("expected .openFailed, got \(String(describing: error))") }
    }
}
