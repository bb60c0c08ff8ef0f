// libFuzzer target for the board wire protocol and the firmware engine.
//
// Built by Firmware/Fuzz/run.sh together with the firmware sources (one module), with
// -sanitize=fuzzer,address. Every input goes through the frame decoder, both message decoders,
// a re-encoding check (a decoded message must re-encode to the same body bytes), and the engine
// on a front end that accepts anything. A crash, a sanitizer report or a failed check stops it.

/// A front end with no physics: the engine's control flow is what is being fuzzed.
struct FuzzFrontEnd: AnalogFrontEnd {
    var hardware = FrontEndDescription(
        serial: Array("FUZZ".utf8), clockHertz: 100_000_000, dacBits: 8, adcBits: 10, markerLines: 8,
        tiles: [TileInfo(rows: 8, columns: 4, outputFullScale: Amperes(1e-4)), TileInfo(rows: 2, columns: 3, outputFullScale: Amperes(1e-5))],
        deviceReadFullScale: Amperes(1e-5),
        absoluteLimits: SafetyLimits(programVoltage: Volts(3), readVoltage: Volts(0.5), minPulseWidthNanoseconds: 10, maxPulseWidthNanoseconds: 1_000_000, complianceCurrent: Amperes(1e-4), maxPulsesPerRequest: 5_000))
    var nanoseconds: UInt64 = 0
    var pulses = 0
    mutating func run(cycles: UInt32) { nanoseconds &+= UInt64(cycles) }
    mutating func driveInputs(tile: Int, orientation: ReadOrientation, codes: UnsafeBufferPointer<Int16>, fullScale: Volts) {
        precondition(codes.count == Int(orientation == .forward ? hardware.tiles[tile].rows : hardware.tiles[tile].columns))
    }
    mutating func convertOutputs(tile: Int, orientation: ReadOrientation, into codes: UnsafeMutableBufferPointer<Int16>) -> UInt32 {
        precondition(codes.count == Int(orientation == .forward ? hardware.tiles[tile].columns : hardware.tiles[tile].rows))
        for k in 0..<codes.count { codes[k] = Int16(truncatingIfNeeded: k) }
        return 0
    }
    mutating func readDevice(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts) -> Int16 {
        precondition(row < Int(hardware.tiles[tile].rows) && column < Int(hardware.tiles[tile].columns))
        return 1
    }
    mutating func pulse(tile: Int, row: Int, column: Int, side: DeviceSide, polarity: Int8, amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes) {
        precondition(row < Int(hardware.tiles[tile].rows) && column < Int(hardware.tiles[tile].columns))
        precondition(amplitude <= hardware.absoluteLimits.programVoltage && (polarity == 1 || polarity == -1))
        pulses += 1
        precondition(pulses <= 5_000)
    }
    mutating func pulseSlot(tile: Int, side: DeviceSide, rowDrive: UnsafeBufferPointer<Int8>, columnDrive: UnsafeBufferPointer<Int8>, amplitude: Volts, widthNanoseconds: UInt32, compliance: Amperes) -> UInt32 {
        precondition(rowDrive.count == Int(hardware.tiles[tile].rows) && columnDrive.count == Int(hardware.tiles[tile].columns))
        return 1
    }
    mutating func applyDC(tile: Int, row: Int, column: Int, side: DeviceSide, voltage: Volts, compliance: Amperes, dwellNanoseconds: UInt32, currentFullScale: Amperes) -> DCMeasurement {
        precondition(row < Int(hardware.tiles[tile].rows) && column < Int(hardware.tiles[tile].columns))
        precondition(voltage.magnitude <= hardware.absoluteLimits.programVoltage)
        precondition(compliance.value > 0 && compliance <= hardware.absoluteLimits.complianceCurrent)
        pulses += 1
        precondition(pulses <= 5_000)
        return DCMeasurement(voltage: voltage, currentCode: 1, limited: false)
    }
    mutating func setMarkers(_ value: UInt8) {}
    mutating func readTemperature() -> Kelvin { Kelvin(300) }
}

nonisolated(unsafe) var fuzzEngine = FirmwareEngine(frontEnd: FuzzFrontEnd())

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBoardProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    // Half of the inputs are taken as raw wire bytes; the other half as (type, sequence, body),
    // framed here with a valid CRC, so mutations reach the message decoders and the engine
    // instead of dying at the checksum.
    var bytes = Array(input)
    if let selector = input.first, selector & 1 == 1, input.count >= 4 {
        let frame = Frame(type: input[1], sequence: UInt16(input[2]) | UInt16(input[3]) << 8, body: Array(input[4...]))
        bytes = frame.encoded()
        bytes.removeLast()
    }
    if let (frame, _) = bytes.withUnsafeBufferPointer({ try? Frame.decodeWithChecksum($0) }) {
        if let r = try? Request.decode(frame) {
            precondition(r.body() == frame.body, "request does not re-encode to its bytes")
            precondition(r.opcode.rawValue == frame.type)
        }
        if let r = try? Response.decode(frame) {
            precondition(r.body() == frame.body, "response does not re-encode to its bytes")
        }
    }
    fuzzEngine.frontEnd.pulses = 0
    fuzzEngine.receive(bytes + [0]) { reply in
        // Every reply the engine sends must itself be a valid frame.
        precondition((try? Frame.decode(reply)) != nil, "engine sent an invalid frame")
    }
    return 0
}
