import QMP
import Testing

@Suite("qmp-shell key=value syntax")
struct QMPShellSyntaxTests {
    @Test("values are typed like qmp-shell")
    func values() throws {
        let parsed = try QMPShellSyntax.parseArguments([
            "driver=virtio-net-pci", "id=net0", "bus=rp1", "addr=0x0", "port=4", "neg=-3", "ratio=0.5",
            "multifunction=true", "on=false", "opts={\"a\": [1, 2]}", "list=[\"x\"]", "empty=", "text=1.2.3",
            "eq=a=b", "word=nan",
        ])
        #expect(parsed == [
            "driver": "virtio-net-pci", "id": "net0", "bus": "rp1", "addr": 0, "port": 4, "neg": -3, "ratio": 0.5,
            "multifunction": true, "on": false, "opts": ["a": [1, 2]], "list": ["x"], "empty": "", "text": "1.2.3",
            "eq": "a=b", "word": "nan",
        ])
    }

    @Test("dotted keys build nested objects")
    func nested() throws {
        #expect(try QMPShellSyntax.parseArguments(["a.b=1", "a.c.d=x", "e=2"]) == ["a": ["b": 1, "c": ["d": "x"]], "e": 2])
    }

    @Test("errors name the offending word")
    func errors() {
        #expect(throws: QMPShellSyntax.ParseError.missingEquals("novalue")) { try QMPShellSyntax.parseArguments(["novalue"]) }
        #expect(throws: QMPShellSyntax.ParseError.emptyKey("=1")) { try QMPShellSyntax.parseArguments(["=1"]) }
        #expect(throws: QMPShellSyntax.ParseError.emptyKey("a..b=1")) { try QMPShellSyntax.parseArguments(["a..b=1"]) }
        #expect(throws: QMPShellSyntax.ParseError.conflictingKey("a")) { try QMPShellSyntax.parseArguments(["a=1", "a=2"]) }
        #expect(throws: QMPShellSyntax.ParseError.conflictingKey("a.b")) { try QMPShellSyntax.parseArguments(["a=1", "a.b=2"]) }
        #expect(throws: QMPShellSyntax.ParseError.self) { try QMPShellSyntax.parseArguments(["o={bad"]) }
    }
}
