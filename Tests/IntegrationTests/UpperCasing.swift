import StreamKit

/// A test processor that upper-cases values, with hooks into its task's start and close.
final class UpperCasing: Processor {
    let onStart: (ProcessorContext<String, String>) -> Void
    let onClose: (TaskID) -> Void
    private var context: ProcessorContext<String, String>?

    init(onStart: @escaping (ProcessorContext<String, String>) -> Void = { _ in }, onClose: @escaping (TaskID) -> Void = { _ in }) {
        self.onStart = onStart
        self.onClose = onClose
    }

    func initialize(context: ProcessorContext<String, String>) throws {
        self.context = context
        onStart(context)
    }

    func process(_ record: Record<String, String>) async throws {
        try await context?.forward(record.withValue(record.value.uppercased()))
    }

    func close() async {
        if let context { onClose(context.taskID) }
    }
}
