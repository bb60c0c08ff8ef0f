import Foundation
import Testing
import LandauerCalibration
import LandauerFirmware

/// |a − b| / |b| ≤ tolerance.
private func close(_ a: Double, _ b: Double, relative tolerance: Double = 1e-12) -> Bool {
    abs(a - b) <= tolerance * abs(b)
}

@Suite("Entropies")
struct EntropyBitsTests {
    @Test func binaryEntropyKnownValues() {
        #expect(Entropy.binaryBits(0.5) == 1)
        #expect(Entropy.binaryBits(0) == 0)
        #expect(Entropy.binaryBits(1) == 0)
        #expect(close(Entropy.binaryNats(0.5), 0.693_147_180_559_945_3))
        // H₂(0.11) ≈ ½ bit, the textbook example; value from an independent computation.
        #expect(close(Entropy.binaryBits(0.11), 0.499_915_958_164_528, relative: 1e-12))
        #expect(close(Entropy.binaryBits(0.3), Entropy.binaryBits(0.7)))
    }

    @Test func tenBalancedClassesHaveLog2Of10BitsPerSample() {
        let bits = Entropy.labelBits(classCounts: Array(repeating: 179, count: 10))
        #expect(close(bits, 3.321_928_094_887_362))
        #expect(close(Entropy.labelNats(classCounts: [5, 5]), 0.693_147_180_559_945_3))
        // Empty classes contribute nothing.
        #expect(close(Entropy.labelBits(classCounts: [7, 0, 7, 0]), 1))
    }

    @Test func digitsLabelsAreSlightlyBelowBalanced() {
        let counts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        let bits = Entropy.labelBits(classCounts: counts)
        #expect(bits < 3.321_928_094_887_362)
        #expect(close(bits, 3.321_775_354, relative: 1e-9))
    }
}

@Suite("Named bit counts")
struct BitCountTests {
    @Test func definitionsAreNamedAndDistinct() {
        let all = BitDefinition.allCases
        #expect(all.count == 4)
        #expect(Set(all.map(\.name)).count == 4)
        #expect(Set(all.map(\.definition)).count == 4)
        for d in all {
            #expect(d.name.contains("bits"))
            #expect(d.definition.count > 200, "\(d) needs a paragraph, not a label")
        }
        #expect(BitDefinition.erased.definition.contains("k_B·T·ln 2"))
        #expect(BitDefinition.learned.definition.contains("I(D; θ)"))
    }

    @Test func halfActiveNeuronsEraseOneBitEachPerCycle() {
        let b = BitCount.erasedByNeuronResets(neurons: 100, activatedPerCycle: 50, cycles: 3)
        #expect(b.definition == .erased)
        #expect(close(b.bits, 300))
        #expect(b.standardUncertainty == 0)
        #expect(b.assumptions.contains { $0.contains("taken as exact") })
    }

    @Test func erasedBitsOfTheWorkedExampleLayer() {
        // ν = 42, ν_a = 6.3 (p = 0.15), 24 steps × 5391 samples; reference from an independent computation.
        let b = BitCount.erasedByNeuronResets(
            neurons: 42, activatedPerCycle: 6.3, cycles: 24 * 5391, activatedPerCycleUncertainty: 0.2)
        #expect(close(b.bits, 3_313_950.275, relative: 1e-9))
        #expect(close(b.standardUncertainty, 64_756.700_81, relative: 1e-9))
        #expect(b.assumptions.contains { $0.contains("uncertainty of ν_a") })
    }

    @Test func noActivityErasesNothing() {
        #expect(BitCount.erasedByNeuronResets(neurons: 10, activatedPerCycle: 0, cycles: 1000).bits == 0)
        #expect(BitCount.sparseResetBitsPerCycle(neurons: 10, activatedPerCycle: 0) == 0)
    }

    @Test("the p ≪ 1 approximation approaches the exact entropy as p → 0", arguments: [
        (0.05, 7e-3), (0.01, 1e-3), (0.001, 7e-5), (0.0001, 6e-6),
    ])
    func sparseApproximationConverges(p: Double, tolerance: Double) {
        let neurons = 1_000_000
        let active = p * Double(neurons)
        let exact = BitCount.resetBitsPerCycle(neurons: neurons, activatedPerCycle: active)
        let approx = BitCount.sparseResetBitsPerCycle(neurons: neurons, activatedPerCycle: active)
        #expect(approx >= exact, "the approximation never falls below the exact entropy")
        #expect((approx - exact) / exact < tolerance)
    }

    @Test func sparseApproximationIsWrongAtHalfActivity() {
        let exact = BitCount.resetBitsPerCycle(neurons: 64, activatedPerCycle: 32)
        let approx = BitCount.sparseResetBitsPerCycle(neurons: 64, activatedPerCycle: 32)
        #expect(close(exact, 64))
        // ν_a·(1 + ln 2)/ln 2 = 32·2.4427 = 78.17 bits against 64: 22 % too high.
        #expect(close(approx, 64 * 1.221_347_520_444_482))
        #expect((approx - exact) / exact > 0.2)
    }

