@testable import Gateways
import Testing

struct ListeningPortTests {
    @Test func aWaiterLearnsThePortOnceTheServerListens() async {
        let port = ListeningPort()
        async let waited = port.wait()
        await port.set(8080)
        await port.finish()
        #expect(await waited == 8080)
        #expect(await port.wait() == 8080, "a port reported stays reported after the server stopped")
    }

    @Test func aServerThatStoppedBeforeListeningLetsItsWaitersGo() async {
        let port = ListeningPort()
        async let waited = port.wait()
        await port.finish()
        #expect(await waited == nil)
        #expect(await port.wait() == nil)
    }
}
