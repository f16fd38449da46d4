import Metrics

/// The metrics of one application instance (per-task ones are in ``TaskMetrics``).
struct ApplicationMetrics: Sendable {
    let factory: any MetricsFactory
    let applicationID: String
    let commitLatency: Metrics.Timer
    let commits: Counter
    let rebalances: Counter
    let taskRestarts: Counter
    let tasks: Gauge
    let transactionsAborted: Counter
    let producersReplaced: Counter

    init(applicationID: String, factory: any MetricsFactory) {
        self.factory = factory
        self.applicationID = applicationID
        let dimensions = [("application", applicationID)]
        commitLatency = Metrics.Timer(label: "streamkit_commit_latency_seconds", dimensions: dimensions, factory: factory)
        commits = Counter(label: "streamkit_commits_total", dimensions: dimensions, factory: factory)
        rebalances = Counter(label: "streamkit_rebalances_total", dimensions: dimensions, factory: factory)
        taskRestarts = Counter(label: "streamkit_task_restarts_total", dimensions: dimensions, factory: factory)
        tasks = Gauge(label: "streamkit_active_tasks", dimensions: dimensions, factory: factory)
        transactionsAborted = Counter(label: "streamkit_transactions_aborted_total", dimensions: dimensions, factory: factory)
        producersReplaced = Counter(label: "streamkit_producers_replaced_total", dimensions: dimensions, factory: factory)
    }

    func lag(_ partition: TopicPartition) -> Gauge {
        Gauge(
            label: "streamkit_consumer_lag",
            dimensions: [("application", applicationID), ("topic", partition.topic), ("partition", String(partition.partition))],
            factory: factory
        )
    }
}
