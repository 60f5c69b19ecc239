/// What a GPU hand-over (`vm gpu attach|detach`) did and where the time went; shared by the
/// QEMU and libvirt backends.
public struct SwapReport: Sendable, Codable {
    public var gpu: Int
    public var devices: [String]
    /// Our own work: planning, checks, journal writes, sysfs binding, encoding.
    public var ownWorkMilliseconds: Double
    /// Waiting on the hypervisor and the guest (QMP or libvirt round trips, unplug completion).
    public var waitingMilliseconds: Double
    /// One line per step taken.
    public var steps: [String]

    public init(gpu: Int, devices: [String], ownWorkMilliseconds: Double, waitingMilliseconds: Double, steps: [String]) {
        self.gpu = gpu
        self.devices = devices
        self.ownWorkMilliseconds = ownWorkMilliseconds
        self.waitingMilliseconds = waitingMilliseconds
        self.steps = steps
    }
}
