#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard output or standard error, written the way Unix tools write them: when the reader has gone (`| head -1`
/// exited), the command ends quietly with status 141 — what a shell reports for a tool that SIGPIPE ended — instead
/// of trapping. The process ignores SIGPIPE (the HTTP client needs that), so a closed pipe shows up as EPIPE here.
enum StandardStream: Int32 {
    case output = 1
    case error = 2

    /// The status a command ends with when its reader closed the pipe (128 + SIGPIPE).
    static let closedPipeStatus: Int32 = 141

    /// Writes all of `text`; ends the process if the reader is gone, and drops the text on any other failure
    /// (a full disk is not worth a crash of a client command).
    func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { buffer in
                #if canImport(Glibc)
                Glibc.write(rawValue, buffer.baseAddress, buffer.count)
                #else
                Darwin.write(rawValue, buffer.baseAddress, buffer.count)
                #endif
            }
            if written >= 0 {
                bytes = bytes.dropFirst(written)
                continue
            }
            switch errno {
            case EINTR, EAGAIN: continue
            case EPIPE: exit(Self.closedPipeStatus)
            default: return
            }
        }
    }
}
