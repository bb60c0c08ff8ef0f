import Foundation
import LandauerFirmware
import Testing

/// The golden vectors printed in docs/protocol.md, read from the document itself.
struct ProtocolDocument {
    struct Vector {
        var body: [UInt8]
        var frame: [UInt8]
        var wire: [UInt8]
    }
    var vectors: [String: Vector] = [:]

    static let path: String = {
        // Tests/LandauerFirmwareTests/GoldenVectorTests.swift → repository root
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/docs/protocol.md"
    }()

    static func load() throws -> ProtocolDocument {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var doc = ProtocolDocument()
        var name: String?
        var block: String?
        var hex = ""
        var frame: [UInt8] = []
        var body: [UInt8] = []
        var inText = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "```text" {
                inText = true
            } else if inText && line == "```" {
                inText = false
            } else if inText && line.hasPrefix("body: ") {
                let hex = line.dropFirst("body: ".count)
                body = hex == "(empty)" ? [] : hex.split(separator: " ").map { UInt8($0, radix: 16)! }
            } else if line.hasPrefix("<!-- golden: ") {
                name = String(line.dropFirst("<!-- golden: ".count).dropLast(" -->".count))
            } else if line == "```hex frame" || line == "```hex wire" {
                block = String(line.dropFirst("```hex ".count))
                hex = ""
            } else if line == "```", let b = block, let n = name {
                let bytes = hex.split(separator: " ").map { UInt8($0, radix: 16)! }
                if b == "frame" { frame = bytes } else { doc.vectors[n] = Vector(body: body, frame: frame, wire: bytes) }
                block = nil
            } else if block != nil {
                hex += " " + line
            }
        }
        return doc
    }
}

@Suite("Golden vectors of docs/protocol.md")
struct GoldenVectorTests {
    let doc: ProtocolDocument

    init() throws { doc = try ProtocolDocument.load() }

    @Test("the document and the code name the same messages, covering every opcode and the error")
    func documentCoversEveryMessage() {
        #expect(Set(doc.vectors.keys) == Set(goldenMessages.map(\.name)))
        var requestOpcodes = Set<UInt8>()
        var responseTypes = Set<UInt8>()
        for (_, m) in goldenMessages {
            switch m {
            case .request: requestOpcodes.insert(m.frame.type)
            case .response: responseTypes.insert(m.frame.type)
            }
        }
        #expect(requestOpcodes == Set(Opcode.allCases.map(\.rawValue)))
        #expect(responseTypes == Set(Opcode.allCases.map(\.responseType) + [FrameType.error]))
    }

    @Test("the encoder produces the documented bytes", arguments: goldenMessages.map(\.name))
    func encoderMatchesDocument(name: String) throws {
        let message = try #require(goldenMessages.first { $0.name == name }?.message)
        let vector = try #require(doc.vectors[name], "no golden vector \(name) in docs/protocol.md")
        #expect(message.frame.encoded() == vector.wire)
        // The frame before stuffing: header, body, CRC.
        var raw: [UInt8] = []
        vector.wire.dropLast().withUnsafeBufferPointer { try? COBS.decode($0, into: &raw) }
        #expect(raw == vector.frame)
        #expect(Array(raw[6..<(raw.count - 4)]) == message.frame.body)
        #expect(vector.body == message.frame.body, "the document's body line")
    }

    @Test("the decoder reads the documented bytes back to the message", arguments: goldenMessages.map(\.name))
    func decoderMatchesDocument(name: String) throws {
        let message = try #require(goldenMessages.first { $0.name == name }?.message)
        let vector = try #require(doc.vectors[name])
        let frame = try Frame.decode(vector.wire)
        #expect(frame == message.frame)
        switch message {
        case .request(let r, _): #expect(try Request.decode(frame) == r)
        case .response(let r, _, _): #expect(try Response.decode(frame) == r)
        }
    }

    @Test("every single-byte corruption of a golden frame is rejected", arguments: goldenMessages.map(\.name))
    func singleByteCorruptionsAreRejected(name: String) throws {
        let wire = try #require(doc.vectors[name]).wire.dropLast()  // without the delimiter
        var accepted: [String] = []
        var bytes = Array(wire)
        for i in bytes.indices {
            let original = bytes[i]
            for v in 0...255 where UInt8(v) != original {
                bytes[i] = UInt8(v)
                do {
                    _ = try Frame.decode(bytes)
                    accepted.append("byte \(i) = \(v)")
                } catch {
                    // typed ProtocolError: expected
                }
            }
            bytes[i] = original
        }
        #expect(accepted.isEmpty, "corruptions accepted: \(accepted.prefix(5))")
    }

    @Test("every truncation of a golden frame is rejected", arguments: goldenMessages.map(\.name))
    func truncationsAreRejected(name: String) throws {
        let wire = try #require(doc.vectors[name]).wire.dropLast()
        for n in 0..<wire.count {
            #expect(throws: ProtocolError.self) { try Frame.decode(Array(wire.prefix(n))) }
        }
    }

    @Test("a truncated or padded body is rejected by the message layer with its offset")
    func bodyLengthErrorsCarryOffsets() throws {
        let program = try #require(goldenMessages.first { $0.name == "program-pulses" }).message.frame
        var short = program
        short.body.removeLast()
        // item 1's `repeat` field (offset 2 + 17 + 15) lacks its second byte
        #expect(throws: ProtocolError.truncatedBody(type: 0x06, offset: 34)) { try Request.decode(short) }
        var long = program
        long.body.append(0)
        #expect(throws: ProtocolError.trailingBytes(type: 0x06, offset: UInt32(program.body.count))) { try Request.decode(long) }
    }
}
