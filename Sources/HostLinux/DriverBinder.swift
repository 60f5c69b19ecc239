import FoundationEssentials
import Glibc
import Dispatch
import Synchronization
import VMCore
import OSThreads

/// What a function was bound to before ``DriverBinder`` moved it: journal this to give it back.
public struct FunctionBinding: Sendable, Hashable, Codable {
    public var address: PCIAddress
    /// The driver before the move, nil when it had none.
    public var originalDriver: String?
    /// The `driver_override` before the move, nil when unset.
    public var originalOverride: String?

    public init(address: PCIAddress, originalDriver: String?, originalOverride: String?) {
        self.address = address
        self.originalDriver = originalDriver
        self.originalOverride = originalOverride
    }
}

/// Errors from moving functions between drivers.
public enum BindError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No function of the slot exists in sysfs.
    case slotNotFound(PCISlot)
    /// The address is not a function of the verified slot.
    case notInSlot(PCIAddress, PCISlot)
    /// The function has no IOMMU group (IOMMU off).
    case noIOMMUGroup(PCIAddress)
    /// The slot's functions sit in different IOMMU groups.
    case splitAcrossGroups(PCISlot, [Int])
    /// The group holds endpoints outside the slot.
    case foreignGroupMembers(group: Int, members: [PCIAddress])
    /// `/sys/bus/pci/drivers/vfio-pci` is absent.
    case vfioDriverMissing
    /// Writing the address to the driver's `unbind` did not return in time (an NVIDIA unbind waits for every holder).
    case unbindTimedOut(PCIAddress, driver: String, seconds: Double)
    /// After probing, the function is on another driver than expected.
    case wrongDriver(PCIAddress, expected: String?, actual: String?)
    /// A sysfs read or write failed.
    case host(HostError)
    /// A file of recorded bindings names other devices than the slot's functions (or is garbled).
    case untrustedRecord(file: String, reason: String)
    /// The function is not a USB controller (`[[usb_host_controller]]`).
    case notUSBController(PCIAddress, classCode: UInt32)

    public var description: String {
        switch self {
        case let .slotNotFound(slot): return "no PCI functions at \(slot)"
        case let .notInSlot(address, slot): return "\(address) is not a function of \(slot): refusing to touch it"
        case let .noIOMMUGroup(address): return "\(address) has no IOMMU group: the IOMMU is off"
        case let .splitAcrossGroups(slot, groups): return "the functions of \(slot) are in several IOMMU groups: \(groups.map(String.init).joined(separator: ", "))"
        case let .foreignGroupMembers(group, members):
            return "IOMMU group \(group) also holds \(members.map(\.description).joined(separator: ", ")): they would have to leave the host too"
        case .vfioDriverMissing: return "vfio-pci is not loaded: modprobe vfio-pci"
        case let .unbindTimedOut(address, driver, seconds):
            return "unbinding \(address) from \(driver) did not finish within \(seconds) s (a process still holds the device?)"
        case let .wrongDriver(address, expected, actual):
            return "\(address) is on \(actual ?? "no driver") instead of \(expected ?? "no driver")"
        case let .host(error): return error.description
        case let .notUSBController(address, classCode):
            return "\(address) is not a USB controller (class 0x\(String(classCode, radix: 16))); `vm usb controllers` lists the USB controllers"
        case let .untrustedRecord(file, reason):
            return "refusing the binding record \(file): \(reason); nothing was changed (fix: if vm did not write it, remove it and bind again)"
        }
    }
}

/// A slot whose functions and IOMMU group were checked; only its functions can be moved.
public struct VerifiedSlot: Sendable, Hashable {
    public let slot: PCISlot
    public let functions: [PCIDevice]
    public let group: IOMMUGroup

    /// The functions' addresses.
    public var addresses: [PCIAddress] { functions.map(\.address) }
}

/// Moves PCI functions between their host drivers and vfio-pci with `driver_override`, `unbind` and `drivers_probe`.
public struct DriverBinder: Sendable {
    public let fileSystem: any HostFileSystem
    /// How long an `unbind` write may take before ``BindError/unbindTimedOut(_:driver:seconds:)``.
    public var unbindTimeout: Duration
    /// How long to wait for a driver to appear after `drivers_probe` (asynchronous probing).
    public var probeTimeout: Duration

