import Foundation
import LandauerStore
import Testing

@Suite("The run store")
struct RunStoreTests {
    static func temporary() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
    }

    @Test("a run, its events and epochs are written, read back, and logged as JSON lines")
    func roundTrip() throws {
        let path = Self.temporary()
        let store = try RunStore(path: path)
        let run = RunRecord(name: "digits", kind: .train, toolkitVersion: "0.1.0", gitCommit: "abc123", seed: 7, configuration: #"{"epochs":2}"#,
                            calibrationIds: ["cal-1"])
        try store.begin(run)
        try store.record(RunEvent(runId: run.id, kind: "warning", message: "tile 0 is coarse"))
        try store.record(EpochMetric(runId: run.id, epoch: 0, trainAccuracy: 0.8, trainCost: 0.3, testAccuracy: 0.85, samplesPerSecond: 2000))
        try store.record(EpochMetric(runId: run.id, epoch: 1, trainAccuracy: 0.9, trainCost: 0.2, testAccuracy: 0.93, samplesPerSecond: 2100))
        try store.finish(run.id, status: .completed, exitStatus: 0)
        let again = try RunStore(path: path)
        let back = try again.run(String(run.id.prefix(8)))
        #expect(back.status == .completed && back.exitStatus == 0 && back.endedAt != nil)
        #expect(back.seed == 7 && back.gitCommit == "abc123" && back.calibrationIds == #"["cal-1"]"#)
        #expect(try again.epochs(of: run.id).map(\.testAccuracy) == [0.85, 0.93])
        #expect(try again.events(of: run.id).map(\.message) == ["tile 0 is coarse"])
        #expect(try again.integrityCheck() == "ok")
        let log = try String(contentsOfFile: store.logPath, encoding: .utf8).split(separator: "\n")
        #expect(log.count == 5)  // run, event, 2 epochs, finish
        #expect(log.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
        #expect(throws: RunStoreError.self) { try again.run("zzzz") }
    }

    @Test("a run left running by a process that is gone is marked interrupted when the store is opened")
    func interrupted() throws {
        let path = Self.temporary()
        let store = try RunStore(path: path)
        var run = RunRecord(name: "x", kind: .train, toolkitVersion: "0", gitCommit: nil, seed: nil, configuration: "{}")
        run.processID = 999_999_999  // no such process
        try store.begin(run)
        let live = RunRecord(name: "y", kind: .train, toolkitVersion: "0", gitCommit: nil, seed: nil, configuration: "{}")
        try store.begin(live)
        let reopened = try RunStore(path: path)
        #expect(try reopened.run(run.id).status == .interrupted)
        #expect(try reopened.run(live.id).status == .running)  // this process is alive
    }

    @Test("a file that is not a database is a clear error")
    func notADatabase() throws {
        let path = Self.temporary()
        try Data("definitely not sqlite".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try RunStore(path: path) } throws: { "\($0)".contains("cannot be opened") }
    }
}
