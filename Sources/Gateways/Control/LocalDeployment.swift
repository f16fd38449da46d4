import Dataflow
import Logging

/// The parts of this process that run what the desired state says — the engine and the model gateway — and the
/// pipeline gateway whose state this instance reports; each absent when this instance does not run that role.
public struct LocalDeployment: Sendable {
    public var engine: DataflowEngine?
    public var modelGateway: ModelGateway?
    public var pipelineGateway: PipelineGateway?
    /// The server of models whose resource names none.
    public var defaultServer: ModelServer?

    public init(engine: DataflowEngine?, modelGateway: ModelGateway?, defaultServer: ModelServer? = nil) {
        self.engine = engine
        self.modelGateway = modelGateway
        self.defaultServer = defaultServer
    }

    /// Brings the engine in line with `changes`, `state` being the whole desired state after them.
    ///
    /// - Returns: whether models or servers changed, so that the model gateway's routes are to be made again.
    func reconcile(_ changes: [DesiredState.Change], state: DesiredState, logger: Logger) async -> Bool {
        var applied: [Resource] = []
        var modelsChanged = false
        for change in changes {
            let kind: String
            switch change {
            case .applied(let resource):
                applied.append(resource)
                kind = resource.kind
            case .deleted(let deleted, let name):
                kind = deleted
                switch kind {
                case "Pipeline": await engine?.delete(name)
                case "Model": await engine?.deleteModel(name)
                case "Server": await engine?.deleteServer(name)
                default: break
                }
            }
            if kind == "Model" || kind == "Server" { modelsChanged = true }
        }
        if let engine, !applied.isEmpty {
            do {
                try await engine.apply(applied)
            } catch {
                logger.error("could not deploy applied resources", metadata: ["error": "\(error)"])
            }
        }
        return modelsChanged
    }

    /// Gives the model gateway the server of every model (``ModelServer/assign(models:servers:defaultServer:placement:)``).
    func route(_ assigned: (served: [String: ModelServer], unserved: [String]), logger: Logger) async {
        guard let modelGateway else { return }
        if !assigned.unserved.isEmpty {
            logger.warning("models without a server wait for one", metadata: ["models": "\(assigned.unserved)"])
        }
        do {
            try await modelGateway.serve(assigned.served)
        } catch {
            logger.error("the model gateway cannot serve the models applied", metadata: ["error": "\(error)"])
        }
    }
}
