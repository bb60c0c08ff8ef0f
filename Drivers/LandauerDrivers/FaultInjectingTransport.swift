import LandauerFirmware
import Synchronization

/// A transport wrapper that spoils frames on purpose: drops, corrupts, truncates, duplicates or
/// delays them, adds noise, or takes the link down, in either direction.
///
/// Faults follow a `FaultPlan` (scripted by frame ordinal and/or random from a seed) plus any
/// injected one at a time with `inject(_:direction:)`, so a test knows exactly which frame goes
/// wrong. Frames are the bytes up to each 0x00 delimiter: written bytes are held until their
/// frame is complete and then passed on (or not), read bytes are returned once their frame is
/// complete. Every applied fault is recorded in `injected`.
///
/// A delayed outbound frame is written by a background task after the delay; a delayed inbound
/// frame is held back and returned by the first read after it is due.
public final class FaultInjectingTransport: Transport {
    fileprivate struct State {
        var plan: FaultPlan
        var rng: SplitMix64
        var pendingOut: [UInt8] = []
        var pendingIn: [UInt8] = []
        var frames: [FaultDirection: Int] = [.outbound: 0, .inbound: 0]
        var oneShot: [FaultDirection: [Fault]] = [.outbound: [], .inbound: []]
        var ready: [UInt8] = []
        var readyHead = 0
        var delayed: [(due: ContinuousClock.Instant, bytes: [UInt8])] = []
        var disconnected = false
        var closed = false
        var log: [InjectedFault] = []
        var reconnects = 0
    }

    /// The wrapped transport.
    public let inner: any Transport
    /// The inner endpoint, marked as fault-injected.
    public let endpoint: String
    private let state: Mutex<State>
    private static let disconnectReason = "fault injection took the link down"

    /// Wraps `inner`, spoiling frames according to `plan`.
    public init(wrapping inner: any Transport, plan: FaultPlan = .none) {
        self.inner = inner
        self.endpoint = "\(inner.endpoint) (fault injection)"
        self.state = Mutex(State(plan: plan, rng: SplitMix64(seed: plan.seed)))
    }

    /// Every fault applied so far, in order.
    public var injected: [InjectedFault] { state.withLock { $0.log } }

    /// Complete frames seen so far in `direction`.
    public func frameCount(_ direction: FaultDirection) -> Int { state.withLock { $0.frames[direction] ?? 0 } }

    /// True while an injected disconnection lasts.
    public var isDisconnected: Bool { state.withLock { $0.disconnected } }

    /// How many times `reconnect()` restored the link.
    public var reconnectCount: Int { state.withLock { $0.reconnects } }

    /// Spoils the next frame in `direction` with `fault` (in addition to the plan). Several
    /// injections queue up and hit successive frames.
    public func inject(_ fault: Fault, direction: FaultDirection) {
        state.withLock { $0.oneShot[direction, default: []].append(fault) }
    }

    /// Makes every delayed inbound frame due now, so the next read returns it: a late answer
    /// delivered at the moment a test chooses rather than after a wall-clock wait.
    public func releaseDelayed() {
        state.withLock { s in
            for i in s.delayed.indices { s.delayed[i].due = .now }
        }
    }

    /// Replaces the plan; frame ordinals keep counting from where they are.
    public func setPlan(_ plan: FaultPlan) {
        state.withLock { s in
            s.plan = plan
            s.rng = SplitMix64(seed: plan.seed)
        }
    }

    /// Brings the link back after a disconnection, as a fresh connection would: bytes in flight
    /// (held, delayed or waiting in the inner transport) are lost.
    public func reconnect() async {
        state.withLock { s in
            s.disconnected = false
            s.pendingOut = []
            s.pendingIn = []
            s.ready = []
            s.readyHead = 0
            s.delayed = []
            s.reconnects += 1
        }
        while let bytes = try? await inner.read(maxCount: 1 << 16, timeout: .zero), !bytes.isEmpty {}
    }

