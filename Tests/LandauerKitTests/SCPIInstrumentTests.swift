import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Synchronization
import Testing

/// Serves a virtual SCPI instrument in process, behind the same transport boundary a socket uses.
func serve<Model: SCPIModel>(_ model: Model, timeout: Duration = .seconds(2)) -> SCPIClient {
    let device = Mutex(SCPIDevice(model: model))
    let transport = DeviceLoopbackTransport(endpoint: "sim:scpi", idleReads: .failImmediately) { bytes in
        device.withLock { $0.receive(bytes) }
    }
    return SCPIClient(transport: transport, timeout: timeout)
}

@Suite("SCPI parsing")
struct SCPIParserTests {
    @Test("short and long forms, optional nodes, numeric suffixes")
    func patterns() {
        let p = SCPIPattern("[SOURce[1]]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
        #expect(p.matches(["SOUR", "VOLT"]))
        #expect(p.matches(["SOURCE", "VOLTAGE", "LEVEL"]))
        #expect(p.matches(["VOLT", "LEV", "IMM", "AMPL"]))
        #expect(p.matches(["SOUR1", "VOLT"]))
        #expect(!p.matches(["SOUR2", "VOLT"]))
        #expect(!p.matches(["SOU", "VOLT"]))
        #expect(!p.matches(["VOLT", "ILIM"]))
        #expect(SCPIPattern("SYSTem:ERRor[:NEXT]").matches(["SYST", "ERR"]))
    }

    @Test("messages split at ';' with relative headers, quotes and channel lists kept whole")
    func messages() throws {
        let commands = try SCPIParser.parse(":SENS:SWE:POIN 1024,(@1);TINT 2E-5,(@1);*OPC?;:TRAC:DATA? 1,2,\"def;buffer1\",READ").get()
        #expect(commands.map(\.path) == [["SENS", "SWE", "POIN"], ["SENS", "SWE", "TINT"], ["*OPC"], ["TRAC", "DATA"]])
        #expect(commands[0].parameters == ["1024", "(@1)"])
        #expect(commands[2].isQuery && commands[2].isCommon)
        #expect(commands[3].parameters == ["1", "2", "\"def;buffer1\"", "READ"])
        #expect(throws: SCPIError.self) { try SCPIParser.parse("SENS::SWE 3").get() }
    }

    @Test("the error queue is first in, first out, and says when it overflowed")
    func errorQueue() {
        var q = SCPIErrorQueue(capacity: 4)
        for k in 1...6 { q.push(SCPIError(-100 - k, "e\(k)")) }
        #expect((0..<5).map { _ in q.pop().code } == [-101, -102, -103, -350, 0])
    }
}

@Suite("Virtual SCPI instruments through the SCPI client")
struct SCPIInstrumentTests {
    static let load = SupplyProbe.load(voltage: Volts(3.3)) { _ in Amperes(2.5e-3) }

    @Test("identity, and an unknown command lands in the error queue without hanging anything")
    func identityAndErrors() async throws {
        let client = serve(VirtualPowerAnalyzer(probe: Self.load), timeout: .milliseconds(200))
        let id = try await client.identify()
        #expect(id == SCPIIdentity(parsing: "Keysight Technologies,N6705C,MY56006098,E.02.09.3271"))
        try await client.write("SENS:FROB 3")
        await #expect(throws: SCPIClientError.self) { _ = try await client.query("FROB?") }  // no answer: a timeout, not a hang
        let errors = try await client.errors()
        #expect(errors.map(\.code) == [-113, -113])
        #expect(try await client.query("SYST:ERR?") == "0,\"No error\"")
        do {
            try await client.checked("SENS:SWE:POIN 0,(@1)")
            Issue.record("0 points accepted")
        } catch {
            #expect(error.description.contains("-222"))
        }
    }

