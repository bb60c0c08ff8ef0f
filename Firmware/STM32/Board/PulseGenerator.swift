/// The programming path: the MCU's own 12-bit DAC sets the bus amplitude (channel 1, PA4: the
/// bus drivers make ±DAC1/2 on buses A and B, so DAC1 = the full pulse amplitude, up to 3.3 V)
/// and the compliance (channel 2, PA5: the drivers' current limit is DAC2 / 10 kΩ), and TIM1
/// channel 1 (PE9, AF1) in one-pulse mode opens the drivers' output gate for the pulse width,
/// at the timer's 168 MHz (5.95 ns steps).
struct PulseGenerator: Sendable {
    private let dac = Peripheral(0x4000_7400)
    private let timer = Peripheral(0x4001_0000)
    let timerHertz: UInt32

    /// DAC reference (VDDA) in volts, and the compliance sense resistor.
    static let dacReference = Volts(3.3)
    static let complianceResistor = Ohms(10_000)

    static func start(timerHertz: UInt32) -> PulseGenerator {
        let g = PulseGenerator(timerHertz: timerHertz)
        ClockGate.dac.enable()
        GPIOPort.a.configure(pin: 4, .analog)
        GPIOPort.a.configure(pin: 5, .analog)
        g.dac[0x00].write(1 << 0 | 1 << 16)  // EN1, EN2, output buffers on
        g.set(amplitude: .zero, compliance: .zero)
        ClockGate.tim1.enable()
        GPIOPort.e.configure(pin: 9, .alternate, function: 1, speed: .high)
        let t = g.timer
        t[0x00].write(1 << 3)  // CR1: one-pulse mode, stopped
        t[0x18].write(0b111 << 4 | 1 << 3)  // CCMR1: OC1 PWM mode 2 (active once CNT ≥ CCR1), preload
        t[0x20].write(1 << 0)  // CCER: CC1E, active high
        t[0x44].write(1 << 15)  // BDTR: MOE (advanced timer outputs enabled)
        return g
    }

    /// 12-bit DAC code for `value` volts, clipped to the reference.
    static func code(_ value: Volts) -> UInt32 {
        let fraction = max(0, min(1, value / dacReference))
        return UInt32(fraction * 4095 + 0.5)
    }

    /// Sets the bus amplitude and the compliance current for the next pulses.
    func set(amplitude: Volts, compliance: Amperes) {
        dac[0x08].write(Self.code(amplitude))  // DHR12R1
        dac[0x14].write(Self.code(compliance * Self.complianceResistor))  // DHR12R2
    }

    /// Opens the gate for `widthNanoseconds` and returns when it has closed.
    func fire(widthNanoseconds: UInt32) {
        open(widthNanoseconds: UInt64(widthNanoseconds))
        waitClosed()
    }

    /// The bus voltage the DAC realises for a requested magnitude: its 12-bit code back in volts,
    /// halved (each bus carries ±DAC1/2), so at most 1.65 V.
    static func busVoltage(forMagnitude v: Volts) -> Volts {
        Volts(Double(code(v * 2)) / 4095 * dacReference.value / 2)
    }

    /// Waits until a gate opened by `open(widthNanoseconds:)` has closed again.
    func waitClosed() {
        _ = timer[0x00].wait(for: 1 << 0, set: false, attempts: 2_000_000)
    }

    /// Opens the gate for `widthNanoseconds` and returns at once (the timer closes it).
    func open(widthNanoseconds: UInt64) {
        let ticks = max(1, widthNanoseconds * UInt64(timerHertz) / 1_000_000_000)
        let prescaler = ticks / 0x1_0000  // so that ticks / (prescaler + 1) fits ARR's 16 bits
        let counts = max(1, ticks / (prescaler + 1))
        let t = timer
        t[0x28].write(UInt32(prescaler))  // PSC
        t[0x34].write(1)  // CCR1: one count of delay, then active
        t[0x2C].write(UInt32(counts))  // ARR: active from count 1 through count `counts`
        t[0x14].write(1)  // EGR.UG: load PSC and ARR now
        t[0x10].write(0)  // clear the update flag UG raised
        t[0x00].write(1 << 3 | 1 << 0)  // OPM, CEN: one pulse, then the counter stops itself
    }
}
