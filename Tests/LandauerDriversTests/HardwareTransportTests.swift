#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import LandauerDrivers
import Testing

/// Tests against attached hardware, enabled only when an environment variable names it:
/// `LANDAUER_SERIAL_LOOPBACK=/dev/ttyUSB0` (a serial adapter with TX wired to RX) and
/// `LANDAUER_USBTMC=0957:1a07` (an instrument's USB vendor and product IDs, hexadecimal).
@Suite("Hardware transports (USB/Serial, when attached)", .serialized)
struct HardwareTransportTests {
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    static let serialLoopback = environment("LANDAUER_SERIAL_LOOPBACK")
    static let usbtmc = environment("LANDAUER_USBTMC")

    @Test(.enabled(if: serialLoopback != nil, "set LANDAUER_SERIAL_LOOPBACK to a port with TX wired to RX"))
    func aSerialLoopbackEchoes() async throws {
        let port = try SerialPortTransport(path: Self.serialLoopback!, settings: SerialSettings(baudRate: 115_200))
        try port.discardBuffers()
        let sent = (0..<64).map { UInt8($0) }
        try await port.write(sent, timeout: .seconds(5))
        var got: [UInt8] = []
        while got.count < sent.count { got += try await port.read(maxCount: 64, timeout: .seconds(5)) }
        #expect(got == sent)
        await port.close()
    }

    @Test(.enabled(if: usbtmc != nil, "set LANDAUER_USBTMC to vendor:product of a USBTMC instrument"))
    func aUSBTMCInstrumentIdentifiesItself() async throws {
        let ids = Self.usbtmc!.split(separator: ":").compactMap { UInt16($0, radix: 16) }
        try #require(ids.count == 2)
        let session = USBTMCSession(endpoints: try LibUSBBulkEndpoints.open(vendorID: ids[0], productID: ids[1]))
        try await session.clear()
        let idn = try await session.query("*IDN?\n")
        #expect(idn.split(separator: ",").count == 4)
        await session.close()
    }
}
