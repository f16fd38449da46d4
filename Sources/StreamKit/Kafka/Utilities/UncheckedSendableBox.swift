/// Carries a value that is not `Sendable` across one hand-off to a blocking executor and back.
/// Only for values with a single owner at a time (a partition list built for one C call, a C pointer).
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
