import Foundation
import LandauerDrivers
#if canImport(Glibc)
    import Glibc
#endif
import LandauerFirmware
import Synchronization
import Testing

/// The STM32F405 firmware image (Firmware/STM32, the virtual front end) booted in QEMU's
/// netduinoplus2 machine, its first serial port (USART1) on a loopback TCP socket.
///
/// A small shell watchdog kills QEMU if the test process goes away without doing so, so a crashed
/// test run leaves no emulator behind; `shutDown()` (or `kill()`) ends it at once.
final class QEMUBoard: Sendable {
    /// The virtual images: ideal model devices (the conformance board) or constant-step ones.
    enum Image: String, Sendable {
        case ideal = "virtual"
        case constantStep = "virtual-step"

        /// What the image reports in INFO (Firmware/STM32/Virtual/ModelFrontEnd.swift).
        var serial: String { self == .ideal ? "LDR-QEMU-0001" : "LDR-QEMU-STEP" }
        /// The file build.sh writes.
        var file: String { self == .ideal ? "landauer-virtual.elf" : "landauer-virtual-step.elf" }
    }
    /// The netduinoplus2 machine's fixed SYSCLK.
    static let clockHertz: UInt32 = 168_000_000
    /// The image's largest frame body.
    static let maxRequestBody: UInt16 = 8192

    let image: Image
    let link: TCPTransport
    /// QEMU, its process ID, the pipe its standard error comes through, and the watchdog.
    private let process: Process
    private let qemu: pid_t
    private let errors: Pipe
    private let log: OutputLog
    private let watchdog: Process

    private init(image: Image, link: TCPTransport, process: Process, qemu: pid_t, errors: Pipe, log: OutputLog, watchdog: Process) {
        self.image = image
        self.link = link
        self.process = process
        self.qemu = qemu
        self.errors = errors
        self.log = log
        self.watchdog = watchdog
    }

    /// The repository root, from this file's place in it.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Builds the image once per test run (`Firmware/STM32/build.sh --if-stale virtual`: nothing
    /// to do when `make test` built it already) and returns its path.
    static func path(of image: Image) async throws -> String {
        try await (image == .ideal ? idealBuild : constantStepBuild).value
    }

    private static let idealBuild = Task<String, any Error> { try await build(.ideal) }
    private static let constantStepBuild = Task<String, any Error> { try await build(.constantStep) }

    private static func build(_ image: Image) async throws -> String {
        let script = repository.appendingPathComponent("Firmware/STM32/build.sh").path
        let (status, output) = try await run("/bin/bash", [script, "--if-stale", image.rawValue])
        guard status == 0 else {
            throw QEMUBoardError("building the firmware image failed (\(script), status \(status)):\n\(output)")
        }
        return repository.appendingPathComponent("Firmware/STM32/.build/\(image.file)").path
    }

