/// Chooses among a server's endpoints the one with the fewest outstanding requests, skipping endpoints found
/// down; ties go round-robin so that an idle server's replicas share the load.
struct EndpointBalancer {
    private var outstanding: [Int]
    private var up: [Bool]
    private var cursor = 0

    init(endpoints: Int) {
        precondition(endpoints > 0, "a server has at least one endpoint")
        outstanding = Array(repeating: 0, count: endpoints)
        up = Array(repeating: true, count: endpoints)
    }

    /// Whether any endpoint is up.
    var isAvailable: Bool { up.contains(true) }

    func isUp(_ endpoint: Int) -> Bool { up[endpoint] }

    /// Takes the least loaded endpoint that is up for one request, or `nil` when all are down.
    mutating func acquire() -> Int? {
        var best: Int?
        for step in 0..<outstanding.count {
            let endpoint = (cursor + step) % outstanding.count
            guard up[endpoint] else { continue }
            if best == nil || outstanding[endpoint] < outstanding[best!] { best = endpoint }
        }
        guard let best else { return nil }
        cursor = (best + 1) % outstanding.count
        outstanding[best] += 1
        return best
    }

    /// Gives back an endpoint taken by ``acquire()`` once its request is answered or failed.
    mutating func release(_ endpoint: Int) { outstanding[endpoint] -= 1 }

    /// Marks an endpoint down or up; returns whether the server as a whole changed availability.
    mutating func mark(_ endpoint: Int, up isUp: Bool) -> Bool {
        let wasAvailable = isAvailable
        up[endpoint] = isUp
        return wasAvailable != isAvailable
    }
}
