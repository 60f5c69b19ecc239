import Foundation
import QMP
import Synchronization

/// A QMP monitor that stands in for QEMU where real QEMU cannot go: `device_add` of `vfio-pci`
/// for functions that only exist in a fake sysfs. It keeps the device list, answers `query-pci`
/// and `qom-list /machine/peripheral` from it, and answers `device_del` of function 0 with `DEVICE_DELETED` for every function of
/// that slot, as QEMU does once the guest lets go.
final class FakeQMPServer: Sendable {
    let path: String
    private let listener: Int32
    private let state = Mutex(State())

    struct State {
        var devices: [String] = []
        var log: [String] = []
        /// Device ids whose `device_add` fails, as QEMU's does when it cannot open the host device.
        var refusedDevices: Set<String> = []
    }

    /// Makes `device_add` of `id` fail.
    func refuseDeviceAdd(_ id: String) { state.withLock { _ = $0.refusedDevices.insert(id) } }

    /// Device ids QEMU would show now.
    var devices: [String] { state.withLock { $0.devices } }
    /// Commands received, as `name {arguments}`.
    var log: [String] { state.withLock { $0.log } }

    init(path: String) throws {
        self.path = path
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let bound = UnixSocketAddress(path: path)?.withSockaddr { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 4) == 0 else { throw CocoaError(.fileWriteUnknown) }
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        unlink(path)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func send(_ fd: Int32, _ object: [String: Any]) {
        guard var data = try? JSONSerialization.data(withJSONObject: object) else { return }
        data.append(0x0a)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    private func serve(_ fd: Int32) {
        defer { Glibc.close(fd) }
        send(fd, ["QMP": ["version": ["qemu": ["major": 7, "minor": 2, "micro": 0], "package": "fake"], "capabilities": []]])
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: 0x0a) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[pending.index(after: newline)...])
                guard let message = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
                      let command = message["execute"] as? String else { continue }
                handle(command, arguments: message["arguments"] as? [String: Any] ?? [:], id: message["id"], fd: fd)
            }
        }
    }

    private func handle(_ command: String, arguments: [String: Any], id: Any?, fd: Int32) {
        let rendered = (try? JSONSerialization.data(withJSONObject: arguments, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        state.withLock { $0.log.append("\(command) \(rendered)") }
        var reply: [String: Any] = ["return": [String: Any]()]
        var deleted: [String] = []
        switch command {
        case "device_add":
            let device = arguments["id"] as? String ?? ""
            let refused = state.withLock { state in
                guard !state.refusedDevices.contains(device) else { return true }
                state.devices.append(device)
                return false
            }
            if refused { reply = ["error": ["class": "GenericError", "desc": "vfio \(arguments["host"] ?? ""): group 17 is not viable"]] }
        case "device_del":
            let device = arguments["id"] as? String ?? ""
            let slotPrefix = device.hasSuffix("-f0") ? String(device.dropLast(1)) : device
            deleted = state.withLock { state in
                let gone = state.devices.filter { $0 == device || $0.hasPrefix(slotPrefix) }
                state.devices.removeAll { gone.contains($0) }
                return gone
            }
        case "query-pci":
            let list = devices.enumerated().map { index, qdev -> [String: Any] in
                ["bus": 1, "slot": 0, "function": index, "class_info": ["class": 0x0300], "id": ["vendor": 0x10de, "device": 0x2203], "qdev_id": qdev]
            }
            reply = ["return": [["bus": 0, "devices": list]]]
        case "qom-list":
            reply = ["return": [["name": "type", "type": "string"]] + devices.map { ["name": $0, "type": "child<vfio-pci>"] }]
        case "query-status":
            reply = ["return": ["status": "running", "running": true]]
        default:
            break
        }
        if let id { reply["id"] = id }
        send(fd, reply)
        for device in deleted {
            send(fd, ["event": "DEVICE_DELETED", "data": ["device": device, "path": "/machine/peripheral/\(device)"],
                      "timestamp": ["seconds": 0, "microseconds": 0]])
        }
    }
}
