import LandauerFirmware
import Testing
@testable import LandauerSimulators

@Suite("VirtualClock")
struct VirtualClockTests {
    @Test("cycle counts turn into picoseconds without drift")
    func cyclesDoNotDrift() {
        var clock = VirtualClock()
        let hz: UInt64 = 150_000_000
        var totalCycles: UInt64 = 0
        for k in 0..<10_000 {
            let cycles = UInt32(7 + k % 13)
            totalCycles += UInt64(cycles)
            clock.advance(picoseconds: clock.picoseconds(forCycles: cycles, clockHertz: hz))
        }
        // Exact: floor(total · 10¹² / f), whatever the split into calls.
        #expect(clock.now.picoseconds == totalCycles * 1_000_000_000_000 / hz)
        #expect(clock.nanoseconds == clock.now.picoseconds / 1000)
    }

    @Test("huge cycle counts do not overflow")
    func hugeCycles() {
        var clock = VirtualClock()
        let ps = clock.picoseconds(forCycles: UInt32.max, clockHertz: 1_000_000)
        #expect(ps == UInt64(UInt32.max) * 1_000_000)
    }

    @Test("durations round to the picosecond and spans are reported")
    func rounding() {
        #expect(VirtualTime(rounding: Seconds(1.5e-12)).picoseconds == 2)
        #expect(VirtualTime(rounding: Seconds(-1)).picoseconds == 0)
        #expect(VirtualTime(nanoseconds: 3).picoseconds == 3000)
        var clock = VirtualClock()
        let span = clock.advance(by: Seconds(1e-6))
        #expect(span == VirtualTime.zero..<VirtualTime(picoseconds: 1_000_000))
        #expect(clock.now.seconds.value == 1e-6)
    }
}
