/// The two directions through a fault-injecting transport.
public enum FaultDirection: String, Sendable, Equatable, CaseIterable {
    /// Bytes written through the wrapper towards the device (requests).
    case outbound
    /// Bytes read through the wrapper from the device (responses).
    case inbound
}

/// One thing that can go wrong with a frame on a link. Faults act on whole frames: the bytes up
/// to and including a 0x00 delimiter.
public enum Fault: Sendable, Equatable, CustomStringConvertible {
    /// The frame is lost.
    case drop
    /// One byte of the frame (delimiter excluded) is XOR-ed with `mask`. The offset is taken modulo
    /// the frame's length; the result is never 0x00 and never the original byte, so the frame keeps
    /// its length and fails its checksum.
    case corrupt(offset: Int, mask: UInt8)
    /// Only the first `keeping` bytes of the frame arrive, followed by the delimiter.
    case truncate(keeping: Int)
    /// The frame arrives twice.
    case duplicate
    /// The frame arrives this much later; frames behind it overtake it.
    case delay(Duration)
    /// Noise bytes arrive just before the frame. Without a 0x00 among them they merge with the
    /// frame and spoil it; with one they form a bad frame of their own.
    case garbage([UInt8])
    /// The link goes down: this frame and everything after it is lost, and every call throws
    /// `.disconnected` until `FaultInjectingTransport.reconnect()`.
    case disconnect

    /// A short name of the fault, for logs.
    public var description: String {
        switch self {
        case .drop: "drop"
        case .corrupt(let offset, let mask): "corrupt byte \(offset) with mask 0x\(String(mask, radix: 16))"
        case .truncate(let keeping): "truncate to \(keeping) bytes"
        case .duplicate: "duplicate"
        case .delay(let d): "delay \(DurationText.format(d))"
        case .garbage(let g): "\(g.count) garbage bytes"
        case .disconnect: "disconnect"
        }
    }
}

/// A scripted fault: the `frame`-th frame (counting from 0) in `direction` suffers `fault`.
public struct FaultRule: Sendable, Equatable {
    /// The direction the frame travels.
    public var direction: FaultDirection
    /// The ordinal of the frame in that direction, from 0 for the first frame through the wrapper.
    public var frame: Int
    /// What happens to it.
    public var fault: Fault

    /// Creates a rule; several rules may hit the same frame and apply in order.
    public init(_ direction: FaultDirection, frame: Int, _ fault: Fault) {
        self.direction = direction
        self.frame = frame
        self.fault = fault
    }
}

/// Probabilities, per frame, of random faults in one direction (each between 0 and 1).
public struct FaultRates: Sendable, Equatable {
    /// Probability that a frame is dropped.
    public var drop: Double
    /// Probability that one random byte of a frame is corrupted.
    public var corrupt: Double
    /// Probability that a frame is cut short at a random length.
    public var truncate: Double
    /// Probability that a frame arrives twice.
    public var duplicate: Double
    /// Probability that a frame is delayed by `delayBy`.
    public var delay: Double
    /// How long a delayed frame is held back.
    public var delayBy: Duration
    /// Probability that 1…8 random non-zero bytes precede a frame.
    public var garbage: Double
    /// Probability that the link disconnects at a frame.
    public var disconnect: Double

    /// Creates a set of rates; all default to 0 (no fault).
    public init(
        drop: Double = 0, corrupt: Double = 0, truncate: Double = 0, duplicate: Double = 0, delay: Double = 0,
        delayBy: Duration = .milliseconds(50), garbage: Double = 0, disconnect: Double = 0
    ) {
        self.drop = drop
        self.corrupt = corrupt
        self.truncate = truncate
        self.duplicate = duplicate
        self.delay = delay
        self.delayBy = delayBy
        self.garbage = garbage
        self.disconnect = disconnect
    }

    /// No faults.
    public static let none = FaultRates()
}

/// Which frames a `FaultInjectingTransport` spoils: scripted rules by frame ordinal, plus random
/// faults drawn from a seeded generator. The same plan on the same traffic spoils the same frames.
public struct FaultPlan: Sendable, Equatable {
    /// Faults at given frame ordinals.
    public var rules: [FaultRule]
    /// Seed of the generator behind random faults and random corruption offsets.
    public var seed: UInt64
    /// Random fault rates for frames written through the wrapper.
    public var outbound: FaultRates
    /// Random fault rates for frames read through the wrapper.
    public var inbound: FaultRates

    /// Creates a plan.
    public init(rules: [FaultRule] = [], seed: UInt64 = 0, outbound: FaultRates = .none, inbound: FaultRates = .none) {
        self.rules = rules
        self.seed = seed
        self.outbound = outbound
        self.inbound = inbound
    }

    /// A plan with no faults (faults can still be injected one at a time).
    public static let none = FaultPlan()

    /// A plan of scripted faults only.
    public static func scripted(_ rules: [FaultRule]) -> FaultPlan { FaultPlan(rules: rules) }

    /// A plan of random faults drawn from a generator seeded with `seed`.
    public static func random(seed: UInt64, outbound: FaultRates = .none, inbound: FaultRates = .none) -> FaultPlan {
        FaultPlan(seed: seed, outbound: outbound, inbound: inbound)
    }
}

/// A record of one fault the wrapper applied.
public struct InjectedFault: Sendable, Equatable, CustomStringConvertible {
    /// The direction of the spoiled frame.
    public var direction: FaultDirection
    /// The frame's ordinal in that direction.
    public var frame: Int
    /// The fault.
    public var fault: Fault
    /// The frame's size on the wire, delimiter included, before the fault.
    public var frameSize: Int

    /// Creates a record.
    public init(direction: FaultDirection, frame: Int, fault: Fault, frameSize: Int) {
        self.direction = direction
        self.frame = frame
        self.fault = fault
        self.frameSize = frameSize
    }

    /// E.g. "inbound frame 3 (41 bytes): drop".
    public var description: String { "\(direction.rawValue) frame \(frame) (\(frameSize) bytes): \(fault)" }
}
