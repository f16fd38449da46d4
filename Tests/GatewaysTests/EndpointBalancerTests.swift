@testable import Gateways
import Testing

struct EndpointBalancerTests {
    @Test func picksTheEndpointWithFewestOutstandingRequests() {
        var balancer = EndpointBalancer(endpoints: 3)
        #expect([balancer.acquire(), balancer.acquire(), balancer.acquire()] == [0, 1, 2])
        balancer.release(1)
        #expect(balancer.acquire() == 1)
        balancer.release(2)
        balancer.release(0)
        #expect(balancer.acquire() == 2, "ties go round-robin, starting after the last endpoint chosen")
        #expect(balancer.acquire() == 0)
    }

    @Test func skipsEndpointsThatAreDownAndReportsWhenTheServerIsUnavailable() {
        var balancer = EndpointBalancer(endpoints: 2)
        #expect(balancer.mark(0, up: false) == false)
        #expect(balancer.acquire() == 1)
        #expect(balancer.acquire() == 1)
        #expect(balancer.mark(1, up: false) == true)
        #expect(!balancer.isAvailable)
        #expect(balancer.acquire() == nil)
        #expect(balancer.mark(0, up: true) == true)
        #expect(balancer.acquire() == 0)
    }
}
