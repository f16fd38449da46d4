extension Topology {
    /// The topology as text, in Kafka Streams' `TopologyDescription` layout.
    public var description: String {
        var lines = ["Topologies:"]
        for subtopology in subtopologies {
            lines.append("   Sub-topology: \(subtopology.id)")
            for name in subtopology.nodes {
                let node = nodes[name]!
                switch node.kind {
                case .source(let source):
                    lines.append("    Source: \(name) (topics: [\(source.topics.map(\.description).joined(separator: ", "))])")
                case .processor:
                    lines.append("    Processor: \(name) (stores: [\(node.stores.joined(separator: ", "))])")
                case .sink(let sink):
                    lines.append("    Sink: \(name) (topic: \(sink.targetDescription))")
                }
                let next = children[name] ?? []
                if !next.isEmpty { lines.append("      --> \(next.joined(separator: ", "))") }
                if !node.parents.isEmpty { lines.append("      <-- \(node.parents.joined(separator: ", "))") }
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    /// The topology as a Graphviz graph: a cluster per sub-topology, topics as ellipses, processors as boxes,
    /// stores as cylinders.
    public var dot: String {
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        var lines = ["digraph topology {", "  rankdir=LR;", "  node [fontname=\"Helvetica\", fontsize=10];"]
        var topics: Set<String> = []
        var edges: [String] = []
        for subtopology in subtopologies {
            lines.append("  subgraph cluster_\(subtopology.id) {")
            lines.append("    label=\"Sub-topology \(subtopology.id)\";")
            for name in subtopology.nodes {
                let node = nodes[name]!
                let shape: String
                switch node.kind {
                case .source(let source):
                    shape = "invhouse"
                    for topic in source.topics {
                        topics.insert(topic.description)
                        edges.append("  \(quoted("topic:" + topic.description)) -> \(quoted(name));")
                    }
                case .processor:
                    shape = "box"
                case .sink(let sink):
                    shape = "house"
                    topics.insert(sink.targetDescription)
                    edges.append("  \(quoted(name)) -> \(quoted("topic:" + sink.targetDescription));")
                }
                lines.append("    \(quoted(name)) [shape=\(shape)];")
                for store in node.stores {
                    lines.append("    \(quoted("store:" + store)) [label=\(quoted(store)), shape=cylinder];")
                    edges.append("  \(quoted(name)) -> \(quoted("store:" + store)) [dir=both, style=dashed];")
                }
                for child in children[name] ?? [] { edges.append("  \(quoted(name)) -> \(quoted(child));") }
            }
            lines.append("  }")
        }
        for topic in topics.sorted() {
            lines.append("  \(quoted("topic:" + topic)) [label=\(quoted(topic)), shape=ellipse, style=filled, fillcolor=lightgrey];")
        }
        lines += edges
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}

extension SinkSpec {
    var targetDescription: String {
        switch target {
        case .topic(let topic): return topic.description
        case .chosen: return "(chosen per record)"
        }
    }
}
