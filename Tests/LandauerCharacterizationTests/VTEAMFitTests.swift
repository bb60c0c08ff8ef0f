import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import LandauerStore
import Testing

/// A board whose VTEAM devices are drawn from a seed the fit never sees (VTEAM has no
/// device-to-device variation in the simulator: every device follows the same parameters).
enum HiddenVTEAMBoard {
    static func config(hidden: UInt64) -> (config: VirtualBoardConfig, truth: VTEAMParameters) {
        var d = HiddenBoard.Draw(state: hidden)
        let truth = VTEAMParameters(
            vOn: Volts(-d.uniform(0.7...0.95)), vOff: Volts(d.uniform(0.7...0.95)), kOn: Hertz(-d.uniform(0.6e4...2.5e4)),
            kOff: Hertz(d.uniform(0.6e4...2.5e4)), alphaOn: d.uniform(2...4), alphaOff: d.uniform(2...4))
        var c = VirtualBoardConfig.default
        c.deviceModel = .vteam(truth)
        c.conductanceWindow = ConductanceWindow(minimum: Siemens(d.uniform(0.5e-6...2e-6)), maximum: Siemens(d.uniform(16e-6...22e-6)))
        c.seed = UInt64(d.uniform(0...1) * 1e15)
        return (c, truth)
    }
}

/// One multi-amplitude pulse-response characterisation of a hidden VTEAM board, and its fit.
struct MeasuredVTEAM: Sendable {
    var config: VirtualBoardConfig
    var truth: VTEAMParameters
    var points: [CharacterizationPoint]
    var fit: VTEAMFit

    /// 128 devices; PROGRAM PULSES drives one device at a time, so no neighbour is half-selected.
    static let block = DeviceBlock(tile: 0, rows: 8, columns: 8)
    static let amplitudes = [1.1, 1.2, 1.3, 1.4, 1.5].map(Volts.init)
    static let steps = 50
    static let pulsesPerStep = 8
    static let width: UInt32 = 1_000

    static func pulseResponse(_ config: VirtualBoardConfig, amplitudes: [Volts]) async throws -> [CharacterizationPoint] {
        let c = try await Characterizer(client: BoardConnection.inProcessClient(for: VirtualBoard(config: config)))
        return try await c.pulseResponse(block, steps: steps, cycles: 1, pulsesPerStep: pulsesPerStep, amplitudes: amplitudes)
    }

    static let shared = Task<MeasuredVTEAM, any Error> {
        let (config, truth) = HiddenVTEAMBoard.config(hidden: 0x7EA_0009)
        let clock = ContinuousClock.now
        let points = try await pulseResponse(config, amplitudes: amplitudes)
        let measured = ContinuousClock.now
        let fit = try VTEAMFit.fit(points, widthNanoseconds: width)
        print("hidden VTEAM board: characterised in \(measured - clock), fitted in \(ContinuousClock.now - measured)")
        return MeasuredVTEAM(config: config, truth: truth, points: points, fit: fit)
    }

    /// A profile whose twin follows `fit`; the soft-bounds part is fitted to the 1.5 V trains, as `landauer fit` does.
    func profile(_ fit: VTEAMFit) throws -> DeviceProfile {
        let soft = try SoftBoundsFit.fit(CharacterizationFitting.softBoundsPoints(points, amplitude: Volts(1.5)), bootstrap: 0)
        return DeviceProfile(
            name: "hidden-vteam", createdAt: "now", pulseRun: "test", mapRun: nil,
            board: DeviceProfile.Board(serial: "LDR-SIM-0001", tiles: [[64, 32], [32, 10]], deviceReadFullScale: 10e-6),
            pulses: PulseSettings(), model: "vteam", fit: soft, mappedDevices: 0, deadCells: [], compact: fit)
    }
}

@Suite("VTEAM compact-model fit of a board drawn from a hidden seed", .serialized)
struct VTEAMFitTests {
    /// |fitted / true − 1|.
    static func error(_ fitted: Double, _ truth: Double) -> Double { abs(fitted / truth - 1) }

