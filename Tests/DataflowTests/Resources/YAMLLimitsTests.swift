import Dataflow
import Foundation
import Testing

/// Resource YAML past its limits (aliases expanding to a billion nodes, nesting that would exhaust the parser's
/// stack, a flood of documents) is refused with where it goes past; real resource files are not.
@Suite struct YAMLLimitsTests {
    /// Ten aliases of ten aliases, nine levels deep: 10^9 nodes once expanded, from 1 KB of text.
    static let billionLaughs = "a0: &a0 [lol]\n" + (1...9).map { level in
        "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
    }.joined()

    static func problem(_ text: String, limits: YAMLLimits = .standard) -> ResourceError? {
        do {
            _ = try Resource.load(yaml: text, file: "limits.yaml", limits: limits)
            return nil
        } catch {
            return error.errors.first
        }
    }

    @Test func aBillionLaughsIsRefusedWhereItsExpansionGoesPastTheNodeLimit() throws {
        let error = try #require(Self.problem(Self.billionLaughs))
        #expect(error.problem.contains("more than 100000 nodes once aliases are expanded"), "\(error)")
        #expect(error.location.file == "limits.yaml")
        #expect((1...10).contains(error.location.line), "a line of the text: \(error)")
    }

    @Test(arguments: [
        ("brackets", "kind: " + String(repeating: "[", count: 1 << 20)),
        ("braces", "kind: " + String(repeating: "{a: ", count: 1 << 18)),
        ("compact sequences", String(repeating: "- ", count: 1 << 19) + "x\n"),
        ("indentation", (0..<2_000).map { String(repeating: " ", count: $0) + "k:\n" }.joined()),
    ])
    func deepNestingIsRefusedBeforeItIsParsed(_ shape: String, _ text: String) throws {
        let error = try #require(Self.problem(text), "\(shape)")
        #expect(error.problem == "nested more than 64 levels deep", "\(shape): \(error)")
        #expect(error.location.line >= 1)
    }

    @Test func moreDocumentsThanTheLimitAreRefused() throws {
        let document = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: m\nspec:\n  storageUri: file:///m\n"
        var limits = YAMLLimits.standard
        limits.documents = 10
        #expect(try Resource.load(yaml: Array(repeating: document, count: 10).joined(separator: "---\n"), file: "ten.yaml", limits: limits).count == 10)
        let error = try #require(Self.problem(Array(repeating: document, count: 11).joined(separator: "---\n"), limits: limits))
        #expect(error.problem == "more than 10 documents")
        #expect(error.location.line == 71, "the 11th document starts after ten of six lines and a separator each: \(error)")
    }

    @Test func bracketsInQuotesCommentsAndBlockTextDoNotCountAsNesting() throws {
        let many = String(repeating: "[", count: 200)
        var scanner = YAMLLimits.standard
        scanner.depth = 8
        for text in [
            "a: \"\(many)\"\n", "a: '\(many)'\n", "# \(many)\na: 1\n", "a: b # \(many)\n", "a: \"x\\\"\(many)\"\n",
        ] {
            #expect(throws: Never.self, "\(text.prefix(12))") { try scanner.checkNesting(text) }
        }
        #expect(throws: YAMLLimits.Violation.self) { try scanner.checkNesting("a: \(many)") }
    }

    @Test func nestingThatStaysUnderTheLimitIsRead() throws {
        let levels = 25
        let text = (0..<levels).map { String(repeating: "  ", count: $0) + "k\($0):\n" }.joined() + String(repeating: "  ", count: levels) + "v: [[1, 2], {x: [3]}]\n"
        try YAMLLimits.standard.checkNesting(text)
        try YAMLLimits.standard.checkNesting(String(repeating: "- ", count: 40) + "x\n")
        try YAMLLimits.standard.checkNesting("---\n" + Array(repeating: "- - - - [[[x]]]\n---\n", count: 100).joined())
    }

    @Test func everyExampleResourceFileIsWithinTheLimits() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var files = 0
        for folder in ["topologies"] {
            let directory = root.appendingPathComponent(folder)
            for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where file.hasSuffix(".yaml") {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                #expect(throws: Never.self, "\(folder)/\(file)") { _ = try Resource.load(yaml: text, file: file) }
                files += 1
            }
        }
        #expect(files >= 10)
    }
}
