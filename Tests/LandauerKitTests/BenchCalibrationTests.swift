import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Synchronization
import Testing

/// Calibrating a PPK2 the way a lab does: the real session over a serial port (the bench's pty,
/// in real time), loads stated in a file, a person connecting each when asked — here the test,
/// switching the bench's loads.
@Suite("Calibrating a PPK2 on a bench", .serialized)
struct BenchCalibrationTests {
    static func file(_ bank: ReferenceLoadBank) -> ReferenceLoadFile {
        ReferenceLoadFile(
            voltage: bank.voltage.value, voltageRelativeUncertainty: 0,
            loads: bank.loads.map { .init(name: $0.name, ohms: $0.certified.value, standardUncertaintyOhms: $0.standardUncertainty.value) })
    }

    @Test("the fit over a real session recovers the unit's hidden gain errors")
    func overThePty() async throws {
        let config = VirtualBoardConfig.ideal
        let hidden = VirtualPPK2Config.withHiddenErrors(seed: 42)
        let bench = try VirtualBench(config: config, ppk2: VirtualBench.ppk2Config(for: config, base: hidden))
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        let port = try #require(bench.ppk2)
        let bank = ReferenceLoadBank(nominals: ReferenceLoadBank.ppk2Nominals, voltage: config.supplyVoltage, seed: 7)
        let loads = Self.file(bank)
        var options = PPK2ReferenceMeter.options(loads)
        options.drainQuiet = .milliseconds(50)
        let session = try PPK2Connection.open("ppk2:\(port.path)", options: options)
        _ = try await session.connect()
        let asked = Mutex<[String]>([])
        let meter = PPK2ReferenceMeter(session: session, loads: loads, serial: "C2F1TEST") { message in
            asked.withLock { $0.append(message) }
            if message.hasPrefix("Disconnect everything") {
                port.connectLoad(drawing: .zero)
            } else if let k = bank.loads.firstIndex(where: { message.hasPrefix("Connect \($0.name) (") }) {
                port.connectLoad(drawing: bank.current(ofLoad: k))
            } else {
                Issue.record("unexpected request: \(message)")
            }
        }
        var procedure = CalibrationProcedure()
        procedure.samplesPerPoint = 2_000
        let record = try await procedure.run(on: meter)
        await session.close()
        // Open, the eleven loads, and open again at the end.
        #expect(asked.withLock { $0.count } == 13)
        #expect(asked.withLock { $0.last }?.hasPrefix("Disconnect everything") == true)
        #expect(record.instrument.serial == "C2F1TEST")
        #expect(record.ranges.map(\.range) == [0, 1, 2, 3])
        for fit in record.ranges {
            // Raw = (1 + gain error)·I + offset: the fitted gain is the unit's hidden 1 + error.
            #expect(abs(fit.gain - (1 + hidden.gainErrors[fit.range])) < 1e-3, "range \(fit.range): \(fit.gain) vs \(1 + hidden.gainErrors[fit.range])")
        }
    }

    @Test("loads that are never connected give a clear error, not a calibration")
    func nobodyConnects() async throws {
        let config = VirtualBoardConfig.ideal
        let bench = try VirtualBench(config: config, ppk2: VirtualBench.ppk2Config(for: config))
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        let port = try #require(bench.ppk2)
        let bank = ReferenceLoadBank(nominals: [Ohms(3_300), Ohms(1_000), Ohms(560)], voltage: config.supplyVoltage)
        let loads = Self.file(bank)
        var options = PPK2ReferenceMeter.options(loads)
        options.drainQuiet = .milliseconds(50)
        let session = try PPK2Connection.open("ppk2:\(port.path)", options: options)
        _ = try await session.connect()
        // Nobody switches anything: the meter keeps measuring the idle board.
        let meter = PPK2ReferenceMeter(session: session, loads: loads, serial: nil) { _ in }
        var procedure = CalibrationProcedure()
        procedure.samplesPerPoint = 1_000
        do {
            _ = try await procedure.run(on: meter)
            Issue.record("a calibration came out of loads that were never connected")
        } catch let error as CalibrationError {
            #expect("\(error)".contains("do not follow the reference loads") || "\(error)".contains("distinct reference current"), "\(error)")
        }
        await session.close()
    }

