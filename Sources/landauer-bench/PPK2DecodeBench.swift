import ArgumentParser
import Foundation
import LandauerDrivers
import LandauerFirmware
import LandauerSimulators

/// `landauer-bench ppk2-decode`: the host's PPK2 sample decoder on one core, on a large buffer of
/// realistic words made by the virtual PPK2 (sleep currents, bursts, range changes, noise).
struct PPK2Decode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppk2-decode",
        abstract: "PPK2 samples decoded per second (calibration, spike filter, counter checks) on one core.")

    @Option(help: "Samples in the pre-generated buffer.") var samples = 4_000_000
    @Option(help: "Minimum wall time per figure, in seconds.") var seconds = 2.0
    @Option(help: "Seed of the virtual PPK2's noise.") var seed: UInt64 = 1
    @Option(help: "Bytes per read for the split-read figure.") var readSize = 65_536

    func validate() throws {
        guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be a positive number of seconds") }
        guard samples >= 1_000 else { throw ValidationError("--samples must be at least 1000") }
        guard readSize >= 1 else { throw ValidationError("--read-size must be at least 1 byte") }
    }

    func run() async throws {
        // A DUT that sleeps at a few µA, wakes every millisecond for 200 µs at ~8 mA with radio
        // bursts of ~120 mA: all five ranges but the top appear, with range changes every burst.
        var config = VirtualPPK2Config.default
        config.seed = seed
        var ppk = VirtualPPK2(config: config, source: .function { span in
            let us = span.lowerBound.picoseconds / 1_000_000
            let phase = us % 1000
            if phase < 200 { return Amperes(phase % 50 < 10 ? 120e-3 : 8e-3) }
            return Amperes(phase % 250 == 240 ? 0.6 : 4e-6)
        })
        let metadata = try PPK2Metadata(parsing: ppk.receive(try PPK2Command.getMetadata.encoded()))
        _ = ppk.receive(try PPK2Command.deviceRunning(true).encoded() + PPK2Command.averageStart.encoded())
        ppk.logicInputs = 0x01
        let bytes = ppk.samples(count: samples)
        let calibration = PPK2Calibration(metadata: metadata)
        let vdd = Volts(Double(metadata.vdd) / 1000)

        var currents = [Amperes](repeating: .zero, count: samples)
        var logic = [UInt8](repeating: 0, count: samples)
        func figure(_ name: String, spikeFilter: Bool, readSize: Int?) throws {
            var decoder = PPK2Decoder(calibration: calibration, vdd: vdd, spikeFilter: spikeFilter)
            let pass = {
                decoder.reset()
                bytes.withUnsafeBytes { raw in
                    currents.withUnsafeMutableBufferPointer { c in
                        logic.withUnsafeMutableBufferPointer { l in
                            guard let readSize else {
                                _ = decoder.decode(raw, currents: c, logic: l)
                                return
                            }
                            var at = 0
                            var written = 0
                            while at < raw.count {
                                let end = min(at + readSize, raw.count)
                                written += decoder.decode(UnsafeRawBufferPointer(rebasing: raw[at..<end]),
                                                          currents: UnsafeMutableBufferPointer(rebasing: c[written...]),
                                                          logic: UnsafeMutableBufferPointer(rebasing: l[written...]))
                                at = end
                            }
                        }
                    }
                }
            }
            pass()  // warm-up
            let start = ContinuousClock.now
            var n = 0
            var elapsed = 0.0
            repeat {
                pass()
                n += 1
                elapsed = (ContinuousClock.now - start).inSeconds.value
            } while elapsed < seconds
            precondition(decoder.receivedCount == UInt64(samples) && decoder.gaps.isEmpty, "decoder lost samples")
            let f = Figure(
                suite: "ppk2", name: name, value: Double(n * samples) / elapsed, unit: "samples/s", batch: readSize ?? samples * 4,
                iterations: n * samples, seconds: elapsed, board: "none", deviceModel: "ppk2-virtual", seed: seed,
                note: "PPK2 words decoded per second on one core: calibration\(spikeFilter ? ", spike filter" : ", no spike filter"), counter check, logic; batch = bytes per decode call")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(f), as: UTF8.self))
        }
        try figure("ppk2_decode_spike_filter", spikeFilter: true, readSize: nil)
        try figure("ppk2_decode_no_spike_filter", spikeFilter: false, readSize: nil)
        try figure("ppk2_decode_spike_filter_split_reads", spikeFilter: true, readSize: readSize)
        // Keep the output alive so the work cannot be optimised away.
        if currents[samples / 2].value.isNaN { print("{}") }
    }
}
