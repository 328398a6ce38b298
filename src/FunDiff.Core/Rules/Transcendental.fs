/// Rules of the transcendental elementwise primitives. Each reuses the primal output `y`
/// where the maths allows and touches the tangent `t` once.
module FunDiff.Rules.Transcendental

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

/// The family's entries for the rules table.
let rules =
    [
        sinP, jvpOnly (unary (fun x _ t -> t * cos x))
        cosP, jvpOnly (unary (fun x _ t -> t * -(sin x)))
        expP, jvpOnly (unary (fun _ y t -> t * y))
        logP, jvpOnly (unary (fun x _ t -> t / x))
        sqrtP, jvpOnly (unary (fun _ y t -> t * (0.5 / y))) // infinite at 0, as the maths says
        tanhP, jvpOnly (unary (fun _ y t -> t * (1.0 - y * y)))
    ]
