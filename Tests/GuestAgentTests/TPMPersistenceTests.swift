import Foundation
import GuestSupport
import QEMU
import Testing
@testable import GuestAgent

/// The TPM's NV storage across `vm down` + `vm up`, from inside the test-bed guest: real swtpm,
/// QEMU (TCG) and qemu-ga, which runs the raw TPM commands (the test guest has no tpm2-tools).
@Suite(.serialized)
struct TPMPersistenceTests {
    /// The TPM2_NV_DefineSpace command (owner, empty password) for an 8-byte index 0x01500000.
    static let defineSpace: [UInt8] = [
        0x80, 0x02, 0, 0, 0, 45, 0, 0, 0x01, 0x2a,  // TPM_ST_SESSIONS, 45 bytes, TPM_CC_NV_DefineSpace
        0x40, 0, 0, 0x01, 0, 0, 0, 9,  // TPM_RH_OWNER; 9 bytes of authorization:
        0x40, 0, 0, 0x09, 0, 0, 0, 0, 0,  // TPM_RS_PW, no nonce, no attributes, empty password
        0, 0,  // the index's own auth: none
        0, 14, 0x01, 0x50, 0, 0, 0, 0x0b, 0, 0x02, 0, 0x02, 0, 0, 0, 8,  // index, SHA-256, OWNERREAD|OWNERWRITE, 8 bytes
    ]

    /// A guest shell script that sends `command` to /dev/tpm0 and prints the response in hex.
    static func script(sending command: [UInt8]) -> String {
        // Every byte is escaped, so no octal escape runs into a digit after it.
        let escaped = command.map { "\\" + String($0, radix: 8) }.joined()
        return "exec 3<>/dev/tpm0; printf '\(escaped)' >&3; dd bs=64 count=1 <&3 2>/dev/null | od -An -tx1"
    }

    /// qemu-ga of the running guest, once it answers.
    static func agent(socket: String) async throws -> GuestAgentClient {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let client = try? await GuestAgentClient.connect(path: socket, timeout: .seconds(3)) { return client }
        }
        throw TestBedError.guestNotReady("qemu-ga did not answer on \(socket)")
    }

    @Test("the guest's TPM 2.0 keeps an NV index defined in one run after vm down and vm up")
    func nvIndexSurvivesDownAndUp() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("tpmnv", bed.definition(extraCmdline: "vmtest.ga=1", extra: "guest_agent = true\n[tpm]\nenabled = true"))
        let machine = try scratch.machine(loaded)
        // Success, then TPM_RC_NV_DEFINED (0x14c): the index is in swtpm's state from the first run.
        for expected in ["80 02 00 00 00 13 00 00 00 00", "80 01 00 00 00 0a 00 00 01 4c"] {
            _ = try await machine.up()
            try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
            let agent = try await Self.agent(socket: loaded.paths.agentSocket)
            let major = try await agent.exec(path: "/bin/busybox", arguments: ["cat", "/sys/class/tpm/tpm0/tpm_version_major"])
            #expect(String(decoding: major.standardOutput, as: UTF8.self) == "2\n", "the guest sees a TPM 2.0")
            let result = try await agent.exec(path: "/bin/busybox", arguments: ["sh", "-c", Self.script(sending: Self.defineSpace)])
            agent.close()
            let output = String(decoding: result.standardOutput, as: UTF8.self)
            #expect(result.exitCode == 0 && output.contains(expected), "\(output) \(String(decoding: result.standardError, as: UTF8.self))")
            #expect(try await machine.down(timeout: .seconds(60)) == .poweredOff)
        }
    }
}
