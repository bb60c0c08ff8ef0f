// Named bit counts. A joules-per-bit figure means nothing until one says which bits: erased,
// written, learned or read out. Every count here carries its definition, a standard uncertainty
// and the assumptions it rests on, so a report can print all three beside the number.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import LandauerFirmware

/// Which bits a count counts. Bits are always named: an energy per bit is reported against one
/// of these definitions, never against "bits" alone.
public enum BitDefinition: String, Sendable, Codable, Equatable, CaseIterable {
    /// State irreversibly discarded, such as neuron states reset every cycle.
    case erased
    /// Information put into the weights by device updates (pulses, write-and-verify).
    case written
    /// Information about the training labels captured by the trained model.
    case learned
    /// Output produced by inference, one class choice per sample.
    case readout

    /// A short name for tables and plots, e.g. "bits erased".
    public var name: String {
        switch self {
        case .erased: "bits erased"
        case .written: "bits written"
        case .learned: "bits learned"
        case .readout: "readout bits"
        }
    }

    /// One paragraph saying what is counted, what the count bounds, and what it is not.
    public var definition: String {
        switch self {
        case .erased:
            """
            Bits of physical state discarded without a copy being kept: the entropy of the \
            neuron or device states that are reset. These are the only bits Landauer's principle \
            charges, at least k_B·T·ln 2 each at the temperature of the heat sink. In a dynamic \
            analog network they are the neuron states reset at every cycle (Tkachenko 2025, \
            eq. 5); correlated activity, or state carried over from one cycle to the next, \
            erases fewer bits than the count assumes.
            """
        case .written:
            """
            Bits put into the weights by device updates: for each programming pulse or \
            write-and-verify operation, the base-2 logarithm of the number of distinguishable \
            outcomes it could have had. It is an upper bound on the information the updates \
            carried into the weights, not an amount erased; an update carries less when it is \
            later undone, lands on a level that noise cannot tell from its neighbour, or is \
            determined by earlier updates.
            """
        case .learned:
            """
            Bits of information about the training labels captured by the trained model: the \
            label entropy of the training samples minus the model's mean cross-entropy on them, \
            times the number of samples, in bits. It is a plug-in estimate read off the loss. \
            The information I(D; θ) between training set and weights, to which a learning bound \
            refers, cannot be measured directly, and this figure differs from it in the ways \
            listed with every count.
            """
        case .readout:
            """
            Bits of output produced by inference: for every sample read out, the base-2 \
            logarithm of the number of classes its answer chooses among. It is the capacity of \
            the readout, an upper bound on the information the answers carry, reached only when \
            the classes are equally likely and the answers independent of each other.
            """
        }
    }
}

/// A number of bits under a named definition, with its standard uncertainty and the assumptions
/// behind it.
public struct BitCount: Sendable, Codable, Equatable {
    /// Which bits these are.
    public var definition: BitDefinition
    /// The count, in bits (not necessarily a whole number).
    public var bits: Double
    /// The standard uncertainty of `bits`, in bits (GUM, one standard deviation).
    public var standardUncertainty: Double
    /// The assumptions the count rests on, one sentence each, for printing beside it.
    public var assumptions: [String]

    /// A count made by the caller; state its assumptions.
    public init(_ definition: BitDefinition, bits: Double, standardUncertainty: Double, assumptions: [String]) {
        precondition(bits.isFinite && bits >= 0, "a bit count must be finite and not negative, got \(bits)")
        precondition(
            standardUncertainty.isFinite && standardUncertainty >= 0,
            "a standard uncertainty must be finite and not negative, got \(standardUncertainty)")
        self.definition = definition
        self.bits = bits
        self.standardUncertainty = standardUncertainty
        self.assumptions = assumptions
    }
}

// MARK: - Entropy

/// Entropies used by the bit counts, in bits or in nats as each name says.
public enum Entropy {
    /// The binary entropy H(p) = −p·ln p − (1−p)·ln(1−p) in nats, with 0·ln 0 = 0.
    public static func binaryNats(_ p: Double) -> Double {
        precondition(p >= 0 && p <= 1, "a probability must lie in [0, 1], got \(p)")
        return plogp(p) + plogp(1 - p)
    }

    /// The binary entropy H₂(p) in bits: `binaryNats(p) / ln 2`; 1 bit at p = ½.
    public static func binaryBits(_ p: Double) -> Double { binaryNats(p) / PhysicalConstants.ln2 }

