import Foundation
import LandauerFirmware
import LandauerStore

/// `landauer fit RUN --name NAME [--model soft-bounds|vteam]`: the soft-bounds model fitted to the
/// trains of a stored pulse-response run at its amplitude, the VTEAM compact model to all of them
/// when the run has 3 or more amplitudes, with the yield map of a map run of the same board, saved
/// as a device profile.
public enum CharacterizationFitting {
    /// What a fit reports.
    public struct Outcome: Sendable {
        public var profile: DeviceProfile
        /// The profile's file.
        public var file: URL
        /// Why the map run was chosen (or that there was none).
        public var mapNote: String
        /// Why the profile has no compact model (nil when it has one, or `model` is vteam).
        public var compactNote: String?
    }

    /// The readings the soft-bounds fit takes from a pulse-response run: with several amplitudes,
    /// the trains at `amplitude` and the reads before any pulse, the trains renumbered 0, 1, 2, …
    /// in their order (potentiating trains stay even); runs that recorded no amplitude, all of them.
    public static func softBoundsPoints(_ points: [CharacterizationPoint], amplitude: Volts) -> [CharacterizationPoint] {
        guard let number = softBoundsTrains(points, amplitude: amplitude) else { return points }
        return points.compactMap { p in
            guard p.train >= 0 else { return p }
            guard let t = number[p.train] else { return nil }
            var q = p
            q.train = t
            return q
        }
    }

    /// The run's trains at `amplitude`, each mapped to its number in the soft-bounds fit (0, 1,
    /// 2, … in order); nil when the run recorded no amplitudes (every train, as numbered).
    public static func softBoundsTrains(_ points: [CharacterizationPoint], amplitude: Volts) -> [Int: Int]? {
        guard points.contains(where: { $0.train >= 0 && $0.voltage != nil }) else { return nil }
        let trains = Set(points.filter { $0.train >= 0 && $0.voltage.map { abs($0.value - amplitude.value) < 1e-6 } == true }.map(\.train)).sorted()
        return Dictionary(uniqueKeysWithValues: trains.enumerated().map { ($0.element, $0.offset) })
    }

    /// Fits run `runId` (a pulse-response characterisation) and saves profile `name` in `workspace`.
    /// `mapRun`: the map whose dead cells the profile holds; nil: the newest completed map run of
    /// the same board in the store, if any. `model`: which model the twin's devices follow; the
    /// compact model is fitted whenever the run has 3 or more amplitudes, and must be for vteam.
    public static func run(
        _ runId: String, name: String, mapRun: String? = nil, model: DeviceProfile.Model = .softBounds, store: RunStore, workspace: URL, now: Date = Date()
    ) throws -> Outcome {
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
        let pulses = configuration.options.pulses
        let atAmplitude = softBoundsPoints(points, amplitude: pulses.amplitude)
        guard atAmplitude.contains(where: { $0.train >= 0 }) else {
            throw CharacterizationError.cannotFit("run \(run.id.prefix(8)) has no trains at its amplitude \(pulses.amplitude.formatted()), which the soft-bounds fit holds for")
        }
        let fit: SoftBoundsFit
        do {
            fit = try SoftBoundsFit.fit(atAmplitude)
        } catch let e as CharacterizationError where model == .vteam {
            throw CharacterizationError.cannotFit("the profile also holds the soft-bounds fit to the trains at \(pulses.amplitude.formatted()), and that failed: \(e)")
        }
        // The compact model whenever the data allow (3 or more amplitudes); its refusal says what to
        // measure, and is the fit's own error when the twin is to follow it.
        var compact: VTEAMFit?
        var compactNote: String?
        do {
            compact = try VTEAMFit.fit(points, widthNanoseconds: pulses.widthNanoseconds)
        } catch let e as CharacterizationError where model == .softBounds {
            compactNote = "no compact model: \(e)"
        }
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
            pulses: pulses, model: model.rawValue, fit: fit, mappedDevices: mapped, deadCells: dead, compact: compact)
        let problems = profile.problems()
        guard problems.isEmpty else {
            throw CharacterizationError.cannotFit(
                "the fit gives no usable \(model.rawValue) device (\(problems.joined(separator: "; "))); characterise with longer trains (--steps) so the devices approach their bounds")
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
        if let compact {
            let definition = "VTEAM fit \(name): pooled least squares over every amplitude, drive law by generalised least squares, one-step bootstrap over devices (docs/characterization.md)"
            for p in compact.parameters {
                figures.append(FigureRecord(
                    runId: run.id, position: start + figures.count, key: "fit.vteam.\(p.key)", name: "VTEAM " + p.name, kind: .derived, value: p.estimate.value, unit: p.unit,
                    expandedUncertainty: 2 * p.estimate.uncertainty, definition: definition))
            }
            figures.append(FigureRecord(runId: run.id, position: start + figures.count, key: "fit.vteam.chi2", name: "VTEAM reduced χ² (read noise)", kind: .derived, value: compact.reducedChiSquare, unit: "1", definition: "weighted residual sum of squares of the full VTEAM model over readings − parameters"))
            figures.append(FigureRecord(runId: run.id, position: start + figures.count, key: "fit.vteam.lackOfFit", name: "VTEAM lack of fit", kind: .derived, value: compact.lackOfFitChiSquare, unit: "1", definition: "device-averaged residuals in bins along the trains of each amplitude and polarity, in standard errors, squared and averaged"))
            figures.append(FigureRecord(runId: run.id, position: start + figures.count, key: "fit.vteam.rms", name: "VTEAM residual RMS", kind: .derived, value: compact.residualRMS, unit: "S", definition: "root mean square of the VTEAM model's residuals over all devices"))
        }
        try store.replaceFigures(of: run.id, with: figures)
        let compactText = compact.map { ", VTEAM compact model (lack of fit \(SignificantDigits.format($0.lackOfFitChiSquare, digits: 3)))" } ?? ""
        try store.record(RunEvent(
            runId: run.id, kind: "fit",
            message: "fitted \(model.rawValue) profile \(name) (\(fit.devices.count) devices, \(fit.excluded.count) left out\(compactText)) → \(file.path); \(note)"))
        return Outcome(profile: profile, file: file, mapNote: note, compactNote: compactNote)
    }
}
