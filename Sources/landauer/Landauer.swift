import ArgumentParser
import Foundation
import LandauerKit

@main
struct Landauer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landauer",
        abstract: "Measure what learning costs in energy, on a memristor bench or its simulator.",
        version: LandauerVersion.string,
        subcommands: [Demo.self, Sim.self])
}

/// Options shared by commands that talk to a board.
struct BoardOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Board connection string: sim, or sim:?key=value&… (keys: \(SimulatorOptions.help.map(\.key).joined(separator: ", "))).",
        valueName: "connection"))
    var board = "sim"
}

/// Prints `value` as one line of JSON.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

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

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The virtual bench.",
        subcommands: [Info.self])

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
