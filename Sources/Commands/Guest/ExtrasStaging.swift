import Extras
import HostLinux
import Logging
import VMCore

/// Building the extras ISO and putting it in the VM's CD drive when the VM runs; shared by
/// `vm extras stage` and the `stage-extras` session step.
enum ExtrasStaging {
    /// Builds the ISO; returns it with a sentence on where it went.
    static func stageAndAttach(_ loaded: LoadedDefinition, driverDirectory: String?, virtioWinISO: String?,
                               resolution: Resolution, logger: Logger) async throws -> (ExtrasStager.Result, String) {
        let stager = ExtrasStager(templates: try TemplateDirectory.locate())
        let result = try stager.stage(vm: loaded.spec.name, paths: loaded.paths, driverDirectory: driverDirectory,
                                      virtioWinISO: virtioWinISO, resolution: resolution)
        let status = await (try CommandSupport.machine(loaded, logger: logger)).status()
        guard status.state == .running || status.state == .paused else {
            return (result, "attached as a CD-ROM at the next `vm up \(loaded.spec.name)`")
        }
        do {
            let drive = try await ExtrasAttacher.attach(iso: result.iso, vm: loaded.spec.name.rawValue,
                                                        qmpSocket: loaded.qmpSocket, logger: logger)
            return (result, "loaded into the running VM's CD drive \(drive.qdev.isEmpty ? drive.device : drive.qdev)")
        } catch {
            return (result, "not loaded now: \(error)")
        }
    }
}
