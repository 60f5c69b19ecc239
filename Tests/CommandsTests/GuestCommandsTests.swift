import Network
import Testing
@testable import Commands

@Suite("guest, extras and net commands parse")
struct GuestCommandsTests {
    @Test func execTakesTheProgramAfterTheTerminator() throws {
        let command = try #require(try RootCommand.parseAsRoot(["guest", "exec", "win", "--timeout", "5", "--", "/bin/echo", "hi", "--json"]) as? GuestExecCommand)
        #expect(command.name == "win")
        #expect(command.timeout == 5)
        #expect(command.command == ["/bin/echo", "hi", "--json"])
        #expect(throws: (any Error).self) { try RootCommand.parseAsRoot(["guest", "exec", "win"]) }
    }

    @Test func stageOptions() throws {
        let command = try #require(try RootCommand.parseAsRoot(["extras", "stage", "win", "--driver-dir", "/d", "--virtio-win", "/v.iso", "--resolution", "2560x1440"]) as? ExtrasStageCommand)
        #expect(command.driverDirectory == "/d")
        #expect(command.virtioWin == "/v.iso")
        #expect(command.resolution == "2560x1440")
        #expect(try RootCommand.parseAsRoot(["net", "check", "win", "--json"]) is NetCheckCommand)
        #expect(try RootCommand.parseAsRoot(["guest", "info", "win"]) is GuestInfoCommand)
        #expect(try RootCommand.parseAsRoot(["guest", "ping", "win"]) is GuestPingCommand)
        #expect(try RootCommand.parseAsRoot(["extras", "install", "win"]) is ExtrasInstallCommand)
    }

    @Test func netCheckRendering() {
        let verdict = NetworkVerdict(mode: "bridge", gives: "g", p2p: .unlikely, p2pReason: "r",
                                     problems: [NetworkProblem(problem: "p", fix: "f")], notes: ["n"])
        #expect(NetCheckCommand.render(verdict, name: "win") == """
            win: network mode bridge
              gives:  g
              P2P:    unlikely: r
              problem: p
                 fix: f
              note:   n
            """)
    }
}