    @Test func writtenBitsAreLog2OfTheLevels() {
        let pulses = BitCount.writtenByUpdates(1000, levelsPerUpdate: 4)
        #expect(pulses.definition == .written)
        #expect(pulses.bits == 2000)
        #expect(BitCount.writtenByUpdates(1000, levelsPerUpdate: 1).bits == 0)
        #expect(close(BitCount.writtenByUpdates(2, levelsPerUpdate: 3).bits, 3.169_925_001_442_312))
        let devices = BitCount.writtenToDevices(2410, conductanceStates: 32)
        #expect(devices.bits == 12_050)
        #expect(devices.assumptions.contains { $0.contains("upper bound") })
    }

    @Test func learnedBitsFromLabelEntropyAndLoss() {
        // 10 balanced classes of 100, CE = 0.5 nats: 1000·(ln 10 − 0.5)/ln 2 = 2600.58 bits.
        let b = BitCount.learned(
            classCounts: Array(repeating: 100, count: 10), meanCrossEntropyNats: 0.5, crossEntropyStandardError: 0.01)
        #expect(b.definition == .learned)
        #expect(close(b.bits, 2_600.580_574_442_881, relative: 1e-12))
        #expect(close(b.standardUncertainty, 1000 * 0.01 / 0.693_147_180_559_945_3))
        #expect(!b.assumptions.contains { $0.contains("clamped") })
        #expect(b.assumptions.contains { $0.contains("I(D; θ)") && $0.contains("cannot be measured directly") })
        #expect(b.assumptions.contains { $0.contains("upper bound only if") })
    }

    @Test func learnedBitsClampAtZeroWhenTheLossExceedsTheLabelEntropy() {
        let b = BitCount.learned(classCounts: Array(repeating: 100, count: 10), meanCrossEntropyNats: 3.0)
        #expect(b.bits == 0)
        #expect(b.assumptions.contains { $0.contains("clamped at 0") })
        #expect(b.assumptions.contains { $0.contains("understates") })
        // Just below the label entropy the count is small but not clamped.
        let barely = BitCount.learned(classCounts: Array(repeating: 100, count: 10), meanCrossEntropyNats: 2.3)
        #expect(barely.bits > 0 && barely.bits < 5)
    }

    @Test func learnedBitsFromPerSampleLosses() {
        let losses = [0.1, 0.3, 0.2, 0.6]
        let b = BitCount.learned(classCounts: [2, 2], perSampleCrossEntropyNats: losses)
        // mean 0.3 nats, standard error 0.108012 nats; H(Y) = ln 2.
        let expected = BitCount.learned(
            classCounts: [2, 2], meanCrossEntropyNats: 0.3, crossEntropyStandardError: 0.108_012_344_973_464_33)
        #expect(close(b.bits, expected.bits, relative: 1e-12))
        #expect(close(b.standardUncertainty, expected.standardUncertainty, relative: 1e-12))
        #expect(close(b.bits, 4 * (0.693_147_180_559_945_3 - 0.3) / 0.693_147_180_559_945_3))
    }

    @Test func countsKeepTheirDefinitionAndAssumptionsThroughJSON() throws {
        let b = BitCount.erasedByNeuronResets(neurons: 42, activatedPerCycle: 6.3, cycles: 10)
        #expect(b.assumptions.contains { $0.contains("p = ν_a/ν = 0.1500") })
        let json = try JSONEncoder().encode(b)
        #expect(String(decoding: json, as: UTF8.self).contains("\"definition\":\"erased\""))
        #expect(try JSONDecoder().decode(BitCount.self, from: json) == b)
    }

    @Test func readoutBitsAreSamplesTimesLog2Classes() {
        let b = BitCount.readout(samples: 1797, classes: 10)
        #expect(b.definition == .readout)
        #expect(close(b.bits, 5_969.504_787, relative: 1e-9))
        #expect(BitCount.readout(samples: 8, classes: 2).bits == 8)
    }
}

@Suite("Thermodynamic bounds and baselines")
struct EnergyBoundTests {
    let room = Kelvin(300)

    @Test func landauerAt300KelvinIs2Point871Zeptojoules() {
        let b = EnergyBound.landauer(at: room)
        #expect((b.energy.value * 1e24).rounded() == 2871)
        #expect(b.kind == .lowerBound)
        #expect(b.temperature == room)
        #expect(b.formula == "k_B·T·ln 2")
    }

    @Test func landauerTimesBitsNamesTheBitsAndCarriesTheirUncertainty() {
        let bits = BitCount(.learned, bits: 1000, standardUncertainty: 10, assumptions: ["test"])
        let b = EnergyBound.landauer(for: bits, at: room)
        #expect(close(b.energy.value, 1000 * 2.870_978_885e-21, relative: 1e-9))
        #expect(close(b.standardUncertainty.value, 10 * 2.870_978_885e-21, relative: 1e-9))
        #expect(b.kind == .hypothesis)
        #expect(b.name.contains("bits learned"))
        let erased = BitCount.erasedByNeuronResets(neurons: 2, activatedPerCycle: 1, cycles: 1)
        #expect(EnergyBound.landauer(for: erased, at: room).kind == .lowerBound)
    }