    /// Runs a program to completion; returns its exit status and what it printed.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        let output = OutputLog()
        pipe.fileHandleForReading.readabilityHandler = { h in output.append(h.availableData) }
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<Void, any Error>) in
            p.terminationHandler = { _ in k.resume() }
            do { try p.run() } catch { k.resume(throwing: error) }
        }
        pipe.fileHandleForReading.readabilityHandler = nil
        let rest = pipe.fileHandleForReading.readDataToEndOfFile()
        output.append(rest)
        let text = output.text
        return (p.terminationStatus, text)
    }

    /// Boots `image` and connects to its serial port; returns once the firmware answers.
    static func boot(_ image: Image = .ideal) async throws -> QEMUBoard {
        let elf = try await path(of: image)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "qemu-system-arm", "-M", "netduinoplus2", "-display", "none", "-monitor", "none",
            "-kernel", elf, "-serial", "tcp:127.0.0.1:0,server=on,wait=on",
        ]
        let errors = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errors
        let log = OutputLog()
        errors.fileHandleForReading.readabilityHandler = { h in log.append(h.availableData) }
        try p.run()
        let qemu = p.processIdentifier
        // A watchdog that kills QEMU if this test process goes away without doing so itself; it
        // ends on its own once QEMU is gone.
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = [
            "-c",
            #"while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 0.5; done; kill -0 "$1" 2>/dev/null || kill -9 "$2" 2>/dev/null"#,
            "qemu-watchdog", String(getpid()), String(qemu),
        ]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try? watchdog.run()
        func text() -> String { log.text }
        // QEMU binds port 0 and names the port the kernel gave it, then waits for our connection
        // before it starts the core: "QEMU waiting for connection on: disconnected:tcp:127.0.0.1:PORT,server=on".
        let deadline = ContinuousClock.now + .seconds(20)
        var port: UInt16?
        while port == nil {
            if let line = text().split(separator: "\n").first(where: { $0.contains("waiting for connection on") }),
               let field = line.split(separator: ":").last, field.contains("server") {
                port = UInt16(field.prefix(while: \.isNumber))
            } else if !p.isRunning || ContinuousClock.now > deadline {
                _ = Glibc.kill(qemu, SIGKILL)
                errors.fileHandleForReading.readabilityHandler = nil
                throw QEMUBoardError("qemu-system-arm (make setup installs it) did not offer its serial port:\n\(text())")
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let link: TCPTransport
        do {
            link = try await TCPTransport.connect(host: "127.0.0.1", port: port!, timeout: .seconds(5))
        } catch {
            _ = Glibc.kill(qemu, SIGKILL)
            errors.fileHandleForReading.readabilityHandler = nil
            throw error
        }
        let board = QEMUBoard(image: image, link: link, process: p, qemu: qemu, errors: errors, log: log, watchdog: watchdog)
        do {
            try await board.waitUntilAnswering()
        } catch {
            await board.shutDown()
            throw error
        }
        return board
    }

    /// Bytes that reach the USART before the firmware has enabled it are dropped (as on silicon),
    /// so the first frames may be lost: PING until a PONG comes back, then drain whatever else is
    /// on the line. A lone delimiter first ends any partial frame the board holds.
    private func waitUntilAnswering() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        var attempt: UInt16 = 0
        while ContinuousClock.now < deadline {
            attempt &+= 1
            let payload: [UInt8] = [0x51, 0x45, UInt8(truncatingIfNeeded: attempt)]
            var raw = RawLink(transport: link, timeout: .milliseconds(200))
            let frames = try await raw.exchange([0x00] + Request.ping(payload).frame(sequence: 0xF000 &+ attempt).encoded(), expecting: 2)
            if frames.contains(where: { (try? Response.decode($0)) == .pong(payload) }) {
                while let stray = try? await link.read(maxCount: 1 << 16, timeout: .milliseconds(100)), !stray.isEmpty {}
                return
            }
        }
        throw QEMUBoardError("the firmware in QEMU never answered a PING:\n\(qemuOutput)")
    }

    /// What QEMU printed on its standard error.
    var qemuOutput: String { log.text }

    /// The board for the conformance checks.
    var underTest: BoardUnderTest {
        BoardUnderTest(
            name: "STM32F405 image in QEMU", link: link, serial: image.serial, clockHertz: Self.clockHertz,
            maxRequestBody: Self.maxRequestBody, attemptTimeout: .seconds(2))
    }

    /// Closes the link and ends QEMU, waiting (at most 5 s) until it is gone.
    func shutDown() async {
        await link.close()
        kill()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        errors.fileHandleForReading.readabilityHandler = nil
    }

    /// Ends QEMU at once (idempotent). SIGKILL: the emulator has nothing to save.
    func kill() {
        _ = Glibc.kill(qemu, SIGKILL)
    }
}

/// What a child process printed, collected as it arrives.
final class OutputLog: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    func append(_ data: Data) { bytes.withLock { $0 += data } }

    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// A failure to build or boot the image, with what the tools printed.
struct QEMUBoardError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
