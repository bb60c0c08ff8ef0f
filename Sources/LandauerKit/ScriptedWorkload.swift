import LandauerCalibration
import LandauerDrivers
import LandauerFirmware

/// A fixed, seeded workload with the shape of EqProp training — epochs of batches, each batch a
/// free phase (forward reads), a nudged phase (transposed reads), an update (programming pulses)
/// and a readout (forward reads) — marked on the board's marker lines with `MarkerCode`, so a
/// meter's trace can be cut into the same windows. Used to check calibration and attribution
/// against the virtual board's ledger, and by `landauer calibrate --check`.
public struct ScriptedWorkload: Sendable {
    /// Epochs.
    public var epochs = 2
    /// Batches per epoch.
    public var batches = 3
    /// Matrix-vector reads per free phase (each of `vectorsPerRead` vectors).
    public var freeReads = 6
    /// Transposed reads per nudged phase.
    public var nudgedReads = 3
    /// Programming pulses per update phase.
    public var pulses = 192
    /// Reads per readout phase.
    public var readoutReads = 2
    /// Vectors per matrix-vector request.
    public var vectorsPerRead = 64
    /// The tile used.
    public var tile: UInt8 = 0
    /// Seed of the inputs and pulse choices.
    public var seed: UInt64 = 1

    /// The default workload.
    public init() {}

    /// What ran.
    public struct Result: Sendable, Equatable {
        /// Matrix-vector products computed (vectors).
        public var vectors = 0
        /// Pulses applied.
        public var pulses = 0
        /// Phase windows marked.
        public var phases = 0
    }

    /// Runs the workload on `client`; the run line is high from the first phase to the last.
    /// Ends with the lines at 0.
    public func run(_ client: BoardClient) async throws -> Result {
        let info = try await client.hello()
        let tile = info.tiles[Int(self.tile)]
        let rows = Int(tile.rows), columns = Int(tile.columns)
        var rng = SplitMix64(seed: seed)
        let maxCode = info.dacMaxCode
        var result = Result()
        func inputs(_ length: Int) -> [Int16] {
            (0..<(vectorsPerRead * length)).map { _ in Int16.random(in: -maxCode...maxCode, using: &rng) }
        }
        for epoch in 0..<epochs {
            for batch in 0..<batches {
                _ = try await client.marker(MarkerCode(phase: .free, epoch: epoch, batch: batch).lines)
                for _ in 0..<freeReads {
                    let r = try await client.matrixVector(tile: self.tile, vectorLength: rows, inputs: inputs(rows), inputFullScale: Volts(0.2))
                    result.vectors += r.outputs.count / columns
                }
                _ = try await client.marker(MarkerCode(phase: .nudged, epoch: epoch, batch: batch).lines)
                for _ in 0..<nudgedReads {
                    let r = try await client.matrixVector(
                        tile: self.tile, orientation: .transposed, vectorLength: columns, inputs: inputs(columns), inputFullScale: Volts(0.2))
                    result.vectors += r.outputs.count / rows
                }
                _ = try await client.marker(MarkerCode(phase: .update, epoch: epoch, batch: batch).lines)
                let commands = (0..<pulses).map { _ in
                    PulseCommand(
                        tile: self.tile, side: rng.uniform() < 0.5 ? .plus : .minus, row: UInt16(rng.next() % UInt64(rows)),
                        column: UInt16(rng.next() % UInt64(columns)), polarity: rng.uniform() < 0.5 ? 1 : -1, amplitude: Volts(1.5),
                        widthNanoseconds: 1_000, repeat: 1)
                }
                result.pulses += Int(try await client.program(pulses: commands).pulsesApplied)
                _ = try await client.marker(MarkerCode(phase: .readout, epoch: epoch, batch: batch).lines)
                for _ in 0..<readoutReads {
                    let r = try await client.matrixVector(tile: self.tile, vectorLength: rows, inputs: inputs(rows), inputFullScale: Volts(0.2))
                    result.vectors += r.outputs.count / columns
                }
                result.phases += 4
            }
        }
        _ = try await client.marker(0)
        return result
    }
}
