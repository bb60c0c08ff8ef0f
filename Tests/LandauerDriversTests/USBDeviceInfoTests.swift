import LandauerDrivers
import Testing

/// USB enumeration through libusb on a machine that may have no USB devices at all.
@Suite("USBDeviceInfo")
struct USBDeviceInfoTests {
    @Test func enumerationReturnsWithoutError() throws {
        let devices = try USBDeviceInfo.list()
        // Usually empty here; whatever is found is described consistently.
        for d in devices {
            #expect(d.bus > 0 || d.address > 0)
            #expect(d.connectionString.hasPrefix("usbtmc:0x"))
        }
    }

    @Test func openingAMissingDeviceIsATypedFailure() async {
        let error = await caught { () throws(TransportError) in
            _ = try LibUSBBulkEndpoints.open(vendorID: 0xFFFF, productID: 0xFFFE, serialNumber: "NONE")
        }
        guard case .openFailed(let c, _, let reason) = error else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
            return
        }
        #expect(c.endpoint == "usb:ffff:fffe:NONE")
        #expect(!reason.isEmpty)
    }

    @Test func aUSBTMCInterfaceIsRecognisedAndNamed() {
        let tmc = USBInterfaceInfo(
            number: 0, interfaceClass: 0xFE, interfaceSubclass: 0x03, interfaceProtocol: 0x01, bulkInAddress: 0x86,
            bulkOutAddress: 0x02, maxPacketSize: 512)
        let cdc = USBInterfaceInfo(number: 1, interfaceClass: 0x0A, interfaceSubclass: 0, interfaceProtocol: 0)
        #expect(tmc.isUSBTMC && !cdc.isUSBTMC)
        let d = USBDeviceInfo(
            vendorID: 0x0957, productID: 0x1A07, bus: 1, address: 4, serialNumber: "MY123", manufacturer: "Keysight",
            product: "N6705C", interfaces: [cdc, tmc])
        #expect(d.usbtmcInterface == tmc)
        #expect(d.connectionString == "usbtmc:0x0957:0x1A07:MY123")
        #expect(d.summary == "bus 1 addr 4  0957:1a07  serial MY123  Keysight N6705C  USBTMC")
        #expect(USBDeviceInfo(vendorID: 1, productID: 2, bus: 1, address: 1).connectionString == "usbtmc:0x0001:0x0002")
    }
}
