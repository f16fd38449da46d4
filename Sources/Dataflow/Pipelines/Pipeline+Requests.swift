extension Pipeline {
    /// Why a request carrying the tensors `names` could never be answered, or `nil` when it can be: it has none
    /// of the tensors that a step reading only the request names, so that step would get nothing and never run.
    /// The gateway refuses such a request at once instead of waiting for its timeout.
    public func unanswerableRequest(tensors names: Set<String>) -> String? {
        guard input == nil else { return nil }
        for step in steps {
            let read = step.inputs.isEmpty ? [inputsReference] : step.inputs
            guard read.allSatisfy({ $0.source == inputsReference }) else { continue }
            let named = read.compactMap(\.tensor)
            guard named.count == read.count, names.isDisjoint(with: named) else { continue }
            return "step \(step.name) reads \(named.map { "\(name).inputs.\($0)" }.joined(separator: ", ")) but the request has "
                + "none of \(named.count == 1 ? "it" : "them") (its tensors: \(names.sorted().joined(separator: ", ")))"
        }
        return nil
    }
}
