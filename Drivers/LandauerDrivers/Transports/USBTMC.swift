/// USB Test & Measurement Class constants: interface class, message IDs, class requests, statuses.
///
/// Sources: the USBTMC 1.0 specification as implemented by pyvisa-py (`protocols/usbtmc.py`) and
/// the Linux kernel (`drivers/usb/class/usbtmc.c`).
public enum USBTMC {
    /// The interface class of a USBTMC interface (application specific).
    public static let interfaceClass: UInt8 = 0xFE
    /// The interface subclass of a USBTMC interface.
    public static let interfaceSubclass: UInt8 = 0x03
    /// Interface protocol 0: plain USBTMC.
    public static let protocolUSBTMC: UInt8 = 0x00
    /// Interface protocol 1: USB488 (IEEE 488.2 subclass: status byte, triggers, remote/local).
    public static let protocolUSB488: UInt8 = 0x01
    /// bmRequestType of class requests to the interface, device to host.
    public static let interfaceRequestType: UInt8 = 0xA1
    /// bmRequestType of class requests to an endpoint (the abort requests), device to host.
    public static let endpointRequestType: UInt8 = 0xA2

    /// The bulk message IDs (byte 0 of every bulk header).
    public enum MessageID: UInt8, Sendable, CaseIterable {
        /// Host to device: a device-dependent message (a command).
        case devDepMsgOut = 1
        /// Host to device: a request for the device to send a response; device to host: the response
        /// (`DEV_DEP_MSG_IN` has the same value).
        case requestDevDepMsgIn = 2
        /// Host to device: vendor-specific data.
        case vendorSpecificOut = 126
        /// Host to device: a request for vendor-specific data; device to host: that data.
        case requestVendorSpecificIn = 127
        /// USB488: a TRIGGER message.
        case trigger = 128
    }

    /// The class-specific control requests (bRequest).
    public enum Request: UInt8, Sendable, CaseIterable {
        /// Abort the bulk-OUT transfer with a given bTag (to the bulk-OUT endpoint).
        case initiateAbortBulkOut = 1
        /// Poll an abort of bulk-OUT.
        case checkAbortBulkOutStatus = 2
        /// Abort the bulk-IN transfer with a given bTag (to the bulk-IN endpoint).
        case initiateAbortBulkIn = 3
        /// Poll an abort of bulk-IN.
        case checkAbortBulkInStatus = 4
        /// Clear the device's input and output buffers (to the interface).
        case initiateClear = 5
        /// Poll a clear.
        case checkClearStatus = 6
        /// Read the interface's capabilities (0x18 bytes).
        case getCapabilities = 7
        /// Blink the device's activity indicator.
        case indicatorPulse = 64
        /// USB488: read the IEEE 488 status byte.
        case readStatusByte = 128
        /// USB488: remote enable control.
        case renControl = 160
        /// USB488: go to local.
        case goToLocal = 161
        /// USB488: local lockout.
        case localLockout = 162

        /// The length of the data stage a device answers with.
        public var responseLength: Int {
            switch self {
            case .initiateAbortBulkOut, .initiateAbortBulkIn, .checkClearStatus: 2
            case .checkAbortBulkOutStatus, .checkAbortBulkInStatus: 8
            case .initiateClear, .indicatorPulse, .renControl, .goToLocal, .localLockout: 1
            case .getCapabilities: 0x18
            case .readStatusByte: 3
            }
        }
    }

    /// USBTMC_status values (byte 0 of every class request's answer).
    public enum Status: UInt8, Sendable, CaseIterable {
        /// The request succeeded.
        case success = 0x01
        /// The request is still being processed; poll again.
        case pending = 0x02
        /// The request failed for a reason the specification does not name.
        case failed = 0x80
        /// No transfer is in progress (abort requests), or the bTag does not match it.
        case transferNotInProgress = 0x81
        /// No split transaction is in progress.
        case splitNotInProgress = 0x82
        /// A split transaction is in progress.
        case splitInProgress = 0x83
    }

    /// The bTag after `tag`: 1…255, wrapping 255 → 1 (0 is never used).
    public static func nextTag(after tag: UInt8) -> UInt8 { tag == 255 ? 1 : tag + 1 }

