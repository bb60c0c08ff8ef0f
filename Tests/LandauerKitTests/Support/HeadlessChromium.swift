import Dispatch
import Foundation

/// Renders an HTML file in a real browser (headless Chromium) and hands back the screenshot and
/// what the page printed on its console, so tests can check that a report opens without script
/// errors and actually draws something.
///
/// Each call starts its own browser with its own temporary profile (`--user-data-dir`), removed
/// afterwards; nothing is shared between calls, so tests may render in parallel.
///
/// What Chromium reports (checked with Chromium 156's `chromium-headless-shell`):
/// - console.log/info/warn/error, uncaught exceptions ("Uncaught Error: …") and unhandled promise
///   rejections ("Uncaught (in promise) …") all arrive as `:CONSOLE` lines on stderr;
/// - a page that cannot be loaded (a missing file: "Page load failed: net::ERR_FILE_NOT_FOUND")
///   makes the browser exit with status 1 and write no screenshot;
/// - a sub-resource that fails to load (a missing `<img>` or `<script src>`) is *not* reported at
///   all; a page that wants to catch those must listen for `error` events itself and log them.
enum HeadlessChromium {
    /// Names looked for on PATH, in order.
    static let candidateNames = ["chromium-headless-shell", "chromium", "chromium-browser"]

    /// Virtual time the page gets after loading before the screenshot (timers and animation frames
    /// run in virtual time, so a page's `setTimeout(…, 500)` has run by then, without waiting).
    static let defaultVirtualTimeBudget: Duration = .seconds(5)

