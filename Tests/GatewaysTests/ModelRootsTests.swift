import Dataflow
import Foundation
import Testing
@testable import Gateways

/// Models are copied only from and into the folders the operator allowed: a path that leaves them, by `..` or
/// through a symbolic link, is refused, and an applied resource naming one is refused where it says so.
@Suite struct ModelRootsTests {
    let base: URL

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("roots-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base.appendingPathComponent("allowed/models/sum"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: base.appendingPathComponent("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: base.appendingPathComponent("allowed/escape"), withDestinationURL: base.appendingPathComponent("elsewhere")
        )
    }

    var roots: ModelRoots { ModelRoots([base.appendingPathComponent("allowed").path]) }

    @Test func pathsInsideTheRootsAreAcceptedEvenBeforeTheyExist() throws {
        let allowed = base.appendingPathComponent("allowed").resolvingSymlinksInPath().path
        #expect(try roots.confine(base.path + "/allowed/models/sum", as: "storageUri") == allowed + "/models/sum")
        #expect(try roots.confine(base.path + "/allowed/repository/new", as: "repository") == allowed + "/repository/new")
        #expect(try roots.confine(base.path + "/allowed", as: "repository") == allowed)
    }

    @Test(arguments: ["/etc", "/allowed/../elsewhere", "/allowed/escape", "/allowed/escape/deeper", "/allowed-not"])
    func pathsThatLeaveTheRootsAreRefused(_ path: String) throws {
        let full = path.hasPrefix("/allowed") ? base.path + path : path
        #expect(throws: RepositoryFailure.self, "\(full)") { try roots.confine(full, as: "storageUri") }
    }

    @Test func appliedResourcesNamingOtherFoldersAreRefusedAtTheirField() throws {
        let resources = try Resource.load(yaml: """
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata:
              name: inside
            spec:
              storageUri: file://\(base.path)/allowed/models/sum
            ---
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata:
              name: secrets
            spec:
              storageUri: file:///etc
            ---
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Server
            metadata:
              name: writer
            spec:
              endpoints: [http://127.0.0.1:8080]
              repository: \(base.path)/allowed/escape
            """, file: "roots.yaml")
        let problems = roots.problems(resources)
        #expect(problems.map(\.location.line) == [13, 21], "\(problems)")
        #expect(problems.map(\.field) == ["spec.storageUri", "spec.repository"], "\(problems)")
        #expect(problems.allSatisfy { $0.problem.contains("lies outside the model roots") })
    }
}
