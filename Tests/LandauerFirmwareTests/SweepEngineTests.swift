import LandauerFirmware
import Testing

/// SINGLE-CELL SWEEP in the engine: the compliance is the engine's to enforce (clamped to the
/// active limit, refused beyond the absolute one), every refusal changes nothing, and the stop
/// conditions end the sweep.
@Suite("FirmwareEngine: SINGLE-CELL SWEEP")
struct SweepEngineTests {
    static func staircase(
        _ volts: [Double], compliance: Double, stop: SweepStop = .none, dwell: UInt32 = 1000
    ) -> Request {
        .sweep(SweepRequest(
            tile: 0, side: .plus, row: 1, column: 2, mode: .staircase, stop: stop, dwellNanoseconds: dwell,
            compliance: Amperes(f32(compliance)), voltages: volts.map { Volts(f32($0)) }))
    }

    static func refusal(_ r: Response) -> ErrorResponse? {
        if case .error(let e) = r { return e }
        return nil
    }

    static func result(_ r: Response) throws -> SweepResult {
        guard case .sweep(let q) = r else { throw ExpectationFailed(response: r) }
        return q
    }

    struct ExpectationFailed: Error { var response: Response }

    @Test("a compliance above the absolute limit is refused with currentOutOfLimit and nothing is applied")
    func complianceAboveHardwareIsRefused() {
        var engine = FirmwareEngine(frontEnd: TestFrontEnd())
        let before = engine.currentCounters
        let g = engine.frontEnd.g
        let e = Self.refusal(engine.execute(Self.staircase([0.5, 1.0, 1.5], compliance: 2e-4)))
        #expect(e?.code == .currentOutOfLimit)
        #expect(e?.opcode == Opcode.sweep.rawValue)
        #expect(e?.value == Float(2e-4))
        #expect(e?.limit == Float(1e-4))
        #expect(engine.frontEnd.dcSteps.isEmpty)
        #expect(engine.frontEnd.g == g)
        #expect(engine.currentCounters.pulses == before.pulses)
        for bad in [0.0, -1e-5] {
            #expect(Self.refusal(engine.execute(Self.staircase([0.5], compliance: bad)))?.code == .currentOutOfLimit)
        }
        #expect(engine.frontEnd.dcSteps.isEmpty)
    }

    @Test("a compliance above the active limit is clamped to it: the drivers get the limit, every current stays within it")
    func complianceAboveActiveLimitIsClamped() throws {
        var engine = FirmwareEngine(frontEnd: TestFrontEnd())
        var limits = engine.limits
        limits.complianceCurrent = Amperes(f32(5e-6))
        guard case .limits = engine.execute(.setLimits(limits)) else {
            Issue.record("SET LIMITS refused")
            return
        }
        // The device at (1, 2) of tile 0 is 5.5 µS (5.6 µS after the 1 V step): 1.5 V would drive 8.4 µA without the limit.
        let q = try Self.result(engine.execute(Self.staircase([0, 0.5, 1.0, 1.5, 1.0, 0], compliance: 5e-5)))
        #expect(q.complianceClamped)
        #expect(q.compliance == Amperes(f32(5e-6)))
        #expect(q.steps.count == 6)
        #expect(engine.frontEnd.dcSteps.allSatisfy { $0.compliance == Amperes(f32(5e-6)) })
        let halfCode = q.amperesPerCode.value / 2
        for i in q.steps.indices {
            #expect(q.current(i).magnitude.value <= 5e-6 + halfCode, "step \(i): \(q.current(i))")
        }
        #expect(q.steps[3].limited && q.steps[4].limited)
        #expect(!q.steps[0].limited && !q.steps[1].limited)
        #expect(q.steps[0].currentCode == 0)
        // At or below the active limit the request's own compliance is used.
        let own = try Self.result(engine.execute(Self.staircase([1.5], compliance: 2e-6)))
        #expect(!own.complianceClamped)
        #expect(own.compliance == Amperes(f32(2e-6)))
        #expect(own.steps[0].limited)
    }

