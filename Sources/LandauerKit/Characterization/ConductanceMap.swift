import Foundation
import LandauerFirmware

/// One device as the conductance map found it.
public struct MappedDevice: Sendable, Equatable, Codable {
    public var device: DeviceAddress
    public var deviceClass: DeviceClass
    /// Mean of the two reads before any pulse.
    public var conductance: Siemens
    /// Largest change the probe pulses made (highest after-potentiation read less the after-depression read).
    public var swing: Siemens
}

/// Classifies the devices of a conductance map (`Characterizer.conductanceMap`).
///
/// The read noise σ (noise and quantisation) is estimated from the two reads before any pulse:
/// the RMS of their difference over √2. A device's swing is the range of all its readings. It
/// responds when its swing exceeds
/// max(`minimumSwingCodes` codes, `swingSigmas` σ). Then:
/// - shorted: a reading at the ADC's full scale, or above the window's maximum (when a window is given);
/// - open: below `openBelowCodes` codes, or below the window's minimum (when given);
/// - healthy: responds;
/// - stuck-low / stuck-high: does not respond; below / above the median conductance of the
///   responding devices.
public struct ConductanceMapClassifier: Sendable {
    /// Conductance of one ADC code at the read voltage.
    public var siemensPerCode: Siemens
    /// The ADC's largest code.
    public var maxCode: Int
    /// The expected conductance window, with a tolerance of 10 %; nil: only the ADC's range decides.
    public var window: ClosedRange<Double>?
    public var minimumSwingCodes = 4.0
    public var swingSigmas = 8.0
    public var openBelowCodes = 2.0

    public init(siemensPerCode: Siemens, maxCode: Int, window: ClosedRange<Double>? = nil) {
        self.siemensPerCode = siemensPerCode
        self.maxCode = maxCode
        self.window = window
    }

    /// Read noise σ estimated from the two baseline reads of each device.
    public func readNoise(_ points: [CharacterizationPoint]) -> Siemens {
        var diffs: [Double] = []
        for (_, ps) in Dictionary(grouping: points.filter { $0.procedure == .map && $0.train == 0 }, by: \.device) where ps.count >= 2 {
            diffs.append(ps[0].conductance.value - ps[1].conductance.value)
        }
        // RMS, not a median: with noise below one ADC code most differences are 0 codes.
        return Siemens((diffs.reduce(0) { $0 + $1 * $1 } / Double(max(diffs.count, 1)) / 2).squareRoot())
    }

    /// The smallest swing that counts as a response: max(`minimumSwingCodes` codes, `swingSigmas` σ).
    public func responseThreshold(readNoise: Siemens) -> Siemens {
        Siemens(max(minimumSwingCodes * siemensPerCode.value, swingSigmas * readNoise.value))
    }

    /// Each device's swing: the range of all its readings, before and after the probe pulses (a
    /// device that moves in one direction only still moves).
    public func swings(_ points: [CharacterizationPoint]) -> [DeviceAddress: Double] {
        var hi: [DeviceAddress: Double] = [:], lo: [DeviceAddress: Double] = [:]
        for p in points where p.procedure == .map {
            hi[p.device] = max(hi[p.device] ?? -.infinity, p.conductance.value)
            lo[p.device] = min(lo[p.device] ?? .infinity, p.conductance.value)
        }
        return hi.mapValues { $0 }.merging(lo) { h, l in h - l }
    }

    /// Each device's class.
    public func classify(_ points: [CharacterizationPoint]) -> [MappedDevice] {
        let code = siemensPerCode.value
        let threshold = responseThreshold(readNoise: readNoise(points)).value
        let clip = (Double(maxCode) - 0.5) * code
        let swings = swings(points)
        var out: [MappedDevice] = []
        for (device, ps) in Dictionary(grouping: points.filter { $0.procedure == .map }, by: \.device) {
            let base = ps.filter { $0.train == 0 }.map(\.conductance.value)
            let g = base.isEmpty ? 0 : base.reduce(0, +) / Double(base.count)
            let swing = swings[device] ?? 0
            let all = ps.map(\.conductance.value)
            var c: DeviceClass = abs(swing) > threshold ? .healthy : .stuckLow
            if all.contains(where: { $0 >= clip }) || (window.map { g > $0.upperBound * 1.1 } ?? false) {
                c = .shorted
            } else if g < openBelowCodes * code || (window.map { g < $0.lowerBound * 0.9 } ?? false) {
                c = .open
            }
            out.append(MappedDevice(device: device, deviceClass: c, conductance: Siemens(g), swing: Siemens(swing)))
        }
        // Stuck devices: low or high against the responding ones.
        let healthy = out.filter { $0.deviceClass == .healthy }.map(\.conductance.value).sorted()
        let divider = healthy.isEmpty ? 0.5 * clip : quantile(healthy, 0.5)
        for k in out.indices where out[k].deviceClass == .stuckLow && out[k].conductance.value > divider {
            out[k].deviceClass = .stuckHigh
        }
        return out.sorted { $0.device < $1.device }
    }
}
