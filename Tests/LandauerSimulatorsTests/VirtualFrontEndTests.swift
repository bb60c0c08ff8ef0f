import LandauerFirmware
import Testing
@testable import LandauerSimulators

/// A deterministic pattern of conductances in the window, different on each side.
func fillPattern(_ fe: inout VirtualFrontEnd, tile: Int, salt: Int = 0) {
    let rows = fe.tiles[tile].rows
    let columns = fe.tiles[tile].columns
    for i in 0..<rows {
        for j in 0..<columns {
            fe.tiles[tile].setConductance(Siemens(Double(1 + (i * 7 + j * 3 + salt) % 20) * 1e-6), row: i, column: j, side: .plus)
            fe.tiles[tile].setConductance(Siemens(Double(1 + (i * 5 + j * 11 + salt) % 20) * 1e-6), row: i, column: j, side: .minus)
        }
    }
}

extension VirtualFrontEnd {
    /// One matrix-vector read through the AFE protocol.
    mutating func read(tile: Int, _ orientation: ReadOrientation, codes: [Int16], fullScale: Volts) -> (codes: [Int16], saturated: UInt32) {
        let n = orientation == .forward ? tiles[tile].columns : tiles[tile].rows
        var out = [Int16](repeating: 0, count: n)
        codes.withUnsafeBufferPointer { driveInputs(tile: tile, orientation: orientation, codes: $0, fullScale: fullScale) }
        let sat = out.withUnsafeMutableBufferPointer { convertOutputs(tile: tile, orientation: orientation, into: $0) }
        return (out, sat)
    }

    /// One parallel-update slot through the AFE protocol.
    mutating func slot(tile: Int, side: DeviceSide, rows: [Int8], columns: [Int8], amplitude: Volts, width: UInt32) -> UInt32 {
        rows.withUnsafeBufferPointer { r in
            columns.withUnsafeBufferPointer { c in
                pulseSlot(tile: tile, side: side, rowDrive: r, columnDrive: c, amplitude: amplitude, widthNanoseconds: width, compliance: Amperes(100e-6))
            }
        }
    }
}

@Suite("VirtualFrontEnd")
struct VirtualFrontEndTests {
    @Test("hardware description follows the configuration")
    func description() {
        let fe = VirtualFrontEnd(config: .default)
        let hw = fe.hardware
        #expect(hw.serial == Array("LDR-SIM-0001".utf8))
        #expect(hw.clockHertz == 150_000_000)
        #expect(hw.tiles.map(\.rows) == [64, 32] && hw.tiles.map(\.columns) == [32, 10])
        #expect(abs(hw.tiles[0].outputFullScale.value - 64 * 20e-6 * 0.5) < 1e-15)
        #expect(abs(hw.deviceReadFullScale.value - 20e-6 * 0.5) < 1e-18)
        #expect(hw.absoluteLimits == VirtualBoardConfig.referenceLimits)
        #expect(hw.adcMaxCode == 255 && hw.dacMaxCode == 63)
        #expect(VirtualBoardConfig.default.problems().isEmpty && VirtualBoardConfig.ideal.problems().isEmpty)
        #expect(VirtualBoardConfig.default.effectiveReadBandwidth.value == 1e6)
    }

    @Test("ideal devices without noise: forward and transposed reads equal the matrix product within ½ LSB",
          arguments: [ReadOrientation.forward, .transposed])
    func exactProduct(orientation: ReadOrientation) {
        var config = VirtualBoardConfig.ideal
        config.adcBits = 12
        var fe = VirtualFrontEnd(config: config)
        for t in 0..<2 { fillPattern(&fe, tile: t, salt: t) }
        var r = SimulationRandom(seed: 5)
        for t in 0..<2 {
            let tile = fe.tiles[t]
            let nIn = orientation == .forward ? tile.rows : tile.columns
            let fullScale = Volts(0.3)
            let maxCode = Int(fe.hardware.dacMaxCode)
            let lsb = fe.hardware.tiles[t].outputFullScale.value / Double(fe.hardware.adcMaxCode)
            for _ in 0..<20 {
                let codes = (0..<nIn).map { _ in Int16(Int(r.next() % UInt64(2 * maxCode + 1)) - maxCode) }
                let (out, saturated) = fe.read(tile: t, orientation, codes: codes, fullScale: fullScale)
                #expect(saturated == 0)
                let volts = codes.map { Volts(Double($0) / Double(maxCode) * fullScale.value) }
                let truth = tile.idealOutputCurrents(inputs: volts, orientation: orientation)
                for k in 0..<out.count {
                    #expect(abs(Double(out[k]) * lsb - truth[k].value) <= 0.5 * lsb * (1 + 1e-9))
                }
            }
        }
    }

