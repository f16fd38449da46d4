import ArgumentParser
import Foundation
import Gateways
import StreamKit

/// `dataflow get pipelines|models|servers|instances [NAME]`: what is applied (or running), as a table, the YAML
/// of one resource, or JSON.
struct GetCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "List applied pipelines, models or servers (or the running instances), or show one."
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case pipelines, models, servers, experiments, instances
        case pipeline, model, server, experiment
    }

    @Argument(help: "pipelines, models, servers, experiments or instances.") var kind: Kind
    @Argument(help: "One resource's name: its YAML as applied.") var name: String?
    @OptionGroup var options: ControlOptions

    private var plural: String {
        switch kind {
        case .pipeline: "pipelines"
        case .model: "models"
        case .server: "servers"
        case .experiment: "experiments"
        default: kind.rawValue
        }
    }

    struct Listed: Decodable {
        var pipelines: [PipelineSummary]?
        var models: [ModelSummary]?
        var servers: [ResourceSummary]?
        var experiments: [ResourceSummary]?
        var instances: [InstanceSummary]?
    }

    func execute() async throws(CLIFailure) {
        let body: [UInt8]
        do {
            body = try await options.client.get("/v1/\(plural)")
        } catch {
            throw options.failure(error)
        }
        guard let listed = try? JSONDecoder().decode(Listed.self, from: Data(body)) else {
            throw CLIFailure("the control API's answer is not a list of \(plural)")
        }
        let resources = listed.pipelines?.map { ResourceSummary(name: $0.name, yaml: $0.yaml) }
            ?? listed.models?.filter { !$0.yaml.isEmpty }.map { ResourceSummary(name: $0.name, yaml: $0.yaml) } ?? listed.servers ?? listed.experiments ?? []
        if let name {
            guard let resource = resources.first(where: { $0.name == name }) else {
                throw CLIFailure("\(plural.dropLast()) \(name) not found", hint: "`dataflow get \(plural)` lists them.")
            }
            if options.output == .json, let pipeline = listed.pipelines?.first(where: { $0.name == name }) {
                Terminal.output(Terminal.json(pipeline))
            } else {
                Terminal.output(options.output == .json ? Terminal.json(["name": resource.name, "yaml": resource.yaml]) : resource.yaml)
            }
            return
        }
        guard options.output == .text else {
            Terminal.output(Terminal.pretty(body))
            return
        }
        if let pipelines = listed.pipelines {
            Terminal.output(Terminal.table(["NAME", "VERSION", "STATUS", "ENGINES", "REASON"], pipelines.map {
                [$0.name, "\($0.version)", $0.status, "\($0.engines.filter { $0.status == "Ready" }.count)/\($0.engines.count)", $0.reason ?? ""]
            }))
        } else if let models = listed.models {
            Terminal.output(Terminal.table(["NAME", "STATUS", "SERVERS"], models.map { [$0.name, $0.status, $0.servers.joined(separator: ",")] }))
        } else if let instances = listed.instances {
            let now = SystemWallClock().now()
            Terminal.output(Terminal.table(["INSTANCE", "ROLES", "LAST SEEN", "PIPELINES", "ANSWERING", "MODELS"], instances.map {
                [$0.instance, $0.roles.joined(separator: ","), "\(max(0, now - $0.lastSeen) / 1000)s ago", "\($0.pipelines)", "\($0.answering)", "\($0.models)"]
            }))
        } else {
            Terminal.output(Terminal.table(["NAME"], resources.map { [$0.name] }))
        }
    }
}
