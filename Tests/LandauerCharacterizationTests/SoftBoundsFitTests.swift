import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import Testing

/// A board whose soft-bounds devices are drawn from a seed the fitting code never sees: the fit
/// gets only what the board client measures.
enum HiddenBoard {
    struct Draw {
        var state: UInt64
        mutating func uniform(_ range: ClosedRange<Double>) -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return range.lowerBound + (range.upperBound - range.lowerBound) * Double(z >> 11) / Double(1 << 53)
        }
    }

    /// The reference board's electronics and noise, with soft-bounds devices whose every
    /// parameter, window and seed come from `hidden`.
    static func config(hidden: UInt64) -> (config: VirtualBoardConfig, truth: PulsedStepParameters) {
        var d = Draw(state: hidden)
        let sign: Double = d.uniform(0...1) < 0.5 ? -1 : 1
        let p = PulsedStepParameters(
            dwMin: d.uniform(0.006...0.012), upDown: sign * d.uniform(0.1...0.3), dwMinDtoD: d.uniform(0.1...0.25),
            upDownDtoD: d.uniform(0.03...0.06), cycleToCycle: d.uniform(0.2...0.4), wMin: -d.uniform(0.6...1.0), wMax: d.uniform(0.9...1.4),
            wMinDtoD: d.uniform(0.2...0.4), wMaxDtoD: d.uniform(0.2...0.4))
        var c = VirtualBoardConfig.default
        c.deviceModel = .softBounds(p)
        c.conductanceWindow = ConductanceWindow(minimum: Siemens(d.uniform(0.5e-6...2e-6)), maximum: Siemens(d.uniform(16e-6...22e-6)))
        c.seed = UInt64(d.uniform(0...1) * 1e15)
        return (c, p)
    }
}

/// What the fit and the twin tests share: one pulse-response characterisation of a hidden board.
struct Measured: Sendable {
    var truth: PulsedStepParameters
    var window: ConductanceWindow
    var points: [CharacterizationPoint]
    var fit: SoftBoundsFit

    static let block = DeviceBlock(tile: 0, rows: 16, columns: 8)
    static let steps = 400

    static func pulseResponse(_ board: VirtualBoard) async throws -> [CharacterizationPoint] {
        let c = try await Characterizer(client: BoardConnection.inProcessClient(for: board))
        return try await c.pulseResponse(block, steps: steps, cycles: 2)
    }

    static let shared = Task<Measured, any Error> {
        let (config, truth) = HiddenBoard.config(hidden: 0xC0FF_EE00_0009)
        let points = try await pulseResponse(VirtualBoard(config: config))
        return Measured(truth: truth, window: config.conductanceWindow, points: points, fit: try SoftBoundsFit.fit(points))
    }
}

@Suite("Soft-bounds fit of a board drawn from a hidden seed", .serialized)
struct SoftBoundsFitTests {
    /// |fitted / true − 1|.
    static func error(_ fitted: Double, _ truth: Double) -> Double { abs(fitted / truth - 1) }

