import Foundation
import LandauerDrivers
import LandauerFirmware

/// Runs characterisation procedures on a board through the board client only: single-device
/// reads (READ CONDUCTANCE), programming pulses with repeats (PROGRAM PULSES) and the board's
/// timer (TEMPERATURE answers with the board time). Nothing here knows whether the board is real.
///
/// Every request is batched as far as the board's limits allow (INFO's largest body, the active
/// `maxPulsesPerRequest`): one step of a pulse train is one PROGRAM PULSES request for all devices
/// of the block (or as few as fit) and one READ CONDUCTANCE per block of rows that fits a
/// response. Readings go to `sink` as each step completes, so a store can write them in batches.
public struct Characterizer: Sendable {
    /// Receives the readings of each step as they are taken.
    public typealias Sink = @Sendable ([CharacterizationPoint]) throws -> Void
    /// Receives the fraction done (0…1) and a short description of what is being done.
    public typealias Progress = @Sendable (Double, String) -> Void
    /// Lets `duration` of time pass on the board: a real bench sleeps; a virtual board in
    /// lockstep idles its clock (it does not advance on its own).
    public typealias Wait = @Sendable (Seconds) async throws -> Void

    public let client: BoardClient
    public let info: BoardInfo
    public var settings: PulseSettings
    public var sink: Sink
    public var progress: Progress

    /// A characteriser on `client` (HELLO first, to learn the board's geometry and limits).
    public init(client: BoardClient, settings: PulseSettings = PulseSettings(), sink: @escaping Sink = { _ in }, progress: @escaping Progress = { _, _ in }) async throws {
        self.client = client
        info = try await client.hello()
        self.settings = settings
        self.sink = sink
        self.progress = progress
        let limits = info.activeLimits
        guard settings.readVoltage.value > 0, settings.readVoltage <= limits.readVoltage else {
            throw CharacterizationError.badSettings(
                "read voltage \(settings.readVoltage.formatted()) is outside (0, \(limits.readVoltage.formatted())], the board's read limit; choose a smaller --read-voltage")
        }
        guard settings.amplitude.value > 0, settings.amplitude <= limits.programVoltage else {
            throw CharacterizationError.badSettings(
                "pulse amplitude \(settings.amplitude.formatted()) is outside (0, \(limits.programVoltage.formatted())], the board's programming limit; choose a smaller --amplitude")
        }
        guard settings.widthNanoseconds >= limits.minPulseWidthNanoseconds, settings.widthNanoseconds <= limits.maxPulseWidthNanoseconds else {
            throw CharacterizationError.badSettings(
                "pulse width \(settings.widthNanoseconds) ns is outside the board's \(limits.minPulseWidthNanoseconds) … \(limits.maxPulseWidthNanoseconds) ns")
        }
    }

    // MARK: Batched requests

    /// Conductance of one ADC code at the read voltage.
    public var siemensPerCode: Siemens {
        Siemens(info.deviceReadFullScale.value / Double(max(info.adcMaxCode, 1)) / settings.readVoltage.value)
    }

    /// Reads every device of `block` (in `block.devices` order), in as few requests as fit.
    /// `clipped` marks readings at the ADC's full-scale code.
    public func read(_ block: DeviceBlock) async throws -> (conductances: [Siemens], clipped: [Bool]) {
        try check(block)
        let maxBody = Int(info.maxRequestBody)
        let perCell = 2 * block.sideCount
        let columnsPerRequest = max(1, min(block.columns, (maxBody - 9) / perCell))
        let rowsPerRequest = columnsPerRequest < block.columns ? 1 : max(1, (maxBody - 9) / (perCell * block.columns))
        var g = [Siemens](repeating: .zero, count: block.rows * block.columns * block.sideCount)
        var clipped = [Bool](repeating: false, count: g.count)
        let top = Int16(info.adcMaxCode)
        var r = 0
        while r < block.rows {
            let rows = min(rowsPerRequest, block.rows - r)
            var c = 0
            while c < block.columns {
                let columns = min(columnsPerRequest, block.columns - c)
                let result = try await client.readConductances(
                    ConductanceRead(
                        tile: UInt8(block.tile), sides: block.sides, row: UInt16(block.row + r), column: UInt16(block.column + c),
                        rows: UInt16(rows), columns: UInt16(columns), readVoltage: settings.readVoltage))
                for i in 0..<rows {
                    for j in 0..<columns {
                        for s in 0..<block.sideCount {
                            let k = (i * columns + j) * block.sideCount + s
                            let out = ((r + i) * block.columns + (c + j)) * block.sideCount + s
                            g[out] = result.conductance(k)
                            clipped[out] = abs(result.codes[k]) >= top
                        }
                    }
                }
                c += columns
            }
            r += rows
        }
        return (g, clipped)
    }

