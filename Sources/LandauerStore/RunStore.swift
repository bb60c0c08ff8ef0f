import Foundation
import GRDB

/// What a run is.
public enum RunKind: String, Codable, Sendable, CaseIterable {
    case train, demo, calibrate, characterize
}

/// Where a run stands.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    /// Still going, as far as the store knows.
    case running
    /// Ended normally.
    case completed
    /// Ended with an error.
    case failed
    /// Its process went away without ending it (killed, crashed, power cut).
    case interrupted
}

/// A run: its identity, status and provenance. Everything measured hangs off its id.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "run"

    /// UUID, lower-case text.
    public var id: String
    public var name: String
    public var kind: RunKind
    public var status: RunStatus
    /// The process's exit status when it ended (nil while running or when interrupted).
    public var exitStatus: Int?
    /// UTC, ISO 8601.
    public var startedAt: String
    public var endedAt: String?
    /// Toolkit version and git commit.
    public var toolkitVersion: String
    public var gitCommit: String?
    public var host: String
    public var operatingSystem: String
    /// The process that runs it, so a store opened later can tell a live run from an interrupted one.
    public var processID: Int
    public var seed: UInt64?
    /// The full configuration, as JSON.
    public var configuration: String
    /// Every instrument's identity (vendor, model, serial, firmware, USB serial), as JSON.
    public var instruments: String
    /// The calibrations the run cites, as a JSON array of ids.
    public var calibrationIds: String

    /// A new running record.
    public init(
        id: String = UUID().uuidString.lowercased(), name: String, kind: RunKind, startedAt: Date = Date(), toolkitVersion: String,
        gitCommit: String?, seed: UInt64?, configuration: String, instruments: String = "[]", calibrationIds: [String] = []
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        status = .running
        exitStatus = nil
        self.startedAt = RunStore.timestamp(startedAt)
        endedAt = nil
        self.toolkitVersion = toolkitVersion
        self.gitCommit = gitCommit
        host = ProcessInfo.processInfo.hostName
        operatingSystem = ProcessInfo.processInfo.operatingSystemVersionString
        processID = Int(ProcessInfo.processInfo.processIdentifier)
        self.seed = seed
        self.configuration = configuration
        self.instruments = instruments
        self.calibrationIds = String(decoding: (try? JSONEncoder().encode(calibrationIds)) ?? Data("[]".utf8), as: UTF8.self)
    }
}

/// One thing that happened during a run: a gap, a retry, a reconnect, a warning, a phase change.
public struct RunEvent: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runEvent"
    public var runId: String
    /// UTC, ISO 8601.
    public var time: String
    /// gap, retry, reconnect, disconnect, warning, note…
    public var kind: String
    public var message: String

    /// An event now.
    public init(runId: String, time: Date = Date(), kind: String, message: String) {
        self.runId = runId
        self.time = RunStore.timestamp(time)
        self.kind = kind
        self.message = message
    }
}

/// One epoch of a training run.
public struct EpochMetric: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "epochMetric"
    public var runId: String
    public var epoch: Int
    public var trainAccuracy: Double
    public var trainCost: Double
    public var testAccuracy: Double
    public var samplesPerSecond: Double

    public init(runId: String, epoch: Int, trainAccuracy: Double, trainCost: Double, testAccuracy: Double, samplesPerSecond: Double) {
        self.runId = runId
        self.epoch = epoch
        self.trainAccuracy = trainAccuracy
        self.trainCost = trainCost
        self.testAccuracy = testAccuracy
        self.samplesPerSecond = samplesPerSecond
    }
}

/// Calibrated energy of one kind of phase in one epoch of a run (all its windows together).
public struct EnergyRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "energyWindow"
    public var runId: String
    public var epoch: Int
    /// free, nudged, update, readout, …
    public var phase: String
    public var joules: Double
    /// Expanded uncertainty, k = 2.
    public var expandedUncertaintyJoules: Double
    /// Samples the figure rests on, and samples missing (gaps; never filled in).
    public var samples: Double
    public var missingSamples: Double
    /// Duration in seconds.
    public var seconds: Double

    public init(runId: String, epoch: Int, phase: String, joules: Double, expandedUncertaintyJoules: Double, samples: Double, missingSamples: Double, seconds: Double) {
        self.runId = runId
        self.epoch = epoch
        self.phase = phase
        self.joules = joules
        self.expandedUncertaintyJoules = expandedUncertaintyJoules
        self.samples = samples
        self.missingSamples = missingSamples
        self.seconds = seconds
    }
}

