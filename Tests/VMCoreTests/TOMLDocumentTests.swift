import Testing
@testable import VMCore

private typealias Node = TOMLDocument.Node

private func parse(_ text: String) throws -> [(key: String, value: Node)] {
    try TOMLDocument(parsing: text).root
}

private func value(_ text: String) throws -> Node? {
    try parse("v = \(text)").first?.value
}

/// The error for `bytes`, as `line:column: message`, or nil when they parse.
private func syntaxError(_ bytes: [UInt8]) -> String? {
    do {
        _ = try TOMLDocument(parsing: bytes)
        return nil
    } catch {
        return "\(error.line):\(error.column): \(error.message)"
    }
}

private func syntaxError(_ text: String) -> String? { syntaxError(Array(text.utf8)) }

// MARK: Values from the TOML 1.0 specification's examples

@Test(arguments: [
    (#""I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF.""#,
     Node.string("I'm a string. \"You can quote me\". Name\tJos\u{E9}\nLocation\tSF.")),
    (#"'C:\Users\nodejs\templates'"#, .string(#"C:\Users\nodejs\templates"#)),
    (#"'<\i\c*\s*>'"#, .string(#"<\i\c*\s*>"#)),
    ("\"\"\"\nRoses are red\nViolets are blue\"\"\"", .string("Roses are red\nViolets are blue")),
    ("\"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\"", .string("The quick brown fox jumps over the lazy dog.")),
    ("\"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"", .string("Here are two quotation marks: \"\". Simple enough.")),
    ("\"\"\"Here are fifteen quotation marks: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"", .string("Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\".")),
    ("\"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"", .string("\"This,\" she said, \"is just a pointless statement.\"")),
    ("'''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''", .string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n")),
    ("''''That,' she said, 'is still pointless.''''", .string("'That,' she said, 'is still pointless.'")),
    ("\"a\\r\\nb\"", .string("a\r\nb")),
    ("\"\\U0001F600\"", .string("\u{1F600}")),
    ("+99", .integer(99)), ("42", .integer(42)), ("0", .integer(0)), ("-17", .integer(-17)),
    ("1_000", .integer(1000)), ("5_349_221", .integer(5_349_221)), ("1_2_3_4_5", .integer(12345)),
    ("0xDEADBEEF", .integer(0xDEADBEEF)), ("0xdead_beef", .integer(0xDEADBEEF)), ("0o755", .integer(0o755)),
    ("0b11010110", .integer(0b11010110)), ("9223372036854775807", .integer(Int.max)),
    ("-9223372036854775808", .integer(Int.min)),
    ("+1.0", .float(1)), ("3.1415", .float(3.1415)), ("-0.01", .float(-0.01)), ("5e+22", .float(5e22)),
    ("1e06", .float(1e6)), ("-2E-2", .float(-0.02)), ("6.626e-34", .float(6.626e-34)),
    ("224_617.445_991_228", .float(224_617.445_991_228)), ("inf", .float(.infinity)), ("-inf", .float(-.infinity)),
    ("true", .boolean(true)), ("false", .boolean(false)),
    ("1979-05-27T07:32:00Z", .other(typeName: "date-time")), ("1979-05-27T00:32:00-07:00", .other(typeName: "date-time")),
    ("1979-05-27T00:32:00.999999-07:00", .other(typeName: "date-time")), ("1979-05-27 07:32:00Z", .other(typeName: "date-time")),
    ("1979-05-27T07:32:00", .other(typeName: "date-time")), ("1979-05-27", .other(typeName: "date")),
    ("07:32:00", .other(typeName: "time")), ("00:32:00.999999", .other(typeName: "time")),
    ("[ 1, 2, 3 ]", .array([.integer(1), .integer(2), .integer(3)])),
    ("[ [ 1, 2 ], [\"a\", 'b'] ]", .array([.array([.integer(1), .integer(2)]), .array([.string("a"), .string("b")])])),
    ("[\n  1,\n  2, # a comment\n]", .array([.integer(1), .integer(2)])),
    ("[ 0.1, \"x\", { x = 1 } ]", .array([.float(0.1), .string("x"), .table([(key: "x", value: .integer(1))])])),
    ("{ first = \"Tom\", last = \"Preston-Werner\" }", .table([(key: "first", value: .string("Tom")), (key: "last", value: .string("Preston-Werner"))])),
    ("{ type.name = \"pug\" }", .table([(key: "type", value: .table([(key: "name", value: .string("pug"))]))])),
    ("{}", .table([])),
])
private func specValues(text: String, expected: Node) throws {
    #expect(try value(text) == expected)
}

