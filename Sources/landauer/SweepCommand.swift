import ArgumentParser
import Foundation
import LandauerFirmware
import LandauerKit

struct Sweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Form one device, or trace its I-V loop, with a current compliance the board enforces.",
        discussion: """
            form: a voltage staircase (or pulses with a read after each, --pulsed) from --start to --stop until the \
            current reaches the compliance (the cell has switched), then the device is read. \
            iv: 0 → +max → 0 → −reverse → 0 in steps, --cycles times; a memristive device traces a pinched \
            hysteresis loop. The board clamps a compliance above its active limit (and says so) and refuses one \
            above its absolute limit. On the virtual board, sim:?unformed=on starts every device unformed. \
            Not yet recorded in the run store (issue 9); --json prints every point.
            """)

    @Argument(help: "form or iv.") var procedure: String
    @Option(help: ArgumentHelp("Board connection string.", valueName: "connection")) var board = "sim"
    @Option(help: ArgumentHelp("The device: TILE:ROW:COLUMN[:plus|minus].", valueName: "device")) var device = "0:0:0:plus"
    @Option(help: "Compliance current, amperes.") var compliance = 20e-6
    @Option(help: "form: first step, volts.") var start = 0.5
    @Option(help: "form: last step, volts.") var stop = 3.0
    @Option(help: "iv: largest positive voltage, volts.") var max = 1.5
    @Option(help: "iv: largest negative voltage (its magnitude), volts.") var reverse = 1.5
    @Option(help: "Step, volts.") var step = 0.05
    @Option(help: "Dwell (staircase) or pulse width (pulsed) per step, nanoseconds.") var dwell: UInt32 = 10_000
    @Option(help: "iv: loops.") var cycles = 1
    @Flag(help: "Pulses with a read after each, instead of a staircase.") var pulsed = false
    @Option(help: ArgumentHelp("Workspace (profiles/ for sim:?device=profile:NAME).", valueName: "path")) var workspace = "."
    @Flag(help: "Print the result as one JSON object.") var json = false

    func address() throws -> DeviceAddress {
        let parts = device.split(separator: ":").map(String.init)
        guard parts.count == 3 || parts.count == 4, let t = Int(parts[0]), let r = Int(parts[1]), let c = Int(parts[2]), t >= 0, r >= 0, c >= 0 else {
            throw ValidationError("--device must be TILE:ROW:COLUMN[:plus|minus], e.g. 0:3:1:plus, not \(device)")
        }
        let side: DeviceSide
        switch parts.count == 4 ? parts[3] : "plus" {
        case "plus": side = .plus
        case "minus": side = .minus
        default: throw ValidationError("the side in --device must be plus or minus, not \(parts[3])")
        }
        return DeviceAddress(tile: t, row: r, column: c, side: side)
    }

    func validate() throws {
        guard ["form", "iv"].contains(procedure) else { throw ValidationError("procedure must be form or iv, not \(procedure)") }
        _ = try address()
        guard compliance > 0, compliance.isFinite else { throw ValidationError("--compliance must be a positive current in amperes") }
        guard step > 0, dwell > 0, cycles >= 1 else { throw ValidationError("--step and --dwell must be positive, --cycles at least 1") }
        if procedure == "form" { guard stop > start else { throw ValidationError("form needs --start < --stop") } }
    }

    func run() async throws {
        do {
            let session = try BoardConnection.open(board, workspace: URL(fileURLWithPath: workspace))
            _ = try await session.client.hello()
            let mode: SweepMode = pulsed ? .pulsed : .staircase
            if procedure == "form" {
                let p = FormingProcedure(
                    device: try address(), startVoltage: Volts(start), stopVoltage: Volts(stop), stepVoltage: Volts(step), dwellNanoseconds: dwell,
                    compliance: Amperes(compliance), mode: mode)
                let r = try await p.run(on: session.client)
                await session.client.close()
                if json { try printJSON(r); return }
                var lines = ["form \(r.device) on \(board): " + (r.formed ? "formed at \(r.formingVoltage.map { $0.formatted() } ?? "?")" : "did not form up to \(Volts(stop).formatted())")]
                lines.append("  compliance \(r.compliance.formatted())" + (r.complianceClamped ? " (clamped by the board to its active limit)" : ""))
                lines.append("  \(r.points.count) steps, largest current \(Amperes(r.points.map(\.current.value).max() ?? 0).formatted()); conductance after \(r.conductanceAfter.formatted())")
                print(lines.joined(separator: "\n"))
            } else {
                let s = IVSweep(
                    device: try address(), maximumVoltage: Volts(max), reverseVoltage: Volts(reverse), stepVoltage: Volts(step), dwellNanoseconds: dwell,
                    compliance: Amperes(compliance), mode: mode, cycles: cycles)
                let c = try await s.run(on: session.client)
                await session.client.close()
                if json { try printJSON(c); return }
                var lines = ["I-V of \(c.device) on \(board): \(c.points.count) points, compliance \(c.compliance.formatted())" + (c.complianceClamped ? " (clamped)" : "")]
                lines.append("  current at 0 V: \(c.pinchCurrent.formatted())")
                for p in c.points { lines.append("  \(SignificantDigits.format(p.voltage.value, digits: 3)) V  \(p.current.formatted())\(p.limited ? "  (limited)" : "")") }
                print(lines.joined(separator: "\n"))
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw failing(error)
        }
    }
}
