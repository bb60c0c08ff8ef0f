/// Runs `body` and returns the error it threw, or nil when it returned.
func caught<E: Error>(_ body: () async throws(E) -> Void) async -> E? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// The upper bound on wall-clock time in "it returned, and did not hang" checks. Generous on
/// purpose: on a loaded 2-core CI machine the cooperative pool can stall for seconds, so these
/// only tell a timer that fired from one that never did. Speed is `landauer-bench`'s business.
let promptly: Duration = .seconds(10)

/// Milliseconds in a duration, for readable timing assertions.
func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
}