    /// The plug-in entropy of a label distribution given by class counts, in nats:
    /// −Σ (n_k/n)·ln(n_k/n). Empty classes contribute nothing.
    public static func labelNats(classCounts: [Int]) -> Double {
        precondition(classCounts.allSatisfy { $0 >= 0 }, "class counts must not be negative: \(classCounts)")
        let n = classCounts.reduce(0, +)
        precondition(n > 0, "class counts must hold at least one sample")
        var h = 0.0
        for c in classCounts { h += plogp(Double(c) / Double(n)) }
        return h
    }

    /// The plug-in label entropy in bits per sample: `labelNats(classCounts:) / ln 2`.
    public static func labelBits(classCounts: [Int]) -> Double {
        labelNats(classCounts: classCounts) / PhysicalConstants.ln2
    }

    /// −q·ln q, with the limit 0 at q = 0.
    private static func plogp(_ q: Double) -> Double { q > 0 ? -q * log(q) : 0 }
}

// MARK: - Bits erased by neuron resets

extension BitCount {
    /// Bits erased in one cycle when `activatedPerCycle` of `neurons` binary neurons are active
    /// and every neuron is then reset: ν·H₂(p) with p = ν_a/ν (Tkachenko 2025, eq. 5, in bits).
    public static func resetBitsPerCycle(neurons: Int, activatedPerCycle: Double) -> Double {
        Double(neurons) * Entropy.binaryBits(activationProbability(neurons, activatedPerCycle))
    }

    /// The sparse-activity approximation of `resetBitsPerCycle`: ν_a·(1 + ln(ν/ν_a))/ln 2 bits.
    ///
    /// It expands (1−p)·ln(1−p) to first order in p, so it applies when p = ν_a/ν ≪ 1. It never
    /// falls below the exact value; for small p its relative excess is about p/(2·(1 + ln(1/p))): under
    /// 1 % for p ≤ 0.07, 1.6 % at p = 0.1, and 22 % at p = ½, where the exact value is ν bits. Use the exact
    /// form unless p is small; this one is for comparing with papers that print the approximation.
    public static func sparseResetBitsPerCycle(neurons: Int, activatedPerCycle: Double) -> Double {
        let p = activationProbability(neurons, activatedPerCycle)
        if p == 0 { return 0 }
        return activatedPerCycle * (1 + log(1 / p)) / PhysicalConstants.ln2
    }

    /// Bits erased by neuron resets over `cycles` cycles (relaxation steps × samples): C·ν·H₂(p),
    /// p = ν_a/ν (Tkachenko 2025, eq. 5, counted in bits).
    ///
    /// - Parameters:
    ///   - neurons: ν, the neurons whose state is reset each cycle.
    ///   - activatedPerCycle: ν_a, the mean number active per cycle (0 ≤ ν_a ≤ ν).
    ///   - cycles: C, relaxation steps per sample × samples.
    ///   - activatedPerCycleUncertainty: the standard uncertainty of ν_a when it was measured;
    ///     0 takes it as exact, and the assumptions then say so.
    public static func erasedByNeuronResets(
        neurons: Int, activatedPerCycle: Double, cycles: Int, activatedPerCycleUncertainty: Double = 0
    ) -> BitCount {
        precondition(cycles >= 0, "a number of cycles must not be negative, got \(cycles)")
        precondition(
            activatedPerCycleUncertainty.isFinite && activatedPerCycleUncertainty >= 0,
            "a standard uncertainty must be finite and not negative, got \(activatedPerCycleUncertainty)")
        let p = activationProbability(neurons, activatedPerCycle)
        let c = Double(cycles)
        let bits = c * resetBitsPerCycle(neurons: neurons, activatedPerCycle: activatedPerCycle)
        // d(ν·H₂(ν_a/ν))/dν_a = log₂((1−p)/p); unbounded at p = 0 or 1, where the count is exact.
        let slope = (p > 0 && p < 1) ? log2((1 - p) / p) : 0
        let u = c * abs(slope) * activatedPerCycleUncertainty
        let pText = SignificantDigits.format(p, digits: 4)
        var assumptions = [
            """
            every one of the \(neurons) neurons is reset once per cycle, \(cycles) cycles in all (relaxation steps × \
            samples); a state carried over from one step to the next without a reset erases less than counted
            """,
            """
            neurons are binary and active independently with probability p = ν_a/ν = \(pText), so each reset \
            erases ν·H₂(p) bits; correlated or unevenly spread activity has less entropy, so for it the count is \
            too high
            """,
        ]
        assumptions.append(
            activatedPerCycleUncertainty > 0
                ? "the uncertainty comes from the uncertainty of ν_a alone"
                : "ν_a is taken as exact; the standard uncertainty is 0")
        return BitCount(.erased, bits: bits, standardUncertainty: u, assumptions: assumptions)
    }

