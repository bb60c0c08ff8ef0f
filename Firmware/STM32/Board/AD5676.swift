/// A daisy chain of AD5676R octal 16-bit DACs (Analog Devices; internal 2.5 V reference, gain 1,
/// outputs 0–2.5 V) on one SPI bus, SCLK idle high with data taken on falling edges (mode 2).
///
/// Each device takes 24-bit words, MSB first: command C3–C0, channel address A3–A0, data D15–D0.
/// With the chain enabled (command 1000, DCEN), one SYNC frame carries one word per device, the
/// last device's word first. Values are written to the input registers (command 0001) and moved
/// to all outputs at once by a low pulse on the shared LDAC line, so a whole input vector changes
/// on one edge.
struct AD5676Chain: Sendable {
    let bus: SPIBus
    let sync: ChipSelect
    let ldac: ChipSelect
    /// Devices in the chain.
    let devices: Int

    /// Channels per device.
    static let channelsPerDevice = 8
    /// Mid-scale: 1.25 V at the DAC, 0 V on a line after the board's level shifter.
    static let midScale: UInt16 = 0x8000

    enum Command: UInt32 {
        case writeInput = 0b0001
        case updateFromInput = 0b0010
        case writeAndUpdate = 0b0011
        case powerControl = 0b0100
        case ldacMask = 0b0101
        case softwareReset = 0b0110
        case referenceSetup = 0b0111
        case daisyChainEnable = 0b1000
    }

    /// The 24-bit word for `command` on `channel` with `data`.
    @inline(__always) static func word(_ command: Command, channel: UInt32, data: UInt16) -> UInt32 {
        command.rawValue << 20 | (channel & 0xF) << 16 | UInt32(data)
    }

    /// Sends one frame: `words[d]` goes to device d (so the last device's word is shifted first).
    func frame(_ words: [UInt32]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 3)
        for w in words.reversed() {
            bytes.append(UInt8(truncatingIfNeeded: w >> 16))
            bytes.append(UInt8(truncatingIfNeeded: w >> 8))
            bytes.append(UInt8(truncatingIfNeeded: w))
        }
        sync.selecting { bus.exchange(&bytes) }
    }

    /// Resets every device, enables the chain device by device (each DCEN frame reaches one
    /// more), leaves LDAC in charge of all channels and sets every output to mid-scale.
    func start() {
        sync.configure()
        ldac.configure()
        for n in 1...devices {
            // Until device n−1 has SDO enabled, only the first n devices see this frame.
            frame([UInt32](repeating: Self.word(.daisyChainEnable, channel: 0, data: 1), count: n))
        }
        frame([UInt32](repeating: Self.word(.ldacMask, channel: 0, data: 0x00), count: devices))
        var all = [UInt16](repeating: Self.midScale, count: devices * Self.channelsPerDevice)
        load(&all)
    }

    /// Writes `values` (device-major: channel k of device d at d × 8 + k) to the input registers
    /// and updates every output on one LDAC pulse.
    func load(_ values: inout [UInt16]) {
        var words = [UInt32](repeating: 0, count: devices)
        for channel in 0..<Self.channelsPerDevice {
            for d in 0..<devices {
                words[d] = Self.word(.writeInput, channel: UInt32(channel), data: values[d * Self.channelsPerDevice + channel])
            }
            frame(words)
        }
        ldac.selecting {}  // LDAC low for one GPIO write: > 20 ns at 168 MHz
    }
}
