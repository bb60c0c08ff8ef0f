import CZlib

/// In-memory gzip decompression through zlib, for the bundled digits set and gzipped IDX files.
enum Gzip {
    /// Decompresses `input`, a gzip file held in memory (several concatenated members are read one
    /// after the other, as `gunzip` does; a zlib stream is accepted too). `path` names the file in
    /// errors: a wrong header, corrupt data and a stream that ends early are each a `.badGzip`.
    static func decompress(_ input: [UInt8], path: String) throws(DataSetError) -> [UInt8] {
        guard !input.isEmpty else { throw .badGzip(path: path, reason: "the file is empty") }
        var stream = z_stream()
        // windowBits 15 + 32: the largest window, and detect a gzip or zlib header automatically.
        let started = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard started == Z_OK else {
            throw .badGzip(path: path, reason: "zlib could not start inflating (inflateInit2 returned \(started))")
        }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        output.reserveCapacity(input.count * 4)
        var window = [UInt8](repeating: 0, count: 1 << 18)
        let failure: String? = input.withUnsafeBufferPointer { source in
            window.withUnsafeMutableBufferPointer { buffer in
                inflateAll(&stream, source: source, buffer: buffer, into: &output)
            }
        }
        if let failure { throw .badGzip(path: path, reason: failure) }
        return output
    }

    /// Runs `inflate` over all of `source`, appending what it produces to `output` through `buffer`;
    /// returns why it failed, or nil once every byte of the input belongs to a complete member.
    private static func inflateAll(
        _ stream: inout z_stream, source: UnsafeBufferPointer<UInt8>, buffer: UnsafeMutableBufferPointer<UInt8>,
        into output: inout [UInt8]
    ) -> String? {
        guard let base = source.baseAddress, let out = buffer.baseAddress else { return "nothing to inflate" }
        // zlib counts input in 32-bit units; feed larger inputs in pieces.
        let piece = 1 << 30
        var fed = 0
        func feed() {
            let n = min(piece, source.count - fed)
            stream.next_in = UnsafeMutablePointer(mutating: base + fed)
            stream.avail_in = UInt32(n)
            fed += n
        }
        feed()
        var members = 0
        while true {
            stream.next_out = out
            stream.avail_out = UInt32(buffer.count)
            let status = inflate(&stream, Z_NO_FLUSH)
            output.append(contentsOf: buffer[0..<(buffer.count - Int(stream.avail_out))])
            let consumed = fed - Int(stream.avail_in)
            switch status {
            case Z_STREAM_END:
                members += 1
                if stream.avail_in == 0 && fed == source.count { return nil }
                if stream.avail_in == 0 { feed() }
                inflateReset(&stream)
            case Z_OK, Z_BUF_ERROR:
                if stream.avail_in == 0 && fed < source.count {
                    feed()
                } else if stream.avail_out != 0 {
                    // zlib had room to write and no input left, so the stream ends early.
                    return stream.avail_in == 0
                        ? "truncated: the data ends after \(source.count) bytes, inside member \(members + 1)"
                            + " (\(output.count) bytes decompressed so far)"
                        : "zlib made no progress at byte \(consumed)"
                }
            case Z_NEED_DICT:
                return "member \(members + 1) needs a preset dictionary (not a gzip file)"
            case Z_MEM_ERROR:
                return "out of memory after \(output.count) decompressed bytes"
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                return members == 0 && consumed < 10
                    ? "\(message) (a gzip file starts with the bytes 1f 8b)"
                    : "\(message) at compressed byte \(consumed) of \(source.count), in member \(members + 1)"
            }
        }
    }
}
