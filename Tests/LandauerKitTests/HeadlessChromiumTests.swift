import CZlib
import Foundation
import Testing

/// The browser check for HTML reports must be able to fail: these tests show that script errors,
/// blank pages and wrong pixels are seen, and that the PNG decoder reads exactly what was encoded.
@Suite("HeadlessChromium")
struct HeadlessChromiumTests {
    // MARK: - The browser

    @Test("a browser is installed (CI installs chromium-headless-shell through `make setup`)")
    func browserIsInstalled() {
        let missing = HeadlessChromium.Failure.browserMissing(
            searched: HeadlessChromium.candidateNames, path: ProcessInfo.processInfo.environment["PATH"] ?? "")
        #expect(HeadlessChromium.executable != nil, "\(missing)")
    }

    @Test("the missing-browser error says what to install and how")
    func missingBrowserMessage() {
        let message = HeadlessChromium.Failure.browserMissing(searched: ["chromium-headless-shell"], path: "/usr/bin").description
        #expect(message.contains("chromium-headless-shell") && message.contains("make setup"), "\(message)")
    }

    @Test("a script that throws and calls console.error shows up in consoleMessages")
    func scriptErrorsAreReported() throws {
        let page = try Page("""
            <!doctype html><html><body><p>report</p>
            <script>console.error("figure 3 has no data");</script>
            <script>console.log("two\\nlines", 'with "quotes"');</script>
            <script>setTimeout(() => console.warn("late warning"), 500);</script>
            <script>Promise.reject(new Error("no rows"));</script>
            <script>throw new Error("boom in chart.js");</script>
            </body></html>
            """)
        let rendering = try HeadlessChromium.render(html: page.url, width: 400, height: 300)
        let messages = rendering.consoleMessages
        #expect(messages.contains("figure 3 has no data"), "\(messages)")
        #expect(messages.contains("Uncaught Error: boom in chart.js"), "\(messages)")
        #expect(messages.contains("two\nlines with \"quotes\""), "\(messages)")
        #expect(messages.contains("Uncaught (in promise) Error: no rows"), "\(messages)")
        // The timer ran in virtual time before the screenshot.
        #expect(messages.contains("late warning"), "\(messages)")
        #expect(messages.count == 5, "\(messages)")
    }

    @Test("a clean page with a red SVG rectangle: no console messages, red where the rectangle is, white elsewhere")
    func cleanPageDrawsRedRectangle() throws {
        let page = try Page("""
            <!doctype html><html><head><style>html, body { margin: 0; background: #fff; }</style></head>
            <body><svg width="300" height="200" style="display: block">
            <rect x="50" y="40" width="200" height="100" fill="red"/></svg></body></html>
            """)
        let rendering = try HeadlessChromium.render(html: page.url, width: 800, height: 600)
        #expect(rendering.consoleMessages.isEmpty, "\(rendering.consoleMessages)")
        let png = rendering.png
        #expect(png.width == 800 && png.height == 600)
        for (x, y) in [(51, 41), (150, 90), (248, 138)] {
            let p = png.pixel(x: x, y: y)
            #expect(p.r >= 250 && p.g <= 5 && p.b <= 5, "pixel (\(x), \(y)) is \(p), not red")
        }
        for (x, y) in [(10, 10), (48, 90), (252, 90), (150, 145), (700, 500)] {
            let p = png.pixel(x: x, y: y)
            #expect(p.r == 255 && p.g == 255 && p.b == 255, "pixel (\(x), \(y)) is \(p), not white")
        }
        #expect(png.dominantColour == .white)
        // 200 × 100 red pixels out of 800 × 600, about 4.2 %, give or take antialiased edges.
        let differing = png.fractionDiffering(from: (255, 255, 255))
        #expect(abs(differing - 20_000.0 / 480_000.0) < 0.005, "\(differing)")
        let colours = png.distinctColours(limit: 100)
        #expect(colours.contains(PNGImage.Colour(r: 255, g: 0, b: 0)), "\(colours)")
    }

    @Test("an empty white page is detected as blank")
    func emptyPageIsBlank() throws {
        let page = try Page("<!doctype html><html><body></body></html>")
        let rendering = try HeadlessChromium.render(html: page.url, width: 640, height: 480)
        #expect(rendering.consoleMessages.isEmpty, "\(rendering.consoleMessages)")
        #expect(rendering.png.width == 640 && rendering.png.height == 480)
        #expect(rendering.png.fractionDiffering(from: (255, 255, 255)) < 0.0001)
        #expect(rendering.png.distinctColours(limit: 2) == [.white])
    }

