import CLibvirt
import Foundation
import Synchronization
import VMCore

/// libvirt's default event loop, run on a thread of its own (never on a Swift concurrency
/// thread): it delivers the domain events of every connection opened after it was registered,
/// and their keepalives. ``LibvirtLibrary`` starts it before the first connection.
enum LibvirtEventLoop {
    static func start() {
        guard virEventRegisterDefaultImpl() == 0 else { return }
        let thread = Thread {
            while virEventRunDefaultImpl() == 0 {}
        }
        thread.name = "libvirt-events"
        thread.start()
    }
}

/// What a ``DomainEventSubscription`` delivers.
public enum DomainEvent: Sendable, Equatable {
    /// The domain started, stopped, paused, resumed, ... (`VIR_DOMAIN_EVENT_ID_LIFECYCLE`); ask
    /// its state for where it stands now.
    case lifecycle
    /// A device left the live domain (`VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED`), by its alias.
    case deviceRemoved(String)
    /// QEMU sent this QMP event (`virConnectDomainQemuMonitorEventRegister`).
    case qemuMonitor(String)
}

/// Where libvirt's event-loop thread hands an event to the waiting task.
private final class EventSink: Sendable {
    let continuation: AsyncStream<DomainEvent>.Continuation

    init(_ continuation: AsyncStream<DomainEvent>.Continuation) {
        self.continuation = continuation
    }

    /// A retained reference for libvirt's `opaque`; libvirt releases it through ``release``.
    func retainedOpaque() -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(self).toOpaque()
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> EventSink? {
        opaque.map { Unmanaged<EventSink>.fromOpaque($0).takeUnretainedValue() }
    }

    static let release: virFreeCallback = { opaque in
        opaque.map { Unmanaged<EventSink>.fromOpaque($0).release() }
    }
}

/// A domain's events for as long as the subscription lives: its lifecycle changes, devices
/// leaving it and, when asked, one QMP event of its QEMU. Subscribe before looking at the state, so no change
/// between the look and the wait is missed; ``cancel()`` (or the end of the subscription)
/// deregisters the callbacks.
public final class DomainEventSubscription: Sendable {
    /// The events, in order.
    public let events: AsyncStream<DomainEvent>
    private let continuation: AsyncStream<DomainEvent>.Continuation
    private let connection: LibvirtConnection
    /// The callbacks still registered: domain-event ids and the QEMU monitor event's id.
    private let registered = Mutex<(events: [Int32], monitor: Int32?)>(([], nil))

    init(_ domain: LibvirtDomain, qmpEvent: String?) throws(LibvirtError) {
        (events, continuation) = AsyncStream.makeStream(of: DomainEvent.self)
        connection = domain.connection
        let sink = EventSink(continuation)
        let lifecycle: @convention(c) (virConnectPtr?, virDomainPtr?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _, opaque in
            EventSink.from(opaque)?.continuation.yield(.lifecycle)
            return 0
        }
        let removed: @convention(c) (virConnectPtr?, virDomainPtr?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { _, _, alias, opaque in
            EventSink.from(opaque)?.continuation.yield(.deviceRemoved(alias.map { String(cString: $0) } ?? ""))
        }
        let monitor: virConnectDomainQemuMonitorEventCallback = { _, _, event, _, _, _, opaque in
            EventSink.from(opaque)?.continuation.yield(.qemuMonitor(event.map { String(cString: $0) } ?? ""))
        }
        for (event, callback) in [(VIR_DOMAIN_EVENT_ID_LIFECYCLE, unsafeBitCast(lifecycle, to: virConnectDomainEventGenericCallback.self)),
                                  (VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, unsafeBitCast(removed, to: virConnectDomainEventGenericCallback.self))] {
            let id = virConnectDomainEventRegisterAny(domain.connection.pointer, domain.pointer, Int32(event.rawValue), callback,
                                                      sink.retainedOpaque(), EventSink.release)
            guard id >= 0 else { throw failed("virConnectDomainEventRegisterAny(\(domain.name))") }
            registered.withLock { $0.events.append(id) }
        }
        if let qmpEvent {
            let id = virConnectDomainQemuMonitorEventRegister(
                domain.connection.pointer, domain.pointer, qmpEvent, monitor, sink.retainedOpaque(), EventSink.release, 0)
            guard id >= 0 else { throw failed("virConnectDomainQemuMonitorEventRegister(\(domain.name), \(qmpEvent))") }
            registered.withLock { $0.monitor = id }
        }
    }

    /// libvirt's error for `operation`, after undoing the registrations made so far.
    private func failed(_ operation: String) -> LibvirtError {
        let error = LibvirtError.last(operation)
        cancel()
        return error
    }

    /// Deregisters the callbacks and ends ``events``; again does nothing.
    public func cancel() {
        let (events, monitor) = registered.withLock { ids in
            defer { ids = ([], nil) }
            return ids
        }
        for id in events { virConnectDomainEventDeregisterAny(connection.pointer, id) }
        if let monitor { virConnectDomainQemuMonitorEventDeregister(connection.pointer, monitor) }
        continuation.finish()
    }

    deinit {
        cancel()
    }
}

extension LibvirtDomain {
    /// Subscribes to this domain's lifecycle and device-removed events and, when `qmpEvent` is
    /// given, to that QMP event of its QEMU (the QEMU driver only).
    public func subscribe(qmpEvent: String? = nil) throws(LibvirtError) -> DomainEventSubscription {
        try DomainEventSubscription(self, qmpEvent: qmpEvent)
    }

    /// Waits until `done` holds or `timeout` passes, and returns whether it held. `done` is asked
    /// now and after each of `subscription`'s events: no polling.
    func wait(on subscription: DomainEventSubscription, timeout: Duration,
              until done: @escaping @Sendable () throws -> Bool) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                if try done() { return true }
                for await _ in subscription.events where try done() { return true }
                return false
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }

    /// Waits, on `subscription`'s events, until the domain no longer runs or `timeout` passes;
    /// returns whether it stopped.
    public func waitUntilStopped(_ subscription: DomainEventSubscription, timeout: Duration) async throws -> Bool {
        try await wait(on: subscription, timeout: timeout) { try !self.isRunning() }
    }

    /// Returns once QEMU sends QMP event `event`; throws ``VMWaitError/stoppedFirst(name:event:)``
    /// when the domain stops (or is not running) before.
    public func waitForQMPEvent(_ event: String) async throws {
        let subscription = try subscribe(qmpEvent: event)
        defer { subscription.cancel() }
        let stopped = VMWaitError.stoppedFirst(name: name, event: event)
        guard try isRunning() else { throw stopped }
        for await next in subscription.events {
            switch next {
            case .qemuMonitor: return
            case .lifecycle: guard try isRunning() else { throw stopped }
            case .deviceRemoved: continue
            }
        }
        try Task.checkCancellation()
        throw stopped
    }
}
