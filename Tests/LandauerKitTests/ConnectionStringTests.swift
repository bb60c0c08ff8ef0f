import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Testing

@Suite("Connection strings")
struct ConnectionStringTests {
    @Test("forms parse into scheme, location and options")
    func parsing() throws {
        let a = try ConnectionString(parsing: "sim")
        #expect(a.scheme == "sim" && a.location.isEmpty && a.options.isEmpty)
        let b = try ConnectionString(parsing: " serial:/dev/ttyACM0?baud=115200 ")
        #expect(b.scheme == "serial" && b.location == "/dev/ttyACM0" && b["baud"] == "115200")
        let c = try ConnectionString(parsing: "sim:?seed=7&device=vteam")
        #expect(c.options.map(\.key) == ["seed", "device"])
        #expect(try c.value("seed", as: UInt64.self) == 7)
        #expect(c.description == "sim:?seed=7&device=vteam")
    }

    @Test("malformed strings are refused with a reason", arguments: ["", "   ", ":x", "sim:?seed", "sim:?seed=1&seed=2", "sim:?=3"])
    func malformed(text: String) {
        #expect(throws: ConnectionError.self) { try ConnectionString(parsing: text) }
    }

    @Test("sim options configure the virtual board")
    func simOptions() throws {
        let config = try SimulatorOptions.config(from: ConnectionString(parsing: "sim:?profile=ideal&device=vteam&seed=9&temperature=310.5&noise=off&stuck=0.1&retention=5000"))
        #expect(config.deviceModel.name == "vteam")
        #expect(config.seed == 9)
        #expect(config.temperature.value == 310.5)
        #expect(!config.thermalNoise && config.readNoiseFraction == 0 && config.temperatureSensorNoise == Kelvin(0))
        #expect(config.stuckFraction == 0.1)
        #expect(config.waveformRetention == 5000)
        #expect(config.serial == VirtualBoardConfig.ideal.serial)
        let quiet = try SimulatorOptions.config(from: ConnectionString(parsing: "sim:?noise=off"))
        #expect(VirtualBoardConfig.default.temperatureSensorNoise > Kelvin(0))
        #expect(!quiet.thermalNoise && quiet.readNoiseFraction == 0 && quiet.temperatureSensorNoise == Kelvin(0))
    }

    @Test("bad sim options name the key and what was expected", arguments: [
        ("sim:?device=warp", "device"), ("sim:?seed=-1", "seed"), ("sim:?temperature=-4", "temperature"),
        ("sim:?noise=loud", "noise"), ("sim:?stuck=2", "stuck"), ("sim:?colour=red", "colour"), ("sim:?profile=fast", "profile"),
    ])
    func badOptions(text: String, key: String) throws {
        do {
            _ = try SimulatorOptions.config(from: ConnectionString(parsing: text))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(key))
            #expect(error.description.contains(text))
        }
    }

    @Test("unknown and not-yet-available schemes are refused plainly")
    func schemes() {
        #expect(throws: ConnectionError.self) { try BoardConnection.open("warp:/dev/x") }
        do {
            _ = try BoardConnection.open("serial:/dev/ttyACM0")
            Issue.record("serial opened")
        } catch {
            #expect(error.description.contains("serial"))
        }
    }
}
