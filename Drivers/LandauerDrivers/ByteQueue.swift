import Synchronization

/// A thread-safe byte buffer whose reads wait, with a timeout, for bytes to arrive.
///
/// The in-memory transports are built on it. Reads that find bytes return without suspending, so
/// a synchronous producer (a virtual board answering each frame) costs one lock per call.
final class ByteQueue: Sendable {
    /// Why a read returned no bytes.
    enum Failure: Error, Equatable {
        case timeout
        /// The reading side closed the queue.
        case closed
        /// The producing side went away and the buffer is empty.
        case disconnected(String)
        case cancelled
    }

    private struct Waiter {
        var id: UInt64
        var maxCount: Int
        var continuation: CheckedContinuation<Result<[UInt8], Failure>, Never>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var buffer: [UInt8] = []
        var head = 0
        var closed = false
        var producerGone: String?
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0

        var available: Int { buffer.count - head }

        mutating func append(_ bytes: [UInt8]) {
            if head == buffer.count {
                buffer = bytes  // nothing buffered: adopt the array, no copy
                head = 0
            } else {
                buffer.append(contentsOf: bytes)
            }
        }

        mutating func take(_ maxCount: Int) -> [UInt8] {
            let n = min(maxCount, available)
            if head == 0 && n == buffer.count {
                let out = buffer  // hand the whole array over, no copy
                buffer = []
                return out
            }
            let out = Array(buffer[head..<(head + n)])
            head += n
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 4096 && head * 2 >= buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return out
        }

        /// The outcome of a read that need not wait, or nil when it must.
        mutating func immediate(_ maxCount: Int) -> Result<[UInt8], Failure>? {
            if closed { return .failure(.closed) }
            if available > 0 { return .success(take(maxCount)) }
            if let reason = producerGone { return .failure(.disconnected(reason)) }
            return nil
        }
    }

    private let state = Mutex(State())

    init() {}

    /// Bytes buffered and not yet read.
    var count: Int { state.withLock { $0.available } }

    /// True once the reading side closed the queue.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Appends bytes and wakes waiting readers. Returns false (dropping the bytes) when the queue
    /// was closed by its reader.
    @discardableResult
    func push(_ bytes: [UInt8]) -> Bool {
        var woken: [(Waiter, [UInt8])] = []
        let accepted = state.withLock { s -> Bool in
            if s.closed { return false }
            if bytes.isEmpty { return true }
            s.append(bytes)
            while !s.waiters.isEmpty && s.available > 0 {
                let w = s.waiters.removeFirst()
                woken.append((w, s.take(w.maxCount)))
            }
            return true
        }
        for (w, data) in woken {
            w.timer?.cancel()
            w.continuation.resume(returning: .success(data))
        }
        return accepted
    }

    /// Reads between 1 and `maxCount` bytes, waiting up to `timeout` for the first.
    func pop(maxCount: Int, timeout: Duration) async -> Result<[UInt8], Failure> {
        let fast = state.withLock { s -> Result<[UInt8], Failure>? in
            if let r = s.immediate(maxCount) { return r }
            if timeout <= .zero { return .failure(.timeout) }
            return nil
        }
        if let fast { return fast }
        let id = state.withLock { s -> UInt64 in
            s.nextID &+= 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Result<[UInt8], Failure>, Never>) in
                let now = state.withLock { s -> Result<[UInt8], Failure>? in
                    if let r = s.immediate(maxCount) { return r }
                    if Task.isCancelled { return .failure(.cancelled) }
                    s.waiters.append(Waiter(id: id, maxCount: maxCount, continuation: c, timer: nil))
                    return nil
                }
                if let now {
                    c.resume(returning: now)
                    return
                }
                let timer = Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    if Task.isCancelled { return }
                    self?.fail(id, with: .timeout)
                }
                let gone = state.withLock { s -> Bool in
                    guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return true }
                    s.waiters[i].timer = timer
                    return false
                }
                if gone { timer.cancel() }
            }
        } onCancel: {
            fail(id, with: .cancelled)
        }
    }

    /// Discards buffered bytes; returns how many.
    @discardableResult
    func removeAll() -> Int {
        state.withLock { s in
            let n = s.available
            s.buffer.removeAll(keepingCapacity: true)
            s.head = 0
            return n
        }
    }

    /// Closes the queue from the reading side: buffered bytes are dropped, waiting reads end with
    /// `.closed`, later pushes are refused.
    func close() {
        let waiters = state.withLock { s -> [Waiter] in
            s.closed = true
            s.buffer = []
            s.head = 0
            let w = s.waiters
            s.waiters = []
            return w
        }
        for w in waiters {
            w.timer?.cancel()
            w.continuation.resume(returning: .failure(.closed))
        }
    }

    /// Marks the producer as gone: buffered bytes can still be read, then reads end with
    /// `.disconnected(reason)`.
    func producerClosed(reason: String) {
        let waiters = state.withLock { s -> [Waiter] in
            if s.producerGone == nil { s.producerGone = reason }
            if s.available > 0 { return [] }
            let w = s.waiters
            s.waiters = []
            return w
        }
        for w in waiters {
            w.timer?.cancel()
            w.continuation.resume(returning: .failure(.disconnected(reason)))
        }
    }

    private func fail(_ id: UInt64, with failure: Failure) {
        let waiter = state.withLock { s -> Waiter? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: .failure(failure))
    }
}
