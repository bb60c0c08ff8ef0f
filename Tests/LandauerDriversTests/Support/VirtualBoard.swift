import LandauerDrivers
import LandauerFirmware
import Synchronization

/// The real firmware engine on a `TestFrontEnd`, served through a device loopback.
final class VirtualBoard: Sendable {
    private let engine: Mutex<FirmwareEngine<TestFrontEnd>>
    /// Bytes fed to the engine so far.
    private let received = Mutex(0)

    init(retransmitDepth: Int = 4) {
        engine = Mutex(FirmwareEngine(frontEnd: TestFrontEnd(), retransmitDepth: retransmitDepth))
    }

    /// Feeds link bytes to the engine; returns the encoded responses.
    func handle(_ bytes: [UInt8]) -> [UInt8] {
        received.withLock { $0 += bytes.count }
        return engine.withLock { e in
            var out: [UInt8] = []
            e.receive(bytes) { out += $0 }
            return out
        }
    }

    /// A loopback transport to this board.
    func transport(idleReads: DeviceLoopbackTransport.IdleReads = .waitForTimeout) -> DeviceLoopbackTransport {
        DeviceLoopbackTransport(endpoint: "test:board", idleReads: idleReads) { [self] bytes in handle(bytes) }
    }

    /// Pulses the front end has fired.
    var pulseCount: Int { engine.withLock { $0.frontEnd.pulseCount } }

    /// The engine's counters.
    var counters: Counters { engine.withLock { $0.currentCounters } }

    /// A copy of the front end, for computing expected results.
    var frontEnd: TestFrontEnd { engine.withLock { $0.frontEnd } }
}