    @Test("landauer calibrate on a real PPK2 asks for each load, and stops clearly when nobody can answer")
    func commandLine() async throws {
        let config = VirtualBoardConfig.ideal
        let bench = try VirtualBench(config: config, ppk2: VirtualBench.ppk2Config(for: config))
        let serving = Task { await bench.serve() }
        defer { serving.cancel() }
        let port = try #require(bench.ppk2)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loads-\(UUID().uuidString).json")
        try JSONEncoder().encode(Self.file(ReferenceLoadBank(nominals: [Ohms(3_300), Ohms(1_000)], voltage: config.supplyVoltage))).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let r = try Landauer.run("calibrate", "--meter", "ppk2:\(port.path)", "--loads", url.path, "--dry-run")
        #expect(r.status != 0)
        #expect(r.stderr.contains("Disconnect everything from the PPK2's VOUT"), "\(r.stderr)")
        #expect(r.stderr.contains("standard input is closed"), "\(r.stderr)")
        let noLoads = try Landauer.run("calibrate", "--meter", "ppk2:\(port.path)")
        #expect(noLoads.status != 0 && noLoads.stderr.contains("--loads FILE"))
        let loadsOnSim = try Landauer.run("calibrate", "--loads", url.path)
        #expect(loadsOnSim.status != 0 && loadsOnSim.stderr.contains("--loads is for a real PPK2"))
    }

    @Test("a loads file is checked entry by entry")
    func loadsFile() throws {
        let dir = FileManager.default.temporaryDirectory
        func write(_ text: String) throws -> String {
            let url = dir.appendingPathComponent("loads-\(UUID().uuidString).json")
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let good = try write(#"{"voltage": 3.3, "voltageRelativeUncertainty": 0.001, "loads": [{"name": "R1", "ohms": 1000, "standardUncertaintyOhms": 0.2}, {"name": "R2", "ohms": 560, "standardUncertaintyOhms": 0.1}]}"#)
        let f = try ReferenceLoadFile.load(good)
        #expect(f.referenceLoads.map(\.name) == ["R1", "R2"])
        #expect(f.referenceLoads[1].resistance == Ohms(560))
        let cases: [(String, String)] = [
            (#"{"voltage": 3.3, "voltageRelativeUncertainty": 0, "loads": [{"name": "R1", "ohms": 1000, "standardUncertaintyOhms": 0.2}]}"#, "at least two loads"),
            (#"{"voltage": 3.3, "voltageRelativeUncertainty": 0, "loads": [{"name": "R1", "ohms": 1000, "standardUncertaintyOhms": 0.2}, {"name": "R1", "ohms": 50, "standardUncertaintyOhms": 0.01}]}"#, "appears twice"),
            (#"{"voltage": 3.3, "voltageRelativeUncertainty": 0, "loads": [{"name": "R1", "ohms": -5, "standardUncertaintyOhms": 0.2}, {"name": "R2", "ohms": 50, "standardUncertaintyOhms": 0.01}]}"#, "must be positive"),
            (#"{"voltage": 3.3, "voltageRelativeUncertainty": 0, "loads": [{"name": "R1", "ohms": 1000, "standardUncertaintyOhms": 0.2}, {"name": "R2", "ohms": 1, "standardUncertaintyOhms": 0.01}]}"#, "above the PPK2's 1 A"),
            (#"{"voltage": 9, "voltageRelativeUncertainty": 0, "loads": []}"#, "0.8 … 5 V"),
            (#"{"volts": 3.3}"#, "not the expected JSON"),
        ]
        for (text, needle) in cases {
            #expect { try ReferenceLoadFile.load(try write(text)) } throws: { "\($0)".contains(needle) }
        }
        #expect { try ReferenceLoadFile.load("/nonexistent/loads.json") } throws: { "\($0)".contains("cannot read it") }
    }
}
