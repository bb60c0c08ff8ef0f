import Foundation
import LandauerCalibration
import LandauerKit
import LandauerStore
import LandauerTraining
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

    static func run(_ arguments: String...) throws -> Outcome { try run(arguments) }

    static func run(_ arguments: [String]) throws -> Outcome {
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

    /// A fresh workspace folder.
    static func workspace() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("landauer-ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    @Test("demo programs, infers and updates, and its energy adds up")
    func demo() throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let r = try Landauer.run("workload", "--json", "--vectors", "300", "--seed", "4", "--workspace", ws)
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
        #expect(truth.phases.map(\.marker) == [Phase.program, .readout, .update].map { Int(MarkerCode(phase: $0).lines) })
        #expect(truth.phases.reduce(0) { $0 + $1.joules } < truth.totalJoules)
        // A programming pulse costs V²·G·t with G in the 1–20 µS window (1.5 V, 1 µs), plus line charging.
        let pulse = try #require(truth.events.first { $0.name == "programming-pulse" })
        let perPulse = pulse.joules / Double(pulse.count ?? 1)
        #expect(perPulse > 1.5 * 1.5 * 1e-6 * 1e-6 && perPulse < 1.5 * 1.5 * 20e-6 * 1e-6)
        #expect(abs(truth.landauerJoulesPerBit - 2.871e-21) < 0.001e-21)
        // The meter's view: calibrated, cited, close to the ledger the host never read.
        let measured = try #require(report.measured)
        #expect(measured.calibratedNow)
        let id = try #require(measured.calibrationId)
        #expect(FileManager.default.fileExists(atPath: "\(ws)/calibrations/\(id).json"))
        #expect(measured.warnings.isEmpty, "\(measured.warnings)")
        let run = try #require(measured.run)
        let runLedger = try #require(run.ledgerJoules)
        #expect(abs(run.joules / runLedger - 1) <= 0.005)
        #expect(abs(run.joules - runLedger) <= run.expandedUncertaintyJoules * 1.5)
        for (phase, ledger) in zip(measured.phases, truth.phases) where ledger.seconds > 1e-3 {
            #expect(abs(phase.joules / ledger.joules - 1) <= 0.02, "\(phase.name)")
            #expect(phase.ledgerJoules == ledger.joules)
        }
        #expect(measured.perBit.map(\.bits) == ["bits of readout", "bits written"] || measured.perBit.count == 2, "\(measured.perBit.map(\.bits))")
        for p in measured.perBit { #expect(p.landauerRatio > 1e6) }
        // A second run cites the same calibration instead of making another.
        let again = try Landauer.run("workload", "--json", "--vectors", "100", "--workspace", ws)
        #expect(again.status == 0, "\(again.stderr)")
        let second = try #require(try JSONDecoder().decode(DemoReport.self, from: Data(again.stdout.utf8)).measured)
        #expect(second.calibrationId == id && !second.calibratedNow)
    }

    @Test("an expired calibration is cited with a warning; a missing one, when not made, is a warning too")
    func calibrationWarnings() throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let none = try Landauer.run("workload", "--vectors", "50", "--workspace", ws, "--calibrate", "never")
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stdout.contains("NOT CALIBRATED"))
        #expect(none.stdout.contains("warning: no calibration of Nordic Semiconductor PPK2 SIM-1"))
        // Make one, then age it: rewrite its due date into the past.
        let made = try Landauer.run("calibrate", "--workspace", ws, "--json")
        #expect(made.status == 0, "\(made.stderr)")
        let path = try #require(try JSONDecoder().decode(CalibrationRecordPath.self, from: Data(made.stdout.utf8)).calibration.path)
        var record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        record["due"] = (record["date"] as! Double) - 3 * 86_400
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: path))
        let old = try Landauer.run("workload", "--vectors", "50", "--workspace", ws)
        #expect(old.status == 0, "\(old.stderr)")
        #expect(old.stdout.contains("warning: calibration cal-"), "\(old.stdout)")
        #expect(old.stdout.contains("expired 3 days ago"), "\(old.stdout)")
        // Bad input is refused before anything runs.
        let bad = try Landauer.run("workload", "--calibrate", "sometimes")
        #expect(bad.status != 0 && bad.stderr.contains("if-missing, always or never"))
    }

    @Test("calibrate fits every range the board uses and checks itself against the ledger")
    func calibrate() throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let r = try Landauer.run("calibrate", "--workspace", ws, "--check", "--meter", "sim:?seed=9")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Nordic Semiconductor PPK2 SIM-9"))
        for range in 0...3 { #expect(r.stdout.contains("\n  \(range)      "), "range \(range) missing:\n\(r.stdout)") }
        #expect(r.stdout.contains("Check against the simulator's ledger"))
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(ws)/calibrations")
        #expect(files.count == 1 && files[0].hasPrefix("cal-") && files[0].hasSuffix("-ppk2-SIM-9.json"))
        let bad = try Landauer.run("calibrate", "--meter", "sim:?noise-counts=-1", "--dry-run")
        #expect(bad.status != 0 && bad.stderr.contains("noise-counts"))
    }
}

