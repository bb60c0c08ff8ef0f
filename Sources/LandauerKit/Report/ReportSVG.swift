import Foundation
import LandauerFirmware

/// Small SVG plots for reports: axes with ticks, linear and base-10 logarithmic scales. Every
/// number is written with a fixed precision so a report is byte-for-byte reproducible.
struct SVGPlot {
    let width: Double
    let height: Double
    let left = 74.0, right = 18.0, top = 28.0, bottom = 46.0
    var body: [String] = []

    init(width: Double = 860, height: Double = 300) {
        self.width = width
        self.height = height
    }

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    static func n(_ x: Double) -> String { String(format: "%.2f", x.isFinite ? x : 0) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A linear scale from `domain` to `range`.
    struct Linear {
        var domain: ClosedRange<Double>
        /// Where the domain's lower and upper bounds land (in either order).
        var range: (Double, Double)
        func callAsFunction(_ x: Double) -> Double {
            let d = domain.upperBound - domain.lowerBound
            let t = d > 0 ? (x - domain.lowerBound) / d : 0.5
            return range.0 + t * (range.1 - range.0)
        }
        /// About `count` round ticks inside the domain.
        func ticks(_ count: Int = 6) -> [Double] {
            let span = domain.upperBound - domain.lowerBound
            guard span > 0, span.isFinite else { return [domain.lowerBound] }
            let raw = span / Double(max(count, 1))
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
            var t = ceil(domain.lowerBound / step) * step
            var out: [Double] = []
            while t <= domain.upperBound + step * 1e-9 {
                out.append(abs(t) < step * 1e-9 ? 0 : t)
                t += step
            }
            return out
        }
    }

    /// A base-10 logarithmic scale.
    struct Log {
        var domain: ClosedRange<Double>
        var range: (Double, Double)
        func callAsFunction(_ x: Double) -> Double {
            let a = log10(domain.lowerBound), b = log10(domain.upperBound)
            let t = b > a ? (log10(max(x, domain.lowerBound)) - a) / (b - a) : 0.5
            return range.0 + t * (range.1 - range.0)
        }
        var decades: [Double] {
            stride(from: floor(log10(domain.lowerBound)), through: ceil(log10(domain.upperBound)), by: 1).map { pow(10, $0) }
                .filter { $0 >= domain.lowerBound * 0.999 && $0 <= domain.upperBound * 1.001 }
        }
    }

    /// A domain with a little room, never empty.
    static func padded(_ values: [Double], floorAtZero: Bool = false) -> ClosedRange<Double> {
        guard var lo = values.min(), var hi = values.max() else { return 0...1 }
        if floorAtZero { lo = min(lo, 0) }
        if hi - lo <= 0 { hi = lo + max(abs(lo) * 0.1, 1e-12); lo -= max(abs(lo) * 0.1, 1e-12) }
        let pad = (hi - lo) * 0.05
        return (floorAtZero && lo >= 0 ? lo : lo - pad)...(hi + pad)
    }

    mutating func add(_ element: String) { body.append(element) }

    mutating func rect(x: Double, y: Double, w: Double, h: Double, fill: String, opacity: Double = 1, title: String? = nil) {
        let t = title.map { "<title>\(Self.escape($0))</title>" } ?? ""
        add("<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(max(w, 0)))\" height=\"\(Self.n(max(h, 0)))\" fill=\"\(fill)\" fill-opacity=\"\(Self.n(opacity))\">\(t)</rect>")
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width w: Double = 1, dash: String? = nil) {
        add("<line x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" y2=\"\(Self.n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(w))\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width w: Double = 1.5) {
        guard !points.isEmpty else { return }
        let p = points.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ")
        add("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(w))\"/>")
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double) {
        guard !points.isEmpty else { return }
        let p = points.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ")
        add("<polygon points=\"\(p)\" fill=\"\(fill)\" fill-opacity=\"\(Self.n(opacity))\" stroke=\"none\"/>")
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, title: String? = nil) {
        let t = title.map { "<title>\(Self.escape($0))</title>" } ?? ""
        add("<circle cx=\"\(Self.n(x))\" cy=\"\(Self.n(y))\" r=\"\(Self.n(r))\" fill=\"\(fill)\">\(t)</circle>")
    }

    mutating func text(_ s: String, x: Double, y: Double, anchor: String = "start", size: Double = 12, fill: String = "#222", rotate: Bool = false) {
        let transform = rotate ? " transform=\"rotate(-90 \(Self.n(x)) \(Self.n(y)))\"" : ""
        add("<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" text-anchor=\"\(anchor)\" font-size=\"\(Self.n(size))\" fill=\"\(fill)\"\(transform)>\(Self.escape(s))</text>")
    }

    /// Axes with ticks and labels.
    mutating func axes(x: Linear, xLabel: String, xFormat: (Double) -> String, yTicks: [(Double, String)], yLabel: String) {
        let x0 = left, y0 = top + plotHeight
        line(x0, y0, x0 + plotWidth, y0, stroke: "#444")
        line(x0, top, x0, y0, stroke: "#444")
        for t in x.ticks() {
            let px = x(t)
            line(px, y0, px, y0 + 5, stroke: "#444")
            text(xFormat(t), x: px, y: y0 + 18, anchor: "middle", size: 11)
        }
        for (py, label) in yTicks {
            line(x0 - 5, py, x0, py, stroke: "#444")
            line(x0, py, x0 + plotWidth, py, stroke: "#e4e4e4")
            text(label, x: x0 - 8, y: py + 4, anchor: "end", size: 11)
        }
        text(xLabel, x: x0 + plotWidth / 2, y: height - 8, anchor: "middle", size: 12)
        text(yLabel, x: 16, y: top + plotHeight / 2, anchor: "middle", size: 12, rotate: true)
    }

    func svg(title: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.n(width))" height="\(Self.n(height))" viewBox="0 0 \(Self.n(width)) \(Self.n(height))" role="img" aria-label="\(Self.escape(title))">
        <title>\(Self.escape(title))</title>
        <rect x="0" y="0" width="\(Self.n(width))" height="\(Self.n(height))" fill="#ffffff"/>
        \(body.joined(separator: "\n"))
        </svg>
        """
    }
}

/// Numbers for people: significant digits with an SI prefix.
enum ReportNumber {
    static func si(_ value: Double, unit: String, digits: Int = 4) -> String {
        guard value.isFinite else { return "—" }
        if value == 0 { return "0 \(unit)" }
        let prefixes: [(Double, String)] = [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a"), (1e-21, "z"), (1e-24, "y")]
        let magnitude = abs(value)
        let (scale, prefix) = prefixes.first { magnitude >= $0.0 } ?? prefixes[prefixes.count - 1]
        return "\(SignificantDigits.format(value / scale, digits: digits)) \(prefix)\(unit)"
    }

    /// A value with its unit as reports print it.
    static func figure(_ value: Double, unit: String, digits: Int = 4) -> String {
        switch unit {
        case "1": return SignificantDigits.format(value, digits: digits)
        case "bit": return SignificantDigits.format(value, digits: digits) + " bit"
        case "K": return SignificantDigits.format(value, digits: digits) + " K"
        case "J/bit": return si(value, unit: "J", digits: digits) + "/bit"
        default: return si(value, unit: unit, digits: digits)
        }
    }

    static func ratio(_ r: Double) -> String {
        guard r.isFinite, r > 0 else { return "—" }
        if r >= 0.01 && r < 1e4 { return SignificantDigits.format(r, digits: 3) }
        let e = floor(log10(r))
        let m = r / pow(10, e)
        return "\(SignificantDigits.format(m, digits: 3)) × 10^\(Int(e))"
    }
}