    @Test("thresholds and window within 2 %, exponents within 5 %, rates within 10 %, with a sound goodness of fit")
    func recovers() async throws {
        let m = try await MeasuredVTEAM.shared.value
        let t = m.truth, f = m.fit
        // Tolerances about twice the largest error over nine draws (docs/characterization.md).
        let rows: [(String, Estimate, Double, Double)] = [
            ("gMin", f.gMin, m.config.conductanceWindow.minimum.value, 0.02),
            ("gMax", f.gMax, m.config.conductanceWindow.maximum.value, 0.02),
            ("thresholdOn", f.thresholdOn, -t.vOn.value, 0.02),
            ("thresholdOff", f.thresholdOff, t.vOff.value, 0.02),
            ("alphaOn", f.alphaOn, t.alphaOn, 0.05),
            ("alphaOff", f.alphaOff, t.alphaOff, 0.05),
            ("rateOn", f.rateOn, -t.kOn.value, 0.10),
            ("rateOff", f.rateOff, t.kOff.value, 0.10),
        ]
        for (name, e, truth, tolerance) in rows {
            let error = Self.error(e.value, truth)
            print("VTEAM \(name): \(e.value) ± \(e.uncertainty) (truth \(truth), error \(String(format: "%.2f", error * 100)) %, \(String(format: "%.1f", abs(e.value - truth) / e.uncertainty)) σ)")
            #expect(error <= tolerance, "\(name): fitted \(e.value), truth \(truth)")
            #expect(e.uncertainty > 0, "\(name) has no uncertainty")
        }
        for d in f.drives {
            print("drive \(d.amplitude.formatted()) \(d.polarity > 0 ? "up" : "down"): \(d.rate.value) ± \(d.rate.uncertainty) /s, law \(d.law), measurable \(d.measurable)")
        }
        print("VTEAM fit: \(f.devices) devices, \(f.excluded.count) left out, \(f.points) readings, reduced χ² \(f.reducedChiSquare), lack of fit \(f.lackOfFitChiSquare), drive law χ² \(f.driveLawChiSquare ?? -1), residual RMS \(f.residualRMS) S, read noise \(f.readNoise) S")
        #expect(f.devices == MeasuredVTEAM.block.devices.count)
        #expect(f.excluded.isEmpty)
        #expect(f.drives.count == 10 && f.drives.allSatisfy(\.measurable))
        // The read noise explains the residuals, and the curves have VTEAM's shape. Not exactly 1:
        // the reference board's 9-bit ADC has codes of 98 nS against 22 nS of read noise, so a
        // reading's mean is biased by up to ~15 nS depending on where G falls between two codes,
        // and VTEAM devices, all alike, share that bias (with a 16-bit ADC the same fit gives
        // χ² 1.00, lack of fit 0.9; a soft-bounds board gives 50, `wrongModel`).
        #expect(abs(f.reducedChiSquare - 1) < 0.3)
        #expect(f.lackOfFitChiSquare < 8)
        // The fit is reproducible (the bootstrap is seeded, nothing depends on hashing order).
        #expect(try VTEAMFit.fit(m.points, widthNanoseconds: MeasuredVTEAM.width) == f)
    }

    @Test("the twin reproduces the mean pulse response at 1.25 V, an amplitude the fit never saw; thresholds 10 % off do not")
    func twin() async throws {
        let m = try await MeasuredVTEAM.shared.value
        let profile = try m.profile(m.fit)
        var config = try profile.boardConfig()
        guard case .vteam(let p) = config.deviceModel else {
            Issue.record("the twin's devices are \(config.deviceModel.name)")
            return
        }
        #expect(p.vOn.value < 0 && p.kOn.value <= 0 && p.vOff.value > 0 && p.kOff.value >= 0)
        #expect(config.conductanceWindow.minimum.value == m.fit.gMin.value)
        config.seed = 0xABCD
        let unseen = [Volts(1.25)]
        let original = CurveStatistics(try await MeasuredVTEAM.pulseResponse(m.config, amplitudes: unseen))
        let twin = CurveStatistics(try await MeasuredVTEAM.pulseResponse(config, amplitudes: unseen))
        let rms = Self.distance(original, twin)
        // Read through a 16-bit ADC, both: the devices' agreement without the 9-bit codes, which turn
        // nanosiemens of difference between two trajectories into differences of a code's bias.
        var fine = m.config, fineTwin = config
        fine.adcBits = 16
        fineTwin.adcBits = 16
        let rmsFine = Self.distance(
            CurveStatistics(try await MeasuredVTEAM.pulseResponse(fine, amplitudes: unseen)), CurveStatistics(try await MeasuredVTEAM.pulseResponse(fineTwin, amplitudes: unseen)))
        print("twin against original at 1.25 V: RMS of the mean-curve difference \(rms) standard errors (9-bit ADC), \(rmsFine) (16-bit)")
        #expect(rms < 3)
        #expect(rmsFine < 2)
        var wrong = m.fit
        wrong.thresholdOn.value *= 1.1
        wrong.thresholdOff.value *= 1.1
        var wc = try m.profile(wrong).boardConfig()
        wc.seed = 0xABCD
        let off = Self.distance(original, CurveStatistics(try await MeasuredVTEAM.pulseResponse(wc, amplitudes: unseen)))
        print("a twin with thresholds 10 % higher: RMS \(off) standard errors")
        #expect(off > 10)
    }

