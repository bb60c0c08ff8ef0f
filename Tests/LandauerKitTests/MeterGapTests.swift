import Foundation
import LandauerCalibration
import LandauerFirmware
import LandauerKit
import LandauerSimulators
import LandauerTraining
import Testing

@Suite("Samples a meter cannot take are gaps, never filled in")
struct MeterGapTests {
    @Test("a board that discarded its waveform before the meter read it: the lost samples move the indices on and count as missing")
    func lostSamplesAreAGap() throws {
        var config = VirtualBoardConfig.default
        config.waveformRetention = 10_000  // 10 ms of 1 µs bins
        let board = VirtualBoard(config: config)
        let meter = try SimulatedMeterOptions(parsing: "sim")
        let bench = LockstepPowerBench(board: board, ppk2: meter.ppk2, serial: meter.serial, streamsWaveform: false)
        try bench.connect()
        bench.connectBoard()
        board.advance(by: Seconds(0.005))
        let first = bench.collect()
        #expect(bench.lostSamples == 0)
        #expect(first.count == 500)
        board.advance(by: Seconds(0.050))  // 50 ms: 40 ms of it discarded before the meter looks
        let second = bench.collect()
        let lost = Int64(bench.lostSamples)
        #expect(lost >= 3_999 && lost <= 4_001, "\(lost) samples lost")
        #expect(second.count + Int(lost) >= 4_999 && second.count + Int(lost) <= 5_001)
        let jump = try #require(second.indices.first) - (try #require(first.indices.last))
        #expect(jump == lost + 1)
        // Together, the samples' sums count the lost ones as missing.
        var both = first
        both.indices += second.indices
        both.raw += second.raw
        both.ranges += second.ranges
        both.logic += second.logic
        #expect(both.sums.missing == Double(lost))
    }
}

@Suite("A streaming meter loses nothing")
struct StreamingMeterTests {
    @Test("a metered run on a board that keeps only 5 ms of waveform: every sample measured, energy on the ledger")
    func meteredRunLosesNothing() async throws {
        var o = TrainingRun.Options()
        o.board = "sim:?profile=ideal&adc-range=0.05&retention=5000"
        o.network = NetworkShape([2, 8, 2])
        o.data = "xor"
        o.trainer.batchSize = 4
        o.trainer.epochs = 2
        o.synapses.siemensPerWeight = 4e-6
        o.meter = "sim"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        o.workspace = dir
        o.store = nil
        let report = try await TrainingRun(options: o).run()
        let m = try #require(report.measured)
        #expect(!m.warnings.contains { $0.contains("lost") || $0.contains("missing") }, "\(m.warnings)")
        let run = try #require(m.run)
        #expect(abs(run.joules / (run.ledgerJoules ?? 0) - 1) <= 0.005)
    }
}

@Suite("Bits learned, from the network's outputs")
struct LearnedInformationTests {
    @Test("outputs that name every label surely give D·H(Y) bits; outputs that say nothing give none")
    func extremes() {
        let labels = [0, 1, 2, 3, 0, 1, 2, 3]
        var sure: [Float] = []
        for l in labels { sure += (0..<4).map { $0 == l ? 1 : 0 } }
        let good = LearnedInformation.bits(outputs: sure, labels: labels, classes: 4)
        #expect(abs(good.count.bits - 8 * 2) < 0.01, "\(good.count.bits)")  // 8 samples × log2(4)
        #expect(good.fit.inverseTemperature > 20)
        let flat = [Float](repeating: 0.5, count: 32)
        let none = LearnedInformation.bits(outputs: flat, labels: labels, classes: 4)
        #expect(none.count.bits < 1e-9)
    }

    @Test("the fitted inverse temperature minimises the mean cross-entropy")
    func minimum() {
        var rng = SplitMix64(seed: 3)
        var outputs: [Float] = []
        var labels: [Int] = []
        for _ in 0..<200 {
            let l = Int(rng.next() % 3)
            labels.append(l)
            outputs += (0..<3).map { Float(($0 == l ? 0.6 : 0.3) + 0.3 * rng.uniform()) }
        }
        let fit = LearnedInformation.fit(outputs: outputs, labels: labels, classes: 3)
        func mean(_ b: Double) -> Double {
            LearnedInformation.fit(outputs: outputs, labels: labels, classes: 3, maxInverseTemperature: b).meanNats
        }
        #expect(fit.meanNats <= mean(fit.inverseTemperature * 0.9) + 1e-9)
        let above = LearnedInformation.fit(outputs: outputs, labels: labels, classes: 3, maxInverseTemperature: fit.inverseTemperature * 1.2)
        #expect(fit.meanNats <= above.meanNats + 1e-9)
        #expect(fit.meanNats < log(3.0))
    }
}
