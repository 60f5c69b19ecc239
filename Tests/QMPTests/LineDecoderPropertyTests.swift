import QMP
import Testing

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random QMP-shaped messages.
enum MessageFactory {
    static let names = ["return", "error", "event", "data", "id", "QMP", "desc", "class", "bus", "qdev_id", "é✓", "a\"b", ""]
    static let strings = ["", "prelaunch", "DEVICE_DELETED", "/machine/peripheral/gpu0", "tab\t", "quote\"", "back\\slash",
                          "nl\n", "ünïcødé", "😀", "\u{1}\u{1f}"]

    static func value(depth: Int, _ rng: inout SeededGenerator) -> JSONValue {
        let choice = depth > 3 ? Int.random(in: 0..<5, using: &rng) : Int.random(in: 0..<7, using: &rng)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng) >> Int64.random(in: 0..<63, using: &rng))
        case 3: return .double(Double.random(in: -1e6...1e6, using: &rng))
        case 4: return .string(strings.randomElement(using: &rng)!)
        case 5: return .array((0..<Int.random(in: 0..<5, using: &rng)).map { _ in value(depth: depth + 1, &rng) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &rng) {
                members[names.randomElement(using: &rng)!] = value(depth: depth + 1, &rng)
            }
            return .object(members)
        }
    }

    static func message(_ rng: inout SeededGenerator) -> JSONValue {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return ["return": value(depth: 1, &rng), "id": .int(Int64.random(in: 1...1_000_000, using: &rng))]
        case 1: return ["error": ["class": "GenericError", "desc": value(depth: 3, &rng)], "id": 7]
        case 2:
            return ["event": "DEVICE_DELETED", "data": value(depth: 1, &rng),
                    "timestamp": ["seconds": 1_700_000_000, "microseconds": 5]]
        default: return value(depth: 0, &rng)
        }
    }
}

@Suite("Line decoder properties")
struct LineDecoderPropertyTests {
    /// Frames `stream` fed in `chunks`, decoding each line; returns values or the first failure.
    private func decode(_ stream: [UInt8], splitAt cuts: [Int], limit: Int = 1 << 20) -> [Result<JSONValue, JSONParseError>] {
        var framer = LineFramer(maximumLineLength: limit)
        var results: [Result<JSONValue, JSONParseError>] = []
        var start = 0
        for cut in cuts + [stream.count] where cut >= start {
            stream[start..<cut].withUnsafeBytes { chunk in
                try? framer.feed(chunk) { line in
                    results.append(Result { () throws(JSONParseError) in try JSONParser.parse(line) })
                }
            }
            start = cut
        }
        return results
    }

    @Test("valid messages split at random byte boundaries decode to the same values")
    func splitAnywhere() throws {
        var rng = SeededGenerator(state: 0x51A7E)
        for _ in 0..<500 {
            let messages = (0..<Int.random(in: 1...8, using: &rng)).map { _ in MessageFactory.message(&rng) }
            var stream: [UInt8] = []
            for message in messages {
                stream += JSONWriter.bytes(message)
                stream += Bool.random(using: &rng) ? [0x0A] : [0x0D, 0x0A]
            }
            let cuts = (0..<Int.random(in: 0...12, using: &rng)).map { _ in Int.random(in: 0...stream.count, using: &rng) }.sorted()
            let decoded = decode(stream, splitAt: cuts).map { try? $0.get() }
            #expect(decoded == messages, "seeded case failed for cuts \(cuts)")
        }
    }

    @Test("mutated messages never crash; what decodes is stable under re-encoding")
    func mutations() throws {
        var rng = SeededGenerator(state: 0xF022)
        var decodedCount = 0
        var refusedCount = 0
        for _ in 0..<4000 {
            var line = JSONWriter.bytes(MessageFactory.message(&rng))
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let position = Int.random(in: 0...line.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where position < line.count: line[position] = UInt8.random(in: 0...255, using: &rng)
                case 1 where position < line.count: line.remove(at: position)
                case 2: line.insert(Array("{}[]\",:\\ue0-.9ntf".utf8).randomElement(using: &rng)!, at: position)
                default: line = Array(line[..<position])
                }
            }
            line.removeAll { $0 == 0x0A }
            let cuts = (0..<3).map { _ in Int.random(in: 0...line.count, using: &rng) }.sorted()
            for result in decode(line + [0x0A], splitAt: cuts) {
                switch result {
                case .success(let value):
                    decodedCount += 1
                    #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value, "\(String(decoding: line, as: UTF8.self))")
                case .failure(let error):
                    refusedCount += 1
                    #expect(error.offset >= 0 && error.offset <= line.count)
                }
            }
        }
        // Both outcomes must actually be exercised.
        #expect(decodedCount > 100)
        #expect(refusedCount > 1000)
    }

    @Test("random bytes never crash the framer or the parser")
    func randomBytes() {
        var rng = SeededGenerator(state: 0xBEEF)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = decode(bytes + [0x0A], splitAt: [Int.random(in: 0...bytes.count, using: &rng)], limit: 150)
        }
    }

    @Test("a line longer than the limit is refused even when it arrives in small pieces")
    func limitAcrossChunks() {
        var framer = LineFramer(maximumLineLength: 100)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 30)
        var thrown: (any Error)?
        for _ in 0..<5 where thrown == nil {
            chunk.withUnsafeBytes { raw in
                do { try framer.feed(raw) { _ in } } catch { thrown = error }
            }
        }
        #expect(thrown as? LineFramer.LineTooLong == LineFramer.LineTooLong(limit: 100))
    }
}
