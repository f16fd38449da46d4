import Foundation
@testable import StreamKit
import Testing

/// The fast JSON path against Foundation's `JSONDecoder`: whatever it decodes, it decodes to Foundation's value;
/// what it is unsure of, it leaves to Foundation.
@Suite struct FastJSONDecoderTests {
    struct Inner: Codable, Equatable {
        var name: String
        var scores: [Double]
        var flag: Bool?
    }

    struct Outer: Codable, Equatable {
        var id: Int
        var small: Int8
        var unsigned: UInt64
        var ratio: Double
        var single: Float
        var text: String
        var optional: String?
        var inner: Inner
        var list: [Inner]
        var table: [String: Int]
        var nested: [[Int]]
    }

    /// Decodes with both; the fast path's value, when it gives one, must be Foundation's.
    @discardableResult
    static func agree<T: Decodable & Equatable>(_ type: T.Type, _ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> (fast: T?, foundation: T?) {
        let bytes = Array(json.utf8)
        let fast = FastJSONDecoder.decode(type, from: bytes)
        let foundation = try? JSONDecoder().decode(type, from: Data(bytes))
        if let fast {
            #expect(fast == foundation, "\(json)", sourceLocation: sourceLocation)
        }
        return (fast, foundation)
    }

    @Test func commonDocumentsTakeTheFastPathAndDecodeAsFoundationDoes() throws {
        let documents = [
            #"{"id":1,"small":-128,"unsigned":18446744073709551615,"ratio":0.1,"single":3.25,"text":"plain","inner":{"name":"a","scores":[1,2.5,-0.0,1e-5,6.02e23]},"list":[],"table":{},"nested":[[]]}"#,
            #" { "nested" : [ [ 1 , 2 ] , [ ] ] , "table" : { "x" : -9223372036854775808 } , "list" : [ { "name" : "é\u00e9\ud83d\ude00\n\t\"\\\/" , "scores" : [ ] , "flag" : null } ] , "inner" : { "name" : "" , "scores" : [ 123456789012345678901234567890 ] , "flag" : true } , "text" : "😀 ✓" , "single" : 1.17549435e-38 , "ratio" : 1.7976931348623157e308 , "unsigned" : 0 , "small" : 127 , "id" : -0 , "optional" : "x" } "#,
        ]
        for document in documents {
            let (fast, foundation) = Self.agree(Outer.self, document)
            #expect(foundation != nil, "Foundation decodes \(document)")
            #expect(fast != nil, "the fast path takes \(document)")
        }
        #expect(Self.agree([Double].self, "[0.30000000000000004, 5e-324, 2.2250738585072014e-308, 9007199254740993]").fast != nil)
        #expect(Self.agree(String.self, #""top-level""#).fast == "top-level")
        #expect(Self.agree(Int.self, " 42 ").fast == 42)
        #expect(Self.agree([String: [Int]].self, #"{"a":[1],"b":[]}"#).fast != nil)
    }

    @Test(arguments: 0..<20 as Range<UInt64>)
    func randomValuesRoundTripThroughFoundationsEncoder(seed: UInt64) throws {
        var generator = BytesStoreTests.SplitMix64(state: seed)
        func text() -> String {
            let pieces = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\u{01}", "\u{7F}", "é", "€", "😀", "\u{2028}", "{", "]"]
            return (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        }
        func double() -> Double {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: return Double(Int.random(in: -1000...1000, using: &generator)) / 8
            case 1: return Double.random(in: -1e6...1e6, using: &generator)
            case 2:
                let value = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator))
                return value.isFinite ? value : 1
            default: return Double.random(in: -1...1, using: &generator) * 1e-300
            }
        }
        func inner() -> Inner {
            Inner(
                name: text(),
                scores: (0..<Int.random(in: 0...4, using: &generator)).map { _ in double() },
                flag: [true, false, nil].randomElement(using: &generator)!
            )
        }
        for _ in 0..<50 {
            let value = Outer(
                id: Int.random(in: Int.min...Int.max, using: &generator),
                small: Int8.random(in: Int8.min...Int8.max, using: &generator),
                unsigned: UInt64.random(in: 0...UInt64.max, using: &generator),
                ratio: double(),
                single: Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &generator)),
                text: text(),
                optional: Bool.random(using: &generator) ? text() : nil,
                inner: inner(),
                list: (0..<Int.random(in: 0...3, using: &generator)).map { _ in inner() },
                table: Dictionary((0..<Int.random(in: 0...30, using: &generator)).map { ("k\($0)\(text())", $0) }, uniquingKeysWith: { a, _ in a }),
                nested: [[Int.random(in: -5...5, using: &generator)], []]
            )
            let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
            let (fast, foundation) = Self.agree(Outer.self, json)
            #expect(foundation == value)
            #expect(fast == value, "the fast path takes Foundation's own output: \(json)")
        }
    }

    @Test(arguments: 0..<4 as Range<UInt64>)
    func longDecimalsRoundAsFoundationRoundsThem(seed: UInt64) {
        var generator = BytesStoreTests.SplitMix64(state: seed)
        func decimal() -> String {
            let digits = (0..<Int.random(in: 1...25, using: &generator)).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            let point = Int.random(in: 0...digits.count, using: &generator)
            var text = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
            if text.hasPrefix(".") { text = "0" + text }
            if text.hasSuffix(".") { text += "0" }
            while text.hasPrefix("0"), !text.hasPrefix("0.") { text.removeFirst() }
            if Bool.random(using: &generator) { text += "e\(Int.random(in: -40...38, using: &generator))" }
            return (Bool.random(using: &generator) ? "-" : "") + text
        }
        let numbers = (0..<300).map { _ in decimal() }
        let document = "[" + numbers.joined(separator: ",") + "]"
        let doubles = Self.agree([Double].self, document)
        #expect(doubles.fast != nil, "the fast path takes \(document)")
        // Floats: each alone, so that one out of Float's range leaves only itself to Foundation.
        for number in numbers { Self.agree([Float].self, "[\(number)]") }
    }

    @Test func malformedOrDoubtfulDocumentsAreLeftToFoundation() {
        let refused = [
            #"{"id":1} x"#, "[1,]", "[01]", "[1.]", "[.5]", "[+1]", "[1e]", "[-]", #"["\u12"]"#, #"["\x"]"#,
            "[\"tab\there\"]", #"["\ud800"]"#, #"["\udc00x"]"#, "[tru]", "[nul]", "{\"a\" 1}", "{1:2}", "[", "",
            String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ]
        for document in refused {
            #expect(FastJSONDecoder.decode([String].self, from: Array(document.utf8)) == nil, "\(document)")
            #expect(FastJSONDecoder.decode([Int].self, from: Array(document.utf8)) == nil, "\(document)")
        }
        // Well-formed, but for Foundation to judge: numbers the fast path does not parse as integers, values
        // outside a type's range, non-finite results, duplicate keys, a BOM.
        #expect(Self.agree([Int].self, "[1.0]").fast == nil)
        #expect(Self.agree([Int].self, "[1e2]").fast == nil)
        #expect(Self.agree([Int8].self, "[128]").fast == nil)
        #expect(Self.agree([UInt].self, "[-1]").fast == nil)
        #expect(Self.agree([Double].self, "[1e400]").fast == nil)
        #expect(Self.agree([Double].self, "[1e-400]").fast == nil)
        #expect(Self.agree([String: Int].self, #"{"a":1,"a":2}"#).fast == nil)
        #expect(Self.agree(Inner.self, #"{"name":"a","scores":[],"name":"b"}"#).fast == nil)
        #expect(Self.agree([Int].self, "\u{FEFF}[1]").fast == nil)
    }

    struct Stamped: Codable, Equatable {
        var at: Date
        var blob: Data
        var link: URL
        var amount: Decimal
    }

    @Test func foundationsOwnTypesAreLeftToFoundation() throws {
        let value = Stamped(at: Date(timeIntervalSince1970: 1_000), blob: Data([1, 2, 3]), link: URL(string: "https://example.com/a")!, amount: Decimal(string: "12.50")!)
        let bytes = Array(try JSONEncoder().encode(value))
        #expect(FastJSONDecoder.decode(Stamped.self, from: bytes) == nil)
        #expect(try Serde<Stamped>.json().deserialize(bytes) == value, "the serde decodes them through Foundation")
    }

    /// Decodes `count` leniently: a value of the wrong shape is 0 instead of an error.
    struct Lenient: Decodable, Equatable {
        var count: Int

        enum CodingKeys: CodingKey { case count }

        init(count: Int) { self.count = count }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            count = (try? container.decode(Int.self, forKey: .count)) ?? 0
        }
    }

    @Test func anErrorTheValueCaughtStillSendsTheDocumentToFoundation() throws {
        // Foundation decodes 3.0 as the integer 3; the fast path does not parse it as an integer, and the value's
        // own `try?` must not turn that into a 0.
        let bytes = Array(#"{"count":3.0}"#.utf8)
        #expect(FastJSONDecoder.decode(Lenient.self, from: bytes) == nil)
        let foundation = try JSONDecoder().decode(Lenient.self, from: Data(bytes))
        #expect(FastJSONDecoder.decode(Lenient.self, from: Array(#"{"count":3}"#.utf8)) == Lenient(count: 3))
        #expect(foundation.count == 3 || foundation.count == 0, "whatever Foundation says is what the serde gives")
    }

    @Test func largeObjectsAreLookedUpByIndex() throws {
        let table = Dictionary(uniqueKeysWithValues: (0..<5_000).map { ("key\($0)", $0) })
        let bytes = Array(try JSONEncoder().encode(table))
        #expect(FastJSONDecoder.decode([String: Int].self, from: bytes) == table)
        var duplicated = String(decoding: bytes, as: UTF8.self)
        duplicated.removeLast()
        duplicated += #","key7":8}"#
        #expect(FastJSONDecoder.decode([String: Int].self, from: Array(duplicated.utf8)) == nil)
    }
}
