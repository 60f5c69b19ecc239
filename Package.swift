// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "vm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vm", targets: ["vm"]),
        .executable(name: "vm-libvirt", targets: ["vm-libvirt"]),
        .executable(name: "vm-supervisor", targets: ["vm-supervisor"]),
        .library(name: "QMP", targets: ["QMP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // QEMU Machine Protocol client: depends on nothing else in the project but OSThreads.
        .target(
            name: "QMP",
            dependencies: ["OSThreads", .product(name: "Logging", package: "swift-log")]
        ),
        // Detached OS threads for blocking work (no Foundation `Thread` in FoundationEssentials).
        .target(name: "OSThreads"),
        // The VM definition (TOML), its validation and the state-dir layout.
        .target(name: "VMCore"),
        // Linux host readers and writers (sysfs, procfs, boot configuration) over an injectable root.
        .target(
            name: "HostLinux",
            dependencies: ["VMCore", "CAffinity", "CSpawn", "OSThreads"]
        ),
        // sched_setaffinity/sched_getaffinity (which Swift's Glibc module does not declare) and SCHED_FIFO.
        .target(name: "CAffinity"),
        // GPU hand-over, one vocabulary for both backends: report, clock, errors, host pre-check.
        .target(name: "Handover", dependencies: ["VMCore", "HostLinux"]),
        // Starting programs: QEMU and its supervisor as daemons (a double fork whose children may only make
        // async-signal-safe calls), and children whose exit vm collects itself (posix_spawn).
        .target(name: "CSpawn"),
        // QEMU backend: argv builder, process launch, QMP-driven lifecycle.
        .target(
            name: "QEMU",
            dependencies: [
                "VMCore", "QMP", "HostLinux", "Network", "CSpawn", "Handover", "OSThreads",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Scripted sessions: steps on one VM with cleanup guaranteed.
        .target(
            name: "Sessions",
            dependencies: [
                "VMCore", "Handover", "QMP", "GuestAgent",
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        // libvirt C API (Debian libvirt-dev).
        .systemLibrary(
            name: "CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        // What libvirt is told, built without the libvirt library: domain XML, GPU hot-plug plans, URIs.
        .target(
            name: "LibvirtXML",
            dependencies: ["VMCore"]
        ),
        // libvirt backend: a safe layer over the C API, the libvirt-run VM and its GPU hand-overs.
        .target(
            name: "Libvirt",
            dependencies: ["VMCore", "HostLinux", "CLibvirt", "LibvirtXML", "Handover", "QMP", "GuestAgent"],
            linkerSettings: [.linkedLibrary("virt"), .linkedLibrary("virt-qemu")]
        ),
        // QEMU guest agent client (qemu-ga's JSON-line protocol over the QMP module's transport).
        .target(
            name: "GuestAgent",
            dependencies: ["QMP"]
        ),
        // Host networking for the guest: mode checks, macvtap links, fd hand-over to QEMU.
        .target(
            name: "Network",
            dependencies: ["VMCore", "QMP", "HostLinux"]
        ),
        // Guest extras: install scripts rendered from templates/guest, the extras ISO, attaching it.
        .target(
            name: "Extras",
            dependencies: ["VMCore", "QMP", "QEMU", "GuestAgent", "HostLinux"]
        ),
        // The command tree.
        .target(
            name: "Commands",
            dependencies: [
                "QMP", "VMCore", "QEMU", "HostLinux", "LibvirtXML", "Sessions", "GuestAgent", "Network", "Extras", "Handover",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command tree's libvirt backend, for vm-libvirt.
        .target(
            name: "LibvirtBackend",
            dependencies: ["Commands", "Libvirt", "HostLinux", "VMCore", "Sessions", "GuestAgent"]
        ),
        // `vm` leaves libvirt out so that its start stays short; `vm-libvirt` links it and takes over
        // libvirt-backed commands (scripts/install builds both with the Swift runtime linked in).
        // `vm` starts for every command, so its start is kept short: the C++ runtime is linked in
        // (see Linker/libstdc++.so), and its own symbols are not exported (nothing looks them up
        // at run time; the dynamic loader and the Swift runtime's start-up then scan 400 symbols,
        // not 9,000).
        .executableTarget(name: "vm", dependencies: ["Commands", .product(name: "Logging", package: "swift-log")],
                          linkerSettings: [.unsafeFlags(["-L", Context.packageDirectory + "/Linker", "-Xlinker", "--no-export-dynamic"])]),
        .executableTarget(
            name: "vm-libvirt",
            dependencies: ["Commands", "LibvirtBackend", .product(name: "Logging", package: "swift-log")]
        ),
        // The per-VM supervisor, which lives as long as its VM: only the QEMU backend and what it
        // needs (no argument parser, no command tree, no libvirt), so that it stays small.
        .executableTarget(
            name: "vm-supervisor",
            dependencies: ["QEMU", "VMCore", "HostLinux", .product(name: "Logging", package: "swift-log")]
        ),
        // Benchmark driver for scripts/bench (its qmp part).
        .executableTarget(name: "qmp-bench", dependencies: ["QMP"], path: "Sources/qmp-bench"),
        // Benchmark driver for scripts/bench (its teardown part): the supervisor's teardown in
        // this process over a fake kernel (HostLinuxFakes), with real QEMU (GuestSupport).
        .executableTarget(name: "teardown-bench", dependencies: ["GuestSupport", "HostLinuxFakes", "HostLinux", "VMCore", "QMP", "CSpawn", "OSThreads"],
                          path: "Sources/teardown-bench"),

        .testTarget(name: "QMPTests", dependencies: ["QMP", "OSThreads", "HostLinux", .product(name: "Subprocess", package: "swift-subprocess")]),
        .testTarget(name: "VMCoreTests", dependencies: ["VMCore"]),
        .testTarget(name: "HandoverTests", dependencies: ["Handover", "HostLinux"]),
        // Fake host trees and a fake kernel for host-side tests (shared by test targets).
        .target(name: "HostLinuxFakes", dependencies: ["HostLinux", "VMCore"], path: "Tests/HostLinuxFakes"),
        .testTarget(name: "HostLinuxTests", dependencies: ["HostLinux", "HostLinuxFakes", "VMCore"], exclude: ["Golden"]),
        .testTarget(
            name: "QEMUTests",
            dependencies: [
                "QEMU", "QMP", "VMCore", "HostLinux", "HostLinuxFakes", "Sessions", "GuestSupport", "Handover",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "LibvirtTests",
            dependencies: [
                "Libvirt", "LibvirtXML", "VMCore", "HostLinux", "HostLinuxFakes", "GuestSupport", "QMP", "Handover", "QEMU", "Sessions", "GuestAgent",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "CommandsTests",
            dependencies: [
                "Commands", "QMP", "VMCore", "Sessions", "GuestSupport", "HostLinux", "HostLinuxFakes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Boots the test-bed guest for the guest-agent, network and extras tests.
        .target(
            name: "GuestSupport",
            dependencies: [
                "QEMU", "VMCore", "HostLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/GuestSupport"
        ),
        .testTarget(name: "GuestAgentTests", dependencies: ["GuestAgent", "GuestSupport", "QMP", "QEMU", "VMCore"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "GuestSupport", "QEMU", "QMP", "VMCore", "HostLinux", "GuestAgent"]),
        .testTarget(name: "ExtrasTests", dependencies: ["Extras", "GuestSupport", "QEMU", "QMP", "VMCore", "HostLinux", "GuestAgent"], exclude: ["Golden"]),
        // vm host bind / vm gpu list inside the test-bed guest (real kernel, virtual IOMMU); needs qemu-system-x86_64.
        .testTarget(name: "RealKernelTests", dependencies: ["HostLinux"], exclude: ["Guest"]),
    ]
)
