/// I²C1 of the STM32F4 (RM0090 §27) as a 400 kHz fast-mode master, polled, on PB6 (SCL) and PB7
/// (SDA), alternate function 4, open drain with the board's 4.7 kΩ pull-ups. Every wait is
/// bounded: a device that does not answer (absent, or a stuck bus) makes the transfer fail
/// instead of hanging the firmware.
struct I2CBus: Sendable {
    private let block = Peripheral(0x4000_5400)
    /// Polls of a status flag before a transfer gives up (≥ 1 ms at 168 MHz).
    private static let patience: UInt32 = 50_000

    private var cr1: Register { block[0x00] }
    private var dr: Register { block[0x10] }
    private var sr1: Register { block[0x14] }
    private var sr2: Register { block[0x18] }

    // SR1 flags.
    private static let start: UInt32 = 1 << 0, addressSent: UInt32 = 1 << 1, byteTransferred: UInt32 = 1 << 2
    private static let receiveNotEmpty: UInt32 = 1 << 6, transmitEmpty: UInt32 = 1 << 7, acknowledgeFailure: UInt32 = 1 << 10
    // CR1 bits.
    private static let enable: UInt32 = 1 << 0, generateStart: UInt32 = 1 << 8, generateStop: UInt32 = 1 << 9
    private static let acknowledge: UInt32 = 1 << 10, reset: UInt32 = 1 << 15

    /// Configures pins and timing for fast mode from the APB1 clock (`apb1Hertz`, 2–42 MHz):
    /// duty 2 (t_low/t_high = 2), CCR = f / (3 · 400 kHz), TRISE = 300 ns · f + 1.
    static func start(apb1Hertz: UInt32) -> I2CBus {
        let bus = I2CBus()
        ClockGate.i2c1.enable()
        GPIOPort.b.configure(pin: 6, .alternate, function: 4, speed: .fast, openDrain: true)
        GPIOPort.b.configure(pin: 7, .alternate, function: 4, speed: .fast, openDrain: true)
        bus.cr1.write(reset)
        bus.cr1.write(0)
        let megahertz = apb1Hertz / 1_000_000
        bus.block[0x04].write(megahertz & 0x3F)  // CR2.FREQ
        let ccr = max(1, apb1Hertz / (3 * 400_000))
        bus.block[0x1C].write(1 << 15 | ccr & 0xFFF)  // CCR: fast mode, duty 2
        bus.block[0x20].write(megahertz * 300 / 1000 + 1)  // TRISE
        bus.cr1.write(enable)
        return bus
    }

    private func waitFor(_ flag: UInt32) -> Bool {
        var left = Self.patience
        while left > 0 {
            let s = sr1.read()
            if s & flag != 0 { return true }
            if s & Self.acknowledgeFailure != 0 { return false }
            left &-= 1
        }
        return false
    }

    /// Ends a transfer: STOP, clear the acknowledge-failure flag.
    private func finish() {
        cr1.setBits(Self.generateStop)
        sr1.clearBits(Self.acknowledgeFailure)
    }

    /// START and the 7-bit address with the direction bit; true when the device acknowledged.
    private func begin(_ address: UInt8, read: Bool) -> Bool {
        cr1.setBits(Self.generateStart)
        guard waitFor(Self.start) else { return false }
        dr.write(UInt32(address) << 1 | (read ? 1 : 0))
        guard waitFor(Self.addressSent) else { return false }
        return true
    }

    /// Writes `bytes` to the device at `address`. Returns whether every byte was acknowledged.
    func write(_ address: UInt8, _ bytes: [UInt8]) -> Bool {
        defer { finish() }
        guard begin(address, read: false) else { return false }
        _ = sr2.read()  // reading SR1 then SR2 clears ADDR
        for b in bytes {
            guard waitFor(Self.transmitEmpty) else { return false }
            dr.write(UInt32(b))
        }
        return waitFor(Self.byteTransferred)
    }

    /// Writes the register pointer `register`, then reads `count` (≥ 2) bytes after a repeated
    /// START, acknowledging all but the last, with the reference manual's closing sequences
    /// (RM0090 §27.3.3): for two bytes POS and ACK before ADDR is cleared; for three or more, the
    /// last three are taken through BTF so the NACK and STOP land on the right byte.
    func read(_ address: UInt8, register: UInt8, count: Int) -> [UInt8]? {
        let position: UInt32 = 1 << 11
        defer {
            finish()
            cr1.clearBits(position)
        }
        guard count >= 2, begin(address, read: false) else { return nil }
        _ = sr2.read()
        dr.write(UInt32(register))
        guard waitFor(Self.byteTransferred) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        func take() { out.append(UInt8(truncatingIfNeeded: dr.read())) }
        if count == 2 {
            cr1.setBits(Self.acknowledge | position)
            guard begin(address, read: true) else { return nil }
            _ = sr2.read()
            cr1.clearBits(Self.acknowledge)
            guard waitFor(Self.byteTransferred) else { return nil }
            cr1.setBits(Self.generateStop)
            take()
            take()
            return out
        }
        cr1.setBits(Self.acknowledge)
        guard begin(address, read: true) else { return nil }
        _ = sr2.read()
        while count - out.count > 3 {
            guard waitFor(Self.receiveNotEmpty) else { return nil }
            take()
        }
        guard waitFor(Self.byteTransferred) else { return nil }  // N−2 in DR, N−1 in the shift register
        cr1.clearBits(Self.acknowledge)
        take()
        guard waitFor(Self.byteTransferred) else { return nil }  // N−1 in DR, N in the shift register
        cr1.setBits(Self.generateStop)
        take()
        guard waitFor(Self.receiveNotEmpty) else { return nil }
        take()
        return out
    }
}
