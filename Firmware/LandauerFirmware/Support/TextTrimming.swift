#if !hasFeature(Embedded)
extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, carriage returns and line feeds: what
    /// connection strings, SCPI messages and instrument answers are trimmed of.
    public func trimmingASCIIWhitespace() -> String {
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
#endif
