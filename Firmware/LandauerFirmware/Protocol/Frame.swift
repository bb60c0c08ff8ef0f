/// One frame of the board wire protocol, before COBS encoding.
///
/// ```
///  offset  size  field
///  0       1     protocol version (ProtocolVersion.current)
///  1       1     type: request opcode, or opcode | 0x80 for its response, or 0xFF for an error
///  2       2     sequence number, u16 LE (a response carries its request's)
///  4       2     body length n, u16 LE
///  6       n     body (layout per type, docs/protocol.md)
///  6+n     4     CRC-32/ISO-HDLC over bytes 0 ..< 6+n, u32 LE
/// ```
/// On the wire the whole frame is COBS-encoded and followed by one 0x00 delimiter.
public struct Frame: Equatable, Sendable {
    /// Type byte: request opcode, response (opcode | 0x80) or error (0xFF).
    public var type: UInt8
    /// Sequence number chosen by the host; a response echoes it.
    public var sequence: UInt16
    /// The message body.
    public var body: [UInt8]
    /// Protocol version carried in the header.
    public var version: UInt8

    /// Creates a frame of the current protocol version.
    @inlinable public init(type: UInt8, sequence: UInt16, body: [UInt8], version: UInt8 = ProtocolVersion.current) {
        self.type = type
        self.sequence = sequence
        self.body = body
        self.version = version
    }

    /// Header size in bytes.
    public static let headerSize = 6
    /// Checksum size in bytes.
    public static let checksumSize = 4
    /// Largest body in bytes (the length field is 16 bits).
    public static let maxBody = 65_535
    /// Largest decoded frame in bytes.
    public static let maxDecoded = headerSize + maxBody + checksumSize
    /// Largest encoded frame in bytes, without the delimiter.
    public static let maxEncoded = maxDecoded + maxDecoded / 254 + 1

    /// The frame as it goes on the wire: COBS-encoded, followed by the 0x00 delimiter.
    @inlinable public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Appends the wire form (COBS-encoded frame plus 0x00 delimiter) to `out`.
    ///
    /// One pass: the header, body and CRC are checksummed and stuffed straight into `out`.
    @inlinable public func encode(into out: inout [UInt8]) {
        let n = body.count
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
            version, type, UInt8(truncatingIfNeeded: sequence), UInt8(truncatingIfNeeded: sequence >> 8),
            UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8))
        let start = out.count
        let room = COBS.maxEncodedCount(Frame.headerSize + n + Frame.checksumSize) + 1
        out.append(contentsOf: repeatElement(0, count: room))
        let end = out.withUnsafeMutableBufferPointer { buf -> Int in
            let dst = buf.baseAddress!
            var stuffing = COBS.Stuffing(start: start)
            var crc = CRC32()
            withUnsafeBytes(of: &header) { raw in
                let h = raw.bindMemory(to: UInt8.self)
                crc.update(h)
                stuffing.append(h, to: dst)
            }
            body.withUnsafeBufferPointer { b in
                crc.update(b)
                stuffing.append(b, to: dst)
            }
            var c = crc.value.littleEndian
            withUnsafeBytes(of: &c) { stuffing.append($0.bindMemory(to: UInt8.self), to: dst) }
            stuffing.finish(dst)
            dst[stuffing.end] = 0  // delimiter
            return stuffing.end + 1
        }
        out.removeLast(start + room - end)
    }

    /// Decodes one encoded frame: the bytes between two delimiters (a trailing 0x00 is accepted
    /// and ignored). Checks COBS, size, length field and CRC; the version and type are returned
    /// as found, for the message layer to judge.
    @inlinable
    public static func decode(_ encoded: UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> Frame {
        try decodeWithChecksum(encoded).frame
    }

    /// Decodes one encoded frame like `decode(_:)` and also returns the CRC-32 it carried, which
    /// identifies the request's bytes (the firmware's retransmit cache keys on it).
    @inlinable
    public static func decodeWithChecksum(_ encoded: UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> (frame: Frame, checksum: UInt32) {
        var enc = encoded
        if let last = enc.last, last == 0 { enc = UnsafeBufferPointer(rebasing: enc.dropLast()) }
        if enc.count > maxEncoded { throw .frameTooLong(size: UInt32(enc.count), limit: UInt32(maxEncoded)) }
        var raw: [UInt8] = []
        raw.reserveCapacity(enc.count)
        try COBS.decode(enc, into: &raw)
        let frame = try decodeRaw(raw)
        let end = raw.count - checksumSize
        let crc = UInt32(raw[end]) | UInt32(raw[end + 1]) << 8 | UInt32(raw[end + 2]) << 16 | UInt32(raw[end + 3]) << 24
        return (frame, crc)
    }

    /// Decodes one encoded frame held in an array (see `decode(_:)` for buffers).
    @inlinable public static func decode(_ encoded: [UInt8]) throws(ProtocolError) -> Frame {
        try encoded.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> Frame in
            try decode(b)
        }
    }

    /// Decodes an un-stuffed frame (header, body, checksum).
    @inlinable static func decodeRaw(_ raw: [UInt8]) throws(ProtocolError) -> Frame {
        let size = raw.count
        if size < headerSize + checksumSize { throw .frameTooShort(size: UInt32(size)) }
        if size > maxDecoded { throw .frameTooLong(size: UInt32(size), limit: UInt32(maxDecoded)) }
        let declared = UInt16(raw[4]) | UInt16(raw[5]) << 8
        if Int(declared) + headerSize + checksumSize != size {
            throw .lengthMismatch(declared: declared, actual: UInt32(size - headerSize - checksumSize))
        }
        let end = size - checksumSize
        let received = UInt32(raw[end]) | UInt32(raw[end + 1]) << 8 | UInt32(raw[end + 2]) << 16
            | UInt32(raw[end + 3]) << 24
        let computed = raw.withUnsafeBufferPointer { CRC32.checksum(UnsafeBufferPointer(rebasing: $0[0..<end])) }
        if received != computed { throw .checksumMismatch(received: received, computed: computed) }
        let sequence = UInt16(raw[2]) | UInt16(raw[3]) << 8
        return Frame(
            type: raw[1], sequence: sequence, body: Array(raw[headerSize..<end]), version: raw[0])
    }
}

