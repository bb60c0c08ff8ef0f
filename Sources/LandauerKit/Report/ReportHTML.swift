import Foundation
import LandauerFirmware
import LandauerStore

extension RunReport {
    static let phaseColours: [String: String] = [
        "free": "#4e79a7", "nudged": "#f28e2b", "update": "#e15759", "readout": "#59a14f", "program": "#b07aa1", "measure": "#9c755f", "other": "#bab0ac",
    ]
    static let phaseOrder = ["free", "nudged", "update", "readout"]

    /// The report as one self-contained HTML file: inline CSS and SVG, no scripts, no external resources.
    public func html() -> String {
        let e = SVGPlot.escape
        var s: [String] = []
        s.append("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(run.name)) — Landauer run \(e(String(run.id.prefix(8))))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 960px; color: #222; background: #fff; line-height: 1.4; }
            h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
            table { border-collapse: collapse; width: 100%; font-size: 0.88em; } th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            .cards { display: flex; gap: 12px; flex-wrap: wrap; } .card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 180px; }
            .card .v { font-size: 1.35em; font-weight: 600; } .card .l { font-size: 0.85em; color: #555; }
            .muted { color: #666; font-size: 0.88em; } .warn { color: #8a4b00; }
            .legend span { display: inline-block; margin-right: 14px; font-size: 0.85em; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
            code { font-size: 0.9em; }
            </style>
            </head>
            <body>
            <h1>\(e(run.name))</h1>
            <p class="muted">run <code>\(e(run.id))</code> · \(e(run.kind.rawValue)) · <b>\(e(run.status.rawValue))</b>\(run.exitStatus.map { " (exit \($0))" } ?? "") · started \(e(run.startedAt))\(run.endedAt.map { " · ended \(e($0))" } ?? "") · report generated \(e(generatedAt))</p>
            """)
        s.append(cards())
        if let c = characterization {
            s.append("<h2>Characterisation: \(e(c.procedure))</h2>")
            s.append(c.html())
        }
        if characterization != nil && views.isEmpty {
            // A characterisation is not metered: no power section.
        } else {
        s.append("<h2>Power</h2>")
        if views.isEmpty {
            s.append("<p class=\"muted\">This run has no meter trace (it was not metered).</p>")
        } else {
            s.append(legend())
            for v in views { s.append(powerPlot(v)) }
        }
        }
        if !energies.isEmpty {
            s.append("<h2>Energy per phase per epoch</h2>")
            s.append(legend())
            s.append(energyPlot())
        }
        if !epochs.isEmpty {
            s.append("<h2>Accuracy against cumulative energy</h2>")
            s.append(accuracyPlot())
        }
        let ladder = figures.filter { $0.unit == "J/bit" && $0.value > 0 }
        if !ladder.isEmpty {
            s.append("<h2>Joules per bit</h2>")
            s.append(ladderPlot(ladder))
        }
        s.append("<h2>Figures</h2>")
        s.append(figureTable())
        if !epochs.isEmpty { s.append("<h2>Epochs</h2>"); s.append(epochTable()) }
        s.append("<h2>Provenance</h2>")
        s.append(provenanceTable())
        s.append("<h2>Events</h2>")
        if events.isEmpty {
            s.append("<p class=\"muted\">No gaps, retries, reconnects or warnings were recorded.</p>")
        } else {
            s.append("<table><tr><th>time (UTC)</th><th>kind</th><th>message</th></tr>")
            for ev in events {
                s.append("<tr><td>\(e(ev.time))</td><td\(["warning", "gap", "error"].contains(ev.kind) ? " class=\"warn\"" : "")>\(e(ev.kind))</td><td>\(e(ev.message))</td></tr>")
            }
            s.append("</table>")
        }
        s.append("<p class=\"muted\">Uncertainties are expanded uncertainties, k = 2 (GUM). Energies are calibrated and attributed to phases by the board's marker lines; gaps are bounded, never filled in. See docs/energy-accounting.md.</p>")
        s.append("</body>\n</html>\n")
        return s.joined(separator: "\n")
    }

    func cards() -> String {
        let e = SVGPlot.escape
        var cards: [(String, String)] = []
        if let a = figure("accuracy.test") { cards.append((SignificantDigits.plain(a.value * 100, digits: 3) + " %", "test accuracy")) }
        if let t = figure("energy.training") {
            cards.append((ReportNumber.figure(t.value, unit: "J") + (t.expandedUncertainty.map { " ± " + ReportNumber.figure($0, unit: "J", digits: 2) } ?? ""), "training energy (k = 2)"))
        }
        if let b = figure("bits.learned") { cards.append((ReportNumber.figure(b.value, unit: "bit"), "bits learned")) }
        if let p = figure("perbit.training") {
            cards.append((ReportNumber.figure(p.value, unit: "J/bit", digits: 3), "training energy per bit learned"))
            if let r = p.landauerRatio { cards.append((ReportNumber.ratio(r) + " × k_B·T·ln 2", "multiple of Landauer's bound")) }
        }
        guard !cards.isEmpty else { return "" }
        return "<div class=\"cards\">" + cards.map { "<div class=\"card\"><div class=\"v\">\(e($0.0))</div><div class=\"l\">\(e($0.1))</div></div>" }.joined() + "</div>"
    }

    func legend() -> String {
        "<p class=\"legend\">" + Self.phaseOrder.map { "<span><i style=\"background:\(Self.phaseColours[$0]!)\"></i>\($0)</span>" }.joined() + "<span><i style=\"background:#222\"></i>mean power</span></p>"
    }

    func powerPlot(_ v: PowerView) -> String {
        var p = SVGPlot(height: 280)
        let t0 = v.buckets.first?.start ?? 0, t1 = v.buckets.last?.end ?? 1
        let x = SVGPlot.Linear(domain: t0...max(t1, t0 + 1e-9), range: (p.left, p.left + p.plotWidth))
        let yDomain = SVGPlot.padded(v.buckets.flatMap { [$0.minimumWatts, $0.maximumWatts] }, floorAtZero: true)
        let y = SVGPlot.Linear(domain: yDomain, range: (p.top + p.plotHeight, p.top))
        for span in v.phases {
            p.rect(x: x(span.start), y: p.top, w: x(span.end) - x(span.start), h: p.plotHeight, fill: Self.phaseColours[span.phase] ?? "#ccc", opacity: 0.22,
                   title: "\(span.phase) \(SignificantDigits.format(span.start, digits: 5)) s – \(SignificantDigits.format(span.end, digits: 5)) s")
        }
        for g in v.gaps {
            p.rect(x: x(g.start), y: p.top, w: x(g.end) - x(g.start), h: p.plotHeight, fill: "#000", opacity: 0.08, title: "gap: no samples")
        }
        // min–max band, mean line.
        let upper = v.buckets.flatMap { [(x($0.start), y($0.maximumWatts)), (x($0.end), y($0.maximumWatts))] }
        let lower = v.buckets.reversed().flatMap { [(x($0.end), y($0.minimumWatts)), (x($0.start), y($0.minimumWatts))] }
        p.polygon(upper + lower, fill: "#222", opacity: 0.18)
        p.polyline(v.buckets.map { (x(($0.start + $0.end) / 2), y($0.meanWatts)) }, stroke: "#222", width: 1.2)
        p.axes(x: x, xLabel: "time since the trace began (s)", xFormat: { SignificantDigits.format($0, digits: 4) },
               yTicks: y.domain.upperBound > 0 ? SVGPlot.Linear(domain: yDomain, range: y.range).ticks(5).map { (y($0), ReportNumber.si($0, unit: "W", digits: 3)) } : [],
               yLabel: "supply power")
        p.text("Power, \(v.title): mean per bucket, band from minimum to maximum, phases shaded", x: p.left, y: 16, size: 13)
        return p.svg(title: "Power trace, \(v.title)")
    }

    func energyPlot() -> String {
        var p = SVGPlot(height: 300)
        let epochsSeen = Array(Set(energies.map(\.epoch))).sorted()
        var totals: [Int: Double] = [:]
        for r in energies where Self.phaseOrder.contains(r.phase) { totals[r.epoch, default: 0] += r.joules }
        let maxTotal = totals.values.max() ?? 1
        let band = p.plotWidth / Double(max(epochsSeen.count, 1))
        let y = SVGPlot.Linear(domain: 0...(maxTotal * 1.08), range: (p.top + p.plotHeight, p.top))
        for (k, epoch) in epochsSeen.enumerated() {
            var base = 0.0
            let x0 = p.left + band * Double(k) + band * 0.15
            for phase in Self.phaseOrder {
                guard let r = energies.first(where: { $0.epoch == epoch && $0.phase == phase }) else { continue }
                p.rect(x: x0, y: y(base + r.joules), w: band * 0.7, h: y(base) - y(base + r.joules), fill: Self.phaseColours[phase]!,
                       title: "epoch \(epoch + 1), \(phase): \(ReportNumber.figure(r.joules, unit: "J")) ± \(ReportNumber.figure(r.expandedUncertaintyJoules, unit: "J", digits: 2)) (k = 2)")
                base += r.joules
            }
            p.text("\(epoch + 1)", x: x0 + band * 0.35, y: p.top + p.plotHeight + 18, anchor: "middle", size: 11)
        }
        p.line(p.left, p.top + p.plotHeight, p.left + p.plotWidth, p.top + p.plotHeight, stroke: "#444")
        p.line(p.left, p.top, p.left, p.top + p.plotHeight, stroke: "#444")
        for t in y.domain.upperBound > 0 ? SVGPlot.Linear(domain: y.domain, range: y.range).ticks(5) : [] {
            p.line(p.left - 5, y(t), p.left, y(t), stroke: "#444")
            p.text(ReportNumber.si(t, unit: "J", digits: 3), x: p.left - 8, y: y(t) + 4, anchor: "end", size: 11)
        }
        p.text("epoch", x: p.left + p.plotWidth / 2, y: p.height - 8, anchor: "middle")
        p.text("energy", x: 16, y: p.top + p.plotHeight / 2, anchor: "middle", rotate: true)
        p.text("Calibrated energy of each phase in each epoch (stacked)", x: p.left, y: 16, size: 13)
        return p.svg(title: "Energy per phase per epoch")
    }

    func accuracyPlot() -> String {
        var p = SVGPlot(height: 280)
        var cumulative = 0.0
        var points: [(energy: Double, accuracy: Double, epoch: Int)] = []
        for m in epochs {
            cumulative += energies.filter { $0.epoch == m.epoch && Self.phaseOrder.contains($0.phase) }.reduce(0) { $0 + $1.joules }
            points.append((cumulative, m.testAccuracy, m.epoch))
        }
        let metered = cumulative > 0
        let xs = metered ? points.map(\.energy) : points.map { Double($0.epoch + 1) }
        let x = SVGPlot.Linear(domain: SVGPlot.padded(xs + [0], floorAtZero: true), range: (p.left, p.left + p.plotWidth))
        let y = SVGPlot.Linear(domain: 0...1, range: (p.top + p.plotHeight, p.top))
        p.polyline(zip(xs, points).map { (x($0), y($1.accuracy)) }, stroke: "#4e79a7", width: 2)
        for (xv, pt) in zip(xs, points) {
            p.circle(x(xv), y(pt.accuracy), r: 3.5, fill: "#4e79a7",
                     title: "epoch \(pt.epoch + 1): test accuracy \(SignificantDigits.plain(pt.accuracy * 100, digits: 3)) %" + (metered ? " after \(ReportNumber.figure(pt.energy, unit: "J"))" : ""))
        }
        p.axes(x: x, xLabel: metered ? "cumulative energy of free, nudged, update and readout phases (J)" : "epoch (the run was not metered)",
               xFormat: { metered ? ReportNumber.si($0, unit: "J", digits: 3) : SignificantDigits.format($0, digits: 3) },
               yTicks: stride(from: 0.0, through: 1.0, by: 0.2).map { (y($0), "\(Int(($0 * 100).rounded())) %") }, yLabel: "test accuracy")
        p.text("Test accuracy after each epoch against the energy spent so far", x: p.left, y: 16, size: 13)
        return p.svg(title: "Accuracy against cumulative energy")
    }

    func ladderPlot(_ ladder: [FigureRecord]) -> String {
        let rows = ladder.sorted { $0.value > $1.value }
        var p = SVGPlot(height: Double(96 + rows.count * 30))
        let lo = (rows.map { $0.value - ($0.expandedUncertainty ?? 0) }.filter { $0 > 0 }.min() ?? 1e-21) / 3
        let hi = (rows.map { $0.value + ($0.expandedUncertainty ?? 0) }.max() ?? 1) * 3
        // Columns: names, the logarithmic axis, the values.
        let nameX = 12.0, axisFrom = 290.0, axisTo = p.width - 230, valueX = p.width - 220
        let x = SVGPlot.Log(domain: lo...hi, range: (axisFrom, axisTo))
        let top = 52.0
        let bottomY = top + Double(rows.count) * 30
        let decades = x.decades
        let every = max(1, Int((Double(decades.count) / 7).rounded(.up)))
        for (k, d) in decades.enumerated() {
            p.line(x(d), top - 14, x(d), bottomY - 10, stroke: k % every == 0 ? "#d0d0d0" : "#eeeeee")
            if k % every == 0 { p.text("1e\(Int(log10(d).rounded()))", x: x(d), y: bottomY + 6, anchor: "middle", size: 10) }
        }
        p.text("J/bit", x: axisTo + 4, y: bottomY + 6, size: 10, fill: "#444")
        for (k, f) in rows.enumerated() {
            let yy = top + Double(k) * 30
            let colour: String
            switch f.kind {
            case .measured: colour = "#e15759"
            case .bound: colour = "#4e79a7"
            case .hypothesis: colour = "#76b7b2"
            case .baseline: colour = "#9c755f"
            default: colour = "#666"
            }
            p.line(axisFrom, yy, axisTo, yy, stroke: "#f3f3f3")
            p.text(f.name, x: nameX, y: yy + 4, size: 12)
            if let u = f.expandedUncertainty, u > 0 {
                p.line(x(max(f.value - u, lo)), yy, x(f.value + u), yy, stroke: colour, width: 2)
            }
            p.circle(x(f.value), yy, r: 5, fill: colour, title: "\(f.name): \(ReportNumber.figure(f.value, unit: f.unit))")
            p.text(ReportNumber.figure(f.value, unit: "J/bit", digits: 3) + (f.landauerRatio.map { " = \(ReportNumber.ratio($0)) kT·ln2" } ?? ""),
                   x: valueX, y: yy + 4, size: 11, fill: "#333")
        }
        p.text("red: measured (k = 2 bars), blue: bounds, brown: digital baseline; logarithmic axis", x: nameX, y: p.height - 10, size: 11, fill: "#444")
        p.text("Joules per bit beside k_B·T·ln 2, the analog training and inference bounds and the digital baseline", x: nameX, y: 20, size: 13)
        return p.svg(title: "Joules per bit on a logarithmic ladder")
    }

    func figureTable() -> String {
        let e = SVGPlot.escape
        var s = ["<table><tr><th>figure</th><th>value</th><th>U (k = 2)</th><th>× k_B·T·ln 2</th><th>kind</th><th>definition</th></tr>"]
        for f in figures {
            s.append("<tr><td>\(e(f.name))</td><td class=\"num\">\(e(ReportNumber.figure(f.value, unit: f.unit, digits: 5)))</td><td class=\"num\">\(e(f.expandedUncertainty.map { ReportNumber.figure($0, unit: f.unit, digits: 2) } ?? "—"))</td><td class=\"num\">\(e(f.landauerRatio.map(ReportNumber.ratio) ?? "—"))</td><td>\(e(f.kind.rawValue))</td><td>\(e(f.definition))\(f.source.map { " <span class=\"muted\">[\(e($0))]</span>" } ?? "")</td></tr>")
        }
        s.append("</table>")
        return s.joined(separator: "\n")
    }

    func epochTable() -> String {
        var s = ["<table><tr><th>epoch</th><th>train accuracy</th><th>test accuracy</th><th>train cost</th><th>samples/s</th>" + Self.phaseOrder.map { "<th>\($0) energy</th>" }.joined() + "</tr>"]
        for m in epochs {
            let cells = Self.phaseOrder.map { phase in
                energies.first { $0.epoch == m.epoch && $0.phase == phase }.map { "<td class=\"num\">\(SVGPlot.escape(ReportNumber.figure($0.joules, unit: "J")))</td>" } ?? "<td class=\"num\">—</td>"
            }.joined()
            s.append("<tr><td>\(m.epoch + 1)</td><td class=\"num\">\(SignificantDigits.plain(m.trainAccuracy * 100, digits: 3)) %</td><td class=\"num\">\(SignificantDigits.plain(m.testAccuracy * 100, digits: 3)) %</td><td class=\"num\">\(SignificantDigits.format(m.trainCost, digits: 4))</td><td class=\"num\">\(Int(m.samplesPerSecond))</td>\(cells)</tr>")
        }
        s.append("</table>")
        return s.joined(separator: "\n")
    }

    func provenanceTable() -> String {
        let e = SVGPlot.escape
        var rows: [(String, String)] = [
            ("toolkit", "landauer \(run.toolkitVersion)" + (run.gitCommit.map { " (\($0))" } ?? "")),
            ("host", "\(run.host), \(run.operatingSystem)"),
            ("process", "\(run.processID)"),
            ("seed", run.seed.map(String.init) ?? "—"),
        ]
        for i in instruments {
            rows.append((i.role, [i.vendor, i.model, i.serial.map { "serial \($0)" }, i.firmware.map { "firmware \($0)" }, i.usbSerial.map { "USB serial \($0)" }, i.endpoint.map { "at \($0)" }].compactMap { $0 }.joined(separator: ", ")))
        }
        rows.append(("calibrations", calibrationIds.isEmpty ? "none (the meter's own readings)" : calibrationIds.joined(separator: ", ")))
        rows.append(("trace", traceSamples > 0 ? "\(traceSamples) samples at \(ReportNumber.si(1 / samplePeriodSeconds, unit: "Hz", digits: 3))" + (supplyVolts.map { ", supply \(SignificantDigits.format($0, digits: 4)) V" } ?? "") : "none"))
        rows.append(("configuration", run.configuration))
        return "<table>" + rows.map { "<tr><th>\(e($0.0))</th><td>\(e($0.1))</td></tr>" }.joined() + "</table>"
    }
}
