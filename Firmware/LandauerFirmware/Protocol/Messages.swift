// The messages of the board wire protocol: typed values, their body layouts, and their codecs.
// docs/protocol.md is the normative text; its golden vectors are checked against this file.

/// Request opcodes (frame type byte of a request). A response's type is `opcode | 0x80`.
public enum Opcode: UInt8, Sendable, CaseIterable {
    case hello = 0x01
    case ping = 0x02
    case readConductance = 0x03
    case matrixVector = 0x04
    case matrixVectorTransposed = 0x05
    case programPulses = 0x06
    case outerProduct = 0x07
    case setLimits = 0x08
    case marker = 0x09
    case temperature = 0x0A
    case counters = 0x0B
    case reset = 0x0C
    /// SINGLE-CELL SWEEP: a staircase or pulsed voltage sweep on one device with a current
    /// compliance, for forming and I-V tracing (added in firmware 0.2; older boards answer
    /// `unknownOpcode`).
    case sweep = 0x0D

    /// The frame type byte of this request's success response.
    @inlinable public var responseType: UInt8 { rawValue | 0x80 }
}

/// Frame type bytes that are not plain opcodes.
public enum FrameType {
    /// Type byte of an error response.
    public static let error: UInt8 = 0xFF
}

/// Which device of a differential pair (G⁺ − G⁻ forms one weight).
public enum DeviceSide: UInt8, Sendable, CaseIterable {
    case plus = 0
    case minus = 1
}

/// The safe operating limits of a board. The firmware refuses any request outside them.
///
/// Wire layout, 24 bytes:
/// ```
/// 0  f32  programVoltage     V  largest |amplitude| of a programming pulse
/// 4  f32  readVoltage        V  largest |voltage| on a read line (full-scale of the DACs)
/// 8  u32  minPulseWidth     ns
/// 12 u32  maxPulseWidth     ns
/// 16 f32  complianceCurrent  A  current limit of the pulse drivers through one device
/// 20 u32  maxPulsesPerRequest   pulses a single request may apply (repeats and coincidences counted)
/// ```
public struct SafetyLimits: Equatable, Sendable {
    public var programVoltage: Volts
    public var readVoltage: Volts
    public var minPulseWidthNanoseconds: UInt32
    public var maxPulseWidthNanoseconds: UInt32
    public var complianceCurrent: Amperes
    public var maxPulsesPerRequest: UInt32

    /// Creates a set of limits.
    public init(
        programVoltage: Volts, readVoltage: Volts, minPulseWidthNanoseconds: UInt32,
        maxPulseWidthNanoseconds: UInt32, complianceCurrent: Amperes, maxPulsesPerRequest: UInt32
    ) {
        self.programVoltage = programVoltage
        self.readVoltage = readVoltage
        self.minPulseWidthNanoseconds = minPulseWidthNanoseconds
        self.maxPulseWidthNanoseconds = maxPulseWidthNanoseconds
        self.complianceCurrent = complianceCurrent
        self.maxPulsesPerRequest = maxPulsesPerRequest
    }

    /// Size on the wire in bytes.
    public static let wireSize = 24

    @inlinable func write(_ w: inout ByteWriter) {
        w.f32(Float(programVoltage.value))
        w.f32(Float(readVoltage.value))
        w.u32(minPulseWidthNanoseconds)
        w.u32(maxPulseWidthNanoseconds)
        w.f32(Float(complianceCurrent.value))
        w.u32(maxPulsesPerRequest)
    }

    @inlinable static func read(_ r: inout ByteReader) throws(ProtocolError) -> SafetyLimits {
        SafetyLimits(
            programVoltage: Volts(Double(try r.finiteF32())),
            readVoltage: Volts(Double(try r.finiteF32())),
            minPulseWidthNanoseconds: try r.u32(),
            maxPulseWidthNanoseconds: try r.u32(),
            complianceCurrent: Amperes(Double(try r.finiteF32())),
            maxPulsesPerRequest: try r.u32())
    }
}

/// A firmware version, major.minor.patch.
public struct FirmwareVersion: Equatable, Sendable {
    public var major: UInt8
    public var minor: UInt8
    public var patch: UInt8
    public init(major: UInt8, minor: UInt8, patch: UInt8) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }
}

/// Geometry and output range of one crossbar tile. Each weight is a differential pair of devices.
public struct TileInfo: Equatable, Sendable {
    /// Number of rows (inputs of a forward read).
    public var rows: UInt16
    /// Number of columns (outputs of a forward read).
    public var columns: UInt16
    /// Differential output current at the ADC's full-scale code in a matrix-vector read.
    public var outputFullScale: Amperes
    public init(rows: UInt16, columns: UInt16, outputFullScale: Amperes) {
        self.rows = rows
        self.columns = columns
        self.outputFullScale = outputFullScale
    }
}

/// What a board says about itself in answer to HELLO.
public struct BoardInfo: Equatable, Sendable {
    public var protocolVersion: UInt8
    public var firmwareVersion: FirmwareVersion
    /// Board serial number, printable ASCII, at most 32 bytes.
    public var serial: [UInt8]
    /// Microcontroller core clock in hertz.
    public var clockHertz: UInt32
    /// Resolution of the input DACs in bits (signed codes ±(2^(bits−1) − 1)).
    public var dacBits: UInt8
    /// Resolution of the output ADCs in bits (signed codes ±(2^(bits−1) − 1)).
    public var adcBits: UInt8
    /// Number of marker lines the board drives.
    public var markerLines: UInt8
    /// Largest request body the board accepts, in bytes.
    public var maxRequestBody: UInt16
    /// Device current at the ADC's full-scale code in a single-device conductance read.
    public var deviceReadFullScale: Amperes
    /// The tiles, indexed from 0.
    public var tiles: [TileInfo]
    /// Hardware limits: SET LIMITS may tighten the active limits but never exceed these.
    public var absoluteLimits: SafetyLimits
    /// Limits in force now.
    public var activeLimits: SafetyLimits