    @Test func inferenceAtHalfActivityIsNuLandauerBounds() {
        let b = EnergyBound.dynamicAnalogInference(neurons: 64, activatedPerCycle: 32, cycles: 1, at: room)
        #expect(close(b.energy.value, 64 * room.landauerBound.value))
        #expect(close(b.energy.value, 64 * 1.380649e-23 * 300 * 0.693_147_180_559_945_3))
        #expect(b.kind == .lowerBound)
    }

    @Test func inferenceBoundIsLandauerTimesTheErasedBits() {
        let bound = EnergyBound.dynamicAnalogInference(neurons: 42, activatedPerCycle: 6.3, cycles: 1000, at: room)
        let bits = BitCount.erasedByNeuronResets(neurons: 42, activatedPerCycle: 6.3, cycles: 1000)
        #expect(close(bound.energy.value, EnergyBound.landauer(for: bits, at: room).energy.value))
        // Below p = ½ each neuron costs less than k_B·T·ln 2.
        #expect(bound.energy < room.landauerBound * 42_000)
    }

    @Test func quasiStaticInferenceIsZeroAndHasNoRatio() {
        let b = EnergyBound.quasiStaticAnalogInference(at: room)
        #expect(b.energy == .zero)
        #expect(b.ratio(of: Joules(1e-9)) == nil)
        #expect(b.formula.contains("no thermodynamic minimum"))
    }

    @Test func quasiStaticTrainingForTheDigitsNetwork() {
        // 2 × 2378 × 1797 = 8 546 532; × k_B·300 K = 4.141947e-21 J → 3.5399282577804e-14 J (by hand).
        let b = EnergyBound.quasiStaticAnalogTraining(parameters: 2378, samplesSeen: 1797, at: room)
        #expect(close(b.energy.value, 3.539_928_257_780_4e-14, relative: 1e-12))
        #expect(b.kind == .approximateLowerBound)
        #expect(b.formula == "2·N·D·k_B·T (N = 2378, D = 1797)")
        let noisy = EnergyBound.quasiStaticAnalogTraining(
            parameters: 2378, samplesSeen: 1797, gradientSignalToNoise: 0.5, at: room)
        #expect(close(noisy.energy.value, 1.769_964_128_890_2e-14, relative: 1e-12))
    }

    @Test func digitalBaselines() {
        // 10² × 2378 × 1797 × 4.141947e-21 J = 1.7699641288902e-12 J.
        let limit = EnergyBound.digitalTrainingAtLandauerLimit(activeParameters: 2378, samplesSeen: 1797, at: room)
        #expect(close(limit.energy.value, 1.769_964_128_890_2e-12, relative: 1e-12))
        #expect(limit.temperature == room)
        // 6 × 2378 × 1797 = 25 639 596 FLOPs × 5e-13 J = 1.2819798e-5 J.
        let today = EnergyBound.digitalHardwareToday(parameters: 2378, samplesSeen: 1797)
        #expect(close(today.energy.value, 1.281_979_8e-5, relative: 1e-12))
        #expect(today.kind == .baseline)
        #expect(today.temperature == nil)
        let cheaper = EnergyBound.digitalHardwareToday(parameters: 2378, samplesSeen: 1797, energyPerFLOP: Joules(1e-14))
        #expect(close(cheaper.energy.value, 2.563_959_6e-7, relative: 1e-12))
    }

    @Test func ratioIsMeasuredOverBound() {
        let b = EnergyBound.quasiStaticAnalogTraining(parameters: 1000, samplesSeen: 1000, at: room)
        let r = b.ratio(of: Joules(8.283_894e-9))  // 2·10⁶·k_B·300 K = 8.283894e-15 J
        #expect(r.map { close($0, 1e6, relative: 1e-9) } == true)
    }

    @Test func energyPerBitAgainstLandauer() {
        let bits = BitCount(.erased, bits: 100, standardUncertainty: 4, assumptions: ["test"])
        let e = EnergyPerBit(energy: room.landauerBound * 100_000, energyUncertainty: room.landauerBound * 3_000, bits: bits, at: room)
        #expect(e.landauerRatio.map { close($0, 1000) } == true)
        #expect(e.joulesPerBit.map { close($0.value, 2.870_978_885e-18, relative: 1e-9) } == true)
        // 3 % and 4 % in quadrature: 5 %.
        #expect(e.relativeStandardUncertainty.map { close($0, 0.05) } == true)
        #expect(e.standardUncertainty.map { close($0.value, 0.05 * 2.870_978_885e-18, relative: 1e-9) } == true)

        let nothing = BitCount.learned(classCounts: [1, 1], meanCrossEntropyNats: 1)
        let none = EnergyPerBit(energy: Joules(1), energyUncertainty: .zero, bits: nothing, at: room)
        #expect(none.joulesPerBit == nil)
        #expect(none.landauerRatio == nil)
    }
}
