import Logging
import Testing

@testable import StreamKit

@Suite struct KafkaConfigurationTests {
    let logger = Logger(label: "test")

    @Test func unknownPropertyNamesTheProperty() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:9"])
        configuration.additionalProperties["no.such.property"] = "1"
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: logger) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.property == "no.such.property")
        #expect(error?.message.contains("no.such.property") == true)
    }

    @Test func invalidValueNamesThePropertyAndValue() throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: ["127.0.0.1:9"], groupID: "g")
        configuration.additionalProperties["fetch.wait.max.ms"] = "soon"
        let error = #expect(throws: KafkaError.self) { try KafkaConsumer(configuration: configuration, logger: logger) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.property == "fetch.wait.max.ms")
        #expect(error?.message.contains("soon") == true)
    }

    @Test func inconsistentSettingsFailAtConstruction() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:9"])
        configuration.acks = .leader  // idempotence requires acks=all
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: logger) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func adminRejectsUnknownProperty() throws {
        var configuration = KafkaAdminConfiguration(bootstrapServers: ["127.0.0.1:9"])
        configuration.additionalProperties["bogus"] = "x"
        let error = #expect(throws: KafkaError.self) { try KafkaAdmin(configuration: configuration, logger: logger) }
        #expect(error?.property == "bogus")
    }

    @Test func producerDefaults() {
        let properties = KafkaProducerConfiguration(bootstrapServers: ["a:1", "b:2"]).properties
        let values = Dictionary(properties.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        #expect(values["bootstrap.servers"] == "a:1,b:2")
        #expect(values["enable.idempotence"] == "true")
        #expect(values["compression.codec"] == "lz4")
        #expect(values["partitioner"] == "murmur2_random")
        #expect(values["acks"] == "all")
    }

    @Test func additionalPropertiesWin() {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: ["a:1"])
        configuration.additionalProperties["fetch.wait.max.ms"] = "7"
        #expect(configuration.properties.last(where: { $0.key == "fetch.wait.max.ms" })?.value == "7")
    }

    @Test func durationMilliseconds() {
        #expect(Duration.seconds(6).milliseconds == 6000)
        #expect(Duration.milliseconds(10).milliseconds == 10)
        #expect(Duration.microseconds(1500).milliseconds == 1)
    }
}
