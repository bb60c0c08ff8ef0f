import ArgumentParser
import Foundation
import LandauerFirmware
import LandauerKit
import LandauerStore

struct Characterize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Characterise a board's devices: forming, I-V loops, pulse response, retention, endurance, read disturb, or a whole-array map with yield.",
        discussion: """
            form: a voltage staircase (or pulses with a read after each, --pulsed) from --start to --stop on each \
            device until the current reaches the compliance (the cell has switched); the board's engine enforces the \
            compliance, clamping one above its active limit and refusing one above its absolute limit. iv: \
            0 → +max → 0 → −reverse → 0 in steps, --cycles loops per device. Both default to one device (tile 0, \
            row 0, column 0, G⁺); --block sweeps each device of a block in turn. On the virtual board, \
            sim:?unformed=on starts every device unformed. \
            Runs through the board client only, so a real bench and the virtual board behave alike. Every reading is \
            recorded in the run store (a run of kind characterize, with the board's identity and the configuration); \
            `landauer report RUN` plots it, and `landauer fit RUN --name NAME` fits the simulator's soft-bounds model \
            to a pulse-response run and saves a device profile that `--board "sim:?device=profile:NAME"` turns into a \
            virtual twin (docs/characterization.md). Progress goes to standard error.
            """)

    @Argument(help: "form, iv, pulse, retention, endurance, disturb or map.") var procedure: String
    @Option(help: ArgumentHelp("Board connection string.", valueName: "connection")) var board = "sim"
    @Option(help: deviceHelp) var device: String?
    @Option(help: ArgumentHelp("Devices: TILE, or TILE:ROW+ROWS,COLUMN+COLUMNS[:plus|minus|both] (default: tile 0, rows 0–15, columns 0–7; map: every tile; form, iv: tile 0, row 0, column 0, G⁺).", valueName: "block"))
    var block: String?
    @Option(help: "Pulse amplitude, volts (with --amplitudes: the one the soft-bounds fit holds for; default their largest).") var amplitude: Double?
    @Option(help: ArgumentHelp("pulse: several amplitudes, volts, comma-separated (the cycles run at each in turn), for a compact model's voltage dependence.", valueName: "volts,…"))
    var amplitudes: String?
    @Option(name: .customLong("pulse-width"), help: "Pulse width, nanoseconds.") var pulseWidth: UInt32 = 1_000
    @Option(name: .customLong("read-voltage"), help: "Read voltage, volts (below the board's limit so the highest conductance stays on scale).") var readVoltage = 0.4
    @Option(help: "pulse: readings per train.") var steps = 300
    @Option(help: "pulse: cycles (a potentiating and a depressing train each); iv: loops.") var cycles = 2
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
    @Option(help: "form, iv: compliance current, amperes (default 20e-6 forming, 100e-6 I-V).") var compliance: Double?
    @Option(help: "form: first step, volts.") var start = 0.5
    @Option(help: "form: last step, volts.") var stop = 3.0
    @Option(name: .customLong("formed-conductance"), help: "form: stop once the device conducts this many siemens (default: at the compliance).") var formedConductance: Double?
    @Option(help: "iv: largest positive voltage, volts.") var max = 1.5
    @Option(help: "iv: largest negative voltage (its magnitude), volts.") var reverse = 1.5
    @Option(help: "form, iv: voltage step, volts (default 0.05 forming, 0.1 I-V).") var step: Double?
    @Option(help: "form, iv: dwell (staircase) or pulse width (pulsed) per step, nanoseconds (default 10 000 forming, 100 000 I-V).") var dwell: UInt32?
    @Flag(help: "form, iv: pulses with a read after each, instead of a staircase.") var pulsed = false
    @Option(help: ArgumentHelp("Workspace (profiles/ for sim:?device=profile:NAME).", valueName: "path")) var workspace = "."
    @Option(help: ArgumentHelp("The run store.", valueName: "path")) var store = RunStore.defaultPath()
    @Flag(name: .customLong("no-store"), help: "Do not record the run.") var noStore = false
    @Flag(help: "Print the result as one JSON object.") var json = false

    func validate() throws {
        guard CharacterizationProcedure(rawValue: procedure) != nil else {
            throw ValidationError("procedure must be one of \(CharacterizationProcedure.allCases.map(\.rawValue).joined(separator: ", ")), not \(procedure)")
        }
        if let amplitudes {
            let parts = amplitudes.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--amplitudes must be positive voltages separated by commas, e.g. 1.2,1.35,1.5, not \(amplitudes)") }
        }
        if let compliance { guard compliance > 0, compliance.isFinite else { throw ValidationError("--compliance must be a positive current in amperes") } }
        if let step { guard step > 0, step.isFinite else { throw ValidationError("--step must be a positive voltage") } }
        if let dwell { guard dwell > 0 else { throw ValidationError("--dwell must be positive") } }
        if let formedConductance { guard formedConductance > 0 else { throw ValidationError("--formed-conductance must be positive") } }
        guard start > 0, stop > start else { throw ValidationError("form needs 0 < --start < --stop") }
        guard max > 0, reverse >= 0 else { throw ValidationError("iv needs --max > 0 and --reverse ≥ 0") }
        _ = try withDevice(board, device)
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
        o.board = try withDevice(board, device)
        o.procedure = CharacterizationProcedure(rawValue: procedure)!
        o.block = block
        let levels = amplitudes?.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? []
        o.amplitudes = levels.map(Volts.init)
        o.pulses.amplitude = Volts(amplitude ?? levels.max() ?? 1.5)
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
        o.compliance = compliance.map(Amperes.init)
        o.sweepStep = step.map(Volts.init)
        o.dwellNanoseconds = dwell
        o.pulsedSweep = pulsed
        o.formStart = Volts(start)
        o.formStop = Volts(stop)
        o.formedConductance = formedConductance.map(Siemens.init)
        o.ivMaximum = Volts(max)
        o.ivReverse = Volts(reverse)
        o.ivLoops = cycles
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
            for f in report.figures {
                lines.append("  \(f.name.padding(toLength: 50, withPad: " ", startingAt: 0)) \(SignificantDigits.format(f.value, digits: 4))\(f.unit == "1" ? "" : " " + f.unit)")
            }
            if let id = report.runId { lines.append("  run \(id): landauer report \(id.prefix(8))" + (report.procedure == .pulse ? "; landauer fit \(id.prefix(8)) --name NAME" : "")) }
            print(lines.joined(separator: "\n"))
        } catch {
            throw failing(error)
        }
    }
}
