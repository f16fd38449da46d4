import ArgumentParser
import Foundation
import Gateways

/// `dataflow apply -f FILE|DIR`: applies the Pipeline, Model and Server resources of YAML files (multi-document),
/// a folder's `*.yaml` / `*.yml` in name order.
struct ApplyCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply Pipeline, Model and Server resources from YAML files or folders."
    )

    @Option(name: .shortAndLong, help: "A YAML file or a folder of them (repeatable).")
    var file: [String]

    @OptionGroup var options: ControlOptions

    func execute() async throws(CLIFailure) {
        let files = try Self.resourceFiles(file)
        var outcomes: [ControlPlane.Outcome] = []
        for path in files {
            if options.output == .text { Terminal.error("applying \(path)") }
            let yaml: String
            do {
                yaml = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw CLIFailure("\(path): cannot be read: \(error.localizedDescription)")
            }
            do {
                let applied = try await options.client.apply(yaml: yaml, file: path)
                outcomes += applied
                if options.output == .text {
                    for outcome in applied {
                        Terminal.output("\(outcome.kind.lowercased()) \(outcome.name): \(outcome.status)" + (outcome.reason.map { " (\($0))" } ?? ""))
                    }
                }
            } catch {
                throw options.failure(error)
            }
        }
        if options.output == .json { Terminal.output(Terminal.json(["resources": outcomes])) }
    }

    /// The files named, folders expanded to their YAML files in name order.
    static func resourceFiles(_ paths: [String]) throws(CLIFailure) -> [String] {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw CLIFailure("\(path): no such file or folder", code: ExitCodes.usage)
            }
            guard isFolder.boolValue else {
                files.append(path)
                continue
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            let yaml = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            guard !yaml.isEmpty else { throw CLIFailure("\(path): no .yaml or .yml file in the folder", code: ExitCodes.usage) }
            files += yaml.map { (path as NSString).appendingPathComponent($0) }
        }
        return files
    }
}