    /// A complete `DEV_DEP_MSG_OUT` transfer: the header, `payload` and zero padding to a multiple of 4.
    public static func devDepMsgOut(_ payload: [UInt8], tag: UInt8, endOfMessage: Bool = true) -> [UInt8] {
        let header = USBTMCHeader.devDepMsgOut(tag: tag, transferSize: UInt32(payload.count), endOfMessage: endOfMessage)
        return header.bytes + payload + [UInt8](repeating: 0, count: padding(payload.count))
    }

    /// Zero bytes that bring a payload of `count` bytes to a multiple of 4.
    public static func padding(_ count: Int) -> Int { (4 - count % 4) % 4 }
}

/// The 12-byte header that starts every USBTMC bulk transfer.
///
/// ```
/// 0  MsgID       1 DEV_DEP_MSG_OUT, 2 REQUEST_DEV_DEP_MSG_IN / DEV_DEP_MSG_IN, 126/127 vendor, 128 TRIGGER
/// 1  bTag        1…255
/// 2  bTagInverse ~bTag
/// 3  0x00
/// 4  TransferSize (u32 LE): payload bytes, without header and padding (for a request: the most wanted)
/// 8  bmTransferAttributes: bit 0 EOM (messages); bit 1 TermCharEnabled (REQUEST_DEV_DEP_MSG_IN)
/// 9  TermChar (REQUEST_DEV_DEP_MSG_IN), else 0
/// 10 0x00 0x00
/// ```
/// `*IDN?\n` with bTag 1 is `01 01 FE 00 06 00 00 00 01 00 00 00` followed by the payload and two
/// bytes of padding.
public struct USBTMCHeader: Sendable, Equatable {
    /// The header's length in bytes.
    public static let size = 12

    /// Byte 0, the message ID (raw, so vendor and unknown IDs can be represented).
    public var messageID: UInt8
    /// Byte 1, the transfer's tag; byte 2 is its inverse.
    public var tag: UInt8
    /// Bytes 4…7: payload size, or for a request the largest response wanted.
    public var transferSize: UInt32
    /// Byte 8, bmTransferAttributes.
    public var attributes: UInt8
    /// Byte 9, TermChar (meaningful when attribute bit 1 is set in a request).
    public var termChar: UInt8

    /// Creates a header from its fields.
    public init(messageID: UInt8, tag: UInt8, transferSize: UInt32, attributes: UInt8 = 0, termChar: UInt8 = 0) {
        self.messageID = messageID
        self.tag = tag
        self.transferSize = transferSize
        self.attributes = attributes
        self.termChar = termChar
    }

    /// A `DEV_DEP_MSG_OUT` header for a payload of `transferSize` bytes.
    public static func devDepMsgOut(tag: UInt8, transferSize: UInt32, endOfMessage: Bool = true) -> USBTMCHeader {
        USBTMCHeader(
            messageID: USBTMC.MessageID.devDepMsgOut.rawValue, tag: tag, transferSize: transferSize,
            attributes: endOfMessage ? 0x01 : 0x00)
    }

    /// A `REQUEST_DEV_DEP_MSG_IN` header asking for at most `maxSize` bytes, ending early at
    /// `termChar` when one is given (and the device supports it).
    public static func requestDevDepMsgIn(tag: UInt8, maxSize: UInt32, termChar: UInt8? = nil) -> USBTMCHeader {
        USBTMCHeader(
            messageID: USBTMC.MessageID.requestDevDepMsgIn.rawValue, tag: tag, transferSize: maxSize,
            attributes: termChar == nil ? 0 : 0x02, termChar: termChar ?? 0)
    }

    /// The EOM bit: this transfer ends the message.
    public var endOfMessage: Bool { attributes & 0x01 != 0 }

    /// The message ID as a known case, nil for others.
    public var knownMessageID: USBTMC.MessageID? { USBTMC.MessageID(rawValue: messageID) }