    @Test("the same page renders to the same pixels (timers and animation frames run in virtual time)")
    func renderingIsDeterministic() throws {
        let page = try Page("""
            <!doctype html><html><body style="margin: 0"><canvas id="c" width="120" height="120"></canvas>
            <script>
            const g = document.getElementById("c").getContext("2d");
            g.fillStyle = "blue"; g.fillRect(0, 0, 60, 60);
            requestAnimationFrame(() => { g.fillStyle = "green"; g.fillRect(60, 60, 60, 60); });
            setTimeout(() => document.body.insertAdjacentHTML("beforeend", "<p>drawn late</p>"), 800);
            </script></body></html>
            """)
        let first = try HeadlessChromium.render(html: page.url, width: 300, height: 300)
        let second = try HeadlessChromium.render(html: page.url, width: 300, height: 300)
        #expect(first.png == second.png)
        let green = first.png.pixel(x: 90, y: 90), blue = first.png.pixel(x: 30, y: 30)
        #expect(green.r == 0 && green.g > 100 && green.b == 0, "\(green)")
        #expect(blue.r == 0 && blue.g == 0 && blue.b > 200, "\(blue)")
        // The paragraph added after 800 ms of (virtual) time is in the screenshot: dark text pixels below the canvas.
        let textRows = (125..<200).filter { y in (0..<300).contains { x in first.png.pixel(x: x, y: y).r < 128 } }
        #expect(!textRows.isEmpty)
    }