    /// RMS over every (train, step) of the mean curves' difference in units of its standard error.
    static func distance(_ a: CurveStatistics, _ b: CurveStatistics) -> Double {
        var z: [Double] = []
        for k in a.keys {
            guard let (ma, sa, na) = a.stats[k], let (mb, sb, nb) = b.stats[k] else { return .infinity }
            z.append((ma - mb) / (sa * sa / Double(na) + sb * sb / Double(nb)).squareRoot())
        }
        return (z.reduce(0) { $0 + $1 * $1 } / Double(max(z.count, 1))).squareRoot()
    }

    @Test("the fitted model's curve from each train's first reading follows the measured trains within a few read-noise σ")
    func modelCurve() async throws {
        let m = try await MeasuredVTEAM.shared.value
        let f = m.fit
        var squares = 0.0, count = 0
        for (_, ps) in Dictionary(grouping: m.points.filter { $0.train >= 0 && $0.polarity != 0 }, by: \.device) {
            for (_, train) in Dictionary(grouping: ps, by: \.train) {
                let s = train.sorted { $0.step < $1.step }
                guard let first = s.first, let v = first.voltage else { continue }
                for p in s.dropFirst() {
                    let g = f.conductance(from: first.conductance, pulses: p.pulses - first.pulses, polarity: p.polarity, amplitude: v)
                    squares += pow(g.value - p.conductance.value, 2)
                    count += 1
                }
            }
        }
        let rms = (squares / Double(count)).squareRoot()
        // The start is one noisy reading, so the curve carries its error: a few σ, not hundreds.
        #expect(rms < 4 * f.readNoise, "RMS \(rms) S against read noise \(f.readNoise) S")
        // A model with thresholds 10 % high predicts far too little motion.
        var off = f
        off.thresholdOn.value *= 1.1
        off.thresholdOff.value *= 1.1
        var offSquares = 0.0
        for p in m.points where p.train >= 0 && p.polarity != 0 && p.step == MeasuredVTEAM.steps {
            guard let first = m.points.first(where: { $0.device == p.device && $0.train == p.train && $0.step == 1 }), let v = p.voltage else { continue }
            let g = off.conductance(from: first.conductance, pulses: p.pulses - first.pulses, polarity: p.polarity, amplitude: v)
            offSquares += pow(g.value - p.conductance.value, 2)
        }
        let ends = m.points.filter { $0.train >= 0 && $0.polarity != 0 && $0.step == MeasuredVTEAM.steps }.count
        #expect((offSquares / Double(ends)).squareRoot() > 10 * f.readNoise)
    }

