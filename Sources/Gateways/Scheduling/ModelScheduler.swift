import AsyncHTTPClient
import Dataflow
import Logging

/// Places the models that have a `storageUri` on the servers that declare a model repository, loads and unloads
/// them there (``ModelRepository``), and says where each is available and in what state.
///
/// One instance schedules at a time (the control plane picks it); each round looks at the servers again, so a
/// server that goes away has its models placed elsewhere when there is room, and gets them back when it returns.
public actor ModelScheduler {
    struct Replica: Hashable {
        var model: String
        var server: String
    }

    /// What a round found: the servers each model is loaded on, and each model's status.
    public struct Outcome: Sendable, Hashable {
        public var placement: [String: [String]] = [:]
        /// `Available`, `Loading`, `Unloading` (no longer wanted, its unloading failed: tried again next round), or
        /// `Failed: <reason>`.
        public var status: [String: String] = [:]
    }

    private let logger: Logger
    private let client: HTTPClient
    private let roots: ModelRoots
    private let inferenceURL: String?
    /// The replicas loaded, with what each was loaded from.
    private var loaded: [Replica: Artifacts] = [:]
    private var failures: [String: String] = [:]

    /// What a replica is loaded from: its artifacts, and the settings written into its `model-settings.json`.
    struct Artifacts: Hashable {
        var storageUri: String
        var extra: [String: String] = [:]
    }

    /// Models are copied only from and into folders inside `roots`; an explainer is told to call what it explains
    /// through the inference API at `inferenceURL` (none: explainers cannot be placed).
    public init(roots: ModelRoots, inferenceURL: String? = nil, client: HTTPClient = .shared, logger: Logger) {
        self.roots = roots
        self.inferenceURL = inferenceURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.client = client
        self.logger = logger
    }

    /// Whether `model` is placed by the scheduler: it has a `storageUri`, and its server (or, naming none, some
    /// server) declares a repository. Other models are served where their resource says.
    public static func isScheduled(_ model: ModelResource, servers: [ServerResource]) -> Bool {
        guard model.storageUri != nil else { return false }
        if let named = model.server?.value { return servers.contains { $0.name.value == named && $0.repository != nil } }
        return servers.contains { $0.repository != nil }
    }

    /// One round over `models` and `servers` (the desired state).
    public func round(models: [ModelResource], servers: [ServerResource]) async -> Outcome {
        let scheduled = models.filter { Self.isScheduled($0, servers: servers) }
        var repositories: [String: ModelRepository] = [:]
        for server in servers {
            guard let folder = server.repository?.value, let endpoint = server.endpoints.first?.value else { continue }
            repositories[server.name.value] = ModelRepository(server: server.name.value, folder: folder, endpoint: endpoint, client: client)
        }
        var available: Set<String> = []
        for (name, repository) in repositories where await repository.isReady() { available.insert(name) }
        for replica in loaded.keys where !available.contains(replica.server) {
            loaded[replica] = nil
            logger.warning("server unavailable; its model replica is gone", metadata: ["model": "\(replica.model)", "server": "\(replica.server)"])
        }

        var previous = ModelPlacement()
        for replica in loaded.keys.sorted(by: { ($0.model, $0.server) < ($1.model, $1.server) }) {
            previous.servers[replica.model, default: []].append(replica.server)
        }
        let demands = scheduled.map {
            ModelPlacement.Demand(
                model: $0.name.value, memory: $0.memory?.value.bytes ?? 0, replicas: Int($0.replicas?.value ?? 1), server: $0.server?.value,
                requirements: Set($0.requirements)
            )
        }
        let offers = servers.filter { $0.repository != nil }.map {
            ModelPlacement.Offer(
                server: $0.name.value, capacity: $0.capacity?.value.bytes, isAvailable: available.contains($0.name.value),
                capabilities: $0.capabilities.map(Set.init)
            )
        }
        let placement = ModelPlacement.place(demands, on: offers, keeping: previous)

        let wanted = Set(placement.servers.flatMap { model, servers in servers.map { Replica(model: model, server: $0) } })
        for replica in loaded.keys where !wanted.contains(replica) {
            guard let repository = repositories[replica.server] else {
                loaded[replica] = nil
                continue
            }
            do {
                try await repository.unload(replica.model)
                try await repository.remove(replica.model)
                loaded[replica] = nil
                logger.info("model unloaded", metadata: ["model": "\(replica.model)", "server": "\(replica.server)"])
            } catch {
                logger.warning("model could not be unloaded; trying again", metadata: ["model": "\(replica.model)", "error": "\(error)"])
            }
        }
        let storage = Dictionary(scheduled.map { ($0.name.value, artifacts(of: $0)) }, uniquingKeysWith: { _, last in last })
        for replica in wanted.sorted(by: { ($0.model, $0.server) < ($1.model, $1.server) }) {
            guard let planned = storage[replica.model], let repository = repositories[replica.server] else { continue }
            let artifacts: Artifacts
            switch planned {
            case .success(let found): artifacts = found
            case .failure(let failure):
                failures[replica.model] = failure.description
                continue
            }
            guard loaded[replica] != artifacts else { continue }
            do {
                _ = try roots.confine(try ModelRepository.localFolder(of: artifacts.storageUri), as: "storageUri")
                _ = try roots.confine(repository.folder, as: "repository")
                try await repository.install(replica.model, from: artifacts.storageUri, extra: artifacts.extra)
                try await repository.load(replica.model)
                loaded[replica] = artifacts
                failures[replica.model] = nil
                logger.info("model loaded", metadata: ["model": "\(replica.model)", "server": "\(replica.server)", "storageUri": "\(artifacts.storageUri)"])
            } catch {
                failures[replica.model] = error.description
                logger.error("model could not be loaded", metadata: ["model": "\(replica.model)", "server": "\(replica.server)", "error": "\(error)"])
            }
        }

        var outcome = Outcome()
        for demand in demands {
            // Requests go to every replica loaded, of the new version or still of the old one: an update rolls
            // out while the old version serves, and the model is Available again once the new one is loaded.
            let serving = loaded.keys.filter { $0.model == demand.model }.map(\.server).sorted()
            if !serving.isEmpty { outcome.placement[demand.model] = serving }
            let current = loaded.keys.filter { $0.model == demand.model && loaded[$0] == (try? storage[demand.model]?.get()) }
            if !current.isEmpty {
                outcome.status[demand.model] = "Available"
            } else if let failure = failures[demand.model] {
                outcome.status[demand.model] = "Failed: \(failure)"
            } else if placement.servers[demand.model] == nil, let shortfall = placement.shortfalls[demand.model] {
                outcome.status[demand.model] = "Failed: \(shortfall)"
            } else {
                outcome.status[demand.model] = serving.isEmpty ? "Loading" : "Loading (the previous version serves meanwhile)"
            }
        }
        let known = Set(demands.map(\.model))
        for replica in loaded.keys.sorted(by: { ($0.model, $0.server) < ($1.model, $1.server) }) where !known.contains(replica.model) {
            outcome.placement[replica.model, default: []].append(replica.server)
            outcome.status[replica.model] = "Unloading"
        }
        failures = failures.filter { known.contains($0.key) }
        return outcome
    }

    /// What `model` is to be loaded from; for an explainer, the URL of what it explains.
    private func artifacts(of model: ModelResource) -> Result<Artifacts, RepositoryFailure> {
        var artifacts = Artifacts(storageUri: model.storageUri!.value)
        guard let explainer = model.explainer else { return .success(artifacts) }
        guard let inferenceURL else {
            return .failure(RepositoryFailure("an explainer needs the inference API's URL to call what it explains (dataflow serve --inference-url)"))
        }
        artifacts.extra["explainer_type"] = explainer.type.value
        switch explainer.target {
        case .model(let name): artifacts.extra["infer_uri"] = "\(inferenceURL)/v2/models/\(ModelRepository.pathSegment(name)).model/infer"
        case .pipeline(let name): artifacts.extra["infer_uri"] = "\(inferenceURL)/v2/pipelines/\(ModelRepository.pathSegment(name))/infer"
        }
        return .success(artifacts)
    }
}
