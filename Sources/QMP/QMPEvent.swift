/// An asynchronous QMP event, e.g. `DEVICE_DELETED` or `SHUTDOWN`.
public struct QMPEvent: Sendable, Equatable {
    /// The event name.
    public let name: String
    /// The `data` member (`.null` when absent).
    public let data: JSONValue
    /// QEMU's timestamp as seconds since the epoch (`-1` when QEMU sent none).
    public let timestamp: Double

    public init(name: String, data: JSONValue, timestamp: Double) {
        self.name = name
        self.data = data
        self.timestamp = timestamp
    }

    /// Reads an event message (`{"event": ..., "data": ..., "timestamp": {...}}`).
    public init?(message: [String: JSONValue]) {
        guard let name = message["event"]?.stringValue else { return nil }
        self.name = name
        data = message["data"] ?? .null
        if let stamp = message["timestamp"], let seconds = stamp["seconds"]?.doubleValue,
            let micro = stamp["microseconds"]?.doubleValue
        {
            timestamp = seconds + micro / 1_000_000
        } else {
            timestamp = -1
        }
    }
}

/// Which events a subscriber wants.
public struct QMPEventFilter: Sendable {
    private let predicate: @Sendable (QMPEvent) -> Bool

    /// Events for which `predicate` returns true.
    public init(_ predicate: @escaping @Sendable (QMPEvent) -> Bool) {
        self.predicate = predicate
    }

    /// Every event.
    public static var all: QMPEventFilter { QMPEventFilter { _ in true } }

    /// Events with one of these names.
    public static func named(_ names: String...) -> QMPEventFilter { named(Set(names)) }

    /// Events with one of these names.
    public static func named(_ names: Set<String>) -> QMPEventFilter {
        QMPEventFilter { names.contains($0.name) }
    }

    /// Whether `event` passes.
    public func matches(_ event: QMPEvent) -> Bool { predicate(event) }
}
