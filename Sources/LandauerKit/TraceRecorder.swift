import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerStore
import Synchronization

/// Takes a meter's samples as they are collected and writes them to the run store in batches: the
/// raw words of runs of consecutive samples (with calibrated currents for the summaries), every
/// change of the marker lines, and every gap as an event. Nothing is filled in: a gap ends one run
/// of samples and the next starts after it.
public final class TraceRecorder: Sendable {
    let traces: TraceStore
    let store: RunStore
    public let runId: String
    public let stream: String
    let calibration: MeterCalibration?
    /// Added to the meter's sample indices: a resumed run's trace goes on after what is stored.
    public let offset: Int64
    /// Samples held before a write.
    let batchSamples: Int

    struct Pending {
        var first: Int64 = 0
        var words: [UInt32] = []
        var currents: [Float] = []
        var lastIndex: Int64?
        var lastLines: UInt8?
        var markers: [MarkerRecord] = []
        var gaps: [RunEvent] = []
        var missing: Int64 = 0
    }

    let pending = Mutex(Pending())

    /// A recorder of `stream` of run `runId`; its samples go on after the stream's stored extent.
    public init(store: RunStore, runId: String, stream: String = "ppk2", calibration: MeterCalibration?, batchSamples: Int = TraceStore.chunkSamples) throws {
        self.store = store
        traces = TraceStore(store)
        self.runId = runId
        self.stream = stream
        self.calibration = calibration
        self.batchSamples = batchSamples
        offset = try traces.extent(runId: runId, stream: stream)?.upperBound ?? 0
    }

    /// Samples missing so far (gaps between recorded samples).
    public var missingSamples: Int64 { pending.withLock { $0.missing } }

    /// Adds samples; writes whenever a batch is full or a gap ends a run of samples.
    public func add(_ samples: MeterSamples) throws {
        guard samples.words.count == samples.count else { return }
        try pending.withLock { p in
            for k in 0..<samples.count {
                let index = samples.indices[k] + offset
                if let last = p.lastIndex, index != last + 1 {
                    try write(&p)
                    let n = index - last - 1
                    p.missing += n
                    p.gaps.append(RunEvent(
                        runId: runId, kind: "gap",
                        message: "\(stream): samples \(last + 1)..<\(index) missing (\(n) samples, \(SignificantDigits.format(Double(n) * 1e-5, digits: 3)) s); left out, not filled in"))
                }
                if p.words.isEmpty { p.first = index }
                p.lastIndex = index
                let lines = samples.logic[k]
                if lines != p.lastLines {
                    p.markers.append(MarkerRecord(runId: runId, stream: stream, sample: index, lines: lines))
                    p.lastLines = lines
                }
                let raw = samples.raw[k]
                let current = calibration?.fit(forRange: Int(samples.ranges[k]))?.corrected(Amperes(raw)).value ?? raw
                p.words.append(samples.words[k])
                p.currents.append(Float(current))
                if p.words.count >= batchSamples { try write(&p) }
            }
        }
    }

    /// Writes what is held.
    public func flush() throws {
        try pending.withLock { try write(&$0) }
    }

    private func write(_ p: inout Pending) throws {
        if !p.words.isEmpty {
            try traces.append(runId: runId, stream: stream, firstSample: p.first, words: p.words, currents: p.currents)
            p.words.removeAll(keepingCapacity: true)
            p.currents.removeAll(keepingCapacity: true)
        }
        try store.record(p.markers)
        p.markers.removeAll()
        for g in p.gaps { try store.record(g) }
        p.gaps.removeAll()
    }
}

/// One instrument of a run, as the store's provenance keeps it.
public struct InstrumentRecord: Codable, Sendable, Equatable {
    /// board, meter, …
    public var role: String
    public var vendor: String
    public var model: String
    public var serial: String?
    public var firmware: String?
    /// The USB serial number, when the instrument is on USB and says it.
    public var usbSerial: String?
    /// How it was reached (connection string or endpoint).
    public var endpoint: String?

    public init(role: String, vendor: String, model: String, serial: String?, firmware: String?, usbSerial: String? = nil, endpoint: String? = nil) {
        self.role = role
        self.vendor = vendor
        self.model = model
        self.serial = serial
        self.firmware = firmware
        self.usbSerial = usbSerial
        self.endpoint = endpoint
    }

    /// The JSON the run record keeps.
    public static func json(_ instruments: [InstrumentRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(instruments)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}
