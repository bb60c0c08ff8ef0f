import LandauerFirmware

/// What a parallel-update slot did to one side of a tile.
public struct SlotOutcome: Sendable, Equatable {
    /// Devices that saw the full amplitude (coincidences).
    public var fullySelected: Int = 0
    /// Devices that saw half the amplitude.
    public var halfSelected: Int = 0
    /// Row and column lines driven (non-zero drive).
    public var drivenLines: Int = 0
    /// Energy dissipated in fully selected devices.
    public var fullEnergy = Joules.zero
    /// Energy dissipated in half-selected devices.
    public var halfEnergy = Joules.zero

    /// An empty outcome.
    public init() {}
}

/// What a DC step did to one device (`CrossbarTile.applyDC`).
public struct DCOutcome: Sendable, Equatable {
    /// Conductance before the step.
    public var before: Siemens
    /// Conductance after the step.
    public var after: Siemens
    /// The device current at the end of the step, limited to the compliance.
    public var current: Amperes
    /// Whether the current limiter held the current during the step.
    public var limited: Bool
    /// Whether this step formed the device.
    public var formed: Bool
}

/// One crossbar tile: `rows × columns` weights, each a differential pair (G⁺, G⁻) of devices in
/// separate physical columns, with each device's state and device-to-device parameters.
///
/// Conductances live in contiguous row-major arrays (index row·columns + column). For reads the
/// tile keeps G⁺ − G⁻ and the per-line conductance sums that set the read energy and the thermal
/// noise; every conductance change invalidates them and the next read rebuilds them.
///
/// During a parallel-update slot only the selected side's columns are connected; the other
/// side's columns float, so its devices see no voltage.
public struct CrossbarTile: Sendable {
    /// Number of rows (forward-read inputs).
    public let rows: Int
    /// Number of weight columns (forward-read outputs); the tile has 2 × columns physical columns.
    public let columns: Int
    /// The devices' conductance window.
    public let window: ConductanceWindow
    /// The devices' model.
    public let model: DeviceModel

    let physics: DevicePhysics
    var plus: DeviceArray
    var minus: DeviceArray
    /// Cycle-to-cycle noise of this tile's pulses.
    var programmingRandom: SimulationRandom

    // Read caches, valid while `cachesValid`.
    var weights: [Double] = []
    var rowLoad: [Double] = []
    var columnLoad: [Double] = []
    var plusColumnLoad: [Double] = []
    var minusColumnLoad: [Double] = []
    var cachesValid = false

    /// Creates a tile. Device variation, stuck devices and programming noise come from streams
    /// of `seed` specific to tile `index`, so tiles are independent and reproducible.
    ///
    /// - Parameters:
    ///   - stuckFraction: probability that a device is stuck (at G_min or G_max, even odds).
    ///   - initialConductance: every device's starting conductance; `nil` uses the model's own
    ///     starting point (w = 0 for pulsed models, mid-window conductance otherwise).
    ///   - forming: when given, every free device starts unformed (`FormingParameters`), with a
    ///     forming voltage of its own from the tile's forming stream, G⁺ then G⁻.
    public init(
        rows: Int, columns: Int, model: DeviceModel, window: ConductanceWindow = .default,
        stuckFraction: Double = 0, initialConductance: Siemens? = nil, forming: FormingParameters? = nil,
        seed: UInt64, index: Int = 0
    ) {
        precondition(rows > 0 && columns > 0, "a tile needs at least one row and one column")
        precondition(stuckFraction >= 0 && stuckFraction <= 1, "stuck fraction must lie in [0, 1]")
        self.rows = rows
        self.columns = columns
        self.window = window
        self.model = model
        physics = DevicePhysics(model: model, window: window)
        var variation = SimulationRandom(seed: seed, purpose: .deviceVariation, index: index)
        var stuck = SimulationRandom(seed: seed, purpose: .stuckDevices, index: index)
        programmingRandom = SimulationRandom(seed: seed, purpose: .programmingNoise, index: index)
        plus = DeviceArray(count: rows * columns)
        minus = DeviceArray(count: rows * columns)
        physics.populate(&plus, variation: &variation, stuck: &stuck, stuckFraction: stuckFraction, initialConductance: initialConductance?.value)
        physics.populate(&minus, variation: &variation, stuck: &stuck, stuckFraction: stuckFraction, initialConductance: initialConductance?.value)
        if let forming {
            var random = SimulationRandom(seed: seed, purpose: .forming, index: index)
            physics.makeUnformed(&plus, forming, random: &random)
            physics.makeUnformed(&minus, forming, random: &random)
        }
    }

