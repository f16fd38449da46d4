import Dataflow
import Foundation

/// The local folders models may be copied from (a Model's `storageUri`) and into (a Server's `repository`).
///
/// Resources arrive through the control API, so without this bound anyone allowed to apply a Model could have
/// this process read any folder it can read, and a Server could have it write into any folder it can write.
public struct ModelRoots: Sendable, Hashable {
    /// The folders, absolute, with `..` and symbolic links resolved.
    public let folders: [String]

    public init(_ folders: [String]) {
        self.folders = folders.map(Self.resolved)
    }

    /// The working directory of the process.
    public static var workingDirectory: ModelRoots { ModelRoots([FileManager.default.currentDirectoryPath]) }

    /// `path` resolved, if it lies inside one of the folders.
    public func confine(_ path: String, as what: String) throws(RepositoryFailure) -> String {
        let resolved = Self.resolved(path)
        guard folders.contains(where: { resolved == $0 || resolved.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            throw RepositoryFailure("\(what) \(path) lies outside the model roots (\(folders.joined(separator: ", "))); the operator allows other folders with the model-roots setting")
        }
        return resolved
    }

    /// Every storageUri and repository of `resources` that lies outside the folders, each naming its place.
    public func problems(_ resources: [Resource]) -> [ResourceError] {
        resources.compactMap { resource -> ResourceError? in
            let located: Located<String>?
            let what: String
            switch resource {
            case .model(let model):
                guard let uri = model.storageUri, let folder = try? ModelRepository.localFolder(of: uri.value) else { return nil }
                located = Located(folder, at: uri.location, field: uri.field)
                what = "storageUri"
            case .server(let server):
                located = server.repository
                what = "repository"
            case .pipeline, .experiment:
                return nil
            }
            guard let located else { return nil }
            do throws(RepositoryFailure) {
                _ = try confine(located.value, as: what)
                return nil
            } catch {
                return located.error(error.description)
            }
        }
    }

    /// The absolute path with `..` removed and the symbolic links of the part that exists resolved.
    private static func resolved(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var existing = URL(fileURLWithPath: absolute).standardizedFileURL
        var missing: [String] = []
        while existing.path != "/", !FileManager.default.fileExists(atPath: existing.path) {
            missing.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath()
        for component in missing { resolved.appendPathComponent(component) }
        return resolved.path
    }
}
