/// A built, immutable processing graph: sources, processors, sinks and stores, split into sub-topologies.
///
/// A sub-topology is a connected part of the graph (nodes joined by edges or by a shared store); repartition
/// topics cut the graph between sub-topologies. At run time each sub-topology becomes one task per partition of
/// its source topics. ``description`` prints the graph the way Kafka Streams does; ``dot`` as Graphviz.
public struct Topology: Sendable, CustomStringConvertible {
    /// A connected part of the topology, run as one task per partition.
    public struct Subtopology: Sendable {
        public let id: Int
        /// Node names, in the order they were added.
        public let nodes: [String]
        package let sourceTopics: [TopicName]
        package let sinkTopics: [TopicName]
        public let stores: [String]
    }

    package let nodes: [String: NodeSpec]
    package let children: [String: [String]]
    package let stores: [String: StoreSpec]
    public let subtopologies: [Subtopology]
    package let repartitionTopics: [(topic: TopicName, partitions: Int32?)]

    package init(nodes list: [NodeSpec], stores: [String: StoreSpec], repartitionTopics: [(topic: TopicName, partitions: Int32?)]) throws {
        var nodes: [String: NodeSpec] = [:]
        var children: [String: [String]] = [:]
        for node in list { nodes[node.name] = node }
        for node in list {
            for parent in node.parents {
                guard nodes[parent] != nil else {
                    throw TopologyError(node: node.name, reason: "parent '\(parent)' does not exist")
                }
                children[parent, default: []].append(node.name)
            }
            for store in node.stores where stores[store] == nil {
                throw TopologyError(node: node.name, reason: "store '\(store)' is not declared")
            }
        }
        var topicsRead: [String: String] = [:]
        for node in list {
            guard case .source(let source) = node.kind else { continue }
            for topic in source.topics {
                if let other = topicsRead[topic.description] {
                    throw TopologyError(node: node.name, reason: "topic '\(topic)' is read by '\(other)' already")
                }
                topicsRead[topic.description] = node.name
            }
        }
        self.nodes = nodes
        self.children = children
        self.stores = stores
        self.repartitionTopics = repartitionTopics
        self.subtopologies = Self.partition(list, stores: stores)
    }

    /// Groups nodes into connected components (edges and shared stores), numbered in order of appearance.
    private static func partition(_ list: [NodeSpec], stores: [String: StoreSpec]) -> [Subtopology] {
        var parent: [String: String] = [:]
        func find(_ name: String) -> String {
            var root = name
            while let next = parent[root], next != root { root = next }
            parent[name] = root
            return root
        }
        func union(_ a: String, _ b: String) {
            let (ra, rb) = (find(a), find(b))
            if ra != rb { parent[rb] = ra }
        }
        var storeOwner: [String: String] = [:]
        for node in list {
            parent[node.name] = parent[node.name] ?? node.name
            for p in node.parents { union(p, node.name) }
            for store in node.stores {
                if let owner = storeOwner[store] { union(owner, node.name) } else { storeOwner[store] = node.name }
            }
        }
        var groups: [String: [NodeSpec]] = [:]
        var roots: [String] = []
        for node in list {
            let root = find(node.name)
            if groups[root] == nil { roots.append(root) }
            groups[root, default: []].append(node)
        }
        return roots.enumerated().map { id, root in
            let members = groups[root]!
            var sources: [TopicName] = []
            var sinks: [TopicName] = []
            var storeNames: [String] = []
            for node in members {
                switch node.kind {
                case .source(let spec): sources += spec.topics
                case .sink(let spec): if case .topic(let topic) = spec.target { sinks.append(topic) }
                case .processor: break
                }
                for store in node.stores where !storeNames.contains(store) { storeNames.append(store) }
            }
            return Subtopology(id: id, nodes: members.map(\.name), sourceTopics: sources, sinkTopics: sinks, stores: storeNames)
        }
    }

    /// A topology with nothing in it: what an application hosting topologies given later runs at first.
    public static var empty: Topology { try! Topology(nodes: [], stores: [:], repartitionTopics: []) }

    /// Every topic the topology reads, with internal topics named for `applicationID`.
    public func sourceTopics(applicationID: String) -> [String] {
        subtopologies.flatMap { $0.sourceTopics.map { $0.resolved(applicationID: applicationID) } }
    }

    /// The topics one sub-topology reads, with internal topics named for `applicationID`.
    package func sourceTopics(of subtopology: Int, applicationID: String) -> [String] {
        subtopologies[subtopology].sourceTopics.map { $0.resolved(applicationID: applicationID) }
    }
}
