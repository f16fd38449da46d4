/// The ports the servers listen on, for whoever waits to know them.
actor ListeningPorts {
    private var http: Int?
    private var grpc: Int??
    private var waiters: [CheckedContinuation<(http: Int, grpc: Int?), Never>] = []

    func setHTTP(_ port: Int) {
        http = port
        resumeIfKnown()
    }

    func setGRPC(_ port: Int?) {
        grpc = .some(port)
        resumeIfKnown()
    }

    func wait() async -> (http: Int, grpc: Int?) {
        if let http, let grpc { return (http, grpc) }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func resumeIfKnown() {
        guard let http, let grpc else { return }
        for waiter in waiters { waiter.resume(returning: (http, grpc)) }
        waiters.removeAll()
    }
}
