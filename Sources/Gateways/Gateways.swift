import Dataflow

/// The model gateway, pipeline gateway and control API (DESIGN.md section 6).
///
/// Filled in by the gateway issues; for now it only names the module in the architecture.
public enum Gateways {
    public static let moduleName = "Gateways"
}
