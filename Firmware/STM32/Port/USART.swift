import Synchronization

/// Bytes received by the USART1 interrupt, waiting for the main loop: a single-producer,
/// single-consumer ring. The handler writes at `head`, the main loop reads at `tail`; each index
/// is written by one side only and published with release/acquire ordering.
enum ReceiveRing {
    /// Capacity in bytes, a power of two. The host sends one request and waits for its answer,
    /// so the ring holds what arrives while a frame is being executed; a longer burst is dropped
    /// and counted, its frame fails its CRC and the host resends it.
    static let capacity: UInt32 = 4096
    nonisolated(unsafe) static var storage: UnsafeMutablePointer<UInt8>? = nil
    static let head = Atomic<UInt32>(0)
    static let tail = Atomic<UInt32>(0)
    /// Bytes lost to a full ring or a receiver overrun.
    static let dropped = Atomic<UInt32>(0)
}

/// The USART1 interrupt (IRQ 37): moves every received byte into the ring.
@_cdecl("USART1_IRQHandler")
func usart1InterruptHandler() {
    let usart = Peripheral(USART.usart1Base)
    while true {
        let status = usart[0x00].read()  // SR; reading SR then DR also clears an overrun (ORE)
        guard status & (USART.rxNotEmpty | USART.overrun) != 0 else { return }
        let byte = UInt8(truncatingIfNeeded: usart[0x04].read())
        if status & USART.overrun != 0 { ReceiveRing.dropped.add(1, ordering: .relaxed) }
        guard status & USART.rxNotEmpty != 0, let storage = ReceiveRing.storage else { continue }
        let head = ReceiveRing.head.load(ordering: .relaxed)
        if head &- ReceiveRing.tail.load(ordering: .acquiring) >= ReceiveRing.capacity {
            ReceiveRing.dropped.add(1, ordering: .relaxed)
            continue
        }
        storage[Int(head & (ReceiveRing.capacity &- 1))] = byte
        ReceiveRing.head.store(head &+ 1, ordering: .releasing)
    }
}

/// USART1 (RM0090 §30.6) on PA9 (TX) and PA10 (RX), alternate function 7, 8 data bits, no
/// parity, one stop bit: the board's host link, through a USB–UART bridge on the reference board
/// and QEMU's first serial port on the netduinoplus2 machine. Reception is interrupt-driven into
/// `ReceiveRing`; transmission polls TXE.
struct USART: Sendable {
    static let usart1Base: UInt = 0x4001_1000
    static let rxNotEmpty: UInt32 = 1 << 5, txEmpty: UInt32 = 1 << 7, overrun: UInt32 = 1 << 3
    static let irq: UInt32 = 37

    private let block = Peripheral(usart1Base)

    /// Configures the pins, the baud rate from the APB2 clock (oversampling by 16: BRR = f / baud
    /// as a 12.4 fixed-point divider), enables transmitter, receiver and the receive interrupt.
    static func start(apb2Hertz: UInt32, baud: UInt32) -> USART {
        let usart = USART()
        ReceiveRing.storage = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(ReceiveRing.capacity))
        ClockGate.usart1.enable()
        GPIOPort.a.configure(pin: 9, .alternate, function: 7, speed: .high)
        GPIOPort.a.configure(pin: 10, .alternate, function: 7, speed: .high, pull: .up)
        let cr1 = usart.block[0x0C]
        cr1.write(0)
        usart.block[0x08].write((apb2Hertz &+ baud / 2) / baud)
        usart.block[0x10].write(0)  // CR2: one stop bit
        usart.block[0x14].write(0)  // CR3: no flow control, no DMA
        cr1.write(1 << 13 | 1 << 5 | 1 << 3 | 1 << 2)  // UE, RXNEIE, TE, RE
        NVIC.setPriority(irq: irq, 1)
        NVIC.enable(irq: irq)
        return usart
    }

    /// Sends `bytes`, waiting for room in the transmit register before each one.
    func send(_ bytes: [UInt8]) {
        let sr = block[0x00], dr = block[0x04]
        for byte in bytes {
            while sr.read() & Self.txEmpty == 0 {}
            dr.write(UInt32(byte))
        }
    }

    /// Moves up to `limit` received bytes from the ring into `chunk` (emptied first). Returns
    /// without waiting; `chunk` is empty when nothing arrived.
    func take(into chunk: inout [UInt8], limit: Int) {
        chunk.removeAll(keepingCapacity: true)
        guard let storage = ReceiveRing.storage else { return }
        var tail = ReceiveRing.tail.load(ordering: .relaxed)
        let head = ReceiveRing.head.load(ordering: .acquiring)
        while tail != head && chunk.count < limit {
            chunk.append(storage[Int(tail & (ReceiveRing.capacity &- 1))])
            tail &+= 1
        }
        ReceiveRing.tail.store(tail, ordering: .releasing)
    }

    /// True when received bytes are waiting.
    var hasInput: Bool {
        ReceiveRing.head.load(ordering: .acquiring) != ReceiveRing.tail.load(ordering: .relaxed)
    }
}
