import Foundation
import LandauerFirmware
import LandauerStore

/// The formats `landauer report` writes.
public enum ReportFormat: String, CaseIterable, Sendable {
    case html, csv, json, md

    /// The file name extension.
    public var fileExtension: String { rawValue }
}

extension RunReport {
    /// The report in `format`.
    public func rendered(_ format: ReportFormat) throws -> String {
        switch format {
        case .html: return html()
        case .md: return markdown()
        case .csv: return csv()
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        }
    }

    /// Markdown: the same tables as the HTML, without plots.
    public func markdown() -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var s = ["# \(run.name)", "", "Run `\(run.id)` (\(run.kind.rawValue)), **\(run.status.rawValue)**\(run.exitStatus.map { " (exit \($0))" } ?? ""); started \(run.startedAt)\(run.endedAt.map { ", ended \($0)" } ?? ""). Report generated \(generatedAt).", ""]
        s.append("## Figures")
        s.append("")
        s.append("Uncertainties are expanded, k = 2.")
        s.append("")
        s.append("| figure | value | U (k = 2) | × k_B·T·ln 2 | kind | definition |")
        s.append("|---|---:|---:|---:|---|---|")
        for f in figures {
            s.append("| \(cell(f.name)) | \(ReportNumber.figure(f.value, unit: f.unit, digits: 5)) | \(f.expandedUncertainty.map { ReportNumber.figure($0, unit: f.unit, digits: 2) } ?? "—") | \(f.landauerRatio.map(ReportNumber.ratio) ?? "—") | \(f.kind.rawValue) | \(cell(f.definition)) |")
        }
        if !epochs.isEmpty {
            s += ["", "## Epochs", "", "| epoch | train accuracy | test accuracy | samples/s | " + Self.phaseOrder.map { "\($0) energy" }.joined(separator: " | ") + " |",
                  "|---:|---:|---:|---:|" + Self.phaseOrder.map { _ in "---:" }.joined(separator: "|") + "|"]
            for m in epochs {
                let cells = Self.phaseOrder.map { p in energies.first { $0.epoch == m.epoch && $0.phase == p }.map { ReportNumber.figure($0.joules, unit: "J") } ?? "—" }
                s.append("| \(m.epoch + 1) | \(SignificantDigits.plain(m.trainAccuracy * 100, digits: 3)) % | \(SignificantDigits.plain(m.testAccuracy * 100, digits: 3)) % | \(Int(m.samplesPerSecond)) | " + cells.joined(separator: " | ") + " |")
            }
        }
        s += ["", "## Provenance", ""]
        s.append("- toolkit: landauer \(run.toolkitVersion)\(run.gitCommit.map { " (\($0))" } ?? "")")
        s.append("- host: \(run.host), \(run.operatingSystem)")
        s.append("- seed: \(run.seed.map(String.init) ?? "—")")
        for i in instruments {
            s.append("- \(i.role): " + [i.vendor, i.model, i.serial.map { "serial \($0)" }, i.firmware.map { "firmware \($0)" }, i.usbSerial.map { "USB serial \($0)" }, i.endpoint.map { "at \($0)" }].compactMap { $0 }.joined(separator: ", "))
        }
        s.append("- calibrations: \(calibrationIds.isEmpty ? "none" : calibrationIds.joined(separator: ", "))")
        s.append("- configuration: `\(run.configuration)`")
        s += ["", "## Events", ""]
        if events.isEmpty { s.append("No gaps, retries, reconnects or warnings were recorded.") }
        for e in events { s.append("- \(e.time) **\(e.kind)**: \(e.message)") }
        s.append("")
        return s.joined(separator: "\n")
    }

    /// CSV: a metadata header of `#` lines, then one row per epoch with units in the column names.
    public func csv() -> String {
        func quoted(_ s: String) -> String { s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        var s = [
            "# landauer run report (CSV)",
            "# run_id: \(run.id)",
            "# name: \(run.name)",
            "# status: \(run.status.rawValue)",
            "# started_utc: \(run.startedAt)",
            "# ended_utc: \(run.endedAt ?? "")",
            "# toolkit: \(run.toolkitVersion) \(run.gitCommit ?? "")",
            "# host: \(run.host)",
            "# seed: \(run.seed.map(String.init) ?? "")",
            "# calibrations: \(calibrationIds.joined(separator: " "))",
        ]
        for i in instruments { s.append("# instrument_\(i.role): \(i.vendor) \(i.model) \(i.serial ?? "") \(i.firmware ?? "")") }
        for f in figures {
            s.append("# figure \(f.key) [\(f.unit)]: \(f.value)" + (f.expandedUncertainty.map { " ± \($0) (k = 2)" } ?? "") + (f.landauerRatio.map { " = \($0) × kT ln2" } ?? ""))
        }
        s.append("# uncertainties are expanded, k = 2; energies per phase are calibrated, gaps are bounded, never filled in")
        var header = ["epoch", "train_accuracy", "test_accuracy", "train_cost", "speed_samples_per_s"]
        for p in Self.phaseOrder { header += ["energy_\(p)_J", "energy_\(p)_U95_J", "duration_\(p)_s", "missing_samples_\(p)"] }
        header += ["energy_cumulative_J"]
        s.append(header.joined(separator: ","))
        var cumulative = 0.0
        for m in epochs {
            var row = [String(m.epoch + 1), String(m.trainAccuracy), String(m.testAccuracy), String(m.trainCost), String(m.samplesPerSecond)]
            for p in Self.phaseOrder {
                if let r = energies.first(where: { $0.epoch == m.epoch && $0.phase == p }) {
                    cumulative += r.joules
                    row += [String(r.joules), String(r.expandedUncertaintyJoules), String(r.seconds), String(Int(r.missingSamples))]
                } else {
                    row += ["", "", "", ""]
                }
            }
            row.append(energies.isEmpty ? "" : String(cumulative))
            s.append(row.map(quoted).joined(separator: ","))
        }
        return s.joined(separator: "\n") + "\n"
    }
}

extension RunReport {
    /// A figure's value with its unit, as every report format prints it.
    public static func formatFigure(_ value: Double, unit: String, digits: Int = 4) -> String {
        ReportNumber.figure(value, unit: unit, digits: digits)
    }
}
