import ArgumentParser
import HostLinux

/// `vm input`: the host's evdev devices for `[[input]]`.
struct InputCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "input", abstract: "Keyboards, mice and controllers to give a VM through evdev.",
        discussion: """
            EXAMPLES:
              vm input list
            """,
        subcommands: [InputListCommand.self])
}

/// `vm input list`
struct InputListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the host's evdev input devices (the paths [[input]] takes).",
        discussion: """
            A definition names a device by its stable /dev/input/by-id path:

              [[input]]
              path = "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse"

            While the VM runs, pressing both Ctrl keys switches the devices between host and guest \
            (grab_all = true, the default, switches every [[input]] of the VM together).

            EXAMPLES:
              vm input list
              vm input list --json
            """)

    @OptionGroup var options: HostOptions

    func run() throws {
        let devices = InputDeviceReader(fileSystem: options.fileSystem()).devices()
        if options.json { return try HostOutput.printJSON(devices) }
        guard !devices.isEmpty else {
            print("no evdev devices under /dev/input/by-id (a host without USB input devices, or a container)")
            return
        }
        for device in devices {
            print("\(device.path)\n  \(device.kind), \(device.node)\(device.name.map { ", \"\($0)\"" } ?? "")")
        }
    }
}
