import Foundation
import LandauerFirmware
import LandauerStore

/// What the report of a characterisation run plots, read from the store: a few devices' curves
/// (with the fitted model, once the run has been fitted), retention against log time, the array
/// heat map with the dead cells marked.
public struct CharacterizationView: Codable, Sendable {
    /// One curve: a label and its (x, y) points.
    public struct Curve: Codable, Sendable {
        public var label: String
        public var x: [Double]
        public var y: [Double]
        /// The fitted model's curve rather than a measurement.
        public var model: Bool
    }

    /// One plot of curves.
    public struct Plot: Codable, Sendable {
        public var title: String
        public var xLabel: String
        public var yLabel: String
        /// Logarithmic x axis (retention).
        public var logX: Bool
        public var curves: [Curve]
    }

    /// One device of the heat map.
    public struct Cell: Codable, Sendable {
        public var tile: Int, row: Int, column: Int, side: Int
        public var siemens: Double
        public var deviceClass: String
    }

    public var procedure: String
    public var plots: [Plot]
    /// Tile geometries (rows, columns) and the mapped devices (map runs only).
    public var tiles: [[Int]]
    public var cells: [Cell]
    /// The profile fitted to the run, if any.
    public var fitName: String?

    /// Devices whose curves are drawn.
    static let devicesShown = 6

    /// Reads the view of characterisation run `run` (nil for another kind of run).
    static func load(_ run: RunRecord, from store: RunStore) throws -> CharacterizationView? {
        guard run.kind == .characterize, let configuration = CharacterizationRun.configuration(fromJSON: run.configuration) else { return nil }
        let procedure = configuration.options.procedure
        let points = try store.characterizationPoints(of: run.id).compactMap(\.point)
        let byDevice = Dictionary(grouping: points, by: \.device)
        let shown = Array(byDevice.keys.sorted().prefix(devicesShown))
        var plots: [Plot] = []
        var fitName: String?
        var cells: [Cell] = []
        switch procedure {
        case .pulse:
            let fits = try store.characterizationFits(of: run.id)
            let profile = fits.first.flatMap { try? JSONDecoder().decode(DeviceProfile.self, from: $0.profile) }
            fitName = profile?.name
            var curves: [Curve] = []
            for d in shown {
                let series = byDevice[d]!.filter { $0.train >= 0 && $0.polarity != 0 }.sorted { ($0.train, $0.step) < ($1.train, $1.step) }
                let k = max(1, (series.first?.pulses ?? 1) / max(series.first?.step ?? 1, 1))
                let steps = series.filter { $0.train == 0 }.count
                let x = series.map { Double($0.train * steps * k + $0.pulses) }
                curves.append(Curve(label: "\(d)", x: x, y: series.map(\.conductance.value), model: false))
                if let fit = profile?.fit.devices.first(where: { $0.device == d }) {
                    var my: [Double] = []
                    for p in series { my.append(fit.conductance(from: fit.starts[min(p.train, fit.starts.count - 1)], pulses: p.pulses, polarity: p.polarity)) }
                    curves.append(Curve(label: "\(d), fitted soft bounds", x: x, y: my, model: true))
                }
            }
            plots.append(Plot(
                title: "Pulse response of \(shown.count) of \(byDevice.count) devices" + (fitName.map { ", with the fitted model (profile \($0))" } ?? " (not fitted yet: landauer fit RUN --name NAME)"),
                xLabel: "pulses (potentiating and depressing trains in turn)", yLabel: "conductance", logX: false, curves: curves))
        case .retention:
            var curves: [Curve] = []
            for d in shown {
                let s = byDevice[d]!.filter { $0.boardTime.value > 0 }.sorted { $0.step < $1.step }
                curves.append(Curve(label: "\(d)", x: s.map(\.boardTime.value), y: s.map(\.conductance.value), model: false))
            }
            plots.append(Plot(title: "Retention: conductance against board time after the last pulse", xLabel: "time (s, logarithmic)", yLabel: "conductance", logX: true, curves: curves))
        case .endurance, .disturb:
            var curves: [Curve] = []
            for d in shown {
                let s = byDevice[d]!.sorted { ($0.train, $0.step) < ($1.train, $1.step) }
                let x = procedure == .endurance ? s.map { Double($0.train) / 2 } : s.map { Double($0.step) }
                curves.append(Curve(label: "\(d)", x: x, y: s.map(\.conductance.value), model: false))
            }
            plots.append(Plot(
                title: procedure == .endurance ? "Endurance: set and reset readings, cycle by cycle" : "Read disturb: conductance read after read",
                xLabel: procedure == .endurance ? "cycle (set at n, reset at n + ½)" : "read", yLabel: "conductance", logX: false, curves: curves))
        case .map:
            let classes = try store.deviceClasses(of: run.id)
            cells = classes.map { Cell(tile: $0.tile, row: $0.row, column: $0.column, side: $0.side, siemens: $0.siemens, deviceClass: $0.deviceClass) }
        }
        return CharacterizationView(procedure: procedure.rawValue, plots: plots, tiles: configuration.tiles, cells: cells, fitName: fitName)
    }

