import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who did something on the node's host, as the operating system knows it — never a name a
/// request supplies. Recorded as an event's actor: `os:<user name>` (or `os:uid:<n>` when the
/// user has no name).
package enum OSUser {
    /// The user running this process (its effective uid).
    package static func current() -> String { actor(uid: geteuid()) }

    /// The owner of the file at `path` (not following a symbolic link), nil when it cannot be read.
    package static func owner(ofFile path: String) -> (actor: String, isRegularFile: Bool)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (actor(uid: st.st_uid), (st.st_mode & S_IFMT) == S_IFREG)
    }

    static func actor(uid: uid_t) -> String {
        if let pw = getpwuid(uid), let name = pw.pointee.pw_name { return "os:" + String(cString: name) }
        return "os:uid:\(uid)"
    }
}
