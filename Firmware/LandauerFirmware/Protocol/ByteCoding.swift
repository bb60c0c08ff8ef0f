/// Appends little-endian fields to a byte array.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// Starts an empty writer with room for `capacity` bytes.
    @inlinable public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func u8(_ v: UInt8) { bytes.append(v) }
    @inlinable public mutating func i8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
    @inlinable public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }
    @inlinable public mutating func i16(_ v: Int16) { u16(UInt16(bitPattern: v)) }
    @inlinable public mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
    }
    @inlinable public mutating func u64(_ v: UInt64) {
        u32(UInt32(truncatingIfNeeded: v))
        u32(UInt32(truncatingIfNeeded: v >> 32))
    }
    /// An IEEE 754 binary32 value, little-endian.
    @inlinable public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    @inlinable public mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
    /// A run of signed 16-bit values, little-endian.
    @inlinable public mutating func i16s(_ v: [Int16]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: v.count * 2))
        bytes.withUnsafeMutableBufferPointer { out in
            v.withUnsafeBufferPointer { src in
                var o = start
                for x in src {
                    let u = UInt16(bitPattern: x)
                    out[o] = UInt8(truncatingIfNeeded: u)
                    out[o + 1] = UInt8(truncatingIfNeeded: u >> 8)
                    o += 2
                }
            }
        }
    }
}

/// Reads little-endian fields from a message body, throwing where the body ends too early.
public struct ByteReader {
    @usableFromInline let bytes: [UInt8]
    /// Offset of the next unread byte.
    public var offset: Int
    @usableFromInline let type: UInt8

    /// Reads `bytes`, a body of the frame type `type` (for error context).
    @inlinable public init(_ bytes: [UInt8], type: UInt8) {
        self.bytes = bytes
        self.offset = 0
        self.type = type
    }

    /// Bytes not yet read.
    @inlinable public var remaining: Int { bytes.count - offset }

    @inlinable mutating func take(_ n: Int) throws(ProtocolError) -> Int {
        if n < 0 || bytes.count - offset < n { throw .truncatedBody(type: type, offset: UInt32(offset)) }
        let at = offset
        offset += n
        return at
    }

    @inlinable public mutating func u8() throws(ProtocolError) -> UInt8 { bytes[try take(1)] }
    @inlinable public mutating func i8() throws(ProtocolError) -> Int8 { Int8(bitPattern: try u8()) }
    @inlinable public mutating func u16() throws(ProtocolError) -> UInt16 {
        let i = try take(2)
        return UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
    }
    @inlinable public mutating func i16() throws(ProtocolError) -> Int16 { Int16(bitPattern: try u16()) }
    @inlinable public mutating func u32() throws(ProtocolError) -> UInt32 {
        let i = try take(4)
        return UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
            | UInt32(bytes[i + 3]) << 24
    }
    @inlinable public mutating func u64() throws(ProtocolError) -> UInt64 {
        let lo = try u32()
        let hi = try u32()
        return UInt64(lo) | UInt64(hi) << 32
    }
    @inlinable public mutating func f32() throws(ProtocolError) -> Float { Float(bitPattern: try u32()) }
    /// A finite binary32 value; NaN and infinities are refused as an invalid field.
    @inlinable public mutating func finiteF32() throws(ProtocolError) -> Float {
        let at = offset
        let v = try f32()
        if !v.isFinite { throw .invalidField(type: type, offset: UInt32(at)) }
        return v
    }
    @inlinable public mutating func raw(_ n: Int) throws(ProtocolError) -> [UInt8] {
        let i = try take(n)
        return Array(bytes[i..<(i + n)])
    }
    /// `count` signed 16-bit values, where `count` is a product of header fields computed in 64
    /// bits: it is checked against the bytes left before anything is allocated, so no header can
    /// overflow a 32-bit `Int` or ask for more memory than the body holds.
    @inlinable public mutating func i16s(_ count: UInt64) throws(ProtocolError) -> [Int16] {
        if count > UInt64(remaining / 2) { throw .truncatedBody(type: type, offset: UInt32(truncatingIfNeeded: bytes.count)) }
        return try i16s(Int(count))
    }

    /// `n` signed 16-bit values.
    @inlinable public mutating func i16s(_ n: Int) throws(ProtocolError) -> [Int16] {
        let i = try take(n * 2)
        return [Int16](unsafeUninitializedCapacity: n) { buf, count in
            bytes.withUnsafeBufferPointer { src in
                var o = i
                for k in 0..<n {
                    buf[k] = Int16(bitPattern: UInt16(src[o]) | UInt16(src[o + 1]) << 8)
                    o += 2
                }
            }
            count = n
        }
    }
    /// Throws an invalid-field error pointing at `fieldOffset`.
    @inlinable public func invalid(at fieldOffset: Int) -> ProtocolError {
        .invalidField(type: type, offset: UInt32(fieldOffset))
    }
    /// Throws when bytes are left over.
    @inlinable public func finish() throws(ProtocolError) {
        if offset != bytes.count { throw .trailingBytes(type: type, offset: UInt32(offset)) }
    }
}
