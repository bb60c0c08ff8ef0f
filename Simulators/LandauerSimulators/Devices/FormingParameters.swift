import LandauerFirmware

/// Fresh (unformed) devices, for forming experiments: before forming a device conducts only
/// `unformedConductance` (far below the window) and ignores programming; the first positive
/// voltage at or above its own forming voltage (drawn per device from the board's seed) forms it.
/// Forming is compliance-limited: the filament grows until the current reaches the compliance I_c,
/// so the device lands at G = I_c / V, limited to the conductance window, and from then on
/// behaves as the configured device model. Negative voltages never form a device.
///
/// `VirtualBoardConfig.forming` is `nil` by default: devices start formed, as before.
public struct FormingParameters: Sendable, Equatable {
    /// Conductance of a device before forming.
    public var unformedConductance: Siemens
    /// Mean forming voltage.
    public var formingVoltage: Volts
    /// Device-to-device standard deviation of the forming voltage.
    public var formingVoltageSpread: Volts
    /// The lowest forming voltage a device can draw (the Gaussian is cut off here).
    public var minimumFormingVoltage: Volts

    /// Creates forming parameters (defaults: 10 nS before forming, forming at 2.2 V ± 0.15 V,
    /// never below 1.2 V: HfO₂/TaOₓ cells of a few nm form at 2–3 V).
    public init(
        unformedConductance: Siemens = Siemens(10e-9), formingVoltage: Volts = Volts(2.2),
        formingVoltageSpread: Volts = Volts(0.15), minimumFormingVoltage: Volts = Volts(1.2)
    ) {
        self.unformedConductance = unformedConductance
        self.formingVoltage = formingVoltage
        self.formingVoltageSpread = formingVoltageSpread
        self.minimumFormingVoltage = minimumFormingVoltage
    }

    /// What is wrong with these parameters (empty when valid).
    public func problems(window: ConductanceWindow) -> [String] {
        var p: [String] = []
        if !(unformedConductance.value > 0) { p.append("unformed conductance must be positive") }
        if !(formingVoltage.value > 0) { p.append("forming voltage must be positive") }
        if !(formingVoltageSpread.value >= 0) { p.append("forming voltage spread must be non-negative") }
        if !(minimumFormingVoltage.value > 0) { p.append("minimum forming voltage must be positive") }
        return p
    }
}
