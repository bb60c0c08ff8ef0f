import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerSimulators
import LandauerStore

/// `landauer characterize PROCEDURE`: one procedure on a board, recorded in the run store as a
/// run of kind `characterize` with the provenance of a training run (instruments, configuration,
/// link events) and every reading in `characterizationPoint`.
public struct CharacterizationRun: Sendable {
    /// What to run.
    public struct Options: Sendable, Codable {
        /// Board connection string.
        public var board = "sim"
        public var procedure = CharacterizationProcedure.pulse
        /// The devices: `TILE`, or `TILE:ROW+ROWS,COLUMN+COLUMNS[:plus|minus|both]`; nil: the
        /// procedure's default (pulse, retention, endurance, disturb: tile 0, rows 0–15, columns
        /// 0–7, both sides; map: every tile).
        public var block: String?
        public var pulses = PulseSettings()
        /// Pulse response: readings per train, cycles (up and down trains), pulses per reading, noise reads.
        public var steps = 300
        public var cycles = 2
        public var pulsesPerStep = 1
        public var noiseReads = 8
        /// Retention: potentiating pulses first, first interval, duration, reads per decade.
        public var preparePulses = 100
        public var firstInterval = Seconds(1e-3)
        public var duration = Seconds(10)
        public var perDecade = 4
        /// Endurance: set/reset cycles and pulses per switch.
        public var enduranceCycles = 20
        public var pulsesPerSwitch = 100
        /// Read disturb: reads.
        public var reads = 1_000
        /// Map: probe pulses; the expected window (nil: the ADC's range decides shorted and open).
        public var probePulses = 50
        public var windowMinimum: Siemens?
        public var windowMaximum: Siemens?
        /// Pulse response at several amplitudes (empty: `pulses.amplitude` only); the
        /// soft-bounds fit uses the trains at `pulses.amplitude`, which must be among them.
        public var amplitudes: [Volts] = []
        /// Sweeps (form, iv): the compliance asked for (nil: 20 µA forming, 100 µA I-V), the
        /// voltage step (nil: 50 mV forming, 100 mV I-V), the dwell or pulse width per step in ns
        /// (nil: 10 µs forming, 100 µs I-V), pulses with a read after each instead of a staircase.
        public var compliance: Amperes?
        public var sweepStep: Volts?
        public var dwellNanoseconds: UInt32?
        public var pulsedSweep = false
        /// Forming: first and last voltage; stop once a device conducts this much (nil: at the compliance).
        public var formStart = Volts(0.5)
        public var formStop = Volts(3.0)
        public var formedConductance: Siemens?
        /// I-V: largest positive voltage, magnitude of the most negative one, loops.
        public var ivMaximum = Volts(1.5)
        public var ivReverse = Volts(1.5)
        public var ivLoops = 2
        /// Workspace (profiles resolve against it) and run store (nil: none).
        public var workspace = URL(fileURLWithPath: ".")
        public var store: String? = RunStore.defaultPath()

        public init() {}

        /// The compliance, step and dwell in force for a sweep procedure.
        public var sweepCompliance: Amperes { compliance ?? Amperes(procedure == .form ? 20e-6 : 100e-6) }
        public var sweepStepVoltage: Volts { sweepStep ?? Volts(procedure == .form ? 0.05 : 0.1) }
        public var sweepDwell: UInt32 { dwellNanoseconds ?? (procedure == .form ? 10_000 : 100_000) }

        enum CodingKeys: String, CodingKey {
            case board, procedure, block, pulses, steps, cycles, pulsesPerStep, noiseReads, preparePulses, firstInterval, duration, perDecade
            case enduranceCycles, pulsesPerSwitch, reads, probePulses, windowMinimum, windowMaximum
            case amplitudes, compliance, sweepStep, dwellNanoseconds, pulsedSweep, formStart, formStop, formedConductance, ivMaximum, ivReverse, ivLoops
        }

