import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Testing

/// Forming and I-V tracing through the board client on the in-process virtual board: the
/// compliance is the board's to enforce, and the measurements show forming and a pinched loop.
@Suite("FormingProcedure and IVSweep on the virtual board")
struct FormingAndIVTests {
    static func unformedBoard(seed: UInt64 = 21) -> VirtualBoard {
        var c = VirtualBoardConfig.ideal
        c.forming = FormingParameters()
        c.seed = seed
        return VirtualBoard(config: c)
    }

    static let device = DeviceAddress(tile: 0, row: 3, column: 5, side: .plus)

    static func lsb(_ client: BoardClient) async -> Double {
        // The virtual board converts sweep currents over its absolute compliance.
        let info = await client.boardInfo!
        return info.absoluteLimits.complianceCurrent.value / Double(info.adcMaxCode)
    }

    @Test("forming asks for more than the active compliance: the board clamps it, and no current exceeds the limit")
    func formingNeverExceedsTheCompliance() async throws {
        let board = Self.unformedBoard()
        let client = BoardConnection.inProcessClient(for: board)
        let info = try await client.hello()
        var limits = info.activeLimits
        limits.complianceCurrent = Amperes(Double(Float(20e-6)))
        _ = try await client.setLimits(limits)
        let forming = FormingProcedure(device: Self.device, compliance: Amperes(50e-6))
        let result = try await forming.run(on: client)
        #expect(result.complianceClamped)
        #expect(result.compliance == limits.complianceCurrent)
        #expect(result.formed)
        let lsb = await Self.lsb(client)
        for p in result.points {
            #expect(p.current.magnitude.value <= limits.complianceCurrent.value + lsb / 2, "\(p.voltage): \(p.current)")
        }
        // Ground truth: what the limiter let through the device.
        let peak = board.withFrontEnd { $0.peakDCCurrent }
        #expect(peak <= limits.complianceCurrent)
        #expect(peak.value > 0.99 * limits.complianceCurrent.value)
    }

    @Test("a compliance above the hardware's is refused with currentOutOfLimit and the device is left unformed")
    func complianceAboveHardwareIsRefused() async throws {
        let board = Self.unformedBoard()
        let client = BoardConnection.inProcessClient(for: board)
        _ = try await client.hello()
        let forming = FormingProcedure(device: Self.device, compliance: Amperes(150e-6))
        do {
            _ = try await forming.run(on: client)
            Issue.record("the board accepted 150 µA")
        } catch {
            guard case .board(.refused(let e, _)) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(e.code == .currentOutOfLimit)
            #expect(e.value == Float(150e-6))
            #expect(e.limit == Float(100e-6))
        }
        let formed = board.withFrontEnd { $0.tiles[0].isFormed(row: 3, column: 5, side: .plus) }
        #expect(!formed)
        #expect(board.withFrontEnd { $0.peakDCCurrent } == .zero)
    }

