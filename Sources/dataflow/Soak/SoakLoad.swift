import Dataflow
import Foundation
import Gateways
import Logging
import StreamKit
import Synchronization

/// The requests of a soak: a steady rate spread over the pipelines, every other one written to the pipeline's
/// inputs topic as Seldon's asynchronous clients do, the others sent to a pipeline gateway over HTTP. What was
/// sent goes into the ledger: a Kafka request once the broker has it, an HTTP request once a gateway took it
/// (it answered, or timed out waiting: then the request is on Kafka and must come back there).
final class SoakLoad: Sendable {
    struct Counts: Sendable {
        var kafka = 0
        var http = 0
        /// HTTP requests no gateway took (none reachable, or it refused them): not in the ledger.
        var refused = 0
        var refusals: [String: Int] = [:]
    }

    let requests: [(pipeline: String, request: InferenceRequest)]
    let topics: TopicNames
    let producer: KafkaProducer
    let instances: SoakInstances
    let ledger: Mutex<SoakLedger>
    let counts = Mutex(Counts())
    let logger: Logger

    init(requests: [(pipeline: String, request: InferenceRequest)], topics: TopicNames, producer: KafkaProducer, instances: SoakInstances, logger: Logger) {
        self.requests = requests
        self.topics = topics
        self.producer = producer
        self.instances = instances
        self.ledger = Mutex(SoakLedger())
        self.logger = logger
    }

    /// Sends `rate` requests a second until cancelled.
    func run(rate: Double) async {
        let interval = Duration.seconds(1.0 / rate)
        var next = ContinuousClock.now
        var number = 0
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let (pipeline, request) = requests[number % requests.count]
                let key = "soak-\(pipeline)-\(number)"
                let viaKafka = number.isMultiple(of: 2)
                group.addTask {
                    if viaKafka { await self.sendThroughKafka(key, pipeline, request) } else { await self.sendThroughGateway(key, pipeline, request) }
                }
                number += 1
                next += interval
                try? await Task.sleep(until: next, clock: .continuous)
            }
        }
    }

    private func sendThroughKafka(_ key: String, _ pipeline: String, _ request: InferenceRequest) async {
        do {
            var request = request
            request.id = key
            _ = try await producer.send(KafkaProducerRecord(
                topic: topics.pipelineInputs(pipeline), key: Array(key.utf8), value: try request.serializedBytes(),
                headers: [KafkaHeader(key: DataflowHeaders.pipeline, value: pipeline), KafkaHeader(key: DataflowHeaders.requestID, value: key)]
            ))
            ledger.withLock { $0.sent(key, to: pipeline) }
            counts.withLock { $0.kafka += 1 }
        } catch {
            logger.warning("soak request not written", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }

    private func sendThroughGateway(_ key: String, _ pipeline: String, _ request: InferenceRequest) async {
        let available = await instances.available()
        guard !available.isEmpty else {
            counts.withLock { $0.refused += 1; $0.refusals["no instance reachable", default: 0] += 1 }
            return
        }
        let server = available[Int.random(in: 0..<available.count)].inference
        do {
            let client = try InferenceClient(server: server, grpc: false)
            defer { client.shutdown() }
            do {
                _ = try await client.infer(.pipeline(pipeline), request, headers: [(DataflowHeaders.requestID, key)], timeout: .seconds(30))
                taken(key, pipeline)
            } catch let error where [400, 500, 504].contains(error.status) {
                // The gateway wrote the request: the pipeline answered with an error record (400), an answer it
                // could not read (500), or not in time (504).
                taken(key, pipeline)
            } catch {
                counts.withLock { $0.refused += 1; $0.refusals["\(error.status.map { "HTTP \($0)" } ?? "unreachable")", default: 0] += 1 }
            }
        } catch {
            counts.withLock { $0.refused += 1; $0.refusals["client: \(error)", default: 0] += 1 }
        }
    }

    private func taken(_ key: String, _ pipeline: String) {
        ledger.withLock { $0.sent(key, to: pipeline) }
        counts.withLock { $0.http += 1 }
    }

    /// Writes `count` records that are not requests to each pipeline's inputs.
    func poison(count: Int) async {
        for pipeline in Set(requests.map(\.pipeline)).sorted() {
            for number in 0..<count {
                let key = "soak-poison-\(pipeline)-\(UInt32.random(in: 0...UInt32.max))-\(number)"
                do {
                    _ = try await producer.send(KafkaProducerRecord(
                        topic: topics.pipelineInputs(pipeline), key: Array(key.utf8), value: [0xFF, 0x00, 0x13, 0x37],
                        headers: [KafkaHeader(key: DataflowHeaders.pipeline, value: pipeline), KafkaHeader(key: DataflowHeaders.requestID, value: key)]
                    ))
                    ledger.withLock { $0.sentPoison(key, to: pipeline) }
                } catch {
                    logger.warning("soak poison record not written", metadata: ["key": "\(key)", "error": "\(error)"])
                }
            }
        }
    }
}
