#if !hasFeature(Embedded)
// Codable for the host only (the microcontroller build has no Codable): a quantity is written
// as its bare number in its SI unit, so records and JSON read the same as the unit type's name says.

extension Decodable where Self: PhysicalQuantity {
    /// Reads the value in the type's SI unit.
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(Double.self))
    }
}

extension Encodable where Self: PhysicalQuantity {
    /// Writes the value in the type's SI unit.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

extension Joules: Codable {}
extension Watts: Codable {}
extension Seconds: Codable {}
extension Volts: Codable {}
extension Amperes: Codable {}
extension Siemens: Codable {}
extension Ohms: Codable {}
extension Coulombs: Codable {}
extension Farads: Codable {}
extension Kelvin: Codable {}
extension Hertz: Codable {}
extension JoulesPerBit: Codable {}
#endif
