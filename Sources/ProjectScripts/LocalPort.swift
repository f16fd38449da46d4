import Foundation

/// Ports on 127.0.0.1 for processes a run starts itself (`dataflow serve` instances of tests and soaks).
public enum LocalPort {
    /// Where ports are picked: below Linux's ephemeral range (32768–60999 by default). A port the OS hands out
    /// for port 0 lies in that range, and so does the source port of every outgoing connection: a port picked
    /// there can be taken by any connection between the pick and the server's bind (it happened once in about
    /// 600 `dataflow serve` starts of the test suite, and the instance lost its inference API).
    static let range: ClosedRange<Int> = 20_000...32_000

    /// A TCP port on 127.0.0.1 that nothing listens on now, outside the ephemeral range, and that no other pick
    /// (of this process or another, `scripts/free-port` included) handed out in the last two minutes.
    public static func free() -> Int {
        for _ in 0..<1_000 {
            let port = Int.random(in: range)
            if canBind(port), reserve(port) { return port }
        }
        return 0
    }

    /// Where picks leave a file per port they handed out: tests start many servers side by side, and two picks
    /// of the same free port before either server binds it make one of them fail (seen once in `make test`).
    static let reservations = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("swift-dataflow-ports")

    /// Claims `port` for two minutes; false when another pick holds it.
    static func reserve(_ port: Int) -> Bool {
        mkdir(reservations.path, 0o777)
        let path = reservations.appendingPathComponent("\(port)").path
        for _ in 0..<2 {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd >= 0 {
                close(fd)
                return true
            }
            guard let claimed = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  Date().timeIntervalSince(claimed) > 120 else { return false }
            unlink(path)
        }
        return false
    }

    static func canBind(_ port: Int) -> Bool {
        guard let fd = bound(port) else { return false }
        close(fd)
        return true
    }

    /// A socket listening on 127.0.0.1:`port`, or `nil` when the port is taken; the caller closes it. Tests use it
    /// to hold a port that a server must then fail to bind.
    public static func occupy(_ port: Int) -> Int32? {
        guard let fd = bound(port) else { return nil }
        guard listen(fd, 1) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    private static func bound(_ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}