    // MARK: HTML

    static let colours = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2"]

    /// The plots as self-contained SVG.
    func html() -> String {
        var s: [String] = []
        for p in plots { s.append(Self.curvePlot(p)) }
        if !cells.isEmpty {
            s.append(heatMapLegend())
            for t in tiles.indices where cells.contains(where: { $0.tile == t }) { s.append(heatMap(tile: t)) }
        }
        return s.joined(separator: "\n")
    }

    static func curvePlot(_ plot: Plot) -> String {
        var p = SVGPlot(height: 320)
        let xs = plot.curves.flatMap(\.x).filter { !plot.logX || $0 > 0 }
        let ys = plot.curves.flatMap(\.y)
        let yDomain = SVGPlot.padded(ys)
        let y = SVGPlot.Linear(domain: yDomain, range: (p.top + p.plotHeight, p.top))
        let yTicks = SVGPlot.Linear(domain: yDomain, range: y.range).ticks(5).map { (y($0), ReportNumber.si($0, unit: "S", digits: 3)) }
        var colour = 0
        if plot.logX {
            let lo = xs.min() ?? 1e-3, hi = max(xs.max() ?? 1, lo * 10)
            let x = SVGPlot.Log(domain: (lo / 1.5)...(hi * 1.5), range: (p.left, p.left + p.plotWidth))
            for d in x.decades {
                p.line(x(d), p.top, x(d), p.top + p.plotHeight, stroke: "#e4e4e4")
                p.text(ReportNumber.si(d, unit: "s", digits: 2), x: x(d), y: p.top + p.plotHeight + 18, anchor: "middle", size: 11)
            }
            p.line(p.left, p.top + p.plotHeight, p.left + p.plotWidth, p.top + p.plotHeight, stroke: "#444")
            p.line(p.left, p.top, p.left, p.top + p.plotHeight, stroke: "#444")
            for (py, label) in yTicks {
                p.line(p.left - 5, py, p.left, py, stroke: "#444")
                p.text(label, x: p.left - 8, y: py + 4, anchor: "end", size: 11)
            }
            p.text(plot.xLabel, x: p.left + p.plotWidth / 2, y: p.height - 8, anchor: "middle")
            p.text(plot.yLabel, x: 16, y: p.top + p.plotHeight / 2, anchor: "middle", rotate: true)
            for c in plot.curves {
                let pts = zip(c.x, c.y).filter { $0.0 > 0 }.map { (x($0.0), y($0.1)) }
                p.polyline(pts, stroke: colours[colour % colours.count], width: 1.5)
                for (a, b) in pts { p.circle(a, b, r: 2.5, fill: colours[colour % colours.count]) }
                colour += 1
            }
        } else {
            let x = SVGPlot.Linear(domain: SVGPlot.padded(xs), range: (p.left, p.left + p.plotWidth))
            p.axes(x: x, xLabel: plot.xLabel, xFormat: { SignificantDigits.format($0, digits: 4) }, yTicks: yTicks, yLabel: plot.yLabel)
            for c in plot.curves {
                let pts = zip(c.x, c.y).map { (x($0.0), y($0.1)) }
                if c.model {
                    p.polyline(pts, stroke: "#222", width: 1.2)
                } else {
                    p.polyline(pts, stroke: colours[colour % colours.count], width: 1)
                    colour += 1
                }
            }
        }
        p.text(plot.title, x: p.left, y: 16, size: 13)
        return p.svg(title: plot.title)
    }

