import Testing
@testable import VMCore

/// `[tpm]`: parsed, validated with file:line and fix, and defaulted off.
struct TPMDefinitionTests {
    private static func parse(_ text: String) throws(DefinitionError) -> VMSpec {
        try DefinitionParser(file: "/vm/defs/win11.toml", fileExists: { _ in true }).parse(text)
    }

    @Test func tpmIsOffUnlessEnabled() throws {
        #expect(try Self.parse("memory = \"1G\"").tpm.enabled == false)
        #expect(try Self.parse("[tpm]\nenabled = true").tpm.enabled)
        #expect(try Self.parse("[tpm]\nenabled = false").tpm.enabled == false)
    }

    @Test(arguments: [
        ("[tpm]\nenabled = \"yes\"", "/vm/defs/win11.toml:2: tpm.enabled: expected true or false, found a string (fix: write it as enabled = true)"),
        ("[tpm]\nenable = true", "/vm/defs/win11.toml:2: tpm.enable: unknown key 'enable' (fix: did you mean 'enabled'?)"),
        ("memory = \"1G\"\n[tpm]", "/vm/defs/win11.toml:2: tpm: [tpm] needs enabled (fix: add enabled = true (Windows 11 needs a TPM 2.0), or remove [tpm])"),
        ("tpm = true", "/vm/defs/win11.toml:1: tpm: expected a table, found a boolean (fix: write it as a [tpm] section)"),
    ])
    func brokenTPMTable(text: String, expected: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.issues.map(\.description) == [expected])
        }
    }

    @Test func tpmPathsAreInTheVMsFolders() {
        let paths = VMPaths(runtimeDirectory: "/run/vm/w", stateDirectory: "/var/lib/vm/w")
        #expect(paths.tpmStateDirectory == "/var/lib/vm/w/tpm")
        #expect(paths.tpmSocket == "/run/vm/w/swtpm.sock")
    }
}
