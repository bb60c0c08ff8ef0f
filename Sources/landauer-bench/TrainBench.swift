import ArgumentParser
import Foundation
import LandauerFirmware
import LandauerKit
import LandauerTraining

/// `landauer-bench train`: EqProp training throughput on the in-process virtual board.
struct TrainBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "EqProp training samples per second: 64-32-10 on the digits, in process, pulsed devices and noise on.")

    @Option(help: "Board connection string.") var board = "sim:?adc-range=0.05"
    @Option(help: "Layer sizes.") var network = "64-32-10"
    @Option(help: "Epochs to time (the first is included: there is no warm-up to speak of).") var epochs = 1
    @Option(help: "Samples per batch.") var batch = 8

    func run() async throws {
        var options = TrainingRun.Options()
        options.board = board
        guard let shape = NetworkShape(parsing: network) else { throw ValidationError("--network must look like 64-32-10") }
        options.network = shape
        options.trainer.epochs = epochs
        options.trainer.batchSize = batch
        let report = try await TrainingRun(options: options).run()
        let session = try BoardConnection.open(board)
        let model = session.virtualBoard?.config.deviceModel.name ?? "hardware"
        let seed = session.virtualBoard?.config.seed ?? 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let seconds = report.epochs.reduce(0.0) { $0 + Double(report.trainSamples) / $1.samplesPerSecond }
        let rate = Double(report.trainSamples * report.epochs.count) / seconds
        let e = options.trainer.eqprop
        let note = "T=\(e.freeSteps) K=\(e.nudgedSteps) \(e.estimator.rawValue) β=\(e.beta); \(report.network) on digits; test accuracy after \(report.epochs.count) epoch(s) \(report.finalTestAccuracy)"
        var f = Figure(
            suite: "train", name: "eqprop_\(report.network)_samples", value: rate, unit: "1/s", batch: batch,
            iterations: report.trainSamples * report.epochs.count, seconds: seconds, board: board, deviceModel: model, seed: seed, note: note)
        print(String(decoding: try encoder.encode(f), as: UTF8.self))
        let reads = report.counters.values.reduce(0) { $0 + $1.vectorReads }
        f.name = "eqprop_vector_reads"
        f.value = Double(reads) / seconds
        f.note = "matrix-vector reads (vectors) per second, all phases"
        print(String(decoding: try encoder.encode(f), as: UTF8.self))
    }
}
