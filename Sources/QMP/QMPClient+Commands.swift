import Synchronization

/// Typed helpers for the commands the orchestrator uses.
extension QMPClient {
    /// `query-status`; `timeout` overrides the ``QMPClient/timeouts`` table.
    public func queryStatus(timeout: Duration? = nil) async throws(QMPError) -> QMPStatus {
        try await decode("query-status", timeout: timeout, QMPStatus.init)
    }

    /// `query-version`.
    public func queryVersion() async throws(QMPError) -> QMPVersion {
        try await decode("query-version", QMPVersion.init)
    }

    /// `query-kvm`.
    public func queryKVM() async throws(QMPError) -> QMPKVMState {
        try await decode("query-kvm", QMPKVMState.init)
    }

    /// `query-cpus-fast`: each vCPU's host thread.
    public func queryCPUThreads() async throws(QMPError) -> [QMPCPUThread] {
        try await decode("query-cpus-fast") { QMPCPUThread.list($0, indexKey: "cpu-index") }
    }

    /// `query-iothreads`: the host thread of each I/O thread object, in QEMU's order.
    public func queryIOThreads() async throws(QMPError) -> [QMPCPUThread] {
        try await decode("query-iothreads") { QMPCPUThread.list($0, indexKey: nil) }
    }

    /// `query-pci`, flattened (functions behind bridges included).
    public func queryPCI() async throws(QMPError) -> [QMPPCIDevice] {
        try await decode("query-pci", QMPPCIDevice.flatten(queryPCI:))
    }

    /// The ids of the devices that have one (`-device ...,id=`, `device_add`): the children of
    /// `/machine/peripheral` (`qom-list`). Unlike `query-pci`, it lists a device behind a root
    /// port before the guest's firmware numbered that port's bus (a VM that has not run yet).
    public func peripheralIDs() async throws(QMPError) -> [String] {
        let command = "qom-list"
        let reply = try await execute(command, arguments: ["path": .string("/machine/peripheral")])
        guard let entries = reply.arrayValue else { throw .unexpectedReply(command: command, reply: "\(reply)") }
        return entries.compactMap { entry in
            guard let name = entry["name"]?.stringValue, entry["type"]?.stringValue?.hasPrefix("child<") == true else { return nil }
            return name
        }
    }

    /// `device_add` with `driver`, `id` and any further properties (`bus`, `addr`,
    /// `multifunction`, ...).
    public func deviceAdd(driver: String, id: String, properties: [String: JSONValue] = [:]) async throws(QMPError) {
        var arguments = properties
        arguments["driver"] = .string(driver)
        arguments["id"] = .string(id)
        _ = try await execute("device_add", arguments: arguments)
    }

    /// `device_del`: asks the guest to release the device. Completion is a later
    /// `DEVICE_DELETED`; use ``watchDeviceDeletion(ids:)`` before calling this, or
    /// ``deviceDel(id:awaitingDeletionOf:timeout:)``. A repeated request while the guest is still
    /// busy throws ``QMPError/guestBusy(command:description:)``.
    public func deviceDel(id: String) async throws(QMPError) {
        _ = try await execute("device_del", arguments: ["id": .string(id)])
    }

    /// Subscribes to the deletion of `ids` (from now on).
    public func watchDeviceDeletion(ids: [String]) -> QMPDeviceDeletionWatch {
        QMPDeviceDeletionWatch(
            ids: Set(ids), stream: events(matching: .named("DEVICE_DELETED", "DEVICE_UNPLUG_GUEST_ERROR")))
    }

    /// `device_del id`, then waits until every device in `ids` (default: just `id`; unplugging
    /// function 0 removes the whole slot) is deleted.
    public func deviceDel(id: String, awaitingDeletionOf ids: [String]? = nil, timeout: Duration) async throws(QMPError) {
        let watch = watchDeviceDeletion(ids: ids ?? [id])
        try await deviceDel(id: id)
        try await watch.wait(timeout: timeout)
    }

    /// `system_powerdown`: presses the ACPI power button (the guest may ignore it).
    public func systemPowerdown() async throws(QMPError) {
        _ = try await execute("system_powerdown")
    }

    /// `system_reset`.
    public func systemReset() async throws(QMPError) {
        _ = try await execute("system_reset")
    }

    /// `stop`: pauses the vCPUs.
    public func stop() async throws(QMPError) {
        _ = try await execute("stop")
    }

    /// `cont`: resumes the vCPUs (also starts a VM launched with `-S`).
    public func cont() async throws(QMPError) {
        _ = try await execute("cont")
    }

    /// `quit`: QEMU exits right after replying; the connection then closes.
    public func quit() async throws(QMPError) {
        _ = try await execute("quit")
    }

    private func decode<Value>(
        _ command: String, timeout: Duration? = nil, _ parse: (JSONValue) -> Value?
    ) async throws(QMPError) -> Value {
        let reply = try await execute(command, timeout: timeout)
        guard let value = parse(reply) else { throw .unexpectedReply(command: command, reply: "\(reply)") }
        return value
    }
}

/// Waits for `DEVICE_DELETED` of a set of device ids; created by
/// ``QMPClient/watchDeviceDeletion(ids:)`` before sending `device_del` so no event is missed.
public struct QMPDeviceDeletionWatch: Sendable {
    /// The devices still expected.
    public let ids: Set<String>
    let stream: AsyncStream<QMPEvent>

    /// Returns once every id was deleted. Throws ``QMPError/unplugRejectedByGuest(device:)`` on
    /// `DEVICE_UNPLUG_GUEST_ERROR`, ``QMPError/timeout(command:seconds:)`` after `timeout`,
    /// ``QMPError/closed`` if QEMU goes away.
    public func wait(timeout: Duration) async throws(QMPError) {
        let remaining = Mutex(ids)
        let label = "DEVICE_DELETED " + ids.sorted().joined(separator: ",")
        _ = try await QMPEventWait.consume(stream, timeout: timeout, waitingFor: label) { event throws(QMPError) -> Bool? in
            guard let device = Self.deviceID(of: event) else { return nil }
            if event.name == "DEVICE_UNPLUG_GUEST_ERROR" {
                guard remaining.withLock({ $0.contains(device) }) else { return nil }
                throw .unplugRejectedByGuest(device: device)
            }
            return remaining.withLock { $0.remove(device); return $0.isEmpty } ? true : nil
        }
    }

    /// The `id` an unplug event is about: `data.device`, else the last component of
    /// `/machine/peripheral/ID`.
    public static func deviceID(of event: QMPEvent) -> String? {
        if let device = event.data["device"]?.stringValue, !device.isEmpty { return device }
        if let path = event.data["path"]?.stringValue, path.hasPrefix("/machine/peripheral/") {
            return String(path.dropFirst("/machine/peripheral/".count))
        }
        return nil
    }
}
