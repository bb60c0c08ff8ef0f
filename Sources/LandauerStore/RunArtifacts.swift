import Foundation
import GRDB

/// A change of the marker lines as the meter saw it: from sample `sample` on, the lines read `lines`.
public struct MarkerRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "marker"
    public var runId: String
    /// The trace stream whose samples carry the lines.
    public var stream: String
    /// First sample with the new value.
    public var sample: Int64
    /// The logic inputs (bit k on line k).
    public var lines: Int

    public init(runId: String, stream: String, sample: Int64, lines: UInt8) {
        self.runId = runId
        self.stream = stream
        self.sample = sample
        self.lines = Int(lines)
    }
}

/// One figure of a run's result, with its definition: what reports print in their table and plot
/// on the joules-per-bit ladder.
public struct FigureRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "figure"

    /// What a figure is.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Measured by the meter (calibrated).
        case measured
        /// Counted or computed from the run (bits, samples, accuracy).
        case derived
        /// A thermodynamic lower bound.
        case bound
        /// A hypothesis the measurement tests (k_B·T·ln 2 per bit that is not erased).
        case hypothesis
        /// A comparison that is not a bound (today's digital hardware).
        case baseline
        /// The simulator's ground truth (virtual bench only).
        case ledger
    }

    public var runId: String
    /// Order in the report.
    public var position: Int
    /// Stable machine name, e.g. `energy.update`, `perbit.readout`.
    public var key: String
    /// Name for people.
    public var name: String
    public var kind: Kind
    public var value: Double
    /// SI unit symbol: J, J/bit, W, K, bit, 1.
    public var unit: String
    /// Expanded uncertainty (k = 2) in the same unit, when known.
    public var expandedUncertainty: Double?
    /// What it is and how it was obtained.
    public var definition: String
    /// Where a bound or constant comes from.
    public var source: String?
    /// For a figure in J/bit: its multiple of k_B·T·ln 2 at the run's temperature.
    public var landauerRatio: Double?

    public init(
        runId: String, position: Int, key: String, name: String, kind: Kind, value: Double, unit: String,
        expandedUncertainty: Double? = nil, definition: String, source: String? = nil, landauerRatio: Double? = nil
    ) {
        self.runId = runId
        self.position = position
        self.key = key
        self.name = name
        self.kind = kind
        self.value = value
        self.unit = unit
        self.expandedUncertainty = expandedUncertainty
        self.definition = definition
        self.source = source
        self.landauerRatio = landauerRatio
    }
}

/// A training checkpoint kept in the store (the trainer's JSON), one per epoch: what `--resume RUN` continues from.
public struct CheckpointRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "checkpoint"
    public var runId: String
    /// Epochs finished when it was taken.
    public var epochs: Int
    /// UTC, ISO 8601.
    public var time: String
    public var data: Data

    public init(runId: String, epochs: Int, time: Date = Date(), data: Data) {
        self.runId = runId
        self.epochs = epochs
        self.time = RunStore.timestamp(time)
        self.data = data
    }
}

