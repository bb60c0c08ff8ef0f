import LandauerFirmware
import LandauerSimulators
import Testing

/// Unformed devices, compliance-limited forming, and DC I-V physics of the virtual front end.
@Suite("Device physics: forming and DC steps")
struct FormingPhysicsTests {
    static func unformedConfig(seed: UInt64 = 11) -> VirtualBoardConfig {
        var c = VirtualBoardConfig.ideal
        c.forming = FormingParameters()
        c.seed = seed
        return c
    }

    @Test("by default every device starts formed and nothing changes")
    func formedByDefault() {
        let f = VirtualFrontEnd(config: .default)
        #expect(f.tiles[0].isFormed(row: 0, column: 0, side: .plus))
        #expect(f.tiles[1].formingVoltage(row: 31, column: 9, side: .minus) == nil)
        #expect(VirtualBoardConfig.default.forming == nil && VirtualBoardConfig.ideal.forming == nil)
    }

    @Test("unformed devices conduct next to nothing and ignore programming pulses below their forming voltage")
    func unformedDevicesIgnorePulses() {
        var f = VirtualFrontEnd(config: Self.unformedConfig())
        let g0 = f.tiles[0].conductance(row: 2, column: 3, side: .plus)
        #expect(g0 == Siemens(10e-9))
        let vForm = try! #require(f.tiles[0].formingVoltage(row: 2, column: 3, side: .plus))
        f.pulse(tile: 0, row: 2, column: 3, side: .plus, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100, compliance: Amperes(1e-4))
        f.pulse(tile: 0, row: 2, column: 3, side: .plus, polarity: -1, amplitude: Volts(3), widthNanoseconds: 100, compliance: Amperes(1e-4))
        #expect(f.tiles[0].conductance(row: 2, column: 3, side: .plus) == g0)
        #expect(vForm.value > 1.2 && vForm.value < 3.5)
    }

    @Test("forming voltages are drawn per device from the seed: reproducible, different between devices and seeds")
    func formingVoltagesAreSeeded() {
        let a = VirtualFrontEnd(config: Self.unformedConfig(seed: 5))
        let b = VirtualFrontEnd(config: Self.unformedConfig(seed: 5))
        let c = VirtualFrontEnd(config: Self.unformedConfig(seed: 6))
        var values: [Double] = []
        for r in 0..<8 {
            for col in 0..<4 {
                let v = a.tiles[0].formingVoltage(row: r, column: col, side: .plus)!.value
                #expect(v == b.tiles[0].formingVoltage(row: r, column: col, side: .plus)!.value)
                values.append(v)
            }
        }
        #expect(Set(values).count == values.count)
        #expect(values[0] != c.tiles[0].formingVoltage(row: 0, column: 0, side: .plus)!.value)
        let mean = values.reduce(0, +) / Double(values.count)
        #expect(abs(mean - 2.2) < 0.1)
    }

