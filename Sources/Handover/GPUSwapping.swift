/// Moving a GPU between the host and a running guest: what `vm gpu attach|detach|recover` asks of a
/// backend (the QEMU backend through QMP and sysfs, the libvirt backend through managed hostdevs).
public protocol GPUSwapping: Sendable {
    /// The steps an attach of `[[gpu]]` number `index` would take; changes nothing.
    func plan(attach index: Int) throws -> [String]
    /// The steps a detach of `[[gpu]]` number `index` would take; changes nothing.
    func plan(detach index: Int) throws -> [String]
    /// Hands GPU `index` from the host to the running guest; `force` goes on although host
    /// processes hold the card (the host's display GPU, `host = "release"`: ends them first).
    func attach(gpu index: Int, force: Bool) async throws -> SwapReport
    /// Takes GPU `index` back from the running guest and returns it to its host drivers.
    func detach(gpu index: Int) async throws -> SwapReport
    /// `vm gpu recover`: finishes or rolls back an interrupted hand-over so that no function is
    /// left without its driver; a GPU fully in a running guest stays there. Returns what it did.
    func recover() async throws -> [String]
    /// A session's cleanup: every GPU a hand-over gave the guest comes back to the host (detached
    /// from a running guest), and an interrupted hand-over is finished. Returns what it did.
    func returnGPUs() async throws -> [String]
}
