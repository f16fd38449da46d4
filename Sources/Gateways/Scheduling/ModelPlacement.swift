import Dataflow

/// Which servers each model is placed on: `replicas` distinct servers per model, least loaded first, within
/// each server's capacity, keeping the replicas that are still valid where they are.
///
/// A pure function of its inputs, so that every control-plane instance computing it from the same desired state
/// and the same server availability finds the same placement.
public struct ModelPlacement: Sendable, Hashable {
    /// What a model asks for.
    public struct Demand: Sendable, Hashable {
        public var model: String
        /// Bytes one replica takes.
        public var memory: Int64
        public var replicas: Int
        /// The only server it may go on, when its resource names one.
        public var server: String?
        /// What its server must be capable of.
        public var requirements: Set<String>

        public init(model: String, memory: Int64 = 0, replicas: Int = 1, server: String? = nil, requirements: Set<String> = []) {
            self.model = model
            self.memory = memory
            self.replicas = replicas
            self.server = server
            self.requirements = requirements
        }
    }

    /// What a server offers.
    public struct Offer: Sendable, Hashable {
        public var server: String
        /// Bytes its models may take together; `nil` for no limit.
        public var capacity: Int64?
        /// Whether it answers now.
        public var isAvailable: Bool
        /// What models it can hold; `nil` for any.
        public var capabilities: Set<String>?

        public init(server: String, capacity: Int64? = nil, isAvailable: Bool = true, capabilities: Set<String>? = nil) {
            self.server = server
            self.capacity = capacity
            self.isAvailable = isAvailable
            self.capabilities = capabilities
        }

        func meets(_ requirements: Set<String>) -> Bool { capabilities.map { requirements.isSubset(of: $0) } ?? true }
    }

    /// The servers of each model, in the order they were chosen.
    public var servers: [String: [String]] = [:]
    /// Why a model has fewer replicas than it asks for (none at all, or some).
    public var shortfalls: [String: String] = [:]

    public init() {}

    /// Places `models` on `offers`, keeping what `previous` placed where it is still valid.
    public static func place(_ models: [Demand], on offers: [Offer], keeping previous: ModelPlacement = ModelPlacement()) -> ModelPlacement {
        var placement = ModelPlacement()
        let available = Dictionary(offers.filter(\.isAvailable).map { ($0.server, $0) }, uniquingKeysWith: { first, _ in first })
        var used: [String: Int64] = [:]
        var counts: [String: Int] = [:]
        let demands = models.sorted { $0.model < $1.model }

        func fits(_ demand: Demand, _ server: String) -> Bool {
            guard let offer = available[server], demand.server == nil || demand.server == server, offer.meets(demand.requirements) else { return false }
            guard let capacity = offer.capacity else { return true }
            return (used[server] ?? 0) + demand.memory <= capacity
        }
        func take(_ demand: Demand, _ server: String) {
            placement.servers[demand.model, default: []].append(server)
            used[server, default: 0] += demand.memory
            counts[server, default: 0] += 1
        }

        // Replicas still valid stay, so that a change moves as little as possible.
        for demand in demands {
            for server in (previous.servers[demand.model] ?? []).prefix(demand.replicas) where fits(demand, server) {
                take(demand, server)
            }
        }
        for demand in demands {
            var missing = demand.replicas - (placement.servers[demand.model]?.count ?? 0)
            guard missing > 0 else { continue }
            let candidates = available.keys
                .filter { !(placement.servers[demand.model] ?? []).contains($0) }
                .sorted { (used[$0] ?? 0, counts[$0] ?? 0, $0) < (used[$1] ?? 0, counts[$1] ?? 0, $1) }
            for server in candidates where missing > 0 && fits(demand, server) {
                take(demand, server)
                missing -= 1
            }
            if missing > 0 {
                let placed = placement.servers[demand.model]?.count ?? 0
                let capable = offers.filter { $0.meets(demand.requirements) && (demand.server == nil || demand.server == $0.server) }
                let why = if capable.isEmpty {
                    "no server has the capabilities it requires (\(demand.requirements.sorted().joined(separator: ", ")))"
                } else if let server = demand.server {
                    "its server \(server) is not available or has no room"
                } else {
                    "\(available.count) server(s) available, no other capable one with room for \(MemoryQuantity(bytes: demand.memory))"
                }
                placement.shortfalls[demand.model] = "on \(placed) of \(demand.replicas) replicas: \(why)"
            }
        }
        return placement
    }
}