    @Test("a DC staircase forms the device at its forming voltage, the limiter holding |I| at the compliance")
    func staircaseForms() {
        var f = VirtualFrontEnd(config: Self.unformedConfig())
        let vForm = f.tiles[0].formingVoltage(row: 0, column: 1, side: .minus)!.value
        let compliance = Amperes(20e-6)
        var formedAt: Double?
        var v = 0.5
        while v <= 3.0 && formedAt == nil {
            let m = f.applyDC(tile: 0, row: 0, column: 1, side: .minus, voltage: Volts(v), compliance: compliance, dwellNanoseconds: 10_000, currentFullScale: f.hardware.sweepCurrentFullScale)
            if m.limited { formedAt = v } else { #expect(m.currentCode == 0, "before forming at \(v) V") }
            v += 0.05
        }
        let at = try! #require(formedAt)
        #expect(at >= vForm && at < vForm + 0.05 + 1e-9)
        #expect(f.tiles[0].isFormed(row: 0, column: 1, side: .minus))
        // The filament stopped growing at the compliance: G = I_c / V.
        let g = f.tiles[0].conductance(row: 0, column: 1, side: .minus).value
        #expect(abs(g - 20e-6 / at) < 1e-12)
        #expect(f.peakDCCurrent <= compliance)
        // The neighbours are still unformed.
        #expect(!f.tiles[0].isFormed(row: 0, column: 1, side: .plus))
        #expect(!f.tiles[0].isFormed(row: 0, column: 2, side: .minus))
    }

    @Test("the limiter holds the true device current at the compliance whatever the voltage")
    func limiterHoldsCurrent() {
        var f = VirtualFrontEnd(config: .ideal)
        f.tiles[0].setConductance(Siemens(20e-6), row: 0, column: 0, side: .plus)
        for v in stride(from: -3.0, through: 3.0, by: 0.25) {
            let m = f.applyDC(tile: 0, row: 0, column: 0, side: .plus, voltage: Volts(v), compliance: Amperes(10e-6), dwellNanoseconds: 1000, currentFullScale: f.hardware.sweepCurrentFullScale)
            let lsb = f.hardware.sweepCurrentFullScale.value / Double(f.hardware.adcMaxCode)
            #expect(Double(abs(Int(m.currentCode))) * lsb <= 10e-6 + lsb / 2, "\(v) V")
        }
        #expect(f.peakDCCurrent <= Amperes(10e-6))
        #expect(f.peakDCCurrent == Amperes(10e-6))
    }

    @Test("a DC step books its energy like a pulse, plus one DAC update and one conversion, and takes set-up + dwell + conversion")
    func dcStepEnergyAndTime() {
        var f = VirtualFrontEnd(config: .ideal)
        let ledger = f.ledger
        let t0 = f.now
        _ = f.applyDC(tile: 0, row: 0, column: 0, side: .plus, voltage: Volts(0.5), compliance: Amperes(1e-4), dwellNanoseconds: 1000, currentFullScale: f.hardware.sweepCurrentFullScale)
        let d = f.ledger.subtracting(ledger)
        let g = 10.5e-6
        #expect(abs(d.energy(of: .programmingPulse).value - 0.5 * 0.5 * g * 1e-6) < 1e-21)
        #expect(abs(d.energy(of: .lineCharging).value - 2e-12 * 0.25) < 1e-24)
        #expect(d.count(of: .dacUpdate) == 1 && d.count(of: .adcConversion) == 1)
        #expect((f.now - t0) == VirtualTime(picoseconds: 100_000 + 1_000_000 + 250_000))
        #expect(abs(f.waveform.totalEnergy.value - f.ledger.total.value) < 1e-18)
    }

    @Test("a DC step below the threshold leaves the device alone; above it SETs (positive) or RESETs (negative)")
    func dcSwitching() {
        var f = VirtualFrontEnd(config: .ideal)
        let g0 = f.tiles[0].conductance(row: 1, column: 1, side: .plus)
        _ = f.applyDC(tile: 0, row: 1, column: 1, side: .plus, voltage: Volts(0.5), compliance: Amperes(1e-4), dwellNanoseconds: 1000, currentFullScale: f.hardware.sweepCurrentFullScale)
        #expect(f.tiles[0].conductance(row: 1, column: 1, side: .plus) == g0)
        _ = f.applyDC(tile: 0, row: 1, column: 1, side: .plus, voltage: Volts(1.0), compliance: Amperes(1e-4), dwellNanoseconds: 1000, currentFullScale: f.hardware.sweepCurrentFullScale)
        #expect(f.tiles[0].conductance(row: 1, column: 1, side: .plus) > g0)
        _ = f.applyDC(tile: 0, row: 1, column: 1, side: .plus, voltage: Volts(-1.0), compliance: Amperes(1e-4), dwellNanoseconds: 1000, currentFullScale: f.hardware.sweepCurrentFullScale)
        _ = f.applyDC(tile: 0, row: 1, column: 1, side: .plus, voltage: Volts(-1.0), compliance: Amperes(1e-4), dwellNanoseconds: 1000, currentFullScale: f.hardware.sweepCurrentFullScale)
        #expect(f.tiles[0].conductance(row: 1, column: 1, side: .plus) < g0)
    }
}
