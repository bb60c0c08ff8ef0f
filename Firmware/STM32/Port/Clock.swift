/// The clock tree the firmware ended up with.
struct ClockTree: Sendable {
    /// Where SYSCLK comes from.
    enum Source: Sendable {
        /// The main PLL on the external crystal (HSE), as configured by `ClockTree.configure`.
        case pll
        /// The internal 16 MHz RC oscillator: the crystal or the PLL did not start.
        case internalOscillator
        /// No RCC answered (it reads as all zeros, impossible on silicon, where HSIRDY is set while
        /// the core runs on HSI): an emulator whose SYSCLK is fixed by the machine model. QEMU's
        /// netduinoplus2 runs its STM32F405 at 168 MHz and leaves the RCC unimplemented.
        case fixedByEmulator
    }

    /// Core clock (SYSCLK = HCLK), in hertz.
    var systemHertz: UInt32
    /// APB1 peripheral clock (I²C, USART2–5, DAC), in hertz.
    var apb1Hertz: UInt32
    /// APB2 peripheral clock (USART1, SPI1), in hertz.
    var apb2Hertz: UInt32
    /// Where SYSCLK comes from.
    var source: Source

    /// The core clock the reference board runs at: the STM32F405's maximum.
    static let targetHertz: UInt32 = 168_000_000
    /// The internal RC oscillator's frequency.
    static let internalOscillatorHertz: UInt32 = 16_000_000

    /// Runs SYSCLK at 168 MHz from the PLL on an external crystal of `crystalHertz` (a multiple of
    /// 2 MHz, 4–26 MHz), following RM0090 §6.3: regulator in scale 1, HSE on, PLL input 2 MHz
    /// (PLLM = crystal / 2 MHz), VCO 336 MHz (PLLN = 168), SYSCLK = VCO / 2 (PLLP), 48 MHz for USB
    /// and SDIO (PLLQ = 7), APB1 = HCLK / 4 (42 MHz, its maximum), APB2 = HCLK / 2 (84 MHz), and
    /// five flash wait states with prefetch and both caches (RM0090 table 10: 150–168 MHz at
    /// 2.7–3.6 V) set *before* the switch.
    ///
    /// Every wait for a ready flag is bounded: if the crystal or the PLL does not start the core
    /// stays on the 16 MHz internal oscillator, and where no RCC answers at all the emulator's
    /// fixed clock is assumed, so this never hangs.
    static func configure(crystalHertz: UInt32 = 8_000_000) -> ClockTree {
        let rcc = Peripheral(0x4002_3800)
        let cr = rcc[0x00], pllcfgr = rcc[0x04], cfgr = rcc[0x08], apb1enr = rcc[0x40]
        let hsiReady: UInt32 = 1 << 1, hseOn: UInt32 = 1 << 16, hseReady: UInt32 = 1 << 17
        let pllOn: UInt32 = 1 << 24, pllReady: UInt32 = 1 << 25

        if cr.read() & hsiReady == 0 {
            return ClockTree(
                systemHertz: targetHertz, apb1Hertz: targetHertz / 4, apb2Hertz: targetHertz / 2, source: .fixedByEmulator)
        }
        let onInternal = ClockTree(
            systemHertz: internalOscillatorHertz, apb1Hertz: internalOscillatorHertz,
            apb2Hertz: internalOscillatorHertz, source: .internalOscillator)

        // Power interface clock, then regulator voltage scale 1 (PWR_CR.VOS, bit 14).
        apb1enr.setBits(1 << 28)
        _ = apb1enr.read()  // the enable takes effect after a read-back (RM0090 §6.3.13 note)
        Peripheral(0x4000_7000)[0x00].setBits(1 << 14)

        // HSE start-up: the datasheet gives 2 ms typical for an 8 MHz crystal; 200 000 polls at
        // 16 MHz are well over 10 ms.
        cr.setBits(hseOn)
        guard cr.wait(for: hseReady, attempts: 200_000) else {
            cr.clearBits(hseOn)
            return onInternal
        }

        let pllM = crystalHertz / 2_000_000, pllN: UInt32 = 168, pllP: UInt32 = 0 /* ÷2 */, pllQ: UInt32 = 7
        cr.clearBits(pllOn)
        pllcfgr.write(pllM | pllN << 6 | pllP << 16 | 1 << 22 /* PLLSRC = HSE */ | pllQ << 24)
        // AHB ÷1, APB1 ÷4 (PPRE1 = 101), APB2 ÷2 (PPRE2 = 100).
        cfgr.modify(clear: 0xF << 4 | 0x7 << 10 | 0x7 << 13, set: 0b101 << 10 | 0b100 << 13)
        cr.setBits(pllOn)
        guard cr.wait(for: pllReady, attempts: 200_000) else {
            cr.clearBits(pllOn)
            cfgr.modify(clear: 0x7 << 10 | 0x7 << 13)
            return onInternal
        }

        // Five wait states, prefetch, instruction and data caches; read back before switching.
        let acr = Peripheral(0x4002_3C00)[0x00]
        acr.write(5 | 1 << 8 | 1 << 9 | 1 << 10)
        guard acr.read() & 0x7 == 5 else { return onInternal }

        cfgr.setField(shift: 0, width: 2, to: 0b10)  // SW = PLL
        var attempts: UInt32 = 100_000
        while (cfgr.read() >> 2) & 0b11 != 0b10 {
            attempts &-= 1
            if attempts == 0 {
                cfgr.setField(shift: 0, width: 2, to: 0b00)
                return onInternal
            }
        }
        let system = crystalHertz / pllM * pllN / 2
        return ClockTree(systemHertz: system, apb1Hertz: system / 4, apb2Hertz: system / 2, source: .pll)
    }
}

/// Peripheral clock gates (RCC_AHB1ENR, RCC_APB1ENR, RCC_APB2ENR).
enum ClockGate {
    case gpio(port: UInt32)  // 0 = A … 8 = I
    case usart1, spi1, tim1
    case spi2, spi3, i2c1, dac

    /// Turns the peripheral's clock on; the read-back lets it take effect before first access.
    func enable() {
        let rcc = Peripheral(0x4002_3800)
        let (register, bit): (Register, UInt32)
        switch self {
        case .gpio(let port): (register, bit) = (rcc[0x30], port)
        case .usart1: (register, bit) = (rcc[0x44], 4)
        case .spi1: (register, bit) = (rcc[0x44], 12)
        case .tim1: (register, bit) = (rcc[0x44], 0)
        case .spi2: (register, bit) = (rcc[0x40], 14)
        case .spi3: (register, bit) = (rcc[0x40], 15)
        case .i2c1: (register, bit) = (rcc[0x40], 21)
        case .dac: (register, bit) = (rcc[0x40], 29)
        }
        register.setBits(1 << bit)
        _ = register.read()
    }
}
