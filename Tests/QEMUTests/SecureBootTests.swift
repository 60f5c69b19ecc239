import Foundation
import GuestSupport
import Testing
import VMCore
@testable import QEMU

/// OVMF with Secure Boot and Microsoft's keys, as `vm` finds it on this host, under TCG.
@Suite(.serialized)
struct SecureBootTests {
    @Test("the firmware enforces Secure Boot: it refuses its own unsigned shell and reaches the boot manager")
    func firmwareWithMicrosoftKeysEnforcesSecureBoot() async throws {
        let scratch = try Scratch()
        let loaded = try scratch.define("sb", """
            accelerator = "tcg"
            memory = "256M"
            [firmware]
            secure_boot = true
            [network]
            mode = "none"
            """)
        #expect(loaded.spec.firmware.varsTemplate?.hasSuffix(".ms.fd") == true, "Debian's vars with Microsoft's keys enrolled")
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        // The EFI shell inside OVMF is not signed with a key in db: only a firmware that enforces
        // Secure Boot refuses it.
        try await Scratch.waitForSerial(loaded, marker: "\"EFI Internal Shell\"", timeout: .seconds(180))
        try await Scratch.waitForSerial(loaded, marker: "Security Violation", timeout: .seconds(60))
        try await Scratch.waitForSerial(loaded, marker: "Boot Manager Menu", timeout: .seconds(60))
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
    }
}
