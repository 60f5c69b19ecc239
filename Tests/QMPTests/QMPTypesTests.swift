import QMP
import Testing

enum QMPSamples {
    /// `query-pci` from QEMU 7.2 (q35, one root port holding an HDA controller), trimmed.
    static let queryPCIReply = #"""
        [{"bus": 0, "ranges": [], "devices": [
          {"bus": 0, "qdev_id": "", "slot": 0, "class_info": {"class": 1536, "desc": "Host bridge"},
           "id": {"device": 10512, "vendor": 32902, "subsystem": 4352, "subsystem-vendor": 6900}, "function": 0, "regions": []},
          {"bus": 0, "qdev_id": "rp1", "slot": 1, "class_info": {"class": 1540, "desc": "PCI bridge"},
           "id": {"device": 12, "vendor": 6966}, "function": 0, "regions": [],
           "pci_bridge": {"bus": {"number": 1, "secondary": 1, "subordinate": 1,
              "io_range": {"base": 4096, "limit": 4095}, "memory_range": {"base": 0, "limit": 0},
              "prefetchable_range": {"base": 0, "limit": 0}},
             "devices": [{"bus": 1, "qdev_id": "audio0", "slot": 0, "class_info": {"class": 1027, "desc": "Audio controller"},
               "id": {"device": 10779, "vendor": 32902}, "function": 0, "regions": [], "irq": 10, "irq_pin": 1}]}}]}]
        """#

    @Test("query-pci is flattened depth first, bridges included")
    static func flatten() throws {
        let devices = try #require(QMPPCIDevice.flatten(queryPCI: try JSONParser.parse(queryPCIReply)))
        #expect(devices.map(\.qdevID) == ["", "rp1", "audio0"])
        #expect(devices[2] == QMPPCIDevice(
            bus: 1, slot: 0, function: 0, vendorID: 0x8086, deviceID: 0x2A1B, classCode: 0x0403,
            classDescription: "Audio controller", qdevID: "audio0"))
    }

    @Test("a reply of the wrong shape is refused")
    static func wrongShape() throws {
        #expect(QMPPCIDevice.flatten(queryPCI: ["bus": 0]) == nil)
        #expect(QMPPCIDevice.flatten(queryPCI: [["devices": [["bus": 0]]]]) == nil)
        #expect(QMPStatus(["status": "running"]) == nil)
        #expect(QMPKVMState(["enabled": true, "present": true]) == QMPKVMState(enabled: true, present: true))
    }

    @Test("unplug events name their device by id or by path")
    static func deviceIDs() {
        #expect(QMPDeviceDeletionWatch.deviceID(of: QMPEvent(name: "DEVICE_DELETED", data: ["device": "a"], timestamp: 0)) == "a")
        #expect(QMPDeviceDeletionWatch.deviceID(
            of: QMPEvent(name: "DEVICE_DELETED", data: ["path": "/machine/peripheral/b"], timestamp: 0)) == "b")
        #expect(QMPDeviceDeletionWatch.deviceID(
            of: QMPEvent(name: "DEVICE_DELETED", data: ["path": "/machine/peripheral-anon/device[3]"], timestamp: 0)) == nil)
    }
}
