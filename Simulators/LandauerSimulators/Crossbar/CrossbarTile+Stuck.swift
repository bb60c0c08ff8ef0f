import LandauerFirmware

extension CrossbarTile {
    /// Makes one device stuck at the window's minimum or maximum (its conductance moves there and
    /// later pulses leave it), or frees it (`.free`: it keeps its conductance and responds again).
    /// For a device's known place in a measured yield map, e.g. a virtual twin of a real board.
    public mutating func setStuck(_ state: StuckState, row: Int, column: Int, side: DeviceSide) {
        let k = index(row, column)
        let g: Double? = switch state {
        case .free: nil
        case .atMinimum: window.minimum.value
        case .atMaximum: window.maximum.value
        }
        func apply(_ a: inout DeviceArray) {
            a.stuck[k] = state.rawValue
            if let g {
                a.state[k] = physics.state(ofConductance: g)
                a.conductance[k] = g
            }
        }
        if side == .plus { apply(&plus) } else { apply(&minus) }
        cachesValid = false
    }

    /// Every stuck device of the tile, G⁺ before G⁻, row-major within a side.
    public var stuckDevices: [(row: Int, column: Int, side: DeviceSide, state: StuckState)] {
        var out: [(row: Int, column: Int, side: DeviceSide, state: StuckState)] = []
        for (side, a) in [(DeviceSide.plus, plus), (.minus, minus)] {
            for k in a.stuck.indices where a.stuck[k] != 0 {
                out.append((k / columns, k % columns, side, StuckState(rawValue: a.stuck[k]) ?? .free))
            }
        }
        return out
    }

    /// A pulsed-model device's own steps of w per pulse, up and down, before the state factor and
    /// cycle-to-cycle noise (nil for the other models). A free device whose steps are both 0
    /// (the device-to-device draw clipped them) never moves, though it is not stuck.
    public func steps(row: Int, column: Int, side: DeviceSide) -> (up: Double, down: Double)? {
        guard physics.isPulsed else { return nil }
        let k = index(row, column)
        let a = side == .plus ? plus : minus
        return (a.stepUp[k], a.stepDown[k])
    }
}