        /// Reads stored options; a key a run recorded by an older build lacks takes its default.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
            board = try value(.board, board)
            procedure = try value(.procedure, procedure)
            block = try c.decodeIfPresent(String.self, forKey: .block)
            pulses = try value(.pulses, pulses)
            steps = try value(.steps, steps)
            cycles = try value(.cycles, cycles)
            pulsesPerStep = try value(.pulsesPerStep, pulsesPerStep)
            noiseReads = try value(.noiseReads, noiseReads)
            preparePulses = try value(.preparePulses, preparePulses)
            firstInterval = try value(.firstInterval, firstInterval)
            duration = try value(.duration, duration)
            perDecade = try value(.perDecade, perDecade)
            enduranceCycles = try value(.enduranceCycles, enduranceCycles)
            pulsesPerSwitch = try value(.pulsesPerSwitch, pulsesPerSwitch)
            reads = try value(.reads, reads)
            probePulses = try value(.probePulses, probePulses)
            windowMinimum = try c.decodeIfPresent(Siemens.self, forKey: .windowMinimum)
            windowMaximum = try c.decodeIfPresent(Siemens.self, forKey: .windowMaximum)
            amplitudes = try value(.amplitudes, amplitudes)
            compliance = try c.decodeIfPresent(Amperes.self, forKey: .compliance)
            sweepStep = try c.decodeIfPresent(Volts.self, forKey: .sweepStep)
            dwellNanoseconds = try c.decodeIfPresent(UInt32.self, forKey: .dwellNanoseconds)
            pulsedSweep = try value(.pulsedSweep, pulsedSweep)
            formStart = try value(.formStart, formStart)
            formStop = try value(.formStop, formStop)
            formedConductance = try c.decodeIfPresent(Siemens.self, forKey: .formedConductance)
            ivMaximum = try value(.ivMaximum, ivMaximum)
            ivReverse = try value(.ivReverse, ivReverse)
            ivLoops = try value(.ivLoops, ivLoops)
        }
    }

    /// What a run reports (`--json`).
    public struct Report: Codable, Sendable {
        public var runId: String?
        public var procedure: CharacterizationProcedure
        public var board: String
        public var boardSerial: String
        public var blocks: [String]
        public var devices: Int
        public var readings: Int
        /// One conductance ADC code at the read voltage, S.
        public var siemensPerCode: Double
        /// The procedure's summary figures (the same as the run's figures in the store).
        public var figures: [FigureRecord]
        /// Map only: devices per class.
        public var classes: [String: Int]?
        public var wallSeconds: Double
    }

    /// What the store keeps as the run's configuration: the options and the board's INFO essentials.
    struct Configuration: Codable {
        var options: Options
        var serial: String
        var tiles: [[Int]]
        var deviceReadFullScale: Double
        var adcMaxCode: Int
        var siemensPerCode: Double
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    static func configuration(fromJSON json: String) -> Configuration? {
        try? JSONDecoder().decode(Configuration.self, from: Data(json.utf8))
    }

    /// Runs the procedure; a failure ends the run as failed (and is rethrown).
    public func run(progress: @escaping Characterizer.Progress = { _, _ in }) async throws -> Report {
        let started = ContinuousClock.now
        let store = try options.store.map { try RunStore(path: $0) }
        let session = try BoardConnection.open(options.board, workspace: options.workspace)
        let record = RunRecord(
            name: "characterize \(options.procedure.rawValue) on \(options.board)", kind: .characterize, toolkitVersion: LandauerVersion.string,
            gitCommit: LandauerVersion.gitCommit, seed: nil, configuration: "{}")
        try store?.begin(record)
        let runId = record.id
        do {
            var report = try await measure(session: session, store: store, runId: runId, progress: progress)
            report.runId = store == nil ? nil : runId
            report.wallSeconds = (ContinuousClock.now - started).inSeconds.value
            try store?.finish(runId, status: .completed, exitStatus: 0)
            await session.client.close()
            return report
        } catch {
            try? store?.record(RunEvent(runId: runId, kind: "error", message: "\(error)"))
            try? store?.finish(runId, status: .failed, exitStatus: 1)
            await session.client.close()
            throw error
        }
    }

    func measure(session: BoardSession, store: RunStore?, runId: String, progress: @escaping Characterizer.Progress) async throws -> Report {
        let buffer = PointBuffer(store: store, runId: runId)
        let characterizer = try await Characterizer(client: session.client, settings: options.pulses, sink: { try buffer.add($0) }, progress: progress)
        let info = characterizer.info
        let o = options
        var blocks: [DeviceBlock]
        if let text = o.block {
            guard let b = DeviceBlock(parsing: text, info: info) else {
                throw CharacterizationError.badSettings(
                    "--block \(text) is not TILE or TILE:ROW+ROWS,COLUMN+COLUMNS[:plus|minus|both] inside the board's tiles (\(info.tiles.map { "\($0.rows)×\($0.columns)" }.joined(separator: ", ")))")
            }
            blocks = [b]
        } else if o.procedure == .map {
            blocks = info.tiles.indices.map { DeviceBlock.wholeTile($0, of: info) }
        } else if o.procedure.isSweep {
            blocks = [DeviceBlock(tile: 0, rows: 1, columns: 1, sides: 1)]
        } else {
            blocks = [DeviceBlock(tile: 0, rows: min(16, Int(info.tiles[0].rows)), columns: min(8, Int(info.tiles[0].columns)))]
        }
        let configuration = Configuration(
            options: o, serial: String(decoding: info.serial, as: UTF8.self), tiles: info.tiles.map { [Int($0.rows), Int($0.columns)] },
            deviceReadFullScale: info.deviceReadFullScale.value, adcMaxCode: Int(info.adcMaxCode), siemensPerCode: characterizer.siemensPerCode.value)
        if let store {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try store.setConfiguration(of: runId, String(decoding: try encoder.encode(configuration), as: UTF8.self))
            try store.setProvenance(
                of: runId, instruments: InstrumentRecord.json(await TrainingRun.instruments(info: info, session: session, meter: nil)), calibrationIds: [])
        }
        let board = session.virtualBoard
        let wait: Characterizer.Wait = { duration in
            if let board { board.advance(by: duration) } else { try await Task.sleep(for: .nanoseconds(Int64(duration.value * 1e9))) }
        }
        let points: [CharacterizationPoint]
        var swept: SweepOutcome?
        switch o.procedure {
        case .pulse:
            if !o.amplitudes.isEmpty && !o.amplitudes.contains(where: { abs($0.value - o.pulses.amplitude.value) < 1e-6 }) {
                throw CharacterizationError.badSettings(
                    "--amplitude \(o.pulses.amplitude.formatted()) must be one of --amplitudes (\(o.amplitudes.map { $0.formatted() }.joined(separator: ", "))): the soft-bounds fit holds for it")
            }
            points = try await characterizer.pulseResponse(
                blocks[0], steps: o.steps, cycles: o.cycles, pulsesPerStep: o.pulsesPerStep, noiseReads: o.noiseReads, amplitudes: o.amplitudes)
        case .retention:
            points = try await characterizer.retention(blocks[0], preparePulses: o.preparePulses, first: o.firstInterval, duration: o.duration, perDecade: o.perDecade, wait: wait)
        case .endurance:
            points = try await characterizer.endurance(blocks[0], cycles: o.enduranceCycles, pulsesPerSwitch: o.pulsesPerSwitch)
        case .disturb:
            points = try await characterizer.readDisturb(blocks[0], reads: o.reads)
        case .map:
            points = try await characterizer.conductanceMap(blocks, probePulses: o.probePulses)
        case .form, .iv:
            let outcome = try await sweep(blocks[0], characterizer: characterizer, sink: { try buffer.add($0) }, progress: progress)
            points = outcome.points
            swept = outcome
            if outcome.clamped {
                try store?.record(RunEvent(
                    runId: runId, kind: "compliance",
                    message: "the board clamped the requested compliance \(o.sweepCompliance.formatted()) to its active limit \(outcome.compliance.formatted())"))
            }
        }
        try buffer.flush()
        var classes: [String: Int]?
        var figures = CharacterizationSummary.figures(o.procedure, points: points, runId: runId, siemensPerCode: characterizer.siemensPerCode)
        if o.procedure == .map {
            var classifier = ConductanceMapClassifier(siemensPerCode: characterizer.siemensPerCode, maxCode: Int(info.adcMaxCode))
            if let lo = o.windowMinimum, let hi = o.windowMaximum { classifier.window = lo.value...hi.value }
            let mapped = classifier.classify(points)
            try store?.record(mapped.map {
                DeviceClassRecord(
                    runId: runId, tile: $0.device.tile, row: $0.device.row, column: $0.device.column, side: Int($0.device.side.rawValue),
                    deviceClass: $0.deviceClass.rawValue, siemens: $0.conductance.value, swingSiemens: $0.swing.value)
            })
            var counts: [String: Int] = [:]
            for c in DeviceClass.allCases { counts[c.rawValue] = 0 }
            for m in mapped { counts[m.deviceClass.rawValue, default: 0] += 1 }
            classes = counts
            figures += CharacterizationSummary.mapFigures(mapped, readNoise: classifier.readNoise(points), runId: runId, position: figures.count)
        }
        if let swept { figures += CharacterizationSummary.sweepFigures(o, swept, runId: runId, position: figures.count) }
        if let store {
            try store.replaceFigures(of: runId, with: figures)
            for e in await session.client.takeEvents() { try store.record(RunEvent(runId: runId, kind: "link", message: "\(e)")) }
        }
        return Report(
            runId: nil, procedure: o.procedure, board: o.board, boardSerial: configuration.serial, blocks: blocks.map(\.description),
            devices: Set(points.map(\.device)).count, readings: points.count, siemensPerCode: characterizer.siemensPerCode.value, figures: figures,
            classes: classes, wallSeconds: 0)
    }
}

