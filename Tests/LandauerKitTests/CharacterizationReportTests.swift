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
        // VTEAM devices at four amplitudes: the compact model's data.
        o.board = "sim:?device=vteam&seed=3"
        o.amplitudes = [1.2, 1.3, 1.4, 1.5].map(Volts.init)
        o.steps = 60
        let multi = try await CharacterizationRun(options: o).run()
        o.amplitudes = []
        o.board = "sim:?device=soft-bounds&stuck=0.05&tiles=16x8,8x4&seed=3"
        o.procedure = .retention
        o.duration = Seconds(1)
        let retention = try await CharacterizationRun(options: o).run()
        // Forming on fresh devices (a 2 × 2 block, G⁺), then I-V loops of formed VTEAM devices.
        o.board = "sim:?unformed=on&seed=3"
        o.procedure = .form
        o.block = "0:0+2,0+2:plus"
        let form = try await CharacterizationRun(options: o).run()
        o.board = "sim:?device=vteam&seed=3"
        o.procedure = .iv
        o.block = "0:0+1,0+2:plus"
        let iv = try await CharacterizationRun(options: o).run()
        let store = try RunStore(path: o.store!)
        _ = try CharacterizationFitting.run(try #require(pulse.runId), name: "report-test", store: store, workspace: dir)
        let compact = try CharacterizationFitting.run(try #require(multi.runId), name: "report-vteam", model: .vteam, store: store, workspace: dir)
        #expect(compact.profile.compact != nil)

        var pages: [String] = []
        for (run, titles) in [
            (map.runId, ["Conductance map of tile 0 with the dead cells marked", "Conductance map of tile 1 with the dead cells marked"]),
            (pulse.runId, ["Pulse response of 6 of 32 devices, with the fitted soft-bounds model at 1.500 V (profile report-test)"]),
            (multi.runId, [
                "Pulse response of 6 of 32 devices, with the fitted soft-bounds model at 1.500 V (profile report-vteam)",
                "Pulse response with the fitted VTEAM compact model (profile report-vteam), each train from its first reading",
            ]),
            (retention.runId, ["Retention: conductance against board time after the last pulse"]),
            (form.runId, ["Forming of 4 of 4 devices: current against voltage, the compliance dashed"]),
            (iv.runId, [
                "I-V loops of 2 devices: 0 → +max → 0 → −reverse → 0, pinched at the origin",
                "The same loops as |current| on a logarithmic axis: SET on the positive branch, RESET on the negative",
            ]),
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
        // The multi-amplitude run: six soft-bounds overlays (its 1.5 V trains) and six VTEAM ones (every train).
        #expect(pages[2].components(separatedBy: "stroke=\"#222\" stroke-width=\"1.20\"").count - 1 == 12)
        // The retention plot's axis is logarithmic: its ticks are decades of seconds.
        let ticks = pages[3].components(separatedBy: "</text>").compactMap { $0.split(separator: ">").last.map(String.init) }.filter { $0.hasSuffix("ms") || $0.hasSuffix(" s") }
        #expect(ticks.contains("1.0 ms") && ticks.contains("10 ms") && ticks.contains("100 ms"), "\(ticks)")
        // Forming: every device formed, no current above the compliance, the compliance drawn as a dashed red line.
        func figure(_ report: CharacterizationRun.Report, _ key: String) -> Double? { report.figures.first { $0.key == key }?.value }
        #expect(figure(form, "form.formed") == 4)
        let peak = try #require(figure(form, "sweep.peakCurrent")), compliance = try #require(figure(form, "sweep.compliance"))
        #expect(peak > 0.9 * compliance && peak <= compliance * (1 + 1e-6), "\(peak) A against \(compliance) A")
        #expect(pages[4].contains("stroke=\"#d00000\" stroke-width=\"1.20\" stroke-dasharray=\"6 4\""))
        #expect(pages[4].contains(">compliance 20.0 µA</text>"))
        let formPoints = try store.characterizationPoints(of: try #require(form.runId))
        #expect(formPoints.allSatisfy { $0.amperes.map { abs($0) <= 20e-6 * (1 + 1e-6) } ?? true })
        #expect(formPoints.filter { $0.amperes == nil }.count == 4)  // one read after each device's sweep
        // I-V: two devices × two loops, the loop pinched (0 A at 0 V), SET before RESET.
        let ivPoints = try store.characterizationPoints(of: try #require(iv.runId))
        #expect(Set(ivPoints.map(\.train)) == [0, 1])
        #expect(ivPoints.filter { $0.volts == 0 }.allSatisfy { $0.amperes == 0 })
        let setOnset = try #require(figure(iv, "iv.setOnset")), resetOnset = try #require(figure(iv, "iv.resetOnset"))
        #expect(setOnset > 0.8 && setOnset <= 1.5 && resetOnset < -0.8 && resetOnset >= -1.5, "SET \(setOnset) V, RESET \(resetOnset) V")
        #expect(try #require(figure(iv, "iv.onOff")) > 1.2)
        // Export: every reading with its voltage and current, and the map's classes.
        for (run, count, classes) in [(iv.runId, ivPoints.count, 0), (map.runId, try store.characterizationPoints(of: try #require(map.runId)).count, 2 * (16 * 8 + 8 * 4))] {
            let id = try #require(run)
            let folder = dir.appendingPathComponent("export-\(id.prefix(8))")
            let files = try RunExport(store: store, report: try RunReport.load(id, from: store)).write(to: folder, trace: false)
            let lines = try String(contentsOf: folder.appendingPathComponent("points.csv"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == count + 1)
            #expect(lines[0].hasSuffix("voltage_V,current_A,limited"))
            #expect(files.contains { $0.hasSuffix("devices.csv") } == (classes > 0))
            if classes > 0 {
                #expect(try String(contentsOf: folder.appendingPathComponent("devices.csv"), encoding: .utf8).split(separator: "\n").count == classes + 1)
            }
        }
        let ivCSV = try String(contentsOf: dir.appendingPathComponent("export-\(try #require(iv.runId).prefix(8))/points.csv"), encoding: .utf8)
        #expect(ivCSV.split(separator: "\n").dropFirst().allSatisfy { $0.hasPrefix("iv,0,0,") && $0.split(separator: ",", omittingEmptySubsequences: false).count == 14 })

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