/// Protocol versions.
public enum ProtocolVersion {
    /// The version this build speaks.
    public static let current: UInt8 = 1
}

/// Splits a byte stream into encoded frames at 0x00 delimiters.
///
/// Bytes arrive in any pieces; each complete frame (delimiter excluded) is handed out whole.
/// Runs longer than `Frame.maxEncoded` without a delimiter are discarded up to the next
/// delimiter and reported once, so garbage on a serial line cannot grow memory.
public struct FrameSplitter: Sendable {
    @usableFromInline var pending: [UInt8] = []
    @usableFromInline var overflowing = false
    @usableFromInline var discarded: UInt32 = 0
    /// Longest run without a delimiter that is kept, in bytes.
    public let limit: Int

    /// Creates a splitter that discards runs longer than `limit` bytes.
    @inlinable public init(limit: Int = Frame.maxEncoded) { self.limit = limit }

    /// Bytes held waiting for a delimiter.
    @inlinable public var bufferedCount: Int { pending.count }

    /// One piece of the stream: a complete encoded frame, or a run that was too long.
    public enum Piece: Equatable, Sendable {
        case frame([UInt8])
        case overflow(discarded: UInt32)
    }

    /// Feeds bytes; calls `emit` for every complete piece, in order.
    @inlinable
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (Piece) -> Void) {
        var i = 0
        let n = bytes.count
        while i < n {
            // The next delimiter at or after i, or n.
            var j = i
            while j < n && bytes[j] != 0 { j += 1 }
            let run = j - i
            if overflowing {
                discarded &+= UInt32(truncatingIfNeeded: run)
            } else if pending.count + run > limit {
                overflowing = true
                discarded = UInt32(truncatingIfNeeded: pending.count + run)
                pending.removeAll(keepingCapacity: true)
            } else if run > 0 {
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<j]))
            }
            if j < n {  // a delimiter ends the current piece
                if overflowing {
                    emit(.overflow(discarded: discarded))
                    overflowing = false
                    discarded = 0
                } else if !pending.isEmpty {
                    emit(.frame(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            i = j + 1
        }
    }

    /// Feeds bytes from an array.
    @inlinable public mutating func feed(_ bytes: [UInt8], _ emit: (Piece) -> Void) {
        bytes.withUnsafeBufferPointer { feed($0, emit) }
    }
}