    /// Applies `pulses`, split into as few PROGRAM PULSES requests as the body size and the
    /// pulse-count limit allow. Returns the pulses applied and the board time spent.
    @discardableResult
    public func program(_ pulses: [PulseCommand]) async throws -> (pulses: Int, boardTime: Seconds) {
        let perBody = max(1, (Int(info.maxRequestBody) - 2) / PulseCommand.wireSize)
        let maxPulses = Int(info.activeLimits.maxPulsesPerRequest)
        var applied = 0
        var elapsed: UInt64 = 0
        var k = 0
        while k < pulses.count {
            var chunk: [PulseCommand] = []
            var count = 0
            while k < pulses.count, chunk.count < perBody, count + Int(pulses[k].repeat) <= maxPulses || chunk.isEmpty {
                count += Int(pulses[k].repeat)
                chunk.append(pulses[k])
                k += 1
            }
            let r = try await client.program(pulses: chunk)
            applied += Int(r.pulsesApplied)
            elapsed += r.elapsedNanoseconds
        }
        return (applied, Seconds(nanoseconds: elapsed))
    }

    /// `count` pulses of `polarity` on every device of `block` (split into repeats the protocol allows).
    public func pulse(_ block: DeviceBlock, polarity: Int8, count: Int) async throws {
        guard count > 0 else { return }
        let most = max(1, min(Int(UInt16.max), Int(info.activeLimits.maxPulsesPerRequest)))
        var left = count
        while left > 0 {
            let n = min(left, most)
            try await program(block.devices.map { command($0, polarity: polarity, repeat: n) })
            left -= n
        }
    }

    func command(_ d: DeviceAddress, polarity: Int8, repeat n: Int) -> PulseCommand {
        PulseCommand(
            tile: UInt8(d.tile), side: d.side, row: UInt16(d.row), column: UInt16(d.column), polarity: polarity,
            amplitude: settings.amplitude, widthNanoseconds: settings.widthNanoseconds, repeat: UInt16(n))
    }

    /// The board's own time (from a TEMPERATURE exchange).
    public func boardTime() async throws -> Seconds {
        Seconds(nanoseconds: try await client.temperature().timestampNanoseconds)
    }

    func check(_ block: DeviceBlock) throws {
        guard block.tile >= 0, block.tile < info.tiles.count else {
            throw CharacterizationError.badSettings("the board has tiles 0 … \(info.tiles.count - 1), not \(block.tile)")
        }
        let t = info.tiles[block.tile]
        guard block.row >= 0, block.column >= 0, block.rows > 0, block.columns > 0, block.row + block.rows <= Int(t.rows),
              block.column + block.columns <= Int(t.columns), (1...3).contains(block.sides)
        else {
            throw CharacterizationError.badSettings("\(block) does not fit tile \(block.tile) (\(t.rows) × \(t.columns))")
        }
    }

    func points(
        _ procedure: CharacterizationProcedure, _ block: DeviceBlock, _ g: [Siemens], train: Int, step: Int, polarity: Int8, pulses: Int, time: Seconds
    ) -> [CharacterizationPoint] {
        let amplitude = pulses > 0 ? settings.amplitude : nil
        return zip(block.devices, g).map {
            CharacterizationPoint(
                procedure: procedure, device: $0, train: train, step: step, polarity: polarity, pulses: pulses, boardTime: time, conductance: $1,
                voltage: amplitude)
        }
    }

    // MARK: Pulse response

