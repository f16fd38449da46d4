import Foundation
import StreamKit
import SwiftProtobuf
import Testing

@Suite struct SerdeTests {
    @Test func stringRejectsInvalidUTF8() throws {
        #expect(try Serde<String>.string.deserialize(Array("héllo".utf8)) == "héllo")
        let error = #expect(throws: SerdeError.self) { try Serde<String>.string.deserialize([0xff, 0xfe]) }
        #expect(error?.description.contains("not valid UTF-8") == true)
    }

    @Test func integersAreBigEndianLikeJavaSerdes() throws {
        #expect(try Serde<Int64>.bigEndian.serialize(258) == [0, 0, 0, 0, 0, 0, 1, 2])
        #expect(try Serde<Int32>.bigEndian.deserialize([0xff, 0xff, 0xff, 0xfe]) == -2)
        #expect(throws: SerdeError.self) { try Serde<Int32>.bigEndian.deserialize([1, 2]) }
    }

    struct Point: Codable, Sendable, Equatable {
        var x: Int
        var tags: [String]
    }

    @Test func jsonRoundTripsAndNamesThePathOfAnError() throws {
        let serde = Serde<Point>.json()
        let point = Point(x: 3, tags: ["a"])
        #expect(try serde.deserialize(serde.serialize(point)) == point)
        let error = #expect(throws: SerdeError.self) { try serde.deserialize(Array(#"{"x": 1, "tags": [2]}"#.utf8)) }
        #expect(error?.reason.contains("tags[0]") == true)
    }

    @Test func protobufRoundTrips() throws {
        let serde = Serde<Google_Protobuf_StringValue>.protobuf()
        let message = Google_Protobuf_StringValue.with { $0.value = "tensor" }
        #expect(try serde.deserialize(serde.serialize(message)) == message)
        #expect(throws: SerdeError.self) { try serde.deserialize([0xff, 0xff, 0xff]) }
    }

    @Test func optionalCarriesAbsence() throws {
        let serde = Serde<String>.string.optional
        #expect(try serde.serialize(nil) == nil)
        #expect(try serde.deserialize(nil) == nil)
        #expect(try serde.deserialize(Array("x".utf8)) == "x")
        #expect(throws: SerdeError.self) { try Serde<String>.string.deserialize(nil) }
    }
}
