import ArgumentParser
import Dataflow
import Foundation
import Gateways
import Logging
import Metrics
import Prometheus
import ProjectScripts
import ServiceLifecycle
import StreamKit

/// Runs the engine, the model gateway, the pipeline gateway and the control API in one process, or the subset
/// `--role` names, against one Kafka cluster — or, given none, a local broker started from the project's venv.
/// Several processes with the same topics share the work.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the engine, the gateways and the control API.",
        discussion: """
            Every setting can also come from a YAML config file (--config, or DATAFLOW_CONFIG) under the flag's name \
            (http-port: 9000, role: [engine, control], kafka: {security.protocol: SASL_SSL}) and from DATAFLOW_* \
            environment variables (DATAFLOW_HTTP_PORT, DATAFLOW_ROLE=engine,control, DATAFLOW_KAFKA_SECURITY_PROTOCOL). \
            Flags win over the environment, the environment over the file, the file over the defaults.
            """
    )

    enum Role: String, ExpressibleByArgument, CaseIterable {
        case engine
        case modelGateway = "model-gateway"
        case pipelineGateway = "pipeline-gateway"
        case control
    }

    @Option(help: "A YAML file of settings (also DATAFLOW_CONFIG).") var config: String?
    @Option(help: "Kafka bootstrap servers, host:port[,host:port...]. Default: a local broker started from the project's venv.")
    var bootstrap: String?
    @Option(name: .customLong("role"), help: "A part to run (repeatable): engine, model-gateway, pipeline-gateway, control. Default: all.")
    var roles: [Role] = []
    @Option(help: "Port of the inference API (HTTP). Default: 9000.") var httpPort: Int?
    @Option(help: "Port of the inference API (gRPC). Default: 9001.") var grpcPort: Int?
    @Option(help: "Port of the control API. Default: 9004.") var controlPort: Int?
    @Option(help: "Address the APIs listen on. Default: 127.0.0.1.") var host: String?
    @Option(help: "OIP REST base URL of the server for models whose resource names none.") var defaultServer: String?
    @Option(help: "Topic name prefix. Default: seldon.") var topicPrefix: String?
    @Option(help: "Topic namespace. Default: default.") var namespace: String?
    @Option(help: "Partitions of the topics created. Default: 4.") var partitions: Int?
    @Option(help: "Directory of the engine's state stores. Default: $XDG_STATE_HOME/swift-dataflow, or ~/.local/state/swift-dataflow.") var stateDir: String?
    @Option(help: "This instance's id, kept across restarts (a pod name). Default: one made once and kept in the state directory.")
    var instanceId: String?
    @Option(help: "Processing guarantee: at-least-once (default) or exactly-once.") var processingGuarantee: String?
    @Option(help: "Bearer token the control API requires (also DATAFLOW_AUTH_TOKEN).") var authToken: String?
    @Flag(help: "Require the token on the inference API too (health checks and /metrics stay open).") var inferenceAuth = false
    @Flag(help: "Serve the control API on a non-loopback --host without a token (anyone who reaches it can deploy).")
    var insecure = false
    @Flag(help: "Settings for a local single-node broker (short fetch waits and sessions); implied without --bootstrap.") var localBroker = false
    @Option(name: .customLong("kafka"), help: "A librdkafka property for every Kafka client, name=value (repeatable): security.protocol, sasl.*, ssl.*.")
    var kafka: [String] = []
    @Option(help: "Replicas of every topic created. Default: -1, the broker's default.replication.factor.") var replicationFactor: Int?
    @Option(name: .customLong("topic-config"), help: "A config of every topic created, name=value (repeatable): min.insync.replicas=2.")
    var topicConfigs: [String] = []
    @Option(help: "Who creates topics: admin (CreateTopics requests, the default) or broker (auto-creation when first named).")
    var topicCreation: String?
    @Option(help: "Milliseconds between commits of the engine and the model gateway: what a failure makes them do again under at-least-once, how long an answer waits under exactly-once. Default: 1000 at-least-once, 100 exactly-once.")
    var commitIntervalMs: Int?
    @Option(help: "Requests the inference API lets wait for their answers at once; more get 429. Default: 10000.")
    var maxRequestsInFlight: Int?
    @Option(help: "Connections each HTTP API (inference, control) keeps open at once; more wait to be accepted. Default: 10000.")
    var maxConnections: Int?
    @Option(help: "Seconds a connection may send nothing (no request, or one left unfinished) before it is closed. Default: 60.")
    var idleTimeout: Int?
    @Option(help: "Seconds a request body may take to arrive whole after its headers; slower ones get 408. Default: 30.")
    var bodyTimeout: Int?
    @Option(help: "The inference API's base URL as model servers reach it, for explainers to call what they explain. Default: http(s)://<host>:<http-port> when this instance serves the API.")
    var inferenceUrl: String?
    @Option(help: "How the inference API reaches a model asked for directly: direct (to a server holding it, the default) or kafka (through its topics).")
    var modelCalls: String?
    @Option(help: "Folders (comma-separated) a Model's storageUri and a Server's repository may name. Default: the working directory.")
    var modelRoots: String?
    @Option(help: "PEM certificate chain: the inference API (HTTP and gRPC) and the control API then serve TLS only (with --tls-key).")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(help: "Log lines as text (default) or json (an object per line, for log collectors).") var logFormat: String?
    @Option(help: "The least severe level logged: trace, debug, info (default), notice, warning, error or critical.") var logLevel: String?

    func run() async throws {
        var settings: Settings
        do {
            settings = try Settings(try layeredSettings())
        } catch {
            throw ValidationError(error.description)
        }
        let logger = settings.log.bootstrap(label: "dataflow")

        var broker: LocalBroker?
        if settings.bootstrap == nil {
            logger.info("no --bootstrap: starting the local broker")
            let started = try await LocalBroker.start(kind: "tansu", name: "serve-\(ProcessInfo.processInfo.processIdentifier)")
            logger.info("local broker listening", metadata: ["address": "\(started.address)"])
            broker = started
            settings.bootstrap = started.address
            settings.localBroker = true
        }
        do {
            try await serve(settings, logger: logger)
        } catch {
            await broker?.stop()
            throw error
        }
        await broker?.stop()
    }

    /// The file, then the environment, then the flags given.
    private func layeredSettings() throws(SettingsError) -> ServeSettings {
        let environment = ProcessInfo.processInfo.environment
        var settings = ServeSettings()
        if let path = config ?? environment["DATAFLOW_CONFIG"] { settings.overlay(try .file(path)) }
        settings.overlay(.environment(environment))
        var flags = ServeSettings()
        let given: [(String, String?)] = [
            ("bootstrap", bootstrap), ("role", roles.isEmpty ? nil : roles.map(\.rawValue).joined(separator: ",")),
            ("http-port", httpPort.map(String.init)), ("grpc-port", grpcPort.map(String.init)), ("control-port", controlPort.map(String.init)),
            ("host", host), ("default-server", defaultServer), ("topic-prefix", topicPrefix), ("namespace", namespace),
            ("partitions", partitions.map(String.init)), ("state-dir", stateDir), ("instance-id", instanceId), ("processing-guarantee", processingGuarantee),
            ("auth-token", authToken), ("inference-auth", inferenceAuth ? "true" : nil), ("local-broker", localBroker ? "true" : nil),
            ("insecure", insecure ? "true" : nil), ("replication-factor", replicationFactor.map(String.init)), ("topic-creation", topicCreation),
            ("commit-interval-ms", commitIntervalMs.map(String.init)),
            ("max-requests-in-flight", maxRequestsInFlight.map(String.init)),
            ("max-connections", maxConnections.map(String.init)), ("idle-timeout", idleTimeout.map(String.init)), ("body-timeout", bodyTimeout.map(String.init)), ("model-roots", modelRoots), ("model-calls", modelCalls), ("inference-url", inferenceUrl),
            ("tls-cert", tlsCert), ("tls-key", tlsKey), ("log-format", logFormat), ("log-level", logLevel),
        ]
        for case let (key, value?) in given { flags.set(key, value, source: "--\(key)") }
        for property in kafka {
            let parts = property.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SettingsError("--kafka \(property): expected name=value") }
            flags.setKafka(parts[0], parts[1], source: "--kafka")
        }
        for config in topicConfigs {
            let parts = config.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SettingsError("--topic-config \(config): expected name=value") }
            flags.setTopicConfig(parts[0], parts[1], source: "--topic-config")
        }
        settings.overlay(flags)
        return settings
    }

    /// The settings in effect, checked.
    struct Settings {
        /// The engine's and the model gateway's commit interval under at-least-once: Kafka Streams' 30 s would
        /// have every step of every pipeline call its models again for up to 30 s of requests after a failure.
        static let atLeastOnceCommitInterval: Duration = .seconds(1)

        var bootstrap: String?
        var roles: Set<Role>
        var httpPort: Int
        var grpcPort: Int
        var controlPort: Int
        var host: String
        var defaultServer: String?
        var topics: TopicNames
        var partitions: Int32
        var stateDir: String
        /// Given by a setting; otherwise ``InstanceIdentity/stored(in:)`` keeps one in the state directory.
        var instanceID: String?
        var guarantee: StreamsConfiguration.ProcessingGuarantee
        /// How often the engine and the model gateway commit.
        var commitInterval: Duration
        var authToken: String?
        var inferenceAuth: Bool
        var localBroker: Bool
        var kafka: [String: String]
        var topicCreation: KafkaTopicCreation
        var maxRequestsInFlight: Int
        var httpLimits: HTTPLimits
        var callsModelsDirectly: Bool
        var inferenceURL: String?
        var modelRoots: ModelRoots
        var tls: ServerTLS?
        var log: LogSetup

        init(_ settings: ServeSettings) throws(SettingsError) {
            bootstrap = settings.string("bootstrap")
            var roles: Set<Role> = []
            for name in settings.list("role") ?? [] {
                guard let role = Role(rawValue: name) else {
                    throw SettingsError("\(settings.source("role")): unknown role '\(name)'; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                roles.insert(role)
            }
            self.roles = roles.isEmpty ? Set(Role.allCases) : roles
            httpPort = try settings.int("http-port") ?? 9000
            grpcPort = try settings.int("grpc-port") ?? 9001
            controlPort = try settings.int("control-port") ?? 9004
            host = settings.string("host") ?? "127.0.0.1"
            defaultServer = settings.string("default-server")
            topics = TopicNames(prefix: settings.string("topic-prefix") ?? "seldon", namespace: settings.string("namespace") ?? "default")
            guard let partitions = Int32(exactly: try settings.int("partitions") ?? 4), partitions > 0 else {
                throw SettingsError("\(settings.source("partitions")): 'partitions' must be 1 or more")
            }
            self.partitions = partitions
            stateDir = settings.string("state-dir") ?? Self.defaultStateDirectory(ProcessInfo.processInfo.environment)
            instanceID = settings.string("instance-id")
            if let instanceID, let problem = InstanceIdentity.validate(instanceID) {
                throw SettingsError("\(settings.source("instance-id")): '\(instanceID)': \(problem)")
            }
            let guarantee = settings.string("processing-guarantee") ?? "at-least-once"
            guard let parsed = StreamsConfiguration.ProcessingGuarantee(rawValue: guarantee) else {
                throw SettingsError("\(settings.source("processing-guarantee")): the processing guarantee is at-least-once or exactly-once, not '\(guarantee)'")
            }
            self.guarantee = parsed
            let defaultInterval = parsed == .exactlyOnce ? StreamsConfiguration.exactlyOnceCommitInterval : Self.atLeastOnceCommitInterval
            commitInterval = try settings.positiveInt("commit-interval-ms").map { .milliseconds($0) } ?? defaultInterval
            authToken = settings.string("auth-token") ?? ProcessInfo.processInfo.environment["DATAFLOW_AUTH_TOKEN"]
            inferenceAuth = try settings.bool("inference-auth") ?? false
            if inferenceAuth, authToken == nil { throw SettingsError("\(settings.source("inference-auth")): inference-auth needs a token (--auth-token)") }
            localBroker = try settings.bool("local-broker") ?? false
            kafka = settings.kafkaProperties
            topicCreation = try settings.topicCreation()
            maxRequestsInFlight = try settings.positiveInt("max-requests-in-flight") ?? 10_000
            httpLimits = HTTPLimits()
            if let connections = try settings.positiveInt("max-connections") { httpLimits.maxConnections = connections }
            if let seconds = try settings.positiveInt("idle-timeout") { httpLimits.idleTimeout = .seconds(seconds) }
            if let seconds = try settings.positiveInt("body-timeout") { httpLimits.bodyTimeout = .seconds(seconds) }
            switch settings.string("model-calls") ?? "direct" {
            case "direct": callsModelsDirectly = true
            case "kafka": callsModelsDirectly = false
            case let other: throw SettingsError("\(settings.source("model-calls")): model calls are direct or kafka, not '\(other)'")
            }
            modelRoots = settings.list("model-roots").map(ModelRoots.init) ?? .workingDirectory
            log = LogSetup()
            if let format = settings.string("log-format") {
                guard let parsed = LogSetup.Format(rawValue: format) else {
                    throw SettingsError("\(settings.source("log-format")): the log format is text or json, not '\(format)'")
                }
                log.format = parsed
            }
            if let level = settings.string("log-level") {
                guard let parsed = Logger.Level(rawValue: level) else {
                    throw SettingsError("\(settings.source("log-level")): the log level is one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not '\(level)'")
                }
                log.level = parsed
            }
            switch (settings.string("tls-cert"), settings.string("tls-key")) {
            case (nil, nil):
                tls = nil
            case (let certificate?, let key?):
                let tls = ServerTLS(certificateChain: certificate, privateKey: key)
                do {
                    _ = try tls.configuration()
                } catch {
                    throw SettingsError("\(settings.source("tls-cert")): \(error)")
                }
                self.tls = tls
            case (nil, _?):
                throw SettingsError("\(settings.source("tls-key")): a TLS key needs its certificate (tls-cert)")
            case (_?, nil):
                throw SettingsError("\(settings.source("tls-cert")): a TLS certificate needs its private key (tls-key)")
            }
            if let url = settings.string("inference-url") {
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                    throw SettingsError("\(settings.source("inference-url")): '\(url)' is not an http:// or https:// URL")
                }
                inferenceURL = url
            } else if self.roles.contains(.pipelineGateway), httpPort != 0 {
                let reachable = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
                let bracketed = reachable.contains(":") && !reachable.hasPrefix("[") ? "[\(reachable)]" : reachable
                inferenceURL = "\(tls == nil ? "http" : "https")://\(bracketed):\(httpPort)"
            } else {
                inferenceURL = nil
            }
            if self.roles.contains(.control), authToken == nil, !Self.isLoopback(host), !(try settings.bool("insecure") ?? false) {
                throw SettingsError(
                    "\(settings.source("host")): the control API would listen on \(host) without a token, so anyone who reaches it could deploy; "
                        + "give a token (--auth-token or DATAFLOW_AUTH_TOKEN), listen on 127.0.0.1, or say --insecure"
                )
            }
        }

        /// Whether `host` is reachable only from this machine.
        static func isLoopback(_ host: String) -> Bool {
            let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            if bare == "localhost" || bare == "::1" { return true }
            let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        }

        /// Where state lives unless told otherwise: a place that survives reboots (the XDG state directory).
        static func defaultStateDirectory(_ environment: [String: String]) -> String {
            if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/swift-dataflow" }
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            return home + "/.local/state/swift-dataflow"
        }

        /// The consumer group of a role's instances: `seldon-dataflow-engine` for the default namespace, as Seldon
        /// Core 2 names it, and `<prefix>-<namespace>-…` for others, so that deployments sharing a cluster stay apart.
        func group(_ role: String) -> String {
            topics.prefix == "seldon" && topics.namespace == "default" ? "seldon-\(role)" : "\(topics.prefix)-\(topics.namespace)-\(role)"
        }

    }

    /// Runs the roles `settings` name against the Kafka cluster at `settings.bootstrap`.
    private func serve(_ settings: Settings, logger: Logger) async throws {
        let bootstrap = settings.bootstrap ?? ""
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let roles = settings.roles
        let instanceID: String
        do {
            instanceID = try settings.instanceID ?? InstanceIdentity.stored(in: settings.stateDir)
        } catch {
            throw ValidationError("the instance id cannot be kept in the state directory \(settings.stateDir): \(error)")
        }

        let engine = roles.contains(.engine) ? DataflowEngine(configuration: settings.engine(instanceID: instanceID), logger: logger) : nil
        let modelGateway = roles.contains(.modelGateway) ? ModelGateway(configuration: settings.modelGateway(instanceID: instanceID), logger: logger) : nil
        let control = settings.control(instanceID: instanceID)
        let deployment = LocalDeployment(
            engine: engine,
            modelGateway: modelGateway,
            defaultServer: settings.defaultServer.map { ModelServer(name: "default", endpoints: [$0]) }
        )
        let controlPlane = try ControlPlane(configuration: control, deployment: deployment, logger: logger)

        var services: [any Service] = [controlPlane]
        if let engine { services.append(engine) }
        if let modelGateway { services.append(modelGateway) }
        if roles.contains(.pipelineGateway) {
            // Pipelines and their status as every instance reports them, so that this role can run without an engine.
            let gateway = try PipelineGateway(configuration: settings.pipelineGateway(), directory: controlPlane, registry: registry, logger: logger)
            await controlPlane.attach(pipelineGateway: gateway)
            services.append(gateway)
        }
        if roles.contains(.control) { services.append(ControlAPI(control: controlPlane, logger: logger)) }

        let scheme = settings.tls == nil ? "http" : "https"
        logger.info("serving", metadata: [
            "roles": "\(control.roles)", "bootstrap": "\(bootstrap)", "instance": "\(control.instanceID)",
            "inference": "\(scheme)://\(settings.host):\(settings.httpPort)", "control": "\(scheme)://\(settings.host):\(settings.controlPort)",
        ])
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
