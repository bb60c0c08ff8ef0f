import Foundation

/// The toolkit's version.
public enum LandauerVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"

    /// The git commit of the source this build came from, when it is a clone with git at hand (the
    /// usual case: `swift run` in a checkout); nil otherwise.
    public static let gitCommit: String? = {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
        let git = ["/usr/bin/git", "/usr/local/bin/git"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let git, FileManager.default.fileExists(atPath: source) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: git)
        p.arguments = ["-C", source, "rev-parse", "HEAD"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count == 40 ? text : nil
    }()
}