    @Test("forming switches an unformed cell at its forming voltage and stops there")
    func formingSwitchesAndStops() async throws {
        let board = Self.unformedBoard()
        let vForm = try #require(board.withFrontEnd { $0.tiles[0].formingVoltage(row: 3, column: 5, side: .plus) })
        let client = BoardConnection.inProcessClient(for: board)
        _ = try await client.hello()
        let forming = FormingProcedure(device: Self.device, stepVoltage: Volts(0.05), compliance: Amperes(20e-6))
        let result = try await forming.run(on: client)
        #expect(result.formed)
        let at = try #require(result.formingVoltage)
        #expect(at.value >= vForm.value - 1e-6 && at.value < vForm.value + 0.05 + 1e-6, "formed at \(at), device forms at \(vForm)")
        #expect(result.points.last?.limited == true)
        #expect(result.points.dropLast().allSatisfy { !$0.limited && $0.current.magnitude.value < 1e-6 })
        #expect(result.points.count < forming.voltages.count)
        #expect(board.withFrontEnd { $0.tiles[0].isFormed(row: 3, column: 5, side: .plus) })
        // Compliance-limited forming leaves G = I_c / V_form; the read after forming sees it.
        let expected = Double(Float(20e-6)) / at.value
        #expect(abs(result.conductanceAfter.value - expected) < 0.3e-6, "\(result.conductanceAfter) vs \(expected) S")
        // Pulsed forming of a neighbour with a conductance threshold stops at that threshold.
        let pulsed = FormingProcedure(
            device: DeviceAddress(tile: 0, row: 3, column: 6, side: .plus), compliance: Amperes(20e-6), mode: .pulsed,
            readVoltage: Volts(0.2), formedConductance: Siemens(2e-6))
        let p = try await pulsed.run(on: client)
        #expect(p.formed)
        #expect((p.points.last?.readConductance?.value ?? 0) >= 2e-6)
        #expect(p.points.dropLast().allSatisfy { ($0.readConductance?.value ?? 1) < 2e-6 })
    }

    @Test("a staircase I-V sweep traces a pinched hysteresis loop: I = 0 at 0 V, SET on the positive branch, RESET on the negative")
    func staircaseLoopIsPinched() async throws {
        var c = VirtualBoardConfig.ideal
        c.deviceModel = .vteam(VTEAMParameters())
        let board = VirtualBoard(config: c)
        let client = BoardConnection.inProcessClient(for: board)
        _ = try await client.hello()
        let sweep = IVSweep(device: Self.device, maximumVoltage: Volts(1.5), reverseVoltage: Volts(1.5), stepVoltage: Volts(0.1), dwellNanoseconds: 100_000)
        let curve = try await sweep.run(on: client)
        #expect(curve.points.count == sweep.loopVoltages.count)
        #expect(curve.points.map(\.voltage) == sweep.loopVoltages.map { Volts(Double(Float($0.value))) })
        #expect(curve.pinchCurrent == .zero)
        let lsb = await Self.lsb(client)
        // Positive branch, below the threshold: more current on the way back (the device SET).
        for v in [0.3, 0.5, 0.7] {
            let pair = try #require(curve.branchCurrents(at: Volts(Double(Float(v)))).first)
            #expect(pair.inbound.value > pair.outbound.value + 4 * lsb, "\(v) V: \(pair)")
            #expect(pair.outbound.value > 0)
        }
        // Negative branch: less current on the way back (the device RESET).
        for v in [-0.3, -0.5, -0.7] {
            let pair = try #require(curve.branchCurrents(at: Volts(Double(Float(v)))).first)
            #expect(pair.inbound.magnitude.value + 4 * lsb < pair.outbound.magnitude.value, "\(v) V: \(pair)")
            #expect(pair.outbound.value < 0)
        }
        // Current and voltage have the same sign everywhere (a passive device: the loop is pinched).
        #expect(curve.points.allSatisfy { $0.voltage.value * $0.current.value >= 0 })
    }

    @Test("a pulsed I-V sweep reads the conductance after every pulse: it rises on the positive branch and falls on the negative")
    func pulsedSweepReadsConductance() async throws {
        let board = VirtualBoard(config: .ideal)
        let client = BoardConnection.inProcessClient(for: board)
        _ = try await client.hello()
        let sweep = IVSweep(device: Self.device, maximumVoltage: Volts(1.5), reverseVoltage: Volts(1.5), stepVoltage: Volts(0.1), dwellNanoseconds: 1000, mode: .pulsed, readVoltage: Volts(0.2))
        let curve = try await sweep.run(on: client)
        let g = curve.points.map { $0.readConductance!.value }
        let peak = try #require(curve.points.firstIndex { $0.voltage.value < 0 })
        #expect(g[peak - 1] > g[0] + 1e-6)
        #expect(g.last! < g[peak - 1] - 1e-6)
        #expect(curve.pulsed)
    }
}
