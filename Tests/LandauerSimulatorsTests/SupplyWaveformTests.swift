import LandauerFirmware
import Testing
@testable import LandauerSimulators

@Suite("SupplyWaveform")
struct SupplyWaveformTests {
    let us: UInt64 = 1_000_000  // picoseconds per microsecond

    func t(_ ps: UInt64) -> VirtualTime { VirtualTime(picoseconds: ps) }

    @Test("an event spread over several bins deposits in proportion to the overlap")
    func proportionalDeposit() {
        var w = SupplyWaveform()
        // 4 J over [0.5 µs, 3 µs): 0.5 µs in bin 0, 1 µs in bins 1 and 2, 0 in bin 3.
        w.deposit(Joules(5), over: t(us / 2)..<t(3 * us))
        #expect(w.energy(inBin: 0).value == 1)
        #expect(w.energy(inBin: 1).value == 2)
        #expect(w.energy(inBin: 2).value == 2)
        #expect(w.retainedBinCount == 3)
        w.deposit(Joules(0.25), over: t(3 * us + 10)..<t(3 * us + 10))  // instantaneous
        #expect(w.energy(inBin: 3).value == 0.25)
        #expect(abs(w.totalEnergy.value - 5.25) < 1e-15)
    }

    @Test("constant power and mean current per bin")
    func powerAndCurrent() throws {
        var w = SupplyWaveform(binWidth: Seconds(1e-6), supplyVoltage: Volts(3.3))
        w.deposit(power: Watts(33e-3), over: t(0)..<t(10 * us))
        for b in 0..<10 {
            #expect(abs(w.meanCurrent(inBin: UInt64(b)).value - 10e-3) < 1e-15)
        }
        #expect(abs(try #require(w.energy(over: t(us / 4)..<t(2 * us))).value - 33e-3 * 1.75e-6) < 1e-18)
        #expect(abs(try #require(w.charge(over: t(0)..<t(10 * us))).value - 10e-3 * 10e-6) < 1e-18)
    }

    @Test("draining hands out completed bins once and keeps the total")
    func draining() {
        var w = SupplyWaveform()
        w.deposit(power: Watts(1), over: t(0)..<t(5 * us + us / 2))
        let chunk = w.drainCompletedBins(upTo: t(5 * us + us / 2))
        #expect(chunk.energies.count == 5)
        #expect(chunk.start == .zero)
        #expect(chunk.end == t(5 * us))
        #expect(abs(chunk.meanCurrent(0).value - 1 / 3.3) < 1e-12)
        #expect(w.retainedBinCount == 1)
        let again = w.drainCompletedBins(upTo: t(5 * us + us / 2))
        #expect(again.energies.isEmpty)
        #expect(abs(w.totalEnergy.value - 5.5e-6) < 1e-18)
        // Bins no event reached are handed out as zeros, without gaps.
        let later = w.drainCompletedBins(upTo: t(9 * us))
        #expect(later.start == t(5 * us) && later.energies.count == 4)
        #expect(later.energies[1] == .zero)
    }

    @Test("a retention limit bounds memory without losing energy")
    func retention() {
        var w = SupplyWaveform(retentionLimit: 100)
        var sum = CompensatedSum()
        for k in 0..<10_000 {
            let e = Double(k % 7 + 1) * 1e-9
            w.deposit(Joules(e), over: t(UInt64(k) * us)..<t(UInt64(k) * us + 300_000))
            sum.add(e)
        }
        #expect(w.retainedBinCount == 100)
        #expect(w.discardedBinCount == 9900)
        #expect(abs(w.totalEnergy.value - sum.value) <= 1e-12 * sum.value)
        // A span reaching into discarded bins has no answer rather than a wrong one.
        #expect(w.energy(over: t(0)..<t(10_000 * us)) == nil)
        #expect(w.energy(over: t(9_950 * us)..<t(9_960 * us)) != nil)
    }
}
