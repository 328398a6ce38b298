/// Rules of the reductions beyond sum, the arg-reductions and cumulative sums.
module FunDiff.Rules.Reduction

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

let private kept (rank: int) (axes: int[]) = Shape.complementAxes rank axes

// max/min: the tangent at the locations that attain the extreme, averaged over ties
let private chooserRules =
    jvpOnly (fun xs ts pars ys ->
        match ts.[0] with
        | ValueNone -> [| ValueNone |]
        | ValueSome t ->
            let x, y = xs.[0], ys.[0]
            let axes = pars.Ints "axes"
            let expanded = Prim.broadcastInDim x.Aval.Shape (kept x.Rank axes) y
            let location = Prim.convert Float64 (Prim.compare eqP x expanded)
            let counts = Prim.sumAxes axes location
            [| ValueSome(Prim.sumAxes axes (t * location) / counts) |])

/// Moves `axes` last and flattens them into one axis of length n.
let private rowsOf (axes: int[]) (x: Tensor) =
    let keep = kept x.Rank axes
    let keptShape = keep |> Array.map (fun k -> x.Aval.Shape.[k])
    let n = axes |> Array.fold (fun acc a -> acc * x.Aval.Shape.[a]) 1
    Prim.reshape (Array.append keptShape [| n |]) (Prim.transpose (Array.append keep axes) x), n

/// Shifts along the last axis by k (toward the end when `towardEnd`), filling with ones.
let private shiftWithOnes (towardEnd: bool) (k: int) (p: Tensor) =
    let rank = p.Rank
    let n = p.Aval.Shape.[rank - 1]
    let low, high = Array.zeroCreate rank, Array.zeroCreate rank

    let kept =
        if towardEnd then
            low.[rank - 1] <- k
            Prim.sliceAxis (rank - 1) 0 (n - k) p
        else
            high.[rank - 1] <- k
            Prim.sliceAxis (rank - 1) k n p

    // pad fills with zeros: pad (v − 1) + 1 fills with ones
    Prim.pad low high (kept - 1.0) + 1.0

/// Products of all other elements along the last axis: exclusive prefix · exclusive suffix
/// products, each a log-depth scan of slices, pads and multiplications (so differentiable again
/// and correct where elements are zero).
let private productsOfOthers (x: Tensor) (n: int) =
    let scan (towardEnd: bool) =
        let mutable p = x
        let mutable k = 1

        while k < n do
            p <- p * shiftWithOnes towardEnd k p
            k <- k * 2

        shiftWithOnes towardEnd 1 p

    scan true * scan false

// d Π x = Σ_i dx_i · Π_{j≠i} x_j
let private prodRules =
    jvpOnly (fun xs ts pars ys ->
        match ts.[0] with
        | ValueNone -> [| ValueNone |]
        | ValueSome t ->
            let axes = pars.Ints "axes"
            let rows, n = rowsOf axes xs.[0]
            let tRows, _ = rowsOf axes t

            if n = 0 then
                [| ValueSome(Prim.zeros ys.[0].Aval) |]
            else
                let others = productsOfOthers rows n

                [|
                    ValueSome(Prim.reshape ys.[0].Aval.Shape (Prim.sumAxes [| rows.Rank - 1 |] (tRows * others)))
                |])

let private cumsumRules =
    linear cumsumP
    |> jvpOnly
    |> withTranspose (fun cts _ pars -> [| ValueSome(Prim.cumsum (pars.Int "axis") (pars.Int "reverse" = 0) cts.[0]) |])

/// The family's entries for the rules table.
let rules =
    [
        reduceMaxP, chooserRules |> withBatch (BatchKit.reducer reduceMaxP)
        reduceMinP, chooserRules |> withBatch (BatchKit.reducer reduceMinP)
        reduceProdP, prodRules |> withBatch (BatchKit.reducer reduceProdP)
        argmaxP, jvpOnly zeroJvp |> withBatch (BatchKit.alongAxis true argmaxP)
        argminP, jvpOnly zeroJvp |> withBatch (BatchKit.alongAxis true argminP)
        cumsumP, cumsumRules |> withBatch (BatchKit.alongAxis false cumsumP)
    ]
