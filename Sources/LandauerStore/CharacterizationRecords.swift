import Foundation
import GRDB

/// One conductance reading of a characterisation run (`characterizationPoint`): which procedure,
/// which device, where in the procedure, and what was read.
public struct CharacterizationPointRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "characterizationPoint"
    public var runId: String
    /// pulse, retention, endurance, disturb or map.
    public var procedure: String
    public var tile: Int
    public var row: Int
    public var column: Int
    /// 0 = G⁺, 1 = G⁻.
    public var side: Int
    /// The monotone pulse train (−1: reads before any pulse).
    public var train: Int
    /// Reading number within the train.
    public var step: Int
    /// +1 potentiating, −1 depressing, 0 no pulse.
    public var polarity: Int
    /// Pulses of `polarity` since the train began.
    public var pulses: Int
    /// Board time since the procedure began, seconds.
    public var boardSeconds: Double
    /// Conductance read, siemens.
    public var siemens: Double
    /// Pulse trains: the pulse amplitude before the reading; sweeps: the step voltage, volts (v6).
    public var volts: Double?
    /// Sweeps: the current at the end of the step, amperes (v6).
    public var amperes: Double?
    /// Sweeps: whether the current limiter held the current at the compliance (v6).
    public var limited: Bool

    public init(
        runId: String, procedure: String, tile: Int, row: Int, column: Int, side: Int, train: Int, step: Int, polarity: Int, pulses: Int,
        boardSeconds: Double, siemens: Double, volts: Double? = nil, amperes: Double? = nil, limited: Bool = false
    ) {
        self.volts = volts
        self.amperes = amperes
        self.limited = limited
        self.runId = runId
        self.procedure = procedure
        self.tile = tile
        self.row = row
        self.column = column
        self.side = side
        self.train = train
        self.step = step
        self.polarity = polarity
        self.pulses = pulses
        self.boardSeconds = boardSeconds
        self.siemens = siemens
    }
}

/// What the conductance map made of one device (`deviceClass`).
public struct DeviceClassRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "deviceClass"
    public var runId: String
    public var tile: Int
    public var row: Int
    public var column: Int
    public var side: Int
    /// healthy, stuck-low, stuck-high, shorted or open.
    public var deviceClass: String
    /// Mean conductance read before any pulse, siemens.
    public var siemens: Double
    /// Largest change the probe pulses made, siemens.
    public var swingSiemens: Double

    public init(runId: String, tile: Int, row: Int, column: Int, side: Int, deviceClass: String, siemens: Double, swingSiemens: Double) {
        self.runId = runId
        self.tile = tile
        self.row = row
        self.column = column
        self.side = side
        self.deviceClass = deviceClass
        self.siemens = siemens
        self.swingSiemens = swingSiemens
    }
}

/// A fit of a characterisation run (`characterizationFit`): the device profile it produced, as JSON.
public struct CharacterizationFitRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "characterizationFit"
    public var runId: String
    /// The profile's name.
    public var name: String
    /// UTC, ISO 8601.
    public var time: String
    public var profile: Data

    public init(runId: String, name: String, time: Date = Date(), profile: Data) {
        self.runId = runId
        self.name = name
        self.time = RunStore.timestamp(time)
        self.profile = profile
    }
}