/// Why the store cannot do what was asked.
public enum RunStoreError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case noSuchRun(String, known: Int)
    case ambiguous(String, matches: [String])
    case database(String)
    /// Only an interrupted or failed run can be taken up again.
    case notResumable(String, status: RunStatus)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "run store \(path) cannot be opened: \(reason)"
        case .noSuchRun(let id, let known): "no run \(id) in the store (it holds \(known)); `landauer runs` lists them"
        case .ambiguous(let id, let matches): "\(id) matches several runs (\(matches.joined(separator: ", "))); give more of the id"
        case .database(let why): "run store: \(why)"
        case .notResumable(let id, let status):
            status == .running
                ? "run \(id) is still running in another process; wait for it or stop it first"
                : "run \(id) is \(status.rawValue): only an interrupted or failed run can be resumed; start a new run instead"
        }
    }
}

/// One line of the JSON Lines log: what it is, and the record.
struct LogLine<V: Encodable>: Encodable {
    var kind: String
    var value: V
}

/// The run store: one SQLite file per workspace (WAL), with migrations, and beside it an
/// append-only JSON Lines log of the same events, the record that survives anything.
public final class RunStore: Sendable {
    /// The database file.
    public let path: String
    /// The JSON Lines log beside it.
    public let logPath: String
    let queue: DatabasePool

    /// The default store of a workspace: `landauer.sqlite` in it.
    public static func defaultPath(workspace: String = ".") -> String { (workspace as NSString).appendingPathComponent("landauer.sqlite") }

