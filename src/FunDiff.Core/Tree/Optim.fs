// Room: optimizers over trees (SGD, momentum, Adam) as pure state-passing functions.
namespace FunDiff

/// The state of plain gradient descent (only a step count).
type SgdState = { Step: int }

/// The state of gradient descent with momentum: the velocity, a tree like the parameters.
type MomentumState<'T> = { Step: int; Velocity: 'T }

/// The state of Adam: first and second moment estimates, trees like the parameters.
type AdamState<'T> = { Step: int; M: 'T; V: 'T }

/// Optimizers as pure functions of (state, params, grads) → (state, params), on any tree.
[<RequireQualifiedAccess>]
module Optim =

    /// The initial state of `sgd`.
    let sgdInit (_: 'T) : SgdState = { Step = 0 }

    /// params − lr · grads.
    let sgd (lr: float) (state: SgdState) (parameters: 'T) (grads: 'T) : SgdState * 'T =
        Guard.notNull "Optim.sgd" "state" state
        { Step = state.Step + 1 }, Tree.map2 (fun p g -> p - lr * g) parameters grads

    /// The initial state of `momentum` (zero velocity).
    let momentumInit (parameters: 'T) : MomentumState<'T> =
        {
            Step = 0
            Velocity = Tree.zerosLike parameters
        }

    /// v ← β·v + grads; params ← params − lr · v.
    let momentum (lr: float) (beta: float) (state: MomentumState<'T>) (parameters: 'T) (grads: 'T) =
        Guard.notNull "Optim.momentum" "state" state
        let velocity = Tree.map2 (fun v g -> beta * v + g) state.Velocity grads

        {
            Step = state.Step + 1
            Velocity = velocity
        },
        Tree.map2 (fun p v -> p - lr * v) parameters velocity

    /// The initial state of `adam` (zero moments).
    let adamInit (parameters: 'T) : AdamState<'T> =
        {
            Step = 0
            M = Tree.zerosLike parameters
            V = Tree.zerosLike parameters
        }

    /// Adam with explicit β₁, β₂ and ε (Kingma & Ba, with bias correction).
    let adamWith
        (lr: float)
        (beta1: float)
        (beta2: float)
        (eps: float)
        (state: AdamState<'T>)
        (parameters: 'T)
        (grads: 'T)
        =
        Guard.notNull "Optim.adamWith" "state" state
        let step = state.Step + 1
        let m = Tree.map2 (fun m g -> beta1 * m + (1.0 - beta1) * g) state.M grads
        let v = Tree.map2 (fun v g -> beta2 * v + (1.0 - beta2) * g * g) state.V grads
        let mScale = 1.0 / (1.0 - beta1 ** float step)
        let vScale = 1.0 / (1.0 - beta2 ** float step)
        let update = Tree.map2 (fun m v -> (mScale * m) / (sqrt (vScale * v) + eps)) m v
        { Step = step; M = m; V = v }, Tree.map2 (fun p u -> p - lr * u) parameters update

    /// Adam with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    let adam (lr: float) (state: AdamState<'T>) (parameters: 'T) (grads: 'T) =
        Guard.notNull "Optim.adam" "state" state
        adamWith lr 0.9 0.999 1e-8 state parameters grads