extension CharacterizationRun {
    /// What the sweeps of a run add to its readings.
    struct SweepOutcome {
        var points: [CharacterizationPoint] = []
        /// The compliance the board held (the request's, or its active limit when lower).
        var compliance = Amperes.zero
        /// Whether the board clamped the requested compliance.
        var clamped = false
        /// One code of the board's current conversion.
        var currentResolution = Amperes.zero
        /// Forming: each device's forming voltage (nil: it did not form).
        var formingVoltages: [DeviceAddress: Volts?] = [:]
    }

    /// Forms, or traces the I-V loops of, every device of `block` in turn (G⁺ before G⁻ within a
    /// cell, cells row by row), one SINGLE-CELL SWEEP procedure per device.
    func sweep(
        _ block: DeviceBlock, characterizer: Characterizer, sink: Characterizer.Sink, progress: Characterizer.Progress
    ) async throws -> SweepOutcome {
        var outcome = SweepOutcome()
        let o = options
        let devices = block.devices
        let mode: SweepMode = o.pulsedSweep ? .pulsed : .staircase
        let t0 = try await characterizer.boardTime()
        for (k, device) in devices.enumerated() {
            progress(Double(k) / Double(devices.count), "\(o.procedure == .form ? "forming" : "I-V of") \(device) (\(k + 1) of \(devices.count))")
            let time = try await characterizer.boardTime() - t0
            var mine: [CharacterizationPoint] = []
            if o.procedure == .form {
                let forming = FormingProcedure(
                    device: device, startVoltage: o.formStart, stopVoltage: o.formStop, stepVoltage: o.sweepStepVoltage, dwellNanoseconds: o.sweepDwell,
                    compliance: o.sweepCompliance, mode: mode, readVoltage: o.pulses.readVoltage, formedConductance: o.formedConductance)
                let r: FormingResult
                do { r = try await forming.run(on: characterizer.client) } catch { throw Self.converted(error) }
                outcome.compliance = r.compliance
                outcome.clamped = outcome.clamped || r.complianceClamped
                outcome.currentResolution = r.currentResolution
                outcome.formingVoltages[device] = .some(r.formingVoltage)
                mine = Self.points(.form, device: device, train: 0, sweep: r.points, time: time)
                // The read after the sweep: what forming left.
                mine.append(CharacterizationPoint(
                    procedure: .form, device: device, train: 0, step: r.points.count, polarity: 0, pulses: r.points.count, boardTime: time,
                    conductance: r.conductanceAfter, voltage: o.pulses.readVoltage, current: nil, limited: false))
            } else {
                let sweep = IVSweep(
                    device: device, maximumVoltage: o.ivMaximum, reverseVoltage: o.ivReverse, stepVoltage: o.sweepStepVoltage,
                    dwellNanoseconds: o.sweepDwell, compliance: o.sweepCompliance, mode: mode, readVoltage: o.pulses.readVoltage, cycles: o.ivLoops)
                let c: IVCurve
                do { c = try await sweep.run(on: characterizer.client) } catch { throw Self.converted(error) }
                outcome.compliance = c.compliance
                outcome.clamped = outcome.clamped || c.complianceClamped
                outcome.currentResolution = c.currentResolution
                let perLoop = sweep.loopVoltages.count
                for (loop, start) in stride(from: 0, to: c.points.count, by: perLoop).enumerated() {
                    mine += Self.points(.iv, device: device, train: loop, sweep: Array(c.points[start..<min(start + perLoop, c.points.count)]), time: time)
                }
            }
            try sink(mine)
            outcome.points += mine
        }
        progress(1, "\(o.procedure == .form ? "forming" : "I-V tracing") done")
        return outcome
    }

