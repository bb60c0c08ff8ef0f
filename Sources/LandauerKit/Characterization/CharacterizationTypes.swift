import LandauerFirmware

// The vocabulary of device characterisation: which devices, which procedure, what one reading is.
// These files (Characterization/) use only the board client and the units: the procedures run
// unchanged on a real bench and on the virtual one.

/// One device of a crossbar: tile, row, weight column and side of the differential pair.
public struct DeviceAddress: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// Tile index.
    public var tile: Int
    /// Row.
    public var row: Int
    /// Weight column.
    public var column: Int
    /// Side of the pair: G⁺ or G⁻.
    public var side: DeviceSide

    /// An address.
    public init(tile: Int, row: Int, column: Int, side: DeviceSide) {
        self.tile = tile
        self.row = row
        self.column = column
        self.side = side
    }

    public static func < (a: DeviceAddress, b: DeviceAddress) -> Bool {
        (a.tile, a.row, a.column, a.side.rawValue) < (b.tile, b.row, b.column, b.side.rawValue)
    }

    enum CodingKeys: String, CodingKey { case tile, row, column, side }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tile = try c.decode(Int.self, forKey: .tile)
        row = try c.decode(Int.self, forKey: .row)
        column = try c.decode(Int.self, forKey: .column)
        let s = try c.decode(UInt8.self, forKey: .side)
        guard let side = DeviceSide(rawValue: s) else {
            throw DecodingError.dataCorruptedError(forKey: .side, in: c, debugDescription: "side must be 0 (G⁺) or 1 (G⁻), not \(s)")
        }
        self.side = side
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tile, forKey: .tile)
        try c.encode(row, forKey: .row)
        try c.encode(column, forKey: .column)
        try c.encode(side.rawValue, forKey: .side)
    }

    /// `t0 r3 c5 G+`.
    public var description: String { "t\(tile) r\(row) c\(column) \(side == .plus ? "G+" : "G-")" }
}

/// A rectangle of cells of one tile and the sides read: what one READ CONDUCTANCE request covers.
public struct DeviceBlock: Sendable, Equatable, Codable, CustomStringConvertible {
    public var tile: Int
    public var row: Int
    public var column: Int
    public var rows: Int
    public var columns: Int
    /// Bit 0 = G⁺, bit 1 = G⁻ (1, 2 or 3).
    public var sides: UInt8

    /// A block.
    public init(tile: Int, row: Int = 0, column: Int = 0, rows: Int, columns: Int, sides: UInt8 = 3) {
        self.tile = tile
        self.row = row
        self.column = column
        self.rows = rows
        self.columns = columns
        self.sides = sides
    }

    /// The whole of tile `index` of a board.
    public static func wholeTile(_ index: Int, of info: BoardInfo) -> DeviceBlock {
        DeviceBlock(tile: index, rows: Int(info.tiles[index].rows), columns: Int(info.tiles[index].columns))
    }

    /// Parses `TILE:ROW+ROWS,COLUMN+COLUMNS[:SIDES]`, e.g. `0:0+16,0+8` or `0:0+16,0+8:plus`, or
    /// `TILE` for the whole tile (geometry from `info`).
    public init?(parsing text: String, info: BoardInfo) {
        let parts = text.split(separator: ":").map(String.init)
        guard let first = parts.first, let t = Int(first), t >= 0, t < info.tiles.count else { return nil }
        var block = DeviceBlock.wholeTile(t, of: info)
        if parts.count >= 2 {
            let rc = parts[1].split(separator: ",").map { $0.split(separator: "+").compactMap { Int($0) } }
            guard rc.count == 2, rc[0].count == 2, rc[1].count == 2 else { return nil }
            block.row = rc[0][0]; block.rows = rc[0][1]; block.column = rc[1][0]; block.columns = rc[1][1]
        }
        if parts.count >= 3 {
            switch parts[2] {
            case "plus", "+": block.sides = 1
            case "minus", "-": block.sides = 2
            case "both": block.sides = 3
            default: return nil
            }
        }
        guard parts.count <= 3, block.rows > 0, block.columns > 0, block.row >= 0, block.column >= 0,
              block.row + block.rows <= Int(info.tiles[t].rows), block.column + block.columns <= Int(info.tiles[t].columns)
        else { return nil }
        self = block
    }

    /// Number of devices per cell read (1 or 2).
    public var sideCount: Int { (sides & 1 != 0 ? 1 : 0) + (sides & 2 != 0 ? 1 : 0) }

    /// The sides read, G⁺ first.
    public var sideList: [DeviceSide] { [DeviceSide.plus, .minus].filter { sides & (1 << $0.rawValue) != 0 } }

    /// The devices in the order a READ CONDUCTANCE answers: row-major, G⁺ before G⁻ within a cell.
    public var devices: [DeviceAddress] {
        var out: [DeviceAddress] = []
        out.reserveCapacity(rows * columns * sideCount)
        let s = sideList
        for r in row..<(row + rows) {
            for c in column..<(column + columns) {
                for side in s { out.append(DeviceAddress(tile: tile, row: r, column: c, side: side)) }
            }
        }
        return out
    }

