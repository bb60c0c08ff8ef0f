import LandauerDrivers
import Testing

@Suite("TransportError")
struct TransportErrorTests {
    static let read = TransportErrorContext(
        endpoint: "serial:/dev/ttyACM0", operation: .read, timeout: .milliseconds(250), elapsed: .milliseconds(251),
        bytesTransferred: 0)

    @Test("every case names the endpoint and the operation and keeps its context", arguments: [
        TransportError.timeout(read),
        .closed(read),
        .disconnected(read, reason: "EOF"),
        .io(read, errno: 5, message: "Input/output error"),
        .cancelled(read),
        .invalidArgument(read, reason: "maxCount must be at least 1"),
    ])
    func descriptionsNameEndpointAndOperation(_ error: TransportError) {
        #expect(error.description.contains("serial:/dev/ttyACM0"))
        #expect(error.description.contains("read"))
        #expect(error.context == Self.read)
    }

    @Test func timeoutSaysHowLongAndWhatToCheck() {
        let text = TransportError.timeout(Self.read).description
        #expect(text.contains("timed out after 251 ms"))
        #expect(text.contains("timeout of 250 ms"))
        #expect(text.contains("0 bytes received"))
        #expect(text.contains("powered"))
    }

    @Test func writeCountsBytesSent() {
        var c = Self.read
        c.operation = .write
        c.bytesTransferred = 12
        #expect(TransportError.io(c, errno: 5, message: "Input/output error").description
            .contains("Input/output error (errno 5), 12 bytes sent"))
    }

    @Test func openFailureAdvisesOnAccess() {
        let c = TransportErrorContext(endpoint: "serial:/dev/ttyUSB9", operation: .open)
        let text = TransportError.openFailed(c, errno: 13, reason: "permission denied").description
        #expect(text.hasPrefix("cannot open serial:/dev/ttyUSB9: permission denied (errno 13)"))
        #expect(text.contains("this user may access it"))
    }

    @Test("only link failures suggest reconnecting", arguments: [
        (TransportError.disconnected(read, reason: "EOF"), true),
        (.io(read, errno: 5, message: "EIO"), true),
        (.timeout(read), false),
        (.closed(read), false),
        (.cancelled(read), false),
    ])
    func reconnectAdvice(_ error: TransportError, _ expected: Bool) {
        #expect(error.suggestsReconnect == expected)
    }
}
