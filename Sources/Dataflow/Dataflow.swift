import StreamKit

/// The ML inference dataflow engine: compiles Seldon-style pipelines into StreamKit topologies.
///
/// Filled in by the dataflow-engine issue; for now it only names the module in the architecture.
public enum DataflowEngine {
    /// The Kafka topic naming defaults shared with Seldon Core 2 (DESIGN.md section 5).
    public static let defaultTopicPrefix = "seldon"
    public static let defaultNamespace = "default"
}