    private static func activationProbability(_ neurons: Int, _ activated: Double) -> Double {
        precondition(neurons > 0, "a layer needs at least one neuron, got \(neurons)")
        precondition(
            activated.isFinite && activated >= 0 && activated <= Double(neurons),
            "the neurons active per cycle must lie in [0, \(neurons)], got \(activated)")
        return activated / Double(neurons)
    }
}

// MARK: - Bits written to weights

extension BitCount {
    /// Bits written by `updates` device updates, each choosing one of `levelsPerUpdate`
    /// distinguishable outcomes: updates·log₂ L, an upper bound on the information written.
    ///
    /// An update is one programming pulse or one write-and-verify operation; L counts every
    /// outcome it could have had, including "no change" when that was a possible choice (a pulse
    /// that may go up, down or not at all has L = 3).
    public static func writtenByUpdates(_ updates: Int, levelsPerUpdate: Int) -> BitCount {
        precondition(updates >= 0, "a number of updates must not be negative, got \(updates)")
        precondition(levelsPerUpdate >= 1, "an update has at least one outcome, got \(levelsPerUpdate)")
        return BitCount(
            .written, bits: Double(updates) * log2(Double(levelsPerUpdate)), standardUncertainty: 0,
            assumptions: [
                """
                \(updates) updates, each choosing one of \(levelsPerUpdate) distinguishable outcomes, carry at most log₂ \
                \(levelsPerUpdate) bits each
                """,
                """
                an upper bound: updates that are later undone, that noise blurs into a neighbouring level, or that \
                follow from earlier ones carry less
                """,
                "updates are counted, not measured, so the standard uncertainty is 0",
            ])
    }

    /// Bits needed to name the final state of `devicesChanged` devices, each with
    /// `conductanceStates` distinguishable conductance states: devices·log₂ S.
    ///
    /// It bounds the information the final weights can hold however many pulses it took to reach
    /// them, and is usually far below `writtenByUpdates` for the same run.
    public static func writtenToDevices(_ devicesChanged: Int, conductanceStates: Int) -> BitCount {
        precondition(devicesChanged >= 0, "a number of devices must not be negative, got \(devicesChanged)")
        precondition(conductanceStates >= 1, "a device has at least one state, got \(conductanceStates)")
        return BitCount(
            .written, bits: Double(devicesChanged) * log2(Double(conductanceStates)), standardUncertainty: 0,
            assumptions: [
                """
                \(devicesChanged) devices changed, each settling in one of \(conductanceStates) conductance states that \
                a read can tell apart
                """,
                """
                an upper bound on the information in the final weights: it counts the final states, not the path to \
                them, and devices whose states are correlated hold less
                """,
                "states are counted, not measured, so the standard uncertainty is 0",
            ])
    }
}

// MARK: - Bits learned