/// Enough of `landauer calibrate --json` to find the record.
struct CalibrationRecordPath: Decodable {
    struct Summary: Decodable { var path: String? }
    var calibration: Summary
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
        let r = try Landauer.run("workload", "--json", "--vectors", "200", "--board", "serial:\(endpoints.board)")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(DemoReport.self, from: Data(r.stdout.utf8))
        #expect(report.groundTruth == nil)
        #expect(report.board.serial == "LDR-SIM-0001")
        #expect(report.counters.vectorReads == 200)
        #expect(report.inference.rmsErrorLSB < 1)
    }
}

extension BenchProcessTests {
    /// Starts `landauer sim bench` with `arguments` and returns the process and its endpoints.
    static func startBench(_ arguments: [String]) throws -> (Process, VirtualBenchEndpoints) {
        let bench = Process()
        bench.executableURL = Landauer.executable
        bench.arguments = ["sim", "bench"] + arguments
        let out = Pipe()
        bench.standardOutput = out
        bench.standardError = Pipe()
        try bench.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        return (bench, try JSONDecoder().decode(VirtualBenchEndpoints.self, from: line.prefix { $0 != 0x0A }))
    }

    @Test("sim bench serves a virtual twin with its profile's dead cells: a map over the serial port finds them")
    func twinOverSerial() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-twin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = dir.appendingPathComponent("landauer.sqlite").path
        let original = "sim:?device=soft-bounds&stuck=0.1&tiles=8x4&seed=5"
        let map = try Landauer.run("characterize", "map", "--board", original, "--store", store, "--json")
        #expect(map.status == 0, "\(map.stderr)")
        let pulse = try Landauer.run(
            "characterize", "pulse", "--board", original, "--block", "0:0+4,0+4", "--steps", "100", "--pulses-per-step", "4", "--store", store, "--json")
        #expect(pulse.status == 0, "\(pulse.stderr)")
        let runId = try #require(try JSONDecoder().decode(CharacterizationRun.Report.self, from: Data(pulse.stdout.utf8)).runId)
        let fit = try Landauer.run("fit", runId, "--name", "bench-twin", "--workspace", dir.path, "--store", store, "--json")
        #expect(fit.status == 0, "\(fit.stderr)")
        let profile = try DeviceProfile.load("bench-twin", workspace: dir)
        #expect(profile.deadCells.count >= 3, "\(profile.deadCells.count) dead cells")

        let (bench, endpoints) = try Self.startBench(["--board", "sim", "--device", "profile:bench-twin", "--workspace", dir.path, "--no-ppk2"])
        defer { bench.terminate(); bench.waitUntilExit() }
        let twinMap = try Landauer.run("characterize", "map", "--board", "serial:\(endpoints.board)", "--no-store", "--json")
        #expect(twinMap.status == 0, "\(twinMap.stderr)")
        let classes = try #require(try JSONDecoder().decode(CharacterizationRun.Report.self, from: Data(twinMap.stdout.utf8)).classes)
        #expect(classes["healthy"].map { 64 - $0 } == profile.deadCells.count, "\(classes)")
    }

    @Test("--device chooses a virtual board's devices, and only a virtual board's")
    func deviceOption() throws {
        let twice = try Landauer.run("characterize", "map", "--board", "sim:?device=vteam", "--device", "ideal", "--no-store")
        #expect(twice.status != 0 && twice.stderr.contains("give the device once"), "\(twice.stderr)")
        let real = try Landauer.run("train", "--board", "serial:/dev/null", "--device", "vteam", "--no-store")
        #expect(real.status != 0 && real.stderr.contains("a real board"), "\(real.stderr)")
        let unknown = try Landauer.run("sim", "info", "--device", "memristor")
        #expect(unknown.status != 0 && unknown.stderr.contains("vteam"), "\(unknown.stderr)")
        let info = try Landauer.run("sim", "info", "--board", "sim:?seed=4", "--device", "vteam", "--json")
        #expect(info.status == 0, "\(info.stderr)")
    }
}

