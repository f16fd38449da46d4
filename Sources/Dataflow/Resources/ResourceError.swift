/// Where something sits in a resource file: the file as given, and 1-based line and column.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A value read from a resource file, with where it was and the field it was in (`spec.steps[1].inputs[0]`), so
/// that a later check can point at it.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var location: SourceLocation
    public var field: String

    public init(_ value: Value, at location: SourceLocation, field: String) {
        self.value = value
        self.location = location
        self.field = field
    }

    /// A ``ResourceError`` about this value.
    public func error(_ problem: String) -> ResourceError { ResourceError(location: location, field: field, problem: problem) }
}

/// A resource that cannot be used, with the file, line and field it is about and what to change.
public struct ResourceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// The field's path in its document (`spec.steps[0].tensorMap`), empty for the document itself.
    public var field: String
    public var problem: String

    public init(location: SourceLocation, field: String, problem: String) {
        self.location = location
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(location): " + (field.isEmpty ? "" : "\(field): ") + problem }
}

/// Several resource errors found in one pass, in file order.
public struct ResourceErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ResourceError]

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
