import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import LandauerStore
import LandauerTraining
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reports of a metered training run, read back from the store, checked in a real browser.
@Suite("Run reports", .serialized)
struct RunReportTests {
    /// One metered XOR run on the virtual bench, recorded in a fresh store.
    static func meteredRun(epochs: Int = 3) async throws -> (store: RunStore, report: TrainingRun.Report, dir: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var o = TrainingRun.Options()
        o.board = "sim:?profile=ideal&adc-range=0.05"
        o.network = NetworkShape([2, 8, 2])
        o.data = "xor"
        o.trainer.batchSize = 4
        o.trainer.epochs = epochs
        o.synapses.siemensPerWeight = 4e-6
        o.meter = "sim"
        o.workspace = dir
        o.store = dir.appendingPathComponent("landauer.sqlite").path
        let report = try await TrainingRun(options: o).run()
        return (try RunStore(path: o.store!), report, dir)
    }

    /// Each `<svg>…</svg>` of `html` parses as XML.
    static func svgBlocksParse(_ html: String) -> (count: Int, failures: [String]) {
        var failures: [String] = []
        var count = 0
        var rest = html[...]
        while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
            count += 1
            let block = String(rest[start.lowerBound..<end.upperBound])
            let parser = XMLParser(data: Data(block.utf8))
            if !parser.parse() { failures.append("svg \(count): \(parser.parserError.map { "\($0)" } ?? "?")") }
            rest = rest[end.upperBound...]
        }
        return (count, failures)
    }

    @Test("the HTML report renders in headless Chromium without console errors, is not blank, and holds the key figures")
    func htmlInBrowser() async throws {
        let (store, training, dir) = try await Self.meteredRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let id = try #require(training.runId)
        let report = try RunReport.load(String(id.prefix(8)), from: store)
        let html = report.html()
        let file = dir.appendingPathComponent("report.html")
        try Data(html.utf8).write(to: file)

        // Self-contained: no scripts, nothing fetched.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("url("))
        let svg = Self.svgBlocksParse(html)
        #expect(svg.count >= 4, "power, energy per phase, accuracy, ladder: \(svg.count)")
        for title in ["Power trace, the whole run", "Energy per phase per epoch", "Accuracy against cumulative energy", "Joules per bit on a logarithmic ladder"] {
            #expect(html.contains("<title>\(title)</title>"), "\(title)")
        }
        #expect(svg.failures.isEmpty, "\(svg.failures)")

        // The key figures, as the report prints them.
        let accuracy = try #require(report.figure("accuracy.test"))
        #expect(html.contains(SignificantDigits.plain(accuracy.value * 100, digits: 3) + " %"))
        for key in ["energy.training", "perbit.training", "bound.landauer", "bound.training", "bound.inference", "baseline.digital", "bits.learned"] {
            let f = try #require(report.figure(key), "\(key)")
            #expect(html.contains(SVGText.escape(ReportNumberProbe.figure(f.value, unit: f.unit, digits: 5))), "\(key) = \(f.value)")
        }
        #expect(html.contains("k_B·T·ln 2"))
        #expect(html.contains(id))

        // Rendered: no console messages, and a page with plots on it.
        let rendering = try HeadlessChromium.render(html: file, width: 1000, height: 2600)
        #expect(rendering.consoleMessages.isEmpty, "\(rendering.consoleMessages)")
        let differing = rendering.png.fractionDiffering(from: (255, 255, 255), tolerance: 8)
        #expect(differing > 0.03, "only \(differing) of the page differs from white")
        #expect(rendering.png.distinctColours(limit: 64).count >= 8)
    }

    @Test("a fresh metered run's figures agree with the ledger, bits learned are positive, the trace has markers and no gaps")
    func figures() async throws {
        let (store, training, dir) = try await Self.meteredRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let id = try #require(training.runId)
        let report = try RunReport.load(id, from: store)
        let run = try #require(report.figure("energy.run"))
        let ledger = try #require(report.figure("ledger.run"))
        #expect(abs(run.value / ledger.value - 1) <= 0.005)
        let runU = try #require(run.expandedUncertainty)
        #expect(runU > 0)
        let learned = try #require(report.figure("bits.learned"))
        #expect(learned.value > 0 && learned.value <= 4 * 1.0 + 1e-9)  // at most D·H(Y) = 4 samples × 1 bit
        let perBit = try #require(report.figure("perbit.training"))
        let trainingEnergy = try #require(report.figure("energy.training"))
        let landauer = try #require(report.figure("bound.landauer"))
        let ratio = try #require(perBit.landauerRatio)
        #expect(abs(perBit.value - trainingEnergy.value / learned.value) <= 1e-9 * perBit.value)
        #expect(abs(ratio - perBit.value / landauer.value) <= 1e-6 * ratio)
        #expect(!report.events.contains { $0.kind == "gap" }, "\(report.events)")
        let instruments = report.instruments.map(\.role)
        #expect(instruments == ["board", "meter"])
        #expect(report.calibrationIds.count == 1)
        #expect(try store.markers(of: id, stream: "ppk2").count > 10)
        let whole = try #require(report.views.first)
        #expect(Set(whole.phases.map(\.phase)).isSuperset(of: ["free", "readout"]))
        #expect(whole.buckets.allSatisfy { $0.minimumWatts <= $0.meanWatts + 1e-12 && $0.meanWatts <= $0.maximumWatts + 1e-12 })
        // The mean power over the trace times its duration is the run's energy, idle stretches included.
        let energy = whole.buckets.reduce(0) { $0 + $1.meanWatts * ($1.end - $1.start) }
        #expect(energy >= run.value * 0.99, "trace \(energy) J, run window \(run.value) J")
    }

    @Test("CSV has a metadata header and units in its column names; JSON reads back; Markdown has the figure table")
    func otherFormats() async throws {
        let (store, training, dir) = try await Self.meteredRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = try RunReport.load(try #require(training.runId), from: store)
        let csv = try report.rendered(.csv).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(csv.firstIndex { !$0.hasPrefix("#") })
        #expect(header >= 10)
        #expect(csv[0..<header].contains { $0.hasPrefix("# run_id: \(training.runId!)") })
        let columns = csv[header].split(separator: ",").map(String.init)
        #expect(columns.contains("energy_free_J") && columns.contains("energy_free_U95_J") && columns.contains("duration_update_s"))
        let rows = csv[(header + 1)...].filter { !$0.isEmpty }
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == columns.count })
        let back = try JSONDecoder().decode(RunReport.self, from: Data(try report.rendered(.json).utf8))
        #expect(back.figures == report.figures && back.epochs == report.epochs && back.run == report.run)
        let md = try report.rendered(.md)
        #expect(md.contains("| figure | value | U (k = 2) |") && md.contains("## Provenance"))
    }
}

/// The report's own number formatting, reached through its rendered output for the tests.
enum ReportNumberProbe {
    static func figure(_ value: Double, unit: String, digits: Int) -> String { RunReport.formatFigure(value, unit: unit, digits: digits) }
}

enum SVGText {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