    @Test("a page that does not exist is an error naming the load failure")
    func missingPageFails() throws {
        let dir = try TemporaryDirectory()
        let url = dir.url.appendingPathComponent("no-such-report.html")
        let error = #expect(throws: HeadlessChromium.Failure.self) {
            try HeadlessChromium.render(html: url, width: 200, height: 200)
        }
        guard case .browserFailed(_, _, let pageErrors, _) = error else {
            Issue.record("expected .browserFailed, got \(String(describing: error))")
            return
        }
        #expect(pageErrors.contains { $0.contains("ERR_FILE_NOT_FOUND") }, "\(pageErrors)")
    }

    @Test("a page that never finishes is killed on timeout, with every browser process")
    func hungPageTimesOut() throws {
        let page = try Page("<!doctype html><html><body><script>while (true) {}</script></body></html>")
        let error = #expect(throws: HeadlessChromium.Failure.self) {
            try HeadlessChromium.render(html: page.url, width: 200, height: 200, timeout: .seconds(5))
        }
        guard case .timedOut = error else {
            Issue.record("expected .timedOut, got \(String(describing: error))")
            return
        }
        #if os(Linux)
            // Nothing still runs with this page on its command line (the browser's main process does).
            let survivors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { entry in
                guard Int(entry) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
                else { return false }
                return String(decoding: cmdline, as: UTF8.self).contains(page.url.lastPathComponent)
            }
            #expect(survivors == [], "browser processes left running: \(survivors ?? [])")
        #endif
    }

    @Test("console lines are parsed from Chromium's log format, multi-line messages included")
    func parsesConsoleLines() {
        let log = """
            [1124/081129.130512:ERROR:dbus/bus.cc:405] Failed to connect to the bus
            [1124/081055.825921:INFO:CONSOLE:1] "Uncaught Error: x", source: file:///tmp/t.html (1)
            [31300:31300:1124/081055.9:INFO:CONSOLE(7)] "old format", source: file:///tmp/t.html (7)
            [1124/081206.592548:INFO:CONSOLE:5] "multi
            line", source: file:///tmp/r.html (5)
            [1124/081149.733844:ERROR:components/headless/command_handler/headless_command_handler.cc:403] Page load failed: net::ERR_FILE_NOT_FOUND
            3464 bytes written to file /tmp/t.png
            """
        #expect(HeadlessChromium.consoleMessages(in: log) == ["Uncaught Error: x", "old format", "multi\nline"])
        #expect(HeadlessChromium.browserErrors(in: log) == ["Page load failed: net::ERR_FILE_NOT_FOUND"])
    }

    // MARK: - PNG decoding

    @Test("a hand-built PNG using all five filters decodes to exactly the pixels encoded", arguments: [false, true])
    func decodesEveryFilter(alpha: Bool) throws {
        let (width, height) = (16, 10)
        // Pseudo-random bytes: in rows 0–4 only 0...3, so that the Paeth predictor's ties (where
        // its order of preference decides) come up often, in rows 5–9 0...255, so that the
        // filters' arithmetic wraps around.
        var state: UInt32 = 0x2545_F491
        var pixels: [UInt8] = []
        for y in 0..<height {
            for _ in 0..<(width * (alpha ? 4 : 3)) {
                state = state &* 1_664_525 &+ 1_013_904_223
                let byte = UInt8(truncatingIfNeeded: state >> 24)
                pixels.append(y < 5 ? byte & 3 : byte)
            }
        }
        // Rows 0–4 and 5–9 each use filters 0, 1, 2, 3, 4.
        let filters: [UInt8] = (0..<height).map { UInt8($0 % 5) }
        let bytes = TinyPNG.encode(width: width, height: height, alpha: alpha, pixels: pixels, filters: filters, idatPieces: 3)
        let png = try PNGImage(bytes: bytes)
        #expect(png.width == width && png.height == height && png.hasAlpha == alpha)
        let channels = alpha ? 4 : 3
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * channels
                let p = png.pixel(x: x, y: y)
                let expected = (pixels[i], pixels[i + 1], pixels[i + 2], alpha ? pixels[i + 3] : 255)
                #expect(p == expected, "pixel (\(x), \(y)) row filter \(filters[y])")
            }
        }
        // Every filter type also decodes on the first row (no row above).
        for filter in UInt8(0)...4 {
            let one = TinyPNG.encode(
                width: width, height: 1, alpha: alpha, pixels: Array(pixels[0..<(width * channels)]), filters: [filter])
            let decoded = try PNGImage(bytes: one)
            for x in 0..<width {
                let p = decoded.pixel(x: x, y: 0)
                let i = x * channels
                #expect(p == (pixels[i], pixels[i + 1], pixels[i + 2], alpha ? pixels[i + 3] : 255), "filter \(filter)")
            }
        }
    }

    @Test("the helpers count colours")
    func colourHelpers() throws {
        // 4 × 2: six white pixels, one red, one blue.
        var pixels = [UInt8](repeating: 255, count: 4 * 2 * 3)
        pixels.replaceSubrange(3..<6, with: [255, 0, 0])
        pixels.replaceSubrange(18..<21, with: [0, 0, 255])
        let png = try PNGImage(bytes: TinyPNG.encode(width: 4, height: 2, alpha: false, pixels: pixels, filters: [1, 4]))
        #expect(png.dominantColour == .white)
        #expect(png.fractionDiffering(from: (255, 255, 255)) == 0.25)
        #expect(png.fractionDiffering(from: (0, 0, 0)) == 1)
        #expect(png.fractionDiffering(from: (255, 0, 0)) == 0.875)
        #expect(png.fractionDiffering(from: (250, 250, 250), tolerance: 5) == 0.25)
        #expect(png.fractionDiffering(from: (250, 250, 250), tolerance: 4) == 1)
        #expect(png.distinctColours() == [.white, PNGImage.Colour(r: 255, g: 0, b: 0), PNGImage.Colour(r: 0, g: 0, b: 255)])
        #expect(png.distinctColours(limit: 2).count == 2)
    }

    @Test("a corrupted CRC is a typed error naming the chunk and its offset")
    func corruptedCRC() throws {
        var bytes = TinyPNG.encode(width: 2, height: 2, alpha: false, pixels: [UInt8](repeating: 9, count: 12), filters: [0, 0])
        // The IDAT chunk follows the signature, IHDR and a tEXt chunk.
        let idat = try #require(TinyPNG.offset(of: "IDAT", in: bytes))
        let length = Int(bytes[idat]) << 24 | Int(bytes[idat + 1]) << 16 | Int(bytes[idat + 2]) << 8 | Int(bytes[idat + 3])
        bytes[idat + 8 + length] ^= 0x01  // first byte of the stored CRC
        let error = #expect(throws: PNGImage.DecodeError.self) { try PNGImage(bytes: bytes) }
        guard case .badCRC(let chunk, let offset, let stored, let computed) = error else {
            Issue.record("expected .badCRC, got \(String(describing: error))")
            return
        }
        #expect(chunk == "IDAT" && offset == idat && stored != computed)
        #expect(error?.description.contains("IDAT at byte \(idat)") == true, "\(String(describing: error))")

        // A flipped data byte is caught the same way.
        var data = TinyPNG.encode(width: 2, height: 2, alpha: false, pixels: [UInt8](repeating: 9, count: 12), filters: [0, 0])
        data[8 + 8 + 3] ^= 0x80  // the IHDR width's low byte
        let ihdrError = #expect(throws: PNGImage.DecodeError.self) { try PNGImage(bytes: data) }
        guard case .badCRC(chunk: "IHDR", offset: 8, _, _) = ihdrError else {
            Issue.record("expected .badCRC for IHDR, got \(String(describing: ihdrError))")
            return
        }
    }

    @Test("unsupported and malformed PNGs are typed errors saying what is wrong")
    func unsupportedAndMalformed() throws {
        let rgb = TinyPNG.encode(width: 1, height: 1, alpha: false, pixels: [1, 2, 3], filters: [0])

        #expect(throws: PNGImage.DecodeError.notPNG(firstBytes: Array("GIF89a".utf8))) {
            try PNGImage(bytes: Array("GIF89a".utf8))
        }
        let sixteenBit = TinyPNG.encode(width: 1, height: 1, alpha: false, pixels: [1, 2, 3, 4, 5, 6], filters: [0], bitDepth: 16)
        let depthError = #expect(throws: PNGImage.DecodeError.self) { try PNGImage(bytes: sixteenBit) }
        guard case .unsupported(let feature, "IHDR", 8) = depthError else {
            Issue.record("expected .unsupported, got \(String(describing: depthError))")
            return
        }
        #expect(feature.contains("bit depth 16"))

        let interlaced = TinyPNG.encode(width: 1, height: 1, alpha: false, pixels: [1, 2, 3], filters: [0], interlace: 1)
        #expect(throws: PNGImage.DecodeError.unsupported(feature: "Adam7 interlacing", chunk: "IHDR", offset: 8)) {
            try PNGImage(bytes: interlaced)
        }
        // Cut inside the IEND chunk's CRC.
        let cut = Array(rgb.dropLast(2))
        let cutError = #expect(throws: PNGImage.DecodeError.self) { try PNGImage(bytes: cut) }
        guard case .truncatedChunk(chunk: "IEND", _, _, _) = cutError else {
            Issue.record("expected .truncatedChunk, got \(String(describing: cutError))")
            return
        }
        // A filter type beyond 4.
        let badFilter = TinyPNG.encode(width: 1, height: 1, alpha: false, pixels: [1, 2, 3], filters: [7])
        #expect(throws: PNGImage.DecodeError.badFilter(type: 7, row: 0, offset: 0)) { try PNGImage(bytes: badFilter) }
    }
}

