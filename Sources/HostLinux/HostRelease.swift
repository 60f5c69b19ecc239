import VMCore

/// How the desktop on a released GPU is stopped and started again.
public enum DisplayManagerControl: Sendable, Hashable, Codable {
    /// A systemd unit: `systemctl stop UNIT`, later `systemctl start UNIT`.
    case unit(String)
    /// Programs from the definition (`display_manager_stop`, `display_manager_start`).
    case commands(stop: [String], start: [String])

    /// The program that stops the desktop.
    public var stopCommand: [String] {
        switch self {
        case .unit(let unit): return ["systemctl", "stop", unit]
        case .commands(let stop, _): return stop
        }
    }

    /// The program that starts the desktop again.
    public var startCommand: [String] {
        switch self {
        case .unit(let unit): return ["systemctl", "start", unit]
        case .commands(_, let start): return start
        }
    }
}

/// One step of taking the host's display GPU away from the host; each has an inverse that
/// ``HostReleaser/restore(_:)`` runs, in reverse order, when the VM ends.
public enum ReleaseStep: Sendable, Hashable, Codable {
    /// Stop the display manager (inverse: start it).
    case stopDisplayManager(DisplayManagerControl)
    /// Wait for processes to close the card's device nodes (`/dev/dri/*`, `/dev/nvidia*`, the
    /// sound card), for at most `seconds`; none left, or refuse (no inverse).
    case awaitHolders(seconds: Double)
    /// Write 0 to `/sys/class/vtconsole/vtconN/bind` (inverse: write 1).
    case unbindVTConsole(Int)
    /// Unbind a platform framebuffer device (`efi-framebuffer.0`) from its driver (inverse: bind it).
    case unbindFramebuffer(driver: String, device: String)
    /// `modprobe -r MODULE` (inverse: `modprobe MODULE`).
    case unloadModule(String)
    /// Move a function to vfio-pci (inverse: back to the driver and override it had).
    case bindToVFIO(FunctionBinding)

    /// The step, as `--dry-run` and the journal's report say it.
    public var summary: String {
        switch self {
        case .stopDisplayManager(let control): return "stop the desktop: \(control.stopCommand.joined(separator: " "))"
        case .awaitHolders(let seconds): return "wait up to \(seconds.secondsText) s for processes to close the card's device nodes (refuse and name them if they do not)"
        case .unbindVTConsole(let index): return "unbind virtual console vtcon\(index) from the framebuffer (echo 0 > /sys/class/vtconsole/vtcon\(index)/bind)"
        case let .unbindFramebuffer(driver, device): return "unbind the boot framebuffer \(device) from \(driver)"
        case .unloadModule(let module): return "unload \(module) (modprobe -r \(module))"
        case .bindToVFIO(let binding): return "bind \(binding.address) to vfio-pci (it is on \(binding.originalDriver ?? "no driver"))"
        }
    }

    /// What undoing the step does, or nil when there is nothing to undo.
    public var inverseSummary: String? {
        switch self {
        case .stopDisplayManager(let control): return "start the desktop: \(control.startCommand.joined(separator: " "))"
        case .awaitHolders: return nil
        case .unbindVTConsole(let index): return "bind virtual console vtcon\(index) again"
        case let .unbindFramebuffer(driver, device): return "bind \(device) to \(driver) again"
        case .unloadModule(let module): return "load \(module) again (modprobe \(module))"
        case .bindToVFIO(let binding): return "give \(binding.address) back to \(binding.originalDriver ?? "no driver")"
        }
    }
}

extension Double {
    /// Seconds as people write them: `10`, `0.5`.
    var secondsText: String { self == rounded() ? String(Int(self)) : String(self) }
}

/// What the host has around its display GPU: the input of ``HostReleasePlan/make(facts:options:)``.
public struct HostDisplayFacts: Sendable, Equatable {
    /// A virtual console layer (`/sys/class/vtconsole/vtconN`).
    public struct VTConsole: Sendable, Equatable {
        public var index: Int
        /// Its `name`, e.g. `(M) frame buffer device` or `(S) dummy device`.
        public var name: String
        public var bound: Bool

        public init(index: Int, name: String, bound: Bool) {
            self.index = index
            self.name = name
            self.bound = bound
        }

        /// Whether it draws on a framebuffer (fbcon), which the card behind it must lose.
        public var isFramebuffer: Bool { name.lowercased().contains("frame buffer") }
    }

