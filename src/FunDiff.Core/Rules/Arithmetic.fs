/// Rules of the arithmetic primitives: neg, add, sub, mul, div, pow_const. Binary primitives
/// take equal shapes or a rank-0 operand, so tangents are `fit` to the output and cotangents
/// `unbroadcast` to the operand.
module FunDiff.Rules.Arithmetic

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

// the transposes of neg and sub return cotangents up to sign: the backward pass carries the
// sign, so `a - b` in reverse mode costs no negation pass
let private negRules =
    linear negP
    |> jvpOnly
    |> withTransposeUpToSign [| 0 |] (fun cts _ _ -> [| ValueSome cts.[0] |])

let private addRules =
    jvpOnly (fun _ ts _ ys -> [| addTangents ys.[0] ts.[0] ts.[1] |])
    |> withTranspose (fun cts args _ ->
        args
        |> Array.map (function
            | Linear aval -> ValueSome(unbroadcast aval cts.[0])
            | Known _ -> ValueNone))

let private subRules =
    jvpOnly (fun _ ts _ ys ->
        match ts.[0], ts.[1] with
        | ValueSome a, ValueSome b -> [| ValueSome(fit ys.[0] (a - b)) |]
        | ValueSome a, ValueNone -> [| ValueSome(fit ys.[0] a) |]
        | ValueNone, ValueSome b -> [| ValueSome(fit ys.[0] -b) |]
        | ValueNone, ValueNone -> [| ValueNone |])
    |> withTransposeUpToSign [| 1 |] (fun cts args _ ->
        args
        |> Array.map (function
            | Linear aval -> ValueSome(unbroadcast aval cts.[0])
            | Known _ -> ValueNone))

// d(x·y) = dx·y + x·dy
let private mulRules =
    jvpOnly (fun xs ts _ ys ->
        let dx = ts.[0] |> ValueOption.map (fun t -> t * xs.[1])
        let dy = ts.[1] |> ValueOption.map (fun t -> xs.[0] * t)
        [| addTangents ys.[0] dx dy |])
    |> withTranspose (fun cts args _ ->
        match args.[0], args.[1] with
        | Linear aval, Known y -> [| ValueSome(unbroadcast aval (cts.[0] * y)); ValueNone |]
        | Known x, Linear aval -> [| ValueNone; ValueSome(unbroadcast aval (x * cts.[0])) |]
        | _ -> notLinear "mul")

// d(x/y) = dx/y − dy·(x/y)/y
let private divRules =
    jvpOnly (fun xs ts _ ys ->
        let y = xs.[1]
        let dx = ts.[0] |> ValueOption.map (fun t -> t / y)
        let dy = ts.[1] |> ValueOption.map (fun t -> t * -(ys.[0] / y))
        [| addTangents ys.[0] dx dy |])
    |> withTranspose (fun cts args _ ->
        match args.[0], args.[1] with
        | Linear aval, Known y -> [| ValueSome(unbroadcast aval (cts.[0] / y)); ValueNone |]
        | _ -> notLinear "div")

// d(x^c) = c·x^(c−1)·dx; for c = 0 the derivative is exactly zero (no 0·x^−1 at x = 0)
let private powConstRules =
    jvpOnly (fun xs ts pars _ ->
        let c = pars.Float "y"

        match ts.[0] with
        | ValueSome t when c = 1.0 -> [| ValueSome t |]
        | ValueSome t when c = 2.0 -> [| ValueSome(t * (2.0 * xs.[0])) |]
        | ValueSome t when c <> 0.0 -> [| ValueSome(t * (c * Prim.powConst (c - 1.0) xs.[0])) |]
        | _ -> [| ValueNone |])

// d(x^y) = y·x^(y−1)·dx + log(x)·x^y·dy. Conventions (as JAX): the dy factor is 0 where
// x = 0 (log is taken of 1 there, not of 0); the dx factor is 0 at x = y = 0, where the base
// is replaced by 1 (not by a `where` on the factor, which would drop its own derivative in y
// and leave 0·∞ = NaN in the branch not taken at second order).
let private powRules =
    jvpOnly (fun xs ts _ ys ->
        let x, y, z = xs.[0], xs.[1], ys.[0]
        let zero = Prim.scalar 0.0

        let dx =
            ts.[0]
            |> ValueOption.map (fun t ->
                let bothZero =
                    Prim.compare
                        gtP
                        (Prim.convert Float64 (Prim.compare eqP x zero)
                         * Prim.convert Float64 (Prim.compare eqP y zero))
                        zero

                let safeBase = Prim.where bothZero (Prim.scalar 1.0) x
                t * (y * Prim.floatBinary powP safeBase (y - 1.0)))

        let dy =
            ts.[1]
            |> ValueOption.map (fun t ->
                let safeX = Prim.where (Prim.compare eqP x zero) (Prim.scalar 1.0) x
                t * (log safeX * z))

        [| addTangents z dx dy |])

// atan2(y, x): d = (x·dy − y·dx) / (x² + y²)
let private atan2Rules =
    jvpOnly (fun xs ts _ outs ->
        let y, x = xs.[0], xs.[1]
        let r2 = x * x + y * y
        let dy = ts.[0] |> ValueOption.map (fun t -> t * (x / r2))
        let dx = ts.[1] |> ValueOption.map (fun t -> t * (-y / r2))
        [| addTangents outs.[0] dy dx |])

/// The family's entries for the rules table.
let rules =
    [
        powP, powRules
        atan2P, atan2Rules
        negP, negRules
        addP, addRules
        subP, subRules
        mulP, mulRules
        divP, divRules
        powConstP, powConstRules
    ]
    |> BatchKit.vectorized
