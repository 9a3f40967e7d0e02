import NTKCore

/// A SCAFFOLD client's control variate c_i across rounds (zeros before its first round), Algorithm 1, option II.
///
/// The c_i a round started from is kept until another round begins: when a round's `roundStart` arrives again
/// (the worker registered again mid-round, or a resumed server repeats the round its checkpoint lacks), the
/// round is trained again from the same c_i. So c_i advances once per round the server can have counted, and
/// the server's c stays the mean of all clients' c_i.
struct ScaffoldClientState {
    /// c_i, `[P]`.
    private(set) var control: ControlVariate
    /// c_i as it was when `round` began.
    private var atRoundStart: (round: UInt64, control: ControlVariate)?

    init(parameterCount: Int) {
        control = ControlVariate(zerosFor: parameterCount)
    }

    /// `c − c_i` for `round`, the correction added to every local gradient (`[P]`), from the c_i the round began with.
    mutating func begin(round: UInt64, server: ControlVariate) -> [Float] {
        if let start = atRoundStart, start.round == round { control = start.control } else { atRoundStart = (round, control) }
        return control.correction(towards: server)
    }

    /// Option II after K local steps of size η from x to y: c_i becomes `c_i − c + (x − y)/(Kη)`; returns Δc_i.
    mutating func finish(server: ControlVariate, from x: [Float], to y: [Float], steps: Int, learningRate: Double) -> [Float] {
        control.advance(server: server, from: x, to: y, steps: steps, learningRate: learningRate)
    }
}
