import LandauerDrivers
import LandauerFirmware
import Testing

/// The board conformance checks (`BoardConformance`) against the firmware engine in process, on
/// the driver tests' front end, through a device loopback.
@Suite("Board conformance: in-process engine")
struct InProcessBoardConformanceTests {
    @Test(arguments: BoardCheck.allCases)
    func check(_ check: BoardCheck) async throws {
        let board = VirtualBoard()
        try await BoardConformance.run(
            check,
            on: BoardUnderTest(
                name: "in-process engine", link: board.transport(), serial: "TEST-0001", clockHertz: 100_000_000,
                maxRequestBody: UInt16(Frame.maxBody), attemptTimeout: .milliseconds(100)))
    }
}

/// The same checks, with the same expectations, against the STM32F405 firmware image booted in
/// QEMU (netduinoplus2), each on a freshly booted board. Needs qemu-system-arm and the firmware
/// toolchain (`make setup` installs them); `make test` builds the image first.
@Suite("Board conformance: STM32F405 image in QEMU", .serialized)
struct QEMUBoardConformanceTests {
    @Test(arguments: BoardCheck.allCases)
    func check(_ check: BoardCheck) async throws {
        let board = try await QEMUBoard.boot()
        defer { board.kill() }
        do {
            try await BoardConformance.run(check, on: board.underTest)
        } catch {
            Issue.record("QEMU said:\n\(board.qemuOutput)")
            await board.shutDown()
            throw error
        }
        await board.shutDown()
    }
}

/// The constant-step model devices of the second virtual image (`build.sh virtual-step`): each
/// device moves by a step of its own, drawn from the image's seed, within the model's window.
@Suite("STM32F405 image in QEMU: constant-step model devices", .serialized)
struct QEMUConstantStepDeviceTests {
    /// Boots the image, applies pulses through the wire protocol, returns the steps seen.
    func steps() async throws -> [Int] {
        let board = try await QEMUBoard.boot(.constantStep)
        defer { board.kill() }
        let c = BoardConformance.client(board.underTest)
        #expect(try await c.hello().serial == Array("LDR-QEMU-STEP".utf8))
        let before = try await BoardConformance.conductances(c, tile: 0)
        // One potentiating pulse on every G⁺ of tile 0, then one more on cell 0.
        let all = (0..<32).map { BoardConformance.pulse(row: UInt16($0 / 4), column: UInt16($0 % 4)) }
        #expect(try await c.program(pulses: all).pulsesApplied == 32)
        let once = try await BoardConformance.conductances(c, tile: 0)
        _ = try await c.program(pulses: [BoardConformance.pulse(row: 0, column: 0)])
        let twice = try await BoardConformance.conductances(c, tile: 0)
        let steps = (0..<32).map { once.plus[$0] - before.plus[$0] }
        #expect(steps.allSatisfy { (2...6).contains($0) }, "steps \(steps)")
        #expect(Set(steps).count > 1, "devices differ")
        #expect(twice.plus[0] - once.plus[0] == steps[0], "a device's step is constant")
        #expect(once.minus == before.minus)
        // The window: 0 … 64 units.
        _ = try await c.program(pulses: [
            BoardConformance.pulse(row: 0, column: 1, polarity: -1, repeat: 20),
            BoardConformance.pulse(row: 0, column: 2, repeat: 40),
        ])
        let bounded = try await BoardConformance.conductances(c, tile: 0)
        #expect(bounded.plus[1] == 0 && bounded.plus[2] == 64)
        await board.shutDown()
        return steps
    }

    @Test func devicesStepByTheirOwnSeededConstantSteps() async throws {
        let first = try await steps()
        let second = try await steps()
        #expect(first == second, "the same seed gives the same devices on every boot")
    }
}
