/// The board's main loop: bytes from the host link go to the firmware engine, its response
/// frames go back, forever. Between bursts the core sleeps until the next interrupt (a received
/// byte or the millisecond tick).
func serve<FrontEnd: AnalogFrontEnd>(_ frontEnd: FrontEnd, over link: USART) -> Never {
    var engine = FirmwareEngine(frontEnd: frontEnd, retransmitDepth: 4)
    var chunk: [UInt8] = []
    chunk.reserveCapacity(Int(HostLink.chunkLimit))
    while true {
        link.take(into: &chunk, limit: Int(HostLink.chunkLimit))
        if chunk.isEmpty {
            // Masked, so a byte that lands between the check and the WFI still wakes the core.
            interruptsDisable()
            if !link.hasInput { waitForInterrupt() }
            interruptsEnable()
            continue
        }
        engine.receive(chunk) { frame in link.send(frame) }
    }
}

/// Settings of the host link.
enum HostLink {
    /// Baud rate of USART1 on the reference board (exact from the 84 MHz APB2 clock: BRR = 84).
    static let baud: UInt32 = 1_000_000
    /// Bytes handed to the engine at a time.
    static let chunkLimit: UInt32 = 512
}