    /// The GPU's functions as the host has them now.
    public var functions: [PCIDevice]
    /// The unit `/etc/systemd/system/display-manager.service` links to (`gdm.service`), if any.
    public var displayManagerUnit: String?
    public var vtConsoles: [VTConsole]
    /// Platform framebuffer devices bound now, as (driver, device).
    public var framebuffers: [PlatformFramebuffer]
    /// The modules loaded now.
    public var loadedModules: Set<String>

    public init(functions: [PCIDevice], displayManagerUnit: String?, vtConsoles: [VTConsole],
                framebuffers: [PlatformFramebuffer], loadedModules: Set<String>) {
        self.functions = functions
        self.displayManagerUnit = displayManagerUnit
        self.vtConsoles = vtConsoles
        self.framebuffers = framebuffers
        self.loadedModules = loadedModules
    }

    /// Whether the firmware set the card up as the boot display (`boot_vga`): the EFI/VESA/simple
    /// framebuffer then sits on it.
    public var isBootDisplay: Bool { functions.contains { $0.bootVGA == true } }
}

/// A platform framebuffer device bound to its driver (`efi-framebuffer` / `efi-framebuffer.0`).
public struct PlatformFramebuffer: Sendable, Hashable {
    public var driver: String
    public var device: String

    public init(driver: String, device: String) {
        self.driver = driver
        self.device = device
    }

    /// The platform drivers of firmware framebuffers.
    public static let drivers = ["efi-framebuffer", "simple-framebuffer", "vesa-framebuffer"]
}

/// The steps that take the host's display GPU away from the host, in order.
public struct HostReleasePlan: Sendable, Equatable {
    public var steps: [ReleaseStep]

    /// The NVIDIA modules, in the order they are unloaded (each used by the next).
    public static let nvidiaModules = ["nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"]

    /// The plan for `facts` and the definition's `options`: stop the desktop, wait for the card's
    /// users to let go, unbind the framebuffer consoles and (when the card is the boot display)
    /// the firmware framebuffers, unload the NVIDIA modules when asked, then move every function
    /// to vfio-pci. Nothing already in its released state gets a step.
    public static func make(facts: HostDisplayFacts, options: HostReleaseOptions) -> HostReleasePlan {
        var steps: [ReleaseStep] = []
        switch options.displayManager {
        case .detect: if let unit = facts.displayManagerUnit { steps.append(.stopDisplayManager(.unit(unit))) }
        case .none: break
        case .unit(let unit): steps.append(.stopDisplayManager(.unit(unit)))
        case let .commands(stop, start): steps.append(.stopDisplayManager(.commands(stop: stop, start: start)))
        }
        steps.append(.awaitHolders(seconds: options.holderTimeout.seconds))
        steps += facts.vtConsoles.filter { $0.bound && $0.isFramebuffer }.map { .unbindVTConsole($0.index) }
        if facts.isBootDisplay {
            steps += facts.framebuffers.map { .unbindFramebuffer(driver: $0.driver, device: $0.device) }
        }
        if options.unloadNVIDIA {
            steps += nvidiaModules.filter(facts.loadedModules.contains).map { .unloadModule($0) }
        }
        steps += facts.functions.filter { $0.driver != vfioDriverName }.map {
            .bindToVFIO(FunctionBinding(address: $0.address, originalDriver: $0.driver, originalOverride: $0.driverOverride))
        }
        return HostReleasePlan(steps: steps)
    }

    /// One line per step, then the way back (when the VM ends).
    public var lines: [String] { lines(givenBack: "when the VM ends") }

    /// One line per step, then the way back, introduced by `givenBack` (when it happens).
    public func lines(givenBack: String) -> [String] {
        var lines = steps.enumerated().map { "\($0.offset + 1). \($0.element.summary)" }
        let back = wayBack
        if !back.isEmpty { lines.append("\(givenBack): " + back.joined(separator: "; ")) }
        return lines
    }

    /// What giving the card back does, in order (the steps undone in reverse).
    public var wayBack: [String] { steps.reversed().compactMap(\.inverseSummary) }
}

extension HostDisplayFacts {
    /// What keeps the host on this card (for `vm gpu list`): framebuffer consoles, the firmware
    /// framebuffer, the display manager and the processes in `holders`.
    public func users(holders: [DeviceHolder]) -> [String] {
        var users = vtConsoles.filter { $0.bound && $0.isFramebuffer }.map { "the console (vtcon\($0.index) on the framebuffer)" }
        if isBootDisplay { users += framebuffers.map { "the firmware framebuffer \($0.device)" } }
        if let unit = displayManagerUnit { users.append("the display manager \(unit)") }
        users += holders.map { "\($0.command) (pid \($0.pid), \($0.deviceNode))" }
        return users
    }
}