    /// Pulse response: `noiseReads` reads of every device without pulsing (the read noise), then
    /// `cycles` × (a train of `steps` potentiating steps, then `steps` depressing ones), each step
    /// `pulsesPerStep` pulses on every device followed by a read. Trains are numbered from 0
    /// (even: potentiating, odd: depressing); times are board seconds since the procedure began,
    /// taken at the start of each train.
    ///
    /// With `amplitudes`, the cycles run once per amplitude, in the order given (trains keep
    /// counting), and every reading records its amplitude: what a compact physical model's
    /// voltage dependence is fitted to.
    public func pulseResponse(
        _ block: DeviceBlock, steps: Int, cycles: Int, pulsesPerStep: Int = 1, noiseReads: Int = 8, amplitudes: [Volts] = []
    ) async throws -> [CharacterizationPoint] {
        guard steps >= 2, cycles >= 1, pulsesPerStep >= 1, noiseReads >= 2 else {
            throw CharacterizationError.badSettings("pulse response needs at least 2 steps per train, 1 cycle, 1 pulse per step and 2 noise reads")
        }
        let limit = info.activeLimits.programVoltage
        if let bad = amplitudes.first(where: { !($0.value > 0) || $0 > limit }) {
            throw CharacterizationError.badSettings("pulse amplitude \(bad.formatted()) is outside (0, \(limit.formatted())], the board's programming limit")
        }
        try check(block)
        var all: [CharacterizationPoint] = []
        let t0 = try await boardTime()
        for k in 0..<noiseReads {
            let p = points(.pulse, block, try await read(block).conductances, train: -1, step: k, polarity: 0, pulses: 0, time: .zero)
            try sink(p)
            all += p
        }
        let levels = amplitudes.isEmpty ? [settings.amplitude] : amplitudes
        let total = Double(2 * cycles * steps * levels.count)
        var me = self
        for train in 0..<(2 * cycles * levels.count) {
            let polarity: Int8 = train % 2 == 0 ? 1 : -1
            me.settings.amplitude = levels[train / (2 * cycles)]
            let t = try await boardTime() - t0
            let cycle = (train % (2 * cycles)) / 2 + 1
            progress(
                Double(train * steps) / total,
                "pulse response: \(levels.count > 1 ? "\(me.settings.amplitude.formatted()), " : "")cycle \(cycle) of \(cycles), \(polarity > 0 ? "potentiating" : "depressing")")
            let commands = block.devices.map { me.command($0, polarity: polarity, repeat: pulsesPerStep) }
            for step in 1...steps {
                try await program(commands)
                let p = me.points(.pulse, block, try await read(block).conductances, train: train, step: step, polarity: polarity, pulses: step * pulsesPerStep, time: t)
                try sink(p)
                all += p
            }
            // Repeated reads at the train's end, near a bound: the read noise there (polarity 0: no pulse).
            for k in 0..<noiseReads {
                let p = me.points(.pulse, block, try await read(block).conductances, train: train, step: steps + 1 + k, polarity: 0, pulses: steps * pulsesPerStep, time: t)
                try sink(p)
                all += p
            }
        }
        progress(1, "pulse response done")
        return all
    }

    // MARK: Retention

    /// Retention: after `preparePulses` potentiating pulses on every device (0: as found), reads
    /// at board times 0 and `first` × 10^(k / `perDecade`) up to `duration`; between reads the
    /// board is left alone for the time `wait` lets pass. Times are board seconds since the reads began.
    public func retention(
        _ block: DeviceBlock, preparePulses: Int, first: Seconds, duration: Seconds, perDecade: Int, wait: Wait
    ) async throws -> [CharacterizationPoint] {
        guard first.value > 0, duration > first, perDecade >= 1 else {
            throw CharacterizationError.badSettings("retention needs 0 < first interval < duration and at least one read per decade")
        }
        try check(block)
        try await pulse(block, polarity: 1, count: preparePulses)
        var schedule: [Seconds] = [.zero]
        var k = 0
        while true {
            let t = first * pow(10, Double(k) / Double(perDecade))
            if t > duration * (1 + 1e-9) { break }
            schedule.append(t)
            k += 1
        }
        var all: [CharacterizationPoint] = []
        let t0 = try await boardTime()
        for (step, target) in schedule.enumerated() {
            var now = try await boardTime() - t0
            if now < target {
                try await wait(target - now)
                now = try await boardTime() - t0
            }
            progress(Double(step) / Double(schedule.count), "retention: read \(step + 1) of \(schedule.count) at \(now.formatted())")
            let p = points(.retention, block, try await read(block).conductances, train: 0, step: step, polarity: 0, pulses: preparePulses, time: now)
            try sink(p)
            all += p
        }
        progress(1, "retention done")
        return all
    }

    // MARK: Endurance

