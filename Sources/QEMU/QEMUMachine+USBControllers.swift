import FoundationEssentials
import Glibc
import HostLinux
import VMCore
import OSThreads

/// The host USB controllers a run moved to vfio-pci (`[[usb_host_controller]]`), as far as it got:
/// written before each move, undone (in reverse order) when the run ends.
struct USBControllerJournal: Codable {
    var bindings: [FunctionBinding]
}

/// Why a host USB controller was not taken for the run, or not given back.
public struct USBControllerError: Error, CustomStringConvertible {
    public let description: String
}

extension QEMUMachine {
    var usbControllerRecord: HostChangeRecord<USBControllerJournal> { HostChangeRecord(path: paths.usbControllerRecord) }

    /// Moves every `[[usb_host_controller]]` to vfio-pci for the run, with a GPU's checks: it is a
    /// USB controller, it has an IOMMU group, and no other endpoint shares the group. The journal
    /// names each controller before it moves; on failure the ones moved go back before the error
    /// is thrown. The sysfs writes wait for the kernel, on a thread of their own.
    func takeUSBControllers() async throws {
        guard !spec.usbHostControllers.isEmpty else { return }
        let machine = self
        let outcome: Result<Void, any Error> = await withCheckedContinuation { continuation in
            DetachedThread.start(name: "usb-controllers") { continuation.resume(returning: Result { try machine.moveUSBControllers() }) }
        }
        try outcome.get()
    }

    private func moveUSBControllers() throws {
        let binder = DriverBinder(fileSystem: hostFileSystem)
        let record = usbControllerRecord
        let root = hostFileSystem.root
        var begun: [FunctionBinding] = []
        do {
            for controller in spec.usbHostControllers {
                let verified = try binder.verify(function: controller.address)
                let device = verified.functions[0]
                guard device.isUSBController else { throw BindError.notUSBController(device.address, classCode: device.classCode) }
                begun.append(FunctionBinding(address: device.address, originalDriver: device.driver, originalOverride: device.driverOverride))
                try record.save(USBControllerJournal(bindings: begun), root: root)
                _ = try binder.bindToVFIO(device.address, in: verified)
                logger.notice("\(spec.name): USB controller \(device.address) moved from \(device.driver ?? "no driver") to \(vfioDriverName) for the run")
            }
        } catch {
            let back: String
            do {
                try giveBackUSBControllers()
                back = "nothing is left changed"
            } catch {
                back = "giving back what was moved failed too (\(error)); `vm down \(spec.name)` tries again"
            }
            let address = spec.usbHostControllers[max(0, begun.count - 1)].address
            throw USBControllerError(description: "cannot take the USB controller \(address) for \(spec.name): \(error); \(back)")
        }
    }

    /// Gives the controllers the journal names back to the drivers (and `driver_override`) they
    /// had. A journal naming anything but this definition's controllers is refused untouched; a
    /// controller that does not go back stays in the journal for the next `vm down` or `vm up`.
    func giveBackUSBControllers() throws {
        let record = usbControllerRecord
        let root = hostFileSystem.root
        let controllers = spec.usbHostControllers.map(\.address)
        let binder = DriverBinder(fileSystem: hostFileSystem)
        try record.undo(root: root) { journal in
            if let problem = journal.bindings.first(where: { !controllers.contains($0.address) }).map({ "it names \($0.address), which is no [[usb_host_controller]] of \(spec.name)" })
                ?? FunctionBinding.problem(in: journal.bindings, expected: journal.bindings.map(\.address)) {
                throw BindError.untrustedRecord(file: paths.usbControllerRecord, reason: problem)
            }
            var left: [FunctionBinding] = []
            var failures: [String] = []
            for binding in journal.bindings.reversed() {
                do {
                    try binder.returnToHost(binding, in: try binder.verify(function: binding.address, requireIsolatedGroup: false))
                    logger.notice("\(spec.name): USB controller \(binding.address) back on \(binding.originalDriver ?? "no driver")")
                } catch {
                    left.insert(binding, at: 0)
                    failures.append("\(binding.address): \(error)")
                }
            }
            guard failures.isEmpty else {
                try record.save(USBControllerJournal(bindings: left), root: root)
                throw USBControllerError(description: "USB controllers not given back to the host: \(failures.joined(separator: "; "))")
            }
        }
    }
}
