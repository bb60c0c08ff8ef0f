import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerStore

/// Everything a report of one run shows, read from the run store: provenance, epochs, energies,
/// figures, events, and the power trace (the whole run, and a zoom into a few batches) with the
/// phases the marker lines delimit. Encodes as the JSON report.
public struct RunReport: Codable, Sendable {
    /// A stretch of one phase on the marker lines, in seconds from the trace's first sample.
    public struct PhaseSpan: Codable, Sendable, Equatable {
        public var phase: String
        public var start: Double
        public var end: Double
    }

    /// One bucket of a power trace: seconds from the trace's first sample, and power in watts.
    public struct PowerBucket: Codable, Sendable, Equatable {
        public var start: Double
        public var end: Double
        public var minimumWatts: Double
        public var maximumWatts: Double
        public var meanWatts: Double
    }

    /// A view of the power trace.
    public struct PowerView: Codable, Sendable {
        public var title: String
        public var buckets: [PowerBucket]
        /// The phase shading: per span, the phase that covers most of it.
        public var phases: [PhaseSpan]
        /// Stretches with no samples (gaps), seconds.
        public var gaps: [PhaseSpan]
    }

    public var format = "landauer-run-report/1"
    public var generatedAt: String
    public var run: RunRecord
    public var instruments: [InstrumentRecord]
    public var calibrationIds: [String]
    public var epochs: [EpochMetric]
    public var energies: [EnergyRecord]
    public var figures: [FigureRecord]
    public var events: [RunEvent]
    /// Seconds per trace sample.
    public var samplePeriodSeconds: Double
    /// The supply voltage the power is computed at, volts (nil without a trace).
    public var supplyVolts: Double?
    public var traceSamples: Int64
    public var views: [PowerView]
    /// A characterisation run's plots (nil for other runs).
    public var characterization: CharacterizationView? = nil

    /// The figure with `key`, if the run has it.
    public func figure(_ key: String) -> FigureRecord? { figures.first { $0.key == key } }

    /// Reads run `id` (or its first characters) from `store`.
    public static func load(_ id: String, from store: RunStore, buckets: Int = 900, now: Date = Date()) throws -> RunReport {
        let run = try store.run(id)
        let instruments = (try? JSONDecoder().decode([InstrumentRecord].self, from: Data(run.instruments.utf8))) ?? []
        let calibrations = (try? JSONDecoder().decode([String].self, from: Data(run.calibrationIds.utf8))) ?? []
        let figures = try store.figures(of: run.id)
        let period = 1e-5
        let supply = figures.first { $0.key == "supply.voltage" }?.value
        var views: [PowerView] = []
        let traces = TraceStore(store)
        var traceSamples: Int64 = 0
        if let extent = try traces.extent(runId: run.id, stream: "ppk2") {
            traceSamples = Int64(extent.count)
            let volts = supply ?? 1
            let markers = try store.markers(of: run.id, stream: "ppk2")
            func view(_ title: String, _ range: Range<Int64>, buckets n: Int) throws -> PowerView {
                let b = try traces.view(runId: run.id, stream: "ppk2", range: range, buckets: n)
                    .filter { $0.firstSample + Int64($0.count) > range.lowerBound && $0.firstSample < range.upperBound }
                let origin = extent.lowerBound
                let power = b.map {
                    PowerBucket(
                        start: Double($0.firstSample - origin) * period, end: Double($0.firstSample - origin + Int64($0.count)) * period,
                        minimumWatts: $0.minimum * volts, maximumWatts: $0.maximum * volts, meanWatts: $0.mean * volts)
                }
                let gaps = zip(power, power.dropFirst()).compactMap { a, c in c.start > a.end + period / 2 ? PhaseSpan(phase: "gap", start: a.end, end: c.start) : nil }
                return PowerView(
                    title: title, buckets: power,
                    phases: Self.phaseSpans(markers, range: range, origin: origin, period: period, resolution: max(1, Int64(range.count) / Int64(n))),
                    gaps: gaps)
            }
            views.append(try view("the whole run", extent, buckets: buckets))
            // A zoom into one second of the middle of the last epoch's training.
            let updates = markers.filter { MarkerCode(lines: UInt8($0.lines)).phase == .update }
            if updates.count > 4 {
                let start = updates[updates.count * 3 / 4].sample
                let end = min(extent.upperBound, start + Int64(1.0 / period))
                if end - start > 1 << 12 { views.append(try view("one second of training, batch by batch", start..<end, buckets: 100)) }
            }
        }
        return RunReport(
            generatedAt: RunStore.timestampNow(now), run: run, instruments: instruments, calibrationIds: calibrations,
            epochs: try store.epochs(of: run.id), energies: try store.energies(of: run.id), figures: figures, events: try store.events(of: run.id),
            samplePeriodSeconds: period, supplyVolts: supply, traceSamples: traceSamples, views: views,
            characterization: try CharacterizationView.load(run, from: store))
    }

    /// The phases over `range`, merged into spans no shorter than `resolution` samples: each span
    /// shows the phase that covers most of it.
    static func phaseSpans(_ markers: [MarkerRecord], range: Range<Int64>, origin: Int64, period: Double, resolution: Int64) -> [PhaseSpan] {
        // Exact segments first.
        var segments: [(phase: Phase, start: Int64, end: Int64)] = []
        var current: Phase = .idle
        var from = range.lowerBound
        for m in markers {
            let code = MarkerCode(lines: UInt8(m.lines))
            let phase = code.running ? code.phase : .idle
            if m.sample <= range.lowerBound { current = phase; continue }
            if m.sample >= range.upperBound { break }
            segments.append((current, from, m.sample))
            current = phase
            from = m.sample
        }
        segments.append((current, from, range.upperBound))
        // Bin them at the resolution: the phase with the most samples in each bin.
        var spans: [PhaseSpan] = []
        var k = 0
        var binStart = range.lowerBound
        while binStart < range.upperBound {
            let binEnd = min(range.upperBound, binStart + resolution)
            var counts: [Phase: Int64] = [:]
            while k < segments.count && segments[k].end <= binStart { k += 1 }
            var j = k
            while j < segments.count && segments[j].start < binEnd {
                counts[segments[j].phase, default: 0] += min(binEnd, segments[j].end) - max(binStart, segments[j].start)
                j += 1
            }
            let phase = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue) }?.key ?? .idle
            let s = Double(binStart - origin) * period, e = Double(binEnd - origin) * period
            if let last = spans.last, last.phase == phase.description, abs(last.end - s) < period / 2 {
                spans[spans.count - 1].end = e
            } else {
                spans.append(PhaseSpan(phase: phase.description, start: s, end: e))
            }
            binStart = binEnd
        }
        return spans.filter { $0.phase != "idle" }
    }
}

extension RunStore {
    /// `timestamp` for reports.
    public static func timestampNow(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
