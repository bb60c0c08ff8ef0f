import LandauerFirmware
import Testing
@testable import LandauerSimulators

/// The sample words in `bytes`.
private func words(_ bytes: [UInt8]) -> [PPK2Sample] {
    stride(from: 0, to: bytes.count - 3, by: 4).map { PPK2Sample(bytes: bytes[$0], bytes[$0 + 1], bytes[$0 + 2], bytes[$0 + 3]) }
}

@Suite("VirtualPPK2")
struct VirtualPPK2Tests {
    @Test("GetMetadata answers with the unit's calibration text, VDD, mode and user gains as set")
    func metadata() {
        var ppk = VirtualPPK2()
        #expect(ppk.receive([0x19]) == VirtualPPK2Config.factoryMetadata.text)
        // RegulatorSet 1800 mV, ampere mode, user gain 0.5 on range 3; split across writes.
        #expect(ppk.receive([0x0D, 0x07]).isEmpty)
        #expect(ppk.receive([0x08, 0x11, 0x01, 0x25, 0x03, 0x00]).isEmpty)
        #expect(ppk.receive([0x00, 0x00, 0x3F]).isEmpty)
        #expect(ppk.regulator == Volts(1.8))
        #expect(ppk.powerMode == .ampereMeter)
        #expect(ppk.userGains == [1, 1, 1, 0.5, 1])
        var expected = VirtualPPK2Config.factoryMetadata
        expected.vdd = 1800
        expected.mode = 1
        expected.ug = [1, 1, 1, 0.5, 1]
        #expect(ppk.receive([0x19]) == expected.text)
        #expect(String(decoding: ppk.receive([0x19]), as: UTF8.self).hasSuffix("IA: 56\nEND\n"))
    }

    @Test("out-of-range regulator values and unknown opcodes change nothing")
    func refusals() {
        var ppk = VirtualPPK2()
        _ = ppk.receive([0x0D, 0x03, 0x1F, 0x0D, 0x13, 0x89, 0x42, 0x11, 0x07])
        #expect(ppk.regulatorMillivolts == 3000)
        #expect(ppk.powerMode == .sourceMeter)
        #expect(ppk.unknownByteCount == 1)
    }

    @Test("nothing streams before AverageStart or after AverageStop; Reset returns to power-up")
    func startStop() {
        var ppk = VirtualPPK2(source: .constant(Amperes(1e-3)))
        #expect(ppk.samples(count: 10).isEmpty)
        _ = ppk.receive([0x0C, 0x01, 0x06])
        #expect(ppk.samples(count: 10).count == 40)
        _ = ppk.receive([0x07])
        #expect(ppk.samples(count: 10).isEmpty)
        _ = ppk.receive([0x0D, 0x07, 0x08, 0x06, 0x20])
        #expect(!ppk.isSampling && !ppk.dutPowered && ppk.counter == 0 && ppk.regulatorMillivolts == 3000)
    }

    @Test("the counter advances by one per sample and wraps 63 → 0; dropped blocks still count")
    func counter() {
        var ppk = VirtualPPK2(source: .constant(Amperes(1e-3)))
        _ = ppk.receive([0x0C, 0x01, 0x06])
        let first = words(ppk.samples(count: 130))
        #expect(first.map(\.counter) == (0..<130).map { UInt8($0 % 64) })
        ppk.dropSamples(100)
        let after = words(ppk.samples(count: 110))
        #expect(after.count == 10)
        #expect(after[0].counter == UInt8(230 % 64))
        #expect(ppk.droppedCount == 100 && ppk.measuredCount == 240)
        ppk.dropSamples()
        #expect(words(ppk.samples(count: 512)).isEmpty)
        #expect(ppk.droppedCount == 612)
    }

