import CLibvirt
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the libvirt layer: either libvirt's own error (its message, code and domain, as
/// `virGetLastError` reports them) or a condition this layer checks.
public enum LibvirtError: Error, Equatable, CustomStringConvertible {
    /// libvirt failed `operation` (e.g. `virDomainCreate`). `code` is a `virErrorNumber`, `domain`
    /// a `virErrorDomain` (the part of libvirt that raised it).
    case api(operation: String, code: Int32, domain: Int32, message: String)
    /// A domain with this name exists but was not defined from the same content.
    case definedWithOtherContent(name: String)
    /// A live-detached device was still in the domain when the timeout ran out (the guest did not
    /// release it; without a guest OS a PCIe unplug never completes).
    case detachTimedOut(alias: String, seconds: Double)

    /// libvirt's `VIR_ERR_NO_DOMAIN`: the domain does not exist (or vanished).
    public var isNoDomain: Bool {
        if case .api(_, let code, _, _) = self { return code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }
        return false
    }

    /// libvirt's `VIR_ERR_OPERATION_INVALID`: not possible in the domain's current state.
    public var isOperationInvalid: Bool {
        if case .api(_, let code, _, _) = self { return code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) }
        return false
    }

    public var description: String {
        switch self {
        case .api(let operation, let code, let domain, let message):
            return "libvirt: \(message) (\(operation), code \(code), domain \(domain))"
        case .definedWithOtherContent(let name):
            return "libvirt already has a domain '\(name)' with other content; redefine it to replace it"
        case .detachTimedOut(let alias, let seconds):
            return "device \(alias) was still attached after \(seconds) s; the guest did not release it"
        }
    }

    /// The calling thread's last libvirt error for `operation`. Call it right after the failing
    /// call, with no suspension point in between: libvirt keeps the last error per thread, and
    /// every libvirt call (even `virDomainGetName`) clears it, so `operation` is only evaluated
    /// after the error has been copied.
    static func last(_ operation: @autoclosure () -> String) -> LibvirtError {
        guard let error = virGetLastError() else {
            let name = operation()
            return .api(operation: name, code: 0, domain: 0, message: "\(name) failed without an error report")
        }
        let code = error.pointee.code
        let domain = error.pointee.domain
        let message = error.pointee.message.map { String(cString: $0) }
        virResetLastError()
        let name = operation()
        return .api(operation: name, code: code, domain: domain, message: message ?? "\(name) failed")
    }
}

/// One-time libvirt set-up: thread support, no error printing to stderr (errors are thrown), and
/// the event loop (before any connection is opened, so that every connection delivers events).
enum LibvirtLibrary {
    static let initialized: Void = {
        _ = virInitialize()
        virSetErrorFunc(nil) { _, _ in }
        LibvirtEventLoop.start()
    }()
}

/// A libvirt-allocated C string as a Swift string; frees it.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    defer { free(pointer) }
    return String(cString: pointer)
}

/// Frees memory libvirt handed over with `malloc` (lists, strings).
func freeLibvirtMemory(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}
