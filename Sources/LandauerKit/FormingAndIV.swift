import LandauerDrivers
import LandauerFirmware

// Forming and I-V tracing through the board client only (SINGLE-CELL SWEEP, docs/protocol.md), so
// they run unchanged on a real bench and on the virtual one. The board's engine enforces the
// current compliance; these procedures only ask for it and report what was in force.

/// One measured step of a sweep, in physical units.
public struct SweepPoint: Sendable, Equatable, Codable {
    /// The voltage the board applied across the device.
    public var voltage: Volts
    /// The device current at the end of the step.
    public var current: Amperes
    /// Whether the board's current limiter held the current at the compliance during the step.
    public var limited: Bool
    /// Pulsed sweeps: the conductance read after the pulse; nil for a staircase.
    public var readConductance: Siemens?

    /// Creates a point.
    public init(voltage: Volts, current: Amperes, limited: Bool, readConductance: Siemens? = nil) {
        self.voltage = voltage
        self.current = current
        self.limited = limited
        self.readConductance = readConductance
    }
}

/// Why a forming or I-V procedure could not run.
public enum SweepProcedureError: Error, CustomStringConvertible, Equatable {
    /// A setting is out of range; the message says which and what is allowed.
    case badSettings(String)
    /// The board refused a request or the link failed.
    case board(BoardError)

    public var description: String {
        switch self {
        case .badSettings(let s): s
        case .board(let e): "\(e)"
        }
    }

    public static func == (a: SweepProcedureError, b: SweepProcedureError) -> Bool { a.description == b.description }
}

/// The outcome of the SINGLE-CELL SWEEP requests of one procedure, joined.
struct JoinedSweep {
    var points: [SweepPoint] = []
    var stopped = false
    var compliance = Amperes.zero
    var complianceClamped = false
    var amperesPerCode = Amperes.zero
}

/// Runs `request` with all of `voltages`, split into as many requests as the board's limits need;
/// stops after the request whose stop condition fired.
func runSweep(_ request: SweepRequest, voltages: [Volts], on client: BoardClient) async throws(SweepProcedureError) -> JoinedSweep {
    let perRequest = await client.maxSweepSteps
    guard perRequest > 0 else { throw .badSettings("the board's buffers hold no sweep step") }
    var joined = JoinedSweep()
    var first = 0
    while first < voltages.count && !joined.stopped {
        var part = request
        part.voltages = Array(voltages[first..<min(first + perRequest, voltages.count)])
        let result: SweepResult
        do {
            result = try await client.sweep(part)
        } catch {
            throw .board(error)
        }
        for (i, step) in result.steps.enumerated() {
            joined.points.append(SweepPoint(
                voltage: step.voltage, current: result.current(i), limited: step.limited,
                readConductance: request.mode == .pulsed ? result.readConductance(i) : nil))
        }
        joined.stopped = result.stopped
        joined.compliance = result.compliance
        joined.amperesPerCode = result.amperesPerCode
        joined.complianceClamped = joined.complianceClamped || result.complianceClamped
        first += part.voltages.count
    }
    return joined
}

/// Checks the settings shared by the procedures.
func checkSweepSettings(device: DeviceAddress, dwellNanoseconds: UInt32, compliance: Amperes) throws(SweepProcedureError) {
    guard (0...255).contains(device.tile), (0...65535).contains(device.row), (0...65535).contains(device.column) else {
        throw .badSettings("device \(device) does not fit the protocol's address fields")
    }
    guard dwellNanoseconds > 0 else { throw .badSettings("the dwell must be positive") }
    guard compliance.value > 0, compliance.value.isFinite else { throw .badSettings("the compliance must be positive, not \(compliance)") }
}

/// Forming with a current compliance: a voltage staircase (or growing pulses, each followed by a
/// read) on one fresh device until it switches, the board's current limiter holding the current at
/// the compliance. It stops at the compliance (the limiter engaged: the filament formed) or, when
/// `formedConductance` is given, once the device conducts that much.
public struct FormingProcedure: Sendable, Equatable {
    /// The device to form.
    public var device: DeviceAddress
    /// The first step's voltage.
    public var startVoltage: Volts
    /// The largest voltage tried.
    public var stopVoltage: Volts
    /// The increase per step.
    public var stepVoltage: Volts
    /// How long each step holds (staircase) or each pulse lasts (pulsed), in nanoseconds.
    public var dwellNanoseconds: UInt32
    /// The current limit asked for (the board clamps it to its active limit).
    public var compliance: Amperes
    /// Staircase (current measured under bias) or pulsed (a read after each pulse).
    public var mode: SweepMode
    /// The read voltage of pulsed steps and of the read after forming.
    public var readVoltage: Volts
    /// Stop once the device conducts this much (|I|/|V| of a staircase step, the read conductance of
    /// a pulsed one); nil stops at the compliance.
    public var formedConductance: Siemens?

