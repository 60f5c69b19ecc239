import Foundation
import QMP
import Testing

@Suite("JSON parser and writer")
struct JSONTests {
    @Test("parses a QMP greeting")
    func greeting() throws {
        let value = try JSONParser.parse(
            #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#)
        let greeting = try #require(QMPGreeting(message: value))
        #expect(greeting.version == QMPVersion(major: 7, minor: 2, micro: 22))
        #expect(greeting.capabilities == ["oob"])
    }

    @Test(
        "scalars",
        arguments: [
            ("0", JSONValue.int(0)), ("-12", .int(-12)), ("9223372036854775807", .int(.max)),
            ("-9223372036854775808", .int(.min)), ("18446744073709551616", .double(18446744073709551616)),
            ("1.5", .double(1.5)), ("-2e3", .double(-2000)), ("true", .bool(true)), ("false", .bool(false)),
            ("null", .null), (#""a\"b\\c\/\n\u00e9\ud83d\ude00""#, .string("a\"b\\c/\né😀")), (" [ ] ", .array([])),
            ("{}", .object([:])),
        ])
    func scalars(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test(
        "refuses invalid JSON",
        arguments: [
            "", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"", "\"\\ud800\"",
            "\"\u{01}\"", "1 2", "{\"a\":1}}", "[" + String(repeating: "[", count: 300), "nul", "+1", ".5", "1e400",
        ])
    func refuses(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("refuses invalid UTF-8 in strings")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22]) }
    }

    @Test("writer output parses back to the same value, compact and pretty")
    func roundTrip() throws {
        let value: JSONValue = [
            "execute": "device_add",
            "arguments": ["driver": "virtio-net-pci", "id": "net0", "bus": "rp1", "n": 3, "f": 0.25, "on": true,
                          "nothing": nil, "list": [1, "two", [:]], "text": "tab\tquote\"ctl\u{1}"],
        ]
        #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
        #expect(try JSONParser.parse(JSONWriter.pretty(value)) == value)
        #expect(JSONWriter.string(["b": 1, "a": [true]], sortedKeys: true) == #"{"a":[true],"b":1}"#)
    }

    @Test("agrees with Foundation's JSONSerialization on a real query-pci reply")
    func agreesWithFoundation() throws {
        let text = QMPSamples.queryPCIReply
        let ours = try JSONParser.parse(text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let reencoded = try JSONSerialization.data(withJSONObject: theirs)
        #expect(try JSONParser.parse(Array(reencoded)) == ours)
    }

    @Test("Codable round trip")
    func codable() throws {
        let value: JSONValue = ["a": [1, 2.5, "x", nil, false]]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
    }
}
