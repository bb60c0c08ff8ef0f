// Interrupt masking and sleep: three instructions the Swift compiler cannot emit itself, provided
// by Startup/startup.c.

@_extern(c, "landauer_interrupts_disable") func interruptsDisable()
@_extern(c, "landauer_interrupts_enable") func interruptsEnable()
@_extern(c, "landauer_wait_for_interrupt") func waitForInterrupt()

/// The Cortex-M4 nested vectored interrupt controller (ARMv7-M ARM §B3.4).
enum NVIC {
    /// Enables interrupt line `irq` (the device's IRQ number, not the exception number).
    static func enable(irq: UInt32) {
        Register(0xE000_E100 &+ UInt(irq / 32) &* 4).write(1 << (irq % 32))
    }

    /// Sets the priority of line `irq`; the STM32F4 implements the upper four bits (0 = highest).
    static func setPriority(irq: UInt32, _ priority: UInt8) {
        let shift = (irq % 4) * 8
        Register(0xE000_E400 &+ UInt(irq / 4) &* 4).setField(shift: shift, width: 8, to: UInt32(priority) << 4)
    }
}

/// Runs `body` with interrupts masked (PRIMASK), restoring them afterwards.
@inline(__always) func withInterruptsMasked<T>(_ body: () -> T) -> T {
    interruptsDisable()
    defer { interruptsEnable() }
    return body()
}
