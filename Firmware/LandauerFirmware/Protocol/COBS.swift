/// Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).
///
/// Encoding removes every 0x00 from a payload so that 0x00 can delimit frames on a byte stream.
/// Each block starts with a code byte n (1…255): n − 1 data bytes follow, and when n < 255 an
/// implicit 0x00 comes after them (except after the last block). Overhead is at most one byte
/// per 254 payload bytes, plus one.
public enum COBS {
    /// The largest encoded size of a payload of `count` bytes (without the trailing delimiter).
    @inlinable public static func maxEncodedCount(_ count: Int) -> Int { count + count / 254 + 1 }

    /// Appends the COBS encoding of `payload` to `out` (no delimiter).
    @inlinable
    public static func encode(_ payload: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var encoder = Encoder(into: &out, expectedCount: payload.count)
        encoder.append(payload)
        encoder.finish(into: &out)
    }

    /// An incremental COBS encoder: feed the payload in pieces, then `finish`.
    ///
    /// It writes into spare capacity of the destination array, so a frame is stuffed in one pass
    /// without an intermediate copy.
    public struct Encoder {
        @usableFromInline var buffer: [UInt8]
        @usableFromInline var codeIndex: Int
        @usableFromInline var code: UInt8

        /// Starts encoding at the end of `out` (whose bytes are taken over until `finish`), with
        /// room reserved for `expectedCount` payload bytes.
        @inlinable public init(into out: inout [UInt8], expectedCount: Int) {
            buffer = []
            swap(&buffer, &out)
            buffer.reserveCapacity(buffer.count + COBS.maxEncodedCount(expectedCount) + 1)
            codeIndex = buffer.count
            buffer.append(0)  // placeholder for the first code byte
            code = 1
        }

        /// Appends one payload byte.
        @inlinable public mutating func append(_ b: UInt8) {
            if b == 0 {
                buffer[codeIndex] = code
                codeIndex = buffer.count
                buffer.append(0)
                code = 1
            } else {
                buffer.append(b)
                code &+= 1
                if code == 0xFF {
                    buffer[codeIndex] = code
                    codeIndex = buffer.count
                    buffer.append(0)
                    code = 1
                }
            }
        }

        /// Appends payload bytes.
        @inlinable public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            var i = 0
            let n = bytes.count
            while i < n {
                // Copy the longest run of non-zero bytes that fits in the current block at once.
                let room = Int(0xFF - code)
                var j = i
                let limit = min(n, i + room)
                while j < limit && bytes[j] != 0 { j += 1 }
                if j > i {
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<j]))
                    code &+= UInt8(j - i)
                    if code == 0xFF {
                        buffer[codeIndex] = code
                        codeIndex = buffer.count
                        buffer.append(0)
                        code = 1
                    }
                    i = j
                }
                if i < n && bytes[i] == 0 {
                    append(0)
                    i += 1
                }
            }
        }

        /// Closes the last block and hands the bytes back to `out`.
        @inlinable public mutating func finish(into out: inout [UInt8]) {
            buffer[codeIndex] = code
            swap(&buffer, &out)
        }
    }

    /// Decodes one COBS-encoded frame (without its delimiter), appending the payload to `out`.
    ///
    /// - Throws: `.cobsZeroByte` for a 0x00 inside the frame, `.cobsOverrun` when a code byte
    ///   points past the end of the frame, `.emptyFrame` for no bytes at all.
    @inlinable
    public static func decode(_ encoded: UnsafeBufferPointer<UInt8>, into out: inout [UInt8])
        throws(ProtocolError)
    {
        if encoded.isEmpty { throw .emptyFrame }
        var i = 0
        let n = encoded.count
        out.reserveCapacity(out.count + n)
        while i < n {
            let code = Int(encoded[i])
            if code == 0 { throw .cobsZeroByte(offset: UInt32(i)) }
            let end = i + code
            if end > n { throw .cobsOverrun(offset: UInt32(i)) }
            var j = i + 1
            while j < end {
                if encoded[j] == 0 { throw .cobsZeroByte(offset: UInt32(j)) }
                j += 1
            }
            if code > 1 { out.append(contentsOf: UnsafeBufferPointer(rebasing: encoded[(i + 1)..<end])) }
            i = end
            if code != 0xFF && i < n { out.append(0) }
        }
    }
}
