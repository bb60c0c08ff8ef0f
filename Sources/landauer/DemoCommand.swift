import ArgumentParser
import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerKit
import LandauerStore
import LandauerTraining

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job on the virtual bench: calibrate the meter, train on the digits with the meter on, write the report.",
        discussion: """
            1. The virtual bench: the reference board (sim:?adc-range=0.05) with a virtual Nordic PPK2 on its supply, \
            whose gain and offset errors the host does not know, and a bank of certified reference loads. \
            2. Calibration: the PPK2 is calibrated against the loads; the record goes to the workspace's calibrations/. \
            3. Training: 64-32-10 on the bundled digits by equilibrium propagation, every phase on the marker lines, the \
            meter's trace, the calibrated energy of every phase of every epoch and the run's figures recorded in the \
            run store (landauer.sqlite in the workspace). \
            4. The report: one HTML file with the plots and the table of figures, under reports/ in the workspace; \
            its path is printed last. `landauer report RUN --format csv|json|md` writes the others.
            """)

    @Option(help: ArgumentHelp("Workspace folder: calibrations/, the run store and reports/ go here.", valueName: "path")) var workspace = "."
    @Option(help: "Training epochs.") var epochs = 10
    @Option(help: ArgumentHelp("Data set: digits, xor, or mnist:DIRECTORY.", valueName: "name")) var data = "digits"
    @Option(help: ArgumentHelp("Layer sizes, inputs first.", valueName: "sizes")) var network = "64-32-10"
    @Option(help: ArgumentHelp("Meter on the virtual board: sim or sim:?key=value&….", valueName: "connection")) var meter = "sim"
    @Option(help: "Seed of the initial weights, the shuffles and the β signs.") var seed: UInt64 = 1
    @Flag(help: "Print the run's figures as one JSON object at the end (the report path included).") var json = false

    func validate() throws {
        guard epochs >= 1, epochs <= 1_000 else { throw ValidationError("--epochs must be 1 … 1000, not \(epochs)") }
        guard NetworkShape(parsing: network) != nil else { throw ValidationError("--network must be sizes joined by '-', e.g. 64-32-10, not \(network)") }
    }

    struct Output: Encodable {
        var runId: String
        var calibrationId: String
        var report: String
        var store: String
        var figures: [FigureRecord]
    }

    func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    func run() async throws {
        do {
            let started = ContinuousClock.now
            let ws = URL(fileURLWithPath: workspace)
            try FileManager.default.createDirectory(at: ws, withIntermediateDirectories: true)
            let board = "sim:?adc-range=0.05"
            let meterOptions = try SimulatedMeterOptions(parsing: meter)

            // 1. The bench.
            let session = try BoardConnection.open(board)
            guard let virtual = session.virtualBoard else { throw ValidationError("the demo runs on the virtual bench") }
            let bench = LockstepPowerBench(board: virtual, meter: meterOptions)
            try bench.connect()
            say("1/4 virtual bench: \(virtual.config.name) \(virtual.config.serial), \(bench.identity.summary) on its \(SignificantDigits.format(virtual.config.supplyVoltage.value, digits: 3)) V supply, \(bench.loads.count) reference loads")

            // 2. Calibration.
            say("2/4 calibrating the meter against its reference loads…")
            let record = try await CalibrationProcedure().run(on: bench)
            let saved = try CalibrationStore(workspace: ws).save(record)
            let worst = record.ranges.map { abs($0.gain - 1) }.max() ?? 0
            say("    \(record.id): \(record.ranges.count) ranges fitted, gains within \(SignificantDigits.format(worst * 100, digits: 2)) % of 1, saved to \(saved.path)")

            // 3. Training, metered and recorded.
            var options = TrainingRun.Options()
            options.board = board
            options.network = NetworkShape(parsing: network)!
            options.data = data
            options.trainer.epochs = epochs
            options.trainer.seed = seed
            options.meter = meter
            options.workspace = ws
            let storePath = RunStore.defaultPath(workspace: ws.path)
            options.store = storePath
            say("3/4 training \(network) on \(data) for \(epochs) epochs, metered, recorded in \(storePath)")
            let interactive = isatty(2) != 0
            let total = epochs
            let report = try await TrainingRun(options: options).run { result, done, of in
                if let r = result {
                    let line = "    epoch \(r.epoch + 1)/\(total)  train \(Train.percent(r.trainAccuracy))  test \(Train.percent(r.testAccuracy))  \(Int(r.samplesPerSecond)) samples/s"
                    FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + line + "\n").utf8))
                } else if interactive {
                    FileHandle.standardError.write(Data("\r\u{1B}[K    \(done)/\(of) samples".utf8))
                }
            }
            guard let runId = report.runId else { throw ValidationError("the run was not recorded") }

            // 4. The report.
            let store = try RunStore(path: storePath)
            let html = try RunReport.load(runId, from: store).html()
            let path = try Report.write(html, runId: runId, format: "html", output: nil, store: storePath)
            let elapsed = (ContinuousClock.now - started).inSeconds.value
            say("4/4 report written (\(SignificantDigits.format(elapsed, digits: 3)) s in all)")
            let key = ["accuracy.test", "energy.training", "bits.learned", "perbit.training", "bound.landauer", "bound.training", "baseline.digital"]
            for k in key {
                guard let f = report.figures.first(where: { $0.key == k }) else { continue }
                say("    \(f.name.padding(toLength: 42, withPad: " ", startingAt: 0)) \(SignificantDigits.format(f.value, digits: 4)) \(f.unit)"
                    + (f.expandedUncertainty.map { " ± \(SignificantDigits.format($0, digits: 2))" } ?? "")
                    + (f.landauerRatio.map { "   (\(SignificantDigits.format($0, digits: 3)) × k_B·T·ln 2)" } ?? ""))
            }
            for w in report.measured?.warnings ?? [] { say("    warning: \(w)") }
            if json {
                try printJSON(Output(runId: runId, calibrationId: record.id, report: path, store: storePath, figures: report.figures))
            } else {
                print("report: \(path)")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw failing(error)
        }
    }
}