    @Test("the current range follows the compliance: the smallest range at or above it, so a low compliance is measured finely")
    func currentRangeFollowsCompliance() throws {
        var frontEnd = TestFrontEnd()
        let h = frontEnd.hardware
        frontEnd.hardware = FrontEndDescription(
            serial: h.serial, clockHertz: h.clockHertz, dacBits: h.dacBits, adcBits: h.adcBits, markerLines: h.markerLines, tiles: h.tiles,
            deviceReadFullScale: h.deviceReadFullScale, absoluteLimits: h.absoluteLimits,
            sweepCurrentRanges: [Amperes(1e-6), Amperes(1e-5), Amperes(5e-6), Amperes(3e-4)])
        // Out of order and above the top (the absolute compliance) are dropped; the top is always there.
        #expect(frontEnd.hardware.sweepCurrentRanges == [Amperes(1e-6), Amperes(1e-5), h.absoluteLimits.complianceCurrent])
        var engine = FirmwareEngine(frontEnd: frontEnd)
        let maxCode = Double(h.adcMaxCode)
        for (compliance, range) in [(5e-7, 1e-6), (1e-6, 1e-6), (2e-6, 1e-5), (1e-5, 1e-5), (5e-5, 1e-4)] {
            let q = try Self.result(engine.execute(Self.staircase([0.1], compliance: compliance)))
            #expect(abs(q.amperesPerCode.value / (range / maxCode) - 1) < 1e-6, "compliance \(compliance) A")
        }
        // The device at (1, 2) is 5.5 µS: 0.55 µA at 0.1 V, read in the 1 µA range to half a code
        // of 0.49 nA, and in the 100 µA range only to 49 nA.
        let fine = try Self.result(engine.execute(Self.staircase([0.1], compliance: 1e-6)))
        let coarse = try Self.result(engine.execute(Self.staircase([0.1], compliance: 1e-4)))
        let truth = Double(f32(0.1)) * 5.5e-6
        #expect(abs(fine.current(0).value - truth) <= fine.amperesPerCode.value / 2 * 1.0001)
        #expect(abs(fine.current(0).value - truth) < 0.001 * truth)
        #expect(abs(coarse.current(0).value - truth) > 0.01 * truth)
    }

    @Test("every refusal names the field and applies nothing")
    func refusalsChangeNothing() {
        var engine = FirmwareEngine(frontEnd: TestFrontEnd())
        let g = engine.frontEnd.g
        let v = Self.refusal(engine.execute(Self.staircase([1.0, 3.5, 1.0], compliance: 1e-5)))
        #expect(v?.code == .voltageOutOfLimit)
        #expect(v?.index == 1)
        #expect(Self.refusal(engine.execute(Self.staircase([-3.5], compliance: 1e-5)))?.code == .voltageOutOfLimit)
        #expect(Self.refusal(engine.execute(Self.staircase([1.0], compliance: 1e-5, dwell: 5)))?.code == .pulseWidthOutOfLimit)
        #expect(Self.refusal(engine.execute(Self.staircase([1.0], compliance: 1e-5, dwell: 2_000_000)))?.code == .pulseWidthOutOfLimit)
        let many = Self.refusal(engine.execute(Self.staircase([Double](repeating: 0.1, count: 10_001), compliance: 1e-5)))
        #expect(many?.code == .pulseCountOutOfLimit)
        let pulsedHighRead = Request.sweep(SweepRequest(
            tile: 0, side: .minus, row: 0, column: 0, mode: .pulsed, dwellNanoseconds: 100, compliance: Amperes(1e-5),
            readVoltage: Volts(0.75), voltages: [Volts(1)]))
        let r = Self.refusal(engine.execute(pulsedHighRead))
        #expect(r?.code == .voltageOutOfLimit)
        #expect(r?.index == 0xFFFF)
        let address = Request.sweep(SweepRequest(
            tile: 0, side: .plus, row: 4, column: 0, mode: .staircase, dwellNanoseconds: 100, compliance: Amperes(1e-5), voltages: [Volts(1)]))
        #expect(Self.refusal(engine.execute(address))?.code == .addressOutOfRange)
        #expect(engine.frontEnd.dcSteps.isEmpty)
        #expect(engine.frontEnd.g == g)
    }

