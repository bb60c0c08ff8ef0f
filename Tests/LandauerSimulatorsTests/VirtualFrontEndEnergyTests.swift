import LandauerFirmware
import Testing
@testable import LandauerSimulators

private func close(_ a: Double, _ b: Double, _ rel: Double = 1e-9) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-30
}

@Suite("VirtualFrontEnd energy accounting")
struct VirtualFrontEndEnergyTests {
    @Test("a scripted sequence books exactly the analytic energies and times; the waveform integrates to the ledger")
    func scriptedSequence() {
        let c = VirtualBoardConfig.ideal
        var fe = VirtualFrontEnd(config: c)
        fillPattern(&fe, tile: 0)
        fillPattern(&fe, tile: 1, salt: 3)
        let step = 0.19e-6
        let tRead = c.readTime.value
        let gMax = c.conductanceWindow.maximum.value
        let gMin = c.conductanceWindow.minimum.value
        var expected = [EnergyEventKind: Double]()
        var counts = [EnergyEventKind: UInt64]()
        func add(_ k: EnergyEventKind, _ e: Double, _ n: UInt64) {
            expected[k, default: 0] += e
            counts[k, default: 0] += n
        }
        var busyPs: UInt64 = 0  // time outside run(cycles:)
        var cycles: UInt64 = 0

        // 1. Firmware work.
        fe.run(cycles: 1000)
        cycles += 1000

        // 2. Forward read of tile 0.
        let codes0 = (0..<64).map { Int16(($0 * 13) % 127 - 63) }
        var readPower = 0.0
        for i in 0..<64 {
            let v = Double(codes0[i]) / 63 * 0.4
            var load = 0.0
            for j in 0..<32 { load += fe.tiles[0].conductance(row: i, column: j, side: .plus).value + fe.tiles[0].conductance(row: i, column: j, side: .minus).value }
            readPower += v * v * load
        }
        _ = fe.read(tile: 0, .forward, codes: codes0, fullScale: Volts(0.4))
        add(.dacUpdate, 64 * 1e-12, 64)
        add(.arrayRead, readPower * tRead, 1)
        add(.adcConversion, 32 * 1e-12, 32)
        busyPs += 200_000 + 500_000 + 4 * 250_000

        // 3. Transposed read of tile 1 (32 × 10): columns driven, both devices of a pair at V_j.
        let codes1 = (0..<10).map { Int16(60 - 11 * $0) }
        readPower = 0
        for j in 0..<10 {
            let v = Double(codes1[j]) / 63 * 0.25
            var load = 0.0
            for i in 0..<32 { load += fe.tiles[1].conductance(row: i, column: j, side: .plus).value + fe.tiles[1].conductance(row: i, column: j, side: .minus).value }
            readPower += v * v * load
        }
        _ = fe.read(tile: 1, .transposed, codes: codes1, fullScale: Volts(0.25))
        add(.dacUpdate, 10 * 1e-12, 10)
        add(.arrayRead, readPower * tRead, 1)
        add(.adcConversion, 32 * 1e-12, 32)
        busyPs += 200_000 + 500_000 + 4 * 250_000

        // 4. Single-device read.
        let gRead = fe.tiles[0].conductance(row: 3, column: 5, side: .minus).value
        _ = fe.readDevice(tile: 0, row: 3, column: 5, side: .minus, voltage: Volts(0.2))
        add(.dacUpdate, 1e-12, 1)
        add(.deviceRead, 0.04 * gRead * tRead, 1)
        add(.adcConversion, 1e-12, 1)
        busyPs += 200_000 + 500_000 + 250_000

        // 5. A potentiating pulse, then one limited by a 5 µA compliance.
        let g0 = fe.tiles[0].conductance(row: 1, column: 2, side: .plus).value
        let g1 = min(g0 + step, gMax)
        fe.pulse(tile: 0, row: 1, column: 2, side: .plus, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 1000, compliance: Amperes(100e-6))
        #expect(fe.tiles[0].conductance(row: 1, column: 2, side: .plus).value == g1)
        add(.programmingPulse, 1.5 * min(1.5 * 0.5 * (g0 + g1), 100e-6) * 1e-6, 1)
        add(.lineCharging, 2e-12 * 1.5 * 1.5, 1)
        busyPs += 100_000 + 1_000_000
        fe.pulse(tile: 0, row: 4, column: 4, side: .minus, polarity: -1, amplitude: Volts(2), widthNanoseconds: 300, compliance: Amperes(5e-6))
        add(.programmingPulse, 2 * 5e-6 * 300e-9, 1)
        add(.lineCharging, 2e-12 * 4, 1)
        busyPs += 100_000 + 300_000

        // 6. A parallel-update slot on the G⁻ devices: coincidences step, half-selected ones
        //    (0.75 V < 0.8 V threshold) only dissipate.
        let rows = (0..<64).map { Int8([1, 0, -1, 0, 0][$0 % 5]) }
        let cols = (0..<32).map { Int8([0, 1, 0, -1][$0 % 4]) }
        var full = 0
        var half = 0
        var fullEnergy = 0.0
        var halfEnergy = 0.0
        var after = [Double](repeating: 0, count: 64 * 32)
        for i in 0..<64 {
            for j in 0..<32 {
                let d = Int(rows[i]) + Int(cols[j])
                let g = fe.tiles[0].conductance(row: i, column: j, side: .minus).value
                after[i * 32 + j] = g
                if abs(d) == 2 {
                    let ga = min(max(g + Double(d / 2) * step, gMin), gMax)
                    after[i * 32 + j] = ga
                    full += 1
                    fullEnergy += 1.5 * min(1.5 * 0.5 * (g + ga), 100e-6) * 500e-9
                } else if abs(d) == 1 {
                    half += 1
                    halfEnergy += 0.75 * min(0.75 * g, 100e-6) * 500e-9
                }
            }
        }
        let driven = rows.filter { $0 != 0 }.count + cols.filter { $0 != 0 }.count
        let coincidences = fe.slot(tile: 0, side: .minus, rows: rows, columns: cols, amplitude: Volts(1.5), width: 500)
        #expect(Int(coincidences) == full)
        #expect(fe.tiles[0].conductances(side: .minus).map(\.value) == after)
        add(.programmingPulse, fullEnergy, UInt64(full))
        add(.halfSelectDisturb, halfEnergy, UInt64(half))
        add(.lineCharging, 2e-12 * 0.75 * 0.75 * Double(driven), UInt64(driven))
        busyPs += 100_000 + 500_000
        #expect(half > 0 && halfEnergy > 0)

        // 7. Sleep, markers, temperature, more firmware, host think time.
        fe.sleep(nanoseconds: 5000)
        busyPs += 5_000_000
        fe.setMarkers(3)
        _ = fe.readTemperature()
        busyPs += 20_000_000
        fe.run(cycles: 77)
        cycles += 77
        fe.advance(by: Seconds(3e-6))
        busyPs += 3_000_000

        // Time: exact to the picosecond.
        let activePs = cycles * 1_000_000_000_000 / 150_000_000
        #expect(fe.now.picoseconds == busyPs + activePs)
        let total = Double(busyPs + activePs) * 1e-12
        let active = Double(activePs) * 1e-12
        add(.quiescent, 10e-3 * total, 0)
        add(.mcuActive, 30e-3 * active, 0)
        add(.mcuSleep, 1.5e-3 * (total - active), 0)

        let ledger = fe.ledger
        for kind in EnergyEventKind.allCases {
            #expect(close(ledger.energy(of: kind).value, expected[kind] ?? 0), "\(kind)")
        }
        for kind in [EnergyEventKind.dacUpdate, .adcConversion, .arrayRead, .deviceRead, .programmingPulse, .halfSelectDisturb, .lineCharging] {
            #expect(ledger.count(of: kind) == counts[kind] ?? 0, "\(kind)")
        }
        var sum = CompensatedSum()
        for (_, e) in expected { sum.add(e) }
        #expect(close(ledger.total.value, sum.value))
        #expect(close(fe.waveform.totalEnergy.value, ledger.total.value))
        #expect(ledger.energy(of: .halfSelectDisturb).value > 0)
        // The supply current in a bin well inside the sleep is (P_q + P_sleep)/V.
        let sleepBin = (busyPs - 5_000_000 - 20_000_000 - 3_000_000 + activePs) / 1_000_000 + 2
        #expect(close(fe.waveform.meanCurrent(inBin: sleepBin).value, (10e-3 + 1.5e-3) / 3.3, 1e-9))
    }