    @inline(__always) func index(_ row: Int, _ column: Int) -> Int {
        precondition(row >= 0 && row < rows && column >= 0 && column < columns, "device address out of range")
        return row * columns + column
    }

    // MARK: Ground truth

    /// The conductance of one device.
    public func conductance(row: Int, column: Int, side: DeviceSide) -> Siemens {
        let k = index(row, column)
        return Siemens(side == .plus ? plus.conductance[k] : minus.conductance[k])
    }

    /// All conductances of one side, row-major.
    public func conductances(side: DeviceSide) -> [Siemens] {
        (side == .plus ? plus.conductance : minus.conductance).map(Siemens.init)
    }

    /// The weight of a pair: G⁺ − G⁻.
    public func weight(row: Int, column: Int) -> Siemens {
        let k = index(row, column)
        return Siemens(plus.conductance[k] - minus.conductance[k])
    }

    /// The model state of one device: G in siemens (ideal), normalised w (pulsed models) or
    /// x ∈ [0, 1] (VTEAM, 0 = R_on).
    public func state(row: Int, column: Int, side: DeviceSide) -> Double {
        let k = index(row, column)
        return side == .plus ? plus.state[k] : minus.state[k]
    }

    /// The device's own bounds of w (pulsed models), or nil for the other models.
    public func stateBounds(row: Int, column: Int, side: DeviceSide) -> ClosedRange<Double>? {
        guard physics.isPulsed else { return nil }
        let k = index(row, column)
        let a = side == .plus ? plus : minus
        return a.lower[k]...a.upper[k]
    }

    /// Whether a device is stuck.
    public func stuckState(row: Int, column: Int, side: DeviceSide) -> StuckState {
        let k = index(row, column)
        return StuckState(rawValue: side == .plus ? plus.stuck[k] : minus.stuck[k]) ?? .free
    }

    /// Whether a device is formed (always true unless the tile was built with forming parameters).
    public func isFormed(row: Int, column: Int, side: DeviceSide) -> Bool {
        formingVoltage(row: row, column: column, side: side) == nil
    }

    /// The voltage that forms an unformed device, or nil once it is formed.
    public func formingVoltage(row: Int, column: Int, side: DeviceSide) -> Volts? {
        let k = index(row, column)
        let a = side == .plus ? plus : minus
        guard !a.formingVoltage.isEmpty, a.formingVoltage[k] > 0 else { return nil }
        return Volts(a.formingVoltage[k])
    }

