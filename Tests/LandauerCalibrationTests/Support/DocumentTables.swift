import Foundation

/// A page of docs/ read at test time, with its machine-read tables: each follows a
/// `<!-- table: NAME -->` line; a row's key is the code span in its second cell, its values the
/// cells after it (code spans unwrapped).
struct DocumentTables {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String
    let lines: [String]

    /// Loads `docs/NAME` from the repository this test file is in.
    init(_ name: String, file: String = #filePath) throws {
        var root = URL(fileURLWithPath: file)
        while root.path != "/" && !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root.deleteLastPathComponent()
        }
        let url = root.appendingPathComponent("docs").appendingPathComponent(name)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw Failure(description: "cannot read \(url.path)") }
        path = url.path
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Rows of table `name`, keyed by their second cell; each row's cells from the third on.
    func table(_ name: String) throws -> [(key: String, values: [String])] {
        guard let start = lines.firstIndex(of: "<!-- table: \(name) -->") else { throw Failure(description: "\(path): no table \(name)") }
        var rows: [[String]] = []
        for line in lines[(start + 1)...] {
            guard line.hasPrefix("|") else { break }
            rows.append(
                line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                    .map { $0.hasPrefix("`") && $0.hasSuffix("`") && $0.count >= 2 ? String($0.dropFirst().dropLast()) : $0 })
        }
        guard rows.count > 2 else { throw Failure(description: "\(path): table \(name) has no rows") }
        return rows.dropFirst(2).map { (key: $0.count > 1 ? $0[1] : "", values: Array($0.dropFirst(2))) }
    }

    /// Table `name` as key → first value.
    func values(_ name: String) throws -> [String: String] {
        var d: [String: String] = [:]
        for row in try table(name) { d[row.key] = row.values.first ?? "" }
        return d
    }
}