    /// Opens (or creates) the store at `path`, migrates it, and marks runs left running by a
    /// process that is gone as interrupted.
    public init(path: String) throws {
        self.path = path
        logPath = path + ".events.jsonl"
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            queue = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(queue)
        } catch {
            throw RunStoreError.cannotOpen(path: path, reason: "\(error)")
        }
        try markInterrupted()
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: runs, events, epochs") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("status", .text).notNull().indexed()
                t.column("exitStatus", .integer)
                t.column("startedAt", .text).notNull()
                t.column("endedAt", .text)
                t.column("toolkitVersion", .text).notNull()
                t.column("gitCommit", .text)
                t.column("host", .text).notNull()
                t.column("operatingSystem", .text).notNull()
                t.column("processID", .integer).notNull()
                t.column("seed", .integer)
                t.column("configuration", .text).notNull()
                t.column("instruments", .text).notNull()
                t.column("calibrationIds", .text).notNull()
            }
            try db.create(table: "runEvent") { t in
                t.autoIncrementedPrimaryKey("rowid")
                t.column("runId", .text).notNull().references("run", onDelete: .cascade).indexed()
                t.column("time", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("message", .text).notNull()
            }
            try db.create(table: "epochMetric") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("trainAccuracy", .double).notNull()
                t.column("trainCost", .double).notNull()
                t.column("testAccuracy", .double).notNull()
                t.column("samplesPerSecond", .double).notNull()
                t.primaryKey(["runId", "epoch"])
            }
        }
        m.registerMigration("v2: energy per phase and epoch") { db in
            try db.create(table: "energyWindow") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("phase", .text).notNull()
                t.column("joules", .double).notNull()
                t.column("expandedUncertaintyJoules", .double).notNull()
                t.column("samples", .double).notNull()
                t.column("missingSamples", .double).notNull()
                t.column("seconds", .double).notNull()
                t.primaryKey(["runId", "epoch", "phase"])
            }
        }
        m.registerMigration("v3: traces") { db in
            try db.create(table: "traceChunk") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("stream", .text).notNull()
                t.column("chunk", .integer).notNull()
                t.column("firstSample", .integer).notNull()
                t.column("sampleCount", .integer).notNull()
                t.column("data", .blob).notNull()
                t.primaryKey(["runId", "stream", "chunk"])
            }
            try db.create(table: "traceSummary") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("stream", .text).notNull()
                t.column("level", .integer).notNull()
                t.column("bucket", .integer).notNull()
                t.column("sampleCount", .integer).notNull()
                t.column("minimum", .double).notNull()
                t.column("maximum", .double).notNull()
                t.column("mean", .double).notNull()
                t.primaryKey(["runId", "stream", "level", "bucket"])
            }
        }
        registerArtifacts(&m)
        registerCharacterization(&m)
        return m
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    /// Runs marked running whose process no longer exists become interrupted.
    func markInterrupted() throws {
        do {
            try queue.write { db in
                for run in try RunRecord.filter(Column("status") == RunStatus.running.rawValue).fetchAll(db)
                where run.processID != Int(ProcessInfo.processInfo.processIdentifier) && kill(pid_t(run.processID), 0) != 0 {
                    var r = run
                    r.status = .interrupted
                    try r.update(db)
                }
            }
        } catch {
            throw RunStoreError.database("\(error)")
        }
    }

    /// Appends `value` as one JSON line to the log, synchronously.
    func log<T: Encodable>(_ kind: String, _ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard var data = try? encoder.encode(LogLine(kind: kind, value: value)) else { return }
        data.append(0x0A)
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        if let handle = FileHandle(forWritingAtPath: logPath) {
            handle.seekToEndOfFile()
            handle.write(data)
            try? handle.synchronize()
            try? handle.close()
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch { throw RunStoreError.database("\(error)") }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.read(body) } catch { throw RunStoreError.database("\(error)") }
    }

    /// Records a new run.
    public func begin(_ run: RunRecord) throws {
        log("run", run)
        try write { try run.insert($0) }
    }

    /// Records an event of a run.
    public func record(_ event: RunEvent) throws {
        log("event", event)
        try write { try event.insert($0) }
    }

    /// Records an epoch of a run (committed at once: a crash keeps every epoch finished).
    public func record(_ epoch: EpochMetric) throws {
        log("epoch", epoch)
        try write { try epoch.insert($0) }
    }

    /// Records the energy of the phases of one epoch, in one transaction; `replacing` lets a
    /// record taken later (the same phase with more windows closed) replace an earlier one.
    public func record(_ energies: [EnergyRecord], replacing: Bool = false) throws {
        for e in energies { log("energy", e) }
        try write { db in for e in energies { try e.insert(db, onConflict: replacing ? .replace : .abort) } }
    }

    /// A run's energy records, by epoch then phase.
    public func energies(of id: String) throws -> [EnergyRecord] {
        try read { try EnergyRecord.filter(Column("runId") == id).order(Column("epoch"), Column("phase")).fetchAll($0) }
    }

    /// Ends a run.
    public func finish(_ id: String, status: RunStatus, exitStatus: Int?, at date: Date = Date()) throws {
        try write { db in
            guard var r = try RunRecord.fetchOne(db, key: id) else { throw RunStoreError.noSuchRun(id, known: try RunRecord.fetchCount(db)) }
            r.status = status
            r.exitStatus = exitStatus
            r.endedAt = Self.timestamp(date)
            try r.update(db)
            log("finish", r)
        }
    }

    /// Every run, newest first.
    public func runs() throws -> [RunRecord] {
        try read { try RunRecord.order(Column("startedAt").desc).fetchAll($0) }
    }

    /// The run whose id is or starts with `prefix` (at least 4 characters).
    public func run(_ prefix: String) throws -> RunRecord {
        try read { db in
            let matches = try RunRecord.filter(Column("id").like(prefix.lowercased() + "%")).fetchAll(db)
            guard !matches.isEmpty, prefix.count >= 4 else { throw RunStoreError.noSuchRun(prefix, known: try RunRecord.fetchCount(db)) }
            guard matches.count == 1 else { throw RunStoreError.ambiguous(prefix, matches: matches.map(\.id)) }
            return matches[0]
        }
    }

    /// A run's events, in order.
    public func events(of id: String) throws -> [RunEvent] {
        try read { try RunEvent.filter(Column("runId") == id).order(Column("rowid")).fetchAll($0) }
    }

    /// A run's epochs, in order.
    public func epochs(of id: String) throws -> [EpochMetric] {
        try read { try EpochMetric.filter(Column("runId") == id).order(Column("epoch")).fetchAll($0) }
    }

    /// SQLite's `PRAGMA integrity_check`: "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try read { try String.fetchOne($0, sql: "PRAGMA integrity_check") ?? "no answer" }
    }
}