    public init(fileSystem: any HostFileSystem, unbindTimeout: Duration = .seconds(10), probeTimeout: Duration = .seconds(5)) {
        self.fileSystem = fileSystem
        self.unbindTimeout = unbindTimeout
        self.probeTimeout = probeTimeout
    }

    /// Reads the slot and checks that its functions share one IOMMU group; with `requireIsolatedGroup`, also that
    /// the group holds no endpoint outside the slot (bridges are fine).
    public func verify(_ slot: PCISlot, requireIsolatedGroup: Bool = true) throws -> VerifiedSlot {
        let reader = PCIDeviceReader(fileSystem: fileSystem)
        let functions = try wrap { try reader.functions(of: slot) }
        guard !functions.isEmpty else { throw BindError.slotNotFound(slot) }
        let groups = Set(functions.compactMap(\.iommuGroup))
        if let missing = functions.first(where: { $0.iommuGroup == nil }) { throw BindError.noIOMMUGroup(missing.address) }
        guard groups.count == 1, let number = groups.first else { throw BindError.splitAcrossGroups(slot, groups.sorted()) }
        let group = try wrap { try IOMMUGroupReader(fileSystem: fileSystem).group(number) }
        if let outside = functions.first(where: { !group.members.contains($0.address) }) {
            throw BindError.notInSlot(outside.address, slot)
        }
        if requireIsolatedGroup {
            let members = try wrap { try group.members.map(reader.device(at:)) }
            let foreign = GroupViability.evaluate(members: members, for: slot).foreignMembers
            guard foreign.isEmpty else { throw BindError.foreignGroupMembers(group: number, members: foreign) }
        }
        return VerifiedSlot(slot: slot, functions: functions, group: group)
    }

    /// Reads one function passed on its own (a USB controller, `[[usb_host_controller]]`) and checks its IOMMU group
    /// as ``verify(_:requireIsolatedGroup:)`` checks a GPU's: it has one, and with `requireIsolatedGroup` no other
    /// endpoint shares it (bridges are fine). The result lets only that function be moved.
    public func verify(function address: PCIAddress, requireIsolatedGroup: Bool = true) throws -> VerifiedSlot {
        let reader = PCIDeviceReader(fileSystem: fileSystem)
        let device = try wrap { try reader.device(at: address) }
        guard let number = device.iommuGroup else { throw BindError.noIOMMUGroup(address) }
        let group = try wrap { try IOMMUGroupReader(fileSystem: fileSystem).group(number) }
        guard group.members.contains(address) else { throw BindError.notInSlot(address, address.pciSlot) }
        if requireIsolatedGroup {
            let members = try wrap { try group.members.map(reader.device(at:)) }
            let foreign = members.filter { !$0.isPCIBridge && $0.address != address }.map(\.address).sorted()
            guard foreign.isEmpty else { throw BindError.foreignGroupMembers(group: number, members: foreign) }
        }
        return VerifiedSlot(slot: address.pciSlot, functions: [device], group: group)
    }

    /// Moves one function of a verified slot to vfio-pci and returns what it was on before.
    public func bindToVFIO(_ address: PCIAddress, in slot: VerifiedSlot) throws -> FunctionBinding {
        guard slot.addresses.contains(address) else { throw BindError.notInSlot(address, slot.slot) }
        guard fileSystem.isDirectory("/sys/bus/pci/drivers/" + vfioDriverName) else { throw BindError.vfioDriverMissing }
        let device = try wrap { try PCIDeviceReader(fileSystem: fileSystem).device(at: address) }
        let binding = FunctionBinding(address: address, originalDriver: device.driver, originalOverride: device.driverOverride)
        if device.driver == vfioDriverName { return binding }
        try wrap { try fileSystem.writeAttribute(vfioDriverName, to: PCIDeviceReader.directory(of: address) + "/driver_override") }
        if let driver = device.driver { try unbind(address, from: driver) }
        try wrap { try fileSystem.writeAttribute(address.description, to: "/sys/bus/pci/drivers_probe") }
        try waitForDriver(address, expected: vfioDriverName)
        return binding
    }