    @Test("fewer than 3 amplitudes, or none recorded, cannot be fitted, and the refusal says what to measure")
    func tooFewAmplitudes() async throws {
        let m = try await MeasuredVTEAM.shared.value
        let two = m.points.filter { $0.train < 0 || $0.voltage.map { $0.value > 1.35 } == true }
        let refusal = #expect(throws: CharacterizationError.self) {
            _ = try VTEAMFit.fit(two, widthNanoseconds: MeasuredVTEAM.width, bootstrap: 0)
        }
        #expect(refusal.map { "\($0)".contains("--amplitudes") && "\($0)".contains("has 2") } == true, "\(String(describing: refusal))")
        let unrecorded = m.points.map { p in
            var q = p
            q.voltage = nil
            return q
        }
        let old = #expect(throws: CharacterizationError.self) {
            _ = try VTEAMFit.fit(unrecorded, widthNanoseconds: MeasuredVTEAM.width, bootstrap: 0)
        }
        #expect(old.map { "\($0)".contains("no pulse amplitudes") } == true, "\(String(describing: old))")
    }

    @Test("a soft-bounds board fitted as VTEAM has a much worse lack of fit than a VTEAM board")
    func wrongModel() async throws {
        let m = try await MeasuredVTEAM.shared.value
        let soft = HiddenBoard.config(hidden: 0xC0FF_EE00_0009).config
        let f = try VTEAMFit.fit(try await MeasuredVTEAM.pulseResponse(soft, amplitudes: MeasuredVTEAM.amplitudes), widthNanoseconds: MeasuredVTEAM.width, bootstrap: 0)
        print("soft-bounds board fitted as VTEAM: lack of fit \(f.lackOfFitChiSquare) (VTEAM board \(m.fit.lackOfFitChiSquare)), reduced χ² \(f.reducedChiSquare), drive law χ² \(f.driveLawChiSquare ?? -1)")
        #expect(f.lackOfFitChiSquare > 30)
        #expect(f.lackOfFitChiSquare > 5 * m.fit.lackOfFitChiSquare)
    }

    @Test("profiles: the compact section is optional (older files decode), the model chooses the twin's devices")
    func profiles() async throws {
        let m = try await MeasuredVTEAM.shared.value
        var profile = try m.profile(m.fit)
        #expect(profile.problems().isEmpty)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let decoded = try JSONDecoder().decode(DeviceProfile.self, from: encoder.encode(profile))
        #expect(decoded == profile)
        // A profile written before compact models: no "compact" key at all.
        profile.model = "soft-bounds"
        profile.compact = nil
        let old = try encoder.encode(profile)
        #expect(!String(decoding: old, as: UTF8.self).contains("\"compact\""))
        let read = try JSONDecoder().decode(DeviceProfile.self, from: old)
        #expect(read.compact == nil && read.model == "soft-bounds")
        #expect(read.problems().isEmpty || read.problems().allSatisfy { !$0.contains("compact") })
        // vteam without the compact fit, and an unknown model, are refused.
        var bare = read
        bare.model = "vteam"
        #expect(bare.problems().contains { $0.contains("compact") })
        #expect(throws: CharacterizationError.self) { _ = try bare.boardConfig() }
        bare.model = "exp-step"
        #expect(bare.problems().contains { $0.contains("neither") })
    }

    @Test("characterize at 4 amplitudes through the store, fit --model vteam: the twin is VTEAM, the soft-bounds part uses one amplitude")
    func throughStore() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vteam-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = CharacterizationRun.Options()
        o.board = "sim:?device=vteam&seed=5"
        o.workspace = dir
        o.store = dir.appendingPathComponent("landauer.sqlite").path
        o.procedure = .pulse
        o.block = "0:0+4,0+4"
        o.steps = 60
        o.pulsesPerStep = 4
        o.cycles = 1
        o.amplitudes = [1.2, 1.3, 1.4, 1.5].map(Volts.init)
        o.pulses.amplitude = Volts(1.5)
        let run = try await CharacterizationRun(options: o).run()
        let store = try RunStore(path: o.store!)
        let id = try #require(run.runId)
        let outcome = try CharacterizationFitting.run(String(id.prefix(8)), name: "vteam-4", model: .vteam, store: store, workspace: dir)
        let compact = try #require(outcome.profile.compact)
        let truth = VTEAMParameters()
        print("default VTEAM board through the store: |v_on| \(compact.thresholdOn.value) V, v_off \(compact.thresholdOff.value) V, α \(compact.alphaOn.value)/\(compact.alphaOff.value), |k| \(compact.rateOn.value)/\(compact.rateOff.value) /s, lack of fit \(compact.lackOfFitChiSquare)")
        #expect(outcome.profile.model == "vteam")
        #expect(Self.error(compact.thresholdOn.value, -truth.vOn.value) < 0.05 && Self.error(compact.thresholdOff.value, truth.vOff.value) < 0.05)
        // The soft-bounds fit saw the 1.5 V trains only: 32 devices × 2 trains × 60 readings.
        #expect(outcome.profile.fit.points == 32 * 2 * 60)
        #expect(try store.figures(of: id).contains { $0.key == "fit.vteam.thresholdOn" })
        let session = try BoardConnection.open("sim:?device=profile:vteam-4", workspace: dir)
        let board = try #require(session.virtualBoard)
        #expect(board.config.deviceModel == .vteam(compact.vteamParameters))
        await session.client.close()
        // soft-bounds (the default) keeps the compact section in the profile but twins soft bounds.
        let soft = try CharacterizationFitting.run(String(id.prefix(8)), name: "soft-4", store: store, workspace: dir)
        #expect(soft.profile.model == "soft-bounds" && soft.profile.compact != nil)
        #expect(try soft.profile.boardConfig().deviceModel.name == "soft-bounds")
    }
}
