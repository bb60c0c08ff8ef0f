/// One GPIO port of the STM32F4 (RM0090 §8.4): A = 0x40020000, then every 0x400.
struct GPIOPort: Sendable {
    /// Port index: 0 = A, 1 = B, … 4 = E.
    let index: UInt32
    private let block: Peripheral

    static let a = GPIOPort(0), b = GPIOPort(1), c = GPIOPort(2), d = GPIOPort(3), e = GPIOPort(4)

    init(_ index: UInt32) {
        self.index = index
        block = Peripheral(0x4002_0000 &+ UInt(index) &* 0x400)
    }

    /// Pin modes (GPIOx_MODER).
    enum Mode: UInt32 { case input = 0, output = 1, alternate = 2, analog = 3 }

    /// Output speeds (GPIOx_OSPEEDR): low, medium, fast, high.
    enum Speed: UInt32 { case low = 0, medium = 1, fast = 2, high = 3 }

    /// Pull resistors (GPIOx_PUPDR).
    enum Pull: UInt32 { case none = 0, up = 1, down = 2 }

    /// Configures `pin` (0–15); `function` is the alternate function number (AF0–AF15) for
    /// `.alternate`. Open drain for I²C, push-pull otherwise.
    func configure(
        pin: UInt32, _ mode: Mode, function: UInt32 = 0, speed: Speed = .high, pull: Pull = .none,
        openDrain: Bool = false
    ) {
        ClockGate.gpio(port: index).enable()
        block[0x04].modify(clear: 1 << pin, set: (openDrain ? 1 : 0) << pin)
        block[0x08].setField(shift: pin * 2, width: 2, to: speed.rawValue)
        block[0x0C].setField(shift: pin * 2, width: 2, to: pull.rawValue)
        if mode == .alternate {
            block[pin < 8 ? 0x20 : 0x24].setField(shift: (pin % 8) * 4, width: 4, to: function)
        }
        block[0x00].setField(shift: pin * 2, width: 2, to: mode.rawValue)
    }

    /// Drives pins atomically through GPIOx_BSRR: the pins of `mask` go to the levels of `levels`,
    /// the others are untouched. One bus write, so all of them change on the same clock edge.
    @inline(__always) func write(_ levels: UInt16, mask: UInt16) {
        let high = UInt32(levels & mask), low = UInt32(~levels & mask)
        block[0x18].write(high | low << 16)
    }

    /// Sets one pin high or low.
    @inline(__always) func set(pin: UInt32, high: Bool) {
        block[0x18].write(high ? 1 << pin : 1 << (pin + 16))
    }

    /// The input levels of the port (GPIOx_IDR).
    @inline(__always) func levels() -> UInt16 { UInt16(truncatingIfNeeded: block[0x10].read()) }
}

/// The board's marker lines: eight push-pull outputs on PE0–PE7, wired to the PPK2's logic
/// inputs D0–D7 (docs/hardware.md), so the meter samples the phase number with every current
/// sample. All eight change in one BSRR write.
struct MarkerLines: Sendable {
    /// Number of lines.
    static let count: UInt8 = 8
    let port = GPIOPort.e

    /// Configures PE0–PE7 as outputs and drives them low.
    func configure() {
        for pin in UInt32(0)..<UInt32(Self.count) {
            port.configure(pin: pin, .output, speed: .high)
        }
        drive(0)
    }

    /// Drives the lines with `value`, bit k on line k.
    @inline(__always) func drive(_ value: UInt8) { port.write(UInt16(value), mask: 0x00FF) }
}
