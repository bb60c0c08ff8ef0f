import Foundation
import LandauerFirmware
import LandauerKit
import LandauerStore
import Testing

/// Reports of characterisation runs: pulse response with the fitted model, retention against log
/// time, the array heat map with the dead cells marked, rendered in headless Chromium.
@Suite("Characterisation reports", .serialized)
struct CharacterizationReportTests {
    @Test("a characterisation run's report shows its plots, renders in headless Chromium without console messages, not blank")
    func plotsInBrowser() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("char-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = CharacterizationRun.Options()
        o.board = "sim:?device=soft-bounds&stuck=0.05&tiles=16x8,8x4&seed=3"
        o.workspace = dir
        o.store = dir.appendingPathComponent("landauer.sqlite").path
        o.procedure = .map
        let map = try await CharacterizationRun(options: o).run()
        o.procedure = .pulse
        o.block = "0:0+4,0+4"
        o.steps = 150
        o.pulsesPerStep = 8
        let pulse = try await CharacterizationRun(options: o).run()
        o.procedure = .retention
        o.duration = Seconds(1)
        let retention = try await CharacterizationRun(options: o).run()
        let store = try RunStore(path: o.store!)
        _ = try CharacterizationFitting.run(try #require(pulse.runId), name: "report-test", store: store, workspace: dir)

        var pages: [String] = []
        for (run, titles) in [
            (map.runId, ["Conductance map of tile 0 with the dead cells marked", "Conductance map of tile 1 with the dead cells marked"]),
            (pulse.runId, ["Pulse response of 6 of 32 devices, with the fitted model (profile report-test)"]),
            (retention.runId, ["Retention: conductance against board time after the last pulse"]),
        ] {
            let report = try RunReport.load(try #require(run), from: store)
            let html = report.html()
            #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("url("))
            let svg = RunReportTests.svgBlocksParse(html)
            #expect(svg.failures.isEmpty, "\(svg.failures)")
            for t in titles { #expect(html.contains("<title>\(t)</title>"), "\(t)") }
            pages.append(html)
        }
        // The dead cells are crossed: one cross (two red lines) per dead cell of the map.
        let mapReport = try RunReport.load(try #require(map.runId), from: store)
        let dead = try #require(mapReport.characterization).cells.filter { $0.deviceClass != "healthy" }.count
        #expect(dead > 0)
        #expect(pages[0].components(separatedBy: "stroke=\"#d00000\"").count - 1 == 2 * dead)
        // The fitted model is drawn over the measured curves (dark lines), one per device shown.
        #expect(pages[1].components(separatedBy: "stroke=\"#222\" stroke-width=\"1.20\"").count - 1 == 6)
        // The retention plot's axis is logarithmic: its ticks are decades of seconds.
        let ticks = pages[2].components(separatedBy: "</text>").compactMap { $0.split(separator: ">").last.map(String.init) }.filter { $0.hasSuffix("ms") || $0.hasSuffix(" s") }
        #expect(ticks.contains("1.0 ms") && ticks.contains("10 ms") && ticks.contains("100 ms"), "\(ticks)")

        for (k, html) in pages.enumerated() {
            let file = dir.appendingPathComponent("report-\(k).html")
            try Data(html.utf8).write(to: file)
            let rendering = try HeadlessChromium.render(html: file, width: 1000, height: 1400)
            #expect(rendering.consoleMessages.isEmpty, "\(rendering.consoleMessages)")
            let differing = rendering.png.fractionDiffering(from: (255, 255, 255), tolerance: 8)
            #expect(differing > 0.03, "page \(k): only \(differing) of the page differs from white")
            #expect(rendering.png.distinctColours(limit: 64).count >= 6, "page \(k)")
        }
    }
}
