import LandauerFirmware
import Testing

@Suite("Physical quantities")
struct QuantityTests {
    @Test("products and quotients follow the physics")
    func algebra() {
        let e: Joules = Watts(2) * Seconds(3)
        #expect(e == Joules(6))
        #expect(Volts(2) * Amperes(0.5) == Watts(1))
        #expect(Siemens(0.5) * Volts(0.25) == Amperes(0.125))
        #expect(Amperes(0.125) / Volts(0.25) == Siemens(0.5))
        #expect(Joules(6) / Seconds(3) == Watts(2))
        #expect(Amperes(1e-3) * Seconds(2) == Coulombs(2e-3))
        #expect(Joules(1) / Joules(4) == 0.25)
        #expect(Ohms(100).conductance == Siemens(0.01))
        #expect(Farads(0.5).chargingEnergy(at: Volts(1.5)) == Joules(1.125))
    }

    @Test("k_B is exact and k_B·T·ln 2 at 300 K is 2.871e-21 J")
    func constants() {
        #expect(PhysicalConstants.boltzmann.value == 1.380649e-23)
        #expect(abs(Kelvin(300).landauerBound.value - 2.871e-21) < 0.001e-21)
        let s = Kelvin(300).johnsonNyquistDensity(of: Siemens(1e-5))
        #expect(abs(s.value - 4 * 1.380649e-23 * 300 * 1e-5) < 1e-40)
        #expect(abs((s * Hertz(5e7)).standardDeviation.value - 2.878e-9) < 0.001e-9)
    }

    @Test("formatting picks an SI prefix and keeps significant digits", arguments: [
        (Joules(2.5e-6), 4, "2.500 µJ"), (Joules(99.99999), 3, "100 J"), (Joules(-0.0123), 3, "-12.3 mJ"),
        (Joules(0), 3, "0.0 J"), (Joules(1.5e-21), 3, "1.50 zJ"),
    ] as [(Joules, Int, String)])
    func formatting(value: Joules, digits: Int, text: String) {
        #expect(value.formatted(significantDigits: digits) == text)
    }

    @Test("plain numbers keep their significant digits", arguments: [
        (99.99999, 3, "100"), (0.09999, 3, "0.100"), (1234.5, 3, "1235"), (2.5e-7, 3, "2.50e-7"), (9.999e9, 2, "1.0e10"), (0.5, 2, "0.50"),
        (9.999999747e-5, 4, "1.000e-4"), (9.9996e-5, 4, "1.000e-4"), (9.9994e-5, 4, "9.999e-5"),
    ] as [(Double, Int, String)])
    func significantDigits(value: Double, digits: Int, text: String) {
        #expect(SignificantDigits.format(value, digits: digits) == text)
    }
}
