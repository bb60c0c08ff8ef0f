import ArgumentParser
import Foundation
import LandauerKit

@main
struct Landauer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landauer",
        abstract: "Measure what learning costs in energy, on a memristor bench or its simulator.",
        version: LandauerVersion.string,
        subcommands: [Demo.self, Devices.self, Sim.self])
}

/// Options shared by commands that talk to a board.
struct BoardOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Board connection string: sim, or sim:?key=value&… (keys: \(SimulatorOptions.help.map(\.key).joined(separator: ", "))).",
        valueName: "connection"))
    var board = "sim"
}

/// `value` as one line of JSON.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Prints `value` as one line of JSON.
func printJSON<T: Encodable>(_ value: T) throws { print(try jsonLine(value)) }

/// Turns any error into a message a person can act on, and a failing exit code.
func failing(_ error: any Error) -> any Error {
    if error is ExitCode || error is CleanExit { return error }
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode.failure
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Program, infer and update on a board, and account for the energy of each phase.",
        discussion: "Today's main job: on the virtual bench (the default) the energy comes from the simulator's ground truth; later versions measure it with a power meter and train a network.")

    @OptionGroup var boardOptions: BoardOptions
    @Option(help: "Seed of the demo's own random choices.") var seed: UInt64 = 1
    @Option(help: "Number of inference input vectors.") var vectors = 2_000
    @Flag(help: "Print the report as one JSON object.") var json = false

    func run() async throws {
        var options = LandauerKit.Demo.Options()
        options.board = boardOptions.board
        options.seed = seed
        options.vectors = vectors
        do {
            let report = try await LandauerKit.Demo(options: options).run()
            if json { try printJSON(report) } else { print(report.text) }
        } catch {
            throw failing(error)
        }
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List serial ports and USB devices, naming the ones Landauer knows (PPK2, USBTMC instruments, boards).")

    @Flag(help: "Print one JSON object (with --watch, one per line and event).") var json = false
    @Flag(help: "After the list, report USB devices as they are plugged in and unplugged (libusb hotplug), until interrupted.")
    var watch = false

    struct Listing: Encodable {
        var devices: [FoundDevice]
        var warnings: [String]
    }

    func run() async throws {
        let (devices, warnings) = DeviceDiscovery.scan()
        if json { try printJSON(Listing(devices: devices, warnings: warnings)) } else { print(DeviceDiscovery.text(devices, warnings: warnings)) }
        guard watch else { return }
        let watch: DeviceWatch
        do { watch = try DeviceWatch() } catch {
            throw ValidationError("--watch: \(error)")
        }
        if !json { print("Watching for USB devices (Ctrl-C stops)…") }
        fflush(nil)
        for await change in watch.changes {
            if json {
                try printJSON(change)
            } else {
                let d = change.device
                print("\(change.event)  \(d.usbID ?? "-")  \(d.role.rawValue)  \(d.connection)  \(d.detail)")
            }
            fflush(nil)
        }
    }
}

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The virtual bench.",
        subcommands: [Info.self, Bench.self])

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve virtual devices on pseudo-terminals (and SCPI on a loopback TCP port) in real time.",
            discussion: "Prints one JSON line naming the endpoints, e.g. {\"board\":\"/dev/pts/3\",\"ppk2\":\"/dev/pts/4\",\"scpi\":\"127.0.0.1:5025\",\"scpi_pty\":\"/dev/pts/5\"}, then serves until interrupted. Open the board with --board serial:<path>; the virtual PPK2 (unless --no-ppk2) streams 100 kS/s of the board's supply current, with the board's marker lines on its logic inputs.")

        @OptionGroup var boardOptions: BoardOptions
        @Option(help: "Add a virtual SCPI instrument: \(VirtualSCPIKind.allCases.map(\.rawValue).joined(separator: " or ")).")
        var scpi: String?
        @Option(help: "TCP port of the SCPI instrument on 127.0.0.1 (0 picks a free one).")
        var scpiPort: UInt16 = 0
        @Flag(name: .customLong("no-ppk2"), help: "Do not serve the virtual PPK2 (by default it measures the board's supply on a pseudo-terminal of its own, endpoint \"ppk2\").")
        var noPPK2 = false

        func run() async throws {
            do {
                let connection = try ConnectionString(parsing: boardOptions.board)
                guard connection.scheme == "sim" else {
                    throw ValidationError("sim bench serves a virtual board; give a sim connection string, not '\(boardOptions.board)'")
                }
                var kind: VirtualSCPIKind?
                if let scpi {
                    guard let k = VirtualSCPIKind(rawValue: scpi.lowercased()) else {
                        throw ValidationError("--scpi must be \(VirtualSCPIKind.allCases.map(\.rawValue).joined(separator: " or ")), not '\(scpi)'")
                    }
                    kind = k
                }
                let config = try SimulatorOptions.config(from: connection)
                let bench = try VirtualBench(config: config, scpi: kind, scpiPort: scpiPort,
                                             ppk2: noPPK2 ? nil : VirtualBench.ppk2Config(for: config))
                // Unbuffered: a script reading the pipe must see the endpoints before serving starts.
                FileHandle.standardOutput.write(Data((try jsonLine(bench.endpoints) + "\n").utf8))
                await bench.serve()
            } catch let e as ValidationError {
                throw e
            } catch {
                throw failing(error)
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say HELLO to a virtual board and print its INFO, obtained through the wire protocol.",
            discussion: "Options of the sim connection string:\n" + SimulatorOptions.help.map { "  \($0.key): \($0.meaning)" }.joined(separator: "\n"))

        @OptionGroup var boardOptions: BoardOptions
        @Flag(help: "Print the INFO as one JSON object.") var json = false

        func run() async throws {
            do {
                guard boardOptions.board.hasPrefix("sim") else {
                    throw ValidationError("sim info talks to a virtual board; give a sim connection string, not '\(boardOptions.board)'")
                }
                let session = try BoardConnection.open(boardOptions.board)
                let info = try await session.client.hello()
                let report = BoardInfoReport(info, endpoint: await session.client.endpoint)
                await session.client.close()
                if json { try printJSON(report) } else { print(report.text) }
            } catch let e as ValidationError {
                throw e
            } catch {
                throw failing(error)
            }
        }
    }
}