    /// The first of `candidateNames` found as an executable file on PATH.
    static var executable: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/usr/local/bin:/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init)
        for name in candidateNames {
            for directory in directories {
                let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        return nil
    }

    /// What the browser produced for one page.
    struct Rendering: Sendable {
        /// The screenshot of the viewport (`width` × `height` pixels).
        var png: PNGImage
        /// The text of every `:CONSOLE` line, in order: console output, uncaught exceptions and
        /// unhandled rejections (without the ", source: … (line)" suffix).
        var consoleMessages: [String]
        /// Everything the browser wrote on stderr.
        var stderr: String
    }

    enum Failure: Error, Sendable, CustomStringConvertible {
        /// No browser on PATH.
        case browserMissing(searched: [String], path: String)
        /// The browser could not be started at all.
        case launchFailed(executable: String, reason: String)
        /// The browser was still running after `timeout` and was stopped (with its children).
        case timedOut(after: Duration, stderr: String)
        /// The browser exited unsuccessfully; `pageErrors` are the errors it logged about the page.
        case browserFailed(status: Int32, signalled: Bool, pageErrors: [String], stderr: String)
        /// The browser exited with status 0 but wrote no screenshot.
        case noScreenshot(path: String, pageErrors: [String], stderr: String)
        /// The screenshot is not a PNG this decoder reads.
        case unreadableScreenshot(PNGImage.DecodeError)
        /// The temporary profile directory could not be made.
        case temporaryDirectory(reason: String)

        var description: String {
            switch self {
            case .browserMissing(let names, let path):
                return "no headless Chromium found: looked for \(names.joined(separator: ", ")) on PATH (\(path))."
                    + " Install Debian's chromium-headless-shell package with `make setup`"
                    + " (it is in the Makefile's SYSTEM_PACKAGES), or `apt-get install chromium-headless-shell`."
            case .launchFailed(let executable, let reason):
                return "could not start \(executable): \(reason)"
            case .timedOut(let after, let stderr):
                return "the browser was still running after \(after) and was stopped; its stderr ended with:\n"
                    + HeadlessChromium.tail(of: stderr)
            case .browserFailed(let status, let signalled, let pageErrors, let stderr):
                let how = signalled ? "was killed by signal \(status)" : "exited with status \(status)"
                let errors = pageErrors.isEmpty ? "" : " (\(pageErrors.joined(separator: "; ")))"
                return "the browser \(how)\(errors); its stderr ended with:\n" + HeadlessChromium.tail(of: stderr)
            case .noScreenshot(let path, let pageErrors, let stderr):
                let errors = pageErrors.isEmpty ? "" : " (\(pageErrors.joined(separator: "; ")))"
                return "the browser exited normally but wrote no screenshot at \(path)\(errors); its stderr ended with:\n"
                    + HeadlessChromium.tail(of: stderr)
            case .unreadableScreenshot(let error):
                return "the browser's screenshot does not decode: \(error)"
            case .temporaryDirectory(let reason):
                return "could not make a temporary directory for the browser profile: \(reason)"
            }
        }
    }

    /// Opens `html` (a file URL) in headless Chromium with a `width` × `height` viewport, lets it
    /// run for `virtualTimeBudget` of virtual time, and returns the screenshot and console output.
    /// Blocks the calling thread until the browser exits, or stops it (and the processes it
    /// started: SIGTERM, then SIGKILL) once `timeout` of real time has passed.
    static func render(
        html: URL, width: Int = 1200, height: Int = 2400, timeout: Duration = .seconds(60),
        virtualTimeBudget: Duration = defaultVirtualTimeBudget
    ) throws(Failure) -> Rendering {
        guard let executable else {
            throw .browserMissing(
                searched: candidateNames, path: ProcessInfo.processInfo.environment["PATH"] ?? "(PATH is not set)")
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("landauer-chromium-\(UUID().uuidString)")
        let profile = work.appendingPathComponent("profile")
        let screenshot = work.appendingPathComponent("screenshot.png")
        let log = work.appendingPathComponent("stderr.log")
        do {
            try fm.createDirectory(at: profile, withIntermediateDirectories: true)
            guard fm.createFile(atPath: log.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: log.path])
            }
        } catch {
            throw .temporaryDirectory(reason: "\(work.path): \(error.localizedDescription)")
        }
        defer { try? fm.removeItem(at: work) }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments(
            html: html, screenshot: screenshot, profile: profile, width: width, height: height,
            virtualTimeBudget: virtualTimeBudget)
        // stderr goes to a file rather than a pipe: a browser child that outlives the browser
        // cannot keep a pipe open and hang the reader.
        let logHandle: FileHandle
        do {
            logHandle = try FileHandle(forWritingTo: log)
        } catch {
            throw .temporaryDirectory(reason: "\(log.path): \(error.localizedDescription)")
        }
        defer { try? logHandle.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = logHandle
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw .launchFailed(executable: executable.path, reason: error.localizedDescription)
        }

        if exited.wait(timeout: .now() + dispatchInterval(timeout)) == .timedOut {
            stopTree(of: process.processIdentifier)
            // Reap it; it has been SIGKILLed if SIGTERM was not enough, so this returns promptly.
            _ = exited.wait(timeout: .now() + .seconds(30))
            throw .timedOut(after: timeout, stderr: readLog(log))
        }

        let stderr = readLog(log)
        let pageErrors = browserErrors(in: stderr)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw .browserFailed(
                status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                pageErrors: pageErrors, stderr: stderr)
        }
        guard fm.fileExists(atPath: screenshot.path) else {
            throw .noScreenshot(path: screenshot.path, pageErrors: pageErrors, stderr: stderr)
        }
        let png: PNGImage
        do {
            png = try PNGImage(contentsOf: screenshot)
        } catch {
            throw .unreadableScreenshot(error)
        }
        return Rendering(png: png, consoleMessages: consoleMessages(in: stderr), stderr: stderr)
    }

    /// The browser's command line.
    static func arguments(
        html: URL, screenshot: URL, profile: URL, width: Int, height: Int, virtualTimeBudget: Duration
    ) -> [String] {
        [
            "--headless",
            // Root in a container has no usable sandbox; the pages are our own files.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--mute-audio",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            // Deterministic screenshots: run timers and frames in virtual time up to the budget,
            // and finish every compositor stage before drawing.
            "--virtual-time-budget=\(milliseconds(virtualTimeBudget))",
            "--run-all-compositor-stages-before-draw",
            "--user-data-dir=\(profile.path)",
            "--window-size=\(width),\(height)",
            "--screenshot=\(screenshot.path)",
            "--enable-logging=stderr",
            "--v=0",
            html.isFileURL ? html.standardizedFileURL.absoluteString : html.absoluteString,
        ]
    }

    // MARK: - Reading the browser's log

    /// The message text of every `:CONSOLE` line in a Chromium log, in order. A line looks like
    /// `[1124/081055.825921:INFO:CONSOLE:1] "Uncaught Error: x", source: file:///tmp/t.html (1)`
    /// (older versions write `CONSOLE(1)`); a message with newlines runs over several lines.
    static func consoleMessages(in log: String) -> [String] {
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var messages: [String] = []
        var i = 0
        while i < lines.count {
            guard let entry = LogLine(lines[i]), entry.origin.hasPrefix("CONSOLE") else {
                i += 1
                continue
            }
            var message = entry.text
            i += 1
            // A multi-line message continues until a line ends with `", source: … (n)`.
            while sourceSuffix(in: message) == nil, i < lines.count, LogLine(lines[i]) == nil {
                message += "\n" + lines[i]
                i += 1
            }
            if let suffix = sourceSuffix(in: message) {
                message = String(message[..<suffix])
            } else if message.hasSuffix("\""), message.count >= 2 {
                message.removeLast()
            }
            if message.hasPrefix("\"") { message.removeFirst() }
            messages.append(message)
        }
        return messages
    }

    /// The errors the browser logged about loading or capturing the page, such as
    /// "Page load failed: net::ERR_FILE_NOT_FOUND" or "Failed to write file …".
    static func browserErrors(in log: String) -> [String] {
        log.split(separator: "\n").compactMap { line in
            guard let entry = LogLine(String(line)), entry.severity == "ERROR" || entry.severity == "FATAL",
                entry.origin.contains("headless") || entry.origin.hasPrefix("net/")
            else { return nil }
            return entry.text
        }
    }

    /// One Chromium log line, `[pid:tid:MMDD/HHMMSS.micros:SEVERITY:origin] text`, where origin is
    /// `CONSOLE:1` for console output or a source file and line (`components/…/x.cc:403`).
    private struct LogLine: Equatable {
        var severity: String
        var origin: String
        var text: String

        init?(_ line: String) {
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
            let header = line[line.index(after: line.startIndex)..<close]
            let fields = header.split(separator: ":", omittingEmptySubsequences: false)
            // The timestamp is the field holding "/" and "."; the severity follows it.
            guard let stamp = fields.firstIndex(where: { $0.contains("/") && $0.contains(".") }),
                stamp + 2 < fields.count,
                ["INFO", "WARNING", "ERROR", "FATAL"].contains(fields[stamp + 1]) || fields[stamp + 1].hasPrefix("VERBOSE")
            else { return nil }
            severity = String(fields[stamp + 1])
            origin = fields[(stamp + 2)...].joined(separator: ":")
            var rest = line[line.index(after: close)...]
            if rest.hasPrefix(" ") { rest = rest.dropFirst() }
            text = String(rest)
        }
    }

    /// Where `", source: <url> (<line>)` starts, if `message` ends with it.
    private static func sourceSuffix(in message: String) -> String.Index? {
        guard message.hasSuffix(")"), let marker = message.range(of: "\", source: ", options: .backwards),
            let open = message.range(of: " (", options: .backwards), open.lowerBound >= marker.upperBound
        else { return nil }
        let digits = message[open.upperBound..<message.index(before: message.endIndex)]
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber) else { return nil }
        return marker.lowerBound
    }

    static func tail(of log: String, lines count: Int = 25) -> String {
        let lines = log.split(separator: "\n").filter { !$0.contains("dbus") }
        return lines.suffix(count).joined(separator: "\n")
    }

    private static func readLog(_ url: URL) -> String {
        (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    // MARK: - Processes

    /// Stops `root` and every process it started. The Debian launcher is a shell script that runs
    /// the real browser as its child, and the browser starts zygote, GPU and renderer processes, so
    /// signalling `root` alone would leave the browser running. Foundation starts the child as the
    /// leader of a new process group, which Chromium's processes all stay in; on Linux the tree
    /// under `root` is also read from /proc, in case the group is not its own.
    ///
    /// First SIGTERM, which Chromium handles by closing (and reaping) its children; whatever still
    /// runs after `grace` is frozen with SIGSTOP (so it cannot fork any more) and then SIGKILLed.
    static func stopTree(of root: pid_t, grace: Duration = .seconds(5)) {
        let group: pid_t? = getpgid(root) == root ? root : nil
        #if os(Linux)
            var known = living(root: root, group: group, known: [root])
            for pid in known { kill(pid, SIGTERM) }
            if let group { killpg(group, SIGTERM) }
            let deadline = ContinuousClock.now + grace
            while ContinuousClock.now < deadline {
                let alive = living(root: root, group: group, known: known)
                if alive.isEmpty { return }
                known.formUnion(alive)
                usleep(50_000)
            }
            // Freeze until a pass finds nothing new, then kill.
            var stopped = Set<pid_t>()
            while true {
                let fresh = living(root: root, group: group, known: known).subtracting(stopped)
                if fresh.isEmpty { break }
                for pid in fresh { kill(pid, SIGSTOP) }
                stopped.formUnion(fresh)
                known.formUnion(fresh)
            }
            if let group { killpg(group, SIGKILL) }
            for pid in stopped { kill(pid, SIGKILL) }
        #else
            func send(_ signal: Int32) {
                if let group { killpg(group, signal) } else { kill(root, signal) }
            }
            send(SIGTERM)
            let deadline = ContinuousClock.now + grace
            while ContinuousClock.now < deadline, (group.map { killpg($0, 0) } ?? kill(root, 0)) == 0 {
                usleep(50_000)
            }
            send(SIGKILL)
        #endif
    }

    #if os(Linux)
        /// The processes, other than zombies, that are `root`, descend from it, belong to `group`,
        /// or are among `known` — read from /proc.
        static func living(root: pid_t, group: pid_t?, known: Set<pid_t>) -> Set<pid_t> {
            struct Entry {
                var parent: pid_t
                var group: pid_t
                var zombie: Bool
            }
            var table: [pid_t: Entry] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = pid_t(name),
                    let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                    let close = stat.range(of: ")", options: .backwards)
                else { continue }
                // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, hence the last ")".
                let fields = stat[close.upperBound...].split(separator: " ")
                guard fields.count > 2, let parent = pid_t(fields[1]), let pgrp = pid_t(fields[2]) else { continue }
                table[pid] = Entry(parent: parent, group: pgrp, zombie: fields[0] == "Z" || fields[0] == "X")
            }
            var children: [pid_t: [pid_t]] = [:]
            for (pid, entry) in table { children[entry.parent, default: []].append(pid) }
            var found = known.union([root])
            var queue = [root]
            while let next = queue.popLast() {
                for child in children[next] ?? [] where found.insert(child).inserted { queue.append(child) }
            }
            if let group {
                for (pid, entry) in table where entry.group == group { found.insert(pid) }
            }
            return found.filter { pid in table[pid].map { !$0.zombie } ?? false }
        }
    #endif

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow, seconds >= 0 else { return seconds < 0 ? .nanoseconds(0) : .never }
        return .nanoseconds(Int(nanoseconds.partialValue + attoseconds / 1_000_000_000))
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