    /// `tile 0, rows 0–15, columns 0–7, G⁺ and G⁻`.
    public var description: String {
        let s = sides == 3 ? "G⁺ and G⁻" : (sides == 1 ? "G⁺" : "G⁻")
        return "tile \(tile), rows \(row)–\(row + rows - 1), columns \(column)–\(column + columns - 1), \(s)"
    }
}

/// The characterisation procedures.
public enum CharacterizationProcedure: String, Sendable, Codable, CaseIterable {
    /// Trains of potentiating then depressing pulses, conductance read after each step.
    case pulse
    /// Reads at logarithmic intervals of board time after setting the devices.
    case retention
    /// Set/reset cycles with read-verify.
    case endurance
    /// Many reads at the read voltage; the drift they cause.
    case disturb
    /// The whole array: conductance and response to pulses, each device classified.
    case map
    /// Forming: a voltage staircase (or growing pulses) on fresh devices under a current
    /// compliance the board enforces, until each cell switches.
    case form
    /// I-V curve tracing: 0 → +max → 0 → −reverse → 0 in steps (staircase or pulsed), loop after loop.
    case iv

    /// Whether the procedure is made of single-cell sweeps (SINGLE-CELL SWEEP) rather than pulse trains and reads.
    public var isSweep: Bool { self == .form || self == .iv }
}

/// One conductance reading of one device during a procedure.
///
/// `train` numbers the monotone pulse trains of the procedure (−1 for reads before any pulse,
/// such as the repeated reads that measure the read noise); `step` counts readings within the
/// train; `pulses` is how many pulses of `polarity` the device has had since the train began.
///
/// Sweeps (form, iv) record one point per step: `voltage` is the step's voltage, `current` the
/// current measured at its end, `limited` whether the board's limiter held the current at the
/// compliance, and `conductance` the read after the pulse of a pulsed sweep or the chord
/// conductance I/V of a staircase step (0 at 0 V). `train` numbers the loops of an I-V trace
/// (0 for forming), and a forming trace ends with one read (`polarity` 0) after the sweep.
public struct CharacterizationPoint: Sendable, Equatable, Codable {
    public var procedure: CharacterizationProcedure
    public var device: DeviceAddress
    public var train: Int
    public var step: Int
    /// +1 potentiating, −1 depressing, 0 no pulse before this reading.
    public var polarity: Int8
    /// Pulses of `polarity` since the train began.
    public var pulses: Int
    /// Board time (from the board's own timer) at or just before the reading.
    public var boardTime: Seconds
    /// The conductance read.
    public var conductance: Siemens
    /// Pulse trains: the amplitude of the pulses before this reading (nil when none). Sweeps: the
    /// step's voltage, signed.
    public var voltage: Volts?
    /// Sweeps: the current at the end of the step.
    public var current: Amperes?
    /// Sweeps: whether the current limiter held the current at the compliance during the step.
    public var limited: Bool

    /// A reading.
    public init(
        procedure: CharacterizationProcedure, device: DeviceAddress, train: Int, step: Int, polarity: Int8, pulses: Int,
        boardTime: Seconds, conductance: Siemens, voltage: Volts? = nil, current: Amperes? = nil, limited: Bool = false
    ) {
        self.procedure = procedure
        self.device = device
        self.train = train
        self.step = step
        self.polarity = polarity
        self.pulses = pulses
        self.boardTime = boardTime
        self.conductance = conductance
        self.voltage = voltage
        self.current = current
        self.limited = limited
    }
}

/// How pulses are applied and devices read.
public struct PulseSettings: Sendable, Equatable, Codable {
    /// Programming pulse amplitude.
    public var amplitude = Volts(1.5)
    /// Programming pulse width, ns.
    public var widthNanoseconds: UInt32 = 1_000
    /// Read voltage of the single-device reads. Lower than the board's limit so the highest
    /// conductance stays below the ADC's full scale; one code is full scale / (codes · V).
    public var readVoltage = Volts(0.4)

    /// Defaults: 1.5 V, 1 µs pulses, reads at 0.4 V.
    public init() {}
}

/// What the conductance map makes of a device.
public enum DeviceClass: String, Sendable, Codable, CaseIterable {
    /// Responds to pulses, conductance within range.
    case healthy
    /// Does not respond to pulses; conductance low (stuck at or near the minimum).
    case stuckLow = "stuck-low"
    /// Does not respond to pulses; conductance high (stuck at or near the maximum).
    case stuckHigh = "stuck-high"
    /// Conductance above the window (the reading clips at the ADC's full scale or exceeds the window's maximum).
    case shorted
    /// Conductance below the window (next to nothing flows).
    case open

    /// Whether the device can be used.
    public var isDead: Bool { self != .healthy }
}

/// Why a characterisation cannot go on.
public enum CharacterizationError: Error, CustomStringConvertible, Equatable {
    /// A setting is out of range; the message says which and what is allowed.
    case badSettings(String)
    /// The stored data cannot be fitted; the message says why and what to do.
    case cannotFit(String)
    /// A device profile cannot be read or used.
    case badProfile(String)

    public var description: String {
        switch self {
        case .badSettings(let s), .cannotFit(let s), .badProfile(let s): s
        }
    }
}
