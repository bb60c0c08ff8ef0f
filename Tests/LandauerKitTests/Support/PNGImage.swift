import CZlib
import Foundation

/// A decoded PNG, for checking screenshots in tests: 8-bit RGB or RGBA, not interlaced (what
/// Chromium writes). Decoding checks the signature and every chunk's CRC-32, reads IHDR, joins the
/// IDAT chunks, inflates them with zlib and undoes the five scanline filters. Pixels are kept as
/// RGBA, row by row, top to bottom; an RGB image reads as opaque (alpha 255).
struct PNGImage: Sendable, Equatable {
    /// One pixel's colour, hashable so that colours can be counted.
    struct Colour: Hashable, Sendable, CustomStringConvertible {
        var r: UInt8
        var g: UInt8
        var b: UInt8
        var a: UInt8 = 255

        static let white = Colour(r: 255, g: 255, b: 255)
        static let black = Colour(r: 0, g: 0, b: 0)

        var description: String { "rgba(\(r), \(g), \(b), \(a))" }
    }

    /// What is wrong with the bytes, and where: byte offsets count from the start of the file
    /// (for filters, from the start of the inflated image data), chunks are named by their type.
    enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case unreadableFile(path: String, reason: String)
        case notPNG(firstBytes: [UInt8])
        case truncatedChunkHeader(offset: Int, available: Int)
        case chunkTooLong(chunk: String, offset: Int, length: UInt32)
        case truncatedChunk(chunk: String, offset: Int, declaredLength: Int, available: Int)
        case badCRC(chunk: String, offset: Int, stored: UInt32, computed: UInt32)
        case ihdrNotFirst(chunk: String, offset: Int)
        case badIHDR(offset: Int, reason: String)
        case unsupported(feature: String, chunk: String, offset: Int)
        case missingIDAT
        case missingIEND(afterOffset: Int)
        case badImageData(reason: String)
        case badFilter(type: UInt8, row: Int, offset: Int)