    /// The 12 header bytes.
    public var bytes: [UInt8] {
        [
            messageID, tag, ~tag, 0,
            UInt8(truncatingIfNeeded: transferSize), UInt8(truncatingIfNeeded: transferSize >> 8),
            UInt8(truncatingIfNeeded: transferSize >> 16), UInt8(truncatingIfNeeded: transferSize >> 24),
            attributes, termChar, 0, 0,
        ]
    }

    /// Parses the first 12 bytes of `transfer`.
    ///
    /// - Throws: `.malformedResponse` when there are fewer than 12 bytes, the tag's inverse does
    ///   not match, or byte 3 is not zero.
    public init(parsing transfer: [UInt8]) throws(USBTMCError) {
        guard transfer.count >= Self.size else {
            throw .malformedResponse(reason: "a bulk header needs 12 bytes, got \(transfer.count)", bytes: transfer)
        }
        let b = Array(transfer.prefix(Self.size))
        guard b[2] == ~b[1] else {
            throw .malformedResponse(
                reason: "bTagInverse \(b[2]) is not the inverse of bTag \(b[1])", bytes: b)
        }
        guard b[3] == 0 else { throw .malformedResponse(reason: "header byte 3 must be 0, is \(b[3])", bytes: b) }
        self.init(
            messageID: b[0], tag: b[1],
            transferSize: UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24,
            attributes: b[8], termChar: b[9])
    }
}

/// Why a USBTMC exchange failed.
public enum USBTMCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bulk or control transfer itself failed (timeout, disconnection, …).
    case transport(TransportError)
    /// The device answered with bytes that break the protocol (bad header, wrong tag, short data).
    case malformedResponse(reason: String, bytes: [UInt8])
    /// A class request was answered with a status other than success.
    case requestFailed(USBTMC.Request, status: UInt8)
    /// A class request stayed pending beyond the time allowed.
    case stillPending(USBTMC.Request, elapsed: Duration)

    /// A sentence a person can act on.
    public var description: String {
        switch self {
        case .transport(let e): return e.description
        case .malformedResponse(let reason, let bytes):
            let shown = bytes.prefix(16).map { hex2($0) }.joined(separator: " ")
            return "the instrument's answer breaks the USBTMC protocol: \(reason) (bytes: \(shown))"
        case .requestFailed(let request, let status):
            let name = USBTMC.Status(rawValue: status).map { "\($0)" } ?? "0x\(hex2(status))"
            return "USBTMC \(request) was refused with status \(name); clear the instrument and retry"
        case .stillPending(let request, let elapsed):
            return "USBTMC \(request) was still pending after \(DurationText.format(elapsed)); the instrument may be hung"
        }
    }
}

/// Two lowercase hexadecimal digits.
func hex2(_ v: UInt8) -> String {
    let d = String(v, radix: 16)
    return d.count == 1 ? "0" + d : d
}

/// What a USBTMC interface can do (the GET_CAPABILITIES answer).
public struct USBTMCCapabilities: Sendable, Equatable {
    /// bcdUSBTMC, such as 0x0100.
    public var usbtmcVersion: UInt16
    /// The interface accepts INDICATOR_PULSE.
    public var indicatorPulse: Bool
    /// The interface only talks (sends).
    public var talkOnly: Bool
    /// The interface only listens (receives).
    public var listenOnly: Bool
    /// The device honours TermChar in REQUEST_DEV_DEP_MSG_IN.
    public var termChar: Bool
    /// bcdUSB488 (0 for plain USBTMC).
    public var usb488Version: UInt16
    /// USB488: the device understands SCPI.
    public var scpi: Bool

    /// Parses the 0x18-byte answer (after its status byte was checked).
    public init(parsing b: [UInt8]) throws(USBTMCError) {
        guard b.count >= 16 else {
            throw .malformedResponse(reason: "GET_CAPABILITIES needs at least 16 bytes, got \(b.count)", bytes: b)
        }
        usbtmcVersion = UInt16(b[2]) | UInt16(b[3]) << 8
        indicatorPulse = b[4] & 0x04 != 0
        talkOnly = b[4] & 0x02 != 0
        listenOnly = b[4] & 0x01 != 0
        termChar = b[5] & 0x01 != 0
        usb488Version = UInt16(b[12]) | UInt16(b[13]) << 8
        scpi = b[15] & 0x08 != 0
    }
}
