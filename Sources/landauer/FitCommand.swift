import ArgumentParser
import Foundation
import LandauerFirmware
import LandauerKit
import LandauerStore

struct Fit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the simulator's soft-bounds device model to a pulse-response run and save it as a device profile.",
        discussion: """
            Least squares per device, the device-to-device spreads from the distribution of the per-device fits, the \
            cycle-to-cycle spread from the residuals beyond the read noise; uncertainties by bootstrap; goodness of fit \
            as reduced χ², lack of fit of the curves' shape and residual RMS (docs/characterization.md). The profile, \
            profiles/NAME.json in the workspace, also holds the yield map of the newest map run of the same board (or \
            --map RUN). Use it with --board "sim:?device=profile:NAME".
            """)

    @Argument(help: "The pulse-response run's id, or its first characters (at least 4).") var runId: String
    @Option(help: "The profile's name.") var name: String
    @Option(help: ArgumentHelp("The map run whose dead cells the profile holds (default: the newest map of the same board).", valueName: "run")) var map: String?
    @Option(help: ArgumentHelp("Workspace (the profile goes to its profiles/).", valueName: "path")) var workspace = "."
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()
    @Flag(help: "Print the profile as one JSON object.") var json = false

    func run() async throws {
        do {
            let s = try openStore(store)
            let outcome = try CharacterizationFitting.run(runId, name: name, mapRun: map, store: s, workspace: URL(fileURLWithPath: workspace))
            if json { try printJSON(outcome.profile); return }
            let f = outcome.profile.fit
            var lines = ["fitted soft-bounds profile \(name): \(f.devices.count) devices (\(f.excluded.count) left out), \(f.points) readings → \(outcome.file.path)"]
            for p in f.parameters {
                lines.append("  \(p.name.padding(toLength: 58, withPad: " ", startingAt: 0)) \(SignificantDigits.format(p.estimate.value, digits: 4)) ± \(SignificantDigits.format(p.estimate.uncertainty, digits: 2)) \(p.unit == "1" ? "" : p.unit)")
            }
            lines.append("  reduced χ² \(SignificantDigits.format(f.reducedChiSquare, digits: 3)) (read noise alone: \(SignificantDigits.format(f.reducedChiSquareReadNoiseOnly, digits: 3))), lack of fit \(SignificantDigits.format(f.lackOfFitChiSquare, digits: 3)), residual RMS \(Siemens(f.residualRMS).formatted(significantDigits: 3)), read noise \(Siemens(f.readNoise).formatted(significantDigits: 3))")
            lines.append("  \(outcome.mapNote); \(outcome.profile.deadCells.count) dead cells")
            if f.lackOfFitChiSquare > 3 { lines.append("  warning: the curves' shape does not follow soft bounds (lack of fit \(SignificantDigits.format(f.lackOfFitChiSquare, digits: 3)) ≫ 1); the twin will differ from the board") }
            lines.append("  use it: landauer train --board \"sim:?device=profile:\(name)&adc-range=0.05\" --workspace \(workspace)")
            print(lines.joined(separator: "\n"))
        } catch {
            throw failing(error)
        }
    }
}
