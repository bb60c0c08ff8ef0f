import Foundation
import LandauerCalibration
import LandauerDrivers
import LandauerFirmware

/// The reference loads a user has on the bench, as a JSON file states them:
///
/// ```json
/// {"voltage": 3.3, "voltageRelativeUncertainty": 0.001,
///  "loads": [{"name": "R1", "ohms": 33000, "standardUncertaintyOhms": 6.6}, …]}
/// ```
///
/// `standardUncertaintyOhms` is the certificate's expanded uncertainty divided by its coverage
/// factor. The voltage is the PPK2's source voltage (it drives the loads).
public struct ReferenceLoadFile: Codable, Sendable, Equatable {
    public struct Load: Codable, Sendable, Equatable {
        public var name: String
        public var ohms: Double
        public var standardUncertaintyOhms: Double

        /// A load.
        public init(name: String, ohms: Double, standardUncertaintyOhms: Double) {
            self.name = name
            self.ohms = ohms
            self.standardUncertaintyOhms = standardUncertaintyOhms
        }
    }

    public var voltage: Double
    public var voltageRelativeUncertainty: Double
    public var loads: [Load]

    /// A set of loads (check it with `load(_:)` when it comes from a file).
    public init(voltage: Double, voltageRelativeUncertainty: Double, loads: [Load]) {
        self.voltage = voltage
        self.voltageRelativeUncertainty = voltageRelativeUncertainty
        self.loads = loads
    }

    /// Reads and checks `path`; every problem names the file and the entry.
    public static func load(_ path: String) throws -> ReferenceLoadFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CalibrationError.invalid("loads file \(path): cannot read it (\(error.localizedDescription))")
        }
        let file: ReferenceLoadFile
        do { file = try JSONDecoder().decode(ReferenceLoadFile.self, from: data) } catch {
            throw CalibrationError.invalid("loads file \(path): not the expected JSON ({\"voltage\": V, \"voltageRelativeUncertainty\": u, \"loads\": [{\"name\", \"ohms\", \"standardUncertaintyOhms\"}]}): \(error)")
        }
        try file.validate(path)
        return file
    }

    func validate(_ path: String) throws {
        guard voltage >= 0.8, voltage <= 5 else { throw CalibrationError.invalid("loads file \(path): voltage \(voltage) V is outside the PPK2's 0.8 … 5 V") }
        guard voltageRelativeUncertainty >= 0, voltageRelativeUncertainty < 0.1 else {
            throw CalibrationError.invalid("loads file \(path): voltageRelativeUncertainty \(voltageRelativeUncertainty) must be in [0, 0.1)")
        }
        guard loads.count >= 2 else { throw CalibrationError.invalid("loads file \(path): at least two loads are needed") }
        var names = Set<String>()
        for l in loads {
            guard names.insert(l.name).inserted else { throw CalibrationError.invalid("loads file \(path): load name \(l.name) appears twice") }
            guard l.ohms.isFinite, l.ohms > 0 else { throw CalibrationError.invalid("loads file \(path): load \(l.name) has resistance \(l.ohms) Ω; it must be positive") }
            guard l.standardUncertaintyOhms.isFinite, l.standardUncertaintyOhms >= 0, l.standardUncertaintyOhms < l.ohms else {
                throw CalibrationError.invalid("loads file \(path): load \(l.name) has uncertainty \(l.standardUncertaintyOhms) Ω; it must be in [0, R)")
            }
            guard voltage / l.ohms <= 1 else { throw CalibrationError.invalid("loads file \(path): load \(l.name) would draw \(voltage / l.ohms) A, above the PPK2's 1 A") }
        }
    }

    /// The loads as the calibration uses them.
    public var referenceLoads: [ReferenceLoad] {
        loads.map { ReferenceLoad(name: $0.name, resistance: Ohms($0.ohms), standardUncertainty: Ohms($0.standardUncertaintyOhms)) }
    }
}

/// A real PPK2 with loads a person connects by hand: each `connectLoad` asks (through `ask`) for
/// the load to be connected to VOUT and GND and waits for the answer; `acquire` streams the
/// samples (spike filter off: energy must conserve charge).
public final class PPK2ReferenceMeter: ReferenceLoadMeter, Sendable {
    let session: PPK2Session
    let file: ReferenceLoadFile
    let serial: String?
    let ask: @Sendable (String) async throws -> Void

    /// A meter over `session` (not yet connected) with the loads of `file`.
    public init(session: PPK2Session, loads file: ReferenceLoadFile, serial: String?, ask: @escaping @Sendable (String) async throws -> Void) {
        self.session = session
        self.file = file
        self.serial = serial
        self.ask = ask
    }

    /// The session options a calibration needs: source mode at the loads' voltage, DUT power on, no spike filter.
    public static func options(_ file: ReferenceLoadFile) -> PPK2SessionOptions {
        PPK2SessionOptions(mode: .sourceMeter, supply: Volts(file.voltage), dutPower: true, spikeFilter: false)
    }

    public var identity: InstrumentIdentity {
        get async {
            if let serial { return InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: serial) }
            return InstrumentIdentity(vendor: "Nordic Semiconductor", model: "PPK2", serial: await session.endpoint)
        }
    }

    public var loads: [ReferenceLoad] { file.referenceLoads }
    public var loadVoltage: Volts { Volts(file.voltage) }
    public var loadVoltageRelativeUncertainty: Double { file.voltageRelativeUncertainty }
    public var resolution: [Amperes] { [] }

    public func connectLoad(_ index: Int?) async throws {
        if let index {
            let l = file.loads[index]
            try await ask("Connect \(l.name) (\(Ohms(l.ohms).formatted(significantDigits: 4))) between the PPK2's VOUT and GND, then press Enter.")
        } else {
            try await ask("Disconnect everything from the PPK2's VOUT (open circuit), then press Enter.")
        }
    }

    public func acquire(count: Int) async throws -> MeterSamples {
        var out = MeterSamples()
        try await session.start()
        do {
            while out.count < count, let batch = try await session.next() {
                append(batch, to: &out, limit: count)
            }
        } catch {
            _ = try? await session.stop()
            throw error
        }
        if let last = try await session.stop().last, out.count < count { append(last, to: &out, limit: count) }
        return out
    }

    private func append(_ batch: PPK2Batch, to out: inout MeterSamples, limit: Int) {
        for k in 0..<min(batch.count, limit - out.count) {
            out.indices.append(Int64(batch.streamIndex(ofSample: k)))
            out.raw.append(batch.samples.currents[k].value)
            out.ranges.append(batch.samples.ranges[k])
            out.logic.append(batch.samples.logic[k])
        }
    }
}
