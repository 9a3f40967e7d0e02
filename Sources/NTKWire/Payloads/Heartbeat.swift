/// Either way: "still here" when a peer has sent nothing else for a heartbeat interval.
public struct Heartbeat: BodyOnlyPayload, Equatable {
    public typealias Body = Heartbeat
    public static let messageType = MessageType.heartbeat

    /// Sender's wall clock (seconds since 1970), for latency estimates in logs; optional.
    public var sentAt: Double?

    public init(sentAt: Double? = nil) { self.sentAt = sentAt }
}
