/// Rules of the piecewise primitives, where the maths has kinks. The conventions (the README's
/// table compares them with JAX's): abs′(0) = 0 (JAX: 1), max/min split the tangent equally at
/// ties (as JAX), clamp passes the tangent only strictly inside its bounds (JAX: ½ at a bound),
/// sign has derivative 0 (as JAX). Each is piecewise linear, so every second derivative is 0.
module FunDiff.Rules.Piecewise

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

let private asFloat (mask: Tensor) = Prim.convert Float64 mask

// the weight of the first operand of max (min): 1 where it wins, ½ at ties, 0 where it loses
let private extremumRules (wins: Primitive) (loses: Primitive) =
    jvpOnly (fun xs ts _ ys ->
        let x, y = xs.[0], xs.[1]
        let tie = 0.5 * asFloat (Prim.compare eqP x y)

        let dx =
            ts.[0] |> ValueOption.map (fun t -> t * (asFloat (Prim.compare wins x y) + tie))

        let dy =
            ts.[1]
            |> ValueOption.map (fun t -> t * (asFloat (Prim.compare loses x y) + tie))

        [| addTangents ys.[0] dx dy |])

// clamp(lo, x, hi): each operand's tangent flows where it is the one selected
let private clampRules =
    jvpOnly (fun xs ts _ ys ->
        let lo, x, hi = xs.[0], xs.[1], xs.[2]
        let out = ys.[0]
        let zero = Prim.scalar 0.0
        let route (mask: Tensor) (t: Tensor) = Prim.where mask t zero |> fit out

        // strictly inside both bounds: (x > lo) · (x < hi) > 0
        let inside = asFloat (Prim.compare gtP x lo) * asFloat (Prim.compare ltP x hi)

        let dlo = ts.[0] |> ValueOption.map (route (Prim.compare ltP x lo))
        let dx = ts.[1] |> ValueOption.map (route (Prim.compare neP inside zero))
        let dhi = ts.[2] |> ValueOption.map (route (Prim.compare gtP x hi))
        [| addTangents out (addTangents out dlo dx) dhi |])

/// The family's entries for the rules table.
let rules =
    [
        absP, jvpOnly (unary (fun x _ t -> t * Interpreter.Bind1(signP, [| x |], Params.Empty)))
        signP, jvpOnly zeroJvp
        maxP, extremumRules gtP ltP
        minP, extremumRules ltP gtP
        clampP,
        clampRules
        |> withBatch (BatchKit.elementwiseWith (fun i -> i <> 1) false clampP)
    ]
    |> BatchKit.vectorized