    /// Creates a forming procedure (defaults: 0.5 V to 3 V in 50 mV steps of 10 µs, 20 µA).
    public init(
        device: DeviceAddress, startVoltage: Volts = Volts(0.5), stopVoltage: Volts = Volts(3.0),
        stepVoltage: Volts = Volts(0.05), dwellNanoseconds: UInt32 = 10_000, compliance: Amperes = Amperes(20e-6),
        mode: SweepMode = .staircase, readVoltage: Volts = Volts(0.2), formedConductance: Siemens? = nil
    ) {
        self.device = device
        self.startVoltage = startVoltage
        self.stopVoltage = stopVoltage
        self.stepVoltage = stepVoltage
        self.dwellNanoseconds = dwellNanoseconds
        self.compliance = compliance
        self.mode = mode
        self.readVoltage = readVoltage
        self.formedConductance = formedConductance
    }

    /// The staircase's voltages, start to stop.
    public var voltages: [Volts] {
        let n = Int(((stopVoltage.value - startVoltage.value) / stepVoltage.value + 1e-9).rounded(.down)) + 1
        return (0..<max(n, 0)).map { Volts(startVoltage.value + Double($0) * stepVoltage.value) }
    }

    /// Runs the procedure on `client` (after its `hello()`): the sweep, then one read of the device.
    public func run(on client: BoardClient) async throws(SweepProcedureError) -> FormingResult {
        try checkSweepSettings(device: device, dwellNanoseconds: dwellNanoseconds, compliance: compliance)
        guard startVoltage.value > 0, stepVoltage.value > 0, stopVoltage >= startVoltage else {
            throw .badSettings("forming needs 0 < start ≤ stop and a positive step (start \(startVoltage), stop \(stopVoltage), step \(stepVoltage))")
        }
        if let g = formedConductance, !(g.value > 0) { throw .badSettings("the formed conductance must be positive") }
        let request = SweepRequest(
            tile: UInt8(device.tile), side: device.side, row: UInt16(device.row), column: UInt16(device.column), mode: mode,
            stop: formedConductance == nil ? .compliance : .conductance, dwellNanoseconds: dwellNanoseconds,
            compliance: compliance, readVoltage: mode == .pulsed ? readVoltage : .zero,
            stopConductance: formedConductance ?? .zero, voltages: [])
        let sweep = try await runSweep(request, voltages: voltages, on: client)
        let after: ConductanceReadResult
        do {
            after = try await client.readConductances(ConductanceRead(
                tile: UInt8(device.tile), sides: device.side == .plus ? 1 : 2, row: UInt16(device.row),
                column: UInt16(device.column), rows: 1, columns: 1, readVoltage: readVoltage))
        } catch {
            throw .board(error)
        }
        return FormingResult(
            device: device, points: sweep.points, formed: sweep.stopped,
            formingVoltage: sweep.stopped ? sweep.points.last?.voltage : nil, compliance: sweep.compliance,
            complianceClamped: sweep.complianceClamped, currentResolution: sweep.amperesPerCode, conductanceAfter: after.conductance(0))
    }
}

/// What forming did to one device.
public struct FormingResult: Sendable, Equatable, Codable {
    /// The device.
    public var device: DeviceAddress
    /// Every step applied, in order.
    public var points: [SweepPoint]
    /// Whether the stop condition was met (the device switched).
    public var formed: Bool
    /// The voltage of the step that formed it.
    public var formingVoltage: Volts?
    /// The compliance the board held (the request's, or its active limit when that was lower).
    public var compliance: Amperes
    /// Whether the board clamped the requested compliance to its active limit.
    public var complianceClamped: Bool
    /// One code of the board's current conversion.
    public var currentResolution: Amperes
    /// The device's conductance read after the sweep.
    public var conductanceAfter: Siemens
}