@Suite("landauer train, end to end")
struct TrainCommandTests {
    @Test("train learns XOR on the ideal virtual board and reports phases and counts as JSON")
    func xor() throws {
        let r = try Landauer.run(
            "train", "--board", "sim:?profile=ideal&adc-range=0.05", "--data", "xor", "--network", "2-8-2", "--batch", "4",
            "--epochs", "40", "--lr-decay", "1", "--siemens-per-weight", "4e-6", "--json", "--no-store")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(TrainingRun.Report.self, from: Data(r.stdout.utf8))
        #expect(report.epochs.count == 40)
        #expect(report.epochs.contains { $0.testAccuracy == 1 }, "\(report.epochs.map(\.testAccuracy))")
        #expect(report.counters["free"]?.vectorReads == 40 * 20 * 3 * 4)
        #expect((report.counters["update"]?.pulses ?? 0) > 0)
        #expect(r.stderr.contains("epoch 40/40"))
    }

    @Test("a checkpoint after every epoch; resuming in a new process reprograms the virtual board and goes on")
    func checkpointAndResume() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let common = ["train", "--board", "sim:?profile=ideal&adc-range=0.05", "--data", "xor", "--network", "2-8-2", "--batch", "4",
                      "--lr-decay", "1", "--siemens-per-weight", "4e-6", "--json", "--checkpoint", file, "--no-store"]
        let first = try Landauer.run(common + ["--epochs", "3"])
        #expect(first.status == 0, "\(first.stderr)")
        let a = try JSONDecoder().decode(TrainingRun.Report.self, from: Data(first.stdout.utf8))
        // A new process has a new virtual board: its conductances are not the checkpoint's.
        let refused = try Landauer.run(common + ["--epochs", "5", "--resume", file])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("differ from the checkpoint"), "\(refused.stderr)")
        let resumed = try Landauer.run(common + ["--epochs", "5", "--resume", file, "--reprogram"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let b = try JSONDecoder().decode(TrainingRun.Report.self, from: Data(resumed.stdout.utf8))
        #expect(b.epochs.count == 5)
        #expect(b.epochs.prefix(3).map(\.testAccuracy) == a.epochs.map(\.testAccuracy))
        #expect(b.counters["free"]?.vectorReads == 5 * 20 * 3 * 4)
        #expect(b.initialPulses > 0)
    }

    @Test("a board whose output range is too coarse for training is named in a warning")
    func coarseRange() throws {
        let coarse = try Landauer.run("train", "--board", "sim", "--data", "xor", "--network", "2-8-2", "--epochs", "1", "--json", "--no-store")
        #expect(coarse.status == 0, "\(coarse.stderr)")
        let report = try JSONDecoder().decode(TrainingRun.Report.self, from: Data(coarse.stdout.utf8))
        #expect(report.warnings.contains { $0.contains("too coarse") && $0.contains("adc-range=0.05") }, "\(report.warnings)")
        let fine = try Landauer.run("train", "--data", "xor", "--network", "2-8-2", "--epochs", "1", "--json", "--no-store")
        #expect(try JSONDecoder().decode(TrainingRun.Report.self, from: Data(fine.stdout.utf8)).warnings.isEmpty)
    }

    @Test("a training run is recorded in the store; runs and show list it; kill -9 leaves a sound store with every finished epoch, and --resume RUN goes on with it")
    func store() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("landauer.sqlite").path
        let common = ["--data", "xor", "--network", "2-8-2", "--batch", "4", "--siemens-per-weight", "4e-6", "--store", path]
        let done = try Landauer.run(["train", "--epochs", "3", "--json"] + common)
        #expect(done.status == 0, "\(done.stderr)")
        let report = try JSONDecoder().decode(TrainingRun.Report.self, from: Data(done.stdout.utf8))
        let id = try #require(report.runId)
        let listed = try Landauer.run("runs", "--store", path)
        #expect(listed.stdout.contains(String(id.prefix(8))) && listed.stdout.contains("completed"), "\(listed.stdout)")
        let shown = try Landauer.run("show", String(id.prefix(8)), "--store", path)
        #expect(shown.stdout.contains("epoch 3") && shown.stdout.contains("status      completed (exit 0)"), "\(shown.stdout)")
        #expect(shown.stdout.contains("\"network\":\"2-8-2\""))
        let missing = try Landauer.run("show", "ffffffff", "--store", path)
        #expect(missing.status != 0 && missing.stderr.contains("no run ffffffff"))

        // kill -9 in the middle of a long run.
        let p = Process()
        p.executableURL = Landauer.executable
        p.arguments = ["train", "--epochs", "100000", "--lr-decay", "1"] + common
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        try p.run()
        let store = try RunStore(path: path)
        var epochs = 0
        var victim: String?
        for _ in 0..<600 {  // up to 60 s: a debug build on a busy machine
            try await Task.sleep(for: .milliseconds(100))
            victim = try store.runs().first { $0.status == .running }?.id
            if let victim { epochs = try store.epochs(of: victim).count }
            if epochs >= 3 { break }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let id2 = try #require(victim)
        #expect(epochs >= 3)
        let after = try RunStore(path: path)
        #expect(try after.integrityCheck() == "ok")
        #expect(try after.run(id2).status == .interrupted)
        let kept = try after.epochs(of: id2)
        #expect(kept.count >= epochs)
        #expect(kept.map(\.epoch) == Array(0..<kept.count))
        #expect(try after.run(id).status == .completed)
        // Every committed epoch has its checkpoint, taken in the same transaction.
        #expect(try after.latestCheckpoint(of: id2)?.epochs == kept.count)

        // --resume goes on with the interrupted run, under its id, from its last committed epoch.
        let total = kept.count + 2
        let resumed = try Landauer.run("train", "--resume", String(id2.prefix(8)), "--epochs", "\(total)", "--store", path, "--json")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let r = try JSONDecoder().decode(TrainingRun.Report.self, from: Data(resumed.stdout.utf8))
        #expect(r.runId == id2)
        #expect(r.epochs.map(\.epoch) == Array(0..<total))
        let final = try RunStore(path: path)
        #expect(try final.run(id2).status == .completed)
        #expect(try final.epochs(of: id2).map(\.epoch) == Array(0..<total))  // none repeated, none skipped
        #expect(try final.events(of: id2).contains { $0.kind == "resume" })
        #expect(try final.integrityCheck() == "ok")
        // A completed run is not resumed again; a run without a checkpoint says why.
        let again = try Landauer.run("train", "--resume", String(id2.prefix(8)), "--store", path)
        #expect(again.status != 0 && again.stderr.contains("only an interrupted or failed run can be resumed"), "\(again.stderr)")
    }

    @Test("demo calibrates, trains metered, records the run and prints where its report is; report and export read it back")
    func demoEndToEnd() throws {
        let ws = try CommandLineTests.workspace()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let r = try Landauer.run("demo", "--workspace", ws, "--data", "xor", "--network", "2-8-2", "--epochs", "3")
        #expect(r.status == 0, "\(r.stderr)")
        for step in ["1/4 virtual bench", "2/4 calibrating", "3/4 training", "4/4 report written"] { #expect(r.stderr.contains(step), "\(step)") }
        let path = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("report: ") }).dropFirst("report: ".count)
        let html = try String(contentsOfFile: String(path), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("Joules per bit"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws + "/calibrations").count == 1)
        let store = ws + "/landauer.sqlite"
        let runs = try RunStore(path: store).runs()
        #expect(runs.count == 1 && runs[0].status == .completed)
        let id = String(runs[0].id.prefix(8))
        #expect(runs[0].calibrationIds.contains("cal-") && runs[0].instruments.contains("PPK2"))

        let csv = try Landauer.run("report", id, "--store", store, "--format", "csv", "-o", "-")
        #expect(csv.status == 0 && csv.stdout.hasPrefix("# landauer run report (CSV)"), "\(csv.stderr)")
        let md = try Landauer.run("report", id, "--store", store, "--format", "md")
        #expect(md.status == 0 && md.stdout.hasSuffix(".md\n"), "\(md.stdout)")
        let bad = try Landauer.run("report", id, "--store", store, "--format", "pdf")
        #expect(bad.status != 0 && bad.stderr.contains("--format must be one of html, csv, json, md"))

        let out = ws + "/export"
        let export = try Landauer.run("export", id, "--store", store, "-o", out, "--trace")
        #expect(export.status == 0, "\(export.stderr)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        #expect(files == ["run.json", "epochs.csv", "energy.csv", "figures.csv", "events.jsonl", "markers.csv", "trace.csv"])
        let traceLines = try String(contentsOfFile: out + "/trace.csv", encoding: .utf8).split(separator: "\n").count
        let extent = try #require(try TraceStore(RunStore(path: store)).extent(runId: runs[0].id, stream: "ppk2"))
        #expect(traceLines == Int(extent.count) + 1)  // header, then every sample (no gaps here)
        let energy = try String(contentsOfFile: out + "/energy.csv", encoding: .utf8).split(separator: "\n")
        #expect(energy.count == 1 + 3 * 4)
    }

    @Test("characterize form forms an unformed virtual cell within the compliance; a compliance beyond the board's limit is refused")
    func characterizeForm() throws {
        let r = try Landauer.run("characterize", "form", "--board", "sim:?unformed=on", "--no-store", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(CharacterizationRun.Report.self, from: Data(r.stdout.utf8))
        func figure(_ key: String) -> Double? { report.figures.first { $0.key == key }?.value }
        #expect(figure("form.formed") == 1)
        let compliance = try #require(figure("sweep.compliance"))
        #expect(abs(compliance - 20e-6) < 1e-9)
        let peak = try #require(figure("sweep.peakCurrent"))
        #expect(peak > 0.9 * compliance && peak <= compliance * 1.0001)
        let refused = try Landauer.run("characterize", "form", "--board", "sim:?unformed=on", "--no-store", "--compliance", "150e-6")
        #expect(refused.status != 0 && refused.stderr.contains("exceeds limit"), "\(refused.stderr)")
        let bad = try Landauer.run("characterize", "form", "--board", "sim:?unformed=maybe", "--no-store")
        #expect(bad.status != 0 && bad.stderr.contains("unformed"), "\(bad.stderr)")
        let badList = try Landauer.run("characterize", "pulse", "--amplitudes", "1.2,x", "--no-store")
        #expect(badList.status != 0 && badList.stderr.contains("--amplitudes"), "\(badList.stderr)")
    }

    @Test("a metered run records calibrated energy per phase and epoch, close to the ledger")
    func metered() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("landauer.sqlite").path
        let r = try Landauer.run(
            "train", "--data", "xor", "--network", "2-8-2", "--batch", "4", "--epochs", "3", "--meter", "sim", "--workspace", dir.path,
            "--store", path, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(TrainingRun.Report.self, from: Data(r.stdout.utf8))
        let measured = try #require(report.measured)
        let run = try #require(measured.run)
        #expect(abs(run.joules / (run.ledgerJoules ?? 0) - 1) <= 0.005)
        #expect(measured.calibratedNow && measured.warnings.isEmpty, "\(measured.warnings)")
        for p in measured.phases where p.name != "update" {  // the update phases here are shorter than 1 ms
            #expect(abs(p.joules / (p.ledgerJoules ?? 0) - 1) <= 0.02, "\(p.name)")
        }
        let energies = try RunStore(path: path).energies(of: try #require(report.runId))
        #expect(energies.count == 3 * 4, "\(energies.map { "\($0.epoch) \($0.phase)" })")
        #expect(Set(energies.map(\.phase)) == ["free", "nudged", "update", "readout"])
        #expect(energies.allSatisfy { $0.joules > 0 && $0.expandedUncertaintyJoules > 0 && $0.missingSamples == 0 })
        let shown = try Landauer.run("show", String(report.runId!.prefix(8)), "--store", path)
        #expect(shown.stdout.contains("epoch 3  readout"), "\(shown.stdout)")
        // The meter's trace is in the store, whole: its summaries count every sample of the run.
        let traces = TraceStore(try RunStore(path: path))
        let view = try traces.view(runId: report.runId!, stream: "ppk2", range: 0..<Int64.max / 2, buckets: 1)
        let counted = view.reduce(0) { $0 + $1.count }
        #expect(counted > 10_000, "\(counted) samples in the trace")
        let extent = try #require(try traces.extent(runId: report.runId!, stream: "ppk2"))
        #expect(Int64(counted) == extent.count)  // no gaps on the in-process link
        let first = try traces.words(runId: report.runId!, stream: "ppk2", range: extent.lowerBound..<(extent.lowerBound + 100))
        #expect(first.count == 100)
        #expect(first.allSatisfy { $0 >> 24 == 0 })  // the idle stretch before the run: no markers
        let all = try traces.words(runId: report.runId!, stream: "ppk2", range: extent)
        #expect(all.filter { ($0 >> 24) & 0x20 != 0 }.count > all.count / 2)  // the run line high for most of the trace
    }

    @Test("bad training options are refused with a message")
    func badOptions() throws {
        for (args, needle) in [(["--network", "64x32"], "--network"), (["--estimator", "sideways"], "--estimator"),
                               (["--lr", "0.5,-1"], "--lr"), (["--update", "sideways"], "--update"), (["--data", "cifar"], "unknown data set")] {
            let r = try Landauer.run(["train", "--epochs", "1", "--no-store"] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
    }
}