    /// Gives one function back: unbind from vfio-pci, restore `driver_override`, probe, and check that the original
    /// driver (or none) is back. With `expectOriginal` false, any driver other than vfio-pci (or none) is accepted.
    public func returnToHost(_ binding: FunctionBinding, in slot: VerifiedSlot, expectOriginal: Bool = true) throws {
        let address = binding.address
        guard slot.addresses.contains(address) else { throw BindError.notInSlot(address, slot.slot) }
        let device = try wrap { try PCIDeviceReader(fileSystem: fileSystem).device(at: address) }
        if expectOriginal && binding.originalDriver == vfioDriverName {
            // It started on vfio-pci: that is where it goes back to.
            guard device.driver == vfioDriverName else { throw BindError.wrongDriver(address, expected: vfioDriverName, actual: device.driver) }
            return
        }
        if let driver = device.driver, driver == vfioDriverName || driver != binding.originalDriver {
            try unbind(address, from: driver)
        }
        let override = binding.originalOverride.flatMap { $0 == vfioDriverName ? nil : $0 } ?? "\n"
        try wrap { try fileSystem.writeAttribute(override, to: PCIDeviceReader.directory(of: address) + "/driver_override") }
        if binding.originalDriver != nil || !expectOriginal {
            try wrap { try fileSystem.writeAttribute(address.description, to: "/sys/bus/pci/drivers_probe") }
        }
        if expectOriginal {
            try waitForDriver(address, expected: binding.originalDriver)
        } else {
            let now = currentDriver(address)
            if now == vfioDriverName { throw BindError.wrongDriver(address, expected: nil, actual: now) }
        }
    }

    /// Moves every function of the slot to vfio-pci (in address order). On failure, functions already moved are
    /// given back before the error is rethrown.
    public func bindSlotToVFIO(_ slot: VerifiedSlot) throws -> [FunctionBinding] {
        var done: [FunctionBinding] = []
        do {
            for address in slot.addresses { done.append(try bindToVFIO(address, in: slot)) }
            return done
        } catch {
            for binding in done.reversed() { try? returnToHost(binding, in: slot) }
            throw error
        }
    }

    /// Gives every function back; tries all of them and throws the first error.
    public func returnSlotToHost(_ bindings: [FunctionBinding], in slot: VerifiedSlot, expectOriginal: Bool = true) throws {
        var firstError: (any Error)?
        for binding in bindings {
            do { try returnToHost(binding, in: slot, expectOriginal: expectOriginal) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    /// The driver a function is on now.
    public func currentDriver(_ address: PCIAddress) -> String? {
        fileSystem.linkBasename(PCIDeviceReader.directory(of: address) + "/driver")
    }

    /// Writes the address to `/sys/bus/pci/drivers/DRIVER/unbind` on its own thread and gives up after ``unbindTimeout``.
    /// A write that never returns leaves that thread blocked in the kernel; the caller gets a typed error.
    private func unbind(_ address: PCIAddress, from driver: String) throws {
        let outcome = WriteOutcome()
        let fileSystem = self.fileSystem
        let path = "/sys/bus/pci/drivers/\(driver)/unbind"
        DetachedThread.start(name: "pci-unbind") {
            do {
                try fileSystem.writeAttribute(address.description, to: path)
                outcome.finish(nil)
            } catch let error as HostError {
                outcome.finish(error)
            } catch {
                outcome.finish(.io(path: path, operation: "write", errno: EIO))
            }
        }
        let seconds = unbindTimeout.seconds
        guard outcome.wait(seconds: seconds) else { throw BindError.unbindTimedOut(address, driver: driver, seconds: seconds) }
        if let error = outcome.error { throw BindError.host(error) }
    }

    private func waitForDriver(_ address: PCIAddress, expected: String?) throws {
        let deadline = Date().addingTimeInterval(probeTimeout.seconds)
        var actual = currentDriver(address)
        while actual != expected && Date() < deadline {
            usleep(10_000)
            actual = currentDriver(address)
        }
        guard actual == expected else { throw BindError.wrongDriver(address, expected: expected, actual: actual) }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as HostError { throw BindError.host(error) }
    }
}

/// The result of a write done on another thread.
private final class WriteOutcome: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<HostError?>(nil)

    func finish(_ error: HostError?) {
        result.withLock { $0 = error }
        done.signal()
    }

    /// True when the write finished within `seconds`.
    func wait(seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }

    var error: HostError? { result.withLock { $0 } }
}
