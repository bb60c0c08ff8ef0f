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

    /// A horizontal reference line (a forming plot's compliance).
    public struct Reference: Codable, Sendable {
        public var label: String
        public var y: Double
    }

    /// One plot of curves.
    public struct Plot: Codable, Sendable {
        public var title: String
        public var xLabel: String
        public var yLabel: String
        /// Logarithmic x axis (retention).
        public var logX: Bool
        public var curves: [Curve]
        /// Logarithmic y axis of magnitudes (forming, |I| against V); nil: linear.
        public var logY: Bool?
        /// The y values' unit (nil: siemens).
        public var yUnit: String?
        /// The x values' unit, for tick labels (nil: plain numbers).
        public var xUnit: String?
        /// Dots at every point as well as lines (nil: lines only, dots on a log x axis).
        public var dots: Bool?
        public var references: [Reference]?

        init(
            title: String, xLabel: String, yLabel: String, logX: Bool, curves: [Curve], logY: Bool? = nil, yUnit: String? = nil, xUnit: String? = nil,
            dots: Bool? = nil, references: [Reference]? = nil
        ) {
            self.title = title
            self.xLabel = xLabel
            self.yLabel = yLabel
            self.logX = logX
            self.curves = curves
            self.logY = logY
            self.yUnit = yUnit
            self.xUnit = xUnit
            self.dots = dots
            self.references = references
        }
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
            let amplitudes = Set(points.compactMap { $0.train >= 0 && $0.polarity != 0 ? $0.voltage?.value : nil }).sorted()
            // The soft-bounds fit's trains: the run's trains at its amplitude, renumbered.
            let fittedTrains = CharacterizationFitting.softBoundsTrains(points, amplitude: configuration.options.pulses.amplitude)
            var curves: [Curve] = [], compactCurves: [Curve] = []
            for d in shown {
                let series = byDevice[d]!.filter { $0.train >= 0 && $0.polarity != 0 }.sorted { ($0.train, $0.step) < ($1.train, $1.step) }
                let k = max(1, (series.first?.pulses ?? 1) / max(series.first?.step ?? 1, 1))
                let steps = series.filter { $0.train == 0 }.count
                let x = series.map { Double($0.train * steps * k + $0.pulses) }
                let measured = Curve(label: "\(d)", x: x, y: series.map(\.conductance.value), model: false)
                curves.append(measured)
                if let fit = profile?.fit.devices.first(where: { $0.device == d }) {
                    var mx: [Double] = [], my: [Double] = []
                    for (p, px) in zip(series, x) {
                        guard let t = fittedTrains.map({ $0[p.train] }) ?? p.train else { continue }
                        mx.append(px)
                        my.append(fit.conductance(from: fit.starts[min(t, fit.starts.count - 1)], pulses: p.pulses, polarity: p.polarity))
                    }
                    curves.append(Curve(label: "\(d), fitted soft bounds", x: mx, y: my, model: true))
                }
                if let compact = profile?.compact {
                    compactCurves.append(measured)
                    // Each train drawn from its first reading: the model moves the state from there.
                    var my: [Double] = []
                    var first: CharacterizationPoint?
                    for p in series {
                        if first?.train != p.train { first = p }
                        let f = first!
                        my.append(compact.conductance(
                            from: f.conductance, pulses: p.pulses - f.pulses, polarity: p.polarity, amplitude: p.voltage ?? configuration.options.pulses.amplitude).value)
                    }
                    compactCurves.append(Curve(label: "\(d), fitted VTEAM", x: x, y: my, model: true))
                }
            }
            let levels = amplitudes.count > 1 ? ", at \(amplitudes.map { SignificantDigits.format($0, digits: 3) }.joined(separator: ", ")) V in turn" : ""
            plots.append(Plot(
                title: "Pulse response of \(shown.count) of \(byDevice.count) devices"
                    + (fitName.map { ", with the fitted soft-bounds model at \(configuration.options.pulses.amplitude.formatted()) (profile \($0))" } ?? " (not fitted yet: landauer fit RUN --name NAME)"),
                xLabel: "pulses (potentiating and depressing trains in turn\(levels))", yLabel: "conductance", logX: false, curves: curves))
            if !compactCurves.isEmpty, let name = fitName {
                plots.append(Plot(
                    title: "Pulse response with the fitted VTEAM compact model (profile \(name)), each train from its first reading",
                    xLabel: "pulses (potentiating and depressing trains in turn\(levels))", yLabel: "conductance", logX: false, curves: compactCurves))
            }
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
        case .form:
            let compliance = try store.figures(of: run.id).first { $0.key == "sweep.compliance" }?.value
            var curves: [Curve] = []
            for d in shown {
                let s = byDevice[d]!.filter { $0.current != nil }.sorted { $0.step < $1.step }
                curves.append(Curve(label: "\(d)", x: s.map { $0.voltage?.value ?? 0 }, y: s.map { abs($0.current!.value) }, model: false))
            }
            plots.append(Plot(
                title: "Forming of \(shown.count) of \(byDevice.count) devices: current against voltage, the compliance dashed",
                xLabel: "voltage", yLabel: "|current| (logarithmic)", logX: false, curves: curves, logY: true, yUnit: "A", xUnit: "V", dots: true,
                references: compliance.map { [Reference(label: "compliance \(ReportNumber.si($0, unit: "A", digits: 3))", y: $0)] }))
        case .iv:
            var linear: [Curve] = [], magnitude: [Curve] = []
            for d in shown.prefix(3) {
                let byLoop = Dictionary(grouping: byDevice[d]!.filter { $0.current != nil && $0.voltage != nil }, by: \.train)
                for loop in byLoop.keys.sorted() {
                    let s = byLoop[loop]!.sorted { $0.step < $1.step }
                    let label = "\(d), loop \(loop + 1)"
                    linear.append(Curve(label: label, x: s.map { $0.voltage!.value }, y: s.map { $0.current!.value }, model: false))
                    let nonzero = s.filter { $0.voltage!.value != 0 }
                    magnitude.append(Curve(label: label, x: nonzero.map { $0.voltage!.value }, y: nonzero.map { abs($0.current!.value) }, model: false))
                }
            }
            let which = shown.count > 3 ? "3 of \(byDevice.count) devices" : "\(min(shown.count, 3)) device\(shown.count == 1 ? "" : "s")"
            plots.append(Plot(
                title: "I-V loops of \(which): 0 → +max → 0 → −reverse → 0, pinched at the origin", xLabel: "voltage", yLabel: "current",
                logX: false, curves: linear, yUnit: "A", xUnit: "V", dots: true))
            plots.append(Plot(
                title: "The same loops as |current| on a logarithmic axis: SET on the positive branch, RESET on the negative",
                xLabel: "voltage", yLabel: "|current| (logarithmic)", logX: false, curves: magnitude, logY: true, yUnit: "A", xUnit: "V", dots: true))
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
        let logY = plot.logY ?? false
        let yUnit = plot.yUnit ?? "S"
        let xs = plot.curves.flatMap(\.x).filter { !plot.logX || $0 > 0 }
        let ys = plot.curves.flatMap(\.y).filter { !logY || $0 > 0 } + (plot.references ?? []).map(\.y)
        let bottom = p.top + p.plotHeight, right = p.left + p.plotWidth
        // The y scale and its ticks.
        let y: (Double) -> Double
        var yTicks: [(Double, String)]
        if logY {
            let lo = ys.min() ?? 1e-9, hi = max(ys.max() ?? 1, lo * 10)
            let scale = SVGPlot.Log(domain: (lo / 2)...(hi * 2), range: (bottom, p.top))
            y = { scale($0) }
            yTicks = scale.decades.map { (scale($0), ReportNumber.si($0, unit: yUnit, digits: 2)) }
        } else {
            let domain = SVGPlot.padded(ys)
            let scale = SVGPlot.Linear(domain: domain, range: (bottom, p.top))
            y = { scale($0) }
            yTicks = scale.ticks(5).map { (scale($0), ReportNumber.si($0, unit: yUnit, digits: 3)) }
        }
        // The x scale, its ticks and the axes.
        let x: (Double) -> Double
        if plot.logX {
            let lo = xs.min() ?? 1e-3, hi = max(xs.max() ?? 1, lo * 10)
            let scale = SVGPlot.Log(domain: (lo / 1.5)...(hi * 1.5), range: (p.left, right))
            x = { scale($0) }
            for d in scale.decades {
                p.line(scale(d), p.top, scale(d), bottom, stroke: "#e4e4e4")
                p.text(ReportNumber.si(d, unit: "s", digits: 2), x: scale(d), y: bottom + 18, anchor: "middle", size: 11)
            }
            p.line(p.left, bottom, right, bottom, stroke: "#444")
            p.line(p.left, p.top, p.left, bottom, stroke: "#444")
            for (py, label) in yTicks {
                p.line(p.left - 5, py, p.left, py, stroke: "#444")
                p.text(label, x: p.left - 8, y: py + 4, anchor: "end", size: 11)
            }
            p.text(plot.xLabel, x: p.left + p.plotWidth / 2, y: p.height - 8, anchor: "middle")
            p.text(plot.yLabel, x: 16, y: p.top + p.plotHeight / 2, anchor: "middle", rotate: true)
        } else {
            let scale = SVGPlot.Linear(domain: SVGPlot.padded(xs), range: (p.left, right))
            x = { scale($0) }
            let xFormat: (Double) -> String = plot.xUnit.map { unit in { ReportNumber.si($0, unit: unit, digits: 3) } } ?? { SignificantDigits.format($0, digits: 4) }
            p.axes(x: scale, xLabel: plot.xLabel, xFormat: xFormat, yTicks: yTicks, yLabel: plot.yLabel)
        }
        for r in plot.references ?? [] where !logY || r.y > 0 {
            p.line(p.left, y(r.y), right, y(r.y), stroke: "#d00000", width: 1.2, dash: "6 4")
            p.text(r.label, x: right - 4, y: y(r.y) - 5, anchor: "end", size: 11, fill: "#d00000")
        }
        let dots = plot.dots ?? plot.logX
        var colour = 0
        for c in plot.curves {
            let pts = zip(c.x, c.y).filter { (!plot.logX || $0.0 > 0) && (!logY || $0.1 > 0) }.map { (x($0.0), y($0.1)) }
            if c.model {
                p.polyline(pts, stroke: "#222", width: 1.2)
                continue
            }
            let stroke = colours[colour % colours.count]
            p.polyline(pts, stroke: stroke, width: dots ? 1.5 : 1)
            if dots { for (a, b) in pts { p.circle(a, b, r: 2.5, fill: stroke) } }
            colour += 1
        }
        if plot.curves.count > 1 && plot.curves.count <= colours.count && plot.curves.allSatisfy({ !$0.model }) {
            // A legend, top left inside the plot.
            for (k, c) in plot.curves.enumerated() {
                let ly = p.top + 14 + Double(k) * 15
                p.line(p.left + 10, ly - 4, p.left + 26, ly - 4, stroke: colours[k % colours.count], width: 2)
                p.text(c.label, x: p.left + 30, y: ly, size: 11)
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
