import ArgumentParser
import HostLinux
import VMCore

/// Shell completion of VM names: the `NAME.toml` files of the definition folders.
enum VMNames {
    /// The help of an argument that takes a VM.
    static let help: ArgumentHelp = "The VM name or a path to its definition."

    /// Completes the names of the defined VMs (paths still complete as files in the shell).
    static let completion = CompletionKind.custom { _, _, prefix in
        names(CommandSupport.loader).filter { $0.hasPrefix(prefix) }
    }

    /// The names of the VMs `loader` finds, sorted.
    static func names(_ loader: DefinitionLoader) -> [String] {
        Set(loader.definitionFiles().map(DefinitionParser.stem(of:))).sorted()
    }
}

/// Shell completion of values that come from this host or a fixed list.
enum Completions {
    /// `--backend` values.
    static let backends = CompletionKind.list(["qemu", "libvirt"])

    /// The PCI slots of this host's GPUs, as `vm gpu list` shows them.
    static let gpuSlots = CompletionKind.custom { _, _, prefix in
        ((try? GPUInventory.read(CommandSupport.hostFileSystem)) ?? []).map(\.slot).filter { $0.hasPrefix(prefix) }
    }

    /// Session files.
    static let sessionFiles = CompletionKind.file(extensions: ["toml"])
}
