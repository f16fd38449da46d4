import Logging

/// How a long-running command logs: text lines or JSON objects (``JSONLogHandler``), from a level up.
struct LogSetup: Sendable, Hashable {
    enum Format: String, CaseIterable, Sendable {
        case text, json
    }

    var format: Format = .text
    var level: Logger.Level = .info

    /// Sets up the process's logging (once per process) and returns the command's logger.
    func bootstrap(label: String) -> Logger {
        let format = format
        LoggingSystem.bootstrap { label in
            switch format {
            case .text: StreamLogHandler.standardError(label: label)
            case .json: JSONLogHandler(label: label)
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}