    public init(
        protocolVersion: UInt8, firmwareVersion: FirmwareVersion, serial: [UInt8], clockHertz: UInt32,
        dacBits: UInt8, adcBits: UInt8, markerLines: UInt8, maxRequestBody: UInt16,
        deviceReadFullScale: Amperes, tiles: [TileInfo], absoluteLimits: SafetyLimits,
        activeLimits: SafetyLimits
    ) {
        self.protocolVersion = protocolVersion
        self.firmwareVersion = firmwareVersion
        self.serial = serial
        self.clockHertz = clockHertz
        self.dacBits = dacBits
        self.adcBits = adcBits
        self.markerLines = markerLines
        self.maxRequestBody = maxRequestBody
        self.deviceReadFullScale = deviceReadFullScale
        self.tiles = tiles
        self.absoluteLimits = absoluteLimits
        self.activeLimits = activeLimits
    }

    /// Largest DAC code magnitude, 2^(dacBits−1) − 1 (0 for a board reporting no bits).
    @inlinable public var dacMaxCode: Int16 { dacBits == 0 || dacBits > 16 ? 0 : Int16((1 << Int(dacBits - 1)) - 1) }
    /// Largest ADC code magnitude, 2^(adcBits−1) − 1 (0 for a board reporting no bits).
    @inlinable public var adcMaxCode: Int16 { adcBits == 0 || adcBits > 16 ? 0 : Int16((1 << Int(adcBits - 1)) - 1) }
}

/// Read the conductances of a rectangular region of a tile, one device at a time.
public struct ConductanceRead: Equatable, Sendable {
    public var tile: UInt8
    /// Which devices of each pair to read: bit 0 = G⁺, bit 1 = G⁻ (1, 2 or 3).
    public var sides: UInt8
    public var row: UInt16
    public var column: UInt16
    public var rows: UInt16
    public var columns: UInt16
    /// Voltage applied across each device while it is read.
    public var readVoltage: Volts
    public init(tile: UInt8, sides: UInt8 = 3, row: UInt16, column: UInt16, rows: UInt16, columns: UInt16, readVoltage: Volts) {
        self.tile = tile
        self.sides = sides
        self.row = row
        self.column = column
        self.rows = rows
        self.columns = columns
        self.readVoltage = readVoltage
    }
    /// Number of devices per cell that are read (1 or 2).
    @inlinable public var sideCount: Int { (sides & 1 != 0 ? 1 : 0) + (sides & 2 != 0 ? 1 : 0) }
}

/// Result of a conductance read: ADC codes and their scale.
public struct ConductanceReadResult: Equatable, Sendable {
    public var rows: UInt16
    public var columns: UInt16
    public var sides: UInt8
    /// Conductance of one ADC code at the requested read voltage.
    public var siemensPerCode: Siemens
    /// Codes in row-major order; within a cell, G⁺ before G⁻ (only the requested sides).
    public var codes: [Int16]
    public init(rows: UInt16, columns: UInt16, sides: UInt8, siemensPerCode: Siemens, codes: [Int16]) {
        self.rows = rows
        self.columns = columns
        self.sides = sides
        self.siemensPerCode = siemensPerCode
        self.codes = codes
    }
    /// The conductance behind code number `i`.
    @inlinable public func conductance(_ i: Int) -> Siemens { siemensPerCode * Double(codes[i]) }
}

/// Orientation of an analog matrix-vector read.
public enum ReadOrientation: UInt8, Sendable {
    /// Inputs on rows, outputs on columns: y = Wᵀx over the tile's rows.
    case forward = 0
    /// Inputs on columns, outputs on rows: y = W x over the tile's columns.
    case transposed = 1
}

/// A batch of analog matrix-vector reads on one tile. Inputs are signed DAC codes; code c drives
/// c / (2^(dacBits−1) − 1) × `inputFullScale`.
public struct MatrixVectorRead: Equatable, Sendable {
    public var tile: UInt8
    public var orientation: ReadOrientation
    public var vectorCount: UInt16
    public var vectorLength: UInt16
    public var inputFullScale: Volts
    /// `vectorCount × vectorLength` codes, vector after vector.
    public var inputs: [Int16]
    public init(tile: UInt8, orientation: ReadOrientation, vectorCount: UInt16, vectorLength: UInt16, inputFullScale: Volts, inputs: [Int16]) {
        self.tile = tile
        self.orientation = orientation
        self.vectorCount = vectorCount
        self.vectorLength = vectorLength
        self.inputFullScale = inputFullScale
        self.inputs = inputs
    }
}

/// The outputs of a batch of matrix-vector reads: signed ADC codes of the differential currents.
public struct MatrixVectorResult: Equatable, Sendable {
    public var vectorCount: UInt16
    public var outputLength: UInt16
    /// Differential current of one ADC code.
    public var amperesPerCode: Amperes
    /// Number of outputs that hit a full-scale code (clipped).
    public var saturated: UInt32
    /// `vectorCount × outputLength` codes, vector after vector.
    public var outputs: [Int16]
    public init(vectorCount: UInt16, outputLength: UInt16, amperesPerCode: Amperes, saturated: UInt32, outputs: [Int16]) {
        self.vectorCount = vectorCount
        self.outputLength = outputLength
        self.amperesPerCode = amperesPerCode
        self.saturated = saturated
        self.outputs = outputs
    }
}

