import Foundation
import Testing
import VMCore
@testable import Libvirt
@testable import LibvirtXML

/// The builder's output for each fixture equals `Golden/NAME.xml`, and libvirt's schema accepts it.
/// Set `VM_UPDATE_GOLDEN=1` to rewrite the files after an intended change (then review the diff).
@Suite struct GoldenXMLTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden")

    @Test(arguments: Fixtures.golden.map(\.0))
    func matchesGoldenAndValidates(name: String) throws {
        let spec = try #require(Fixtures.golden.first { $0.0 == name }?.1)
        let xml = try domainXML(for: spec, paths: Fixtures.paths)
        let file = Self.goldenDirectory.appendingPathComponent("\(name).xml")
        if ProcessInfo.processInfo.environment["VM_UPDATE_GOLDEN"] == "1" {
            try xml.write(to: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(xml == expected)
        let validation = try XMLValidator.validateDomain(xml)
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")
    }
}
