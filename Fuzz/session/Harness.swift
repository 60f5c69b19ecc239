// libFuzzer harness: a session file (TOML, then its steps) from arbitrary bytes.
// Any crash, hang or sanitizer report is a bug; a thrown DefinitionError is the expected outcome.
@testable import VMCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSession(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parser = SessionParser(file: "/fuzz/vm.toml")
    do {
        let session = try parser.parse(bytes)
        _ = session.steps.count
    } catch {
        // Every issue names the file and, for a syntax error, a line inside the input.
        for issue in error.issues {
            precondition(issue.file == "/fuzz/vm.toml")
            if let line = issue.line { precondition(line >= 1 && line <= bytes.count(where: { $0 == 0x0A }) + 1) }
        }
    }
    return 0
}