/// One programming instruction: `repeat` identical pulses on one device.
public struct PulseCommand: Equatable, Sendable {
    public var tile: UInt8
    public var side: DeviceSide
    public var row: UInt16
    public var column: UInt16
    /// +1 potentiates (raises conductance, SET), −1 depresses (RESET).
    public var polarity: Int8
    /// Pulse amplitude (magnitude; the polarity gives the sign).
    public var amplitude: Volts
    public var widthNanoseconds: UInt32
    public var `repeat`: UInt16
    public init(tile: UInt8, side: DeviceSide, row: UInt16, column: UInt16, polarity: Int8, amplitude: Volts, widthNanoseconds: UInt32, repeat: UInt16) {
        self.tile = tile
        self.side = side
        self.row = row
        self.column = column
        self.polarity = polarity
        self.amplitude = amplitude
        self.widthNanoseconds = widthNanoseconds
        self.repeat = `repeat`
    }
    /// Pulse width.
    @inlinable public var width: Seconds { Seconds(nanoseconds: UInt64(widthNanoseconds)) }
    /// Size on the wire in bytes.
    public static let wireSize = 17
}

/// How an outer-product update maps coincidences onto the devices of a pair.
public enum UpdateMode: UInt8, Sendable {
    /// Coincidence sign s_i·s_j pulses the G⁺ device with that polarity.
    case plusSigned = 0
    /// Coincidence sign s_i·s_j pulses the G⁻ device with the opposite polarity (the weight moves by s_i·s_j).
    case minusSigned = 1
    /// Positive coincidences potentiate G⁺, negative ones potentiate G⁻ (SET-only updates).
    case differentialSet = 2
}

/// A parallel stochastic outer-product update (aihwkit-style pulse trains).
///
/// In each of `trainLength` slots, row i is driven at s_i·V/2 when its train bit is set, and
/// column j at −s_j·V/2 when its bit is set; a device whose row and column both fire sees the
/// full amplitude V with sign s_i·s_j and steps once. Half-selected devices see V/2.
public struct OuterProductUpdate: Equatable, Sendable {
    public var tile: UInt8
    public var mode: UpdateMode
    public var trainLength: UInt16
    public var amplitude: Volts
    public var widthNanoseconds: UInt32
    /// Signs per row, each −1, 0 (line idle) or +1.
    public var rowSigns: [Int8]
    /// Signs per column, each −1, 0 or +1.
    public var columnSigns: [Int8]
    /// Per row, ⌈trainLength/8⌉ bytes; bit k (LSB first) set = the row fires in slot k.
    public var rowTrains: [UInt8]
    /// Per column, ⌈trainLength/8⌉ bytes.
    public var columnTrains: [UInt8]
    public init(tile: UInt8, mode: UpdateMode, trainLength: UInt16, amplitude: Volts, widthNanoseconds: UInt32, rowSigns: [Int8], columnSigns: [Int8], rowTrains: [UInt8], columnTrains: [UInt8]) {
        self.tile = tile
        self.mode = mode
        self.trainLength = trainLength
        self.amplitude = amplitude
        self.widthNanoseconds = widthNanoseconds
        self.rowSigns = rowSigns
        self.columnSigns = columnSigns
        self.rowTrains = rowTrains
        self.columnTrains = columnTrains
    }
    /// Bytes per train.
    @inlinable public static func trainBytes(_ length: UInt16) -> Int { (Int(length) + 7) / 8 }
    /// True when line `line` of `trains` fires in slot `slot`.
    @inlinable public static func fires(_ trains: [UInt8], line: Int, slot: Int, length: UInt16) -> Bool {
        trains[line * trainBytes(length) + slot / 8] & (1 << UInt8(slot % 8)) != 0
    }
}

/// Outcome of a programming request.
public struct ProgramResult: Equatable, Sendable {
    /// Pulses applied (sum of repeats).
    public var pulsesApplied: UInt32
    /// Board time spent, in nanoseconds.
    public var elapsedNanoseconds: UInt64
    public init(pulsesApplied: UInt32, elapsedNanoseconds: UInt64) {
        self.pulsesApplied = pulsesApplied
        self.elapsedNanoseconds = elapsedNanoseconds
    }
}

/// Outcome of an outer-product update.
public struct OuterProductResult: Equatable, Sendable {
    /// Device pulses at full amplitude (coincidences).
    public var coincidences: UInt32
    /// Slots driven.
    public var slots: UInt16
    /// Board time spent, in nanoseconds.
    public var elapsedNanoseconds: UInt64
    public init(coincidences: UInt32, slots: UInt16, elapsedNanoseconds: UInt64) {
        self.coincidences = coincidences
        self.slots = slots
        self.elapsedNanoseconds = elapsedNanoseconds
    }
}

/// How a SINGLE-CELL SWEEP applies its voltage steps.
public enum SweepMode: UInt8, Sendable {
    /// Each step holds its voltage for the dwell time and converts the device current at its end.
    case staircase = 0
    /// Each step is a pulse of its amplitude and width (current converted at the end of the
    /// pulse), followed by a conductance read at the read voltage.
    case pulsed = 1
}

/// When a SINGLE-CELL SWEEP stops before its last step.
public enum SweepStop: UInt8, Sendable {
    /// Run every step.
    case none = 0
    /// Stop after the first step whose current reached the compliance (the limiter engaged).
    case compliance = 1
    /// Stop after the first step whose conductance reached the threshold: the read conductance of
    /// a pulsed sweep, |I|/|V| of a staircase step (steps at 0 V never stop it).
    case conductance = 2
}

