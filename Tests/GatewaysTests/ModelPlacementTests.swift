import Testing
@testable import Gateways

/// Placing models on servers: least loaded first, distinct servers per model, capacity, stability, failures.
struct ModelPlacementTests {
    typealias Demand = ModelPlacement.Demand
    typealias Offer = ModelPlacement.Offer

    @Test func replicasGoOnDistinctServersLeastLoadedFirst() {
        let placement = ModelPlacement.place(
            [Demand(model: "a", memory: 300, replicas: 2), Demand(model: "b", memory: 100), Demand(model: "c", memory: 100)],
            on: [Offer(server: "s1"), Offer(server: "s2"), Offer(server: "s3")]
        )
        #expect(placement.servers["a"] == ["s1", "s2"])
        #expect(placement.servers["b"] == ["s3"], "the server without a model")
        #expect(placement.servers["c"] == ["s3"], "100 bytes beside b is less than 300 beside a")
        #expect(placement.shortfalls.isEmpty)
    }

    @Test func capacityIsRespectedAndAShortfallSaysWhy() {
        let placement = ModelPlacement.place(
            [Demand(model: "big", memory: 900, replicas: 2), Demand(model: "small", memory: 200)],
            on: [Offer(server: "s1", capacity: 1000), Offer(server: "s2", capacity: 500)]
        )
        #expect(placement.servers["big"] == ["s1"])
        #expect(placement.servers["small"] == ["s2"])
        #expect(placement.shortfalls["big"]?.hasPrefix("on 1 of 2 replicas") == true, "\(placement.shortfalls)")
    }

    @Test func aModelGoesOnlyOnServersCapableOfItsRequirements() {
        let offers = [
            Offer(server: "mlserver", capabilities: ["mlserver", "sklearn", "python"]), Offer(server: "triton", capabilities: ["tensorflow", "onnx"]),
            Offer(server: "any"),
        ]
        let placement = ModelPlacement.place(
            [Demand(model: "iris", replicas: 3, requirements: ["sklearn"]), Demand(model: "resnet", requirements: ["tensorflow"]),
             Demand(model: "llm", requirements: ["vllm", "gpu"])],
            on: offers
        )
        #expect(Set(placement.servers["iris"] ?? []) == ["mlserver", "any"], "a server that declares nothing takes any model")
        #expect(placement.shortfalls["iris"]?.hasPrefix("on 2 of 3 replicas") == true, "\(placement.shortfalls)")
        #expect(placement.servers["resnet"]?.count == 1 && placement.servers["resnet"]?.first != "mlserver")
        #expect(placement.servers["llm"] == ["any"])
        let declared = ModelPlacement.place([Demand(model: "llm", requirements: ["vllm"])], on: Array(offers.prefix(2)))
        #expect(declared.servers["llm"] == nil)
        #expect(declared.shortfalls["llm"] == "on 0 of 1 replicas: no server has the capabilities it requires (vllm)")
    }

    @Test func aModelNamingItsServerGoesOnlyThere() {
        let placement = ModelPlacement.place([Demand(model: "m", server: "s2")], on: [Offer(server: "s1"), Offer(server: "s2")])
        #expect(placement.servers["m"] == ["s2"])
        let down = ModelPlacement.place([Demand(model: "m", server: "s2")], on: [Offer(server: "s1"), Offer(server: "s2", isAvailable: false)])
        #expect(down.servers["m"] == nil && down.shortfalls["m"]?.contains("its server s2") == true)
    }

    @Test func aServerGoingAwayMovesItsModelsAndValidReplicasStay() {
        let servers = [Offer(server: "s1"), Offer(server: "s2"), Offer(server: "s3")]
        let first = ModelPlacement.place([Demand(model: "m", replicas: 2), Demand(model: "n")], on: servers)
        #expect(first.servers["m"] == ["s1", "s2"] && first.servers["n"] == ["s3"])
        let s1Down = [Offer(server: "s1", isAvailable: false), Offer(server: "s2"), Offer(server: "s3")]
        let moved = ModelPlacement.place([Demand(model: "m", replicas: 2), Demand(model: "n")], on: s1Down, keeping: first)
        #expect(moved.servers["m"] == ["s2", "s3"], "the replica on s2 stays; the one on s1 moves")
        #expect(moved.servers["n"] == ["s3"])
        let back = ModelPlacement.place([Demand(model: "m", replicas: 2), Demand(model: "n")], on: servers, keeping: moved)
        #expect(back == moved, "nothing moves back when the server returns")
        let alone = ModelPlacement.place([Demand(model: "m", replicas: 2)], on: [Offer(server: "s1"), Offer(server: "s2", isAvailable: false)])
        #expect(alone.servers["m"] == ["s1"] && alone.shortfalls["m"] != nil)
        let returned = ModelPlacement.place([Demand(model: "m", replicas: 2)], on: [Offer(server: "s1"), Offer(server: "s2")], keeping: alone)
        #expect(returned.servers["m"] == ["s1", "s2"] && returned.shortfalls.isEmpty, "loaded again once the server is back")
    }

    @Test func thePlacementIsTheSameWhateverTheOrderOfItsInputs() {
        let models = (0..<20).map { Demand(model: "m\($0)", memory: Int64($0 % 5) * 100, replicas: 1 + $0 % 3) }
        let servers = (0..<6).map { Offer(server: "s\($0)", capacity: 2000) }
        #expect(ModelPlacement.place(models, on: servers) == ModelPlacement.place(models.reversed(), on: servers.reversed()))
    }
}
