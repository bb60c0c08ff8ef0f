import LandauerFirmware
import LandauerSimulators

/// Everything the demo found, for people (`text`) and scripts (JSON).
public struct DemoReport: Codable, Sendable {
    public struct Programming: Codable, Sendable {
        /// Mean conductance change per pulse measured by the probe, in siemens.
        public var estimatedStepSiemens = 0.0
        /// Pulses applied by program-and-verify (probe excluded).
        public var pulses = 0
        /// RMS distance to the target conductances after each round, in siemens.
        public var rmsErrorSiemens: [Double] = []
    }
    public struct Inference: Codable, Sendable {
        public var vectors = 0
        public var outputs = 0
        public var saturated = 0
        /// RMS difference between the analog outputs and the product of the read-back matrix, in ADC codes.
        public var rmsErrorLSB = 0.0
        /// Wall-clock rate of the host path (encode, board, physics, decode), vectors per second.
        public var hostVectorsPerSecond = 0.0
    }
    public struct Update: Codable, Sendable {
        public var trainLength = 0
        public var coincidences = 0
        public var boardNanoseconds: UInt64 = 0
    }
    public struct CounterReport: Codable, Sendable {
        public var pulses: UInt64 = 0
        public var deviceReads: UInt64 = 0
        public var vectorReads: UInt64 = 0
        public var adcConversions: UInt64 = 0
        public var dacUpdates: UInt64 = 0
        public var requestsExecuted: UInt32 = 0
        public var framesRejected: UInt32 = 0
        public var retransmitsAnswered: UInt32 = 0
        public var uptimeNanoseconds: UInt64 = 0
        init() {}
        init(_ c: Counters) {
            pulses = c.pulses
            deviceReads = c.deviceReads
            vectorReads = c.vectorReads
            adcConversions = c.adcConversions
            dacUpdates = c.dacUpdates
            requestsExecuted = c.requestsExecuted
            framesRejected = c.framesRejected
            retransmitsAnswered = c.retransmitsAnswered
            uptimeNanoseconds = c.uptimeNanoseconds
        }
    }
    public struct Link: Codable, Sendable {
        public var requests = 0
        public var retries = 0
        public var timeouts = 0
        public var corruptedFrames = 0
    }

    public var board: BoardInfoReport
    public var seed: UInt64
    public var programming = Programming()
    public var inference = Inference()
    public var update = Update()
    public var counters = CounterReport()
    public var temperatureKelvin = 0.0
    public var link = Link()
    /// The simulator's ground truth; absent on real hardware.
    public var groundTruth: GroundTruthReport?
    /// Energy measured by the meter, calibrated; absent without a meter.
    public var measured: MeasuredEnergyReport?

    init(board: BoardInfoReport, seed: UInt64) {
        self.board = board
        self.seed = seed
    }

    /// Lines for a terminal.
    public var text: String {
        var lines = [board.text, ""]
        let p = programming
        lines.append("program-and-verify  step ≈ \(Siemens(p.estimatedStepSiemens).formatted()) per pulse; \(p.pulses) pulses; RMS error by round: " + p.rmsErrorSiemens.map { Siemens($0).formatted(significantDigits: 3) }.joined(separator: " → "))
        let i = inference
        lines.append("inference           \(i.vectors) vectors, \(i.outputs) outputs, \(i.saturated) clipped; RMS error vs read-back matrix \(SignificantDigits.format(i.rmsErrorLSB, digits: 3)) LSB; host path \(Int(i.hostVectorsPerSecond)) vectors/s")
        lines.append("outer-product       BL = \(update.trainLength), \(update.coincidences) coincidences in \(Seconds(nanoseconds: update.boardNanoseconds).formatted())")
        let c = counters
        lines.append("board counters      \(c.pulses) pulses, \(c.deviceReads) device reads, \(c.vectorReads) vector reads, \(c.adcConversions) ADC conversions, \(c.requestsExecuted) requests; temperature \(Kelvin(temperatureKelvin).formatted())")
        lines.append("link                \(link.requests) requests, \(link.retries) retries, \(link.timeouts) timeouts, \(link.corruptedFrames) corrupted frames")
        if let m = measured {
            lines.append("")
            lines.append(m.text)
        }
        if let g = groundTruth {
            lines.append("")
            lines.append(g.text)
        }
        return lines.joined(separator: "\n")
    }
}

/// The simulator's ground-truth energy: what a perfect meter on the board's supply would see.
public struct GroundTruthReport: Codable, Sendable {
    public struct Phase: Codable, Sendable {
        public var marker: Int
        public var name: String
        public var seconds: Double
        public var joules: Double
    }
    public struct Item: Codable, Sendable {
        public var name: String
        public var joules: Double
        public var count: UInt64?
    }
    /// Virtual time from power-up to the end of the run, in seconds.
    public var virtualSeconds: Double
    /// Ledger total, in joules.
    public var totalJoules: Double
    /// Integral of the supply waveform, in joules (equals the ledger).
    public var waveformJoules: Double
    public var rails: [Item]
    public var events: [Item]
    /// Energy between marker edges (ledger totals at the edges).
    public var phases: [Phase]
    /// k_B·T·ln 2 at the board's temperature, in joules.
    public var landauerJoulesPerBit: Double

    init(board: VirtualBoard, phaseNames: [Int: String]) {
        let ledger = board.ledger
        let waveform = board.waveform
        let now = board.now
        virtualSeconds = now.seconds.value
        totalJoules = ledger.total.value
        waveformJoules = waveform.totalEnergy.value
        rails = SupplyRail.allCases.map { Item(name: $0.description, joules: ledger.energy(on: $0).value) }
        events = EnergyEventKind.allCases.map { Item(name: $0.description, joules: ledger.energy(of: $0).value, count: ledger.count(of: $0)) }
        var phases: [Phase] = []
        let history = board.markerHistory
        for (k, e) in history.enumerated() where e.value != 0 {
            let (end, endEnergy) = k + 1 < history.count ? (history[k + 1].time, history[k + 1].energy) : (now, ledger.total)
            phases.append(Phase(
                marker: Int(e.value), name: phaseNames[Int(e.value)] ?? "marker \(e.value)",
                seconds: (end.seconds - e.time.seconds).value, joules: (endEnergy - e.energy).value))
        }
        self.phases = phases
        landauerJoulesPerBit = board.config.temperature.landauerBound.value
    }

    /// Lines for a terminal.
    public var text: String {
        var lines = ["ground truth (simulator ledger, which a host never sees on a bench)"]
        lines.append("  total          \(Joules(totalJoules).formatted()) over \(Seconds(virtualSeconds).formatted()) of virtual time (supply waveform integral \(Joules(waveformJoules).formatted()))")
        for p in phases {
            lines.append("  phase \(p.marker)        \(p.name): \(Joules(p.joules).formatted()) in \(Seconds(p.seconds).formatted()), mean \(Watts(p.joules / max(p.seconds, 1e-30)).formatted())")
        }
        lines.append("  by rail        " + rails.map { "\($0.name) \(Joules($0.joules).formatted(significantDigits: 3))" }.joined(separator: ", "))
        for e in events where (e.count ?? 0) > 0 {
            let per = Joules(e.joules / Double(e.count ?? 1))
            lines.append("  \(e.name.padding(20)) \(Joules(e.joules).formatted()) (\(e.count ?? 0) events, \(per.formatted()) each = \(SignificantDigits.format(per.value / landauerJoulesPerBit, digits: 3)) k_B·T·ln 2)")
        }
        return lines.joined(separator: "\n")
    }
}