/// A voltage sweep on one device with a current compliance (forming, SET/RESET, I-V tracing).
///
/// Wire layout (26 + 4n bytes):
/// ```
/// 0  u8   tile            1 u8 side         2 u16 row        4 u16 column
/// 6  u8   mode (SweepMode)                  7 u8 stop (SweepStop)
/// 8  u32  dwell or pulse width (ns)
/// 12 f32  compliance (A)   the engine clamps it to the active limit, refuses it above the absolute one
/// 16 f32  read voltage (V) pulsed: > 0 and ≤ the read limit; staircase: 0
/// 20 f32  stop conductance (S) stop = conductance: > 0; otherwise 0
/// 24 u16  step count n (≥ 1)
/// 26 n × f32  step voltages (V), signed, |V| ≤ the programming limit
/// ```
public struct SweepRequest: Equatable, Sendable {
    public var tile: UInt8
    public var side: DeviceSide
    public var row: UInt16
    public var column: UInt16
    public var mode: SweepMode
    public var stop: SweepStop
    /// Staircase: how long each step holds; pulsed: the pulse width.
    public var dwellNanoseconds: UInt32
    /// The current limit through the device the host asks for.
    public var compliance: Amperes
    /// Pulsed sweeps: the voltage of the read after each pulse; 0 for a staircase.
    public var readVoltage: Volts
    /// `stop == .conductance`: the conductance that ends the sweep; 0 otherwise.
    public var stopConductance: Siemens
    /// The step voltages, signed (positive potentiates).
    public var voltages: [Volts]

    /// Creates a sweep request.
    public init(
        tile: UInt8, side: DeviceSide, row: UInt16, column: UInt16, mode: SweepMode, stop: SweepStop = .none,
        dwellNanoseconds: UInt32, compliance: Amperes, readVoltage: Volts = .zero, stopConductance: Siemens = .zero,
        voltages: [Volts]
    ) {
        self.tile = tile
        self.side = side
        self.row = row
        self.column = column
        self.mode = mode
        self.stop = stop
        self.dwellNanoseconds = dwellNanoseconds
        self.compliance = compliance
        self.readVoltage = readVoltage
        self.stopConductance = stopConductance
        self.voltages = voltages
    }

    /// Size of the fixed part on the wire, in bytes.
    public static let headerSize = 26
}

/// One step of a sweep as the board measured it.
public struct SweepStep: Equatable, Sendable {
    /// The voltage the drivers applied (the request's, as the DAC realised it).
    public var voltage: Volts
    /// The device current converted at the end of the step, in codes of the sweep's `amperesPerCode`.
    public var currentCode: Int16
    /// True when the compliance limiter held the current during the step.
    public var limited: Bool
    /// Pulsed sweeps: the conductance read after the pulse, in codes of `siemensPerCode`; 0 for a staircase.
    public var readCode: Int16
    /// Creates a step record.
    public init(voltage: Volts, currentCode: Int16, limited: Bool, readCode: Int16 = 0) {
        self.voltage = voltage
        self.currentCode = currentCode
        self.limited = limited
        self.readCode = readCode
    }
    /// Size on the wire in bytes.
    public static let wireSize = 9
}

/// The outcome of a sweep: per step the applied voltage, the current and the read conductance.
///
/// Wire layout (23 + 9m bytes):
/// ```
/// 0  u16  steps executed m
/// 2  u8   flags: bit 0 = stopped by the stop condition, bit 1 = compliance clamped to the active limit
/// 3  f32  compliance in force (A)
/// 7  f32  amperes per current code
/// 11 f32  siemens per read code (0 for a staircase)
/// 15 u64  board time spent (ns)
/// 23 m × { f32 voltage (V), i16 current code, u8 flags (bit 0 = limited), i16 read code }
/// ```
public struct SweepResult: Equatable, Sendable {
    /// True when the stop condition ended the sweep (the last step met it).
    public var stopped: Bool
    /// True when the requested compliance was above the active limit and the engine used the limit.
    public var complianceClamped: Bool
    /// The current limit the drivers held during the sweep.
    public var compliance: Amperes
    /// Current of one current code.
    public var amperesPerCode: Amperes
    /// Conductance of one read code (pulsed sweeps), or 0.
    public var siemensPerCode: Siemens
    /// Board time spent, in nanoseconds.
    public var elapsedNanoseconds: UInt64
    /// The steps executed, in order.
    public var steps: [SweepStep]
    /// Creates a sweep result.
    public init(
        stopped: Bool, complianceClamped: Bool, compliance: Amperes, amperesPerCode: Amperes, siemensPerCode: Siemens,
        elapsedNanoseconds: UInt64, steps: [SweepStep]
    ) {
        self.stopped = stopped
        self.complianceClamped = complianceClamped
        self.compliance = compliance
        self.amperesPerCode = amperesPerCode
        self.siemensPerCode = siemensPerCode
        self.elapsedNanoseconds = elapsedNanoseconds
        self.steps = steps
    }
    /// The current measured in step `i`.
    @inlinable public func current(_ i: Int) -> Amperes { amperesPerCode * Double(steps[i].currentCode) }
    /// The conductance read after step `i` (pulsed sweeps).
    @inlinable public func readConductance(_ i: Int) -> Siemens { siemensPerCode * Double(steps[i].readCode) }
    /// Size of the fixed part on the wire, in bytes.
    public static let headerSize = 23
}

/// Acknowledgement of a marker change, with the board time at which the lines changed.
public struct MarkerAck: Equatable, Sendable {
    public var value: UInt8
    public var timestampNanoseconds: UInt64
    public init(value: UInt8, timestampNanoseconds: UInt64) {
        self.value = value
        self.timestampNanoseconds = timestampNanoseconds
    }
}

/// A reading of the board's temperature sensor.
public struct TemperatureReading: Equatable, Sendable {
    public var temperature: Kelvin
    public var timestampNanoseconds: UInt64
    public init(temperature: Kelvin, timestampNanoseconds: UInt64) {
        self.temperature = temperature
        self.timestampNanoseconds = timestampNanoseconds
    }
}

