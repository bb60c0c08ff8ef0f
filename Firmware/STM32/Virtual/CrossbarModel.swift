/// How a model device answers a full-amplitude programming pulse, in integer conductance units
/// (one unit is one code of a single-device read).
enum DeviceResponse: Sendable {
    /// Every pulse moves the conductance by exactly one unit in the pulse's direction.
    case ideal
    /// Each device moves by a step of its own, drawn once from the image's seed, uniformly in
    /// `mean − spread … mean + spread` (at least one unit): device-to-device variation.
    case constantStep(mean: Int16, spread: Int16)
}

/// One tile of model devices: a G⁺ and a G⁻ array of `rows × columns` integer conductances.
struct ModelTile {
    let rows: Int
    let columns: Int
    /// Conductance units, row-major, G⁺ then G⁻.
    var plus: [Int16]
    var minus: [Int16]
    /// Per-device steps for `.constantStep`; empty for `.ideal` (step one).
    var plusStep: [Int16]
    var minusStep: [Int16]
    /// The conductance window, in units: pulses never take a device outside it.
    let minimum: Int16
    let maximum: Int16

    /// A tile whose devices start at `initialPlus(k)` and `initialMinus(k)` for cell k (row-major).
    init(
        rows: Int, columns: Int, response: DeviceResponse, window: ClosedRange<Int16>, generator: inout SplitMix64,
        initialPlus: (Int) -> Int16, initialMinus: (Int) -> Int16
    ) {
        self.rows = rows
        self.columns = columns
        minimum = window.lowerBound
        maximum = window.upperBound
        let n = rows * columns
        plus = [Int16](repeating: 0, count: n)
        minus = [Int16](repeating: 0, count: n)
        for k in 0..<n {
            plus[k] = initialPlus(k)
            minus[k] = initialMinus(k)
        }
        switch response {
        case .ideal:
            plusStep = []
            minusStep = []
        case .constantStep(let mean, let spread):
            plusStep = Self.drawSteps(n, mean: mean, spread: spread, &generator)
            minusStep = Self.drawSteps(n, mean: mean, spread: spread, &generator)
        }
    }

    static func drawSteps(_ n: Int, mean: Int16, spread: Int16, _ generator: inout SplitMix64) -> [Int16] {
        let width = UInt64(2 * Int(spread) + 1)
        var steps = [Int16](repeating: 1, count: n)
        for k in 0..<n {
            let offset = Int(generator.next() % width) - Int(spread)
            steps[k] = Int16(max(1, Int(mean) + offset))
        }
        return steps
    }

    /// Moves device (`k`, `side`) by `direction` (±1) steps, within the window.
    mutating func step(_ k: Int, side: DeviceSide, direction: Int) {
        if side == .plus {
            let s = plusStep.isEmpty ? 1 : Int(plusStep[k])
            plus[k] = clamp(Int(plus[k]) + direction * s)
        } else {
            let s = minusStep.isEmpty ? 1 : Int(minusStep[k])
            minus[k] = clamp(Int(minus[k]) + direction * s)
        }
    }

    func clamp(_ value: Int) -> Int16 { Int16(min(Int(maximum), max(Int(minimum), value))) }

    /// The weight G⁺ − G⁻ of cell `k`, in units.
    @inline(__always) func weight(_ k: Int) -> Int32 { Int32(plus[k]) - Int32(minus[k]) }
}
