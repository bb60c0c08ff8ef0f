import Testing
import LandauerCalibration
import LandauerFirmware

/// One sample of a synthetic trace.
private struct Sample {
    var index: Int64
    var raw: Double
    var range: Int
    var lines: UInt8
}

/// A stretch of constant marker lines.
private struct Segment {
    var code: MarkerCode
    var length: Int

    static func low(_ n: Int) -> Segment { Segment(code: MarkerCode(lines: 0), length: n) }
    static func phase(_ p: Phase, epoch: Int, batch: Int, _ n: Int) -> Segment {
        Segment(code: MarkerCode(phase: p, epoch: epoch, batch: batch), length: n)
    }
}

/// Samples for consecutive segments; raw readings are the integers 1, 2, 3… (so every sum, with
/// its halves, is exact) and the range cycles through 0, 1, 2.
private func samples(_ segments: [Segment]) -> [Sample] {
    var out: [Sample] = []
    for s in segments {
        for _ in 0..<s.length {
            let i = out.count
            out.append(Sample(index: Int64(i), raw: Double(i + 1), range: i % 3, lines: s.code.lines))
        }
    }
    return out
}

private func attribute(_ trace: [Sample]) -> MarkerAttribution {
    var a = MarkerAttribution()
    for s in trace { a.add(index: s.index, raw: s.raw, range: s.range, lines: s.lines) }
    a.finish()
    return a
}

/// Sample n occupies [n, n + 1) on the sample clock.
private func overlap(_ s: Sample, _ start: Double, _ end: Double) -> Double {
    max(0, min(end, Double(s.index) + 1) - max(start, Double(s.index)))
}

/// What a window spanning [start, end) must hold, computed from the geometry alone: every sample
/// weighted by its overlap, and a sample cut by the window's boundary recorded as an edge.
private func expectedSums(_ trace: [Sample], start: Double, end: Double) -> RangeSums {
    var s = RangeSums()
    for x in trace {
        let w = overlap(x, start, end)
        guard w > 0 else { continue }
        s.add(x.raw, range: x.range, weight: w)
        if w < 1 { s.addEdge(x.raw, range: x.range) }
    }
    return s
}

/// The trace used by most tests: idle, a run of two epochs of two batches (free, nudged,
/// update; the last batch also reads out), idle, a short second run, idle.
private let script: [Segment] = [
    .low(2),
    .phase(.free, epoch: 0, batch: 0, 3), .phase(.nudged, epoch: 0, batch: 0, 2), .phase(.update, epoch: 0, batch: 0, 1),
    .phase(.free, epoch: 0, batch: 1, 2), .phase(.nudged, epoch: 0, batch: 1, 2), .phase(.update, epoch: 0, batch: 1, 1),
    .phase(.free, epoch: 1, batch: 0, 2), .phase(.nudged, epoch: 1, batch: 0, 2), .phase(.update, epoch: 1, batch: 0, 1),
    .phase(.free, epoch: 1, batch: 1, 2), .phase(.nudged, epoch: 1, batch: 1, 2), .phase(.update, epoch: 1, batch: 1, 1),
    .phase(.readout, epoch: 1, batch: 1, 2),
    .low(2),
    .phase(.free, epoch: 0, batch: 0, 2), .phase(.update, epoch: 0, batch: 0, 2),
    .low(1),
]

/// The windows of `script`, in the order they close: kind, name, start, end.
private let expectedWindows: [(EnergyWindow.Kind, String, Double, Double)] = [
    (.phase, "run 0 / epoch 0 / batch 0 / free", 1.5, 4.5),
    (.phase, "run 0 / epoch 0 / batch 0 / nudged", 4.5, 6.5),
    (.phase, "run 0 / epoch 0 / batch 0 / update", 6.5, 7.5),
    (.batch, "run 0 / epoch 0 / batch 0", 1.5, 7.5),
    (.phase, "run 0 / epoch 0 / batch 1 / free", 7.5, 9.5),
    (.phase, "run 0 / epoch 0 / batch 1 / nudged", 9.5, 11.5),
    (.phase, "run 0 / epoch 0 / batch 1 / update", 11.5, 12.5),
    (.batch, "run 0 / epoch 0 / batch 1", 7.5, 12.5),
    (.epoch, "run 0 / epoch 0", 1.5, 12.5),
    (.phase, "run 0 / epoch 1 / batch 0 / free", 12.5, 14.5),
    (.phase, "run 0 / epoch 1 / batch 0 / nudged", 14.5, 16.5),
    (.phase, "run 0 / epoch 1 / batch 0 / update", 16.5, 17.5),
    (.batch, "run 0 / epoch 1 / batch 0", 12.5, 17.5),
    (.phase, "run 0 / epoch 1 / batch 1 / free", 17.5, 19.5),
    (.phase, "run 0 / epoch 1 / batch 1 / nudged", 19.5, 21.5),
    (.phase, "run 0 / epoch 1 / batch 1 / update", 21.5, 22.5),
    (.phase, "run 0 / epoch 1 / batch 1 / readout", 22.5, 24.5),
    (.batch, "run 0 / epoch 1 / batch 1", 17.5, 24.5),
    (.epoch, "run 0 / epoch 1", 12.5, 24.5),
    (.run, "run 0", 1.5, 24.5),
    (.phase, "run 1 / epoch 0 / batch 0 / free", 26.5, 28.5),
    (.phase, "run 1 / epoch 0 / batch 0 / update", 28.5, 30.5),
    (.batch, "run 1 / epoch 0 / batch 0", 26.5, 30.5),
    (.epoch, "run 1 / epoch 0", 26.5, 30.5),
    (.run, "run 1", 26.5, 30.5),
]

