import Testing
import LandauerFirmware
@testable import LandauerSimulators

@Suite("SimulationRandom")
struct SimulationRandomTests {
    @Test("xoshiro256** matches the reference outputs for state (1, 2, 3, 4)")
    func xoshiroReference() {
        var r = SimulationRandom(state: (1, 2, 3, 4))
        #expect(r.next() == 11520)
        #expect(r.next() == 0)
        #expect(r.next() == 1_509_978_240)
        #expect(r.next() == 1_215_971_899_390_074_240)
    }

    @Test("SplitMix64 matches the reference outputs for seed 1234567")
    func splitMixReference() {
        var s = SplitMix64(seed: 1_234_567)
        #expect(s.next() == 6_457_827_717_110_365_317)
        #expect(s.next() == 3_203_168_211_198_807_973)
        #expect(s.next() == 9_817_491_932_198_370_423)
    }

    @Test("the same seed gives bit-identical streams, different seeds differ")
    func determinism() {
        var a = SimulationRandom(seed: 42)
        var b = SimulationRandom(seed: 42)
        var c = SimulationRandom(seed: 43)
        var same = true
        var differs = false
        for _ in 0..<1000 {
            let x = a.next()
            same = same && x == b.next()
            differs = differs || x != c.next()
        }
        #expect(same)
        #expect(differs)
        var ga = SimulationRandom(seed: 7)
        var gb = SimulationRandom(seed: 7)
        for _ in 0..<1001 { #expect(ga.gaussian().bitPattern == gb.gaussian().bitPattern) }
    }

    @Test("child streams are reproducible and independent of each other")
    func childStreams() {
        var a = SimulationRandom(seed: 1, purpose: .readNoise, index: 0)
        var a2 = SimulationRandom(seed: 1, purpose: .readNoise, index: 0)
        var b = SimulationRandom(seed: 1, purpose: .readNoise, index: 1)
        var c = SimulationRandom(seed: 1, purpose: .programmingNoise, index: 0)
        let xa = (0..<8).map { _ in a.next() }
        #expect(xa == (0..<8).map { _ in a2.next() })
        #expect(xa != (0..<8).map { _ in b.next() })
        #expect(xa != (0..<8).map { _ in c.next() })
        #expect(SimulationRandom.deriveSeed(1, [4, 0]) != SimulationRandom.deriveSeed(1, [0, 4]))
    }

    @Test("uniform variates lie in [0, 1) with the right moments")
    func uniformMoments() {
        var r = SimulationRandom(seed: 2024)
        let n = 200_000
        var sum = 0.0
        var sumSq = 0.0
        var lo = 1.0
        var hi = 0.0
        for _ in 0..<n {
            let u = r.uniform()
            sum += u
            sumSq += u * u
            lo = min(lo, u)
            hi = max(hi, u)
        }
        #expect(lo >= 0 && hi < 1)
        let mean = sum / Double(n)
        #expect(abs(mean - 0.5) < 0.005)
        #expect(abs(sumSq / Double(n) - mean * mean - 1.0 / 12) < 0.002)
    }

    @Test("Gaussian variates have mean 0, variance 1 and no skew")
    func gaussianMoments() {
        var r = SimulationRandom(seed: 99)
        let n = 200_000
        var m1 = 0.0
        var m2 = 0.0
        var m3 = 0.0
        var m4 = 0.0
        for _ in 0..<n {
            let g = r.gaussian()
            m1 += g
            m2 += g * g
            m3 += g * g * g
            m4 += g * g * g * g
        }
        m1 /= Double(n)
        m2 /= Double(n)
        m3 /= Double(n)
        m4 /= Double(n)
        #expect(abs(m1) < 0.01)
        #expect(abs(m2 - 1) < 0.015)
        #expect(abs(m3) < 0.03)
        #expect(abs(m4 - 3) < 0.06)
    }
}