    /// A sweep's error as the characterisation's: bad settings stay bad settings, a board's error is the board's.
    static func converted(_ error: SweepProcedureError) -> any Error {
        switch error {
        case .badSettings(let s): CharacterizationError.badSettings(s)
        case .board(let b): b
        }
    }

    /// One point per sweep step: polarity the sign of the voltage, conductance the read after a
    /// pulse or the chord I/V of a staircase step (0 at 0 V).
    static func points(_ procedure: CharacterizationProcedure, device: DeviceAddress, train: Int, sweep: [SweepPoint], time: Seconds) -> [CharacterizationPoint] {
        sweep.enumerated().map { k, s in
            let chord = s.voltage.value == 0 ? 0 : s.current.value / s.voltage.value
            return CharacterizationPoint(
                procedure: procedure, device: device, train: train, step: k, polarity: s.voltage.value > 0 ? 1 : (s.voltage.value < 0 ? -1 : 0),
                pulses: k + 1, boardTime: time, conductance: s.readConductance ?? Siemens(chord), voltage: s.voltage, current: s.current, limited: s.limited)
        }
    }
}

/// Collects readings and writes them to the store in batches of about 50 000.
final class PointBuffer: @unchecked Sendable {
    // @unchecked: used by the one task that runs the procedure.
    let store: RunStore?
    let runId: String
    var pending: [CharacterizationPointRecord] = []

