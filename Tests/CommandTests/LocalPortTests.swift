import Foundation
import Testing
@testable import ProjectScripts

/// Ports for the processes tests and soaks start: never in the ephemeral range, where any outgoing connection
/// could take one between the pick and the bind.
struct LocalPortTests {
    @Test func portsArePickedBelowTheEphemeralRangeAndAreFree() throws {
        let ephemeral = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        for _ in 0..<20 {
            let port = LocalPort.free()
            #expect(LocalPort.range.contains(port))
            if ephemeral.count == 2 { #expect(port < ephemeral[0], "\(port) is in the ephemeral range \(ephemeral)") }
            #expect(LocalPort.canBind(port))
        }
    }

    /// Two picks never hand out the same port while its claim lasts, in this process or across processes.
    @Test func aPortIsHandedOutOnceWhileItsClaimLasts() throws {
        let port = LocalPort.free()
        #expect(!LocalPort.reserve(port), "claimed by the pick that handed it out")
        var seen: Set<Int> = [port]
        for _ in 0..<200 { #expect(seen.insert(LocalPort.free()).inserted) }
        let claim = LocalPort.reservations.appendingPathComponent("\(port)").path
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -121)], ofItemAtPath: claim)
        #expect(LocalPort.reserve(port), "a claim older than two minutes has lapsed")
    }
}
