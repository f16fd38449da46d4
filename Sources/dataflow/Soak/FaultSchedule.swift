/// The faults a soak injects and when: after a quiet start, one fault after another, each followed by time to
/// recover, until a quiet end in which everything in flight can come back.
struct FaultSchedule: Equatable {
    enum Fault: Equatable, CustomStringConvertible {
        /// SIGKILL of an instance, started again (same state directory, same id) after `downFor`.
        case kill(instance: Int, downFor: Duration)
        /// SIGSTOP of an instance, SIGCONT after `pausedFor` (longer than the session timeout: its group moves on).
        case pause(instance: Int, pausedFor: Duration)
        /// The model server goes away for `downFor` (killed and started again when the soak started it).
        case serverDown(downFor: Duration)
        /// Every model call takes `delay` longer, for `lasting`.
        case slowModels(delay: Duration, lasting: Duration)
        /// Every model call is answered 503, for `lasting`.
        case failingModels(lasting: Duration)
        /// `count` records that are not requests, on each pipeline's inputs.
        case poison(count: Int)
        /// A broker of the mock cluster (and the partitions it leads, the groups it coordinates) goes away for
        /// `downFor`.
        case brokerDown(broker: Int, downFor: Duration)

        var description: String {
            switch self {
            case .kill(let instance, let down): "SIGKILL instance \(instance), restarted after \(down)"
            case .pause(let instance, let paused): "SIGSTOP instance \(instance), SIGCONT after \(paused)"
            case .serverDown(let down): "model server down for \(down)"
            case .slowModels(let delay, let lasting): "models \(delay) slower for \(lasting)"
            case .failingModels(let lasting): "models answer 503 for \(lasting)"
            case .poison(let count): "\(count) poison records per pipeline"
            case .brokerDown(let broker, let down): "broker \(broker) (partition leader, coordinator) down for \(down)"
            }
        }

        /// How long the fault lasts once injected.
        var lasting: Duration {
            switch self {
            case .kill(_, let duration), .pause(_, let duration), .serverDown(let duration), .slowModels(_, let duration),
                 .failingModels(let duration), .brokerDown(_, let duration):
                duration
            case .poison: .zero
            }
        }
    }

    struct Entry: Equatable {
        var at: Duration
        var fault: Fault
    }

    var entries: [Entry]

    /// The faults of a soak of `duration`: the cycle below, repeated while it fits, with `quiet` before the first
    /// and after the last (the last fault ends at least `quiet` before the end).
    ///
    /// - Parameters:
    ///   - sessionTimeout: the consumers' session timeout; a pause lasts three times as long.
    ///   - recovery: the time after a fault ends before the next one starts.
    ///   - brokers: the brokers of a cluster whose brokers can be taken down (the mock cluster); each goes down in
    ///     turn, second in the cycle and again at its end.
    static func make(
        duration: Duration, sessionTimeout: Duration, quiet: Duration = .seconds(15), recovery: Duration = .seconds(10), brokers: Int? = nil
    ) -> FaultSchedule {
        var cycle: [Fault] = [
            .poison(count: 3),
            .kill(instance: 0, downFor: .seconds(5)),
            .failingModels(lasting: .seconds(5)),
            .pause(instance: 1, pausedFor: sessionTimeout * 3),
            .serverDown(downFor: .seconds(15)),
            .slowModels(delay: .seconds(2), lasting: .seconds(10)),
            .kill(instance: 1, downFor: .seconds(5)),
            .pause(instance: 0, pausedFor: sessionTimeout * 3),
        ]
        if let brokers, brokers > 1 {
            cycle.insert(.brokerDown(broker: 1, downFor: .seconds(8)), at: 1)
            cycle.append(.brokerDown(broker: 2, downFor: .seconds(8)))
            if brokers > 2 { cycle.append(.brokerDown(broker: 3, downFor: .seconds(8))) }
        }
        var entries: [Entry] = []
        var at = quiet
        var next = 0
        while true {
            let fault = cycle[next % cycle.count]
            guard at + fault.lasting + quiet <= duration else { break }
            entries.append(Entry(at: at, fault: fault))
            at += fault.lasting + recovery
            next += 1
        }
        return FaultSchedule(entries: entries)
    }
}