    /// Endurance: `cycles` set/reset cycles, each `pulsesPerSwitch` potentiating pulses on every
    /// device then a verifying read, then as many depressing pulses and a read (train 2c: set,
    /// 2c + 1: reset). A device fails a cycle when its set reading is not at least `margin` above
    /// its reset reading.
    public func endurance(_ block: DeviceBlock, cycles: Int, pulsesPerSwitch: Int) async throws -> [CharacterizationPoint] {
        guard cycles >= 1, pulsesPerSwitch >= 1 else { throw CharacterizationError.badSettings("endurance needs at least one cycle and one pulse per switch") }
        try check(block)
        var all: [CharacterizationPoint] = []
        let t0 = try await boardTime()
        for cycle in 0..<cycles {
            progress(Double(cycle) / Double(cycles), "endurance: cycle \(cycle + 1) of \(cycles)")
            for (half, polarity) in [(0, Int8(1)), (1, Int8(-1))] {
                try await pulse(block, polarity: polarity, count: pulsesPerSwitch)
                let t = try await boardTime() - t0
                let p = points(.endurance, block, try await read(block).conductances, train: 2 * cycle + half, step: 1, polarity: polarity, pulses: pulsesPerSwitch, time: t)
                try sink(p)
                all += p
            }
        }
        progress(1, "endurance done")
        return all
    }

    // MARK: Read disturb

    /// Read disturb: `reads` reads of every device at the read voltage, each one recorded with
    /// its board time (seconds since the first).
    public func readDisturb(_ block: DeviceBlock, reads: Int) async throws -> [CharacterizationPoint] {
        guard reads >= 3 else { throw CharacterizationError.badSettings("read disturb needs at least 3 reads") }
        try check(block)
        var all: [CharacterizationPoint] = []
        let t0 = try await boardTime()
        for step in 0..<reads {
            if step % max(1, reads / 20) == 0 { progress(Double(step) / Double(reads), "read disturb: read \(step + 1) of \(reads)") }
            let t = try await boardTime() - t0
            let p = points(.disturb, block, try await read(block).conductances, train: 0, step: step, polarity: 0, pulses: 0, time: t)
            try sink(p)
            all += p
        }
        progress(1, "read disturb done")
        return all
    }

    // MARK: Conductance map

    /// Whole-array map: for each block, two reads (conductance and read noise), `probePulses`
    /// potentiating pulses and a read, twice as many depressing pulses and a read, `probePulses`
    /// potentiating pulses again (the device ends near where it began) and a read. Trains: 0 the
    /// two reads before any pulse, 1 up, 2 down, 3 up again. Devices that have not responded yet
    /// get the same probe with 8 times as many pulses (trains 4, 5, 6), and those that still have
    /// not with 32 times as many (7, 8, 9), so a slow device is not taken for a stuck one.
    public func conductanceMap(_ blocks: [DeviceBlock], probePulses: Int) async throws -> [CharacterizationPoint] {
        guard probePulses >= 1 else { throw CharacterizationError.badSettings("the map needs at least one probe pulse") }
        var all: [CharacterizationPoint] = []
        let t0 = try await boardTime()
        let classifier = ConductanceMapClassifier(siemensPerCode: siemensPerCode, maxCode: Int(info.adcMaxCode))
        for (k, block) in blocks.enumerated() {
            try check(block)
            progress(Double(k) / Double(blocks.count), "map: \(block)")
            var mine: [CharacterizationPoint] = []
            for step in 0..<2 {
                let p = points(.map, block, try await read(block).conductances, train: 0, step: step, polarity: 0, pulses: 0, time: try await boardTime() - t0)
                try sink(p)
                mine += p
            }
            let threshold = classifier.responseThreshold(readNoise: classifier.readNoise(mine))
            let devices = block.devices
            var probe = devices
            for (round, count) in [(0, probePulses), (1, 8 * probePulses), (2, 32 * probePulses)] {
                if probe.isEmpty { break }
                let chosen = Set(probe)
                for (offset, polarity, n) in [(1, Int8(1), count), (2, Int8(-1), 2 * count), (3, Int8(1), count)] {
                    let most = max(1, min(Int(UInt16.max), Int(info.activeLimits.maxPulsesPerRequest)))
                    var left = n
                    while left > 0 {
                        let m = min(left, most)
                        try await program(probe.map { command($0, polarity: polarity, repeat: m) })
                        left -= m
                    }
                    let g = try await read(block).conductances
                    let time = try await boardTime() - t0
                    let p = zip(devices, g).filter { chosen.contains($0.0) }.map {
                        CharacterizationPoint(procedure: .map, device: $0.0, train: 3 * round + offset, step: 1, polarity: polarity, pulses: n, boardTime: time, conductance: $0.1,
                            voltage: settings.amplitude)
                    }
                    try sink(p)
                    mine += p
                }
                let swings = classifier.swings(mine)
                probe = devices.filter { (swings[$0] ?? 0) <= threshold.value }
            }
            all += mine
        }
        progress(1, "map done")
        return all
    }
}

