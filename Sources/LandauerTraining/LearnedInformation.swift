import Foundation
import LandauerCalibration
import LandauerFirmware

/// How many bits about the training labels a trained network holds, read off its outputs: the
/// count `BitCount.learned` defines, from cross-entropies of probabilities the network's output
/// states give.
///
/// An EqProp network's outputs are states in [0, 1], not probabilities. They are turned into
/// probabilities by a softmax at one inverse temperature b, p_k = exp(b·s_k)/Σ_j exp(b·s_j), with b
/// chosen to minimise the mean cross-entropy on the same samples (temperature scaling, one
/// parameter). b = 0 gives the uniform distribution, so the chosen b never does worse than
/// knowing nothing but the number of classes.
public enum LearnedInformation {
    /// The inverse temperature and the per-sample cross-entropies in nats.
    public struct Fit: Sendable, Equatable {
        /// b, per unit of output state.
        public var inverseTemperature: Double
        /// −ln p(label) for every sample.
        public var crossEntropiesNats: [Double]
        /// Their mean.
        public var meanNats: Double { crossEntropiesNats.reduce(0, +) / Double(max(crossEntropiesNats.count, 1)) }
    }

    /// Fits b on `outputs` (sample-major, `classes` per sample) against `labels`, by golden-section
    /// search of the mean cross-entropy — convex in b — over 0 … `maxInverseTemperature`.
    public static func fit(outputs: [Float], labels: [Int], classes: Int, maxInverseTemperature: Double = 1_000) -> Fit {
        precondition(classes >= 2 && outputs.count == labels.count * classes, "one row of \(classes) outputs per label")
        func losses(_ b: Double) -> [Double] {
            labels.indices.map { n in
                let row = outputs[(n * classes)..<((n + 1) * classes)]
                let top = Double(row.max() ?? 0)
                var sum = 0.0
                for s in row { sum += exp(b * (Double(s) - top)) }
                return -(b * (Double(row[n * classes + labels[n]]) - top) - log(sum))
            }
        }
        func mean(_ b: Double) -> Double { losses(b).reduce(0, +) / Double(max(labels.count, 1)) }
        let g = (5.0.squareRoot() - 1) / 2
        var lo = 0.0, hi = maxInverseTemperature
        var x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo)
        var f1 = mean(x1), f2 = mean(x2)
        for _ in 0..<80 where hi - lo > 1e-6 * max(1, hi) {
            if f1 <= f2 {
                hi = x2; x2 = x1; f2 = f1
                x1 = hi - g * (hi - lo); f1 = mean(x1)
            } else {
                lo = x1; x1 = x2; f1 = f2
                x2 = lo + g * (hi - lo); f2 = mean(x2)
            }
        }
        let b = (lo + hi) / 2
        return Fit(inverseTemperature: b, crossEntropiesNats: losses(b))
    }

    /// The bits learned: `BitCount.learned` from the fitted cross-entropies, with the softmax's assumption added.
    public static func bits(outputs: [Float], labels: [Int], classes: Int) -> (count: BitCount, fit: Fit) {
        let fit = fit(outputs: outputs, labels: labels, classes: classes)
        var counts = [Int](repeating: 0, count: classes)
        for l in labels { counts[l] += 1 }
        var count = BitCount.learned(classCounts: counts, perSampleCrossEntropyNats: fit.crossEntropiesNats)
        count.assumptions.append(
            "the probabilities are a softmax of the network's free-phase output states at inverse temperature \(SignificantDigits.format(fit.inverseTemperature, digits: 4)), fitted on these samples (temperature scaling): one parameter fitted to the labels it is scored on, so the count is a little optimistic")
        return (count, fit)
    }
}

extension EqPropTrainer {
    /// The free-phase output states on `data` (sample-major), in a readout phase on the markers.
    public func outputs(_ data: Dataset, epoch: Int) async throws -> [Float] {
        try await mark(.readout, epoch: epoch, batch: 0)
        var out: [Float] = []
        let m = engine.shape.layers[engine.shape.layers.count - 1]
        try await freePass(data) { s, samples in
            out += s.layers[s.layers.count - 1].prefix(samples.count * m)
        }
        try await mark(.idle, epoch: epoch, batch: 0)
        return out
    }
}
