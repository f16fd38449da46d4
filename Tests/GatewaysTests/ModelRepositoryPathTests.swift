import Foundation
import Testing
@testable import Gateways

/// Model names reach the file system and URLs: none may lead outside the repository folder.
struct ModelRepositoryPathTests {
    let repository = ModelRepository(server: "s", folder: "/var/lib/models/", endpoint: "http://127.0.0.1:1")

    @Test func aModelLivesInAFolderOfItsOwnInsideTheRepository() throws {
        #expect(try repository.target("iris") == "/var/lib/models/iris")
    }

    @Test(arguments: ["..", "../etc", "a/../../b", "/etc", "a/b", ".", "", "Iris", "x y", "%2e%2e"])
    func namesThatCouldEscapeAreRefusedBeforeAnyFileIsTouched(_ name: String) async {
        #expect(throws: RepositoryFailure.self) { try repository.target(name) }
        await #expect(throws: RepositoryFailure.self) { try await repository.remove(name) }
        await #expect(throws: RepositoryFailure.self) { try await repository.install(name, from: "/nonexistent") }
    }

    @Test func namesArePercentEncodedInURLPaths() {
        #expect(ModelRepository.pathSegment("iris-2") == "iris-2")
        #expect(ModelRepository.pathSegment("../x y") == "..%2Fx%20y")
    }
}
