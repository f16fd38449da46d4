/// A state store could not do what was asked; `store` names it (or its directory).
public struct StateStoreError: Error, CustomStringConvertible, Sendable {
    public var store: String
    public var reason: String

    public init(store: String, reason: String) {
        self.store = store
        self.reason = reason
    }

    public var description: String { "state store \(store): \(reason)" }
}