    @Test("step, bounds and asymmetry within 10 %, spreads within 25 %, with a sound goodness of fit")
    func recovers() async throws {
        let m = try await Measured.shared.value
        let t = m.truth, f = m.fit
        // The fit reports in the convention wMax − wMin = 2; the truth in its own, so compare in units of the range.
        let scale = 2 / (t.wMax - t.wMin)
        let rows: [(String, Double, Double, Double)] = [
            ("dwMin", f.dwMin.value, t.dwMin * scale, 0.10),
            ("wMin", f.wMin.value, t.wMin * scale, 0.10),
            ("wMax", f.wMax.value, t.wMax * scale, 0.10),
            ("upDown", f.upDown.value, t.upDown, 0.10),
            ("gMin", f.gMin.value, m.window.minimum.value, 0.10),
            ("gMax", f.gMax.value, m.window.maximum.value, 0.10),
            ("dwMinDtoD", f.dwMinDtoD.value, t.dwMinDtoD, 0.25),
            ("upDownDtoD", f.upDownDtoD.value, t.upDownDtoD, 0.25),
            ("wMinDtoD", f.wMinDtoD.value, t.wMinDtoD, 0.25),
            ("wMaxDtoD", f.wMaxDtoD.value, t.wMaxDtoD, 0.25),
            ("cycleToCycle", f.cycleToCycle.value, t.cycleToCycle, 0.25),
        ]
        for (name, fitted, truth, tolerance) in rows {
            let u = f.parameters.first { $0.key == name }?.estimate.uncertainty ?? 0
            print("fit \(name): \(fitted) ± \(u) (truth \(truth), error \(String(format: "%.1f", Self.error(fitted, truth) * 100)) %)")
            #expect(Self.error(fitted, truth) <= tolerance, "\(name): fitted \(fitted), truth \(truth)")
        }
        print("fit: \(f.devices.count) devices, \(f.excluded.count) left out, reduced χ² \(f.reducedChiSquare) (read noise only \(f.reducedChiSquareReadNoiseOnly)), lack of fit \(f.lackOfFitChiSquare), residual RMS \(f.residualRMS) S, read noise \(f.readNoise) S")
        #expect(f.devices.count == Measured.block.devices.count)
        // The noise model explains the residuals; the read noise alone does not (there is cycle-to-cycle noise).
        #expect(abs(f.reducedChiSquare - 1) < 0.15)
        #expect(f.reducedChiSquareReadNoiseOnly > 1.5)
        // The shape of the curves is right: the residuals averaged over devices are noise.
        #expect(f.lackOfFitChiSquare < 2)
        let perDevice = f.devices.map(\.reducedChiSquare).sorted()
        #expect(abs(perDevice[perDevice.count / 2] - 1) < 0.3, "median per-device χ² \(perDevice[perDevice.count / 2])")
        // Every parameter has an uncertainty, and the errors are of its order.
        for p in f.parameters { #expect(p.estimate.uncertainty > 0, "\(p.key)") }
    }

    @Test("a wrong model is told apart: a fit to an exp-step board has a poor goodness of fit")
    func wrongModel() async throws {
        var c = VirtualBoardConfig.default  // exp-step devices: the step does not shrink linearly to a bound
        c.seed = 77
        let points = try await Measured.pulseResponse(VirtualBoard(config: c))
        let f = try SoftBoundsFit.fit(points, bootstrap: 0)
        print("exp-step board fitted as soft bounds: lack of fit \(f.lackOfFitChiSquare), read-noise-only χ² \(f.reducedChiSquareReadNoiseOnly)")
        #expect(f.lackOfFitChiSquare > 10)
    }

    @Test("the twin's pulse-response curves lie within the measurement noise of the original's")
    func twinCurves() async throws {
        let m = try await Measured.shared.value
        let profile = DeviceProfile(
            name: "hidden", createdAt: "now", pulseRun: "test", mapRun: nil,
            board: DeviceProfile.Board(serial: "LDR-SIM-0001", tiles: [[64, 32], [32, 10]], deviceReadFullScale: 10e-6),
            pulses: PulseSettings(), model: "soft-bounds", fit: m.fit, mappedDevices: 0, deadCells: [])
        var config = try profile.boardConfig()
        config.seed = 0xABCD  // the twin's devices are new draws from the fitted distribution
        let twin = try await Measured.pulseResponse(VirtualBoard(config: config))
        let a = CurveStatistics(m.points), b = CurveStatistics(twin)
        #expect(a.keys == b.keys)
        // Mean curve: the difference in units of its standard error (devices differ from board to board).
        var z: [Double] = []
        var spreadRatio: [Double] = []
        for k in a.keys {
            let (ma, sa, na) = a.stats[k]!, (mb, sb, nb) = b.stats[k]!
            z.append((ma - mb) / (sa * sa / Double(na) + sb * sb / Double(nb)).squareRoot())
            spreadRatio.append(sb / sa)
        }
        let rms = (z.reduce(0) { $0 + $1 * $1 } / Double(z.count)).squareRoot()
        let meanRatio = spreadRatio.reduce(0, +) / Double(spreadRatio.count)
        print("twin against original: RMS of the mean-curve difference \(rms) standard errors; device spread ratio \(meanRatio)")
        #expect(rms < 2)
        #expect(abs(meanRatio - 1) < 0.25)
        // And a wrong twin is not: 30 % larger steps move the curves far outside the noise.
        var wrong = m.fit
        wrong.dwMin.value *= 1.3
        var w = profile
        w.fit = wrong
        var wc = try w.boardConfig()
        wc.seed = 0xABCD
        let off = CurveStatistics(try await Measured.pulseResponse(VirtualBoard(config: wc)))
        var zw: [Double] = []
        for k in a.keys {
            let (ma, sa, na) = a.stats[k]!, (mb, sb, nb) = off.stats[k]!
            zw.append((ma - mb) / (sa * sa / Double(na) + sb * sb / Double(nb)).squareRoot())
        }
        let rmsWrong = (zw.reduce(0) { $0 + $1 * $1 } / Double(zw.count)).squareRoot()
        print("a twin with 30 % larger steps: RMS \(rmsWrong) standard errors")
        #expect(rmsWrong > 3)
    }
}

/// Mean and standard deviation over devices of the reading at each (train, step).
struct CurveStatistics {
    var keys: [Int]
    var stats: [Int: (mean: Double, sd: Double, n: Int)]

    init(_ points: [CharacterizationPoint]) {
        var groups: [Int: [Double]] = [:]
        for p in points where p.train >= 0 { groups[p.train * 100_000 + p.step, default: []].append(p.conductance.value) }
        keys = groups.keys.sorted()
        stats = groups.mapValues { v in
            let m = v.reduce(0, +) / Double(v.count)
            let s = (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot()
            return (m, s, v.count)
        }
    }
}