    @Test("array acquisition returns the load's current, with the meter's own gain error, in ASCII and binary")
    func arrayAcquisition() async throws {
        let probe = SupplyProbe.load(voltage: Volts(3.3)) { t in Amperes(t.picoseconds < 1_000_000_000 ? 1e-3 : 4e-3) }  // a step at 1 ms
        let client = serve(VirtualPowerAnalyzer(probe: probe, imperfections: MeterImperfections(gain: 0.02)))
        for c in ["SENS:FUNC:CURR ON,(@1)", "SENS:SWE:POIN 100,(@1)", "SENS:SWE:TINT 20E-6,(@1)", "TRIG:ACQ:SOUR BUS,(@1)", "INIT:ACQ (@1)", "TRIG:ACQ (@1)"] {
            try await client.checked(c)
        }
        let ascii = try await client.queryNumbers("FETC:ARR:CURR? (@1)")
        #expect(ascii.count == 100)
        #expect(abs(ascii[10] - 1.02e-3) < 2e-9)  // before the step, ×1.02
        #expect(abs(ascii[90] - 4.08e-3) < 2e-9)  // after it (t = 1.8 ms)
        #expect(probe.now() >= VirtualTime(nanoseconds: 2_000_000))  // the acquisition took its 2 ms of virtual time
        try await client.checked("FORM REAL")
        let binary = try await client.queryFloats("FETC:ARR:CURR? (@1)")
        #expect(binary.count == 100)
        for (a, b) in zip(ascii, binary) { #expect(abs(a - b) <= 1e-6 * abs(a)) }
    }

    @Test("on a virtual board, the fetched array integrates to the ledger energy of the window")
    func boardEnergy() async throws {
        let board = VirtualBoard(config: .ideal)
        let probe = SupplyProbe.board(board)
        let client = serve(VirtualPowerAnalyzer(probe: probe))
        let boardClient = BoardConnection.inProcessClient(for: board)
        _ = try await boardClient.hello()
        for c in ["SENS:SWE:POIN 500,(@1)", "SENS:SWE:TINT 10E-6,(@1)", "INIT:ACQ (@1)", "TRIG:ACQ (@1)"] { try await client.checked(c) }
        let start = board.now
        let before = board.ledger.total
        // Some board activity inside the 5 ms window, then the fetch idles the board to its end.
        _ = try await boardClient.program(pulses: [PulseCommand(tile: 0, side: .plus, row: 1, column: 1, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100_000, repeat: 10)])
        let currents = try await client.queryNumbers("FETC:ARR:CURR? (@1)")
        let window = Seconds(500 * 10e-6)
        let measured = currents.reduce(0, +) * 10e-6 * 3.3
        let truth = try #require(board.supplyEnergy(over: start..<(start + VirtualTime(rounding: window))))
        #expect(board.ledger.total - before >= truth)
        #expect(abs(measured - truth.value) <= 500 * 1e-9 * 10e-6 * 3.3 + 1e-9 * truth.value)  // within the 1 nA quantisation
    }

    @Test("the source-measure unit reads with NPLC integration into named buffers")
    func sourceMeter() async throws {
        let client = serve(VirtualSourceMeter(probe: Self.load, imperfections: MeterImperfections(offset: Amperes(1e-6))))
        #expect(try await client.identify().model == "MODEL 2450")
        await #expect(throws: SCPIClientError.self) { _ = try await client.query(":READ?") }  // output off: no reading
        #expect(try await client.errors().map(\.code) == [-221])
        for c in [":SOUR:FUNC VOLT", ":SOUR:VOLT:LEV 3.3", ":SOUR:VOLT:ILIM 0.1", ":SENS:FUNC \"CURR\"", ":SENS:CURR:NPLC 0.5", ":OUTP ON", ":TRAC:MAKE \"energy\",1000", ":COUN 5", ":TRAC:TRIG \"energy\""] {
            try await client.checked(c)
        }
        #expect(try await client.query(":TRAC:ACT? \"energy\"") == "5")
        let data = try await client.queryNumbers(":TRAC:DATA? 1,5,\"energy\",READ,REL,SOUR")
        #expect(data.count == 15)
        for k in 0..<5 {
            #expect(abs(data[3 * k] - 2.501e-3) < 1e-11)
            #expect(abs(data[3 * k + 1] - Double(k) * 0.01) < 1e-9)  // 0.5 PLC at 50 Hz = 10 ms apart
            #expect(data[3 * k + 2] == 3.3)
        }
        #expect(abs(try await client.queryNumbers(":READ?")[0] - 2.501e-3) < 1e-11)
    }
}

@Suite("SCPI over USBTMC bulk endpoints")
struct SCPIOverUSBTMCTests {
    @Test("the SCPI client reaches a virtual analyzer through USBTMC framing: identity, errors, a binary array")
    func analyzerOverUSBTMC() async throws {
        let pair = InMemoryBulkPair(endpoint: "usbtmc:0x0957:0x1A07:MY56006098", maxPacketSize: 64) { _, _ in [0x01] }
        let device = Mutex(SCPIDevice(model: VirtualPowerAnalyzer(probe: SCPIInstrumentTests.load, imperfections: MeterImperfections(gain: -0.01))))
        let serving = Task { await VirtualUSBTMCInstrument.serve(pair.device) { bytes in device.withLock { $0.receive(bytes) } } }
        defer { serving.cancel() }
        let session = USBTMCSession(endpoints: pair.host, timeout: .seconds(5), maxTransferSize: 64)
        let client = SCPIClient(transport: USBTMCTransport(session: session, endpoint: pair.host.endpoint), timeout: .seconds(5))
        #expect(try await client.identify().serial == "MY56006098")
        try await client.write("BOGUS:CMD")
        #expect(try await client.errors().map(\.code) == [-113])
        for c in ["SENS:SWE:POIN 300,(@1)", "SENS:SWE:TINT 10E-6,(@1)", "TRIG:ACQ:SOUR IMM,(@1)", "FORM REAL", "INIT:ACQ (@1)"] { try await client.checked(c) }
        let values = try await client.queryFloats("FETC:ARR:CURR? (@1)")  // 1 200 bytes: many 64-byte packets
        #expect(values.count == 300)
        #expect(values.allSatisfy { abs($0 - 2.475e-3) < 2e-9 })
    }
}
