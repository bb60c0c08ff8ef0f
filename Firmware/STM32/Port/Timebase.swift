/// Milliseconds since `Timebase.start`, counted by the SysTick interrupt. Written only by the
/// handler; read with interrupts masked.
nonisolated(unsafe) private var systickMilliseconds: UInt64 = 0

/// The SysTick exception (exception 15): one per millisecond.
@_cdecl("SysTick_Handler")
func sysTickHandler() {
    systickMilliseconds &+= 1
}

/// The board timer: nanoseconds since power-up from the Cortex-M SysTick (ARMv7-M ARM §B3.3),
/// clocked by the core clock and reloaded every millisecond. Resolution one core cycle
/// (≈ 6 ns at 168 MHz); the count is 64-bit, so it does not wrap in practice.
struct Timebase: Sendable {
    private static let csr = Register(0xE000_E010), rvr = Register(0xE000_E014), cvr = Register(0xE000_E018)
    /// Interrupt control and state register: PENDSTSET (bit 26) says a SysTick is pending.
    private static let icsr = Register(0xE000_ED04)

    /// Core clock cycles per millisecond (the reload period).
    let cyclesPerMillisecond: UInt32
    /// Core clock in whole megahertz, for cycle → nanosecond conversion in 32-bit arithmetic.
    let megahertz: UInt32

    /// Starts SysTick on the core clock (`coreHertz`, a whole number of MHz, ≤ 16.7 GHz).
    static func start(coreHertz: UInt32) -> Timebase {
        let perMillisecond = coreHertz / 1_000
        rvr.write(perMillisecond &- 1)  // 24-bit reload: fine up to 16.7 GHz
        cvr.write(0)
        csr.write(1 << 2 | 1 << 1 | 1 << 0)  // CLKSOURCE = core, TICKINT, ENABLE
        return Timebase(cyclesPerMillisecond: perMillisecond, megahertz: coreHertz / 1_000_000)
    }

    /// Nanoseconds since `start`.
    var nanoseconds: UInt64 {
        interruptsDisable()
        var milliseconds = systickMilliseconds
        var current = Self.cvr.read()
        // The counter wrapped but the handler has not run yet (interrupts are masked): count the
        // pending millisecond, and re-read the counter, which is now past the wrap.
        if Self.icsr.read() & (1 << 26) != 0 {
            milliseconds &+= 1
            current = Self.cvr.read()
        }
        interruptsEnable()
        let elapsedCycles = (cyclesPerMillisecond &- 1) &- current
        return milliseconds &* 1_000_000 &+ UInt64(elapsedCycles &* 1_000 / megahertz)
    }

    /// Busy-waits until `duration` nanoseconds have passed (a pulse, a settling time).
    func wait(nanoseconds duration: UInt64) {
        let end = nanoseconds &+ duration
        while nanoseconds < end {}
    }
}
