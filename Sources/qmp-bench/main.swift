// qmp-bench: QMP round-trip throughput of the QMP module against a running QEMU.
//
//   qmp-bench SOCKET sequential COUNT
//   qmp-bench SOCKET pipelined COUNT DEPTH
//
// Modes ending in `-pinned` run the calling tasks with the client's reader-thread executor as
// their preference (see QMPClient.executor). Prints one line:
// `MODE COUNT SECONDS PER_SECOND CPU_MICROSECONDS_PER_CALL` (process user + system time).
// Used by scripts/bench (its qmp part).
// QMP_BENCH_OOB=0 negotiates without the `oob` capability.
import Glibc
import QMP

/// Runs the measurement off the main actor, as a library caller would.
func measure(
    socket: String, mode: String, count: Int, depth: Int, enableOOB: Bool
) async throws -> (wall: Duration, cpu: Double) {
    let client = try await QMPClient.connect(
        path: socket, timeout: .seconds(30), options: QMPClient.Options(enableOutOfBand: enableOOB))
    defer { client.close() }
    // Warm up the connection and both sides' caches.
    for _ in 0..<200 { _ = try await client.execute("query-status") }
    let preference: (any TaskExecutor)? = mode.hasSuffix("-pinned") ? client.executor : nil
    let clock = ContinuousClock()
    let cpuStarted = processCPUSeconds()
    let started = clock.now
    if mode.hasPrefix("sequential") {
        try await Task(executorPreference: preference) {
            for _ in 0..<count { _ = try await client.execute("query-status") }
        }.value
    } else {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<depth {
                let share = count / depth + (worker < count % depth ? 1 : 0)
                group.addTask(executorPreference: preference) {
                    for _ in 0..<share { _ = try await client.execute("query-status") }
                }
            }
            try await group.waitForAll()
        }
    }
    return (clock.now - started, processCPUSeconds() - cpuStarted)
}

/// User plus system CPU time of this process so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, let count = Int(arguments[3]), count > 0,
    ["sequential", "pipelined", "sequential-pinned", "pipelined-pinned"].contains(arguments[2])
else {
    print("usage: qmp-bench SOCKET sequential|pipelined[-pinned] COUNT [DEPTH]")
    exit(2)
}
let mode = arguments[2]
let depth = arguments.count > 4 ? Int(arguments[4]) ?? 8 : 8
let enableOOB = getenv("QMP_BENCH_OOB").map { String(cString: $0) != "0" } ?? true
let (elapsed, cpu) = try await Task.detached {
    try await measure(socket: arguments[1], mode: mode, count: count, depth: depth, enableOOB: enableOOB)
}.value
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print("\(mode) \(count) \(seconds) \(Double(count) / seconds) \(cpu / Double(count) * 1e6)")
