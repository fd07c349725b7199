import Foundation
package import Projections
#if canImport(Glibc)
import Glibc
#endif

/// Who did something on the node's host, as the operating system knows it — never a name a
/// request supplies. Recorded as an event's actor: `os:<user name>` (or `os:uid:<n>` when the
/// user has no name).
package enum OSUser {
    /// The user running this process (its effective uid).
    package static func current() -> String { actor(uid: geteuid()) }

    /// The user running this process as a grant names it (`os:<user>`).
    package static func principalName() -> PrincipalName { name(uid: geteuid()) }

    /// The user running this process as a principal of the CLI. The host login is taken as
    /// strong authentication: whoever can run `kvitto` on the host can read the node's files.
    package static func principal() -> Principal {
        Principal(name: principalName(), strongAuthentication: true, interface: .cli)
    }

    /// The principal owning a spool file (see ``owner(ofFile:)``).
    static func principal(uid: uid_t) -> Principal {
        Principal(name: name(uid: uid), strongAuthentication: true, interface: .cli)
    }

    static func name(uid: uid_t) -> PrincipalName {
        let actor = actor(uid: uid)
        return PrincipalName(actor) ?? PrincipalName(kind: .os, value: "uid:\(uid)")
    }

    /// The owner of the file at `path` (not following a symbolic link), nil when it cannot be read.
    package static func owner(ofFile path: String) -> (actor: String, principal: Principal, isRegularFile: Bool)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (actor(uid: st.st_uid), principal(uid: st.st_uid), (st.st_mode & S_IFMT) == S_IFREG)
    }

    /// `getpwuid_r` with a buffer of its own (`getpwuid`'s static buffer could be overwritten by a
    /// lookup on another thread between the call and the copy, naming another user).
    static func actor(uid: uid_t) -> String {
        var size = 1024
        while size <= 1 << 20 {
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            let name: String?? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: size) { buffer -> String?? in
                let rc = getpwuid_r(uid, &entry, buffer.baseAddress!, size, &found)
                if rc == ERANGE { return nil }
                guard rc == 0, found != nil, let n = entry.pw_name else { return .some(nil) }
                return .some(String(cString: n))
            }
            switch name {
            case .none: size *= 4
            case .some(let n?): return "os:" + n
            case .some(nil): return "os:uid:\(uid)"
            }
        }
        return "os:uid:\(uid)"
    }
}
