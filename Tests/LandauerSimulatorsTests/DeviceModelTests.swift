import LandauerFirmware
import Testing
@testable import LandauerSimulators

/// Statistics of a sample.
private func meanAndStandardDeviation(_ x: [Double]) -> (mean: Double, sd: Double) {
    let m = x.reduce(0, +) / Double(x.count)
    let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)
    return (m, v.squareRoot())
}

@Suite("DeviceModel")
struct DeviceModelTests {
    let window = ConductanceWindow.default
    let width = Seconds(1e-6)
    let compliance = Amperes(100e-6)

    /// Applies one pulse of `voltage` to every device of both sides, each first set to `start`,
    /// and returns the conductance steps.
    func steps(_ tile: inout CrossbarTile, from start: Siemens, voltage: Volts) -> [Double] {
        var out: [Double] = []
        for side in DeviceSide.allCases {
            for i in 0..<tile.rows {
                for j in 0..<tile.columns {
                    tile.setConductance(start, row: i, column: j, side: side)
                    let (b, a) = tile.applyPulse(row: i, column: j, side: side, voltage: voltage, width: width, compliance: compliance)
                    out.append(a.value - b.value)
                }
            }
        }
        return out
    }

    @Test("the names of the models round-trip")
    func names() {
        for name in DeviceModel.names { #expect(DeviceModel(named: name)?.name == name) }
        #expect(DeviceModel(named: "memristor") == nil)
    }

    @Test("ideal devices step by ΔG at or above the threshold, not below, and clip to the window")
    func ideal() {
        var tile = CrossbarTile(rows: 1, columns: 1, model: .ideal(IdealDeviceParameters(step: Siemens(1e-6), threshold: Volts(0.8))), seed: 1)
        tile.setConductance(Siemens(5e-6), row: 0, column: 0, side: .plus)
        tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(0.8), width: width, compliance: compliance)
        #expect(abs(tile.conductance(row: 0, column: 0, side: .plus).value - 6e-6) < 1e-18)
        tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(-1.5), width: width, compliance: compliance)
        tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(-1.5), width: Seconds(1e-3), compliance: compliance)
        #expect(abs(tile.conductance(row: 0, column: 0, side: .plus).value - 4e-6) < 1e-18)
        let (b, a) = tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(0.79), width: width, compliance: compliance)
        #expect(a == b)
        for _ in 0..<30 { tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(2), width: width, compliance: compliance) }
        #expect(tile.conductance(row: 0, column: 0, side: .plus) == window.maximum)
        for _ in 0..<30 { tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(-2), width: width, compliance: compliance) }
        #expect(tile.conductance(row: 0, column: 0, side: .plus) == window.minimum)
    }

    @Test("constant-step statistics: mean, up/down asymmetry and cycle-to-cycle spread match the parameters")
    func constantStepStatistics() {
        let p = PulsedStepParameters(
            dwMin: 0.01, upDown: 0.2, dwMinDtoD: 0, upDownDtoD: 0, cycleToCycle: 0.1, wMin: -1, wMax: 1, wMinDtoD: 0, wMaxDtoD: 0)
        var tile = CrossbarTile(rows: 50, columns: 20, model: .constantStep(p), seed: 11)
        let gPerW = window.span.value / 2
        let mid = window.conductance(atFraction: 0.5)
        let up = meanAndStandardDeviation(steps(&tile, from: mid, voltage: Volts(1.5)))
        let down = meanAndStandardDeviation(steps(&tile, from: mid, voltage: Volts(-1.5)))
        let upExpected = 0.01 * 1.2 * gPerW
        let downExpected = 0.01 * 0.8 * gPerW
        #expect(abs(up.mean / upExpected - 1) < 0.01)
        #expect(abs(-down.mean / downExpected - 1) < 0.01)
        #expect(abs(up.sd / (0.1 * upExpected) - 1) < 0.1)
        #expect(abs(down.sd / (0.1 * downExpected) - 1) < 0.1)
        // Below threshold (e.g. half-selected at 0.75 V) nothing moves.
        #expect(steps(&tile, from: mid, voltage: Volts(0.75)).allSatisfy { $0 == 0 })
    }

    @Test("device-to-device spread of the step is drawn once per device")
    func deviceToDeviceSpread() {
        let p = PulsedStepParameters(
            dwMin: 0.01, upDown: 0, dwMinDtoD: 0.3, upDownDtoD: 0, cycleToCycle: 0, wMin: -1, wMax: 1, wMinDtoD: 0, wMaxDtoD: 0)
        var tile = CrossbarTile(rows: 50, columns: 20, model: .constantStep(p), seed: 12)
        let mid = window.conductance(atFraction: 0.5)
        let first = steps(&tile, from: mid, voltage: Volts(1.5))
        let second = steps(&tile, from: mid, voltage: Volts(1.5))
        #expect(first == second)  // no cycle noise: each device repeats its own step exactly
        let s = meanAndStandardDeviation(first)
        let expected = 0.01 * window.span.value / 2
        #expect(abs(s.mean / expected - 1) < 0.03)
        #expect(abs(s.sd / (0.3 * expected) - 1) < 0.1)
    }

    @Test("soft-bounds steps shrink linearly to zero at the bound they move toward")
    func softBoundsShrinkage() {
        let p = PulsedStepParameters(
            dwMin: 0.02, upDown: 0.1, dwMinDtoD: 0, upDownDtoD: 0, cycleToCycle: 0, wMin: -0.75, wMax: 1.25, wMinDtoD: 0, wMaxDtoD: 0)
        var tile = CrossbarTile(rows: 1, columns: 1, model: .softBounds(p), seed: 3)
        let gPerW = window.span.value / 2
        for w in stride(from: -0.7, through: 1.2, by: 0.1) {
            let g = window.minimum.value + (w + 0.75) * gPerW
            tile.setConductance(Siemens(g), row: 0, column: 0, side: .minus)
            let (b, a) = tile.applyPulse(row: 0, column: 0, side: .minus, voltage: Volts(1.2), width: width, compliance: compliance)
            let expectedUp = 0.02 * 1.1 * (1 - w / 1.25) * gPerW
            #expect(abs((a.value - b.value) - expectedUp) < 1e-6 * expectedUp)
            tile.setConductance(Siemens(g), row: 0, column: 0, side: .minus)
            let (b2, a2) = tile.applyPulse(row: 0, column: 0, side: .minus, voltage: Volts(-1.2), width: width, compliance: compliance)
            let expectedDown = 0.02 * 0.9 * (1 - w / -0.75) * gPerW
            #expect(abs((b2.value - a2.value) - expectedDown) < 1e-6 * expectedDown)
        }
        // At the upper bound an up pulse does nothing.
        tile.setConductance(window.maximum, row: 0, column: 0, side: .plus)
        let (b, a) = tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(1.2), width: width, compliance: compliance)
        #expect(a == b)
    }

    @Test("exp-step steps follow max(1 − A·e^(d·γ·z), 0) with aihwkit's z")
    func expStepFactor() {
        var e = ExpStepParameters.reram
        e.step = e.step.withoutVariation
        var tile = CrossbarTile(rows: 1, columns: 1, model: .expStep(e), seed: 4)
        let gPerW = window.span.value / 2
        for w in stride(from: -0.95, through: 0.95, by: 0.1) {
            let g = window.minimum.value + (w + 1) * gPerW
            let z = 2 * e.a * w / 2 + e.b
            for d in [1.0, -1.0] {
                tile.setConductance(Siemens(g), row: 0, column: 0, side: .plus)
                let (b, a) = tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(1.5 * d), width: width, compliance: compliance)
                let A = d > 0 ? e.aUp : e.aDown
                let gamma = d > 0 ? e.gammaUp : e.gammaDown
                let y = max(1 - A * LibM.exponential(d * gamma * z), 0)
                var expected = d * 0.00135 * (1 + d * 0.259359) * y
                expected = min(max(w + expected, -1), 1) - w
                #expect(abs((a.value - b.value) - expected * gPerW) <= 1e-9 * abs(expected * gPerW) + 1e-20)
            }
        }
    }

    @Test("VTEAM: sub-threshold pulses do nothing, longer and larger pulses move more, about 1 % per 1 µs at 1.5 V")
    func vteam() {
        var tile = CrossbarTile(rows: 1, columns: 1, model: .vteam(VTEAMParameters()), seed: 5)
        let mid = window.conductance(atFraction: 0.5)
        func change(_ v: Double, _ t: Double) -> Double {
            tile.setConductance(mid, row: 0, column: 0, side: .plus)
            let (b, a) = tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(v), width: Seconds(t), compliance: compliance)
            return (a.value - b.value) / window.span.value
        }
        #expect(change(0.8, 1e-3) == 0)
        #expect(change(-0.8, 1e-3) == 0)
        #expect(change(0.75, 1e-6) == 0)
        #expect(change(0.5, 1e-3) == 0)
        let up = change(1.5, 1e-6)
        let down = change(-1.5, 1e-6)
        #expect(up > 0.004 && up < 0.02)  // positive device voltage potentiates
        #expect(down < -0.004 && down > -0.02)
        #expect(change(1.5, 2e-6) > up)
        #expect(change(1.8, 1e-6) > up)
        #expect(change(-1.5, 3e-6) < down)
        #expect(change(-2.0, 1e-6) < down)
        // A very long pulse saturates at the window's bounds, never beyond.
        tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(3), width: Seconds(1e-3), compliance: compliance)
        let g = tile.conductance(row: 0, column: 0, side: .plus)
        #expect(g <= window.maximum && g.value > 0.9 * window.maximum.value)
    }

    @Test("VTEAM: the compliance limits the voltage a conducting device sees")
    func vteamCompliance() {
        var tile = CrossbarTile(rows: 1, columns: 1, model: .vteam(VTEAMParameters()), seed: 6)
        let start = Siemens(15e-6)
        tile.setConductance(start, row: 0, column: 0, side: .plus)
        let free = tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(2), width: width, compliance: Amperes(1e-3))
        tile.setConductance(start, row: 0, column: 0, side: .plus)
        // 15 µA through 15 µS leaves 1 V across the device: barely above threshold.
        let limited = tile.applyPulse(row: 0, column: 0, side: .plus, voltage: Volts(2), width: width, compliance: Amperes(15e-6))
        #expect(limited.after.value - limited.before.value < 0.1 * (free.after.value - free.before.value))
    }

    @Test("stuck devices never move")
    func stuck() {
        for model in [DeviceModel.ideal(IdealDeviceParameters()), .constantStep(PulsedStepParameters()), .vteam(VTEAMParameters())] {
            var tile = CrossbarTile(rows: 20, columns: 20, model: model, stuckFraction: 0.2, seed: 9)
            #expect(tile.stuckDeviceCount > 120 && tile.stuckDeviceCount < 200)  // 800 devices × 0.2
            var stuck: [(Int, Int, DeviceSide, Siemens)] = []
            for side in DeviceSide.allCases {
                for i in 0..<20 {
                    for j in 0..<20 {
                        let s = tile.stuckState(row: i, column: j, side: side)
                        if s != .free {
                            let g = tile.conductance(row: i, column: j, side: side)
                            #expect(g == (s == .atMaximum ? window.maximum : window.minimum))
                            stuck.append((i, j, side, g))
                        }
                    }
                }
            }
            #expect(!stuck.isEmpty)
            for (i, j, side, g) in stuck {
                for v in [2.0, -2.0, 3.0] {
                    tile.applyPulse(row: i, column: j, side: side, voltage: Volts(v), width: Seconds(1e-4), compliance: compliance)
                }
                #expect(tile.conductance(row: i, column: j, side: side) == g)
            }
            var rows = [Int8](repeating: 1, count: 20)
            var cols = [Int8](repeating: 1, count: 20)
            rows[3] = 0
            cols[4] = -1
            _ = rows.withUnsafeBufferPointer { r in
                cols.withUnsafeBufferPointer { c in
                    tile.applySlot(side: .plus, rowDrive: r, columnDrive: c, amplitude: Volts(2), width: width, compliance: compliance)
                }
            }
            for (i, j, side, g) in stuck { #expect(tile.conductance(row: i, column: j, side: side) == g) }
        }
    }
}
