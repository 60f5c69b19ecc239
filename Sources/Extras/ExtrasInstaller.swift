import FoundationEssentials
import Glibc
import GuestAgent

/// `vm extras install`: runs the staged install.cmd in a Windows guest through the guest agent.
public enum ExtrasInstaller {
    /// The outcome of install.cmd.
    public struct Outcome: Sendable, Equatable {
        public var drive: String
        public var exitCode: Int?
        public var output: String
        public var errors: String
    }

    /// The command that prints the letter of every drive holding the extras tag.
    public static let findDriveArguments = [
        "/c", "for %d in (D E F G H I J K L M N O P Q R S T U V W X Y Z) do @if exist %d:\\\(ExtrasPlan.tagFile) echo %d",
    ]

    /// The first drive letter in the finder's output.
    public static func parseDrive(_ output: String) -> String? {
        output.split(whereSeparator: \.isWhitespace).first { $0.count == 1 && $0.first!.isLetter }.map { String($0).uppercased() }
    }

    /// Checks the guest is Windows, finds the extras disc (the drive holding VMEXTRAS.TAG) and
    /// runs `cmd.exe /c X:\install.cmd`.
    public static func install(agent: GuestAgentClient, timeout: Duration = .seconds(1800)) async throws -> Outcome {
        let info = try await agent.info()
        guard let os = info.os, os.isWindows else {
            throw ExtrasError.notWindows(os: info.os?.prettyName ?? info.os?.id ?? "an unknown OS")
        }
        let find = try await agent.exec(path: "cmd.exe", arguments: findDriveArguments, timeout: .seconds(60))
        guard let drive = parseDrive(String(decoding: find.standardOutput, as: UTF8.self)) else { throw ExtrasError.discNotFoundInGuest }
        let run = try await agent.exec(path: "cmd.exe", arguments: ["/c", "\(drive):\\install.cmd"], timeout: timeout)
        return Outcome(drive: drive, exitCode: run.exitCode, output: String(decoding: run.standardOutput, as: UTF8.self),
                       errors: String(decoding: run.standardError, as: UTF8.self))
    }
}