// MARK: - Helpers

/// An HTML file in a temporary directory of its own, removed when the value goes away.
private final class Page {
    let directory: TemporaryDirectory
    let url: URL

    init(_ html: String) throws {
        directory = try TemporaryDirectory()
        url = directory.url.appendingPathComponent("page-\(UUID().uuidString).html")
        try Data(html.utf8).write(to: url)
    }
}

private final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("landauer-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A minimal PNG encoder for the decoder's tests: filters each row as asked, deflates with zlib
/// and splits the result over several IDAT chunks.
private enum TinyPNG {
    static func encode(
        width: Int, height: Int, alpha: Bool, pixels: [UInt8], filters: [UInt8], idatPieces: Int = 1,
        bitDepth: UInt8 = 8, interlace: UInt8 = 0
    ) -> [UInt8] {
        let bpp = (alpha ? 4 : 3) * Int(bitDepth) / 8
        let stride = width * bpp
        var raw: [UInt8] = []
        for y in 0..<height {
            let row = Array(pixels[(y * stride)..<((y + 1) * stride)])
            let above = y > 0 ? Array(pixels[((y - 1) * stride)..<(y * stride)]) : [UInt8](repeating: 0, count: stride)
            let filter = filters[y]
            raw.append(filter)
            for i in 0..<stride {
                let a = i >= bpp ? Int(row[i - bpp]) : 0
                let b = Int(above[i])
                let c = i >= bpp ? Int(above[i - bpp]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4: predictor = paeth(a, b, c)
                default: predictor = 0  // deliberately invalid filter types store the bytes as they are
                }
                raw.append(UInt8(truncatingIfNeeded: Int(row[i]) - predictor))
            }
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, uLong(raw.count), 9)
        precondition(status == Z_OK, "compress2 failed: \(status)")
        compressed.removeSubrange(Int(compressedSize)...)

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let colourType: UInt8 = alpha ? 6 : 2
        png += chunk("IHDR", be32(width) + be32(height) + [bitDepth, colourType, 0, 0, interlace])
        png += chunk("tEXt", Array("Comment\0ancillary, skipped".utf8))
        let pieceSize = max(1, (compressed.count + idatPieces - 1) / idatPieces)
        var start = 0
        while start < compressed.count {
            let end = min(compressed.count, start + pieceSize)
            png += chunk("IDAT", Array(compressed[start..<end]))
            start = end
        }
        png += chunk("IEND", [])
        return png
    }

    /// Where the first chunk of type `name` starts (its length field), walking the chunks.
    static func offset(of name: String, in png: [UInt8]) -> Int? {
        var offset = 8
        while offset + 8 <= png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            if Array(png[(offset + 4)..<(offset + 8)]) == Array(name.utf8) { return offset }
            offset += 12 + length
        }
        return nil
    }

    /// Written independently of the decoder's: p = a + b - c, nearest of a, b, c in that order.
    private static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let distances = [(abs(p - a), a), (abs(p - b), b), (abs(p - c), c)]
        return distances.min { $0.0 < $1.0 }!.1  // min returns the first of equals
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeAndData = Array(type.utf8) + data
        let crc = typeAndData.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        return be32(data.count) + typeAndData + be32(Int(crc))
    }

    private static func be32(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