    /// Number of stuck devices on both sides.
    public var stuckDeviceCount: Int {
        plus.stuck.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } + minus.stuck.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
    }

    /// Noise-free output currents for input voltages (ground truth, for tests): forward
    /// I_j = Σᵢ Vᵢ(G⁺ᵢⱼ − G⁻ᵢⱼ), transposed I_i = Σⱼ Vⱼ(G⁺ᵢⱼ − G⁻ᵢⱼ).
    public func idealOutputCurrents(inputs: [Volts], orientation: ReadOrientation) -> [Amperes] {
        switch orientation {
        case .forward:
            precondition(inputs.count == rows, "forward reads take one voltage per row")
            return (0..<columns).map { j in
                var s = 0.0
                for i in 0..<rows { s += inputs[i].value * (plus.conductance[i * columns + j] - minus.conductance[i * columns + j]) }
                return Amperes(s)
            }
        case .transposed:
            precondition(inputs.count == columns, "transposed reads take one voltage per column")
            return (0..<rows).map { i in
                var s = 0.0
                for j in 0..<columns { s += inputs[j].value * (plus.conductance[i * columns + j] - minus.conductance[i * columns + j]) }
                return Amperes(s)
            }
        }
    }

    // MARK: Test set-up

    /// Sets one device's conductance directly (clamped into the window), bypassing the device
    /// physics; the model state follows, and an unformed device counts as formed from then on.
    /// Stuck devices stay stuck for later pulses.
    public mutating func setConductance(_ g: Siemens, row: Int, column: Int, side: DeviceSide) {
        let k = index(row, column)
        let c = window.clamp(g).value
        let s = physics.state(ofConductance: c)
        if side == .plus {
            plus.conductance[k] = physics.conductance(ofState: s)
            plus.state[k] = s
            if !plus.formingVoltage.isEmpty { plus.formingVoltage[k] = 0 }
        } else {
            minus.conductance[k] = physics.conductance(ofState: s)
            minus.state[k] = s
            if !minus.formingVoltage.isEmpty { minus.formingVoltage[k] = 0 }
        }
        cachesValid = false
    }

    /// Sets all conductances of one side (row-major, rows × columns values).
    public mutating func setConductances(_ g: [Siemens], side: DeviceSide) {
        precondition(g.count == rows * columns, "need rows × columns conductances")
        for i in 0..<rows {
            for j in 0..<columns { setConductance(g[i * columns + j], row: i, column: j, side: side) }
        }
    }

    // MARK: Programming

    /// Drain energy of a programming pulse on one device, as drawn from the pulse rail:
    /// |V|·min(|V|·(G_before + G_after)/2, I_c)·t (the compliance clamps the current).
    public static func pulseEnergy(voltage: Volts, before: Siemens, after: Siemens, width: Seconds, compliance: Amperes) -> Joules {
        let v = voltage.magnitude.value
        let i = min(v * 0.5 * (before.value + after.value), compliance.value)
        return Joules(v * i * width.value)
    }

    /// Applies one pulse of device voltage `voltage` (positive potentiates) to one device and
    /// returns its conductance before and after.
    @discardableResult
    public mutating func applyPulse(
        row: Int, column: Int, side: DeviceSide, voltage: Volts, width: Seconds, compliance: Amperes
    ) -> (before: Siemens, after: Siemens) {
        let k = index(row, column)
        let before: Double
        let after: Double
        if side == .plus {
            before = plus.conductance[k]
            physics.apply(&plus, k, voltage: voltage.value, width: width.value, compliance: compliance.value, random: &programmingRandom)
            after = plus.conductance[k]
        } else {
            before = minus.conductance[k]
            physics.apply(&minus, k, voltage: voltage.value, width: width.value, compliance: compliance.value, random: &programmingRandom)
            after = minus.conductance[k]
        }
        if before != after { cachesValid = false }
        return (Siemens(before), Siemens(after))
    }

    /// Holds `voltage` across one device for `width` through an ideal current limiter of
    /// `compliance`: the device model sees it as one pulse of that voltage and width (so a DC step
    /// beyond the switching threshold SETs or RESETs it, and a first one beyond the forming
    /// voltage forms it), and the current at the end of the step is Ohmic, I = V·G_after, with
    /// |I| ≤ I_c. `limited` is true when the limiter held the current at some instant of the
    /// step: |V|·G ≥ I_c before or after, or the device formed (a filament grows until the
    /// limiter stops it).
    public mutating func applyDC(
        row: Int, column: Int, side: DeviceSide, voltage: Volts, width: Seconds, compliance: Amperes
    ) -> DCOutcome {
        let wasFormed = isFormed(row: row, column: column, side: side)
        let (before, after) = applyPulse(row: row, column: column, side: side, voltage: voltage, width: width, compliance: compliance)
        let v = voltage.value
        let ic = compliance.value
        let formed = !wasFormed && isFormed(row: row, column: column, side: side)
        // Relative slack so that a current equal to the compliance (forming lands there) counts as limited.
        let reach = ic * (1 - 1e-12)
        let limited = formed || abs(v) * before.value >= reach || abs(v) * after.value >= reach
        let ohmic = v * after.value
        let current = min(max(ohmic, -ic), ic)
        return DCOutcome(before: before, after: after, current: Amperes(current), limited: limited, formed: formed)
    }

    /// Applies one slot of a parallel update to the `side` devices: device (i, j) sees
    /// (rowDrive[i] + columnDrive[j])·amplitude/2, and every device with a non-zero voltage is
    /// handed to the device model (half-selected ones too).
    public mutating func applySlot(
        side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>, columnDrive: UnsafeBufferPointer<Int8>,
        amplitude: Volts, width: Seconds, compliance: Amperes
    ) -> SlotOutcome {
        precondition(rowDrive.count == rows && columnDrive.count == columns, "drive vectors must match the tile")
        var out = SlotOutcome()
        var activeColumns: [Int] = []
        activeColumns.reserveCapacity(columns)
        for j in 0..<columns where columnDrive[j] != 0 { activeColumns.append(j) }
        var activeRows = 0
        for i in 0..<rows where rowDrive[i] != 0 { activeRows += 1 }
        out.drivenLines = activeRows + activeColumns.count
        if out.drivenLines == 0 { return out }
        let half = 0.5 * amplitude.value
        let t = width.value
        let ic = compliance.value
        var full = 0.0
        var halfE = 0.0
        var changed = false
        let physics = self.physics
        func visit(_ a: inout DeviceArray, _ k: Int, _ d: Int, _ random: inout SimulationRandom) {
            let v = Double(d) * half
            let before = a.conductance[k]
            physics.apply(&a, k, voltage: v, width: t, compliance: ic, random: &random)
            let after = a.conductance[k]
            if before != after { changed = true }
            let mag = abs(v)
            let e = mag * min(mag * 0.5 * (before + after), ic) * t
            if d == 2 || d == -2 {
                full += e
                out.fullySelected += 1
            } else {
                halfE += e
                out.halfSelected += 1
            }
        }
        var random = programmingRandom
        let cols = columns
        if side == .plus {
            for i in 0..<rows {
                let r = Int(rowDrive[i])
                if r == 0 {
                    for j in activeColumns { visit(&plus, i * cols + j, Int(columnDrive[j]), &random) }
                } else {
                    for j in 0..<cols {
                        let d = r + Int(columnDrive[j])
                        if d != 0 { visit(&plus, i * cols + j, d, &random) }
                    }
                }
            }
        } else {
            for i in 0..<rows {
                let r = Int(rowDrive[i])
                if r == 0 {
                    for j in activeColumns { visit(&minus, i * cols + j, Int(columnDrive[j]), &random) }
                } else {
                    for j in 0..<cols {
                        let d = r + Int(columnDrive[j])
                        if d != 0 { visit(&minus, i * cols + j, d, &random) }
                    }
                }
            }
        }
        programmingRandom = random
        if changed { cachesValid = false }
        out.fullEnergy = Joules(full)
        out.halfEnergy = Joules(halfE)
        return out
    }

    // MARK: Reads (the fast path)

    /// Rebuilds G⁺ − G⁻ and the per-line conductance sums if a conductance changed.
    mutating func refreshCaches() {
        if cachesValid { return }
        let n = rows * columns
        if weights.count != n {
            weights = [Double](repeating: 0, count: n)
            rowLoad = [Double](repeating: 0, count: rows)
            columnLoad = [Double](repeating: 0, count: columns)
            plusColumnLoad = [Double](repeating: 0, count: columns)
            minusColumnLoad = [Double](repeating: 0, count: columns)
        }
        let cols = columns
        plus.conductance.withUnsafeBufferPointer { gp in
            minus.conductance.withUnsafeBufferPointer { gm in
                weights.withUnsafeMutableBufferPointer { w in
                    for k in 0..<n { w[k] = gp[k] - gm[k] }
                }
                rowLoad.withUnsafeMutableBufferPointer { rl in
                    for i in 0..<rows {
                        var s = 0.0
                        for j in 0..<cols { s += gp[i * cols + j] + gm[i * cols + j] }
                        rl[i] = s
                    }
                }
                plusColumnLoad.withUnsafeMutableBufferPointer { pc in
                    minusColumnLoad.withUnsafeMutableBufferPointer { mc in
                        for j in 0..<cols {
                            pc[j] = 0
                            mc[j] = 0
                        }
                        for i in 0..<rows {
                            for j in 0..<cols {
                                pc[j] += gp[i * cols + j]
                                mc[j] += gm[i * cols + j]
                            }
                        }
                    }
                }
            }
        }
        for j in 0..<cols { columnLoad[j] = plusColumnLoad[j] + minusColumnLoad[j] }
        cachesValid = true
    }

    /// Output currents of a read (caches must be fresh). Forward: `inputs` has `rows` voltages
    /// and `outputs` `columns` currents; transposed the other way round. Explicit SIMD kernels:
    /// forward accumulates 8 (then 4) outputs in registers down the rows; transposed takes one
    /// 4-lane dot product per row.
    func outputCurrents(orientation: ReadOrientation, inputs: UnsafeBufferPointer<Double>, into outputs: UnsafeMutableBufferPointer<Double>) {
        let cols = columns
        let rowCount = rows
        guard let x = inputs.baseAddress, let y = outputs.baseAddress else { return }
        weights.withUnsafeBufferPointer { wb in
            let w = wb.baseAddress!
            let stride = cols * MemoryLayout<Double>.stride
            switch orientation {
            case .forward:
                var j = 0
                while j + 8 <= cols {
                    var acc = SIMD8<Double>()
                    var p = UnsafeRawPointer(w + j)
                    for i in 0..<rowCount {
                        acc += x[i] * p.loadUnaligned(as: SIMD8<Double>.self)
                        p += stride
                    }
                    UnsafeMutableRawPointer(y + j).storeBytes(of: acc, as: SIMD8<Double>.self)
                    j += 8
                }
                while j + 4 <= cols {
                    var acc = SIMD4<Double>()
                    var p = UnsafeRawPointer(w + j)
                    for i in 0..<rowCount {
                        acc += x[i] * p.loadUnaligned(as: SIMD4<Double>.self)
                        p += stride
                    }
                    UnsafeMutableRawPointer(y + j).storeBytes(of: acc, as: SIMD4<Double>.self)
                    j += 4
                }
                while j < cols {
                    var s = 0.0
                    for i in 0..<rowCount { s += x[i] * w[i * cols + j] }
                    y[j] = s
                    j += 1
                }
            case .transposed:
                let xr = UnsafeRawPointer(x)
                for i in 0..<rowCount {
                    let row = UnsafeRawPointer(w + i * cols)
                    var acc = SIMD4<Double>()
                    var j = 0
                    while j + 4 <= cols {
                        let offset = j * MemoryLayout<Double>.stride
                        acc += xr.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                            * row.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                        j += 4
                    }
                    var s = acc.sum()
                    while j < cols {
                        s += x[j] * w[i * cols + j]
                        j += 1
                    }
                    y[i] = s
                }
            }
        }
    }

    /// Σ V²·(conductance on the driven line) over the driven lines, in W (caches must be fresh):
    /// the power the array draws during a read.
    func readPower(orientation: ReadOrientation, inputs: UnsafeBufferPointer<Double>) -> Double {
        let load = orientation == .forward ? rowLoad : columnLoad
        return load.withUnsafeBufferPointer { l in
            var p = 0.0
            for k in 0..<l.count { p += inputs[k] * inputs[k] * l[k] }
            return p
        }
    }

    /// Σ G over the physical column of one side (caches must be fresh).
    @inline(__always) func physicalColumnLoad(_ column: Int, side: DeviceSide) -> Double {
        side == .plus ? plusColumnLoad[column] : minusColumnLoad[column]
    }
}