    @Test("the range follows the current with hysteresis, at thresholds from the shunt resistors")
    func ranges() {
        var ppk = VirtualPPK2(config: .ideal)
        _ = ppk.receive([0x0C, 0x01, 0x06])
        let fs = ppk.fullScaleCurrents.map(\.value)
        // Full scale ≈ 0.72 V / R.
        for (k, r) in VirtualPPK2Config.factoryMetadata.r.enumerated() { #expect(abs(fs[k] * r - 0.72) < 0.01) }
        func range(at current: Double) -> UInt8 {
            ppk.source = .constant(Amperes(current))
            return words(ppk.samples(count: 1))[0].range
        }
        #expect(range(at: 10e-6) == 0)
        #expect(range(at: 0.85 * fs[0]) == 0)
        #expect(range(at: 0.95 * fs[0]) == 1)
        #expect(range(at: 0.8 * fs[0]) == 1)  // hysteresis: stays up
        #expect(range(at: 0.6 * fs[0]) == 0)
        #expect(range(at: 50e-3) == 2)
        #expect(range(at: 0.5) == 3)
        #expect(range(at: 2.0) == 4)
        #expect(range(at: 1e-3) == 1)  // straight down
        #expect(range(at: 0) == 0)
    }

    @Test("DUT power off reads zero current")
    func dutOff() {
        var ppk = VirtualPPK2(config: .ideal, source: .constant(Amperes(5e-3)))
        _ = ppk.receive([0x06])
        let off = words(ppk.samples(count: 3))
        _ = ppk.receive([0x0C, 0x01])
        let on = words(ppk.samples(count: 3))
        #expect(off.allSatisfy { $0.range == 0 && $0.adc < 20 })
        #expect(on.allSatisfy { $0.range == 1 })
    }

    @Test("a function source sees consecutive 10 µs intervals")
    func functionSource() {
        var ppk = VirtualPPK2(config: .ideal, source: .function { span in
            Amperes(Double(span.lowerBound.picoseconds) * 1e-12)  // 1 A per second of time: 10 µA per sample
        })
        ppk.logicInputs = 0x5A
        _ = ppk.receive([0x0C, 0x01, 0x06])
        let w = words(ppk.samples(count: 40))
        #expect(ppk.sampleTime == VirtualTime(nanoseconds: 400_000))
        #expect(w.allSatisfy { $0.logic == 0x5A })
        #expect(w[39].adc > w[20].adc && w[20].adc > w[1].adc)
    }

    @Test("logic inputs follow the board's marker lines at each sample's start")
    func markers() {
        let board = VirtualBoard()
        var ppk = VirtualPPK2()
        _ = ppk.receive([0x0C, 0x01, 0x06])
        var changes: [(UInt64, UInt8)] = []  // (time in ps, value)
        for (k, value) in [UInt8(1), 3, 0x80, 0, 0xFF, 0x10].enumerated() {
            board.advance(by: Seconds(Double(37 + 13 * k) * 1e-6))
            board.withFrontEnd { $0.setMarkers(value) }
            changes.append((board.now.picoseconds, value))
        }
        board.advance(by: Seconds(100e-6))
        let samples = words(ppk.samples(from: board))
        #expect(samples.count == Int(board.now.picoseconds / 10_000_000))
        for (n, s) in samples.enumerated() {
            let start = UInt64(n) * 10_000_000
            let expected = changes.last { $0.0 <= start }?.1 ?? 0
            #expect(s.logic == expected, "sample \(n)")
        }
        #expect(Set(samples.map(\.logic)) == [0, 1, 3, 0x80, 0xFF, 0x10])
    }

    @Test("board bins drained while not sampling are discarded; sampling starts at the next bin")
    func boardStart() {
        let board = VirtualBoard()
        var ppk = VirtualPPK2()
        board.advance(by: Seconds(55e-6))
        #expect(ppk.samples(from: board).isEmpty)
        _ = ppk.receive([0x0C, 0x01, 0x06])
        board.advance(by: Seconds(100e-6))
        let n = ppk.samples(from: board).count / 4
        #expect(n == 10)
        #expect(ppk.sampleTime.picoseconds == 155_000_000)
    }

    @Test("noise is seeded: the same seed gives the same bytes, another seed other bytes")
    func seeded() {
        func run(_ seed: UInt64) -> [UInt8] {
            var c = VirtualPPK2Config.default
            c.seed = seed
            var ppk = VirtualPPK2(config: c, source: .constant(Amperes(2e-3)))
            _ = ppk.receive([0x0C, 0x01, 0x06])
            return ppk.samples(count: 500)
        }
        #expect(run(3) == run(3))
        #expect(run(3) != run(4))
        // Noise of 1.5 counts shows as a spread of ADC values at a constant current.
        #expect(Set(words(run(3)).map(\.adc)).count > 4)
    }

    @Test("the regulator should match the board's supply in source mode")
    func regulatorMatch() {
        let board = VirtualBoard()  // 3.3 V supply
        var ppk = VirtualPPK2()
        #expect(ppk.regulatorMatchesBoard)
        board.advance(by: Seconds(20e-6))
        _ = ppk.samples(from: board)
        #expect(ppk.boardSupplyVoltage == Volts(3.3))
        #expect(!ppk.regulatorMatchesBoard)  // 3000 mV at power-up
        _ = ppk.receive([0x0D, 0x0C, 0xE4])  // 3300 mV
        #expect(ppk.regulatorMatchesBoard)
        _ = ppk.receive([0x0D, 0x0B, 0xB8, 0x11, 0x01])  // 3000 mV, ampere meter: no claim
        #expect(ppk.regulatorMatchesBoard)
    }
}