    @Test("the decoder refuses unused fields that are not 0 and an empty step list")
    func malformedBodies() throws {
        func body(_ q: SweepRequest) -> Frame { Request.sweep(q).frame(sequence: 1) }
        var q = SweepRequest(tile: 0, side: .plus, row: 0, column: 0, mode: .staircase, dwellNanoseconds: 100, compliance: Amperes(1e-5), voltages: [Volts(1)])
        q.readVoltage = Volts(0.2)
        #expect(throws: ProtocolError.invalidField(type: 0x0D, offset: 16)) { try Request.decode(body(q)) }
        q.readVoltage = .zero
        q.stopConductance = Siemens(1e-6)
        #expect(throws: ProtocolError.invalidField(type: 0x0D, offset: 20)) { try Request.decode(body(q)) }
        q.stopConductance = .zero
        q.voltages = []
        #expect(throws: ProtocolError.invalidField(type: 0x0D, offset: 24)) { try Request.decode(body(q)) }
        var frame = body(SweepRequest(tile: 0, side: .plus, row: 0, column: 0, mode: .staircase, dwellNanoseconds: 100, compliance: Amperes(1e-5), voltages: [Volts(1)]))
        frame.body[6] = 2
        #expect(throws: ProtocolError.invalidField(type: 0x0D, offset: 6)) { try Request.decode(frame) }
        // Through the engine: malformedBody with the offset.
        var engine = FirmwareEngine(frontEnd: TestFrontEnd())
        let reply = engine.handle(encodedFrame: Array(frame.encoded().dropLast()))
        let response = try Response.decode(try Frame.decode(reply))
        #expect(Self.refusal(response)?.code == .malformedBody)
        #expect(Self.refusal(response)?.index == 6)
    }

    @Test("stop at compliance ends the sweep after the first limited step; stop at conductance after the first read above the threshold")
    func stopConditions() throws {
        var engine = FirmwareEngine(frontEnd: TestFrontEnd())
        let q = try Self.result(engine.execute(Self.staircase([0.2, 0.4, 0.6, 0.8, 1.0, 1.2], compliance: 3e-6, stop: .compliance)))
        // 5.5 µS: 0.6 V drives 3.3 µA > 3 µA.
        #expect(q.stopped)
        #expect(q.steps.count == 3)
        #expect(q.steps.last?.limited == true)
        #expect(engine.frontEnd.dcSteps.count == 3)
        // Pulsed: each +1 V pulse adds 0.1 µS; stop once the read says ≥ 5.85 µS.
        let pulsed = Request.sweep(SweepRequest(
            tile: 0, side: .plus, row: 1, column: 2, mode: .pulsed, stop: .conductance, dwellNanoseconds: 100,
            compliance: Amperes(1e-4), readVoltage: Volts(f32(0.5)), stopConductance: Siemens(f32(5.85e-6)),
            voltages: [Volts](repeating: Volts(1), count: 10)))
        let p = try Self.result(engine.execute(pulsed))
        #expect(p.stopped)
        #expect(p.steps.count == 4)  // 5.6, 5.7, 5.8, 5.9 µS after the pulses (the staircase stopped below 1 V)
        #expect(p.readConductance(p.steps.count - 1).value >= 5.85e-6)
        #expect(p.readConductance(0).value < 5.85e-6)
        let counters = engine.currentCounters
        #expect(counters.pulses == 7)
        #expect(counters.deviceReads == 4)
    }
}
