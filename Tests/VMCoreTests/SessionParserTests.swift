import Foundation
import Testing
@testable import VMCore

private func sessionErrors(_ text: String) -> [String] {
    do {
        _ = try SessionParser(file: "/s/play.toml").parse(text)
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

@Test func sessionParsesEveryStepKind() throws {
    let session = try SessionParser(file: "/s/play.toml").parse("""
        vm = "win11"
        keep_running = true
        [[step]]
        action = "up"
        paused = true
        [[step]]
        action = "wait"
        serial = "^login:"
        timeout = 60
        [[step]]
        action = "gpu-attach"
        gpu = 1
        force = true
        [[step]]
        action = "exec"
        guest = ["cmd.exe", "/c", "ver"]
        output = "ver.txt"
        on_failure = "continue"
        [[step]]
        action = "exec"
        host = ["true"]
        expect_exit = 0
        [[step]]
        action = "wait"
        until_stopped = true
        [[step]]
        action = "stage-extras"
        [[step]]
        action = "gpu-detach"
        gpu = 1
        [[step]]
        action = "down"
        force = true
        """)
    #expect(session.vm == "win11" && session.keepRunning)
    #expect(session.steps.map(\.action) == [
        .up(paused: true), .wait(.serial(pattern: "^login:")), .gpuAttach(gpu: 1, force: true),
        .guestExec(command: ["cmd.exe", "/c", "ver"], output: "/s/ver.txt", expectExit: 0),
        .hostExec(command: ["true"], output: nil, expectExit: 0), .wait(.stopRequest), .stageExtras(driverDirectory: nil),
        .gpuDetach(gpu: 1), .down(force: true),
    ])
    #expect(session.steps[1].timeout == 60 && session.steps[0].timeout == 120 && session.steps[5].timeout == 300)
    #expect(session.steps[3].onFailure == .continue)
    #expect(session.steps.map(\.line) == [3, 6, 10, 14, 19, 23, 26, 28, 31])
}

@Test(arguments: [
    ("[[step]]\naction = \"up\"", "/s/play.toml: the session names no VM (fix: add vm = \"NAME\" at the top)"),
    ("vm = \"w\"", "/s/play.toml: the session has no steps (fix: add [[step]] sections, e.g. action = \"up\")"),
    ("vm = \"w\"\n[[step]]\naction = \"upp\"", "/s/play.toml:3: step 1 action: 'upp' is not a step action (fix: did you mean \"up\"? use one of up, down, gpu-attach, gpu-detach, wait, exec, stage-extras)"),
    ("vm = \"w\"\n[[step]]\nacton = \"up\"", "/s/play.toml:3: step 1 acton: unknown key 'acton' (fix: did you mean 'action'?)"),
    ("vm = \"w\"\n[[step]]\ntimeout = 5", "/s/play.toml:2: step 1: a [[step]] needs an action (fix: add action = one of up, down, gpu-attach, gpu-detach, wait, exec, stage-extras)"),
    ("vm = \"w\"\n[[step]]\naction = \"wait\"", "/s/play.toml:2: step 1: a wait step needs something to wait for (fix: give exactly one of serial = \"...\", agent = true, event = \"...\", seconds = N, until_stopped = true)"),
    ("vm = \"w\"\n[[step]]\naction = \"wait\"\nseconds = 3\nagent = true", "/s/play.toml:2: step 1: a wait step waits for one thing (fix: give exactly one of serial = \"...\", agent = true, event = \"...\", seconds = N, until_stopped = true)"),
    ("vm = \"w\"\n[[step]]\naction = \"wait\"\nserial = \"([\"", "/s/play.toml:4: step 1 serial: '([' is not a valid regular expression (fix: escape special characters like ( [ . * with a backslash)"),
    ("vm = \"w\"\n[[step]]\naction = \"exec\"", "/s/play.toml:2: step 1: an exec step runs one non-empty command, in the guest or on the host (fix: give guest = [\"program\", \"arg\"] or host = [\"program\", \"arg\"])"),
    ("vm = \"w\"\n[[step]]\naction = \"exec\"\nhost = \"ls -l\"", "/s/play.toml:4: step 1 host: expected an array of strings, found a string (fix: write it as host = [\"notify-send\", \"done\"])"),
    ("vm = \"w\"\n[[step]]\naction = \"up\"\ntimeout = 0", "/s/play.toml:4: step 1 timeout: 0 is out of range (fix: use a value from 1 to 604800)"),
    ("vm = \"w\"\n[[step]]\naction = \"up\"\non_failure = \"retry\"", "/s/play.toml:4: step 1 on_failure: 'retry' is not one of abort, continue (fix: write one of: \"abort\", \"continue\")"),
    ("vm = \"w\"\n[[step]]\naction = \"down\"\ngpu = 0", "/s/play.toml:4: step 1 gpu: unknown key 'gpu' (fix: keys allowed in a [[step]]: action, timeout, on_failure, force)"),
    ("vm = \"w\"\npersist = true\n[[step]]\naction = \"up\"", "/s/play.toml:2: persist: unknown key 'persist' (fix: keys allowed at the top level: vm, keep_running, step)"),
    ("vm = \"w\"\n[[step]\naction = \"up\"", "/s/play.toml:2: TOML syntax error: expected ']]' to end the header, found the end of the line (fix: correct the TOML at column 8)"),
])
func brokenSession(text: String, expected: String) {
    #expect(sessionErrors(text) == [expected])
}

@Test(arguments: ["gaming", "compute"])
func templateSessionsParse(name: String) throws {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("templates/sessions/\(name).toml")
    let session = try SessionParser(file: file.path).parse(try String(contentsOf: file, encoding: .utf8))
    #expect(session.steps.first?.action == .up(paused: false))
    #expect(session.steps.last?.action == .down(force: false))
    #expect(session.steps.contains { $0.action == .gpuAttach(gpu: 0, force: false) })
}
