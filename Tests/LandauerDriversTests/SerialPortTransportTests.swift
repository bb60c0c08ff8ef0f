import LandauerDrivers
import Testing

/// The libserialport transport and port enumeration, on a machine that may have no serial hardware.
@Suite("SerialPortTransport", .serialized)
struct SerialPortTransportTests {
    @Test func settingsDefaultTo8N1AndDescribeThemselves() {
        let s = SerialSettings()
        #expect(s.baudRate == 115_200 && s.dataBits == 8 && s.parity == .none && s.stopBits == .one && s.flowControl == .none)
        #expect(s.description == "115200 8N1")
        #expect(SerialSettings(baudRate: 9600, dataBits: 7, parity: .even, stopBits: .two, flowControl: .rtsCts).description
            == "9600 7E2 rts/cts")
        #expect(s.problem == nil)
        #expect(SerialSettings(dataBits: 9).problem != nil)
        #expect(SerialSettings(baudRate: 0).problem != nil)
    }

    @Test func badSettingsAreRefusedBeforeOpening() async {
        let error = await caught { () throws(TransportError) in
            _ = try SerialPortTransport(path: "/dev/ttyS0", settings: SerialSettings(dataBits: 4))
        }
        guard case .invalidArgument(let c, let reason) = error else {
            Issue.record("expected .invalidArgument, got \(String(describing: error))")
            return
        }
        #expect(c.operation == .configure && reason.contains("data bits"))
    }

    @Test func aMissingPortFailsToOpen() async {
        let error = await caught { () throws(TransportError) in _ = try SerialPortTransport(path: "/dev/landauer-no-such-port") }
        guard case .openFailed(let c, _, _) = error else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
            return
        }
        #expect(c.endpoint == "serial:/dev/landauer-no-such-port")
    }

    @Test func enumerationReturnsWithoutError() throws {
        let ports = try SerialPortInfo.list()
        // Often empty here (no serial hardware); whatever is found is described consistently.
        #expect(ports.map(\.path) == ports.map(\.path).sorted())
        for p in ports {
            #expect(!p.path.isEmpty)
            #expect(p.connectionString == "serial:\(p.path)")
            if p.attachment != .usb { #expect(p.usbVendorID == nil && p.usbProductID == nil) }
        }
    }

    @Test func aUSBPortSummaryShowsItsIdentity() {
        let p = SerialPortInfo(
            path: "/dev/ttyACM0", description: "Arduino Uno", attachment: .usb, usbVendorID: 0x2341, usbProductID: 0x43,
            serialNumber: "A1B2", manufacturer: "Arduino", product: "Uno")
        #expect(p.summary == "/dev/ttyACM0  2341:0043  serial A1B2  Arduino Uno")
    }

    /// libserialport 0.1.1 refuses pseudo-terminals; newer versions open them. Either way the
    /// answer is plain: a typed open failure, or a port that moves bytes.
    @Test func aPseudoTerminalIsRefusedPlainlyOrWorks() async throws {
        let pair = try PseudoTerminalPair.open()
        let device = pair.masterTransport()
        do {
            let port = try SerialPortTransport(path: pair.slavePath)
            try await port.write([1, 2, 3], timeout: .seconds(5))
            var got: [UInt8] = []
            while got.count < 3 { got += try await device.read(maxCount: 3, timeout: .seconds(5)) }
            #expect(got == [1, 2, 3])
            try await device.write([4], timeout: .seconds(5))
            #expect(try await port.read(maxCount: 4, timeout: .seconds(5)) == [4])
            let start = ContinuousClock.now
            let error = await caught { () async throws(TransportError) in _ = try await port.read(maxCount: 1, timeout: .milliseconds(100)) }
            if case .timeout = error {} else { Issue.record("expected .timeout, got \(String(describing: error))") }
            #expect(ContinuousClock.now - start >= .milliseconds(100))
            await port.close()
            let closed = await caught { () async throws(TransportError) in _ = try await port.read(maxCount: 1, timeout: .seconds(1)) }
            if case .closed = closed {} else { Issue.record("expected .closed, got \(String(describing: closed))") }
        } catch {
            guard case .openFailed(let c, _, let reason) = error else {
                Issue.record("expected .openFailed, got \(error)")
                await device.close()
                return
            }
            #expect(c.endpoint == "serial:\(pair.slavePath)" && !reason.isEmpty)
        }
        await device.close()
    }
}
