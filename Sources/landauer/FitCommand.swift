import ArgumentParser
import Foundation
import LandauerFirmware
import LandauerKit
import LandauerStore

struct Fit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the simulator's device models to a pulse-response run and save them as a device profile.",
        discussion: """
            Soft bounds, to the trains at the run's --amplitude: least squares per device, the device-to-device spreads \
            from the distribution of the per-device fits, the cycle-to-cycle spread from the residuals beyond the read \
            noise. The VTEAM compact model, when the run has 3 or more --amplitudes: pooled least squares of every \
            reading for the window and the drive at each amplitude, then the drive's threshold law. Uncertainties by \
            bootstrap over devices; goodness of fit as reduced χ², lack of fit of the curves' shape and residual RMS \
            (docs/characterization.md). --model chooses which model the twin's devices follow. The profile, \
            profiles/NAME.json in the workspace, also holds the yield map of the newest map run of the same board (or \
            --map RUN). Use it with --board "sim:?device=profile:NAME".
            """)

    @Argument(help: "The pulse-response run's id, or its first characters (at least 4).") var runId: String
    @Option(help: "The profile's name.") var name: String
    @Option(help: ArgumentHelp("The map run whose dead cells the profile holds (default: the newest map of the same board).", valueName: "run")) var map: String?
    @Option(help: ArgumentHelp("The model the twin's devices follow: soft-bounds, or vteam (needs a run with --amplitudes of 3 or more levels).", valueName: "model"))
    var model = DeviceProfile.Model.softBounds.rawValue
    @Option(help: ArgumentHelp("Workspace (the profile goes to its profiles/).", valueName: "path")) var workspace = "."
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()
    @Flag(help: "Print the profile as one JSON object.") var json = false

    func validate() throws {
        guard DeviceProfile.Model(rawValue: model) != nil else {
            throw ValidationError("--model must be \(DeviceProfile.Model.allCases.map(\.rawValue).joined(separator: " or ")), not \(model)")
        }
    }

    /// One parameter line: name, value ± standard uncertainty, unit.
    static func line(_ name: String, _ e: Estimate, _ unit: String) -> String {
        "  \(name.padding(toLength: 58, withPad: " ", startingAt: 0)) \(SignificantDigits.format(e.value, digits: 4)) ± \(SignificantDigits.format(e.uncertainty, digits: 2)) \(unit == "1" ? "" : unit)"
    }

    func run() async throws {
        do {
            let s = try openStore(store)
            let choice = DeviceProfile.Model(rawValue: model) ?? .softBounds
            let outcome = try CharacterizationFitting.run(runId, name: name, mapRun: map, model: choice, store: s, workspace: URL(fileURLWithPath: workspace))
            if json { try printJSON(outcome.profile); return }
            let f = outcome.profile.fit
            var lines = ["fitted profile \(name), the twin's devices \(choice.rawValue) → \(outcome.file.path)"]
            lines.append("soft bounds (trains at \(outcome.profile.pulses.amplitude.formatted())): \(f.devices.count) devices (\(f.excluded.count) left out), \(f.points) readings")
            for p in f.parameters { lines.append(Self.line(p.name, p.estimate, p.unit)) }
            lines.append("  reduced χ² \(SignificantDigits.format(f.reducedChiSquare, digits: 3)) (read noise alone: \(SignificantDigits.format(f.reducedChiSquareReadNoiseOnly, digits: 3))), lack of fit \(SignificantDigits.format(f.lackOfFitChiSquare, digits: 3)), residual RMS \(Siemens(f.residualRMS).formatted(significantDigits: 3)), read noise \(Siemens(f.readNoise).formatted(significantDigits: 3))")
            if choice == .softBounds && f.lackOfFitChiSquare > 3 {
                lines.append("  warning: the curves' shape does not follow soft bounds (lack of fit \(SignificantDigits.format(f.lackOfFitChiSquare, digits: 3)) ≫ 1); the twin will differ from the board")
            }
            if let c = outcome.profile.compact {
                let levels = Array(Set(c.drives.map(\.amplitude))).sorted()
                lines.append("VTEAM compact model (\(levels.map { $0.formatted() }.joined(separator: ", ")), \(c.widthNanoseconds) ns pulses): \(c.devices) devices (\(c.excluded.count) left out), \(c.points) readings")
                for p in c.parameters { lines.append(Self.line(p.name, p.estimate, p.unit)) }
                for d in c.drives {
                    let name = "drive D at \(d.amplitude.formatted()), \(d.polarity > 0 ? "potentiating" : "depressing")\(d.measurable ? "" : " (not measurable)")"
                    lines.append(Self.line(name, d.rate, "1/s") + "  (law: \(SignificantDigits.format(d.law, digits: 4)))")
                }
                let law = c.driveLawChiSquare.map { SignificantDigits.format($0, digits: 3) } ?? "no degree of freedom with 3 amplitudes"
                lines.append("  reduced χ² \(SignificantDigits.format(c.reducedChiSquare, digits: 3)) (read noise), lack of fit \(SignificantDigits.format(c.lackOfFitChiSquare, digits: 3)), drive law χ² \(law), residual RMS \(Siemens(c.residualRMS).formatted(significantDigits: 3))")
                // Identical devices read through the same ADC codes share their bias: a VTEAM board reads 4–7 on the
                // reference board's 9-bit ADC, a soft-bounds board about 50 (docs/characterization.md).
                if choice == .vteam && c.lackOfFitChiSquare > 10 {
                    lines.append("  warning: the curves' shape does not follow VTEAM (lack of fit \(SignificantDigits.format(c.lackOfFitChiSquare, digits: 3)) ≫ 1); the twin will differ from the board")
                }
            } else if let note = outcome.compactNote {
                lines.append(note)
            }
            lines.append("  \(outcome.mapNote); \(outcome.profile.deadCells.count) dead cells")
            lines.append("  use it: landauer train --device profile:\(name) --workspace \(workspace)")
            print(lines.joined(separator: "\n"))
        } catch {
            throw failing(error)
        }
    }
}