extension RunStore {
    static func registerArtifacts(_ m: inout DatabaseMigrator) {
        m.registerMigration("v4: markers, figures, checkpoints") { db in
            try db.create(table: "marker") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("stream", .text).notNull()
                t.column("sample", .integer).notNull()
                t.column("lines", .integer).notNull()
                t.primaryKey(["runId", "stream", "sample"])
            }
            try db.create(table: "figure") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("key", .text).notNull()
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("value", .double).notNull()
                t.column("unit", .text).notNull()
                t.column("expandedUncertainty", .double)
                t.column("definition", .text).notNull()
                t.column("source", .text)
                t.column("landauerRatio", .double)
                t.primaryKey(["runId", "key"])
            }
            try db.create(table: "checkpoint") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("epochs", .integer).notNull()
                t.column("time", .text).notNull()
                t.column("data", .blob).notNull()
                t.primaryKey(["runId", "epochs"])
            }
        }
    }

    /// Records marker changes (in one transaction; a change already recorded is kept).
    public func record(_ markers: [MarkerRecord]) throws {
        guard !markers.isEmpty else { return }
        try write { db in for m in markers { try m.insert(db, onConflict: .ignore) } }
    }

    /// A run's marker changes of `stream` in `range` of samples, in order (with the last change
    /// before the range, so the lines at its start are known).
    public func markers(of id: String, stream: String, in range: Range<Int64>? = nil) throws -> [MarkerRecord] {
        try read { db in
            guard let range else {
                return try MarkerRecord.filter(Column("runId") == id && Column("stream") == stream).order(Column("sample")).fetchAll(db)
            }
            let before = try MarkerRecord.filter(Column("runId") == id && Column("stream") == stream && Column("sample") < range.lowerBound)
                .order(Column("sample").desc).limit(1).fetchAll(db)
            let inside = try MarkerRecord.filter(
                Column("runId") == id && Column("stream") == stream && Column("sample") >= range.lowerBound && Column("sample") < range.upperBound
            ).order(Column("sample")).fetchAll(db)
            return before + inside
        }
    }

    /// Replaces a run's figures (in one transaction).
    public func replaceFigures(of id: String, with figures: [FigureRecord]) throws {
        for f in figures { log("figure", f) }
        try write { db in
            try FigureRecord.filter(Column("runId") == id).deleteAll(db)
            for f in figures { try f.insert(db) }
        }
    }

    /// A run's figures, in report order.
    public func figures(of id: String) throws -> [FigureRecord] {
        try read { try FigureRecord.filter(Column("runId") == id).order(Column("position")).fetchAll($0) }
    }

    /// Keeps a checkpoint (replacing one taken after as many epochs).
    public func record(_ checkpoint: CheckpointRecord) throws {
        log("checkpoint", ["runId": checkpoint.runId, "epochs": "\(checkpoint.epochs)", "time": checkpoint.time])
        try write { try checkpoint.insert($0, onConflict: .replace) }
    }

    /// Commits one finished epoch in one transaction: its metrics, its energies and the checkpoint
    /// taken after it. A crash leaves either all of them or none, so a resumed run never repeats
    /// or skips an epoch.
    public func commitEpoch(_ epoch: EpochMetric, energies: [EnergyRecord], checkpoint: CheckpointRecord) throws {
        log("epoch", epoch)
        for e in energies { log("energy", e) }
        log("checkpoint", ["runId": checkpoint.runId, "epochs": "\(checkpoint.epochs)", "time": checkpoint.time])
        try write { db in
            try epoch.insert(db)
            for e in energies { try e.insert(db) }
            try checkpoint.insert(db, onConflict: .replace)
        }
    }

    /// A run's newest checkpoint, if it has one.
    public func latestCheckpoint(of id: String) throws -> CheckpointRecord? {
        try read { try CheckpointRecord.filter(Column("runId") == id).order(Column("epochs").desc).fetchOne($0) }
    }

    /// Sets what a run learned about its instruments and calibrations once it had connected to them.
    public func setProvenance(of id: String, instruments: String, calibrationIds: [String]) throws {
        let ids = String(decoding: (try? JSONEncoder().encode(calibrationIds)) ?? Data("[]".utf8), as: UTF8.self)
        try write { db in
            guard var r = try RunRecord.fetchOne(db, key: id) else { throw RunStoreError.noSuchRun(id, known: try RunRecord.fetchCount(db)) }
            r.instruments = instruments
            r.calibrationIds = ids
            try r.update(db)
            log("provenance", r)
        }
    }

    /// Takes up an interrupted or failed run again in this process: running, not ended, with an event saying so.
    public func reopen(_ id: String, reason: String) throws -> RunRecord {
        try write { db in
            guard var r = try RunRecord.fetchOne(db, key: id) else { throw RunStoreError.noSuchRun(id, known: try RunRecord.fetchCount(db)) }
            guard r.status != .completed else { throw RunStoreError.notResumable(id, status: r.status) }
            guard r.status != .running || r.processID == Int(ProcessInfo.processInfo.processIdentifier) else {
                throw RunStoreError.notResumable(id, status: r.status)
            }
            r.status = .running
            r.exitStatus = nil
            r.endedAt = nil
            r.processID = Int(ProcessInfo.processInfo.processIdentifier)
            try r.update(db)
            let event = RunEvent(runId: id, kind: "resume", message: reason)
            try event.insert(db)
            log("event", event)
            return r
        }
    }
}