/// I-V curve tracing on one device: a staircase (the current measured under bias at every step)
/// or a pulsed sweep (a pulse per step, each followed by a read), from 0 V up to `maximumVoltage`,
/// back through 0 V down to −`reverseVoltage`, and back to 0 V, `cycles` times: a memristor traces
/// a loop pinched at the origin, SET on the positive branch, RESET on the negative.
public struct IVSweep: Sendable, Equatable {
    /// The device to trace.
    public var device: DeviceAddress
    /// The largest positive voltage.
    public var maximumVoltage: Volts
    /// The magnitude of the most negative voltage.
    public var reverseVoltage: Volts
    /// The voltage step.
    public var stepVoltage: Volts
    /// How long each step holds (staircase) or each pulse lasts (pulsed), in nanoseconds.
    public var dwellNanoseconds: UInt32
    /// The current limit asked for (the board clamps it to its active limit).
    public var compliance: Amperes
    /// Staircase or pulsed.
    public var mode: SweepMode
    /// The read voltage of a pulsed sweep.
    public var readVoltage: Volts
    /// How many loops.
    public var cycles: Int

    /// Creates an I-V sweep (defaults: ±1.5 V in 100 mV steps of 100 µs, 100 µA, one loop).
    public init(
        device: DeviceAddress, maximumVoltage: Volts = Volts(1.5), reverseVoltage: Volts = Volts(1.5),
        stepVoltage: Volts = Volts(0.1), dwellNanoseconds: UInt32 = 100_000, compliance: Amperes = Amperes(100e-6),
        mode: SweepMode = .staircase, readVoltage: Volts = Volts(0.2), cycles: Int = 1
    ) {
        self.device = device
        self.maximumVoltage = maximumVoltage
        self.reverseVoltage = reverseVoltage
        self.stepVoltage = stepVoltage
        self.dwellNanoseconds = dwellNanoseconds
        self.compliance = compliance
        self.mode = mode
        self.readVoltage = readVoltage
        self.cycles = cycles
    }

    /// One loop's voltages: 0 → +max → 0 → −reverse → 0, in steps (each end point once).
    public var loopVoltages: [Volts] {
        func ramp(_ to: Double) -> [Double] {
            let n = Int((abs(to) / stepVoltage.value + 1e-9).rounded(.down))
            let up = (0...n).map { Double($0) * stepVoltage.value * (to < 0 ? -1 : 1) }
            return up + up.dropLast().reversed()
        }
        let positive = ramp(maximumVoltage.value)
        let negative = ramp(-reverseVoltage.value)
        return (positive + negative.dropFirst()).map(Volts.init)
    }

    /// Runs the sweep on `client` (after its `hello()`).
    public func run(on client: BoardClient) async throws(SweepProcedureError) -> IVCurve {
        try checkSweepSettings(device: device, dwellNanoseconds: dwellNanoseconds, compliance: compliance)
        guard maximumVoltage.value > 0, reverseVoltage.value >= 0, stepVoltage.value > 0, cycles >= 1 else {
            throw .badSettings("an I-V sweep needs a positive maximum, a non-negative reverse voltage, a positive step and at least one cycle")
        }
        var voltages: [Volts] = []
        for _ in 0..<cycles { voltages += loopVoltages }
        let request = SweepRequest(
            tile: UInt8(device.tile), side: device.side, row: UInt16(device.row), column: UInt16(device.column), mode: mode,
            stop: .none, dwellNanoseconds: dwellNanoseconds, compliance: compliance,
            readVoltage: mode == .pulsed ? readVoltage : .zero, voltages: [])
        let sweep = try await runSweep(request, voltages: voltages, on: client)
        return IVCurve(
            device: device, pulsed: mode == .pulsed, points: sweep.points, compliance: sweep.compliance, complianceClamped: sweep.complianceClamped,
            currentResolution: sweep.amperesPerCode)
    }
}

/// A traced I-V curve.
public struct IVCurve: Sendable, Equatable, Codable {
    /// The device.
    public var device: DeviceAddress
    /// Whether it was traced with pulses (a read after each) rather than a staircase.
    public var pulsed: Bool
    /// Every step, in order.
    public var points: [SweepPoint]
    /// The compliance the board held.
    public var compliance: Amperes
    /// Whether the board clamped the requested compliance to its active limit.
    public var complianceClamped: Bool
    /// One code of the board's current conversion.
    public var currentResolution: Amperes

    /// The largest |I| measured at 0 V: a memristor's loop is pinched there (0 up to converter noise).
    public var pinchCurrent: Amperes {
        points.filter { $0.voltage.value == 0 }.map(\.current.magnitude).max() ?? .zero
    }

    /// The currents measured at `voltage` on the way out from 0 V and on the way back, per loop
    /// segment in order: for a positive voltage the first pair is (rising, falling) of the positive
    /// branch, for a negative one that of the negative branch.
    public func branchCurrents(at voltage: Volts) -> [(outbound: Amperes, inbound: Amperes)] {
        var out: [(Amperes, Amperes)] = []
        var pending: Amperes?
        for k in points.indices where points[k].voltage == voltage {
            let previous = k > 0 ? points[k - 1].voltage.magnitude : .zero
            if points[k].voltage.magnitude > previous {
                pending = points[k].current
            } else if let p = pending {
                out.append((p, points[k].current))
                pending = nil
            }
        }
        return out
    }
}

