import Foundation
import LandauerKit
import Testing

/// Runs the built `landauer` executable, the way a user or a lab script does.
struct Landauer {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let executable: URL = {
        // The test bundle sits next to the products it depends on (.build/<triple>/debug/).
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = bundle.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("landauer").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("landauer")
    }()

    static func run(_ arguments: String...) throws -> Outcome {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

@Suite("landauer command line, end to end on the virtual bench")
struct CommandLineTests {
    @Test("--version prints the version")
    func version() throws {
        let r = try Landauer.run("--version")
        #expect(r.status == 0)
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == LandauerVersion.string)
    }

    @Test("sim info prints the INFO obtained through the protocol, also as JSON")
    func simInfo() throws {
        let r = try Landauer.run("sim", "info", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let info = try JSONDecoder().decode(BoardInfoReport.self, from: Data(r.stdout.utf8))
        #expect(info.serial == "LDR-SIM-0001")
        #expect(info.tiles.map { [$0.rows, $0.columns] } == [[64, 32], [32, 10]])
        #expect(info.dacBits == 7 && info.adcBits == 9 && info.protocolVersion == 1)
        #expect(info.activeLimits == info.absoluteLimits)
        let text = try Landauer.run("sim", "info", "--board", "sim:?profile=ideal")
        #expect(text.status == 0)
        #expect(text.stdout.contains("LDR-SIM-IDEAL"))
        #expect(text.stdout.contains("64 × 32"))
    }

    @Test("a bad connection string fails with a message naming the problem")
    func badBoard() throws {
        let r = try Landauer.run("sim", "info", "--board", "sim:?device=warp")
        #expect(r.status != 0)
        #expect(r.stderr.contains("device=warp"))
        #expect(r.stderr.contains("exp-step"))
        #expect(r.stdout.isEmpty)
    }

    @Test("demo programs, infers and updates, and its energy adds up")
    func demo() throws {
        let r = try Landauer.run("demo", "--json", "--vectors", "300", "--seed", "4")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(DemoReport.self, from: Data(r.stdout.utf8))
        #expect(report.inference.vectors == 300)
        #expect(report.counters.vectorReads == 300)
        #expect(report.inference.rmsErrorLSB < 1, "analog outputs far from the product of the read-back matrix")
        #expect(report.link.retries == 0 && report.link.timeouts == 0)
        // Program-and-verify lands within a fraction of a microsiemens of its targets.
        let errors = report.programming.rmsErrorSiemens
        #expect(errors.count == 6)
        #expect(errors.last! < 0.5e-6)
        #expect(report.update.coincidences > 0)
        let truth = try #require(report.groundTruth)
        #expect(abs(truth.waveformJoules - truth.totalJoules) <= 1e-9 * truth.totalJoules)
        #expect(abs(truth.rails.reduce(0) { $0 + $1.joules } - truth.totalJoules) <= 1e-9 * truth.totalJoules)
        #expect(truth.phases.map(\.marker) == [1, 2, 3])
        #expect(truth.phases.reduce(0) { $0 + $1.joules } < truth.totalJoules)
        // A programming pulse costs V²·G·t with G in the 1–20 µS window (1.5 V, 1 µs), plus line charging.
        let pulse = try #require(truth.events.first { $0.name == "programming-pulse" })
        let perPulse = pulse.joules / Double(pulse.count ?? 1)
        #expect(perPulse > 1.5 * 1.5 * 1e-6 * 1e-6 && perPulse < 1.5 * 1.5 * 20e-6 * 1e-6)
        #expect(abs(truth.landauerJoulesPerBit - 2.871e-21) < 0.001e-21)
    }
}

@Suite("landauer against landauer sim bench, as two processes")
struct BenchProcessTests {
    @Test("demo runs over the bench's serial port, with the same driver and no ground truth")
    func demoOverSerial() throws {
        let bench = Process()
        bench.executableURL = Landauer.executable
        bench.arguments = ["sim", "bench", "--board", "sim:?seed=2"]
        let out = Pipe()
        bench.standardOutput = out
        bench.standardError = Pipe()
        try bench.run()
        defer { bench.terminate(); bench.waitUntilExit() }
        // The first line names the endpoints.
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let endpoints = try JSONDecoder().decode(VirtualBenchEndpoints.self, from: line.prefix { $0 != 0x0A })
        #expect(endpoints.board.hasPrefix("/dev/pts/"))
        let r = try Landauer.run("demo", "--json", "--vectors", "200", "--board", "serial:\(endpoints.board)")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(DemoReport.self, from: Data(r.stdout.utf8))
        #expect(report.groundTruth == nil)
        #expect(report.board.serial == "LDR-SIM-0001")
        #expect(report.counters.vectorReads == 200)
        #expect(report.inference.rmsErrorLSB < 1)
    }
}
