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
        var codeIndex = out.count
        out.append(0)  // placeholder for the first code byte
        var code: UInt8 = 1
        for b in payload {
            if b == 0 {
                out[codeIndex] = code
                codeIndex = out.count
                out.append(0)
                code = 1
            } else {
                out.append(b)
                code &+= 1
                if code == 0xFF {
                    out[codeIndex] = code
                    codeIndex = out.count
                    out.append(0)
                    code = 1
                }
            }
        }
        out[codeIndex] = code
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
        while i < n {
            let code = Int(encoded[i])
            if code == 0 { throw .cobsZeroByte(offset: UInt32(i)) }
            let end = i + code
            if end > n { throw .cobsOverrun(offset: UInt32(i)) }
            var j = i + 1
            while j < end {
                let b = encoded[j]
                if b == 0 { throw .cobsZeroByte(offset: UInt32(j)) }
                out.append(b)
                j += 1
            }
            i = end
            if code != 0xFF && i < n { out.append(0) }
        }
    }
}
