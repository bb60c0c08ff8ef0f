import LandauerFirmware
import Testing
@testable import LandauerSimulators

@Suite("EnergyLedger")
struct EnergyLedgerTests {
    @Test("every event kind books into exactly one rail, and rails add up to the total")
    func railsPartitionTheTotal() {
        var ledger = EnergyLedger()
        for (k, kind) in EnergyEventKind.allCases.enumerated() {
            ledger.record(kind, energy: Joules(Double(k + 1) * 1e-12), count: UInt64(k + 1))
        }
        var byRail = 0.0
        for rail in SupplyRail.allCases { byRail += ledger.energy(on: rail).value }
        #expect(abs(byRail - ledger.total.value) <= 1e-15 * ledger.total.value)
        #expect(ledger.energy(on: .programming).value == (5 + 6 + 7) * 1e-12)
        #expect(ledger.energy(on: .mcu).value == (8 + 9) * 1e-12)
        #expect(ledger.count(of: .adcConversion) == 4)
        let railOfKind = EnergyEventKind.allCases.map(\.rail)
        #expect(Set(railOfKind) == Set(SupplyRail.allCases))
    }

    @Test("compensated sums keep tiny terms next to a large one")
    func compensation() {
        var ledger = EnergyLedger()
        ledger.record(.quiescent, energy: Joules(1))
        for _ in 0..<1_000_000 { ledger.record(.arrayRead, energy: Joules(1e-16)) }
        let expected = 1 + 1e-10
        #expect(abs(ledger.total.value - expected) <= 2e-16 * expected)
        // A naive sum loses every term (1 + 1e-16 == 1 in binary64).
        var naive = 1.0
        for _ in 0..<1_000_000 { naive += 1e-16 }
        #expect(naive == 1)
    }

    @Test("subtracting an earlier snapshot leaves what happened since")
    func delta() {
        var ledger = EnergyLedger()
        ledger.record(.dacUpdate, energy: Joules(3e-12), count: 3)
        let snapshot = ledger
        ledger.record(.dacUpdate, energy: Joules(2e-12), count: 2)
        let d = ledger.subtracting(snapshot)
        #expect(abs(d.energy(of: .dacUpdate).value - 2e-12) < 1e-27)
        #expect(d.count(of: .dacUpdate) == 2)
    }
}
