/// Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).
///
/// Encoding removes every 0x00 from a payload so that 0x00 can delimit frames on a byte stream.
/// Each block starts with a code byte n (1…255): n − 1 data bytes follow, and when n < 255 an
/// implicit 0x00 comes after them (except after the last block). Overhead is at most one byte
/// per 254 payload bytes, plus one.
public enum COBS {
    /// The largest encoded size of a payload of `count` bytes (without the trailing delimiter).
    @inlinable public static func maxEncodedCount(_ count: Int) -> Int { count + count / 254 + 1 }

    /// Where an encoding in progress stands inside its destination buffer.
    public struct Stuffing {
        /// Offset of the current block's code byte.
        @usableFromInline var codeIndex: Int
        /// The current block's code so far (1 + data bytes).
        @usableFromInline var code: UInt8
        /// Offset of the next byte to write.
        @usableFromInline var position: Int

        /// Starts an encoding at offset `start` of a buffer.
        @inlinable public init(start: Int) {
            codeIndex = start
            code = 1
            position = start + 1
        }

        /// Offset just past the last byte written, once `finish` has run.
        @inlinable public var end: Int { position }

        /// Stuffs `bytes` into `dst`, which must have room for `maxEncodedCount` of everything.
        @inlinable public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, to dst: UnsafeMutablePointer<UInt8>) {
            var ci = codeIndex, c = code, p = position
            for b in bytes {
                if b == 0 {
                    dst[ci] = c
                    ci = p
                    p += 1
                    c = 1
                } else {
                    dst[p] = b
                    p += 1
                    c &+= 1
                    if c == 0xFF {
                        dst[ci] = c
                        ci = p
                        p += 1
                        c = 1
                    }
                }
            }
            codeIndex = ci
            code = c
            position = p
        }

        /// Closes the last block.
        @inlinable public mutating func finish(_ dst: UnsafeMutablePointer<UInt8>) { dst[codeIndex] = code }
    }

    /// Appends the COBS encoding of `payload` to `out` (no delimiter).
    @inlinable
    public static func encode(_ payload: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let start = out.count
        let room = maxEncodedCount(payload.count)
        out.append(contentsOf: repeatElement(0, count: room))
        let end = out.withUnsafeMutableBufferPointer { buf -> Int in
            var s = Stuffing(start: start)
            s.append(payload, to: buf.baseAddress!)
            s.finish(buf.baseAddress!)
            return s.end
        }
        out.removeLast(start + room - end)
    }

    /// Decodes one COBS-encoded frame (without its delimiter), appending the payload to `out`.
    ///
    /// - Throws: `.cobsZeroByte` for a 0x00 inside the frame, `.cobsOverrun` when a code byte
    ///   points past the end of the frame, `.emptyFrame` for no bytes at all. On error `out` is
    ///   left as it was.
    @inlinable
    public static func decode(_ encoded: UnsafeBufferPointer<UInt8>, into out: inout [UInt8])
        throws(ProtocolError)
    {
        let n = encoded.count
        if n == 0 { throw .emptyFrame }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: n))  // the payload is shorter than its encoding
        var failure: ProtocolError?
        let end = out.withUnsafeMutableBufferPointer { buf -> Int in
            let dst = buf.baseAddress!
            var o = start
            var i = 0
            while i < n {
                let code = Int(encoded[i])
                if code == 0 {
                    failure = .cobsZeroByte(offset: UInt32(i))
                    return start
                }
                let blockEnd = i + code
                if blockEnd > n {
                    failure = .cobsOverrun(offset: UInt32(i))
                    return start
                }
                var j = i + 1
                while j < blockEnd {
                    let b = encoded[j]
                    if b == 0 {
                        failure = .cobsZeroByte(offset: UInt32(j))
                        return start
                    }
                    dst[o] = b
                    o += 1
                    j += 1
                }
                i = blockEnd
                if code != 0xFF && i < n {
                    dst[o] = 0
                    o += 1
                }
            }
            return o
        }
        out.removeLast(start + n - end)
        if let failure { throw failure }
    }
}