/// The board's activity counters since power-up or RESET.
public struct Counters: Equatable, Sendable {
    /// Programming pulses at full amplitude (single pulses, repeats and outer-product coincidences).
    public var pulses: UInt64
    /// Single-device conductance reads.
    public var deviceReads: UInt64
    /// Matrix-vector reads (one per input vector).
    public var vectorReads: UInt64
    /// ADC conversions.
    public var adcConversions: UInt64
    /// DAC updates (one per driven line per read).
    public var dacUpdates: UInt64
    /// Requests executed (retransmissions answered from the cache are not counted).
    public var requestsExecuted: UInt32
    /// Frames rejected for integrity, version or format.
    public var framesRejected: UInt32
    /// Retransmitted requests answered from the cache.
    public var retransmitsAnswered: UInt32
    /// Board time since power-up, in nanoseconds (not reset).
    public var uptimeNanoseconds: UInt64
    public init(pulses: UInt64 = 0, deviceReads: UInt64 = 0, vectorReads: UInt64 = 0, adcConversions: UInt64 = 0, dacUpdates: UInt64 = 0, requestsExecuted: UInt32 = 0, framesRejected: UInt32 = 0, retransmitsAnswered: UInt32 = 0, uptimeNanoseconds: UInt64 = 0) {
        self.pulses = pulses
        self.deviceReads = deviceReads
        self.vectorReads = vectorReads
        self.adcConversions = adcConversions
        self.dacUpdates = dacUpdates
        self.requestsExecuted = requestsExecuted
        self.framesRejected = framesRejected
        self.retransmitsAnswered = retransmitsAnswered
        self.uptimeNanoseconds = uptimeNanoseconds
    }
}

/// Reasons the firmware refuses a request. A refused request changes nothing on the board.
public enum ErrorCode: UInt8, Sendable, CaseIterable {
    /// The frame failed its integrity checks (COBS, length or CRC); retransmit it.
    case badFrame = 1
    /// The frame's protocol version is not supported.
    case unsupportedVersion = 2
    /// The opcode is unknown.
    case unknownOpcode = 3
    /// The body does not parse (offset in `index`).
    case malformedBody = 4
    /// A voltage exceeds the active limit (`value` > `limit`, item in `index`).
    case voltageOutOfLimit = 5
    /// A pulse width is outside the active limits.
    case pulseWidthOutOfLimit = 6
    /// A current (compliance or expected) exceeds the limit.
    case currentOutOfLimit = 7
    /// The request would apply more pulses than allowed.
    case pulseCountOutOfLimit = 8
    /// A tile, row or column is out of range.
    case addressOutOfRange = 9
    /// Vector or train lengths disagree with the tile's geometry.
    case geometryMismatch = 10
    /// The board is busy and cannot take the request now.
    case busy = 11
    /// A sequence number was reused for a different request while still cached.
    case sequenceReused = 12
    /// A DAC code is beyond the converter's range, or a polarity or sign is not ±1.
    case valueOutOfRange = 13
    /// SET LIMITS asked for more than the hardware allows.
    case limitAboveHardware = 14
    /// The response would not fit in one frame; split the batch.
    case responseTooLarge = 15
}

/// An error response: what was refused, where, and by how much.
///
/// Wire layout, 12 bytes: `code u8 | opcode u8 | index u16 | value f32 | limit f32`.
public struct ErrorResponse: Equatable, Sendable, Error {
    public var code: ErrorCode
    /// Opcode of the refused request (0 when the frame could not be read).
    public var opcode: UInt8
    /// Index of the offending item in a batch, or body offset of a malformed field.
    public var index: UInt16
    /// The offending value, in the unit of the limit (V, ns, A, count), or 0.
    public var value: Float
    /// The limit it broke, or 0.
    public var limit: Float
    public init(code: ErrorCode, opcode: UInt8, index: UInt16 = 0, value: Float = 0, limit: Float = 0) {
        self.code = code
        self.opcode = opcode
        self.index = index
        self.value = value
        self.limit = limit
    }
}

/// A request from the host to the board.
public enum Request: Equatable, Sendable {
    /// HELLO with the host's protocol version; answered by INFO.
    case hello(hostVersion: UInt8)
    /// PING with a payload the board echoes.
    case ping([UInt8])
    case readConductance(ConductanceRead)
    /// Forward or transposed matrix-vector reads (the orientation picks the opcode).
    case matrixVector(MatrixVectorRead)
    case programPulses([PulseCommand])
    case outerProduct(OuterProductUpdate)
    case setLimits(SafetyLimits)
    /// Drive the marker lines with this value.
    case marker(UInt8)
    case temperature
    case counters
    case reset
    /// A single-cell sweep with a current compliance.
    case sweep(SweepRequest)

    /// The opcode this request is sent with.
    @inlinable public var opcode: Opcode {
        switch self {
        case .hello: .hello
        case .ping: .ping
        case .readConductance: .readConductance
        case .matrixVector(let m): m.orientation == .forward ? .matrixVector : .matrixVectorTransposed
        case .programPulses: .programPulses
        case .outerProduct: .outerProduct
        case .setLimits: .setLimits
        case .marker: .marker
        case .temperature: .temperature
        case .counters: .counters
        case .reset: .reset
        case .sweep: .sweep
        }
    }

