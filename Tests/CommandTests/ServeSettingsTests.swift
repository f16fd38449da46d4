import Foundation
import StreamKit
import Testing
@testable import dataflow

/// `dataflow serve`'s settings: the file, the environment and the flags, each over the one before, and errors
/// that say where a wrong value was set.
struct ServeSettingsTests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func flagsWinOverTheEnvironmentWhichWinsOverTheFile() throws {
        let path = try file("""
            bootstrap: file:9092
            http-port: 9100
            control-port: 9104
            role: [engine, control]
            kafka:
              security.protocol: SSL
              ssl.ca.location: /etc/ca.pem
            """)
        var settings = try ServeSettings.file(path)
        settings.overlay(.environment(["DATAFLOW_HTTP_PORT": "9200", "DATAFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "DATAFLOW_NAMESPACE": "prod", "HOME": "/root"]))
        var flags = ServeSettings()
        flags.set("control-port", "9300", source: "--control-port")
        settings.overlay(flags)

        let resolved = try ServeCommand.Settings(settings)
        #expect(resolved.bootstrap == "file:9092")
        #expect(resolved.httpPort == 9200, "the environment over the file")
        #expect(resolved.controlPort == 9300, "a flag over the file")
        #expect(resolved.grpcPort == 9001, "the default when nothing sets it")
        #expect(resolved.roles == [.engine, .control])
        #expect(resolved.topics.namespace == "prod")
        #expect(resolved.kafka == ["security.protocol": "SASL_SSL", "ssl.ca.location": "/etc/ca.pem"])
        #expect(resolved.group("dataflow-engine") == "seldon-prod-dataflow-engine")
    }

    @Test func theCommitIntervalFollowsTheGuaranteeUnlessGiven() throws {
        var settings = ServeSettings()
        #expect(try ServeCommand.Settings(settings).commitInterval == .seconds(1))
        settings.set("processing-guarantee", "exactly-once", source: "--processing-guarantee")
        #expect(try ServeCommand.Settings(settings).commitInterval == .milliseconds(100))
        settings.set("commit-interval-ms", "250", source: "--commit-interval-ms")
        let resolved = try ServeCommand.Settings(settings)
        #expect(resolved.commitInterval == .milliseconds(250))
        #expect(resolved.engine(instanceID: "a").streams.effectiveCommitInterval == .milliseconds(250))
        #expect(resolved.modelGateway(instanceID: "a").commitInterval == .milliseconds(250))
        settings.set("commit-interval-ms", "0", source: "--commit-interval-ms")
        #expect(throws: SettingsError.self) { try ServeCommand.Settings(settings) }
    }

    @Test func anInstanceIdIsKeptInTheStateDirectoryUnlessGiven() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let first = try InstanceIdentity.stored(in: state)
        #expect(InstanceIdentity.validate(first) == nil, "\(first)")
        #expect(try InstanceIdentity.stored(in: state) == first, "the same state directory, the same instance")
        #expect(try InstanceIdentity.stored(in: state + "-other") != first)
        try? FileManager.default.removeItem(atPath: state + "-other")

        let given = try ServeCommand.Settings(.environment(["DATAFLOW_INSTANCE_ID": "engine-0"]))
        #expect(given.instanceID == "engine-0")
        #expect(try ServeCommand.Settings(.environment([:])).instanceID == nil)
        do {
            _ = try ServeCommand.Settings(.environment(["DATAFLOW_INSTANCE_ID": "engine 0/1"]))
            Issue.record("an instance id that cannot be part of a transactional id was taken")
        } catch {
            #expect(error.description.hasPrefix("DATAFLOW_INSTANCE_ID: 'engine 0/1': an instance id has only"), "\(error)")
        }
    }

    @Test func theStateDirectorySurvivesReboots() {
        #expect(ServeCommand.Settings.defaultStateDirectory(["HOME": "/home/ops"]) == "/home/ops/.local/state/swift-dataflow")
        #expect(ServeCommand.Settings.defaultStateDirectory(["HOME": "/home/ops", "XDG_STATE_HOME": "/var/state"]) == "/var/state/swift-dataflow")
    }

    @Test func theControlAPIDoesNotListenBeyondThisMachineWithoutAToken() throws {
        func settings(_ values: [String: String]) throws -> ServeCommand.Settings {
            var flags = ServeSettings()
            for (key, value) in values { flags.set(key, value, source: "--\(key)") }
            return try ServeCommand.Settings(flags)
        }
        for host in ["0.0.0.0", "192.168.1.20", "::", "example.com"] {
            #expect(throws: SettingsError.self, "\(host)") { try settings(["host": host]) }
            #expect(try settings(["host": host, "auth-token": "t"]).host == host)
            #expect(try settings(["host": host, "insecure": "true"]).host == host)
            #expect(try settings(["host": host, "role": "engine,pipeline-gateway"]).host == host, "no control API, nothing to deploy")
        }
        for host in ["127.0.0.1", "127.0.10.2", "localhost", "::1", "[::1]"] {
            #expect(try settings(["host": host]).host == host)
        }
        do {
            _ = try settings(["host": "0.0.0.0"])
        } catch let error as SettingsError {
            #expect(error.description.contains("--host") && error.description.contains("--auth-token") && error.description.contains("--insecure"), "\(error)")
        }
    }

    @Test func theInferenceURLForExplainersIsGivenOrThisInstancesOwnAPI() throws {
        func settings(_ values: [String: String]) throws -> ServeCommand.Settings {
            var flags = ServeSettings()
            for (key, value) in values { flags.set(key, value, source: "--\(key)") }
            return try ServeCommand.Settings(flags)
        }
        #expect(try settings([:]).inferenceURL == "http://127.0.0.1:9000")
        #expect(try settings(["host": "0.0.0.0", "insecure": "true", "http-port": "9100"]).inferenceURL == "http://127.0.0.1:9100")
        #expect(try settings(["host": "::1"]).inferenceURL == "http://[::1]:9000")
        #expect(try settings(["host": "[::1]"]).inferenceURL == "http://[::1]:9000")
        #expect(try settings(["role": "engine,control"]).inferenceURL == nil, "no inference API here")
        #expect(try settings(["role": "control", "inference-url": "https://gateway.internal:9000"]).inferenceURL == "https://gateway.internal:9000")
        #expect(throws: SettingsError.self) { try settings(["inference-url": "gateway:9000"]) }
        #expect(throws: SettingsError.self) { try settings(["model-calls": "sometimes"]) }
        #expect(try settings(["model-calls": "kafka"]).callsModelsDirectly == false)
        #expect(try settings([:]).callsModelsDirectly)
    }

    @Test func topicCreationComesFromTheSamePlacesAsEverySetting() throws {
        let path = try file("""
            replication-factor: 3
            topic-configs:
              min.insync.replicas: 2
              retention.ms: 86400000
            """)
        var settings = try ServeSettings.file(path)
        settings.overlay(.environment(["DATAFLOW_TOPIC_CONFIG_MIN_INSYNC_REPLICAS": "1", "DATAFLOW_TOPIC_CREATION": "broker"]))
        var flags = ServeSettings()
        flags.setTopicConfig("compression.type", "lz4", source: "--topic-config")
        settings.overlay(flags)
        let creation = try ServeCommand.Settings(settings).topicCreation
        let expected = KafkaTopicCreation(
            mode: .brokerAutoCreation, replicationFactor: 3,
            configs: ["min.insync.replicas": "1", "retention.ms": "86400000", "compression.type": "lz4"]
        )
        #expect(creation == expected)
        let defaults = try ServeCommand.Settings(ServeSettings()).topicCreation
        #expect(defaults == KafkaTopicCreation(), "admin API, the broker's replication factor")

        for (key, value) in [("replication-factor", "0"), ("replication-factor", "-2"), ("topic-creation", "kubernetes")] {
            var wrong = ServeSettings()
            wrong.set(key, value, source: "--\(key)")
            #expect(throws: SettingsError.self, "\(key) \(value)") { try ServeCommand.Settings(wrong) }
        }
    }

    @Test func wrongSettingsNameWhereTheyWereSet() throws {
        let unknown = try file("bootstrap: a:1\nhttp-prot: 9000\n")
        #expect(throws: SettingsError.self) { try ServeSettings.file(unknown) }
        do {
            _ = try ServeSettings.file(unknown)
        } catch {
            #expect(error.description.hasPrefix("\(unknown):2: unknown setting 'http-prot'"), "\(error)")
        }
        let notANumber = try ServeSettings.file(try file("partitions: many\n"))
        do {
            _ = try ServeCommand.Settings(notANumber)
            Issue.record("a partition count that is not a number was taken")
        } catch {
            #expect(error.description.contains(":1: 'partitions' must be a whole number, not 'many'"), "\(error)")
        }
        do {
            _ = try ServeCommand.Settings(.environment(["DATAFLOW_ROLE": "engine,gateway"]))
            Issue.record("an unknown role was taken")
        } catch {
            #expect(error.description.hasPrefix("DATAFLOW_ROLE: unknown role 'gateway'"), "\(error)")
        }
        do {
            _ = try ServeCommand.Settings(.environment(["DATAFLOW_INFERENCE_AUTH": "true"]))
            Issue.record("inference-auth without a token was taken")
        } catch {
            #expect(error.description.contains("needs a token"), "\(error)")
        }
    }
}

struct CommandArgumentTests {
    @Test(arguments: [("90s", 90_000), ("2m", 120_000), ("500ms", 500), ("30", 30_000), ("1.5", 1_500), ("1h", 3_600_000)])
    func durations(_ text: String, _ milliseconds: Int64) throws {
        #expect(try #require(DurationArgument(argument: text)).duration == .milliseconds(milliseconds))
    }

    @Test(arguments: ["soon", "-1s", "", "5d"])
    func badDurations(_ text: String) {
        #expect(DurationArgument(argument: text).map(\.description) == nil)
    }

    @Test func inspectPaths() throws {
        let all = try InspectCommand.Selection("chain")
        #expect(all.pipeline == "chain" && all.step == nil && all.side == nil)
        let own = try InspectCommand.Selection("chain.outputs")
        #expect(own.step == nil && own.side == "outputs")
        let tensor = try InspectCommand.Selection("chain.add10.outputs.OUTPUT")
        #expect(tensor.step == "add10" && tensor.side == "outputs" && tensor.tensor == "OUTPUT")
        let step = try InspectCommand.Selection("chain.add10")
        #expect(step.step == "add10" && step.side == nil)
        #expect(throws: CLIFailure.self) { try InspectCommand.Selection("chain.add10.sideways") }
        #expect(throws: CLIFailure.self) { try InspectCommand.Selection("chain..outputs") }
        #expect(throws: CLIFailure.self) { try InspectCommand.Selection("a.b.outputs.T.extra") }
    }
}
