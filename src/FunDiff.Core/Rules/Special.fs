/// Rules of the special functions. xlogy(x, y) = x · log y: ∂/∂x = log y everywhere (also at
/// x = 0, so −∞ at x = y = 0, as JAX's), ∂/∂y = x / y, taken as 0 where x = 0 (JAX: 0/y, NaN
/// at y = 0). Written with ops, so differentiable again; elementwise, so it batches as a map.
module FunDiff.Rules.Special

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

let private xlogyRules =
    jvpOnly (fun xs ts _ ys ->
        let x, y = xs.[0], xs.[1]
        let zero = Prim.scalar 0.0
        let dx = ts.[0] |> ValueOption.map (fun t -> t * log y)

        let dy =
            ts.[1]
            |> ValueOption.map (fun t -> t * Prim.where (Prim.compare eqP x zero) zero (x / y))

        [| addTangents ys.[0] dx dy |])

/// The family's entries for the rules table.
let rules = [ xlogyP, xlogyRules ] |> BatchKit.vectorized
