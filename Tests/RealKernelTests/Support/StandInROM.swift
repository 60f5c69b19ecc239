import Foundation

/// A made-up expansion ROM for the stand-in display function (QEMU's `secondary-vga` has none): a PCI ROM header
/// (`55 AA`, a `PCIR` structure naming 1234:1111, one last image of 1 KiB, code type 3 (EFI)) that Linux's sysfs `rom`
/// reads, with a wrong checksum so that SeaBIOS does not run it, and a text tag to recognise it by. Pure.
enum StandInROM {
    /// The ROM's size: two 512-byte blocks.
    static let size = 1024

    /// The ROM's bytes.
    static let bytes: [UInt8] = {
        var rom = [UInt8](repeating: 0, count: size)
        rom[0] = 0x55
        rom[1] = 0xAA
        rom[2] = UInt8(size / 512)
        let pcir = 0x1C
        rom[0x18] = UInt8(pcir)
        put(Array("PCIR".utf8), at: pcir, in: &rom)
        put([0x34, 0x12, 0x11, 0x11], at: pcir + 4, in: &rom)  // vendor 1234, device 1111 (little-endian)
        rom[pcir + 10] = 24  // structure length
        put([0x00, 0x80, 0x03], at: pcir + 13, in: &rom)  // class code 0x038000
        rom[pcir + 16] = UInt8(size / 512)  // image length in 512-byte blocks
        rom[pcir + 20] = 0x03  // code type: EFI (SeaBIOS runs only x86 images)
        rom[pcir + 21] = 0x80  // last image
        put(Array("VMTEST-ROM".utf8), at: 0x40, in: &rom)
        if rom.reduce(0, { ($0 + Int($1)) % 256 }) == 0 { rom[0x3F] = 1 }  // a valid image sums to 0
        return rom
    }()

    /// The first 16 bytes as `od -An -tx1 -N16` prints them (without its leading spaces).
    static var head: String { bytes.prefix(16).map { String(format: "%02x", $0) }.joined(separator: " ") }

    /// Writes the ROM to `path`.
    static func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private static func put(_ values: [UInt8], at offset: Int, in rom: inout [UInt8]) {
        rom.replaceSubrange(offset..<offset + values.count, with: values)
    }
}