    /// The body bytes of this request.
    @inlinable public func body() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .hello(let v): w.u8(v)
        case .ping(let p): w.raw(p)
        case .readConductance(let r):
            w.u8(r.tile); w.u8(r.sides); w.u16(r.row); w.u16(r.column); w.u16(r.rows); w.u16(r.columns)
            w.f32(Float(r.readVoltage.value))
        case .matrixVector(let m):
            w = ByteWriter(capacity: 10 + m.inputs.count * 2)
            w.u8(m.tile); w.u8(0); w.u16(m.vectorCount); w.u16(m.vectorLength)
            w.f32(Float(m.inputFullScale.value)); w.i16s(m.inputs)
        case .programPulses(let pulses):
            w = ByteWriter(capacity: 2 + pulses.count * PulseCommand.wireSize)
            w.u16(UInt16(truncatingIfNeeded: pulses.count))
            for p in pulses {
                w.u8(p.tile); w.u8(p.side.rawValue); w.u16(p.row); w.u16(p.column); w.i8(p.polarity)
                w.f32(Float(p.amplitude.value)); w.u32(p.widthNanoseconds); w.u16(p.repeat)
            }
        case .outerProduct(let u):
            w.u8(u.tile); w.u8(u.mode.rawValue); w.u16(u.trainLength); w.f32(Float(u.amplitude.value))
            w.u32(u.widthNanoseconds)
            w.u16(UInt16(truncatingIfNeeded: u.rowSigns.count)); w.u16(UInt16(truncatingIfNeeded: u.columnSigns.count))
            for s in u.rowSigns { w.i8(s) }
            for s in u.columnSigns { w.i8(s) }
            w.raw(u.rowTrains); w.raw(u.columnTrains)
        case .setLimits(let l): l.write(&w)
        case .marker(let v): w.u8(v)
        case .temperature, .counters, .reset: break
        case .sweep(let q):
            w = ByteWriter(capacity: SweepRequest.headerSize + 4 * q.voltages.count)
            w.u8(q.tile); w.u8(q.side.rawValue); w.u16(q.row); w.u16(q.column); w.u8(q.mode.rawValue); w.u8(q.stop.rawValue)
            w.u32(q.dwellNanoseconds); w.f32(Float(q.compliance.value)); w.f32(Float(q.readVoltage.value))
            w.f32(Float(q.stopConductance.value)); w.u16(UInt16(truncatingIfNeeded: q.voltages.count))
            for v in q.voltages { w.f32(Float(v.value)) }
        }
        return w.bytes
    }

    /// The request as a frame with sequence number `sequence`.
    @inlinable public func frame(sequence: UInt16) -> Frame {
        Frame(type: opcode.rawValue, sequence: sequence, body: body())
    }

    /// Reads a request from a frame of the current version.
    @inlinable public static func decode(_ frame: Frame) throws(ProtocolError) -> Request {
        if frame.version != ProtocolVersion.current { throw .unsupportedVersion(frame.version) }
        guard let op = Opcode(rawValue: frame.type) else { throw .unknownType(frame.type) }
        var r = ByteReader(frame.body, type: frame.type)
        let request: Request
        switch op {
        case .hello: request = .hello(hostVersion: try r.u8())
        case .ping: request = .ping(frame.body); _ = try r.raw(frame.body.count)
        case .readConductance:
            let tile = try r.u8()
            let sidesAt = r.offset
            let sides = try r.u8()
            if sides == 0 || sides > 3 { throw r.invalid(at: sidesAt) }
            request = .readConductance(ConductanceRead(
                tile: tile, sides: sides, row: try r.u16(), column: try r.u16(), rows: try r.u16(),
                columns: try r.u16(), readVoltage: Volts(Double(try r.finiteF32()))))
        case .matrixVector, .matrixVectorTransposed:
            let tile = try r.u8()
            let flagsAt = r.offset
            if try r.u8() != 0 { throw r.invalid(at: flagsAt) }
            let count = try r.u16()
            let length = try r.u16()
            let fullScale = Volts(Double(try r.finiteF32()))
            let inputs = try r.i16s(UInt64(count) * UInt64(length))
            request = .matrixVector(MatrixVectorRead(
                tile: tile, orientation: op == .matrixVector ? .forward : .transposed,
                vectorCount: count, vectorLength: length, inputFullScale: fullScale, inputs: inputs))
        case .programPulses:
            let n = Int(try r.u16())
            var pulses: [PulseCommand] = []
            pulses.reserveCapacity(min(n, r.remaining / PulseCommand.wireSize))
            for _ in 0..<n {
                let tile = try r.u8()
                let sideAt = r.offset
                guard let side = DeviceSide(rawValue: try r.u8()) else { throw r.invalid(at: sideAt) }
                pulses.append(PulseCommand(
                    tile: tile, side: side, row: try r.u16(), column: try r.u16(), polarity: try r.i8(),
                    amplitude: Volts(Double(try r.finiteF32())), widthNanoseconds: try r.u32(), repeat: try r.u16()))
            }
            request = .programPulses(pulses)
        case .outerProduct:
            let tile = try r.u8()
            let modeAt = r.offset
            guard let mode = UpdateMode(rawValue: try r.u8()) else { throw r.invalid(at: modeAt) }
            let length = try r.u16()
            let amplitude = Volts(Double(try r.finiteF32()))
            let width = try r.u32()
            let nr = Int(try r.u16())
            let nc = Int(try r.u16())
            var rowSigns: [Int8] = []
            var columnSigns: [Int8] = []
            for _ in 0..<nr { rowSigns.append(try r.i8()) }
            for _ in 0..<nc { columnSigns.append(try r.i8()) }
            let tb = OuterProductUpdate.trainBytes(length)
            let rowTrains = try r.raw(nr * tb)
            let columnTrains = try r.raw(nc * tb)
            request = .outerProduct(OuterProductUpdate(
                tile: tile, mode: mode, trainLength: length, amplitude: amplitude, widthNanoseconds: width,
                rowSigns: rowSigns, columnSigns: columnSigns, rowTrains: rowTrains, columnTrains: columnTrains))
        case .setLimits: request = .setLimits(try SafetyLimits.read(&r))
        case .marker: request = .marker(try r.u8())
        case .temperature: request = .temperature
        case .counters: request = .counters
        case .reset: request = .reset
        case .sweep: request = .sweep(try SweepRequest.read(&r))
        }
        try r.finish()
        return request
    }
}

