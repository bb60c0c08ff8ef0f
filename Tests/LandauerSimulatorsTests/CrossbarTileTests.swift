import LandauerFirmware
import Testing
@testable import LandauerSimulators

@Suite("CrossbarTile")
struct CrossbarTileTests {
    let compliance = Amperes(100e-6)

    func patterned(rows: Int, columns: Int) -> CrossbarTile {
        var tile = CrossbarTile(rows: rows, columns: columns, model: .ideal(IdealDeviceParameters()), seed: 1)
        for i in 0..<rows {
            for j in 0..<columns {
                tile.setConductance(Siemens(Double(1 + (i * 7 + j * 3) % 19) * 1e-6), row: i, column: j, side: .plus)
                tile.setConductance(Siemens(Double(1 + (i * 5 + j * 11) % 19) * 1e-6), row: i, column: j, side: .minus)
            }
        }
        return tile
    }

    @Test("the fast read path equals the ground-truth product in both orientations")
    func readPath() {
        var tile = patterned(rows: 6, columns: 4)
        tile.refreshCaches()
        let vin: [Double] = [0.1, -0.2, 0.3, 0, 0.05, -0.5]
        var out = [Double](repeating: 0, count: 4)
        vin.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { o in tile.outputCurrents(orientation: .forward, inputs: v, into: o) } }
        let truth = tile.idealOutputCurrents(inputs: vin.map(Volts.init), orientation: .forward)
        for j in 0..<4 { #expect(abs(out[j] - truth[j].value) < 1e-18) }
        let vt: [Double] = [0.4, -0.1, 0.2, 0.3]
        var outT = [Double](repeating: 0, count: 6)
        vt.withUnsafeBufferPointer { v in outT.withUnsafeMutableBufferPointer { o in tile.outputCurrents(orientation: .transposed, inputs: v, into: o) } }
        let truthT = tile.idealOutputCurrents(inputs: vt.map(Volts.init), orientation: .transposed)
        for i in 0..<6 { #expect(abs(outT[i] - truthT[i].value) < 1e-18) }
        // Read power: Σ V²·(all conductance on the driven line).
        var expected = 0.0
        for i in 0..<6 {
            for j in 0..<4 {
                let g = tile.conductance(row: i, column: j, side: .plus).value + tile.conductance(row: i, column: j, side: .minus).value
                expected += vin[i] * vin[i] * g
            }
        }
        let p = vin.withUnsafeBufferPointer { tile.readPower(orientation: .forward, inputs: $0) }
        #expect(abs(p - expected) < 1e-15 * expected)
    }

    @Test("caches follow every conductance change")
    func cacheInvalidation() {
        var tile = patterned(rows: 3, columns: 3)
        tile.refreshCaches()
        let before = tile.columnLoad[1]
        tile.applyPulse(row: 2, column: 1, side: .minus, voltage: Volts(1.5), width: Seconds(1e-6), compliance: compliance)
        tile.refreshCaches()
        #expect(abs(tile.columnLoad[1] - before - 0.19e-6) < 1e-15)
        tile.setConductance(Siemens(7e-6), row: 0, column: 0, side: .plus)
        tile.refreshCaches()
        #expect(tile.weights[0] == 7e-6 - tile.conductance(row: 0, column: 0, side: .minus).value)
    }

    @Test("set-up clamps into the window")
    func clamp() {
        var tile = CrossbarTile(rows: 1, columns: 1, model: .vteam(VTEAMParameters()), seed: 1)
        tile.setConductance(Siemens(1), row: 0, column: 0, side: .plus)
        #expect(tile.conductance(row: 0, column: 0, side: .plus) == tile.window.maximum)
        #expect(tile.state(row: 0, column: 0, side: .plus) == 0)
        tile.setConductance(Siemens(0), row: 0, column: 0, side: .plus)
        #expect(abs(tile.conductance(row: 0, column: 0, side: .plus).value - 1e-6) < 1e-15)
    }

    @Test("a slot fully selects coincidences and half-selects the rest of the driven lines")
    func slotSelection() {
        var tile = patterned(rows: 5, columns: 4)
        let rows: [Int8] = [1, 0, -1, 0, 1]
        let cols: [Int8] = [1, -1, 0, 0]
        let before = tile.conductances(side: .plus)
        let outcome = rows.withUnsafeBufferPointer { r in
            cols.withUnsafeBufferPointer { c in
                tile.applySlot(side: .plus, rowDrive: r, columnDrive: c, amplitude: Volts(1.5), width: Seconds(1e-6), compliance: compliance)
            }
        }
        // Device (i, j) sees (r_i + c_j)·V/2: full where r = c ≠ 0, half where exactly one is 0.
        var full = 0
        var half = 0
        var fullEnergy = 0.0
        var halfEnergy = 0.0
        for i in 0..<5 {
            for j in 0..<4 {
                let d = Int(rows[i]) + Int(cols[j])
                let g0 = before[i * 4 + j].value
                let g1 = tile.conductance(row: i, column: j, side: .plus).value
                if abs(d) == 2 {
                    full += 1
                    #expect(abs((g1 - g0) - Double(d / 2) * 0.19e-6) < 1e-15 || g1 == 20e-6 || g1 == 1e-6)
                    fullEnergy += 1.5 * 1.5 * 0.5 * (g0 + g1) * 1e-6
                } else if abs(d) == 1 {
                    half += 1
                    #expect(g1 == g0)  // 0.75 V is below the 0.8 V threshold
                    halfEnergy += 0.75 * 0.75 * g0 * 1e-6
                } else {
                    #expect(g1 == g0)
                }
            }
        }
        #expect(outcome.fullySelected == full && full == 3)  // (0,0), (4,0), (2,1)
        #expect(outcome.halfSelected == half)
        #expect(outcome.drivenLines == 5)
        #expect(abs(outcome.fullEnergy.value - fullEnergy) < 1e-12 * fullEnergy)
        #expect(abs(outcome.halfEnergy.value - halfEnergy) < 1e-12 * halfEnergy)
        // The other side's columns float: its devices never change.
        #expect(tile.conductances(side: .minus) == patterned(rows: 5, columns: 4).conductances(side: .minus))
    }

    @Test("pulse energy clamps the current at the compliance")
    func pulseEnergy() {
        let e = CrossbarTile.pulseEnergy(voltage: Volts(-2), before: Siemens(10e-6), after: Siemens(12e-6), width: Seconds(1e-6), compliance: Amperes(1e-3))
        #expect(abs(e.value - 2 * 2 * 11e-6 * 1e-6) < 1e-24)
        let clamped = CrossbarTile.pulseEnergy(voltage: Volts(2), before: Siemens(10e-6), after: Siemens(12e-6), width: Seconds(1e-6), compliance: Amperes(5e-6))
        #expect(abs(clamped.value - 2 * 5e-6 * 1e-6) < 1e-24)
    }
}
