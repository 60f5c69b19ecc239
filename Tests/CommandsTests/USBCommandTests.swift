import Foundation
import GuestSupport
import QMP
import Testing
@testable import Commands

/// `vm usb attach|detach` through the built `vm` against real QEMU: a usb-host device plugged into
/// the VM's xHCI controller and taken out (QEMU keeps a usb-host device by ids even while no such
/// device is on the host, so no USB hardware is needed to see it come and go).
@Test(.timeLimit(.minutes(4)))
func usbAttachAndDetachThroughTheVMsController() async throws {
    let bed = try await TestBed.prepare()
    let scratch = try Scratch()
    let loaded = try scratch.define("usb", bed.definition(extra: "usb_controller = true"))
    _ = try scratch.define("nousb", bed.definition())
    let up = try await VMRun.run(["up", "usb", "--paused"], in: scratch)
    #expect(up.status == .exited(0), "\(up.error)")
    defer { Task { _ = try? await VMRun.run(["down", "usb", "--force"], in: scratch) } }

    func peripherals() async throws -> [String] {
        let client = try await QMPClient.connect(path: loaded.qmpSocket)
        defer { client.close() }
        let reply = try await client.execute("qom-list", arguments: ["path": "/machine/peripheral"])
        return (reply.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }

    let attach = try await VMRun.run(["usb", "attach", "usb", "1d6b:0104"], in: scratch)
    #expect(attach.status == .exited(0), "\(attach.error)")
    #expect(try await peripherals().contains("usb-1d6b-104"))
    let again = try await VMRun.run(["usb", "attach", "usb", "1d6b:0104"], in: scratch)
    #expect(again.status == .exited(1) && again.error.contains("QEMU refused the USB device 1d6b:0104"), "\(again.error)")

    let detach = try await VMRun.run(["usb", "detach", "usb", "1d6b:0104"], in: scratch)
    #expect(detach.status == .exited(0), "\(detach.error)")
    #expect(try await !peripherals().contains("usb-1d6b-104"))
    let gone = try await VMRun.run(["usb", "detach", "usb", "1d6b:0104"], in: scratch)
    #expect(gone.status == .exited(1) && gone.error.contains("is not plugged into usb"), "\(gone.error)")

    let byPort = try await VMRun.run(["usb", "attach", "usb", "3-1.4"], in: scratch)
    #expect(byPort.status == .exited(0), "\(byPort.error)")
    #expect(try await peripherals().contains("usb-3-1.4"))
    let bad = try await VMRun.run(["usb", "attach", "usb", "mouse"], in: scratch)
    #expect(bad.status == .exited(64) && bad.error.contains("neither vendor:product"), "\(bad.error)")

    let down = try await VMRun.run(["down", "usb", "--force"], in: scratch)
    #expect(down.status == .exited(3), "\(down.error)")
    let upNoController = try await VMRun.run(["up", "nousb", "--paused"], in: scratch)
    #expect(upNoController.status == .exited(0), "\(upNoController.error)")
    let refused = try await VMRun.run(["usb", "attach", "nousb", "1d6b:0104"], in: scratch)
    #expect(refused.status == .exited(1) && refused.error.contains("add usb_controller = true"), "\(refused.error)")
    _ = try await VMRun.run(["down", "nousb", "--force"], in: scratch)
}
