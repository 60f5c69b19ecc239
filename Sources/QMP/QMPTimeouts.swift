/// How long each command may take before ``QMPError/timeout(command:seconds:)``.
///
/// Queries answer at once; hot-plug, unplug and shutdown requests involve the guest or device
/// realisation and get longer. A per-call timeout overrides the table.
public struct QMPTimeouts: Sendable, Equatable {
    /// For commands not in ``perCommand``.
    public var standard: Duration
    /// Command name -> timeout.
    public var perCommand: [String: Duration]

    public init(standard: Duration = .seconds(5), perCommand: [String: Duration] = QMPTimeouts.defaultTable) {
        self.standard = standard
        self.perCommand = perCommand
    }

    /// The built-in table.
    public static let defaultTable: [String: Duration] = [
        "device_add": .seconds(30),
        "device_del": .seconds(30),
        "quit": .seconds(30),
        "system_powerdown": .seconds(30),
        "system_reset": .seconds(15),
        "stop": .seconds(15),
        "cont": .seconds(15),
        "blockdev-add": .seconds(30),
        "blockdev-del": .seconds(30),
    ]

    /// The timeout for `command`.
    public func timeout(for command: String) -> Duration {
        perCommand[command] ?? standard
    }
}

extension Duration {
    /// The duration in seconds, for messages.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
