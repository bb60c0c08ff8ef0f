/// An STM32F4 SPI controller as bus master (RM0090 §28), 8-bit frames, MSB first, polled.
/// Chip selects are GPIO lines driven by the callers (`ChipSelect`), so one bus serves several
/// devices and daisy chains.
struct SPIBus: Sendable {
    private let block: Peripheral

    /// SPI1 at 0x40013000 (APB2, 84 MHz), SPI2 at 0x40003800 and SPI3 at 0x40003C00 (APB1, 42 MHz).
    init(base: UInt) { block = Peripheral(base) }

    /// Clock polarity and phase (SPI mode 0–3).
    enum Mode: UInt32 {
        /// CPOL 0, CPHA 0.
        case mode0 = 0
        /// CPOL 0, CPHA 1: data sampled on the falling edge (ADS8688).
        case mode1 = 1
        /// CPOL 1, CPHA 0: clock idles high, data sampled on the falling edge (AD5676, ADG1414).
        case mode2 = 2
        /// CPOL 1, CPHA 1.
        case mode3 = 3
    }

    /// Master, software slave management, `mode`, SCK = bus clock / 2^(divider + 1).
    func configure(mode: Mode, divider: UInt32) {
        let cr1 = block[0x00]
        cr1.write(0)
        block[0x04].write(0)  // CR2: no interrupts, no DMA, SS output off (SSM below)
        cr1.write(mode.rawValue | 1 << 2 /* MSTR */ | (divider & 7) << 3 | 1 << 8 /* SSI */ | 1 << 9 /* SSM */)
        cr1.setBits(1 << 6)  // SPE
    }

    /// Sends one byte and returns the byte clocked in at the same time.
    @inline(__always) func transfer(_ byte: UInt8) -> UInt8 {
        let sr = block[0x08], dr = block[0x0C]
        while sr.read() & (1 << 1) == 0 {}  // TXE
        dr.write(UInt32(byte))
        while sr.read() & (1 << 0) == 0 {}  // RXNE
        return UInt8(truncatingIfNeeded: dr.read())
    }

    /// Waits until the last frame has left the shift register (BSY clear), before a chip select
    /// is raised.
    @inline(__always) func drain() {
        let sr = block[0x08]
        while sr.read() & (1 << 1) == 0 {}
        while sr.read() & (1 << 7) != 0 {}
    }

    /// Sends `bytes` in place, replacing each with the byte received while it went out.
    func exchange(_ bytes: inout [UInt8]) {
        for i in 0..<bytes.count { bytes[i] = transfer(bytes[i]) }
        drain()
    }
}

/// An active-low chip select (SYNC, CS) on a GPIO pin.
struct ChipSelect: Sendable {
    let port: GPIOPort
    let pin: UInt32

    /// Configures the pin as a push-pull output, idle high.
    func configure() {
        port.set(pin: pin, high: true)
        port.configure(pin: pin, .output, speed: .high)
    }

    /// Runs `body` with the line low.
    @inline(__always) func selecting<T>(_ body: () -> T) -> T {
        port.set(pin: pin, high: false)
        defer { port.set(pin: pin, high: true) }
        return body()
    }
}

/// Configures `pins` of `port` for SPI alternate function `function` (AF5 for SPI1/2, AF6 for SPI3).
func configureSPIPins(_ port: GPIOPort, _ pins: [UInt32], function: UInt32) {
    for pin in pins { port.configure(pin: pin, .alternate, function: function, speed: .high) }
}
