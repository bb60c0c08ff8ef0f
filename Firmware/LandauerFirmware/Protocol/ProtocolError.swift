/// Why a byte string is not a valid frame or message. Every case says where the fault is.
public enum ProtocolError: Error, Equatable, Sendable {
    /// A frame with no bytes between two delimiters.
    case emptyFrame
    /// A 0x00 byte inside a COBS-encoded frame, at this offset of the encoded frame.
    case cobsZeroByte(offset: UInt32)
    /// A COBS code byte at this offset points past the end of the frame.
    case cobsOverrun(offset: UInt32)
    /// A frame longer than the protocol allows (encoded or decoded size in bytes).
    case frameTooLong(size: UInt32, limit: UInt32)
    /// The decoded frame is shorter than a header and checksum (size in bytes).
    case frameTooShort(size: UInt32)
    /// The header's body length disagrees with the frame's size.
    case lengthMismatch(declared: UInt16, actual: UInt32)
    /// The CRC-32 carried by the frame differs from the one computed over it.
    case checksumMismatch(received: UInt32, computed: UInt32)
    /// The frame's protocol version is not one this side speaks.
    case unsupportedVersion(UInt8)
    /// The frame's type byte names no known request or response.
    case unknownType(UInt8)
    /// The body ended before a field at this offset of the body could be read.
    case truncatedBody(type: UInt8, offset: UInt32)
    /// The body has bytes left over after the last field (offset of the first extra byte).
    case trailingBytes(type: UInt8, offset: UInt32)
    /// A field holds a value the protocol does not allow (offset of the field in the body).
    case invalidField(type: UInt8, offset: UInt32)
}