/// What the I-V traces of a characterisation run show (its points: one per step, `train` the
/// loop): the SET and RESET onsets, the on/off ratio and the pinch current (docs/characterization.md).
///
/// The board converts currents in codes of `resolution` amperes, so a high-resistance state may
/// read a few codes only: a change counts when it exceeds both 5 % and two codes.
struct IVTraceAnalysis {
    /// The four branches of one loop, each in the order traced.
    struct Loop {
        var positiveOut: [CharacterizationPoint] = []
        var positiveBack: [CharacterizationPoint] = []
        var negativeOut: [CharacterizationPoint] = []
        var negativeBack: [CharacterizationPoint] = []
    }

    /// Loops per device, in order.
    var loops: [DeviceAddress: [Loop]] = [:]
    /// Largest |I| measured at 0 V.
    var pinchCurrent = 0.0
    /// One code of the current conversion, A.
    var resolution: Double

    init(_ points: [CharacterizationPoint], resolution: Double) {
        self.resolution = resolution
        for p in points where p.procedure == .iv && p.voltage?.value == 0 {
            pinchCurrent = max(pinchCurrent, abs(p.current?.value ?? 0))
        }
        let byDevice = Dictionary(grouping: points.filter { $0.procedure == .iv && $0.voltage != nil && $0.current != nil }, by: \.device)
        for (device, ps) in byDevice {
            let byLoop = Dictionary(grouping: ps, by: \.train)
            loops[device] = byLoop.keys.sorted().map { k in
                var loop = Loop()
                var previous = 0.0
                for p in byLoop[k]!.sorted(by: { $0.step < $1.step }) {
                    let v = p.voltage!.value
                    defer { previous = v }
                    if v > 0 {
                        if v > previous { loop.positiveOut.append(p) } else { loop.positiveBack.append(p) }
                    } else if v < 0 {
                        if v < previous { loop.negativeOut.append(p) } else { loop.negativeBack.append(p) }
                    }
                }
                return loop
            }
        }
    }

    /// The first voltage of an outbound branch (|V| rising) at which the current departs from
    /// Ohm's law at the previous step's conductance, I_k ≈ I_{k−1}·V_k/V_{k−1}, by more than 5 %
    /// and two codes: upward for SET (`rising`), downward for RESET; or the first step the
    /// limiter held. Nil when the branch never switches.
    func onset(_ branch: [CharacterizationPoint], rising: Bool) -> Double? {
        for k in branch.indices {
            let p = branch[k]
            if p.limited { return p.voltage!.value }
            guard k > 0 else { continue }
            let q = branch[k - 1]
            let expected = abs(q.current!.value) * abs(p.voltage!.value / q.voltage!.value)
            let measured = abs(p.current!.value)
            let change = rising ? measured - expected : expected - measured
            if change > max(0.05 * max(expected, measured), 2 * resolution) { return p.voltage!.value }
        }
        return nil
    }

    static func median(_ v: [Double]) -> Double? { v.isEmpty ? nil : quantile(v.sorted(), 0.5) }

    /// Median over devices and loops of the SET onset (positive outbound branch).
    var medianSetOnset: Double? { Self.median(loops.values.flatMap { $0.compactMap { onset($0.positiveOut, rising: true) } }) }
    /// Median over devices and loops of the RESET onset (negative outbound branch; negative).
    var medianResetOnset: Double? { Self.median(loops.values.flatMap { $0.compactMap { onset($0.negativeOut, rising: false) } }) }
    /// Median over devices of the last loop's on/off ratio: the chord conductance I/V coming back
    /// (after SET) over that going out (before it), at the positive step nearest half the largest
    /// voltage, where the currents span the most codes below the switching.
    var medianOnOff: Double? {
        Self.median(loops.values.compactMap { ls -> Double? in
            guard let l = ls.last, let top = l.positiveOut.map({ $0.voltage!.value }).max() else { return nil }
            func nearest(_ branch: [CharacterizationPoint]) -> CharacterizationPoint? {
                branch.min { abs($0.voltage!.value - top / 2) < abs($1.voltage!.value - top / 2) }
            }
            guard let out = nearest(l.positiveOut), let back = nearest(l.positiveBack), !out.limited, !back.limited,
                  abs(out.current!.value) >= resolution else { return nil }
            return (back.current!.value / back.voltage!.value) / (out.current!.value / out.voltage!.value)
        })
    }
}
