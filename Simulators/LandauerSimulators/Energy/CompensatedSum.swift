/// A running sum with Neumaier's compensation (Kahan–Babuška): the rounding error of every
/// addition is kept and added back, so the total of millions of terms of very different sizes is
/// exact to about one unit in the last place, independent of the number of terms.
public struct CompensatedSum: Sendable, Equatable {
    /// The naive running sum.
    public private(set) var sum: Double = 0
    /// The accumulated rounding error of `sum`.
    public private(set) var compensation: Double = 0

    /// An empty sum.
    public init() {}

    /// Adds one term.
    public mutating func add(_ x: Double) {
        let t = sum + x
        if abs(sum) >= abs(x) {
            compensation += (sum - t) + x
        } else {
            compensation += (x - t) + sum
        }
        sum = t
    }

    /// Adds another compensated sum (its sum and its compensation, each compensated).
    public mutating func add(_ other: CompensatedSum) {
        add(other.sum)
        add(other.compensation)
    }

    /// The corrected total.
    public var value: Double { sum + compensation }
}
