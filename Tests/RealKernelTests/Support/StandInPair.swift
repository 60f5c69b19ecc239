/// A stand-in GPU: a display function and an audio function cold-plugged as one multifunction slot on `pcie.0`
/// (docs/testbed.md, "VFIO with a virtual IOMMU").
struct StandInPair: Sendable, CustomStringConvertible {
    /// QEMU device of function 0 (display class).
    var display: String
    /// QEMU device of function 1 (audio class).
    var audio: String
    /// The audio device plays sound itself and takes `audiodev=` (`ES1370`; `ich9-intel-hda` without a codec does not).
    var audioNeedsBackend: Bool
    /// Device number on bus 0.
    var device: Int
    /// The drivers the full Debian kernel binds to function 0 and function 1.
    var fullKernelDrivers: [String]
    /// `vendor:device` of function 0 and function 1, as a guest's sysfs shows them.
    var ids: [String]
    /// The class of function 0 and function 1 without its programming interface (`0x0380`).
    var classes: [String]

    /// `0000:00:DD`, as `vm host bind` takes it.
    var slot: String { "0000:00:" + hex2(device) }
    /// `0000:00:DD.0` and `0000:00:DD.1`.
    var functions: [String] { [slot + ".0", slot + ".1"] }

    var description: String { "\(display)+\(audio)@\(slot)" }

    /// `-device` arguments: function 0 with `multifunction=on`, then function 1. Audio devices that play get
    /// `audiodev` (a `none` backend the machine defines), else QEMU tries ALSA on this machine and logs failures.
    func qemuArguments(audiodev: String) -> [String] {
        let address = String(device, radix: 16)
        let audioBackend = audioNeedsBackend ? ",audiodev=\(audiodev)" : ""
        return ["-device", "\(display),id=gpu\(address),bus=pcie.0,addr=\(address).0,multifunction=on",
                "-device", "\(audio),id=gpu\(address)-audio,bus=pcie.0,addr=\(address).1\(audioBackend)"]
    }

    /// `bochs-display` + `ich9-intel-hda` at 00:03 (bochs-drm + snd_hda_intel on the full kernel).
    static let bochsHDA = StandInPair(display: "bochs-display", audio: "ich9-intel-hda", audioNeedsBackend: false, device: 3,
                                      fullKernelDrivers: ["bochs-drm", "snd_hda_intel"], ids: ["1234:1111", "8086:293e"],
                                      classes: ["0x0380", "0x0403"])
    /// `secondary-vga` + `ES1370` at 00:04 (bochs-drm + snd_ens1370 on the full kernel): the hot-plug pair.
    static let secondaryVGAES1370 = StandInPair(display: "secondary-vga", audio: "ES1370", audioNeedsBackend: true, device: 4,
                                                fullKernelDrivers: ["bochs-drm", "snd_ens1370"], ids: ["1234:1111", "1274:5000"],
                                                classes: ["0x0380", "0x0401"])
}

private func hex2(_ value: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count < 2 ? "0" + digits : digits
}