@Suite("Marker codes")
struct MarkerCodeTests {
    @Test func everyLineValueDecodesAndEncodesBackToItself() {
        for v in 0...255 {
            let lines = UInt8(v)
            let code = MarkerCode(lines: lines)
            #expect(code.lines == lines)
            #expect(code.phase.rawValue == lines & 7)
            #expect(code.batchParity == (lines & 0x08 != 0))
            #expect(code.epochParity == (lines & 0x10 != 0))
            #expect(code.running == (lines & 0x20 != 0))
            #expect(code.user == lines >> 6)
        }
        // 256 values, 256 distinct codes.
        #expect(Set((0...255).map { MarkerCode(lines: UInt8($0)) }).count == 256)
    }

    @Test func indicesSetTheParityLines() {
        #expect(MarkerCode(phase: .nudged, epoch: 1, batch: 3).lines == 2 | 0x08 | 0x10 | 0x20)
        #expect(MarkerCode(phase: .update, epoch: 4, batch: 10).lines == 3 | 0x20)
        #expect(MarkerCode(phase: .readout, epoch: 0, batch: 1, running: false).lines == 4 | 0x08)
        // User lines keep two bits.
        #expect(MarkerCode(phase: .other, user: 0xFF).user == 3)
        #expect(MarkerCode(phase: .other, user: 0xFF).lines == 0xE7)
        #expect(Phase.allCases.map(\.description) == ["idle", "free", "nudged", "update", "readout", "program", "measure", "other"])
    }
}

