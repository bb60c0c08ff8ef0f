import Foundation
import LandauerCalibration
import LandauerFirmware

/// Meter calibrations kept as JSON records in a workspace folder (`calibrations/` beside the
/// run store), one file per record, named by its id. Records are never rewritten: a new
/// calibration is a new file, so every run can cite the one it used.
public struct CalibrationStore: Sendable {
    /// The folder.
    public let directory: URL

    /// A store in `workspace/calibrations`.
    public init(workspace: URL) { directory = workspace.appendingPathComponent("calibrations", isDirectory: true) }

    /// Why a record cannot be stored or read.
    public enum StoreError: Error, CustomStringConvertible {
        case io(String, path: String)
        case unreadable(path: String, reason: String)

        public var description: String {
            switch self {
            case .io(let what, let path): "calibration store: \(what) (\(path))"
            case .unreadable(let path, let reason): "calibration record \(path) cannot be read: \(reason)"
            }
        }
    }

    /// Writes `record`; returns its path. An existing record with the same id is an error.
    @discardableResult
    public func save(_ record: MeterCalibration) throws -> URL {
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw StoreError.io("cannot create the folder: \(error.localizedDescription)", path: directory.path)
        }
        let url = directory.appendingPathComponent("\(record.id).json")
        guard !FileManager.default.fileExists(atPath: url.path) else {
            throw StoreError.io("a record with id \(record.id) exists already; records are never overwritten", path: url.path)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { try encoder.encode(record).write(to: url, options: .withoutOverwriting) } catch {
            throw StoreError.io("cannot write: \(error.localizedDescription)", path: url.path)
        }
        return url
    }

    /// Every record, oldest first; unreadable files are reported, not skipped silently.
    public func all() throws -> [MeterCalibration] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var records: [MeterCalibration] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            let url = directory.appendingPathComponent(name)
            do {
                records.append(try JSONDecoder().decode(MeterCalibration.self, from: Data(contentsOf: url)))
            } catch {
                throw StoreError.unreadable(path: url.path, reason: "\(error)")
            }
        }
        return records.sorted { $0.date < $1.date }
    }

    /// The newest record for `instrument` (same model and serial), if any.
    public func latest(for instrument: InstrumentIdentity) throws -> MeterCalibration? {
        try all().last { $0.instrument.model == instrument.model && $0.instrument.serial == instrument.serial }
    }
}

/// A calibration as `landauer calibrate` prints it.
public struct CalibrationSummary: Codable, Sendable {
    /// One range's fit.
    public struct Range: Codable, Sendable {
        public var range: Int
        public var gain: Double
        /// Standard uncertainty of the gain (type A and B combined).
        public var gainUncertainty: Double
        public var offsetAmperes: Double
        public var offsetUncertaintyAmperes: Double
        public var noiseAmperes: Double
        public var reducedChiSquare: Double?
        public var points: Int
    }

    public var id: String
    public var instrument: String
    public var date: String
    public var due: String
    public var method: String
    public var ranges: [Range]
    /// Where the record was written.
    public var path: String?

    /// Summarises `record`.
    public init(_ record: MeterCalibration, path: String?) {
        id = record.id
        instrument = record.instrument.summary
        date = Self.iso(record.date)
        due = Self.iso(record.due)
        method = record.method
        ranges = record.ranges.map { r in
            Range(
                range: r.range, gain: r.gain, gainUncertainty: (r.covarianceA[0] + r.covarianceB[0]).squareRoot(),
                offsetAmperes: r.offset.value, offsetUncertaintyAmperes: (r.covarianceA[2] + r.covarianceB[2]).squareRoot(),
                noiseAmperes: r.sampleNoise.value, reducedChiSquare: r.reducedChiSquare, points: r.points)
        }
        self.path = path
    }

    static func iso(_ s: Seconds) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: s.value))
    }

    /// Lines for a terminal.
    public var text: String {
        var lines = ["Calibration \(id)", "  instrument  \(instrument)", "  made        \(date), due \(due)", "  method      \(method)"]
        lines.append("  range  gain (u)                offset (u)                 noise      χ²/ν   points")
        for r in ranges {
            let gain = "\(SignificantDigits.plain(r.gain, digits: 6)) (\(SignificantDigits.format(r.gainUncertainty, digits: 2)))"
            let offset = "\(Amperes(r.offsetAmperes).formatted(significantDigits: 3)) (\(Amperes(r.offsetUncertaintyAmperes).formatted(significantDigits: 2)))"
            let chi = r.reducedChiSquare.map { SignificantDigits.plain($0, digits: 2) } ?? "-"
            lines.append("  \(r.range)      \(gain.padding(toLength: 24, withPad: " ", startingAt: 0))\(offset.padding(toLength: 27, withPad: " ", startingAt: 0))\(Amperes(r.noiseAmperes).formatted(significantDigits: 2).padding(toLength: 11, withPad: " ", startingAt: 0))\(chi.padding(toLength: 7, withPad: " ", startingAt: 0))\(r.points)")
        }
        if let path { lines.append("Saved to \(path)") }
        return lines.joined(separator: "\n")
    }
}