    init(store: RunStore?, runId: String) {
        self.store = store
        self.runId = runId
    }

    func add(_ points: [CharacterizationPoint]) throws {
        guard store != nil else { return }
        pending += points.map { CharacterizationPointRecord($0, runId: runId) }
        if pending.count >= 50_000 { try flush() }
    }

    func flush() throws {
        try store?.record(pending)
        pending.removeAll(keepingCapacity: true)
    }
}

extension CharacterizationPointRecord {
    /// The store's row for a reading.
    init(_ p: CharacterizationPoint, runId: String) {
        self.init(
            runId: runId, procedure: p.procedure.rawValue, tile: p.device.tile, row: p.device.row, column: p.device.column, side: Int(p.device.side.rawValue),
            train: p.train, step: p.step, polarity: Int(p.polarity), pulses: p.pulses, boardSeconds: p.boardTime.value, siemens: p.conductance.value,
            volts: p.voltage?.value, amperes: p.current?.value, limited: p.limited)
    }

    /// The reading a row holds (nil for a procedure or side this build does not know).
    var point: CharacterizationPoint? {
        guard let procedure = CharacterizationProcedure(rawValue: procedure), let side = DeviceSide(rawValue: UInt8(clamping: side)) else { return nil }
        return CharacterizationPoint(
            procedure: procedure, device: DeviceAddress(tile: tile, row: row, column: column, side: side), train: train, step: step,
            polarity: Int8(clamping: polarity), pulses: pulses, boardTime: Seconds(boardSeconds), conductance: Siemens(siemens),
            voltage: volts.map(Volts.init), current: amperes.map(Amperes.init), limited: limited)
    }
}

