import Foundation
import Logging
import Testing
@testable import dataflow

/// `--log-format json` writes objects a log collector reads, with a request's id as a field of its own;
/// `--log-format` and `--log-level` come from the same places as every setting.
struct LogSetupTests {
    @Test func aJSONLineCarriesTheMessageLevelAndMetadataAsFields() throws {
        let line = JSONLogHandler.line([
            "message": "request \"answered\"\nsecond line", "level": "debug", "x-request-id": "r-1", "nested": ["a": ["b", "c"]],
        ])
        #expect(!line.contains("\n"), "one line: \(line)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "request \"answered\"\nsecond line")
        #expect(object["x-request-id"] as? String == "r-1")
        #expect((object["nested"] as? [String: [String]])?["a"] == ["b", "c"])
    }

    @Test func theFormatAndLevelAreSettings() throws {
        let settings = try ServeCommand.Settings(.environment(["DATAFLOW_LOG_FORMAT": "json", "DATAFLOW_LOG_LEVEL": "debug"]))
        #expect(settings.log == LogSetup(format: .json, level: .debug))
        #expect(try ServeCommand.Settings(.environment([:])).log == LogSetup(format: .text, level: .info))
        for (variable, value, message) in [
            ("DATAFLOW_LOG_FORMAT", "xml", "DATAFLOW_LOG_FORMAT: the log format is text or json, not 'xml'"),
            ("DATAFLOW_LOG_LEVEL", "loud", "DATAFLOW_LOG_LEVEL: the log level is one of trace, debug, info, notice, warning, error, critical, not 'loud'"),
        ] {
            #expect(throws: SettingsError.self) { try ServeCommand.Settings(.environment([variable: value])) }
            do {
                _ = try ServeCommand.Settings(.environment([variable: value]))
            } catch {
                #expect(error.description == message)
            }
        }
    }
}