    @Test("on the reference board the drained and kept waveform integrates to the ledger",
          arguments: [nil, 50] as [Int?])
    func drainedWaveformMatchesLedger(retention: Int?) {
        var c = VirtualBoardConfig.default
        c.waveformRetention = retention
        var fe = VirtualFrontEnd(config: c)
        var drained = CompensatedSum()
        for k in 0..<200 {
            _ = fe.read(tile: k % 2, k % 3 == 0 ? .transposed : .forward,
                        codes: [Int16](repeating: Int16(k % 127 - 63), count: k % 3 == 0 ? fe.tiles[k % 2].columns : fe.tiles[k % 2].rows),
                        fullScale: Volts(0.3))
            fe.pulse(tile: 0, row: k % 64, column: k % 32, side: .plus, polarity: k % 2 == 0 ? 1 : -1, amplitude: Volts(1.6), widthNanoseconds: 200, compliance: Amperes(100e-6))
            fe.run(cycles: UInt32(100 + k))
            if k % 10 == 0 {
                let chunk = fe.drainSupplyWaveform()
                #expect(chunk.end.picoseconds == fe.now.picoseconds / 1_000_000 * 1_000_000)
                drained.add(chunk.totalEnergy.value)
            }
            if k % 17 == 0 { fe.advance(by: Seconds(Double(k) * 1e-7)) }
        }
        let ledger = fe.ledger.total.value
        #expect(close(fe.waveform.totalEnergy.value, ledger))
        #expect(fe.waveform.lateDepositCount == 0)
        if let limit = retention {
            #expect(fe.waveform.retainedBinCount <= limit)
            #expect(fe.waveform.discardedBinCount > 0)
        } else {
            drained.add(fe.waveform.retainedEnergy.value)
            #expect(close(drained.value, ledger))
            #expect(fe.waveform.discardedBinCount == 0)
        }
    }
}