    /// Passes complete frames in `bytes` on to the inner transport, with their faults applied.
    public func write(_ bytes: [UInt8], timeout: Duration) async throws(TransportError) {
        let start = ContinuousClock.now
        let context = TransportErrorContext(endpoint: endpoint, operation: .write, timeout: timeout)
        let step = state.withLock { s -> (now: [UInt8], later: [(Duration, [UInt8])], down: Bool, closed: Bool) in
            if s.closed { return ([], [], false, true) }
            if s.disconnected { return ([], [], true, false) }
            var out: [UInt8] = []
            var later: [(Duration, [UInt8])] = []
            let down = s.process(bytes, .outbound, into: &out, delayed: &later)
            return (out, later, down, false)
        }
        if step.closed { throw .closed(context) }
        for (delay, frame) in step.later {
            let inner = self.inner
            Task {
                try? await Task.sleep(for: delay)
                try? await inner.write(frame, timeout: timeout)
            }
        }
        if !step.now.isEmpty {
            let remaining = timeout - (ContinuousClock.now - start)
            try await inner.write(step.now, timeout: remaining > .zero ? remaining : .zero)
        }
        if step.down {
            var c = context
            c.elapsed = ContinuousClock.now - start
            throw .disconnected(c, reason: Self.disconnectReason)
        }
    }

    /// Reads bytes of complete frames from the inner transport, with their faults applied.
    public func read(maxCount: Int, timeout: Duration) async throws(TransportError) -> [UInt8] {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + timeout
        func context() -> TransportErrorContext {
            TransportErrorContext(endpoint: endpoint, operation: .read, timeout: timeout, elapsed: clock.now - start)
        }
        if maxCount < 1 {
            throw .invalidArgument(context(), reason: "maxCount must be at least 1, not \(maxCount)")
        }
        var polled = false
        while true {
            enum Step {
                case bytes([UInt8])
                case closed
                case down
                case wait(ContinuousClock.Instant?)
            }
            let now = clock.now
            let step = state.withLock { s -> Step in
                if s.closed { return .closed }
                if s.disconnected { return .down }
                s.release(dueBy: now)
                if s.ready.count > s.readyHead {
                    let n = min(maxCount, s.ready.count - s.readyHead)
                    let out = Array(s.ready[s.readyHead..<(s.readyHead + n)])
                    s.readyHead += n
                    if s.readyHead == s.ready.count {
                        s.ready.removeAll(keepingCapacity: true)
                        s.readyHead = 0
                    }
                    return .bytes(out)
                }
                return .wait(s.delayed.first?.due)
            }
            let until: ContinuousClock.Instant
            switch step {
            case .bytes(let out): return out
            case .closed: throw .closed(context())
            case .down: throw .disconnected(context(), reason: Self.disconnectReason)
            case .wait(let due):
                if now >= deadline && polled { throw .timeout(context()) }
                until = due.map { min($0, deadline) } ?? deadline
            }
            polled = true
            let chunk: [UInt8]
            do {
                let wait = until - clock.now
                chunk = try await inner.read(maxCount: 1 << 16, timeout: wait > .zero ? wait : .zero)
            } catch .timeout {
                continue
            }
            let down = state.withLock { s -> Bool in
                var out: [UInt8] = []
                var later: [(Duration, [UInt8])] = []
                let down = s.process(chunk, .inbound, into: &out, delayed: &later)
                s.ready.append(contentsOf: out)
                let now = clock.now
                for (d, frame) in later { s.delayed.append((now + d, frame)) }
                s.delayed.sort { $0.due < $1.due }
                return down
            }
            if down { throw .disconnected(context(), reason: Self.disconnectReason) }
        }
    }

    /// Closes the wrapper and the inner transport.
    public func close() async {
        state.withLock { $0.closed = true }
        await inner.close()
    }
}

extension FaultInjectingTransport.State {
    /// Moves delayed frames that are due into the ready buffer.
    fileprivate mutating func release(dueBy now: ContinuousClock.Instant) {
        while let first = delayed.first, first.due <= now {
            ready.append(contentsOf: first.bytes)
            delayed.removeFirst()
        }
    }

