/// The line settings of a serial port: baud rate, character format and flow control.
///
/// The default is the common 115 200 baud, 8 data bits, no parity, 1 stop bit, no flow control
/// ("8N1"), which is what USB CDC-ACM boards expect (they ignore the rate anyway).
public struct SerialSettings: Sendable, Equatable, CustomStringConvertible {
    /// The parity bit added to each character.
    public enum Parity: String, Sendable, CaseIterable {
        /// No parity bit.
        case none
        /// Odd parity.
        case odd
        /// Even parity.
        case even
        /// The parity bit is always 1.
        case mark
        /// The parity bit is always 0.
        case space
    }

    /// Stop bits after each character.
    public enum StopBits: Int, Sendable, CaseIterable {
        /// One stop bit.
        case one = 1
        /// Two stop bits.
        case two = 2
    }

    /// How the two ends pace each other.
    public enum FlowControl: String, Sendable, CaseIterable {
        /// No flow control.
        case none
        /// Software flow control with XON/XOFF bytes (do not use for binary protocols).
        case xonXoff
        /// Hardware flow control on the RTS/CTS lines.
        case rtsCts
        /// Hardware flow control on the DTR/DSR lines.
        case dtrDsr
    }

    /// Bits per second.
    public var baudRate: Int
    /// Data bits per character, 5…8.
    public var dataBits: Int
    /// The parity bit.
    public var parity: Parity
    /// Stop bits per character.
    public var stopBits: StopBits
    /// Flow control.
    public var flowControl: FlowControl

    /// Creates settings; the defaults are 115 200 baud 8N1 without flow control.
    public init(
        baudRate: Int = 115_200, dataBits: Int = 8, parity: Parity = .none, stopBits: StopBits = .one,
        flowControl: FlowControl = .none
    ) {
        self.baudRate = baudRate
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.flowControl = flowControl
    }

    /// What is wrong with these settings, or nil when they can be applied.
    public var problem: String? {
        if baudRate < 1 { return "the baud rate must be positive, not \(baudRate)" }
        if !(5...8).contains(dataBits) { return "data bits must be 5 to 8, not \(dataBits)" }
        return nil
    }

    /// The usual short form, such as `115200 8N1` or `9600 7E2 rts/cts`.
    public var description: String {
        let p: String
        switch parity {
        case .none: p = "N"
        case .odd: p = "O"
        case .even: p = "E"
        case .mark: p = "M"
        case .space: p = "S"
        }
        let flow: String
        switch flowControl {
        case .none: flow = ""
        case .xonXoff: flow = " xon/xoff"
        case .rtsCts: flow = " rts/cts"
        case .dtrDsr: flow = " dtr/dsr"
        }
        return "\(baudRate) \(dataBits)\(p)\(stopBits.rawValue)\(flow)"
    }
}
