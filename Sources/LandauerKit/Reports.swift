import LandauerFirmware

/// A board's INFO in a form for people and for JSON.
public struct BoardInfoReport: Codable, Sendable, Equatable {
    public struct Tile: Codable, Sendable, Equatable {
        public var rows: Int
        public var columns: Int
        public var outputFullScaleAmperes: Double
    }
    public struct Limits: Codable, Sendable, Equatable {
        public var programVoltageVolts: Double
        public var readVoltageVolts: Double
        public var minPulseWidthNanoseconds: UInt32
        public var maxPulseWidthNanoseconds: UInt32
        public var complianceCurrentAmperes: Double
        public var maxPulsesPerRequest: UInt32

        init(_ l: SafetyLimits) {
            programVoltageVolts = l.programVoltage.value
            readVoltageVolts = l.readVoltage.value
            minPulseWidthNanoseconds = l.minPulseWidthNanoseconds
            maxPulseWidthNanoseconds = l.maxPulseWidthNanoseconds
            complianceCurrentAmperes = l.complianceCurrent.value
            maxPulsesPerRequest = l.maxPulsesPerRequest
        }
    }
    public var endpoint: String
    public var protocolVersion: Int
    public var firmwareVersion: String
    public var serial: String
    public var clockHertz: UInt32
    public var dacBits: Int
    public var adcBits: Int
    public var markerLines: Int
    public var maxRequestBodyBytes: Int
    public var deviceReadFullScaleAmperes: Double
    public var tiles: [Tile]
    public var absoluteLimits: Limits
    public var activeLimits: Limits

    /// The report of `info`, read from `endpoint`.
    public init(_ info: BoardInfo, endpoint: String) {
        self.endpoint = endpoint
        protocolVersion = Int(info.protocolVersion)
        let v = info.firmwareVersion
        firmwareVersion = "\(v.major).\(v.minor).\(v.patch)"
        serial = String(decoding: info.serial, as: UTF8.self)
        clockHertz = info.clockHertz
        dacBits = Int(info.dacBits)
        adcBits = Int(info.adcBits)
        markerLines = Int(info.markerLines)
        maxRequestBodyBytes = Int(info.maxRequestBody)
        deviceReadFullScaleAmperes = info.deviceReadFullScale.value
        tiles = info.tiles.map { Tile(rows: Int($0.rows), columns: Int($0.columns), outputFullScaleAmperes: $0.outputFullScale.value) }
        absoluteLimits = Limits(info.absoluteLimits)
        activeLimits = Limits(info.activeLimits)
    }

    /// Lines for a terminal.
    public var text: String {
        var lines = [
            "board          \(serial) at \(endpoint)",
            "firmware       \(firmwareVersion), protocol \(protocolVersion)",
            "clock          \(Hertz(Double(clockHertz)).formatted())",
            "converters     DAC \(dacBits) bit, ADC \(adcBits) bit; device-read full scale \(Amperes(deviceReadFullScaleAmperes).formatted())",
            "marker lines   \(markerLines)",
        ]
        for (k, t) in tiles.enumerated() {
            lines.append("tile \(k)         \(t.rows) × \(t.columns) differential pairs, output full scale \(Amperes(t.outputFullScaleAmperes).formatted())")
        }
        for (name, l) in [("absolute", absoluteLimits), ("active", activeLimits)] {
            lines.append("\(name) limits".padding(15) + "program ≤ \(Volts(l.programVoltageVolts).formatted()), read ≤ \(Volts(l.readVoltageVolts).formatted()), pulses \(l.minPulseWidthNanoseconds) ns … \(l.maxPulseWidthNanoseconds) ns, compliance \(Amperes(l.complianceCurrentAmperes).formatted()), ≤ \(l.maxPulsesPerRequest) pulses per request")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// Pads with spaces on the right to at least `width` characters.
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
