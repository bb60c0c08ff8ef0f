import Foundation
import LandauerKit
import Testing

@Suite("Device discovery")
struct DeviceDiscoveryTests {
    @Test("known identities are named")
    func roles() {
        #expect(DeviceDiscovery.role(vendor: 0x1915, product: 0xC00A, productName: "PPK2", serial: nil, usbtmc: false) == .ppk2)
        #expect(DeviceDiscovery.role(vendor: 0x0957, product: 0x1A07, productName: "N6705C", serial: "MY1", usbtmc: true) == .usbtmcInstrument)
        #expect(DeviceDiscovery.role(vendor: 0x1209, product: 0x0001, productName: "Landauer reference board", serial: nil, usbtmc: false) == .board)
        #expect(DeviceDiscovery.role(vendor: 0x0403, product: 0x6001, productName: "FT232R", serial: "A1", usbtmc: false) == .unknown)
        #expect(DeviceDiscovery.role(vendor: nil, product: nil, productName: nil, serial: nil, usbtmc: false) == .unknown)
    }

    @Test("nothing found is said plainly")
    func emptyText() {
        let text = DeviceDiscovery.text([], warnings: [])
        #expect(text.contains("No serial ports found."))
        #expect(text.contains("No USB devices found"))
    }

    @Test("landauer devices lists what the machine has, as JSON too, and exits 0")
    func command() throws {
        let r = try Landauer.run("devices", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["devices"] is [Any])
        #expect(object?["warnings"] is [Any])
    }
}
