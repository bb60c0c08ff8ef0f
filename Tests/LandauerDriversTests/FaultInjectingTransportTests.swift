import LandauerDrivers
import LandauerFirmware
import Testing

@Suite("FaultInjectingTransport")
struct FaultInjectingTransportTests {
    /// The n-th sample frame, as encoded on the wire.
    static func frame(_ n: UInt16) -> [UInt8] { Request.ping([1, 2, 3, UInt8(n & 0xFF), 5, 6]).frame(sequence: n).encoded() }

    /// Reads from `t` until it has been quiet for `quiet`.
    static func drain(_ t: any Transport, quiet: Duration = .milliseconds(30)) async -> [UInt8] {
        var all: [UInt8] = []
        while let bytes = try? await t.read(maxCount: 4096, timeout: quiet) { all += bytes }
        return all
    }

    /// Splits a stream into frames, delimiters included.
    static func frames(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0, omittingEmptySubsequences: true).map { Array($0) + [0] }
    }

    /// A faulty wrapper around the host end of a pipe; the device end is raw.
    static func rig(_ plan: FaultPlan = .none) -> (FaultInjectingTransport, InMemoryTransport) {
        let pipe = InMemoryPipe()
        return (FaultInjectingTransport(wrapping: pipe.host, plan: plan), pipe.device)
    }

    @Test func withoutFaultsBytesPassUnchanged() async throws {
        let (faulty, device) = Self.rig()
        try await device.write(Self.frame(0) + Self.frame(1), timeout: .seconds(1))
        #expect(await Self.drain(faulty) == Self.frame(0) + Self.frame(1))
        try await faulty.write(Self.frame(2), timeout: .seconds(1))
        #expect(await Self.drain(device) == Self.frame(2))
        #expect(faulty.injected.isEmpty)
        #expect(faulty.endpoint.contains("memory:host"))
    }

    @Test func dropLosesExactlyThatFrame() async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.drop, direction: .inbound)
        try await device.write(Self.frame(0) + Self.frame(1), timeout: .seconds(1))
        #expect(await Self.drain(faulty) == Self.frame(1))
        #expect(faulty.injected == [InjectedFault(direction: .inbound, frame: 0, fault: .drop, frameSize: Self.frame(0).count)])
    }

    @Test("corruption flips one byte, keeps the length, never makes a delimiter", arguments: [0, 3, 7, 1000])
    func corruptFlipsOneByte(_ offset: Int) async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.corrupt(offset: offset, mask: 0xFF), direction: .inbound)
        let original = Self.frame(9)
        try await device.write(original, timeout: .seconds(1))
        let got = await Self.drain(faulty)
        #expect(got.count == original.count)
        #expect(zip(got, original).filter { $0 != $1 }.count == 1)
        #expect(!got.dropLast().contains(0))
        #expect(throws: ProtocolError.self) { try Frame.decode(got) }
    }

    @Test func truncationKeepsAPrefixAndTheDelimiter() async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.truncate(keeping: 5), direction: .inbound)
        try await device.write(Self.frame(3), timeout: .seconds(1))
        #expect(await Self.drain(faulty) == Array(Self.frame(3).prefix(5)) + [0])
    }

    @Test func duplicationAndGarbage() async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.duplicate, direction: .inbound)
        faulty.inject(.garbage([0xDE, 0xAD]), direction: .inbound)
        try await device.write(Self.frame(0) + Self.frame(1), timeout: .seconds(1))
        #expect(await Self.drain(faulty) == Self.frame(0) + Self.frame(0) + [0xDE, 0xAD] + Self.frame(1))
    }

    @Test func aDelayedFrameIsOvertakenAndArrivesLater() async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.delay(.milliseconds(150)), direction: .inbound)
        let start = ContinuousClock.now
        try await device.write(Self.frame(0) + Self.frame(1), timeout: .seconds(1))
        #expect(try await faulty.read(maxCount: 4096, timeout: .seconds(1)) == Self.frame(1))
        let late = try await faulty.read(maxCount: 4096, timeout: .seconds(2))
        #expect(late == Self.frame(0))
        #expect(ContinuousClock.now - start >= .milliseconds(150))
    }

    @Test func aReadTimesOutWhileTheFrameIsHeldBack() async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.delay(.seconds(3600)), direction: .inbound)
        try await device.write(Self.frame(0), timeout: .seconds(1))
        let error = await caught { () async throws(TransportError) in
            _ = try await faulty.read(maxCount: 4096, timeout: .milliseconds(40))
        }
        #expect(error.map { if case .timeout = $0 { true } else { false } } == true)
        faulty.releaseDelayed()
        #expect(try await faulty.read(maxCount: 4096, timeout: .zero) == Self.frame(0))
    }

    @Test func outboundFaultsSpoilWrittenFrames() async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.corrupt(offset: 4, mask: 0x10), direction: .outbound)
        try await faulty.write(Self.frame(0), timeout: .seconds(1))
        try await faulty.write(Self.frame(1), timeout: .seconds(1))
        let got = Self.frames(await Self.drain(device))
        #expect(got.count == 2)
        #expect(got[0] != Self.frame(0) && got[0].count == Self.frame(0).count)
        #expect(got[1] == Self.frame(1))
        #expect(faulty.frameCount(.outbound) == 2)
    }

    @Test func partialFramesAreHeldUntilTheirDelimiter() async throws {
        let (faulty, device) = Self.rig()
        let f = Self.frame(4)
        try await faulty.write(Array(f.prefix(3)), timeout: .seconds(1))
        #expect(device.bufferedCount == 0)
        try await faulty.write(Array(f.dropFirst(3)), timeout: .seconds(1))
        #expect(await Self.drain(device) == f)
    }

    @Test func scriptedRulesHitTheirFrameOrdinal() async throws {
        let (faulty, device) = Self.rig(.scripted([FaultRule(.inbound, frame: 2, .drop), FaultRule(.outbound, frame: 0, .duplicate)]))
        try await device.write((0..<4).flatMap { Self.frame($0) }, timeout: .seconds(1))
        #expect(await Self.drain(faulty) == Self.frame(0) + Self.frame(1) + Self.frame(3))
        try await faulty.write(Self.frame(8), timeout: .seconds(1))
        #expect(await Self.drain(device) == Self.frame(8) + Self.frame(8))
    }

    /// Runs 200 frames each way through a randomly faulty link and returns what arrived and the log.
    static func soak(seed: UInt64) async throws -> ([UInt8], [UInt8], [InjectedFault]) {
        let rates = FaultRates(drop: 0.05, corrupt: 0.05, truncate: 0.05, duplicate: 0.05, garbage: 0.05)
        let (faulty, device) = rig(.random(seed: seed, outbound: rates, inbound: rates))
        for n in 0..<200 {
            try await faulty.write(frame(UInt16(n)), timeout: .seconds(1))
            try await device.write(frame(UInt16(1000 + n)), timeout: .seconds(1))
        }
        return (await drain(device), await drain(faulty), faulty.injected)
    }

    @Test func aSeededPlanSpoilsTheSameFramesEveryTime() async throws {
        let a = try await Self.soak(seed: 7)
        let b = try await Self.soak(seed: 7)
        let c = try await Self.soak(seed: 8)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.2 == b.2)
        #expect(a.2 != c.2)
        #expect(a.2.count > 20 && a.2.count < 120)
        #expect(Set(a.2.map(\.direction)) == [.inbound, .outbound])
    }

    @Test func aDisconnectionLastsUntilReconnect() async throws {
        let (faulty, device) = Self.rig()
        faulty.inject(.disconnect, direction: .inbound)
        try await device.write(Self.frame(0) + Self.frame(1), timeout: .seconds(1))
        let readError = await caught { () async throws(TransportError) in
            _ = try await faulty.read(maxCount: 4096, timeout: .seconds(1))
        }
        guard case .disconnected(_, let reason) = readError else {
            Issue.record("expected a disconnection, got \(String(describing: readError))")
            return
        }
        #expect(reason.contains("fault injection"))
        #expect(faulty.isDisconnected)
        let writeError = await caught { () async throws(TransportError) in
            try await faulty.write(Self.frame(5), timeout: .seconds(1))
        }
        #expect(writeError.map { if case .disconnected = $0 { true } else { false } } == true)
        #expect(device.bufferedCount == 0)

        await faulty.reconnect()
        #expect(!faulty.isDisconnected)
        #expect(faulty.reconnectCount == 1)
        try await device.write(Self.frame(2), timeout: .seconds(1))
        #expect(await Self.drain(faulty) == Self.frame(2))
    }

    @Test func closeClosesTheInnerTransport() async {
        let pipe = InMemoryPipe()
        let faulty = FaultInjectingTransport(wrapping: pipe.host)
        await faulty.close()
        let error = await caught { () async throws(TransportError) in
            try await pipe.device.write([1, 0], timeout: .seconds(1))
        }
        #expect(error.map { if case .disconnected = $0 { true } else { false } } == true)
    }
}
