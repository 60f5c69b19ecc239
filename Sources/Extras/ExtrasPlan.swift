import HostLinux

/// One file on the extras disc.
public struct StagedFile: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        /// Rendered text (written with CRLF line ends: the guest is Windows).
        case text(String)
        /// A host file copied as it is.
        case copy(String)
    }
    /// Path on the disc, `/`-separated, no leading slash.
    public var path: String
    public var content: Content
}

/// What goes on the extras disc. Made by ``ExtrasPlan/make(vm:resolution:inventory:templates:)``; pure.
public struct ExtrasPlan: Sendable, Equatable {
    public var files: [StagedFile]
    /// Lines of MISSING.txt.
    public var missing: [String]

    /// The marker file in the disc's root that `vm extras install` looks for in the guest.
    public static let tagFile = "VMEXTRAS.TAG"
    /// The disc's volume id.
    public static let volumeID = "VMEXTRAS"

    /// The text of a rendered file.
    public func text(_ path: String) -> String? {
        guard case .text(let text)? = files.first(where: { $0.path == path })?.content else { return nil }
        return text
    }

    /// Renders the scripts for what `inventory` holds.
    public static func make(vm: String, resolution: Resolution, inventory: DriverInventory, templates: TemplateDirectory) throws -> ExtrasPlan {
        var files: [StagedFile] = []
        var steps: [String] = []
        var contents: [String] = []
        for (_, name, what) in VirtioInstallers.wanted {
            guard let source = inventory.virtioInstallers[name] else { continue }
            files.append(StagedFile(path: "virtio/\(name)", content: .copy(source)))
            steps.append("""
                echo Installing the \(what)
                msiexec /i "%EXTRAS%virtio\\\(name)" /qn /norestart
                if errorlevel 1 if not errorlevel 3010 set RESULT=1
                """)
            contents.append("- \(what) (virtio\\\(name))")
        }
        if let installer = inventory.lookingGlassHost, let name = installer.split(separator: "/").last.map(String.init) {
            files.append(StagedFile(path: "looking-glass/\(name)", content: .copy(installer)))
            steps.append("""
                echo Installing the Looking Glass host application
                "%EXTRAS%looking-glass\\\(name)" /S || set RESULT=1
                """)
            contents.append("- Looking Glass host application (looking-glass\\\(name), installed silently; it runs as a service)")
        }
        var displayMatch: String?
        if let folder = inventory.usbmmidd {
            for name in DriverInventory.files(folder) {
                files.append(StagedFile(path: "usbmmidd/\(name)", content: .copy("\(folder)/\(name)")))
            }
            files.append(StagedFile(path: "usbmmidd-install.cmd", content: .text(try templates.render("guest/usbmmidd-install.cmd", [:]))))
            files.append(StagedFile(path: "usbmmidd-uninstall.cmd", content: .text(try templates.render("guest/usbmmidd-uninstall.cmd", [:]))))
            steps.append("""
                echo Installing the usbmmidd virtual display
                call "%EXTRAS%usbmmidd-install.cmd" || set RESULT=1
                """)
            contents.append("- usbmmidd virtual display (usbmmidd-install.cmd, usbmmidd-uninstall.cmd; a logon task re-adds its monitor after reboots)")
            displayMatch = "usbmmidd|USB Mobile Monitor"
        } else if let idd = inventory.iddcx {
            let values = ["IDD_INF": idd.inf, "IDD_HWID": idd.hardwareID, "IDD_TOOL": idd.tool]
            for name in DriverInventory.files(idd.folder) {
                files.append(StagedFile(path: "iddcx/\(name)", content: .copy("\(idd.folder)/\(name)")))
            }
            files.append(StagedFile(path: "iddcx-install.cmd", content: .text(try templates.render("guest/iddcx-install.cmd", values))))
            files.append(StagedFile(path: "iddcx-uninstall.cmd", content: .text(try templates.render("guest/iddcx-uninstall.cmd", values))))
            steps.append("""
                echo Installing the IddCx virtual display driver
                call "%EXTRAS%iddcx-install.cmd" || set RESULT=1
                """)
            contents.append("- IddCx virtual display driver \(idd.inf) (iddcx-install.cmd, iddcx-uninstall.cmd)")
            displayMatch = "Virtual Display|IddSample|MttVDD|IddCx"
        }
        if let displayMatch {
            let values = ["WIDTH": "\(resolution.width)", "HEIGHT": "\(resolution.height)", "DISPLAY_MATCH": displayMatch]
            files.append(StagedFile(path: "set-display.ps1", content: .text(try templates.render("guest/set-display.ps1", values))))
            steps.append("""
                echo Making the virtual display primary at \(resolution)
                powershell -NoProfile -ExecutionPolicy Bypass -File "%EXTRAS%set-display.ps1" || set RESULT=1
                """)
            contents.append("- set-display.ps1: the virtual display at \(resolution), primary")
        }
        if steps.isEmpty { steps.append("echo Nothing to install: see MISSING.txt") }
        files.insert(StagedFile(path: "install.cmd", content: .text(try templates.render(
            "guest/install.cmd", ["VM_NAME": vm, "STEPS": steps.joined(separator: "\n")]))), at: 0)
        files.append(StagedFile(path: "README.txt", content: .text(try templates.render(
            "guest/README.txt", ["VM_NAME": vm, "CONTENTS": contents.isEmpty ? "- nothing (see MISSING.txt)" : contents.joined(separator: "\n")]))))
        let missing = inventory.missing
        files.append(StagedFile(path: "MISSING.txt", content: .text(
            missing.isEmpty ? "Nothing is missing.\n" : "Not provided (vm downloads nothing):\n" + missing.map { "- \($0)\n" }.joined())))
        files.append(StagedFile(path: tagFile, content: .text("vm extras for \(vm)\n")))
        return ExtrasPlan(files: files, missing: missing)
    }
}
