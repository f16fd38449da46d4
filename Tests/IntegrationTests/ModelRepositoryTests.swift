import AsyncHTTPClient
import Dataflow
import Foundation
import NIOCore
import Testing
@testable import Gateways

/// A model placed on a real MLServer through its folder and repository API: copied under its own name, loaded,
/// answering, unloaded and removed.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct ModelRepositoryTests {
    func infer(_ address: String, _ model: String) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "\(address)/v2/models/\(model)/infer")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"inputs":[{"name":"INPUT","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test func aModelIsCopiedLoadedAnsweredUnloadedAndRemoved() async throws {
        let name = TestBroker.uniqueName("repo")
        try await TestModelServer.with(name) { address in
            let folder = TestModelServer.root.appendingPathComponent(".run/\(name)-models").path
            let repository = ModelRepository(server: name, folder: folder, endpoint: address)
            let storage = "file://" + TestModelServer.root.appendingPathComponent("Tests/Models/add10").path

            try await repository.install("placed-add10", from: storage)
            let settings = try String(contentsOfFile: folder + "/placed-add10/model-settings.json", encoding: .utf8)
            #expect(settings.contains(#""name" : "placed-add10""#), "\(settings)")
            #expect(try await infer(address, "placed-add10").status == 404, "copied, not loaded yet")

            try await repository.load("placed-add10")
            #expect(try await repository.ready().contains("placed-add10"))
            let answered = try await infer(address, "placed-add10")
            #expect(answered.status == 200 && answered.body.contains("[11.0,12.0,13.0,14.0]"), "\(answered)")

            try await repository.unload("placed-add10")
            #expect(try await !repository.ready().contains("placed-add10"))
            #expect(try await infer(address, "placed-add10").status == 404)
            try await repository.remove("placed-add10")
            #expect(!FileManager.default.fileExists(atPath: folder + "/placed-add10"))

            await #expect(throws: RepositoryFailure.self) { try await repository.install("x", from: "gs://bucket/model") }
            await #expect(throws: RepositoryFailure.self) { try await repository.install("x", from: "/nonexistent/model") }
            do {
                try await repository.load("never-installed")
                Issue.record("a model not in the folder was loaded")
            } catch {
                #expect("\(error)".contains("404"), "\(error)")
            }
        }
    }
}
