/// A labelled classification data set held in memory: `count` samples of `dimension` features each,
/// every feature scaled into [0, 1], and one class label in `0..<classes` per sample.
///
/// Features are stored row-major in one flat array (sample `i` occupies
/// `features[i * dimension ..< (i + 1) * dimension]`), so a whole set is one allocation and a
/// sample is a slice of it, never a copy.
public struct Dataset: Sendable, Equatable {
    /// A short name for reports and logs ("digits", "digits-train", "mnist-test", "xor").
    public let name: String
    /// The number of features per sample (64 for the 8×8 digits, 784 for MNIST).
    public let dimension: Int
    /// The number of classes; every label lies in `0..<classes`.
    public let classes: Int
    /// All features, row-major: `count × dimension` values, each in [0, 1].
    public let features: [Float]
    /// One class label per sample, each in `0..<classes`.
    public let labels: [Int]

    /// Creates a data set, checking its shape: `features.count == labels.count × dimension`, every
    /// label in `0..<classes` and every feature in [0, 1] (a violation is a programming error and
    /// traps, naming what is wrong).
    public init(name: String, dimension: Int, classes: Int, features: [Float], labels: [Int]) {
        precondition(dimension > 0, "Dataset \(name): dimension \(dimension) must be positive")
        precondition(classes > 0, "Dataset \(name): classes \(classes) must be positive")
        precondition(
            features.count == labels.count * dimension,
            "Dataset \(name): \(features.count) features for \(labels.count) samples of dimension \(dimension)")
        if let bad = labels.firstIndex(where: { !(0..<classes).contains($0) }) {
            preconditionFailure("Dataset \(name): sample \(bad) has label \(labels[bad]), outside 0..<\(classes)")
        }
        if let bad = features.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            preconditionFailure(
                "Dataset \(name): feature \(bad % dimension) of sample \(bad / dimension) is \(features[bad]), outside [0, 1]")
        }
        self.name = name
        self.dimension = dimension
        self.classes = classes
        self.features = features
        self.labels = labels
    }

    /// The number of samples.
    public var count: Int { labels.count }

    /// The features of sample `i` (in `0..<count`), a slice of `features` without copying.
    public func features(of i: Int) -> ArraySlice<Float> {
        precondition(indices.contains(i), "Dataset \(name): sample \(i) is outside 0..<\(count)")
        return features[(i * dimension)..<((i + 1) * dimension)]
    }

    /// The valid sample indices, `0..<count`.
    public var indices: Range<Int> { 0..<count }

    /// The samples at `indices`, in that order (an index may repeat), under the same name,
    /// dimension and classes.
    public func subset(_ indices: [Int]) -> Dataset {
        subset(indices, name: name)
    }

    /// The samples at `indices`, in that order, renamed.
    func subset(_ indices: [Int], name: String) -> Dataset {
        var picked: [Float] = []
        picked.reserveCapacity(indices.count * dimension)
        var pickedLabels: [Int] = []
        pickedLabels.reserveCapacity(indices.count)
        for i in indices {
            picked.append(contentsOf: features(of: i))
            pickedLabels.append(labels[i])
        }
        return Dataset(name: name, dimension: dimension, classes: classes, features: picked, labels: pickedLabels)
    }

    /// How many samples each class has: element `c` counts the samples labelled `c`, for every
    /// `c` in `0..<classes` (zero for a class with no samples).
    public var classCounts: [Int] {
        var counts = Array(repeating: 0, count: classes)
        for label in labels { counts[label] += 1 }
        return counts
    }
}