    /// Colour of a conductance fraction in [0, 1]: dark blue through teal to yellow.
    static func heat(_ f: Double) -> String {
        let stops: [(Double, Double, Double)] = [(0.27, 0.00, 0.33), (0.13, 0.57, 0.55), (0.99, 0.91, 0.15)]
        let t = min(max(f, 0), 1) * 2
        let k = min(Int(t), 1)
        let u = t - Double(k)
        let a = stops[k], b = stops[k + 1]
        func c(_ x: Double, _ y: Double) -> Int { Int(((x + (y - x) * u) * 255).rounded()) }
        return String(format: "#%02x%02x%02x", c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    }

    func heatMapLegend() -> String {
        let dead = cells.filter { $0.deviceClass != "healthy" }
        var counts: [String: Int] = [:]
        for c in dead { counts[c.deviceClass, default: 0] += 1 }
        let text = counts.isEmpty ? "every device healthy" : counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return "<p class=\"legend\">Conductance before any pulse, dark (low) to yellow (high); dead cells crossed in red: \(SVGPlot.escape(text)) of \(cells.count) devices.</p>"
    }

    func heatMap(tile t: Int) -> String {
        let rows = tiles[t][0], columns = tiles[t][1]
        let mine = cells.filter { $0.tile == t }
        let g = mine.map(\.siemens)
        let lo = g.min() ?? 0, hi = max(g.max() ?? 1, lo + 1e-12)
        // G⁺ block, a gap, G⁻ block.
        let gap = 2.0
        let cell = max(2.0, min(12, (820 - 74) / Double(2 * columns + Int(gap))))
        let width = 74 + cell * (Double(2 * columns) + gap) + 18
        var p = SVGPlot(width: width, height: 28 + cell * Double(rows) + 46)
        for c in mine {
            let x0 = 74 + cell * (Double(c.column) + (c.side == 1 ? Double(columns) + gap : 0))
            let y0 = 28 + cell * Double(c.row)
            let title = "tile \(t) row \(c.row) column \(c.column) \(c.side == 0 ? "G+" : "G-"): \(ReportNumber.si(c.siemens, unit: "S", digits: 3)), \(c.deviceClass)"
            p.rect(x: x0, y: y0, w: cell, h: cell, fill: Self.heat((c.siemens - lo) / (hi - lo)), title: title)
            if c.deviceClass != "healthy" {
                p.line(x0, y0, x0 + cell, y0 + cell, stroke: "#d00000", width: max(1, cell / 5))
                p.line(x0 + cell, y0, x0, y0 + cell, stroke: "#d00000", width: max(1, cell / 5))
            }
        }
        p.text("G⁺", x: 74 + cell * Double(columns) / 2, y: 28 + cell * Double(rows) + 16, anchor: "middle", size: 11)
        p.text("G⁻", x: 74 + cell * (Double(columns) * 1.5 + gap), y: 28 + cell * Double(rows) + 16, anchor: "middle", size: 11)
        p.text("rows", x: 16, y: 28 + cell * Double(rows) / 2, anchor: "middle", size: 11, rotate: true)
        p.text("Tile \(t): \(rows) × \(columns) pairs, \(ReportNumber.si(lo, unit: "S", digits: 3)) to \(ReportNumber.si(hi, unit: "S", digits: 3)), dead cells crossed", x: 74, y: 16, size: 13)
        return p.svg(title: "Conductance map of tile \(t) with the dead cells marked")
    }
}
