import LandauerFirmware

/// The supply rails of a board, each with its own share of the ground-truth energy.
public enum SupplyRail: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// The microcontroller core (active and asleep).
    case mcu = 0
    /// The data converters' dynamic energy (DAC updates, ADC conversions).
    case converters
    /// The crossbar's read currents.
    case array
    /// The programming drivers: pulses, half-selected devices, line charging.
    case programming
    /// Bias of converters, references and regulators: always on, whatever the board does.
    case quiescent

    /// A short name, e.g. "programming".
    public var description: String {
        switch self {
        case .mcu: "mcu"
        case .converters: "converters"
        case .array: "array"
        case .programming: "programming"
        case .quiescent: "quiescent"
        }
    }
}

/// The kinds of event that cost energy. Each kind books into exactly one rail.
public enum EnergyEventKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// A matrix-vector read through the array: Σ V²·G·t_read over the driven devices.
    case arrayRead = 0
    /// A single-device conductance read: V²·G·t_read.
    case deviceRead
    /// One input DAC update (one driven line).
    case dacUpdate
    /// One ADC conversion.
    case adcConversion
    /// A programming pulse at full amplitude on one device (single pulse or coincidence).
    case programmingPulse
    /// A device half-selected during a parallel update (V/2 across it).
    case halfSelectDisturb
    /// Charging the row and column lines of a pulse (C·V² per line).
    case lineCharging
    /// The core running firmware.
    case mcuActive
    /// The core asleep (waiting for the link or a peripheral).
    case mcuSleep
    /// Always-on bias of converters, references and regulators.
    case quiescent

    /// The rail this kind of event draws from.
    public var rail: SupplyRail {
        switch self {
        case .arrayRead, .deviceRead: .array
        case .dacUpdate, .adcConversion: .converters
        case .programmingPulse, .halfSelectDisturb, .lineCharging: .programming
        case .mcuActive, .mcuSleep: .mcu
        case .quiescent: .quiescent
        }
    }

    /// A short name, e.g. "adc-conversion".
    public var description: String {
        switch self {
        case .arrayRead: "array-read"
        case .deviceRead: "device-read"
        case .dacUpdate: "dac-update"
        case .adcConversion: "adc-conversion"
        case .programmingPulse: "programming-pulse"
        case .halfSelectDisturb: "half-select-disturb"
        case .lineCharging: "line-charging"
        case .mcuActive: "mcu-active"
        case .mcuSleep: "mcu-sleep"
        case .quiescent: "quiescent"
        }
    }
}

/// The simulator's ground truth of energy: every event books its energy under its kind (and so
/// into exactly one rail), with a count. Sums are compensated, so the total is exact to about
/// 10⁻¹⁵ relative however many events a run has.
///
/// Counts: for discrete events (reads, conversions, pulses) the number of events; for the time
/// based kinds (MCU active and asleep, quiescent) the number of intervals booked.
public struct EnergyLedger: Sendable, Equatable {
    private var sums = [CompensatedSum](repeating: CompensatedSum(), count: EnergyEventKind.allCases.count)
    private var counts = [UInt64](repeating: 0, count: EnergyEventKind.allCases.count)

    /// An empty ledger.
    public init() {}

    /// Books `energy` for `count` events of `kind`.
    public mutating func record(_ kind: EnergyEventKind, energy: Joules, count: UInt64 = 1) {
        sums[kind.rawValue].add(energy.value)
        counts[kind.rawValue] &+= count
    }

    /// Energy booked under `kind`.
    public func energy(of kind: EnergyEventKind) -> Joules { Joules(sums[kind.rawValue].value) }

    /// Number of events (or intervals) booked under `kind`.
    public func count(of kind: EnergyEventKind) -> UInt64 { counts[kind.rawValue] }

    /// Energy drawn from `rail`: the compensated sum of its kinds.
    public func energy(on rail: SupplyRail) -> Joules {
        var s = CompensatedSum()
        for kind in EnergyEventKind.allCases where kind.rail == rail { s.add(sums[kind.rawValue]) }
        return Joules(s.value)
    }

    /// All energy booked.
    public var total: Joules {
        var s = CompensatedSum()
        for sum in sums { s.add(sum) }
        return Joules(s.value)
    }

    /// The energy booked since `earlier`, a snapshot of this same ledger taken before.
    public func subtracting(_ earlier: EnergyLedger) -> EnergyLedger {
        var d = EnergyLedger()
        for k in 0..<sums.count {
            d.sums[k] = sums[k]
            d.sums[k].add(-earlier.sums[k].sum)
            d.sums[k].add(-earlier.sums[k].compensation)
            d.counts[k] = counts[k] &- earlier.counts[k]
        }
        return d
    }
}
