import ArgumentParser
import Foundation
import LandauerFirmware
import LandauerKit
import LandauerStore

struct Characterize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Characterise a board's devices: pulse response, retention, endurance, read disturb, or a whole-array map with yield.",
        discussion: """
            Runs through the board client only, so a real bench and the virtual board behave alike. Every reading is \
            recorded in the run store (a run of kind characterize, with the board's identity and the configuration); \
            `landauer report RUN` plots it, and `landauer fit RUN --name NAME` fits the simulator's soft-bounds model \
            to a pulse-response run and saves a device profile that `--board "sim:?device=profile:NAME"` turns into a \
            virtual twin (docs/characterization.md). Progress goes to standard error.
            """)

    @Argument(help: "pulse, retention, endurance, disturb or map.") var procedure: String
    @Option(help: ArgumentHelp("Board connection string.", valueName: "connection")) var board = "sim"
    @Option(help: ArgumentHelp("Devices: TILE, or TILE:ROW+ROWS,COLUMN+COLUMNS[:plus|minus|both] (default: tile 0, rows 0–15, columns 0–7; map: every tile).", valueName: "block"))
    var block: String?
    @Option(help: "Pulse amplitude, volts.") var amplitude = 1.5
    @Option(name: .customLong("pulse-width"), help: "Pulse width, nanoseconds.") var pulseWidth: UInt32 = 1_000
    @Option(name: .customLong("read-voltage"), help: "Read voltage, volts (below the board's limit so the highest conductance stays on scale).") var readVoltage = 0.4
    @Option(help: "pulse: readings per train.") var steps = 300
    @Option(help: "pulse: cycles (a potentiating and a depressing train each).") var cycles = 2
    @Option(name: .customLong("pulses-per-step"), help: "pulse: pulses between readings.") var pulsesPerStep = 1
    @Option(name: .customLong("prepare-pulses"), help: "retention: potentiating pulses before the reads.") var preparePulses = 100
    @Option(help: "retention: first interval, seconds.") var first = 1e-3
    @Option(help: "retention: duration, seconds of board time.") var duration = 10.0
    @Option(name: .customLong("per-decade"), help: "retention: reads per decade of time.") var perDecade = 4
    @Option(name: .customLong("endurance-cycles"), help: "endurance: set/reset cycles.") var enduranceCycles = 20
    @Option(name: .customLong("pulses-per-switch"), help: "endurance: pulses per set or reset.") var pulsesPerSwitch = 100
    @Option(help: "disturb: reads.") var reads = 1_000
    @Option(name: .customLong("probe-pulses"), help: "map: probe pulses (8 and 32 times as many for devices that have not responded).") var probePulses = 50
    @Option(help: ArgumentHelp("map: the expected conductance window, MIN:MAX in siemens (e.g. 1e-6:20e-6); outside it by 10 % is open or shorted.", valueName: "window")) var window: String?
    @Option(help: ArgumentHelp("Workspace (profiles/ for sim:?device=profile:NAME).", valueName: "path")) var workspace = "."
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()
    @Flag(name: .customLong("no-store"), help: "Do not record the run.") var noStore = false
    @Flag(help: "Print the result as one JSON object.") var json = false

    func validate() throws {
        guard CharacterizationProcedure(rawValue: procedure) != nil else {
            throw ValidationError("procedure must be one of \(CharacterizationProcedure.allCases.map(\.rawValue).joined(separator: ", ")), not \(procedure) (forming and I-V tracing need a protocol extension that does not exist yet)")
        }
        if let window {
            let parts = window.split(separator: ":").compactMap { Double($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > parts[0] else { throw ValidationError("--window must be MIN:MAX in siemens with 0 < MIN < MAX, e.g. 1e-6:20e-6") }
        }
        guard steps >= 2, cycles >= 1, pulsesPerStep >= 1, reads >= 3, probePulses >= 1, enduranceCycles >= 1, pulsesPerSwitch >= 1, perDecade >= 1 else {
            throw ValidationError("--steps ≥ 2, --cycles, --pulses-per-step, --probe-pulses, --endurance-cycles, --pulses-per-switch, --per-decade ≥ 1 and --reads ≥ 3")
        }
        guard first > 0, duration > first else { throw ValidationError("retention needs 0 < --first < --duration") }
    }

    func run() async throws {
        var o = CharacterizationRun.Options()
        o.board = board
        o.procedure = CharacterizationProcedure(rawValue: procedure)!
        o.block = block
        o.pulses.amplitude = Volts(amplitude)
        o.pulses.widthNanoseconds = pulseWidth
        o.pulses.readVoltage = Volts(readVoltage)
        o.steps = steps
        o.cycles = cycles
        o.pulsesPerStep = pulsesPerStep
        o.preparePulses = preparePulses
        o.firstInterval = Seconds(first)
        o.duration = Seconds(duration)
        o.perDecade = perDecade
        o.enduranceCycles = enduranceCycles
        o.pulsesPerSwitch = pulsesPerSwitch
        o.reads = reads
        o.probePulses = probePulses
        if let window {
            let parts = window.split(separator: ":").compactMap { Double($0) }
            o.windowMinimum = Siemens(parts[0])
            o.windowMaximum = Siemens(parts[1])
        }
        o.workspace = URL(fileURLWithPath: workspace)
        o.store = noStore ? nil : store
        let interactive = isatty(2) != 0
        do {
            let report = try await CharacterizationRun(options: o).run { fraction, what in
                let line = "[\(String(format: "%3.0f", fraction * 100)) %] \(what)"
                FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + line + (interactive ? "" : "\n")).utf8))
            }
            if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            if json { try printJSON(report); return }
            var lines = ["characterised \(report.procedure.rawValue) on \(report.boardSerial) (\(report.board)): \(report.devices) devices, \(report.readings) readings in \(Seconds(report.wallSeconds).formatted())"]
            for b in report.blocks { lines.append("  \(b)") }
            for f in report.figures { lines.append("  \(f.name.padding(toLength: 50, withPad: " ", startingAt: 0)) \(SignificantDigits.format(f.value, digits: 4)) \(f.unit)") }
            if let id = report.runId { lines.append("  run \(id): landauer report \(id.prefix(8))" + (report.procedure == .pulse ? "; landauer fit \(id.prefix(8)) --name NAME" : "")) }
            print(lines.joined(separator: "\n"))
        } catch {
            throw failing(error)
        }
    }
}

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
