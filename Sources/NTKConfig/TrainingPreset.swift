import NTKCore

/// The defaults of `training:` — ours, or NTK-FL as published — that explicit keys override.
///
/// `ntk-fl` follows Yue et al., "Neural Tangent Kernel Empowered Federated Learning" (ICML 2022) and its
/// reference code (KAI-YUE/ntk-fed, `utils/config.yaml`, `fedlearning/evolve.py`): the output-averaged
/// `m × m` kernel `(1/k) Σ_a Z_aᵀZ_a`, cross-entropy integrated through the linearized ODE
/// `u̇ = −(η/m) H̄ (softmax(u) − y)` with η = 0.01 (standard parametrization; see `learningRate(for:)`), the 12 evolution times 100 … 2000, the one with the
/// lowest training loss of the real network kept, and a new kernel every round. Our default differs in
/// the kernel (the exact `mk × mk` one, through Lanczos when large), the loss (mse: a closed form for
/// every `t`) and the time grid (30 … 10 000, wider: mse's closed form makes large `t` free).
public enum TrainingPreset: String, CaseIterable, Sendable {
    case `default`
    case ntkFL = "ntk-fl"

    var loss: LossFunction { self == .ntkFL ? .crossEntropy : .mse }
    var kernel: KernelKind { self == .ntkFL ? .outputAveraged : .exact }
    /// NTK-FL's η = 0.01 belongs to PyTorch's standard parametrization, whose kernel is larger by about the fan-in
    /// of each layer; in NTK parametrization the same evolution times need η ≈ 1 (measured on MNIST 784-100-10,
    /// 5 clients of 200: with η = 0.01 the training loss moves 2.31 → 2.17 in 5 rounds at the grid's largest t).
    func learningRate(for parametrization: Parametrization) -> Double {
        self == .ntkFL && parametrization == .standard ? 0.01 : 1
    }
    var timeCandidates: [Double] {
        self == .ntkFL ? [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1500, 2000] : [30, 100, 300, 1000, 3000, 10000]
    }
}
