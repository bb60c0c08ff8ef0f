import ArgumentParser
import Foundation
import LandauerFirmware
import LandauerKit
import LandauerStore

/// Opens the store at `path`, or says how to get one.
func openStore(_ path: String) throws -> RunStore {
    guard FileManager.default.fileExists(atPath: path) else {
        throw ValidationError("no run store at \(path): runs are recorded by `landauer train` and `landauer demo` (or give --store PATH)")
    }
    return try RunStore(path: path)
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a run's report: HTML (one self-contained file with plots), CSV, JSON or Markdown.",
        discussion: """
            The HTML report plots the power trace with the phases shaded, the energy of each phase in each epoch, the \
            test accuracy against the cumulative energy, and the joules per bit on a logarithmic ladder beside \
            k_B·T·ln 2, the analog training and inference bounds and the digital baseline; a table gives every figure \
            with its definition, expanded uncertainty (k = 2) and multiple of k_B·T·ln 2. CSV has a metadata header \
            and units in the column names; JSON holds everything.
            """)
    @Argument(help: "The run's id, or its first characters (at least 4).") var runId: String
    @Option(help: ArgumentHelp("html, csv, json or md.", valueName: "format")) var format = "html"
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write it; - for standard output. Default: reports/RUN.FORMAT beside the store.", valueName: "path"))
    var output: String?
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()

    func validate() throws {
        guard ReportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")), not \(format)")
        }
    }

    func run() async throws {
        do {
            let s = try openStore(store)
            let report = try RunReport.load(runId, from: s)
            let text = try report.rendered(ReportFormat(rawValue: format)!)
            if output == "-" { print(text, terminator: ""); return }
            let path = try Self.write(text, runId: report.run.id, format: format, output: output, store: store)
            print(path)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw failing(error)
        }
    }

    /// Writes `text` to `output`, or to reports/RUN.FORMAT beside the store; returns the path.
    static func write(_ text: String, runId: String, format: String, output: String?, store: String) throws -> String {
        let path = output ?? ((store as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("reports/\(runId.prefix(8)).\(format)")
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url, options: .atomic)
        return url.standardizedFileURL.path
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export everything stored about a run into a folder: run.json, epochs.csv, energy.csv, figures.csv, events.jsonl, markers.csv, and with --trace the full trace.",
        discussion: """
            trace.csv holds every stored meter sample: its index, its time, the meter's raw 14-bit ADC code and \
            range, and the logic inputs; gaps are absent rows, never filled in. Raw codes convert to current with the \
            meter's own calibration (the PPK2's metadata) and then the cited calibration record.
            """)
    @Argument(help: "The run's id, or its first characters (at least 4).") var runId: String
    @Option(name: [.short, .long], help: ArgumentHelp("The folder to write (created). Default: exports/RUN beside the store.", valueName: "path")) var output: String?
    @Flag(help: "Also write trace.csv, every stored sample (large: about 30 bytes per sample).") var trace = false
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()

    func run() async throws {
        do {
            let s = try openStore(store)
            let report = try RunReport.load(runId, from: s)
            let folder = URL(fileURLWithPath: output ?? ((store as NSString).deletingLastPathComponent as NSString).appendingPathComponent("exports/\(report.run.id.prefix(8))"))
            let written = try RunExport(store: s, report: report).write(to: folder, trace: trace)
            for f in written { print(f) }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw failing(error)
        }
    }
}