/// A response from the board to the host.
public enum Response: Equatable, Sendable {
    case info(BoardInfo)
    case pong([UInt8])
    case conductances(ConductanceReadResult)
    case matrixVector(MatrixVectorResult)
    case programmed(ProgramResult)
    case outerProduct(OuterProductResult)
    /// The limits in force after SET LIMITS.
    case limits(SafetyLimits)
    case marker(MarkerAck)
    case temperature(TemperatureReading)
    case counters(Counters)
    case reset
    /// The outcome of a single-cell sweep.
    case sweep(SweepResult)
    /// A refusal; the board changed nothing.
    case error(ErrorResponse)

    /// The body bytes of this response.
    @inlinable public func body() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .info(let i):
            w.u8(i.protocolVersion)
            w.u8(i.firmwareVersion.major); w.u8(i.firmwareVersion.minor); w.u8(i.firmwareVersion.patch)
            w.u32(i.clockHertz); w.u8(i.dacBits); w.u8(i.adcBits); w.u8(i.markerLines)
            w.u16(i.maxRequestBody); w.f32(Float(i.deviceReadFullScale.value))
            w.u8(UInt8(truncatingIfNeeded: i.serial.count)); w.raw(i.serial)
            w.u8(UInt8(truncatingIfNeeded: i.tiles.count))
            for t in i.tiles { w.u16(t.rows); w.u16(t.columns); w.f32(Float(t.outputFullScale.value)) }
            i.absoluteLimits.write(&w)
            i.activeLimits.write(&w)
        case .pong(let p): w.raw(p)
        case .conductances(let c):
            w = ByteWriter(capacity: 9 + c.codes.count * 2)
            w.u16(c.rows); w.u16(c.columns); w.u8(c.sides); w.f32(Float(c.siemensPerCode.value)); w.i16s(c.codes)
        case .matrixVector(let m):
            w = ByteWriter(capacity: 12 + m.outputs.count * 2)
            w.u16(m.vectorCount); w.u16(m.outputLength); w.f32(Float(m.amperesPerCode.value))
            w.u32(m.saturated); w.i16s(m.outputs)
        case .programmed(let p): w.u32(p.pulsesApplied); w.u64(p.elapsedNanoseconds)
        case .outerProduct(let o): w.u32(o.coincidences); w.u16(o.slots); w.u64(o.elapsedNanoseconds)
        case .limits(let l): l.write(&w)
        case .marker(let m): w.u8(m.value); w.u64(m.timestampNanoseconds)
        case .temperature(let t): w.f32(Float(t.temperature.value)); w.u64(t.timestampNanoseconds)
        case .counters(let c):
            w.u64(c.pulses); w.u64(c.deviceReads); w.u64(c.vectorReads); w.u64(c.adcConversions)
            w.u64(c.dacUpdates); w.u32(c.requestsExecuted); w.u32(c.framesRejected)
            w.u32(c.retransmitsAnswered); w.u64(c.uptimeNanoseconds)
        case .reset: break
        case .sweep(let q):
            w = ByteWriter(capacity: SweepResult.headerSize + SweepStep.wireSize * q.steps.count)
            w.u16(UInt16(truncatingIfNeeded: q.steps.count))
            w.u8((q.stopped ? 1 : 0) | (q.complianceClamped ? 2 : 0))
            w.f32(Float(q.compliance.value)); w.f32(Float(q.amperesPerCode.value)); w.f32(Float(q.siemensPerCode.value))
            w.u64(q.elapsedNanoseconds)
            for step in q.steps {
                w.f32(Float(step.voltage.value)); w.i16(step.currentCode); w.u8(step.limited ? 1 : 0); w.i16(step.readCode)
            }
        case .error(let e):
            w.u8(e.code.rawValue); w.u8(e.opcode); w.u16(e.index); w.f32(e.value); w.f32(e.limit)
        }
        return w.bytes
    }

    /// The response as a frame answering `opcode` with sequence number `sequence`.
    @inlinable public func frame(answering opcode: Opcode, sequence: UInt16) -> Frame {
        if case .error = self { return Frame(type: FrameType.error, sequence: sequence, body: body()) }
        return Frame(type: opcode.responseType, sequence: sequence, body: body())
    }

    /// Reads a response from a frame of the current version.
    @inlinable public static func decode(_ frame: Frame) throws(ProtocolError) -> Response {
        if frame.version != ProtocolVersion.current { throw .unsupportedVersion(frame.version) }
        var r = ByteReader(frame.body, type: frame.type)
        let response: Response
        if frame.type == FrameType.error {
            let codeAt = r.offset
            guard let code = ErrorCode(rawValue: try r.u8()) else { throw r.invalid(at: codeAt) }
            response = .error(ErrorResponse(code: code, opcode: try r.u8(), index: try r.u16(), value: try r.f32(), limit: try r.f32()))
            try r.finish()
            return response
        }
        guard frame.type & 0x80 != 0, let op = Opcode(rawValue: frame.type & 0x7F) else {
            throw .unknownType(frame.type)
        }
        switch op {
        case .hello:
            let protocolVersion = try r.u8()
            let fw = FirmwareVersion(major: try r.u8(), minor: try r.u8(), patch: try r.u8())
            let clock = try r.u32()
            let dac = try r.u8()
            let adc = try r.u8()
            let markers = try r.u8()
            let maxBody = try r.u16()
            let deviceFS = Amperes(Double(try r.finiteF32()))
            let serialLength = Int(try r.u8())
            let serial = try r.raw(serialLength)
            let tileCount = Int(try r.u8())
            var tiles: [TileInfo] = []
            for _ in 0..<tileCount {
                tiles.append(TileInfo(rows: try r.u16(), columns: try r.u16(), outputFullScale: Amperes(Double(try r.finiteF32()))))
            }
            response = .info(BoardInfo(
                protocolVersion: protocolVersion, firmwareVersion: fw, serial: serial, clockHertz: clock,
                dacBits: dac, adcBits: adc, markerLines: markers, maxRequestBody: maxBody,
                deviceReadFullScale: deviceFS, tiles: tiles, absoluteLimits: try SafetyLimits.read(&r),
                activeLimits: try SafetyLimits.read(&r)))
        case .ping: response = .pong(try r.raw(frame.body.count))
        case .readConductance:
            let rows = try r.u16()
            let columns = try r.u16()
            let sidesAt = r.offset
            let sides = try r.u8()
            if sides == 0 || sides > 3 { throw r.invalid(at: sidesAt) }
            let scale = Siemens(Double(try r.finiteF32()))
            let n = UInt64(rows) * UInt64(columns) * (sides == 3 ? 2 : 1)
            response = .conductances(ConductanceReadResult(rows: rows, columns: columns, sides: sides, siemensPerCode: scale, codes: try r.i16s(n)))
        case .matrixVector, .matrixVectorTransposed:
            let count = try r.u16()
            let length = try r.u16()
            let scale = Amperes(Double(try r.finiteF32()))
            let saturated = try r.u32()
            response = .matrixVector(MatrixVectorResult(vectorCount: count, outputLength: length, amperesPerCode: scale, saturated: saturated, outputs: try r.i16s(UInt64(count) * UInt64(length))))
        case .programPulses: response = .programmed(ProgramResult(pulsesApplied: try r.u32(), elapsedNanoseconds: try r.u64()))
        case .outerProduct: response = .outerProduct(OuterProductResult(coincidences: try r.u32(), slots: try r.u16(), elapsedNanoseconds: try r.u64()))
        case .setLimits: response = .limits(try SafetyLimits.read(&r))
        case .marker: response = .marker(MarkerAck(value: try r.u8(), timestampNanoseconds: try r.u64()))
        case .temperature: response = .temperature(TemperatureReading(temperature: Kelvin(Double(try r.finiteF32())), timestampNanoseconds: try r.u64()))
        case .counters:
            response = .counters(Counters(
                pulses: try r.u64(), deviceReads: try r.u64(), vectorReads: try r.u64(), adcConversions: try r.u64(),
                dacUpdates: try r.u64(), requestsExecuted: try r.u32(), framesRejected: try r.u32(),
                retransmitsAnswered: try r.u32(), uptimeNanoseconds: try r.u64()))
        case .reset: response = .reset
        case .sweep: response = .sweep(try SweepResult.read(&r))
        }
        try r.finish()
        return response
    }
}


