import Foundation
import LandauerFirmware
import LandauerStore

/// `landauer fit RUN --name NAME`: the soft-bounds model fitted to a stored pulse-response run,
/// with the yield map of a map run of the same board, saved as a device profile.
public enum CharacterizationFitting {
    /// What a fit reports.
    public struct Outcome: Sendable {
        public var profile: DeviceProfile
        /// The profile's file.
        public var file: URL
        /// Why the map run was chosen (or that there was none).
        public var mapNote: String
    }

    /// Fits run `runId` (a pulse-response characterisation) and saves profile `name` in `workspace`.
    /// `mapRun`: the map whose dead cells the profile holds; nil: the newest completed map run of
    /// the same board in the store, if any.
    public static func run(_ runId: String, name: String, mapRun: String? = nil, store: RunStore, workspace: URL, now: Date = Date()) throws -> Outcome {
        guard DeviceProfile.isValidName(name) else {
            throw CharacterizationError.badSettings("--name \(name) is not a valid profile name: use letters, digits, '-', '_' or '.', not starting with '.'")
        }
        let run = try store.run(runId)
        guard run.kind == .characterize, let configuration = CharacterizationRun.configuration(fromJSON: run.configuration) else {
            throw CharacterizationError.cannotFit("run \(run.id.prefix(8)) is a \(run.kind.rawValue) run; fit a pulse-response run (landauer characterize pulse)")
        }
        guard configuration.options.procedure == .pulse else {
            throw CharacterizationError.cannotFit(
                "run \(run.id.prefix(8)) is a \(configuration.options.procedure.rawValue) characterisation; the model is fitted to a pulse-response run (landauer characterize pulse)")
        }
        guard run.status == .completed else {
            throw CharacterizationError.cannotFit("run \(run.id.prefix(8)) is \(run.status.rawValue), not completed; characterise again")
        }
        let points = try store.characterizationPoints(of: run.id, procedure: "pulse").compactMap(\.point)
        let fit = try SoftBoundsFit.fit(points)
        // The yield map.
        var map: RunRecord?
        var note: String
        if let mapRun {
            let m = try store.run(mapRun)
            guard m.kind == .characterize, CharacterizationRun.configuration(fromJSON: m.configuration)?.options.procedure == .map else {
                throw CharacterizationError.badSettings("--map \(mapRun) is not a map run (landauer characterize map)")
            }
            map = m
            note = "yield map from run \(m.id.prefix(8)) (given)"
        } else {
            map = try store.runs().first {
                $0.kind == .characterize && $0.status == .completed
                    && CharacterizationRun.configuration(fromJSON: $0.configuration).map { $0.options.procedure == .map && $0.serial == configuration.serial } == true
            }
            note = map.map { "yield map from run \($0.id.prefix(8)), the newest map of board \(configuration.serial)" }
                ?? "no map run of board \(configuration.serial) in the store: the profile has no dead cells (landauer characterize map, then fit again)"
        }
        var dead: [DeviceProfile.DeadCell] = []
        var mapped = 0
        if let map {
            let classes = try store.deviceClasses(of: map.id)
            mapped = classes.count
            for c in classes where c.deviceClass != DeviceClass.healthy.rawValue {
                guard let k = DeviceClass(rawValue: c.deviceClass), let side = DeviceSide(rawValue: UInt8(clamping: c.side)) else { continue }
                dead.append(DeviceProfile.DeadCell(device: DeviceAddress(tile: c.tile, row: c.row, column: c.column, side: side), deviceClass: k, conductance: c.siemens))
            }
        }
        let profile = DeviceProfile(
            name: name, createdAt: RunStore.timestampNow(now), pulseRun: run.id, mapRun: map?.id,
            board: DeviceProfile.Board(serial: configuration.serial, tiles: configuration.tiles, deviceReadFullScale: configuration.deviceReadFullScale),
            pulses: configuration.options.pulses, model: "soft-bounds", fit: fit, mappedDevices: mapped, deadCells: dead)
        let problems = profile.problems()
        guard problems.isEmpty else {
            throw CharacterizationError.cannotFit("the fit gives no usable soft-bounds device (\(problems.joined(separator: "; "))); characterise with longer trains (--steps) so the devices approach their bounds")
        }
        let file = try profile.save(workspace: workspace)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try store.record(CharacterizationFitRecord(runId: run.id, name: name, time: now, profile: try encoder.encode(profile)))
        // The fitted parameters join the run's figures.
        var figures = try store.figures(of: run.id).filter { !$0.key.hasPrefix("fit.") }
        let start = (figures.map(\.position).max() ?? -1) + 1
        for (k, p) in fit.parameters.enumerated() {
            figures.append(FigureRecord(
                runId: run.id, position: start + k, key: "fit.\(p.key)", name: p.name, kind: .derived, value: p.estimate.value, unit: p.unit,
                expandedUncertainty: 2 * p.estimate.uncertainty, definition: "soft-bounds fit \(name): least squares per device, spreads from the distribution of the per-device fits, bootstrap uncertainty (docs/characterization.md)"))
        }
        let n = figures.count
        figures.append(FigureRecord(runId: run.id, position: start + n, key: "fit.chi2", name: "reduced χ² (read noise and cycle-to-cycle walk)", kind: .derived, value: fit.reducedChiSquare, unit: "1", definition: "residual sum of squares over its expectation under the fitted noise model"))
        figures.append(FigureRecord(runId: run.id, position: start + n + 1, key: "fit.chi2.read", name: "reduced χ² against the read noise alone", kind: .derived, value: fit.reducedChiSquareReadNoiseOnly, unit: "1", definition: "residual sum of squares over σ_read² × (readings − parameters)"))
        figures.append(FigureRecord(runId: run.id, position: start + n + 2, key: "fit.rms", name: "residual RMS", kind: .derived, value: fit.residualRMS, unit: "S", definition: "root mean square of the fit's residuals over all devices"))
        try store.replaceFigures(of: run.id, with: figures)
        try store.record(RunEvent(runId: run.id, kind: "fit", message: "fitted soft-bounds profile \(name) (\(fit.devices.count) devices, \(fit.excluded.count) left out) → \(file.path); \(note)"))
        return Outcome(profile: profile, file: file, mapNote: note)
    }
}