extension RunStore {
    static func registerCharacterization(_ m: inout DatabaseMigrator) {
        m.registerMigration("v5: characterisation") { db in
            try db.create(table: "characterizationPoint") { t in
                t.autoIncrementedPrimaryKey("rowid")
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("procedure", .text).notNull()
                t.column("tile", .integer).notNull()
                t.column("row", .integer).notNull()
                t.column("column", .integer).notNull()
                t.column("side", .integer).notNull()
                t.column("train", .integer).notNull()
                t.column("step", .integer).notNull()
                t.column("polarity", .integer).notNull()
                t.column("pulses", .integer).notNull()
                t.column("boardSeconds", .double).notNull()
                t.column("siemens", .double).notNull()
            }
            try db.create(index: "characterizationPointByRun", on: "characterizationPoint", columns: ["runId", "procedure"])
            try db.create(table: "deviceClass") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("tile", .integer).notNull()
                t.column("row", .integer).notNull()
                t.column("column", .integer).notNull()
                t.column("side", .integer).notNull()
                t.column("deviceClass", .text).notNull()
                t.column("siemens", .double).notNull()
                t.column("swingSiemens", .double).notNull()
                t.primaryKey(["runId", "tile", "row", "column", "side"])
            }
            try db.create(table: "characterizationFit") { t in
                t.column("runId", .text).notNull().references("run", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("time", .text).notNull()
                t.column("profile", .blob).notNull()
                t.primaryKey(["runId", "name"])
            }
        }
        m.registerMigration("v6: sweep points") { db in
            try db.alter(table: "characterizationPoint") { t in
                t.add(column: "volts", .double)
                t.add(column: "amperes", .double)
                t.add(column: "limited", .boolean).notNull().defaults(to: false)
            }
        }
    }

    /// Records a batch of readings in one transaction, through one prepared statement. The JSON
    /// Lines log gets one line per batch (its size and the procedure), not one per reading.
    public func record(_ points: [CharacterizationPointRecord]) throws {
        guard let first = points.first else { return }
        log("characterizationPoints", ["runId": first.runId, "procedure": first.procedure, "count": "\(points.count)"])
        try write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO characterizationPoint
                  (runId, procedure, tile, row, "column", side, train, step, polarity, pulses, boardSeconds, siemens, volts, amperes, limited)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for p in points {
                try statement.execute(arguments: [
                    p.runId, p.procedure, p.tile, p.row, p.column, p.side, p.train, p.step, p.polarity, p.pulses, p.boardSeconds, p.siemens,
                    p.volts, p.amperes, p.limited,
                ])
            }
        }
    }

    /// A run's readings, optionally of one procedure, in the order they were taken.
    public func characterizationPoints(of id: String, procedure: String? = nil) throws -> [CharacterizationPointRecord] {
        try read { db in
            var request = CharacterizationPointRecord.filter(Column("runId") == id)
            if let procedure { request = request.filter(Column("procedure") == procedure) }
            return try request.order(Column("rowid")).fetchAll(db)
        }
    }

    /// Records (or replaces) the map's classification of a run's devices, in one transaction.
    public func record(_ classes: [DeviceClassRecord]) throws {
        guard let first = classes.first else { return }
        log("deviceClasses", ["runId": first.runId, "count": "\(classes.count)"])
        try write { db in for c in classes { try c.insert(db, onConflict: .replace) } }
    }

    /// A run's device classes, by tile, row, column, side.
    public func deviceClasses(of id: String) throws -> [DeviceClassRecord] {
        try read { try DeviceClassRecord.filter(Column("runId") == id).order(Column("tile"), Column("row"), Column("column"), Column("side")).fetchAll($0) }
    }

    /// Keeps a fit of a run (replacing one of the same name).
    public func record(_ fit: CharacterizationFitRecord) throws {
        log("characterizationFit", ["runId": fit.runId, "name": fit.name, "time": fit.time])
        try write { try fit.insert($0, onConflict: .replace) }
    }

    /// A run's fits, newest first.
    public func characterizationFits(of id: String) throws -> [CharacterizationFitRecord] {
        try read { try CharacterizationFitRecord.filter(Column("runId") == id).order(Column("time").desc).fetchAll($0) }
    }

    /// Sets a run's configuration once it is known (a characterisation learns the board's
    /// geometry and converter scale only after connecting).
    public func setConfiguration(of id: String, _ json: String) throws {
        try write { db in
            guard var r = try RunRecord.fetchOne(db, key: id) else { throw RunStoreError.noSuchRun(id, known: try RunRecord.fetchCount(db)) }
            r.configuration = json
            try r.update(db)
            log("configuration", r)
        }
    }
}