@Suite("Marker attribution")
struct MarkerAttributionTests {
    @Test func windowsHaveTheRightKindsNamesIndicesAndExtents() {
        let trace = samples(script)
        #expect(trace.count == 32)
        let a = attribute(trace)
        #expect(a.windows.count == expectedWindows.count)
        for (w, e) in zip(a.windows, expectedWindows) {
            #expect(w.kind == e.0, "\(w.name)")
            #expect(w.name == e.1)
            #expect(w.start == e.2, "\(w.name)")
            #expect(w.end == e.3, "\(w.name)")
            #expect(w.length == e.3 - e.2)
            #expect(!w.edgeInGap)
        }
        #expect(a.windows(.run).map(\.run) == [0, 1])
        #expect(a.windows(.run).allSatisfy { $0.epoch == -1 && $0.batch == -1 && $0.phase == nil })
        #expect(a.windows(.epoch).map { [$0.run, $0.epoch, $0.batch] } == [[0, 0, -1], [0, 1, -1], [1, 0, -1]])
        #expect(a.windows(.batch).map { [$0.run, $0.epoch, $0.batch] } == [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1], [1, 0, 0]])
        let phases = a.windows(.phase)
        #expect(phases.map(\.phase) == [
            .free, .nudged, .update, .free, .nudged, .update, .free, .nudged, .update, .free, .nudged, .update, .readout, .free, .update,
        ])
        #expect(phases[4].run == 0 && phases[4].epoch == 0 && phases[4].batch == 1)
        #expect(phases[10].name == "run 0 / epoch 1 / batch 1 / nudged")
        #expect(a.windows(.batch).allSatisfy { $0.phase == nil })
    }

    @Test func sumsSplitEdgeSamplesInHalvesAndGiveWholeSamplesToWindowsThatContinue() {
        let trace = samples(script)
        let a = attribute(trace)
        for w in a.windows {
            #expect(w.sums == expectedSums(trace, start: w.start, end: w.end), "\(w.name)")
        }
        // By hand, the nudged phase of epoch 0 batch 0, [4.5, 6.5): half of sample 4 (raw 5, range 1),
        // all of sample 5 (raw 6, range 2), half of sample 6 (raw 7, range 0).
        let nudged = a.windows[1]
        #expect(nudged.sums.counts[0] == 0.5 && nudged.sums.counts[1] == 0.5 && nudged.sums.counts[2] == 1)
        #expect(nudged.sums.sums[0] == 3.5 && nudged.sums.sums[1] == 2.5 && nudged.sums.sums[2] == 6)
        #expect(nudged.sums.varianceWeights[0] == 0.25 && nudged.sums.varianceWeights[2] == 1)
        #expect(nudged.sums.edgeSquares[0] == 49 && nudged.sums.edgeSquares[1] == 25 && nudged.sums.edgeSquares[2] == 0)
        // The run window does not change at a phase edge: sample 4 is all its own, and no edge.
        let run = a.windows(.run)[0]
        #expect(run.sums.counts.reduce(0, +) == 23)
        // Halves of samples 1 and 24 (its own edges), and 22 whole samples.
        #expect(run.sums.varianceWeights.reduce(0, +) == 22.5)
        #expect(run.sums.edgeSquares.reduce(0, +) == 629.0)  // 2² + 25²
        // Every sample is somewhere exactly once: run windows plus outside.
        var all = a.outside
        for w in a.windows(.run) { all = RangeSums.combine(all, w.sums, k: 1) }
        #expect(all.counts.reduce(0, +) == 32)
        #expect(all.sums.reduce(0, +) == Double(32 * 33 / 2))
        // And so at every level of the hierarchy.
        for kind in [EnergyWindow.Kind.epoch, .batch, .phase] {
            var s = a.outside
            for w in a.windows(kind) { s = RangeSums.combine(s, w.sums, k: 1) }
            #expect(s.counts == all.counts && s.sums == all.sums, "\(kind)")
        }
    }

    @Test func samplesWithTheRunLineLowGoOutside() {
        let trace = samples(script)
        let a = attribute(trace)
        // Samples 0, 25, 31 whole; halves of 1, 24, 26, 30 (the run line changed during them).
        var expected = RangeSums()
        for (i, w) in [(0, 1.0), (1, 0.5), (24, 0.5), (25, 1), (26, 0.5), (30, 0.5), (31, 1)] {
            expected.add(trace[i].raw, range: trace[i].range, weight: w)
        }
        #expect(a.outside == expected)
        #expect(a.outside.missing == 0)

        let idle = attribute(samples([.low(5)]))
        #expect(idle.windows.isEmpty)
        #expect(idle.outside.sampleCount == 5 && idle.outside.sums.reduce(0, +) == 15)
    }

    @Test func totalSumsThePhaseWindows() {
        let trace = samples(script)
        let a = attribute(trace)
        var nudged = RangeSums()
        for w in a.windows(.phase) where w.phase == .nudged { nudged = RangeSums.combine(nudged, w.sums, k: 1) }
        #expect(a.total(.nudged) == nudged)
        #expect(a.total(.nudged).sampleCount == 8)
        #expect(a.total(.free).sampleCount == 3 + 2 + 2 + 2 + 2)
        #expect(a.total(.free, epoch: 1).sampleCount == 4)
        #expect(a.total(.free, epoch: 1) == RangeSums.combine(a.windows[9].sums, a.windows[13].sums, k: 1))
        #expect(a.total(.readout) == expectedSums(trace, start: 22.5, end: 24.5))
        #expect(a.total(.program) == RangeSums())
        #expect(a.total(.update, epoch: 5) == RangeSums())
    }

    @Test func aGapInsideAWindowIsMissingFromItAndFromTheWindowsAroundIt() {
        let free = MarkerCode(phase: .free, epoch: 0, batch: 0).lines
        let nudged = MarkerCode(phase: .nudged, epoch: 0, batch: 0).lines
        let indices: [Int64] = [0, 1, 2, 3, 7, 8, 9, 10]  // 4, 5, 6 lost
        let trace = indices.map { i in Sample(index: i, raw: Double(i + 1), range: 0, lines: i < 9 ? free : nudged) }
        let a = attribute(trace)
        #expect(a.windows.map(\.kind) == [.phase, .phase, .batch, .epoch, .run])
        let f = a.windows[0], n = a.windows[1], run = a.windows[4]
        #expect(f.start == 0 && f.end == 8.5 && n.start == 8.5 && n.end == 11)
        #expect(f.sums.missing == 3 && n.sums.missing == 0 && run.sums.missing == 3)
        #expect(f.sums.counts[0] == 5.5 && f.sums.sums[0] == 1 + 2 + 3 + 4 + 8 + 4.5)
        #expect(run.sums.counts[0] == 8 && run.sums.varianceWeights[0] == 8)
        #expect(a.windows.allSatisfy { !$0.edgeInGap })
        #expect(a.outside == RangeSums())
    }

    @Test func aGapAcrossAnEdgeSplitsTheMissingSamplesAndMarksTheEdge() {
        let free = MarkerCode(phase: .free, epoch: 0, batch: 0).lines
        let nudged = MarkerCode(phase: .nudged, epoch: 0, batch: 0).lines
        for lost in [4, 3] {
            let indices: [Int64] = [0, 1, 2, 3, Int64(4 + lost), Int64(5 + lost)]
            let trace = indices.map { i in Sample(index: i, raw: Double(i + 1), range: 1, lines: i < 4 ? free : nudged) }
            let a = attribute(trace)
            let half = Double(lost) / 2
            let f = a.windows[0], n = a.windows[1], batch = a.windows[2], run = a.windows[4]
            #expect(f.phase == .free && n.phase == .nudged)
            #expect(f.end == 4 + half && n.start == 4 + half && n.end == Double(6 + lost))
            #expect(f.sums.missing == half && n.sums.missing == half)
            #expect(f.edgeInGap && n.edgeInGap)
            // The sample before the gap is whole: no edge inside a sample.
            #expect(f.sums.counts[1] == 4 && f.sums.sums[1] == 10 && f.sums.edgeSquares[1] == 0)
            #expect(n.sums.counts[1] == 2 && n.sums.edgeSquares[1] == 0)
            // The windows that continue get the whole gap and no mark.
            #expect(run.sums.missing == Double(lost) && batch.sums.missing == Double(lost))
            #expect(!run.edgeInGap && !batch.edgeInGap)
        }
    }

    @Test func aGapAcrossTheEndOfARunSplitsTheMissingSamplesWithOutside() {
        let running = MarkerCode(phase: .update, epoch: 0, batch: 0).lines
        let indices: [Int64] = [0, 1, 2, 6, 7]  // 3, 4, 5 lost
        let trace = indices.map { i in Sample(index: i, raw: Double(i + 1), range: 0, lines: i < 3 ? running : 0) }
        let a = attribute(trace)
        let run = a.windows(.run)[0]
        #expect(run.end == 4.5 && run.edgeInGap)
        #expect(run.sums.missing == 1.5 && run.sums.counts[0] == 3)
        #expect(a.outside.missing == 1.5 && a.outside.counts[0] == 2 && a.outside.sums[0] == 15)
    }

    @Test func userLinesChangingInsideAPhaseChangeNothing() {
        var trace = samples([.phase(.nudged, epoch: 0, batch: 0, 10)])
        for i in 5..<10 { trace[i].lines |= 0x40 }
        let a = attribute(trace)
        #expect(a.windows.map(\.kind) == [.phase, .batch, .epoch, .run])
        for w in a.windows {
            #expect(w.start == 0 && w.end == 10)
            #expect(w.sums == expectedSums(trace, start: 0, end: 10), "\(w.kind)")
            #expect(w.sums.varianceWeights.reduce(0, +) == 10)
        }
    }

    @Test func consecutiveRunsCountFromZeroAndRestartTheirEpochs() {
        let trace = samples([
            .phase(.free, epoch: 0, batch: 0, 2), .phase(.free, epoch: 1, batch: 0, 2), .low(1),
            .phase(.free, epoch: 0, batch: 0, 2), .low(1), .phase(.measure, epoch: 1, batch: 1, 2),
        ])
        let a = attribute(trace)
        #expect(a.windows(.run).map(\.run) == [0, 1, 2])
        #expect(a.windows(.run).map(\.start) == [0, 4.5, 7.5])
        #expect(a.windows(.run).map(\.end) == [3.5, 6.5, 10])
        #expect(a.windows(.epoch).map { [$0.run, $0.epoch] } == [[0, 0], [0, 1], [1, 0], [2, 0]])
        // A run that starts with odd parities still starts at epoch 0, batch 0.
        #expect(a.windows(.phase).last?.name == "run 2 / epoch 0 / batch 0 / measure")
        for w in a.windows { #expect(w.sums == expectedSums(trace, start: w.start, end: w.end), "\(w.name)") }
    }
}
