import FoundationEssentials
import Glibc
import VMCore

extension VMSpec {
    /// This definition with what the host provides filled in, as `vm up` and the VM's supervisor
    /// launch it: firmware from this machine, GPU slots expanded from sysfs under `host`, `[audio]`
    /// pointed at the desktop user's sound server (the user who ran `sudo`, `SUDO_UID` in
    /// `environment`), `topoext` exposed to an AMD guest with SMT threads, the host's SMBIOS for
    /// `smbios = "host"`, and `[cpu] pin = "auto"` turned into this host's layout (left as it is
    /// when there is none: the backend then says why).
    public func resolvedOnHost(_ host: any HostFileSystem, environment: [String: String] = ProcessEnvironment.current) -> VMSpec {
        let devices = PCIDeviceReader(fileSystem: host)
        var resolved = resolvedForLaunch(
            exists: { FileManager.default.fileExists(atPath: $0) },
            functionsOfSlot: { slot in ((try? devices.functions(of: slot)) ?? []).map(\.address) })
        if var audio, audio.backend == .pulseaudio, audio.server == nil,
           let uid = environment["SUDO_UID"], UInt32(uid) != nil {
            audio.server = AudioSpec.userServer(uid: uid)
            resolved.audio = audio
        }
        if cpu.pin == .auto, let topology = try? CPUTopologyReader(fileSystem: host).read(),
           let pinned = try? cpu.resolvingAutoPin(on: topology) {
            resolved.cpu = pinned
        }
        if CPUFlags.topoextMatters(to: resolved.cpu), let flags = try? CPUFlags.read(host), flags.exposesTopoext(to: resolved.cpu) {
            resolved.cpu.topoext = true
        }
        if windows.smbiosFromHost {
            resolved.windows.smbios = SMBIOSField.fromHost { host.readTextIfPresent("/sys/class/dmi/id/\($0)") }
        }
        return resolved
    }
}
