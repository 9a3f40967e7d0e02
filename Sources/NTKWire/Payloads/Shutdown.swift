/// Server → worker: stop (run finished, worker dismissed, or server going down); the worker exits cleanly.
public struct Shutdown: BodyOnlyPayload, Equatable {
    public typealias Body = Shutdown
    public static let messageType = MessageType.shutdown

    /// Why, for the worker's log.
    public var reason: String
    /// Whether the worker should try to rejoin later (server restarting) rather than exit.
    public var reconnect: Bool

    public init(reason: String, reconnect: Bool = false) {
        self.reason = reason
        self.reconnect = reconnect
    }

    public func validate() throws {
        guard reason.utf8.count <= 4096 else { throw WireError.invalidPayload("shutdown: reason longer than 4096 bytes") }
    }
}
