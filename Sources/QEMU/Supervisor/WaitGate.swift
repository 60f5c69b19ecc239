import Synchronization

/// A value that tasks wait for until it is given, once (QEMU's monitor, for the commands of
/// clients that came before it answered), or until the gate closes without one (QEMU ended first).
final class WaitGate<Value: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Value?, Never>])
        case done(Value?)
    }

    private let state = Mutex(State.waiting([]))

    /// The value, once the gate is open; nil when it closed.
    func value() async -> Value? {
        await withCheckedContinuation { continuation in
            let settled = state.withLock { state -> Value?? in
                switch state {
                case .waiting(let waiting):
                    state = .waiting(waiting + [continuation])
                    return nil
                case .done(let value): return .some(value)
                }
            }
            if let settled { continuation.resume(returning: settled) }
        }
    }

    /// Whether the gate has opened or closed (``value()`` would not wait).
    var isSettled: Bool {
        state.withLock { state in
            if case .done = state { return true }
            return false
        }
    }

    /// Gives `value` to every waiting and later task; a gate opens or closes only once.
    func open(_ value: Value) { settle(value) }

    /// Gives nil to every waiting and later task.
    func close() { settle(nil) }

    private func settle(_ value: Value?) {
        let waiting = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard case .waiting(let waiting) = state else { return [] }
            state = .done(value)
            return waiting
        }
        for continuation in waiting { continuation.resume(returning: value) }
    }
}