        var description: String {
            switch self {
            case .unreadableFile(let path, let reason):
                return "cannot read the PNG file \(path): \(reason)"
            case .notPNG(let first):
                return "not a PNG: the file starts with \(hex(first)), a PNG with 89 50 4e 47 0d 0a 1a 0a"
            case .truncatedChunkHeader(let offset, let available):
                return "truncated: a chunk header at byte \(offset) needs 8 bytes, \(available) remain"
            case .chunkTooLong(let chunk, let offset, let length):
                return "chunk \(chunk) at byte \(offset) declares \(length) bytes, more than PNG's 2^31-1"
            case .truncatedChunk(let chunk, let offset, let declared, let available):
                return "truncated: chunk \(chunk) at byte \(offset) declares \(declared) data bytes plus a CRC,"
                    + " only \(available) bytes follow its header"
            case .badCRC(let chunk, let offset, let stored, let computed):
                return "chunk \(chunk) at byte \(offset) is corrupt: stored CRC-32 \(hex32(stored)),"
                    + " computed \(hex32(computed))"
            case .ihdrNotFirst(let chunk, let offset):
                return "the first chunk must be IHDR, found \(chunk) at byte \(offset)"
            case .badIHDR(let offset, let reason):
                return "IHDR at byte \(offset) is invalid: \(reason)"
            case .unsupported(let feature, let chunk, let offset):
                return "unsupported PNG: \(feature) (chunk \(chunk) at byte \(offset));"
                    + " only 8-bit RGB and RGBA without interlacing are decoded"
            case .missingIDAT:
                return "the PNG has no IDAT chunk, so no image data"
            case .missingIEND(let offset):
                return "truncated: the chunks end at byte \(offset) without an IEND chunk"
            case .badImageData(let reason):
                return "the IDAT image data is corrupt: \(reason)"
            case .badFilter(let type, let row, let offset):
                return "row \(row) has filter type \(type) (byte \(offset) of the inflated data); PNG defines 0...4"
            }
        }
    }

    /// Width and height in pixels.
    let width: Int
    let height: Int
    /// Whether the file carried an alpha channel (colour type 6) rather than RGB (colour type 2).
    let hasAlpha: Bool
    /// Every pixel as r, g, b, a bytes, row-major from the top-left corner.
    let rgba: [UInt8]

    /// Pixel count above which decoding refuses (keeps the inflated size well inside 32 bits).
    static let maximumPixels = 1 << 28

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    init(contentsOf url: URL) throws(DecodeError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data))
    }

    init(data: Data) throws(DecodeError) {
        try self.init(bytes: [UInt8](data))
    }

    init(bytes: [UInt8]) throws(DecodeError) {
        guard bytes.count >= 8, Array(bytes[0..<8]) == Self.signature else {
            throw .notPNG(firstBytes: Array(bytes.prefix(8)))
        }
        var header: Header?
        var compressed: [UInt8] = []
        var sawIDAT = false
        var sawIEND = false
        var offset = 8
        while offset < bytes.count {
            let available = bytes.count - offset
            guard available >= 8 else { throw .truncatedChunkHeader(offset: offset, available: available) }
            let declared = Self.bigEndian32(bytes, at: offset)
            let type = Array(bytes[(offset + 4)..<(offset + 8)])
            let name = Self.chunkName(type)
            guard declared <= 0x7FFF_FFFF else { throw .chunkTooLong(chunk: name, offset: offset, length: declared) }
            let length = Int(declared)
            guard available - 8 >= length + 4 else {
                throw .truncatedChunk(chunk: name, offset: offset, declaredLength: length, available: available - 8)
            }
            let dataStart = offset + 8
            let stored = Self.bigEndian32(bytes, at: dataStart + length)
            let computed = Self.crc32(of: bytes, from: offset + 4, count: length + 4)
            guard stored == computed else {
                throw .badCRC(chunk: name, offset: offset, stored: stored, computed: computed)
            }
            let data = bytes[dataStart..<(dataStart + length)]

            if header == nil && name != "IHDR" { throw .ihdrNotFirst(chunk: name, offset: offset) }
            switch name {
            case "IHDR":
                guard header == nil else { throw .badIHDR(offset: offset, reason: "a second IHDR chunk") }
                header = try Header(data, offset: offset)
            case "IDAT":
                compressed.append(contentsOf: data)
                sawIDAT = true
            case "IEND":
                sawIEND = true
            case "PLTE":
                // A suggested palette for an RGB image: nothing to do for a true-colour decoder.
                break
            default:
                // Ancillary chunks (lower-case first letter) may be skipped; critical ones may not.
                if type[0] & 0x20 == 0 {
                    throw .unsupported(feature: "critical chunk \(name)", chunk: name, offset: offset)
                }
            }
            offset = dataStart + length + 4
            if sawIEND { break }  // Anything after IEND is not part of the image.
        }
        guard let header else { throw .missingIEND(afterOffset: offset) }
        guard sawIDAT else { throw .missingIDAT }
        guard sawIEND else { throw .missingIEND(afterOffset: offset) }

        let stride = header.width * header.bytesPerPixel
        let raw = try Self.inflate(compressed, expected: header.height * (stride + 1))
        width = header.width
        height = header.height
        hasAlpha = header.bytesPerPixel == 4
        rgba = try Self.unfilter(raw, width: header.width, height: header.height, bytesPerPixel: header.bytesPerPixel)
    }

    /// The pixel at column `x`, row `y` (0, 0 is the top-left corner).
    func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8, a: UInt8) {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) is outside \(width)×\(height)")
        let i = (y * width + x) * 4
        return (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3])
    }

    /// The pixel at column `x`, row `y` as a `Colour`.
    func colour(x: Int, y: Int) -> Colour {
        let p = pixel(x: x, y: y)
        return Colour(r: p.r, g: p.g, b: p.b, a: p.a)
    }

    /// The distinct colours, in the order first met reading rows top to bottom; stops once `limit`
    /// are found (so `distinctColours(limit: 2).count == 1` asks "is the image one flat colour?").
    func distinctColours(limit: Int = .max) -> [Colour] {
        guard limit > 0 else { return [] }
        var seen = Set<UInt32>()
        var found: [Colour] = []
        rgba.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                let key = Self.pack(p[i], p[i + 1], p[i + 2], p[i + 3])
                if seen.insert(key).inserted {
                    found.append(Colour(r: p[i], g: p[i + 1], b: p[i + 2], a: p[i + 3]))
                    if found.count >= limit { return }
                }
                i += 4
            }
        }
        return found
    }

    /// The fraction (0...1) of pixels whose red, green or blue differs from `background` by more
    /// than `tolerance` (alpha is not compared). About 0 for a blank page.
    func fractionDiffering(from background: (UInt8, UInt8, UInt8), tolerance: UInt8 = 0) -> Double {
        let (br, bg, bb) = (Int(background.0), Int(background.1), Int(background.2))
        let t = Int(tolerance)
        var differing = 0
        rgba.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                if abs(Int(p[i]) - br) > t || abs(Int(p[i + 1]) - bg) > t || abs(Int(p[i + 2]) - bb) > t {
                    differing += 1
                }
                i += 4
            }
        }
        return Double(differing) / Double(width * height)
    }

    /// The most frequent colour (ties go to the one met first).
    var dominantColour: Colour {
        var counts: [UInt32: Int] = [:]
        var order: [UInt32] = []
        rgba.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                let key = Self.pack(p[i], p[i + 1], p[i + 2], p[i + 3])
                if let n = counts[key] {
                    counts[key] = n + 1
                } else {
                    counts[key] = 1
                    order.append(key)
                }
                i += 4
            }
        }
        var best = order[0]
        for key in order where counts[key]! > counts[best]! { best = key }
        return Colour(r: UInt8(best >> 24), g: UInt8((best >> 16) & 0xFF), b: UInt8((best >> 8) & 0xFF), a: UInt8(best & 0xFF))
    }

    // MARK: - Decoding steps

    private struct Header {
        var width: Int
        var height: Int
        var bytesPerPixel: Int

        init(_ data: ArraySlice<UInt8>, offset: Int) throws(DecodeError) {
            guard data.count == 13 else { throw .badIHDR(offset: offset, reason: "\(data.count) data bytes, not 13") }
            let d = Array(data)
            let w = PNGImage.bigEndian32(d, at: 0), h = PNGImage.bigEndian32(d, at: 4)
            let (depth, colourType, compression, filter, interlace) = (d[8], d[9], d[10], d[11], d[12])
            guard w > 0, h > 0, w <= 0x7FFF_FFFF, h <= 0x7FFF_FFFF else {
                throw .badIHDR(offset: offset, reason: "size \(w)×\(h); each side must be 1...2^31-1")
            }
            guard compression == 0 else { throw .badIHDR(offset: offset, reason: "compression method \(compression), not 0") }
            guard filter == 0 else { throw .badIHDR(offset: offset, reason: "filter method \(filter), not 0") }
            switch colourType {
            case 2: bytesPerPixel = 3
            case 6: bytesPerPixel = 4
            case 0: throw .unsupported(feature: "colour type 0 (greyscale)", chunk: "IHDR", offset: offset)
            case 3: throw .unsupported(feature: "colour type 3 (palette)", chunk: "IHDR", offset: offset)
            case 4: throw .unsupported(feature: "colour type 4 (greyscale with alpha)", chunk: "IHDR", offset: offset)
            default: throw .badIHDR(offset: offset, reason: "colour type \(colourType) does not exist")
            }
            guard depth == 8 else {
                throw .unsupported(feature: "bit depth \(depth) (only 8 is decoded)", chunk: "IHDR", offset: offset)
            }
            switch interlace {
            case 0: break
            case 1: throw .unsupported(feature: "Adam7 interlacing", chunk: "IHDR", offset: offset)
            default: throw .badIHDR(offset: offset, reason: "interlace method \(interlace) does not exist")
            }
            guard Int(w) * Int(h) <= PNGImage.maximumPixels else {
                throw .unsupported(
                    feature: "\(w)×\(h) pixels, more than \(PNGImage.maximumPixels)", chunk: "IHDR", offset: offset)
            }
            width = Int(w)
            height = Int(h)
        }
    }

    /// Inflates the joined IDAT data, which must hold exactly `expected` bytes.
    private static func inflate(_ compressed: [UInt8], expected: Int) throws(DecodeError) -> [UInt8] {
        guard !compressed.isEmpty else { throw .badImageData(reason: "the IDAT chunks are empty") }
        guard compressed.count < Int(UInt32.max) else { throw .badImageData(reason: "more than 4 GiB of IDAT data") }
        var stream = z_stream()
        let started = inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard started == Z_OK else { throw .badImageData(reason: "zlib could not start inflating (\(started))") }
        defer { inflateEnd(&stream) }
        // One byte of room beyond what the header implies, to notice data that runs on.
        var output = [UInt8](repeating: 0, count: expected + 1)
        var input = compressed
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        let produced = Int(stream.total_out)
        switch status {
        case Z_STREAM_END:
            guard produced == expected else {
                throw .badImageData(reason: "inflates to \(produced) bytes; IHDR's size implies \(expected)")
            }
            return Array(output[0..<expected])
        case Z_BUF_ERROR where stream.avail_out == 0:
            throw .badImageData(reason: "inflates to more than the \(expected) bytes IHDR's size implies")
        case Z_BUF_ERROR:
            throw .badImageData(
                reason: "the zlib stream ends early, after \(compressed.count) compressed bytes gave \(produced)"
                    + " of \(expected) bytes")
        case Z_NEED_DICT:
            throw .badImageData(reason: "the zlib stream asks for a preset dictionary")
        default:
            let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw .badImageData(reason: "\(message) at compressed byte \(Int(stream.total_in)) of \(compressed.count)")
        }
    }

    /// Undoes each row's filter (None, Sub, Up, Average, Paeth) and widens to RGBA.
    private static func unfilter(_ raw: [UInt8], width: Int, height: Int, bytesPerPixel bpp: Int) throws(DecodeError)
        -> [UInt8]
    {
        let stride = width * bpp
        var current = [UInt8](repeating: 0, count: stride)
        var previous = [UInt8](repeating: 0, count: stride)
        var out = [UInt8](repeating: 255, count: width * height * 4)
        for row in 0..<height {
            let start = row * (stride + 1)
            let filter = raw[start]
            guard filter <= 4 else { throw .badFilter(type: filter, row: row, offset: start) }
            raw.withUnsafeBufferPointer { rawBuffer in
                current.withUnsafeMutableBufferPointer { cur in
                    previous.withUnsafeBufferPointer { prev in
                        let line = rawBuffer.baseAddress! + start + 1
                        let c = cur.baseAddress!, p = prev.baseAddress!
                        switch filter {
                        case 0:
                            for i in 0..<stride { c[i] = line[i] }
                        case 1:
                            for i in 0..<stride { c[i] = line[i] &+ (i >= bpp ? c[i - bpp] : 0) }
                        case 2:
                            for i in 0..<stride { c[i] = line[i] &+ p[i] }
                        case 3:
                            for i in 0..<stride {
                                let left = i >= bpp ? Int(c[i - bpp]) : 0
                                c[i] = line[i] &+ UInt8((left + Int(p[i])) >> 1)
                            }
                        default:
                            for i in 0..<stride {
                                let a = i >= bpp ? Int(c[i - bpp]) : 0
                                let b = Int(p[i])
                                let d = i >= bpp ? Int(p[i - bpp]) : 0
                                c[i] = line[i] &+ UInt8(paeth(a, b, d))
                            }
                        }
                    }
                }
            }
            current.withUnsafeBufferPointer { cur in
                out.withUnsafeMutableBufferPointer { o in
                    let c = cur.baseAddress!
                    let target = o.baseAddress! + row * width * 4
                    if bpp == 4 {
                        for i in 0..<stride { target[i] = c[i] }
                    } else {
                        for x in 0..<width {
                            target[x * 4] = c[x * 3]
                            target[x * 4 + 1] = c[x * 3 + 1]
                            target[x * 4 + 2] = c[x * 3 + 2]
                        }
                    }
                }
            }
            swap(&current, &previous)
        }
        return out
    }

    /// The Paeth predictor of PNG's filter type 4: whichever of left, up, upper-left is nearest
    /// to left + up - upper-left, preferring left, then up.
    static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        if pb <= pc { return b }
        return c
    }

    // MARK: - Bytes

    static func crc32(of bytes: [UInt8], from start: Int, count: Int) -> UInt32 {
        bytes.withUnsafeBufferPointer { p in
            UInt32(truncatingIfNeeded: CZlib.crc32(0, p.baseAddress! + start, uInt(count)))
        }
    }

    private static func bigEndian32(_ bytes: [UInt8], at i: Int) -> UInt32 {
        UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }

    private static func pack(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8) -> UInt32 {
        UInt32(r) << 24 | UInt32(g) << 16 | UInt32(b) << 8 | UInt32(a)
    }

    /// A chunk type as text when it is four ASCII letters, else as hex.
    private static func chunkName(_ type: [UInt8]) -> String {
        let letters = type.allSatisfy { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
        return letters ? String(decoding: type, as: UTF8.self) : hex(type)
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.isEmpty ? "(nothing)" : bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
}

private func hex32(_ value: UInt32) -> String { "0x" + String(value, radix: 16).leftPadded(to: 8) }

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
