import StreamKit
import Testing

@Suite struct TopologyDescriptionTests {
    func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.addStore(Stores.inMemoryKeyValue("seen", key: .string, value: .string))
        builder.stream("input", key: .string, value: .string)
            .filter(named: "non-empty") { !$0.value.isEmpty }
            .selectKey(named: "by-value") { $0.value }
            .process(named: "dedupe", stores: ["seen"]) { Dedupe() }
            .to("output", key: .string, value: .string, named: "out")
        return try builder.build()
    }

    final class Dedupe: Processor {
        typealias InKey = String
        typealias InValue = String
        typealias OutKey = String
        typealias OutValue = String
        func process(_ record: Record<String, String>) async throws {}
    }

    @Test func textDescriptionListsSubtopologiesNodesAndStores() throws {
        let text = try topology().description
        #expect(text.contains("Sub-topology: 0"))
        #expect(text.contains("Sub-topology: 1"))
        #expect(text.contains("Source: KSTREAM-SOURCE-0000000000 (topics: [input])"))
        #expect(text.contains("Processor: non-empty (stores: [])"))
        #expect(text.contains("--> by-value"))
        #expect(text.contains("<-- non-empty"))
        #expect(text.contains("Processor: dedupe (stores: [seen])"))
        #expect(text.contains("Sink: out (topic: output)"))
        #expect(text.contains("(topic: ${application.id}-KSTREAM-REPARTITION-"))
    }

    @Test func dotGraphHasClustersTopicsAndStores() throws {
        let dot = try topology().dot
        #expect(dot.hasPrefix("digraph topology {"))
        #expect(dot.contains("subgraph cluster_0"))
        #expect(dot.contains("subgraph cluster_1"))
        #expect(dot.contains("\"topic:input\" -> \"KSTREAM-SOURCE-0000000000\";"))
        #expect(dot.contains("\"store:seen\" [label=\"seen\", shape=cylinder];"))
        #expect(dot.contains("\"out\" -> \"topic:output\";"))
        #expect(dot.hasSuffix("}"))
    }
}
