import NTKConfig
import NTKCore
import NTKData

/// The clients of a round under partial participation: a seeded draw without replacement.
///
/// The draw depends only on the seed, the round and the list of clients (in the registry's fixed order),
/// never on timing: a rerun, or a resumed server, samples the same clients for the same round.
public struct ClientSampling: Sendable {
    public let participation: Participation?

    public init(_ participation: Participation?) { self.participation = participation }

    /// The round's participants, in the order of `clients`; every client when participation is not partial.
    public func participants(round: Int, among clients: [String]) -> [String] {
        guard let participation else { return clients }
        let k = participation.sampleSize(of: clients.count)
        // One stream per (seed, round): rounds are independent draws, reproducible one by one.
        var rng = PortableGaussian(seed: participation.seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(round))
        var indices = Array(clients.indices)
        PortableSampling.shuffle(&indices, &rng)
        return indices.prefix(k).sorted().map { clients[$0] }
    }
}
