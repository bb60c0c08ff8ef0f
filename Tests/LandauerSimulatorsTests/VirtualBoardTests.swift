import Foundation
import LandauerFirmware
import Testing
@testable import LandauerSimulators

/// A minimal host: encodes requests, feeds the board, decodes its answers.
struct TestHost {
    let board: VirtualBoard
    var sequence: UInt16 = 1

    mutating func request(_ r: Request) throws -> Response {
        let bytes = r.frame(sequence: sequence).encoded()
        sequence &+= 1
        let reply = board.receive(bytes)
        #expect(reply.last == 0)
        #expect(reply.filter { $0 == 0 }.count == 1)
        let frame = try Frame.decode(reply)
        #expect(frame.sequence == sequence &- 1)
        return try Response.decode(frame)
    }
}

@Suite("VirtualBoard")
struct VirtualBoardTests {
    @Test("HELLO returns the configured board's INFO")
    func hello() throws {
        let board = VirtualBoard(config: .default)
        var host = TestHost(board: board)
        guard case .info(let info) = try host.request(.hello(hostVersion: ProtocolVersion.current)) else {
            Issue.record("expected INFO")
            return
        }
        let hw = VirtualBoardConfig.default.frontEndDescription
        #expect(info.serial == hw.serial)
        // Physical values travel as f32.
        #expect(info.tiles.map(\.rows) == hw.tiles.map(\.rows) && info.tiles.map(\.columns) == hw.tiles.map(\.columns))
        for (a, b) in zip(info.tiles, hw.tiles) { #expect(abs(a.outputFullScale / b.outputFullScale - 1) < 1e-7) }
        #expect(info.adcBits == 9 && info.dacBits == 7 && info.markerLines == 8)
        #expect(info.absoluteLimits.maxPulseWidthNanoseconds == 1_000_000 && info.absoluteLimits.maxPulsesPerRequest == 1_000_000)
        #expect(abs(info.absoluteLimits.complianceCurrent / hw.absoluteLimits.complianceCurrent - 1) < 1e-7)
        // Link time (both directions) and firmware work moved the clock.
        #expect(board.now.picoseconds > 0)
        #expect(board.ledger.energy(of: .mcuActive).value > 0)
    }

    @Test("a batched matrix-vector request through the real engine equals the product within ½ LSB")
    func matrixVectorThroughEngine() throws {
        let board = VirtualBoard(config: .ideal)
        board.withFrontEnd { fillPattern(&$0, tile: 0) }
        let tile = board.tiles[0]
        var host = TestHost(board: board)
        let count = 16
        let inputs = (0..<(count * 64)).map { Int16(($0 * 37) % 127 - 63) }
        let request = MatrixVectorRead(tile: 0, orientation: .forward, vectorCount: UInt16(count), vectorLength: 64, inputFullScale: Volts(0.25), inputs: inputs)
        guard case .matrixVector(let result) = try host.request(.matrixVector(request)) else {
            Issue.record("expected a matrix-vector result")
            return
        }
        #expect(result.outputs.count == count * 32)
        let lsb = result.amperesPerCode.value
        let fs = Double(Float(0.25))  // the wire carries f32
        for v in 0..<count {
            let volts = (0..<64).map { Volts(Double(inputs[v * 64 + $0]) / 63 * fs) }
            let truth = tile.idealOutputCurrents(inputs: volts, orientation: .forward)
            for j in 0..<32 {
                #expect(abs(Double(result.outputs[v * 32 + j]) * lsb - truth[j].value) <= 0.5 * lsb * (1 + 1e-6))
            }
        }
        let counters = board.counters
        #expect(counters.vectorReads == UInt64(count))
        #expect(board.ledger.count(of: .adcConversion) == UInt64(count * 32))
        #expect(board.ledger.count(of: .dacUpdate) == UInt64(count * 64))
    }

    @Test("an outer-product update books coincidences and half-select disturb")
    func outerProduct() throws {
        let board = VirtualBoard(config: .ideal)
        var host = TestHost(board: board)
        let bl: UInt16 = 8
        let rowSigns = (0..<32).map { Int8($0 % 3 - 1) }
        let columnSigns = (0..<10).map { Int8($0 % 2 == 0 ? 1 : -1) }
        let rowTrains = (0..<32).map { UInt8(truncatingIfNeeded: 0x5A &+ $0) }
        let columnTrains = (0..<10).map { UInt8(truncatingIfNeeded: 0xC3 &+ 7 &* $0) }
        let update = OuterProductUpdate(tile: 1, mode: .plusSigned, trainLength: bl, amplitude: Volts(1.5), widthNanoseconds: 100, rowSigns: rowSigns, columnSigns: columnSigns, rowTrains: rowTrains, columnTrains: columnTrains)
        let before = board.tiles[1].conductances(side: .plus)
        guard case .outerProduct(let result) = try host.request(.outerProduct(update)) else {
            Issue.record("expected an outer-product result")
            return
        }
        // Expected coincidences: row and column both fire and both signs non-zero.
        var expected = 0
        var moved = [Double](repeating: 0, count: 320)
        for slot in 0..<Int(bl) {
            for i in 0..<32 where rowSigns[i] != 0 && OuterProductUpdate.fires(rowTrains, line: i, slot: slot, length: bl) {
                for j in 0..<10 where OuterProductUpdate.fires(columnTrains, line: j, slot: slot, length: bl) {
                    expected += 1
                    moved[i * 10 + j] += Double(rowSigns[i] * columnSigns[j]) * 0.19e-6
                }
            }
        }
        #expect(result.coincidences == UInt32(expected))
        let after = board.tiles[1].conductances(side: .plus)
        for k in 0..<320 { #expect(abs(after[k].value - before[k].value - moved[k]) < 1e-15) }
        let ledger = board.ledger
        #expect(ledger.count(of: .programmingPulse) == UInt64(expected))
        #expect(ledger.count(of: .halfSelectDisturb) > 0)
        #expect(ledger.energy(of: .halfSelectDisturb).value > 0)
        #expect(board.tiles[1].conductances(side: .minus) == VirtualBoard(config: .ideal).tiles[1].conductances(side: .minus))
    }

    @Test("link bytes, host think time and markers advance the clock and the idle energy")
    func linkAndIdle() throws {
        var config = VirtualBoardConfig.ideal
        config.linkBytesPerSecond = 1e6
        let board = VirtualBoard(config: config)
        var host = TestHost(board: board)
        let ping = Request.ping([1, 2, 3, 4, 5, 6, 7, 8])
        let requestBytes = ping.frame(sequence: 1).encoded().count
        let t0 = board.now
        _ = try host.request(ping)
        let elapsed = board.now.picoseconds - t0.picoseconds
        let responseBytes = Response.pong([1, 2, 3, 4, 5, 6, 7, 8]).frame(answering: .ping, sequence: 1).encoded().count
        // Link time alone is 1 µs per byte each way; the firmware's cycles add a few µs.
        #expect(elapsed > UInt64(requestBytes + responseBytes) * 1_000_000)
        #expect(elapsed < UInt64(requestBytes + responseBytes) * 1_000_000 + 50_000_000)

        let before = board.ledger
        board.advance(by: Seconds(0.002))
        let d = board.ledger.subtracting(before)
        let idle = (10e-3 + 1.5e-3) * 0.002
        #expect(abs(d.total.value - idle) < 1e-12 * idle)
        #expect(d.energy(of: .mcuActive).value == 0)

        guard case .marker(let ack) = try host.request(.marker(5)) else {
            Issue.record("expected a marker ack")
            return
        }
        #expect(board.markers == 5)
        #expect(board.markerHistory.last?.time.nanoseconds == ack.timestampNanoseconds)
        #expect(abs(board.waveform.totalEnergy.value - board.ledger.total.value) <= 1e-9 * board.ledger.total.value)
    }

    @Test("a retransmitted programming request is answered from the cache and not executed twice")
    func retransmit() throws {
        let board = VirtualBoard(config: .ideal)
        let pulses = [PulseCommand(tile: 0, side: .plus, row: 2, column: 3, polarity: 1, amplitude: Volts(1.5), widthNanoseconds: 100, repeat: 3)]
        let bytes = Request.programPulses(pulses).frame(sequence: 9).encoded()
        let g0 = board.tiles[0].conductance(row: 2, column: 3, side: .plus).value
        let first = board.receive(bytes)
        let second = board.receive(bytes)
        #expect(first == second)
        #expect(abs(board.tiles[0].conductance(row: 2, column: 3, side: .plus).value - (g0 + 3 * 0.19e-6)) < 1e-15)
        #expect(board.ledger.count(of: .programmingPulse) == 3)
    }

    @Test("several frames in one write are answered in order")
    func pipelined() throws {
        let board = VirtualBoard(config: .ideal)
        var bytes: [UInt8] = []
        for s in 1...3 { bytes += Request.ping([UInt8(s)]).frame(sequence: UInt16(s)).encoded() }
        var replies: [[UInt8]] = []
        board.receive(bytes) { replies.append($0) }
        #expect(replies.count == 3)
        for (k, r) in replies.enumerated() {
            let f = try Frame.decode(r)
            #expect(f.sequence == UInt16(k + 1))
            #expect(try Response.decode(f) == .pong([UInt8(k + 1)]))
        }
    }
}
