import Dataflow

/// The latest report of every instance (``InstanceReport``), and each pipeline's status aggregated over the
/// instances alive: a pipeline is Ready when every engine has applied its latest version and runs it, and, when
/// pipeline gateways run, at least one of them reads its answers.
public struct StatusBoard: Sendable {
    /// One instance's last report and when it was written (milliseconds since 1970).
    public struct Seen: Sendable, Hashable {
        public var report: InstanceReport
        public var at: Int64
    }

    public private(set) var instances: [String: Seen] = [:]
    /// How long an instance counts as alive after its last report.
    public var liveness: Int64

    public init(livenessMs: Int64) { liveness = livenessMs }

    /// Takes in the report of `instance` written at `at`; `nil` when it stopped.
    public mutating func record(instance: String, report: InstanceReport?, at: Int64) {
        guard let report else {
            instances[instance] = nil
            return
        }
        if let known = instances[instance], known.at > at { return }
        instances[instance] = Seen(report: report, at: at)
    }

    /// The instances whose last report is recent at `now`, by id.
    public func alive(now: Int64) -> [Seen] {
        instances.values.filter { now - $0.at <= liveness }.sorted { $0.report.instance < $1.report.instance }
    }

    /// The instance that schedules models: the alive one with the smallest id among those running the control role.
    public func scheduler(now: Int64) -> InstanceReport? {
        alive(now: now).first { $0.report.runs("control") }?.report
    }

    /// A model's status and the servers it is on.
    public struct ModelView: Sendable, Hashable {
        /// `Available`, `Loading`, `Unloading` or `Failed: …`.
        public var status: String
        public var servers: [String]
    }

    /// The status of model `name`, whose resource is `resource` (`nil` once deleted): for a model the scheduler
    /// places, as the scheduling instance reports it; a deleted model is Unloading while that instance still
    /// reports it anywhere, and gone (`nil`) after. A model served where its resource says is Available there.
    public func modelView(of name: String, resource: ModelResource?, servers: [ServerResource], now: Int64) -> ModelView? {
        let scheduling = scheduler(now: now)
        let placed = scheduling?.placement?[name] ?? []
        guard let resource else {
            // The scheduler gives every model it placed or still holds a status.
            guard scheduling?.modelStatus?[name] != nil else { return nil }
            return ModelView(status: "Unloading", servers: placed)
        }
        guard ModelScheduler.isScheduled(resource, servers: servers) else {
            return ModelView(status: "Available", servers: [resource.server?.value ?? "default"])
        }
        return ModelView(status: scheduling?.modelStatus?[name] ?? "Loading", servers: placed)
    }

    /// The models the scheduling instance still reports that are not in `applied`: deleted, being unloaded.
    public func unloadingModels(applied: Set<String>, now: Int64) -> [String] {
        (scheduler(now: now)?.modelStatus ?? [:]).keys.filter { !applied.contains($0) }.sorted()
    }

    /// A pipeline's status over the instances alive.
    public struct PipelineView: Sendable, Codable, Hashable {
        /// `Ready`, `Creating`, `Failed: …` or `Terminating`, as ``PipelineStatus`` says it.
        public var status: String
        /// Why it is not Ready, when it is not.
        public var reason: String?
        /// Its status on each engine instance.
        public var engines: [EngineView]
        /// The pipeline gateway instances that read its answers.
        public var answeredBy: [String]

        enum CodingKeys: String, CodingKey {
            case status, reason, engines
            case answeredBy = "answered_by"
        }
    }

    public struct EngineView: Sendable, Codable, Hashable {
        public var instance: String
        public var status: String
        public var version: Int?
    }

    /// The status of `pipeline`, whose latest change is at offset `changedAt` of the control topic.
    ///
    /// - Parameters:
    ///   - withGateways: whether it also takes a pipeline gateway reading its answers to be Ready.
    ///   - models: the models its steps call; one placed by the scheduler and loaded nowhere holds it back.
    public func view(of pipeline: String, changedAt: Int64, now: Int64, models: [String] = [], withGateways: Bool = true) -> PipelineView {
        let alive = alive(now: now)
        let scheduling = scheduler(now: now)
        let modelStatus = scheduling?.modelStatus ?? [:]
        let serving = scheduling?.placement ?? [:]
        var engines: [EngineView] = []
        for seen in alive where seen.report.runs("engine") {
            let report = seen.report
            // An engine that has not acted on the latest change yet runs an older version, or none.
            let found = report.controlOffset > changedAt ? report.pipelines.first { $0.name == pipeline } : nil
            engines.append(EngineView(instance: report.instance, status: found?.status ?? "Creating", version: found?.version))
        }
        let gateways = alive.filter { $0.report.runs("pipeline-gateway") }
        let answeredBy = gateways.filter { $0.report.answering.contains(pipeline) }.map(\.report.instance)
        var view = PipelineView(status: "Creating", engines: engines, answeredBy: answeredBy)
        if engines.isEmpty {
            view.reason = "no engine instance is running"
        } else if let failed = engines.first(where: { $0.status.hasPrefix("Failed") }) {
            view.status = failed.status
            view.reason = "on instance \(failed.instance)"
        } else if let other = engines.first(where: { $0.status != "Ready" }) {
            if other.status == "Terminating" || other.status == "Terminated" { view.status = "Terminating" }
            view.reason = "instance \(other.instance) is \(other.status)"
        } else if let waiting = models.first(where: { modelStatus[$0] != nil && modelStatus[$0] != "Available" && (serving[$0] ?? []).isEmpty }) {
            view.reason = "waiting for model \(waiting) (\(modelStatus[waiting]!))"
        } else if withGateways, !gateways.isEmpty, answeredBy.isEmpty {
            view.reason = "no pipeline gateway reads its answers yet"
        } else {
            view.status = "Ready"
        }
        return view
    }
}
