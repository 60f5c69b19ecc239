/// Thrown by a fault-injection checkpoint to stop a swap as a killed process would: the journal
/// is left as it is, nothing is rolled back, and `vm gpu recover` must clean up.
public struct SwapInterrupted: Error, Equatable {
    public let phase: SwapJournal.Phase
    public let detail: String
    public init(phase: SwapJournal.Phase, detail: String) {
        self.phase = phase
        self.detail = detail
    }
}