extension SweepRequest {
    /// Reads the body of a SINGLE-CELL SWEEP request; fields the mode or stop condition does not
    /// use must be 0, and a sweep has at least one step.
    @inlinable static func read(_ r: inout ByteReader) throws(ProtocolError) -> SweepRequest {
        let tile = try r.u8()
        let sideAt = r.offset
        guard let side = DeviceSide(rawValue: try r.u8()) else { throw r.invalid(at: sideAt) }
        let row = try r.u16()
        let column = try r.u16()
        let modeAt = r.offset
        guard let mode = SweepMode(rawValue: try r.u8()) else { throw r.invalid(at: modeAt) }
        let stopAt = r.offset
        guard let stop = SweepStop(rawValue: try r.u8()) else { throw r.invalid(at: stopAt) }
        let dwell = try r.u32()
        let compliance = Amperes(Double(try r.finiteF32()))
        let readAt = r.offset
        let read = try r.finiteF32()
        if mode == .staircase && read != 0 { throw r.invalid(at: readAt) }
        let thresholdAt = r.offset
        let threshold = try r.finiteF32()
        if (stop == .conductance) != (threshold != 0) || threshold < 0 { throw r.invalid(at: thresholdAt) }
        let countAt = r.offset
        let n = Int(try r.u16())
        if n == 0 { throw r.invalid(at: countAt) }
        if n * 4 > r.remaining { throw ProtocolError.truncatedBody(type: Opcode.sweep.rawValue, offset: UInt32(r.offset + r.remaining)) }
        var voltages: [Volts] = []
        voltages.reserveCapacity(n)
        for _ in 0..<n { voltages.append(Volts(Double(try r.finiteF32()))) }
        return SweepRequest(
            tile: tile, side: side, row: row, column: column, mode: mode, stop: stop, dwellNanoseconds: dwell,
            compliance: compliance, readVoltage: Volts(Double(read)), stopConductance: Siemens(Double(threshold)),
            voltages: voltages)
    }
}

extension SweepResult {
    /// Reads the body of a SINGLE-CELL SWEEP response.
    @inlinable static func read(_ r: inout ByteReader) throws(ProtocolError) -> SweepResult {
        let m = Int(try r.u16())
        let flagsAt = r.offset
        let flags = try r.u8()
        if flags > 3 { throw r.invalid(at: flagsAt) }
        let compliance = Amperes(Double(try r.finiteF32()))
        let perCode = Amperes(Double(try r.finiteF32()))
        let perRead = Siemens(Double(try r.finiteF32()))
        let elapsed = try r.u64()
        if m * SweepStep.wireSize > r.remaining {
            throw ProtocolError.truncatedBody(type: Opcode.sweep.responseType, offset: UInt32(r.offset + r.remaining))
        }
        var steps: [SweepStep] = []
        steps.reserveCapacity(m)
        for _ in 0..<m {
            let v = Volts(Double(try r.finiteF32()))
            let current = try r.i16()
            let stepFlagsAt = r.offset
            let stepFlags = try r.u8()
            if stepFlags > 1 { throw r.invalid(at: stepFlagsAt) }
            steps.append(SweepStep(voltage: v, currentCode: current, limited: stepFlags == 1, readCode: try r.i16()))
        }
        return SweepResult(
            stopped: flags & 1 != 0, complianceClamped: flags & 2 != 0, compliance: compliance, amperesPerCode: perCode,
            siemensPerCode: perRead, elapsedNanoseconds: elapsed, steps: steps)
    }
}
