/// An ADS8688 8-channel 16-bit SAR ADC (Texas Instruments; internal 4.096 V reference) on SPI,
/// clock idle low with data taken on falling edges (mode 1), one chip select per device.
///
/// Every frame is 32 clocks: a 16-bit command in, then the 16-bit result of the conversion
/// started by the *previous* frame out. Manual channel selection (MAN_Ch_n = 0xC000 + n·0x0400)
/// picks the channel converted next. Program registers are written with (address << 9) | 0x100 |
/// data; the range of channel n is register 0x05 + n. Results are straight binary: 0x8000 is 0 V
/// in the bipolar ranges.
struct ADS8688: Sendable {
    let bus: SPIBus
    let select: ChipSelect

    /// Input ranges (range select register values), as multiples of the 4.096 V reference.
    enum Range: UInt8 {
        /// ±2.5 × V_ref = ±10.24 V.
        case bipolar2_5 = 0b0000
        /// ±1.25 × V_ref = ±5.12 V: matrix-vector reads (512 µA at the 10 kΩ transimpedance).
        case bipolar1_25 = 0b0001
        /// ±0.625 × V_ref = ±2.56 V: single-device reads (256 µA).
        case bipolar0_625 = 0b0010
    }

    static let noOperation: UInt16 = 0x0000
    static let resetRegisters: UInt16 = 0x8500

    @inline(__always) static func manualChannel(_ n: Int) -> UInt16 { 0xC000 | UInt16(n & 7) << 10 }

    /// One 32-clock frame: sends `command`, returns the 16 bits clocked out in its second half.
    func frame(_ command: UInt16) -> UInt16 {
        var bytes: [UInt8] = [UInt8(command >> 8), UInt8(command & 0xFF), 0, 0]
        select.selecting { bus.exchange(&bytes) }
        return UInt16(bytes[2]) << 8 | UInt16(bytes[3])
    }

    /// Writes program register `address`.
    func writeRegister(_ address: UInt8, _ value: UInt8) {
        var bytes: [UInt8] = [address << 1 | 1, value, 0, 0]
        select.selecting { bus.exchange(&bytes) }
    }

    /// Resets the program registers and sets every channel to `range`.
    func start(range: Range) {
        select.configure()
        _ = frame(Self.resetRegisters)
        for n in 0..<8 { setRange(channel: n, range) }
    }

    func setRange(channel: Int, _ range: Range) {
        writeRegister(0x05 &+ UInt8(channel & 7), range.rawValue)
    }

    /// Converts `channels` in order into signed codes (result − 0x8000, so 0 V is code 0),
    /// written to `codes` at the same positions. One frame per channel plus one to collect the
    /// last result.
    func convert(channels: [Int], into codes: inout [Int32]) {
        guard !channels.isEmpty else { return }
        _ = frame(Self.manualChannel(channels[0]))
        for k in 0..<channels.count {
            let next = k + 1 < channels.count ? Self.manualChannel(channels[k + 1]) : Self.noOperation
            codes[k] = Int32(frame(next)) - 0x8000
        }
    }
}
