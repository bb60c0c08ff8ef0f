import LandauerDrivers
import LandauerSimulators

/// A virtual SCPI instrument behind USBTMC bulk endpoints: the device side of the class protocol
/// (DEV_DEP_MSG_OUT in, REQUEST_DEV_DEP_MSG_IN answered by DEV_DEP_MSG_IN) around an
/// `SCPIDevice`, served on the device end of an `InMemoryBulkPair`.
public enum VirtualUSBTMCInstrument {
    /// Answers the bulk transfers arriving at `device` with `scpi` until the pair closes or the task is cancelled.
    public static func serve(_ device: InMemoryBulkDevice, scpi: @escaping @Sendable ([UInt8]) -> [UInt8]) async {
        var message: [UInt8] = []
        var pending: [UInt8] = []
        while !Task.isCancelled {
            let transfer: [UInt8]
            do {
                transfer = try await device.receive(timeout: .milliseconds(250))
            } catch {
                if case .timeout = error { continue }
                return
            }
            guard let header = try? USBTMCHeader(parsing: transfer) else { continue }  // not a header: ignored, as a device would
            switch header.knownMessageID {
            case .devDepMsgOut?:
                let size = Int(header.transferSize)
                message += transfer.dropFirst(12).prefix(size)
                if header.endOfMessage {
                    pending += scpi(message)
                    message.removeAll()
                }
            case .requestDevDepMsgIn?:
                let n = min(Int(header.transferSize), pending.count)
                let payload = Array(pending.prefix(n))
                pending.removeFirst(n)
                // DEV_DEP_MSG_IN has the value of REQUEST_DEV_DEP_MSG_IN.
                let reply = USBTMCHeader(messageID: USBTMC.MessageID.requestDevDepMsgIn.rawValue, tag: header.tag, transferSize: UInt32(n), attributes: pending.isEmpty ? 1 : 0)
                device.send(reply.bytes + payload + [UInt8](repeating: 0, count: USBTMC.padding(n)))
            default:
                continue
            }
        }
    }
}