    /// Splits `bytes` into frames (holding an incomplete tail), applies faults, and appends what
    /// gets through at once to `out` and what is held back to `delayed`. Returns true when a
    /// frame took the link down; the frames after it are lost.
    fileprivate mutating func process(
        _ bytes: [UInt8], _ direction: FaultDirection, into out: inout [UInt8],
        delayed later: inout [(Duration, [UInt8])]
    ) -> Bool {
        var pending = direction == .outbound ? pendingOut : pendingIn
        defer {
            if direction == .outbound { pendingOut = pending } else { pendingIn = pending }
        }
        var start = 0
        while let end = bytes[start...].firstIndex(of: 0) {
            pending.append(contentsOf: bytes[start...end])
            start = end + 1
            let frame = pending
            pending.removeAll(keepingCapacity: true)
            if frame.count == 1 {  // a bare delimiter: no frame to spoil
                out.append(0)
                continue
            }
            if apply(faults(for: frame, direction), to: frame, direction, into: &out, delayed: &later) {
                pending = []
                disconnected = true
                return true
            }
        }
        pending.append(contentsOf: bytes[start...])
        return false
    }

    /// The faults for the next frame in `direction`, logged, and the frame counted.
    private mutating func faults(for frame: [UInt8], _ direction: FaultDirection) -> [Fault] {
        let ordinal = frames[direction, default: 0]
        frames[direction] = ordinal + 1
        var list: [Fault] = []
        if var queue = oneShot[direction], !queue.isEmpty {
            list.append(queue.removeFirst())
            oneShot[direction] = queue
        }
        for rule in plan.rules where rule.direction == direction && rule.frame == ordinal { list.append(rule.fault) }
        let rates = direction == .outbound ? plan.outbound : plan.inbound
        if rates != .none {
            let size = frame.count - 1
            if rng.uniform() < rates.disconnect { list.append(.disconnect) }
            if rng.uniform() < rates.drop { list.append(.drop) }
            if rng.uniform() < rates.corrupt {
                list.append(.corrupt(offset: Int(rng.next() % UInt64(size)), mask: UInt8(truncatingIfNeeded: rng.next() | 1)))
            }
            if rng.uniform() < rates.truncate { list.append(.truncate(keeping: Int(rng.next() % UInt64(size)))) }
            if rng.uniform() < rates.duplicate { list.append(.duplicate) }
            if rng.uniform() < rates.delay { list.append(.delay(rates.delayBy)) }
            if rng.uniform() < rates.garbage {
                let n = Int(1 + rng.next() % 8)
                list.append(.garbage((0..<n).map { _ in UInt8(truncatingIfNeeded: 1 + rng.next() % 255) }))
            }
        }
        for fault in list {
            log.append(InjectedFault(direction: direction, frame: ordinal, fault: fault, frameSize: frame.count))
        }
        return list
    }

    /// Applies `faults` to one frame (delimiter included). Returns true for a disconnection.
    private func apply(
        _ faults: [Fault], to frame: [UInt8], _ direction: FaultDirection, into out: inout [UInt8],
        delayed later: inout [(Duration, [UInt8])]
    ) -> Bool {
        if faults.isEmpty {
            out.append(contentsOf: frame)
            return false
        }
        var body = Array(frame.dropLast())
        var copies = 1
        var noise: [UInt8] = []
        var delay = Duration.zero
        for fault in faults {
            switch fault {
            case .drop: copies = 0
            case .corrupt(let offset, let mask):
                if !body.isEmpty {
                    let i = ((offset % body.count) + body.count) % body.count
                    body[i] = Self.spoil(body[i], mask: mask)
                }
            case .truncate(let keeping): body = Array(body.prefix(max(0, keeping)))
            case .duplicate: copies += 1
            case .delay(let d): delay += d
            case .garbage(let g): noise += g
            case .disconnect: return true
            }
        }
        var bytes = noise
        for _ in 0..<copies {
            bytes += body
            bytes.append(0)
        }
        if delay > .zero { later.append((delay, bytes)) } else { out += bytes }
        return false
    }

    /// `b` with bits flipped by `mask`, never 0x00 and never `b` itself.
    private static func spoil(_ b: UInt8, mask: UInt8) -> UInt8 {
        for m in [mask, mask ^ 0x80, 0x01] where m != 0 && b ^ m != 0 { return b ^ m }
        return b ^ 0x02
    }
}