    @Test("outputs beyond full scale clip to the largest code and are counted")
    func clipping() {
        var config = VirtualBoardConfig.ideal
        config.tiles = [TileConfig(rows: 4, columns: 2, outputFullScale: Amperes(1e-6))]
        var fe = VirtualFrontEnd(config: config)
        for i in 0..<4 {
            fe.tiles[0].setConductance(Siemens(20e-6), row: i, column: 0, side: .plus)
            fe.tiles[0].setConductance(Siemens(1e-6), row: i, column: 0, side: .minus)
            fe.tiles[0].setConductance(Siemens(5e-6), row: i, column: 1, side: .plus)
            fe.tiles[0].setConductance(Siemens(5e-6), row: i, column: 1, side: .minus)
        }
        let (out, sat) = fe.read(tile: 0, .forward, codes: [63, 63, 63, 63], fullScale: Volts(0.5))
        #expect(out == [255, 0])
        #expect(sat == 1)
        let (neg, satNeg) = fe.read(tile: 0, .forward, codes: [-63, -63, -63, -63], fullScale: Volts(0.5))
        #expect(neg == [-255, 0] && satNeg == 1)
    }

    /// A board with only thermal noise, a fine 16-bit ADC and small full scales so the LSB is
    /// far below the noise.
    func thermalOnlyConfig() -> VirtualBoardConfig {
        var c = VirtualBoardConfig.ideal
        c.thermalNoise = true
        c.adcBits = 16
        c.tiles = [TileConfig(rows: 64, columns: 32, outputFullScale: Amperes(1e-7))]
        c.deviceReadFullScale = Amperes(2e-8)
        return c
    }

    @Test("the variance of repeated output reads matches 4·k_B·T·Δf·ΣG")
    func thermalNoiseOutputs() {
        var fe = VirtualFrontEnd(config: thermalOnlyConfig())
        fillPattern(&fe, tile: 0)
        let lsb = 1e-7 / 32767
        let zeros = [Int16](repeating: 0, count: 64)
        let n = 3000
        var sum = [Double](repeating: 0, count: 32)
        var sumSq = [Double](repeating: 0, count: 32)
        for _ in 0..<n {
            let (out, _) = fe.read(tile: 0, .forward, codes: zeros, fullScale: Volts(0.2))
            for j in 0..<32 {
                let i = Double(out[j]) * lsb
                sum[j] += i
                sumSq[j] += i * i
            }
        }
        let density = 4 * PhysicalConstants.boltzmann.value * 300 * 1e6  // Δf = 1/(2·500 ns)
        var pooled = 0.0
        for j in 0..<32 {
            var load = 0.0
            for i in 0..<64 {
                load += fe.tiles[0].conductance(row: i, column: j, side: .plus).value + fe.tiles[0].conductance(row: i, column: j, side: .minus).value
            }
            let expected = density * load
            let mean = sum[j] / Double(n)
            let variance = (sumSq[j] - Double(n) * mean * mean) / Double(n - 1)
            #expect(abs(variance / expected - 1) < 0.1)
            pooled += variance / expected
        }
        #expect(abs(pooled / 32 - 1) < 0.03)
    }

    @Test("the variance of repeated single-device reads matches 4·k_B·T·Δf·ΣG of the sensed column")
    func thermalNoiseDevice() {
        var config = thermalOnlyConfig()
        config.temperature = Kelvin(350)
        var fe = VirtualFrontEnd(config: config)
        fillPattern(&fe, tile: 0)
        let lsb = 2e-8 / 32767
        let n = 20_000
        var sum = 0.0
        var sumSq = 0.0
        let v = Volts(1e-3)
        for _ in 0..<n {
            let i = Double(fe.readDevice(tile: 0, row: 3, column: 7, side: .minus, voltage: v)) * lsb
            sum += i
            sumSq += i * i
        }
        var load = 0.0
        for i in 0..<64 { load += fe.tiles[0].conductance(row: i, column: 7, side: .minus).value }
        let expected = 4 * PhysicalConstants.boltzmann.value * 350 * 1e6 * load
        let mean = sum / Double(n)
        let variance = (sumSq - Double(n) * mean * mean) / Double(n - 1)
        #expect(abs(variance / expected - 1) < 0.05)
        let g = fe.tiles[0].conductance(row: 3, column: 7, side: .minus).value
        #expect(abs(mean - 1e-3 * g) < 0.05 * (expected.squareRoot()))
    }