extension BitCount {
    /// Bits about the training labels captured by the trained model: D·(H(Y) − CE)/ln 2, clamped
    /// at 0, with H(Y) the plug-in label entropy from `classCounts` and CE the model's mean
    /// cross-entropy on the same samples, both in nats. D is the number of distinct training
    /// samples, the sum of the class counts; later epochs over the same samples add no label
    /// information and are not counted.
    ///
    /// This is a plug-in estimate read off the loss, not the mutual information I(D; θ) between
    /// training set and weights; the returned assumptions say how the two can differ.
    ///
    /// - Parameters:
    ///   - classCounts: training samples per class.
    ///   - meanCrossEntropyNats: the model's mean cross-entropy on those samples, in nats.
    ///   - crossEntropyStandardError: the standard uncertainty of the mean cross-entropy, in nats
    ///     (the standard deviation of the per-sample losses over √D); 0 when unknown, and the
    ///     assumptions then say the uncertainty is understated.
    public static func learned(
        classCounts: [Int], meanCrossEntropyNats: Double, crossEntropyStandardError: Double = 0
    ) -> BitCount {
        precondition(
            meanCrossEntropyNats.isFinite && meanCrossEntropyNats >= 0,
            "a cross-entropy must be finite and not negative, got \(meanCrossEntropyNats)")
        precondition(
            crossEntropyStandardError.isFinite && crossEntropyStandardError >= 0,
            "a standard error must be finite and not negative, got \(crossEntropyStandardError)")
        let d = Double(classCounts.reduce(0, +))
        let h = Entropy.labelNats(classCounts: classCounts)
        let raw = d * (h - meanCrossEntropyNats) / PhysicalConstants.ln2
        var assumptions = [
            """
            D = \(Int(d)) distinct training samples, the sum of the class counts; repeated passes over them add no \
            label information
            """,
            """
            H(Y) = \(SignificantDigits.format(h, digits: 4)) nats is the plug-in entropy of the training labels' \
            class frequencies, biased low when a class has few samples
            """,
            """
            CE = \(SignificantDigits.format(meanCrossEntropyNats, digits: 4)) nats is the trained model's mean \
            cross-entropy on these same training samples, the average code length of a training label given its \
            input
            """,
            """
            D·(H(Y) − CE)/ln 2 estimates how many bits the trained model saves in describing the training labels \
            given their inputs, compared with the class frequencies alone; it is not the mutual information I(D; θ) \
            between training set and weights, which cannot be measured directly
            """,
            """
            it includes what the inputs alone say about the labels: a model that has found a rule the inputs \
            determine scores close to D·H(Y) even when its weights hold few bits about these particular samples; \
            read as information held in the weights, it is an upper bound only if the model's predicted \
            probabilities are calibrated given its weights, and label information stored in the weights that does \
            not lower the loss is missed
            """,
            """
            on held-out samples H(Y) − CE is on average a lower bound on the information I(X; Y) per sample, since a \
            cross-entropy is never below the conditional entropy; on the training set that guarantee is lost, \
            because the model was fitted to these labels
            """,
        ]
        assumptions.append(
            crossEntropyStandardError > 0
                ? "the standard uncertainty covers only the sampling error of the mean cross-entropy, not the biases"
                : "no standard error was given for the cross-entropy; the standard uncertainty of 0 understates it")
        if raw < 0 {
            let excess = SignificantDigits.format(meanCrossEntropyNats - h, digits: 4)
            assumptions.append(
                """
                CE exceeds H(Y) by \(excess) nats: the model describes the training labels worse than their class \
                frequencies do, and the count is clamped at 0 bits rather than reported as negative
                """)
        }
        return BitCount(
            .learned, bits: max(0, raw), standardUncertainty: d * crossEntropyStandardError / PhysicalConstants.ln2,
            assumptions: assumptions)
    }

    /// `learned(classCounts:meanCrossEntropyNats:crossEntropyStandardError:)` from the per-sample
    /// cross-entropies of the training samples (in nats, one per sample, as many as the class
    /// counts add up to): their mean, and as its standard error their sample standard deviation
    /// over √D.
    public static func learned(classCounts: [Int], perSampleCrossEntropyNats losses: [Double]) -> BitCount {
        let d = classCounts.reduce(0, +)
        precondition(
            losses.count == d, "\(losses.count) per-sample losses for \(d) training samples; give one per sample")
        precondition(d >= 2, "a standard error needs at least two samples, got \(d)")
        let n = Double(d)
        let mean = losses.reduce(0, +) / n
        var ss = 0.0
        for l in losses { ss += (l - mean) * (l - mean) }
        let standardError = (ss / (n - 1)).squareRoot() / n.squareRoot()
        return learned(classCounts: classCounts, meanCrossEntropyNats: mean, crossEntropyStandardError: standardError)
    }
}

// MARK: - Readout bits

extension BitCount {
    /// Bits of readout: samples·log₂(classes), the capacity of `samples` answers that each name one
    /// of `classes` classes.
    public static func readout(samples: Int, classes: Int) -> BitCount {
        precondition(samples >= 0, "a number of samples must not be negative, got \(samples)")
        precondition(classes >= 1, "a readout chooses among at least one class, got \(classes)")
        return BitCount(
            .readout, bits: Double(samples) * log2(Double(classes)), standardUncertainty: 0,
            assumptions: [
                "\(samples) answers, each naming one of \(classes) classes",
                """
                the capacity of the readout: the answers carry this much information only if the classes are equally \
                likely and the answers independent
                """,
                "answers are counted, not measured, so the standard uncertainty is 0",
            ])
    }
}