// MARK: - Summaries

/// The figures each procedure leaves in the store (and its report's table).
enum CharacterizationSummary {
    static func figure(_ runId: String, _ position: Int, _ key: String, _ name: String, _ value: Double, _ unit: String, _ u: Double? = nil, _ definition: String) -> FigureRecord {
        FigureRecord(runId: runId, position: position, key: key, name: name, kind: .derived, value: value, unit: unit, expandedUncertainty: u.map { 2 * $0 }, definition: definition)
    }

    /// Least-squares slope of y against x and its standard error.
    static func slope(_ x: [Double], _ y: [Double]) -> (slope: Double, error: Double) {
        let mx = mean(x), my = mean(y)
        var sxx = 0.0, sxy = 0.0
        for (a, b) in zip(x, y) { sxx += (a - mx) * (a - mx); sxy += (a - mx) * (b - my) }
        guard sxx > 0, x.count > 2 else { return (0, 0) }
        let s = sxy / sxx
        var sse = 0.0
        for (a, b) in zip(x, y) { let r = b - my - s * (a - mx); sse += r * r }
        return (s, (sse / Double(x.count - 2) / sxx).squareRoot())
    }

    static func figures(_ procedure: CharacterizationProcedure, points: [CharacterizationPoint], runId: String, siemensPerCode: Siemens) -> [FigureRecord] {
        let byDevice = Dictionary(grouping: points, by: \.device)
        var f: [FigureRecord] = [
            figure(runId, 0, "devices", "devices characterised", Double(byDevice.count), "1", nil, "devices whose conductance the procedure read"),
            figure(runId, 1, "readings", "conductance readings", Double(points.count), "1", nil, "single-device reads recorded"),
            figure(runId, 2, "read.code", "conductance of one ADC code", siemensPerCode.value, "S", nil, "device-read full scale / (largest code × read voltage)"),
        ]
        switch procedure {
        case .pulse:
            var noise: [Double] = [], range: [Double] = []
            for (_, ps) in byDevice {
                let base = ps.filter { $0.train < 0 }.map(\.conductance.value)
                noise.append(standardDeviation(base))
                let pulsed = ps.filter { $0.train >= 0 }.map(\.conductance.value)
                range.append((pulsed.max() ?? 0) - (pulsed.min() ?? 0))
            }
            f.append(figure(runId, 3, "pulse.readNoise", "read noise (σ of repeated reads)", mean(noise), "S", nil, "mean over devices of the standard deviation of the reads before any pulse"))
            f.append(figure(runId, 4, "pulse.range", "conductance range swept (median device)", quantile(range.sorted(), 0.5), "S", nil, "highest less lowest reading over the pulse trains"))
        case .retention:
            var slopes: [Double] = [], relative: [Double] = []
            for (_, ps) in byDevice {
                let s = ps.filter { $0.boardTime.value > 0 }.sorted { $0.step < $1.step }
                guard s.count >= 3, let first = ps.min(by: { $0.step < $1.step }) else { continue }
                slopes.append(slope(s.map { log10($0.boardTime.value) }, s.map(\.conductance.value)).slope)
                relative.append(abs(s.last!.conductance.value - first.conductance.value) / max(abs(first.conductance.value), 1e-30))
            }
            let duration = points.map(\.boardTime.value).max() ?? 0
            f.append(figure(runId, 3, "retention.duration", "time covered", duration, "s", nil, "board time from the first read to the last"))
            f.append(figure(runId, 4, "retention.slope", "conductance change per decade of time (mean)", mean(slopes), "S", standardDeviation(slopes) / Double(max(slopes.count, 1)).squareRoot(), "least-squares slope of G against log₁₀ t, mean over devices"))
            f.append(figure(runId, 5, "retention.worst", "largest relative change, first to last read", relative.max() ?? 0, "1", nil, "|G_last − G_first| / G_first, worst device"))
        case .endurance:
            var failing = 0
            var firstRatio: [Double] = [], lastRatio: [Double] = []
            let margin = 4 * siemensPerCode.value
            for (_, ps) in byDevice {
                let cycles = Dictionary(grouping: ps, by: { $0.train / 2 })
                var failed = false
                for (_, c) in cycles {
                    guard let set = c.first(where: { $0.polarity > 0 }), let reset = c.first(where: { $0.polarity < 0 }) else { continue }
                    if set.conductance.value - reset.conductance.value < margin { failed = true }
                }
                if failed { failing += 1 }
                func ratio(_ k: Int) -> Double? {
                    guard let c = cycles[k], let s = c.first(where: { $0.polarity > 0 }), let r = c.first(where: { $0.polarity < 0 }), r.conductance.value > 0 else { return nil }
                    return s.conductance.value / r.conductance.value
                }
                if let r = ratio(0) { firstRatio.append(r) }
                if let r = ratio((cycles.keys.max() ?? 0)) { lastRatio.append(r) }
            }
            f.append(figure(runId, 3, "endurance.cycles", "set/reset cycles", Double((points.map(\.train).max() ?? -1) / 2 + 1), "1", nil, "cycles applied to every device"))
            f.append(figure(runId, 4, "endurance.failing", "devices failing read-verify", Double(failing), "1", nil, "devices whose set reading was less than 4 ADC codes above their reset reading in some cycle"))
            f.append(figure(runId, 5, "endurance.ratio.first", "set/reset ratio, first cycle (mean)", mean(firstRatio), "1", nil, "G_set / G_reset"))
            f.append(figure(runId, 6, "endurance.ratio.last", "set/reset ratio, last cycle (mean)", mean(lastRatio), "1", nil, "G_set / G_reset"))
        case .disturb:
            var slopes: [Double] = [], significant = 0
            for (_, ps) in byDevice {
                let s = ps.sorted { $0.step < $1.step }
                let fit = slope(s.map { Double($0.step) }, s.map(\.conductance.value))
                slopes.append(fit.slope)
                if fit.error > 0 && abs(fit.slope) > 3 * fit.error { significant += 1 }
            }
            f.append(figure(runId, 3, "disturb.drift", "conductance drift per read (mean)", mean(slopes), "S", standardDeviation(slopes) / Double(max(slopes.count, 1)).squareRoot(), "least-squares slope of G against the read number, mean over devices"))
            f.append(figure(runId, 4, "disturb.significant", "devices with a drift beyond 3 standard errors", Double(significant), "1", nil, "about 0.3 % of the devices by chance alone"))
        case .map, .form, .iv:
            break
        }
        return f
    }

