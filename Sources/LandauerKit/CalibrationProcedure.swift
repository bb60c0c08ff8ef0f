import Foundation
import LandauerCalibration
import LandauerFirmware

/// `landauer calibrate`: measures the open circuit and each reference load, then fits gain and
/// offset per range (docs/calibration.md).
///
/// For every position the meter first settles (`settleSamples` discarded: range switching and
/// the load's own transient), then takes `samplesPerPoint` samples. Samples are grouped by the
/// range they were taken on; a range with at least `minimumShare` of a point's samples gets an
/// observation from it, so a load near a range boundary can serve two ranges.
public struct CalibrationProcedure: Sendable {
    /// Samples discarded after switching a load in.
    public var settleSamples = 200
    /// Samples per load.
    public var samplesPerPoint = 4_000
    /// Smallest share of a point's samples that makes an observation on their range.
    public var minimumShare = 0.25
    /// How long the calibration is valid.
    public var validFor = Seconds(90 * 86_400)

    /// The default procedure.
    public init() {}

    /// Runs the procedure on `meter` and fits the record.
    public func run(on meter: any ReferenceLoadMeter, date: Date = Date()) async throws -> MeterCalibration {
        var observations: [CalibrationObservation] = []
        let positions: [Int?] = [nil] + meter.loads.indices.map { Optional($0) }
        for position in positions {
            let load = position.map { meter.loads[$0] } ?? .open
            try await meter.connectLoad(position)
            // One acquisition; its first `settleSamples` are the settling, and are not used.
            let samples = try await meter.acquire(count: settleSamples + samplesPerPoint)
            var byRange: [Int: [Double]] = [:]
            for k in min(settleSamples, samples.count)..<samples.count { byRange[Int(samples.ranges[k]), default: []].append(samples.raw[k]) }
            let used = max(samples.count - settleSamples, 0)
            for (range, raw) in byRange.sorted(by: { $0.key < $1.key }) where Double(raw.count) >= minimumShare * Double(used) {
                observations.append(CalibrationObservation(load: load, range: range, samples: raw))
            }
        }
        try await meter.connectLoad(nil)
        let identity = await meter.identity
        let stamp = Self.stamp(date)
        let id = "cal-\(stamp)-\(identity.model.lowercased())-\(identity.serial ?? "unknown")"
        let names = meter.loads.map(\.name).joined(separator: ", ")
        let method = "open circuit and \(meter.loads.count) reference loads (\(names)) at \(SignificantDigits.format(meter.loadVoltage.value, digits: 4)) V; "
            + "\(settleSamples) samples settle, \(samplesPerPoint) samples per load; weighted least squares raw = g·I + o per range (docs/calibration.md)"
        return try MeterCalibration.fit(
            id: id, date: Seconds(date.timeIntervalSince1970), validFor: validFor, instrument: identity, method: method,
            voltage: meter.loadVoltage, voltageRelativeUncertainty: meter.loadVoltageRelativeUncertainty, observations: observations,
            resolution: meter.resolution)
    }

    /// "20261124T0530Z"-style stamp.
    static func stamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }
}
