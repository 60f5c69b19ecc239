/// Versions of the host's virtualization programs.
public enum ToolVersions {
    /// `QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u16)` -> `7.2.22`.
    public static func parseQEMU(_ output: String) -> String? {
        firstVersion(after: "QEMU emulator version", in: output)
    }

    /// `libvirtd (libvirt) 9.0.0` -> `9.0.0`.
    public static func parseLibvirt(_ output: String) -> String? {
        firstVersion(after: "(libvirt)", in: output)
    }

    /// `TPM emulator version 0.7.1, Copyright (c) 2014-2021 IBM Corp.` -> `0.7.1`.
    public static func parseSwtpm(_ output: String) -> String? {
        firstVersion(after: "TPM emulator version", in: output)
    }

    /// The swtpm version from `swtpm --version`, or nil when it is missing.
    public static func swtpm(_ runner: any HostCommandRunner) -> String? {
        (try? runner.run(["swtpm", "--version"], timeout: .seconds(20))).flatMap { parseSwtpm($0.standardOutput) }
    }

    /// The QEMU version from `qemu-system-x86_64 --version`, or nil when it is missing or does not answer.
    public static func qemu(_ runner: any HostCommandRunner) -> String? {
        (try? runner.run(["qemu-system-x86_64", "--version"], timeout: .seconds(20))).flatMap { parseQEMU($0.standardOutput) }
    }

    /// The libvirt version from `libvirtd --version`, or nil.
    public static func libvirt(_ runner: any HostCommandRunner) -> String? {
        (try? runner.run(["libvirtd", "--version"], timeout: .seconds(20))).flatMap { parseLibvirt($0.standardOutput) }
    }

    private static func firstVersion(after marker: String, in text: String) -> String? {
        guard let range = text.firstRange(of: marker) else { return nil }
        let rest = text[range.upperBound...].drop(while: { $0 == " " })
        let version = rest.prefix(while: { $0.isNumber || $0 == "." })
        return version.isEmpty ? nil : String(version)
    }
}
