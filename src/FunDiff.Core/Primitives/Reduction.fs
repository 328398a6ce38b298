// Room: the reductions beyond sum, arg-reductions and cumulative sums (rules in Rules/Reduction.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The reductions beyond sum: max, min and prod over axes, argmax/argmin, cumulative sums.
/// Declared per family, as their rules are (`Rules/Reduction.fs`); opening `FunDiff.Primitives`
/// opens every family.
[<AutoOpen>]
module Reduction =

    /// The `reduce_max` primitive: the maximum over `axes` (NaN propagates).
    let reduceMaxP =
        builtin
            "reduce_max"
            (fun xs p -> [| AxisKernels.reduceMax (p.Ints "axes") xs.[0] |])
            (reduceExtremeAxes "reduce_max")

    /// The `reduce_min` primitive: the minimum over `axes` (NaN propagates).
    let reduceMinP =
        builtin
            "reduce_min"
            (fun xs p -> [| AxisKernels.reduceMin (p.Ints "axes") xs.[0] |])
            (reduceExtremeAxes "reduce_min")

    /// The `reduce_prod` primitive: the product over `axes`.
    let reduceProdP =
        builtin
            "reduce_prod"
            (fun xs p -> [| AxisKernels.reduceProd (p.Ints "axes") xs.[0] |])
            (reduceAxes "reduce_prod")

    let private argShape (name: string) (avals: Aval[]) (p: Params) =
        arity name 1 avals
        let x = avals.[0]
        let axis = p.Int "axis"

        if axis < 0 || axis >= x.Rank then
            fail "%s: axis %d is out of range for rank %d." name axis x.Rank

        if x.Shape.[axis] = 0 then
            fail
                "%s: axis %d of shape %s is empty; an empty axis has no extreme element. Test the size first."
                name
                axis
                (Shape.show x.Shape)

        [| Aval(Array.removeAt axis x.Shape, Int64) |]

    /// The index of the first maximum along `axis` (int64).
    let argmaxP =
        builtin "argmax" (fun xs p -> [| AxisKernels.argExtreme true (p.Int "axis") xs.[0] |]) (argShape "argmax")

    /// The index of the first minimum along `axis` (int64).
    let argminP =
        builtin "argmin" (fun xs p -> [| AxisKernels.argExtreme false (p.Int "axis") xs.[0] |]) (argShape "argmin")

    /// Inclusive cumulative sum along `axis` (from the end when `reverse` = 1).
    let cumsumP =
        builtin
            "cumsum"
            (fun xs p -> [| AxisKernels.cumsum (p.Int "axis") (p.Int "reverse" = 1) xs.[0] |])
            (fun avals p ->
                arity "cumsum" 1 avals
                let x = avals.[0]

                if p.Int "axis" < 0 || p.Int "axis" >= x.Rank then
                    fail "cumsum: axis %d is out of range for rank %d." (p.Int "axis") x.Rank

                [| x |])
