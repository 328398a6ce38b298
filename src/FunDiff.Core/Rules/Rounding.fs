/// Rules of the rounding primitives: each is piecewise constant, so its tangent is a symbolic
/// zero (JAX's convention: zero also at the jumps, where the true derivative does not exist);
/// elementwise, so they batch as any unary map does.
module FunDiff.Rules.Rounding

open FunDiff.Primitives
open FunDiff.Rules.RuleKit

/// The family's entries for the rules table.
let rules =
    [
        floorP, jvpOnly zeroJvp
        ceilP, jvpOnly zeroJvp
        roundP, jvpOnly zeroJvp
        truncP, jvpOnly zeroJvp
    ]
    |> BatchKit.vectorized
