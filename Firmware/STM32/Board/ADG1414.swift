/// The crossbar switch matrix: a daisy chain of ADG1414 octal SPST switches (Analog Devices) on
/// one SPI bus, SCLK idle high with data taken on falling edges (mode 2). Each device takes one
/// byte, bit n closing its switch S(n+1); the first byte shifted ends in the last device, and
/// raising SYNC updates every switch of the chain at once.
///
/// Every crossbar line (rows 0–31, then physical columns 0–31 as lines 32–63) has four switches,
/// `Connection`: to its DAC channel, to its transimpedance amplifier, to programming bus A
/// (+V/2) and to programming bus B (−V/2). Line L's switch for connection k is switch 4L + k.
struct SwitchMatrix: Sendable {
    let bus: SPIBus
    let sync: ChipSelect
    /// Crossbar lines.
    let lines: Int

    /// What a line is connected to.
    enum Connection: Int {
        /// Its DAC channel (line mod 32): driven to a read voltage, or held at 0 V.
        case drive = 0
        /// Its transimpedance amplifier (line mod 32): sensed, held at virtual ground.
        case sense = 1
        /// Programming bus A, +amplitude/2 while the pulse gate is open.
        case busA = 2
        /// Programming bus B, −amplitude/2 while the pulse gate is open.
        case busB = 3
        /// No switch closed: the line floats (single-device DC steps leave every line but the
        /// device's row and column floating).
        case float = 4
    }

    /// ADG1414 devices in the chain.
    var devices: Int { lines * 4 / 8 }

    func start() {
        sync.configure()
        var idle = [Connection](repeating: .sense, count: lines)
        apply(&idle)
    }

    /// Connects every line as `connections[line]` says (all other switches open).
    func apply(_ connections: inout [Connection]) {
        var bytes = [UInt8](repeating: 0, count: devices)
        for line in 0..<lines where connections[line] != .float {
            let index = line * 4 + connections[line].rawValue
            // Device d receives byte devices − 1 − d of the frame.
            bytes[devices - 1 - index / 8] |= 1 << UInt8(index % 8)
        }
        sync.selecting { bus.exchange(&bytes) }
    }
}
