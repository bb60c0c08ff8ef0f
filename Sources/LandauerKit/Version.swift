/// The toolkit's version.
public enum LandauerVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}
