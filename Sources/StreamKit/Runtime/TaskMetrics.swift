import Metrics

/// The metrics one task reports, labelled with its application and task id.
struct TaskMetrics: Sendable {
    let processed: Counter
    let skipped: Counter
    let processLatency: Metrics.Timer
    let endToEndLatency: Metrics.Timer
    let punctuations: Counter
    let punctuationLatency: Metrics.Timer
    /// Records a windowed operation dropped because every window they belong to had closed.
    let lateRecordsDropped: Counter

    init(applicationID: String, task: TaskID, factory: any MetricsFactory) {
        let dimensions = [("application", applicationID), ("task", task.description)]
        processed = Counter(label: "streamkit_records_processed_total", dimensions: dimensions, factory: factory)
        skipped = Counter(label: "streamkit_records_skipped_total", dimensions: dimensions, factory: factory)
        processLatency = Metrics.Timer(label: "streamkit_process_latency_seconds", dimensions: dimensions, factory: factory)
        endToEndLatency = Metrics.Timer(label: "streamkit_end_to_end_latency_seconds", dimensions: dimensions, factory: factory)
        punctuations = Counter(label: "streamkit_punctuations_total", dimensions: dimensions, factory: factory)
        punctuationLatency = Metrics.Timer(label: "streamkit_punctuation_latency_seconds", dimensions: dimensions, factory: factory)
        lateRecordsDropped = Counter(label: "streamkit_late_records_dropped_total", dimensions: dimensions, factory: factory)
    }
}
