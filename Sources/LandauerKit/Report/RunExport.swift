import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerStore

/// Everything stored about a run, as plain files in a folder.
public struct RunExport {
    public let store: RunStore
    public let report: RunReport

    public init(store: RunStore, report: RunReport) {
        self.store = store
        self.report = report
    }

    /// Writes the files into `folder` (created) and returns their paths.
    public func write(to folder: URL, trace: Bool) throws -> [String] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var written: [String] = []
        func put(_ name: String, _ text: String) throws {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url, options: .atomic)
            written.append(url.standardizedFileURL.path)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try put("run.json", String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        try put("epochs.csv", report.csv())
        var energy = ["epoch,phase,energy_J,energy_U95_J,duration_s,samples,missing_samples"]
        for e in report.energies {
            energy.append("\(e.epoch + 1),\(e.phase),\(e.joules),\(e.expandedUncertaintyJoules),\(e.seconds),\(Int(e.samples)),\(Int(e.missingSamples))")
        }
        try put("energy.csv", energy.joined(separator: "\n") + "\n")
        var figures = ["key,name,kind,value,unit,U95,landauer_ratio"]
        for f in report.figures {
            figures.append([f.key, "\"\(f.name.replacingOccurrences(of: "\"", with: "\"\""))\"", f.kind.rawValue, String(f.value), f.unit,
                            f.expandedUncertainty.map { String($0) } ?? "", f.landauerRatio.map { String($0) } ?? ""].joined(separator: ","))
        }
        try put("figures.csv", figures.joined(separator: "\n") + "\n")
        let line = JSONEncoder()
        line.outputFormatting = [.sortedKeys]
        try put("events.jsonl", try report.events.map { String(decoding: try line.encode($0), as: UTF8.self) }.joined(separator: "\n") + (report.events.isEmpty ? "" : "\n"))
        var markers = ["sample,time_s,lines,phase,running"]
        for m in try store.markers(of: report.run.id, stream: "ppk2") {
            let code = MarkerCode(lines: UInt8(m.lines))
            markers.append("\(m.sample),\(Double(m.sample) * report.samplePeriodSeconds),\(m.lines),\(code.phase),\(code.running)")
        }
        try put("markers.csv", markers.joined(separator: "\n") + "\n")
        if report.run.kind == .characterize {
            // Every reading (I-V loops and forming steps with their voltages and currents), and the map's classes.
            func cell(_ x: Double?) -> String { x.map { String($0) } ?? "" }
            var points = ["procedure,tile,row,column,side,train,step,polarity,pulses,board_time_s,conductance_S,voltage_V,current_A,limited"]
            for p in try store.characterizationPoints(of: report.run.id) {
                points.append(
                    "\(p.procedure),\(p.tile),\(p.row),\(p.column),\(p.side == 0 ? "plus" : "minus"),\(p.train),\(p.step),\(p.polarity),\(p.pulses),"
                        + "\(p.boardSeconds),\(p.siemens),\(cell(p.volts)),\(cell(p.amperes)),\(p.limited ? 1 : 0)")
            }
            try put("points.csv", points.joined(separator: "\n") + "\n")
            let classes = try store.deviceClasses(of: report.run.id)
            if !classes.isEmpty {
                var rows = ["tile,row,column,side,class,conductance_S,swing_S"]
                for c in classes { rows.append("\(c.tile),\(c.row),\(c.column),\(c.side == 0 ? "plus" : "minus"),\(c.deviceClass),\(c.siemens),\(c.swingSiemens)") }
                try put("devices.csv", rows.joined(separator: "\n") + "\n")
            }
        }
        if trace, let extent = try TraceStore(store).extent(runId: report.run.id, stream: "ppk2") {
            let url = folder.appendingPathComponent("trace.csv")
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            handle.write(Data("sample,time_s,adc_code,range,logic\n".utf8))
            // Chunk by chunk, so an hour of samples never sits in memory at once.
            var start = extent.lowerBound
            let traces = TraceStore(store)
            while start < extent.upperBound {
                let end = min(extent.upperBound, start + Int64(TraceStore.chunkSamples))
                let indexed = try traces.indexedWords(runId: report.run.id, stream: "ppk2", range: start..<end)
                var text = ""
                text.reserveCapacity(indexed.count * 32)
                for (index, w) in indexed {
                    text += "\(index),\(Double(index) * report.samplePeriodSeconds),\(w & 0x3FFF),\((w >> 14) & 0x7),\(w >> 24)\n"
                }
                handle.write(Data(text.utf8))
                start = end
            }
            written.append(url.standardizedFileURL.path)
        }
        return written
    }
}
