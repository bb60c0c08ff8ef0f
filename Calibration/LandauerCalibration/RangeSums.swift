import LandauerFirmware

/// The raw material of every energy figure: per meter range, how many samples (a weight: a
/// boundary sample counts half on each side) and the sum of their raw readings, plus the samples
/// that are missing. Calibration is applied to these sums, never sample by sample, so the same
/// correction and the same uncertainty propagate into a window, a baseline and their difference.
///
/// Raw readings are in the quantity's SI unit as the meter reports them (amperes for a current
/// meter), before this toolkit's calibration.
public struct RangeSums: Sendable, Equatable, Codable {
    /// Ranges a meter may report (the PPK2 has 5; an SCPI meter uses range 0).
    public static let rangeCount = 8

    /// Sample weight per range.
    public var counts: [Double]
    /// Sum of raw readings per range, weighted like `counts`.
    public var sums: [Double]
    /// Samples missing inside the window (gaps), weighted like `counts`.
    public var missing: Double
    /// Per range, the sum of squared weights: how independent per-sample noise adds up, also in
    /// differences (a window less its baseline keeps the noise of both).
    public var varianceWeights: [Double]
    /// Per range, the sum of squared raw readings of the samples split at the window's edges
    /// (where a marker changed during the sample): the timing uncertainty of the window's energy.
    public var edgeSquares: [Double]

    /// Empty sums.
    public init() {
        counts = [Double](repeating: 0, count: RangeSums.rangeCount)
        sums = [Double](repeating: 0, count: RangeSums.rangeCount)
        edgeSquares = [Double](repeating: 0, count: RangeSums.rangeCount)
        varianceWeights = [Double](repeating: 0, count: RangeSums.rangeCount)
        missing = 0
    }

    /// Records that the sample `raw` on `range` straddles an edge of the window.
    @inlinable
    public mutating func addEdge(_ raw: Double, range: Int) { edgeSquares[range] += raw * raw }

    /// Adds one raw reading on `range` with weight `weight` (1, or ½ for a sample split at a boundary).
    @inlinable
    public mutating func add(_ raw: Double, range: Int, weight: Double = 1) {
        counts[range] += weight
        sums[range] += raw * weight
        varianceWeights[range] += weight * weight
    }

    /// Samples present, all ranges.
    public var sampleCount: Double { counts.reduce(0, +) }

    /// `a + k·b`, range by range (k = −1 subtracts).
    public static func combine(_ a: RangeSums, _ b: RangeSums, k: Double) -> RangeSums {
        var r = a
        for i in 0..<rangeCount {
            r.counts[i] += k * b.counts[i]
            r.sums[i] += k * b.sums[i]
            r.edgeSquares[i] += k * k * b.edgeSquares[i]
            r.varianceWeights[i] += k * k * b.varianceWeights[i]
        }
        r.missing += k * b.missing
        return r
    }

    /// These sums scaled by `k` (a baseline stretched to another duration).
    public func scaled(by k: Double) -> RangeSums {
        var r = self
        r.counts = counts.map { $0 * k }
        r.sums = sums.map { $0 * k }
        r.edgeSquares = edgeSquares.map { $0 * k * k }
        r.varianceWeights = varianceWeights.map { $0 * k * k }
        r.missing = missing * k
        return r
    }

    /// Ranges with samples.
    public var rangesUsed: [Int] { (0..<RangeSums.rangeCount).filter { counts[$0] != 0 || varianceWeights[$0] != 0 || edgeSquares[$0] != 0 } }
}
