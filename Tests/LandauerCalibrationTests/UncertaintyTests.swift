import Testing
import LandauerCalibration

@Suite("GUM uncertainty budgets")
struct UncertaintyBudgetTests {
    @Test func componentsCombineInQuadratureAndExpandWithK() {
        var b = UncertaintyBudget()
        b.add("noise", .typeA, 3)
        b.add("certificate", .typeB, 4)
        b.add("timing", .typeB, 12)
        #expect(b.combined == 13)
        #expect(b.expanded == 26)
        #expect(b.typeA == 3)
        #expect(b.typeB == (16.0 + 144).squareRoot())
        #expect(b.scaled(by: -2).combined == 26)
    }
}
