/// Runs `body` and returns the error it threw, or nil when it returned.
func caught<E: Error>(_ body: () async throws(E) -> Void) async -> E? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// Milliseconds in a duration, for readable timing assertions.
func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
}