    @Test("extra read noise adds σ = fraction × full scale")
    func extraNoise() {
        var config = VirtualBoardConfig.ideal
        config.readNoiseFraction = 0.01
        config.adcBits = 16
        config.tiles = [TileConfig(rows: 8, columns: 8, outputFullScale: Amperes(1e-6))]
        var fe = VirtualFrontEnd(config: config)
        let zeros = [Int16](repeating: 0, count: 8)
        var sumSq = 0.0
        let n = 2000
        for _ in 0..<n {
            let (out, _) = fe.read(tile: 0, .transposed, codes: zeros, fullScale: Volts(0.2))
            for c in out { sumSq += (Double(c) * 1e-6 / 32767) * (Double(c) * 1e-6 / 32767) }
        }
        let sigma = (sumSq / Double(n * 8)).squareRoot()
        #expect(abs(sigma / 1e-8 - 1) < 0.05)
    }

    /// Pulses, a slot and reads on the reference board (device variation and noise on).
    func script(seed: UInt64) -> (plus: [Siemens], minus: [Siemens], codes: [Int16]) {
        var config = VirtualBoardConfig.default
        config.seed = seed
        var fe = VirtualFrontEnd(config: config)
        for k in 0..<40 {
            fe.pulse(tile: 0, row: k % 64, column: k % 32, side: k % 3 == 0 ? .minus : .plus, polarity: k % 2 == 0 ? 1 : -1, amplitude: Volts(1.5), widthNanoseconds: 100, compliance: Amperes(100e-6))
        }
        let rows = (0..<64).map { Int8($0 % 3 - 1) }
        let cols = (0..<32).map { Int8(($0 + 1) % 3 - 1) }
        _ = fe.slot(tile: 0, side: .plus, rows: rows, columns: cols, amplitude: Volts(1.5), width: 100)
        var codes: [Int16] = []
        for v in 0..<5 {
            codes += fe.read(tile: 0, .forward, codes: (0..<64).map { Int16(($0 * 7 + v) % 127 - 63) }, fullScale: Volts(0.2)).codes
        }
        codes.append(fe.readDevice(tile: 1, row: 2, column: 3, side: .plus, voltage: Volts(0.2)))
        return (fe.tiles[0].conductances(side: .plus), fe.tiles[0].conductances(side: .minus), codes)
    }

    @Test("the same seed gives bit-identical conductances and codes; another seed differs")
    func seeds() {
        let a = script(seed: 1)
        let b = script(seed: 1)
        let c = script(seed: 2)
        #expect(a.plus.map(\.value.bitPattern) == b.plus.map(\.value.bitPattern))
        #expect(a.minus.map(\.value.bitPattern) == b.minus.map(\.value.bitPattern))
        #expect(a.codes == b.codes)
        #expect(a.plus != c.plus)
        #expect(a.codes != c.codes)
    }

    @Test("the temperature sensor quantises to 1/16 K")
    func temperatureSensor() {
        var fe = VirtualFrontEnd(config: .ideal)
        fe.temperature = Kelvin(300.03)
        #expect(fe.readTemperature().value == 300.0)
        fe.temperature = Kelvin(300.04)
        #expect(fe.readTemperature().value == 300.0625)
        var noisy = VirtualFrontEnd(config: .default)
        var sum = 0.0
        for _ in 0..<400 {
            let t = noisy.readTemperature().value
            #expect((t * 16).rounded() == t * 16)
            sum += t
        }
        #expect(abs(sum / 400 - 300) < 0.01)
    }

    @Test("marker changes are recorded with their virtual time and the energy drawn until then")
    func markers() {
        var fe = VirtualFrontEnd(config: .ideal)
        fe.sleep(nanoseconds: 1000)
        fe.setMarkers(1)
        fe.run(cycles: 150)
        fe.setMarkers(1)
        fe.setMarkers(0x83)
        #expect(fe.markerHistory.map(\.time) == [VirtualTime(nanoseconds: 1000), VirtualTime(nanoseconds: 2000)])
        #expect(fe.markerHistory.map(\.value) == [1, 0x83])
        // Each change carries the ground-truth energy drawn up to it: idle, then 150 active cycles.
        let idle = (fe.config.mcuSleepPower + fe.config.quiescentPower) * Seconds(1e-6)
        let active = (fe.config.mcuActivePower + fe.config.quiescentPower) * Seconds(1e-6)
        #expect(abs(fe.markerHistory[0].energy.value - idle.value) < 1e-21)
        #expect(abs(fe.markerHistory[1].energy.value - (idle + active).value) < 1e-21)
        #expect(fe.markers(at: VirtualTime(nanoseconds: 1500)) == 1)
        #expect(fe.markers(at: VirtualTime(nanoseconds: 999)) == 0)
        var narrow = VirtualBoardConfig.ideal
        narrow.markerLines = 2
        var fe2 = VirtualFrontEnd(config: narrow)
        fe2.setMarkers(0xFF)
        #expect(fe2.markers == 3)
    }
}