    /// Forming: devices formed, forming voltage (mean and spread), the compliance in force and the
    /// largest current measured. I-V: loops, the pinch current, SET and RESET onsets and the
    /// on/off ratio of the last loop (docs/characterization.md).
    static func sweepFigures(_ o: CharacterizationRun.Options, _ s: CharacterizationRun.SweepOutcome, runId: String, position: Int) -> [FigureRecord] {
        var f: [FigureRecord] = []
        func add(_ key: String, _ name: String, _ value: Double, _ unit: String, _ u: Double? = nil, _ definition: String) {
            f.append(figure(runId, position + f.count, key, name, value, unit, u, definition))
        }
        let peak = s.points.compactMap { $0.current?.magnitude.value }.max() ?? 0
        add("sweep.compliance", "compliance held by the board", s.compliance.value, "A", nil, "the request's compliance, or the board's active limit when that is lower")
        add("sweep.clamped", "compliance clamped by the board", s.clamped ? 1 : 0, "1", nil, "1 when the board lowered the requested compliance to its active limit")
        add("sweep.peakCurrent", "largest current measured", peak, "A", nil, "largest |I| at the end of any step (never above the compliance)")
        add("sweep.currentResolution", "current of one converter code", s.currentResolution.value, "A", nil, "the board's current conversion: full scale / largest code")
        if o.procedure == .form {
            let formed = s.formingVoltages.values.compactMap { $0?.value }
            add("form.formed", "devices formed", Double(formed.count), "1", nil, "devices whose sweep reached the stop condition")
            add("form.fraction", "fraction formed", Double(formed.count) / Double(max(s.formingVoltages.count, 1)), "1", nil, "devices formed / devices swept")
            if !formed.isEmpty {
                add("form.voltage", "forming voltage (mean)", mean(formed), "V", standardDeviation(formed) / Double(formed.count).squareRoot(), "voltage of the step that formed the device, mean over devices")
                add("form.voltage.spread", "forming voltage, device-to-device σ", standardDeviation(formed), "V", nil, "standard deviation over devices")
            }
            let after = s.points.filter { $0.polarity == 0 && $0.current == nil }.map(\.conductance.value).sorted()
            add("form.conductanceAfter", "conductance after forming (median)", quantile(after, 0.5), "S", nil, "read at the read voltage after the sweep")
        } else {
            let traces = IVTraceAnalysis(s.points, resolution: s.currentResolution.value)
            add("iv.loops", "loops per device", Double(o.ivLoops), "1", nil, "0 → +max → 0 → −reverse → 0")
            add("iv.pinch", "largest current at 0 V", traces.pinchCurrent, "A", nil, "a memristor's loop is pinched at the origin: this is converter noise")
            if let v = traces.medianSetOnset { add("iv.setOnset", "SET onset (median)", v, "V", nil, "first voltage of the positive outbound branch where the current rises above Ohm's law at the previous step's conductance by 5 % and 2 codes, or the limiter holds") }
            if let v = traces.medianResetOnset { add("iv.resetOnset", "RESET onset (median)", v, "V", nil, "first voltage of the negative outbound branch where |I| falls below Ohm's law at the previous step's conductance by 5 % and 2 codes") }
            if let r = traces.medianOnOff { add("iv.onOff", "on/off ratio, last loop (median)", r, "1", nil, "chord conductance I/V at the positive step nearest half the maximum, after SET / before it") }
        }
        return f
    }

    static func mapFigures(_ mapped: [MappedDevice], readNoise: Siemens, runId: String, position: Int) -> [FigureRecord] {
        let healthy = mapped.filter { $0.deviceClass == .healthy }.count
        var f = [
            figure(runId, position, "map.yield", "yield (healthy devices)", Double(healthy) / Double(max(mapped.count, 1)), "1", nil, "healthy devices / devices mapped"),
            figure(runId, position + 1, "map.readNoise", "read noise (σ)", readNoise.value, "S", nil, "RMS of the difference of two reads / √2 (noise and quantisation)"),
        ]
        for (k, c) in DeviceClass.allCases.enumerated() {
            f.append(figure(runId, position + 2 + k, "map.\(c.rawValue)", "devices \(c.rawValue)", Double(mapped.filter { $0.deviceClass == c }.count), "1", nil, "devices the map classified \(c.rawValue)"))
        }
        return f
    }
}