@Test func nanIsAFloat() throws {
    guard case .float(let number) = try value("-nan") else { Issue.record("nan is not a float"); return }
    #expect(number.isNaN)
}

@Test func keysTablesAndArraysOfTables() throws {
    let root = try parse("""
        "127.0.0.1" = "value"
        'quoted "value"' = "value"
        "" = "blank"
        physical.color = "orange"
        site."google.com" = true
        3.14159 = "pi"
        [dog."tater.man"]
        type.name = "pug"
        [x.y.z.w]
        [x]
        [fruit]
        apple.color = "red"
        [fruit.apple.texture]
        smooth = true
        [[products]]
        name = "Hammer"
        [[products]]
        [[products]]
        name = "Nail"
        """)
    #expect(root.map(\.key) == ["127.0.0.1", "quoted \"value\"", "", "physical", "site", "3", "dog", "x", "fruit", "products"])
    #expect(root[5].value == .table([(key: "14159", value: .string("pi"))]))
    #expect(root[4].value == .table([(key: "google.com", value: .boolean(true))]))
    #expect(root[8].value == .table([(key: "apple", value: .table([
        (key: "color", value: .string("red")), (key: "texture", value: .table([(key: "smooth", value: .boolean(true))])),
    ]))]))
    #expect(root[9].value == .array([.table([(key: "name", value: .string("Hammer"))]), .table([]), .table([(key: "name", value: .string("Nail"))])]))
}

@Test func nestedArraysOfTables() throws {
    let document = try TOMLDocument(parsing: """
        [[fruits]]
        name = "apple"
        [fruits.physical]
        color = "red"
        [[fruits.varieties]]
        name = "red delicious"
        [[fruits.varieties]]
        name = "granny smith"
        [[fruits]]
        name = "banana"
        list = [{ a = 1 }, { a = 2 }]
        """)
    guard case .array(let fruits) = document.root[0].value, fruits.count == 2,
          case .table(let apple) = fruits[0] else { Issue.record("fruits is not an array of two tables"); return }
    #expect(apple.map(\.key) == ["name", "physical", "varieties"])
    #expect(document.lines["fruits[0].varieties[1].name"] == 8)
    #expect(document.lines["fruits[1].list[1].a"] == 11)
    #expect(document.lines["fruits"] == 1 && document.lines["fruits[1]"] == 9)
    #expect(document.lines["fruits[2]"] == nil && document.lines["nothing"] == nil)
}

// MARK: Errors, with line and column

@Test(arguments: [
    // Regressions from issue 17: toml++ aborted on these.
    ("[[[gpu]]]\n", "1:3: expected a key, found '['"),
    ("[\u{1B}x]\n", "1:2: expected a key, found the control character U+001B"),
    ("name = \"a\"\n\0memory = 1\n", "2:1: expected a key, found a NUL byte"),
    ("name = \"a\0b\"\n", "1:10: a NUL byte is not allowed in a string; write it as an escape"),
    ("# \0\n", "1:3: a NUL byte is not allowed in a comment"),
    ("a = 1\r\nb = 2\r\n[c\r\n", "3:3: expected ']' to end the header, found the end of the line"),
    ("a = 1\rb = 2\n", "1:6: a carriage return must be followed by a line feed"),
    // Duplicates and redefinitions.
    ("name = 1\nname = 2\n", "2:1: 'name' is defined twice (first on line 1)"),
    ("[a]\nb = 1\n[a]\n", "3:2: 'a' is already defined as a table (line 1); a table is defined once"),
    ("[fruit]\napple.color = 1\n[fruit.apple]\n", "3:8: 'apple' is already defined by dotted keys (line 2); a table is defined once"),
    ("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", "4:3: 'c' is a table defined by a header on line 1; add the key in that section"),
    ("a = {}\n[a.b]\n", "2:2: 'a' is an inline table (line 1), which cannot be added to"),
    ("a = { b = 1 }\na.c = 2\n", "2:1: 'a' is an inline table (line 1), which cannot be added to"),
    ("a = [1]\n[[a]]\n", "2:3: 'a' is already defined (line 1) and is not an array of tables"),
    ("[[a]]\n[a]\n", "2:2: 'a' is already defined (line 1) and is not a table"),
    ("a = 1\na.b = 2\n", "2:1: 'a' is already a value (line 1), not a table"),
    ("[[t.a]]\n[t]\na.b = 1\n", "3:1: 'a' is an array of tables (line 1); a dotted key cannot add to it"),
    // Values.
    ("a = \n", "1:5: expected a value, found the end of the line"),
    ("a = 1 b = 2\n", "1:7: expected the end of the line after the value, found 'b'"),
    ("a = 012\n", "1:5: '012': a decimal number cannot start with 0"),
    ("a = 9223372036854775808\n", "1:5: '9223372036854775808': this integer does not fit in 64 bits"),
    ("a = 1__0\n", "1:5: '1__0': this is not a TOML value; quote text (\"...\"), or write a number, true or false"),
    ("a = .5\n", "1:5: '.5': this is not a TOML value; quote text (\"...\"), or write a number, true or false"),
    ("a = 1979-02-30\n", "1:5: '1979-02-30': this is not a TOML value; quote text (\"...\"), or write a number, true or false"),
    ("a = \"open\n", "1:5: this string is not closed on its line; end it with \""),
    ("a = \"\\x41\"\n", "1:6: \\x is not an escape TOML knows; write \\\\ for a backslash"),
    ("a = \"\\uD800\"\n", "1:6: \\u escape d800 is not a Unicode scalar value"),
    ("a = \"\"\"abc\n", "1:5: this multi-line string is never closed; end it with \"\"\""),
    ("a = '''x''''''\n", "1:9: too many quotes at the end of a multi-line string"),
    ("a = [1 2]\n", "1:8: expected ',' or ']' in the array, found '2'"),
    ("a = [1,\n", "1:5: this array is never closed; end it with ]"),
    ("a = { b = 1, }\n", "1:14: an inline table cannot end with a comma"),
    ("a = { b = 1\n}\n", "1:12: an inline table must be on one line; use a [table] section for more keys"),
    ("\"\"\"k\"\"\" = 1\n", "1:1: a key cannot be a multi-line string"),
    ("a = \"é\" x\n", "1:9: expected the end of the line after the value, found 'x'"),
])
private func invalidDocuments(text: String, expected: String) {
    #expect(syntaxError(text) == expected)
}

@Test func invalidUTF8IsRejectedWithItsLine() {
    #expect(syntaxError(Array("a = 1\nb = \"".utf8) + [0xFF] + Array("\"\n".utf8)) == "2:6: the file is not valid UTF-8 here; save it as UTF-8")
    #expect(syntaxError([0xC0, 0x80]) == "1:1: the file is not valid UTF-8 here; save it as UTF-8")
}

@Test func crlfFilesKeepTheirLineNumbers() throws {
    let lines = try TOMLDocument(parsing: "a = 1\r\n\r\n[t]\r\nb = \"\"\"x\r\ny\"\"\"\r\nc = 2\r\n").lines
    #expect(lines["a"] == 1 && lines["t"] == 3 && lines["t.b"] == 4 && lines["t.c"] == 6)
    #expect(try TOMLDocument(parsing: "b = \"\"\"x\r\ny\"\"\"").root[0].value == .string("x\ny"))
}

@Test func deepNestingIsRefusedNotACrash() {
    #expect(syntaxError("a = " + String(repeating: "[", count: 100_000)) == "1:37: values nest more than 32 levels deep")
    #expect(syntaxError(String(repeating: "a.", count: 100_000) + "a = 1")?.hasSuffix("tables nest more than 32 levels deep") == true)
    #expect(syntaxError("[" + String(repeating: "a.", count: 40) + "a]")?.hasSuffix("tables nest more than 32 levels deep") == true)
}

@Test func aOneMegabyteKeyParses() throws {
    let key = String(repeating: "k", count: 1 << 20)
    let document = try TOMLDocument(parsing: "[\(key)]\n\(key) = 1\n")
    #expect(document.lines["\(key).\(key)"] == 2)
}
