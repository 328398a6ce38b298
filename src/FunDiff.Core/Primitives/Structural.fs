// Room: the structural primitives: the linear plumbing of shapes (rules in Rules/Structural.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The structural primitives: reduce_sum, broadcast_in_dim, reshape, transpose, slice, pad,
/// concatenate, convert_element_type (the linear plumbing every transform relies on).
/// Declared per family, as their rules are (`Rules/Structural.fs`); opening `FunDiff.Primitives`
/// opens every family.
[<AutoOpen>]
module Structural =

    /// Sums over `axes` (sorted, distinct), which disappear from the shape.
    let reduceSumP =
        builtin "reduce_sum" (fun xs p -> [| Layout.reduceSum (p.Ints "axes") xs.[0] |]) (reduceAxes "reduce_sum")
        |> fusedAs (LaneKernel.SumsAll(fun p x -> (p.Ints "axes").Length = x.Rank))
        // a sum over no axes (what a gradient of a broadcast that added none leaves)
        |> noOpWhen (fun _ p -> (p.Ints "axes").Length = 0)

    /// Operand axis k becomes output axis `broadcast_dimensions[k]` of `shape`.
    let broadcastInDimP =
        builtin
            "broadcast_in_dim"
            (fun xs p ->
                [|
                    Layout.broadcastInDim (p.Ints "shape") (p.Ints "broadcast_dimensions") xs.[0]
                |])
            (fun avals p ->
                arity "broadcast_in_dim" 1 avals
                let x = avals.[0]
                let shape, dims = p.Ints "shape", p.Ints "broadcast_dimensions"

                if dims.Length <> x.Rank then
                    fail "broadcast_in_dim: %d broadcast dimensions for an operand of rank %d." dims.Length x.Rank

                Shape.checkDimensions "broadcast_in_dim" shape

                for k in 0 .. dims.Length - 1 do
                    if dims.[k] < 0 || dims.[k] >= shape.Length || (k > 0 && dims.[k] <= dims.[k - 1]) then
                        fail
                            "broadcast_in_dim: broadcast dimensions %A must increase within rank %d."
                            dims
                            shape.Length

                    if x.Shape.[k] <> 1 && x.Shape.[k] <> shape.[dims.[k]] then
                        fail
                            "broadcast_in_dim: operand shape %s cannot broadcast to %s (axis %d has size %d, target %d)."
                            (Shape.show x.Shape)
                            (Shape.show shape)
                            k
                            x.Shape.[k]
                            shape.[dims.[k]]

                [| Aval(shape, x.DType) |])
        |> fusedAs (LaneKernel.Repeat(fun _ x -> x.Rank = 0))
        |> broadcastsScalar
        // to the operand's own shape, axis k to axis k
        |> noOpWhen (fun x p ->
            let dims = p.Ints "broadcast_dimensions"

            Shape.equal (p.Ints "shape") x.Shape
            && dims |> Array.forall2 (=) (Array.init dims.Length id))
        // operand axis k goes to inner axis d1[k], then to outer axis d2[d1[k]]; a size-1 axis
        // the inner broadcast kept at 1 the outer one may still stretch, as one broadcast does
        |> composes (fun inner outer ->
            let d1, d2 = inner.Ints "broadcast_dimensions", outer.Ints "broadcast_dimensions"

            Params
                [|
                    "shape", Ints(outer.Ints "shape")
                    "broadcast_dimensions", Ints(d1 |> Array.map (fun k -> d2.[k]))
                |])

    /// The `reshape` primitive.
    let reshapeP =
        builtin "reshape" (fun xs p -> [| Layout.reshape (p.Ints "new_sizes") xs.[0] |]) (fun avals p ->
            arity "reshape" 1 avals
            let x, shape = avals.[0], p.Ints "new_sizes"
            Shape.checkDimensions "reshape" shape

            if Shape.size shape <> x.Size then
                fail
                    "reshape: cannot reshape %s (%d elements) to %s (%d elements); the sizes must multiply to the same count (one dimension may be -1 to infer it)."
                    (Shape.show x.Shape)
                    x.Size
                    (Shape.show shape)
                    (Shape.size shape)

            [| Aval(shape, x.DType) |])
        |> noOpWhen (fun x p -> Shape.equal (p.Ints "new_sizes") x.Shape)
        // a reshape reads its operand in row-major order, so only the last shape matters
        |> composes (fun _ outer -> outer)
        |> fusedAs (LaneKernel.View(fun _ _ -> ValueSome 0))

    /// Output axis i is operand axis `permutation[i]`.
    let transposeP =
        builtin "transpose" (fun xs p -> [| Layout.transpose (p.Ints "permutation") xs.[0] |]) (fun avals p ->
            arity "transpose" 1 avals
            let x, perm = avals.[0], p.Ints "permutation"
            Shape.checkPermutation "transpose" x.Rank perm
            [| Aval(perm |> Array.map (fun a -> x.Shape.[a]), x.DType) |])
        |> noOpWhen (fun _ p -> p.Ints "permutation" |> Array.mapi (fun i a -> i = a) |> Array.forall id)
        // outer axis i is inner axis p2[i], which is operand axis p1[p2[i]]
        |> composes (fun inner outer ->
            let p1 = inner.Ints "permutation"

            Params
                [|
                    "permutation", Ints(outer.Ints "permutation" |> Array.map (fun a -> p1.[a]))
                |])

    /// A slice along the leading axis only (every other axis whole) is a contiguous window: its
    /// flat elements start `start[0]` rows in.
    let private leadingWindow (p: Params) (x: Aval) =
        let start, limit = p.Ints "start_indices", p.Ints "limit_indices"

        if
            x.Rank >= 1
            && Seq.forall (fun k -> start.[k] = 0 && limit.[k] = x.Shape.[k]) (seq { 1 .. x.Rank - 1 })
        then
            ValueSome(start.[0] * Array.fold (*) 1 x.Shape.[1..])
        else
            ValueNone

    /// `start_indices` inclusive, `limit_indices` exclusive, per axis.
    let sliceP =
        builtin
            "slice"
            (fun xs p -> [| Layout.slice (p.Ints "start_indices") (p.Ints "limit_indices") xs.[0] |])
            (fun avals p ->
                arity "slice" 1 avals
                let x, start, limit = avals.[0], p.Ints "start_indices", p.Ints "limit_indices"

                if start.Length <> x.Rank || limit.Length <> x.Rank then
                    fail
                        "slice: %d start and %d limit indices for a tensor of rank %d."
                        start.Length
                        limit.Length
                        x.Rank

                for k in 0 .. x.Rank - 1 do
                    if start.[k] < 0 || start.[k] > limit.[k] || limit.[k] > x.Shape.[k] then
                        fail
                            "slice: [%d, %d) is out of range for axis %d of size %d (shape %s)."
                            start.[k]
                            limit.[k]
                            k
                            x.Shape.[k]
                            (Shape.show x.Shape)

                [| Aval(Array.map2 (-) limit start, x.DType) |])
        |> fusedAs (LaneKernel.View leadingWindow)

    /// A pad along the leading axis only is a shift of the flat elements by `low[0]` rows.
    let private leadingShift (p: Params) (x: Aval) =
        let low, high = p.Ints "low", p.Ints "high"

        if
            x.Rank >= 1
            && Seq.forall (fun k -> low.[k] = 0 && high.[k] = 0) (seq { 1 .. x.Rank - 1 })
        then
            ValueSome(low.[0] * Array.fold (*) 1 x.Shape.[1..])
        else
            ValueNone

    /// Pads with zeros: `low[k]` before and `high[k]` after axis k (the transpose of slice).
    let padP =
        builtin "pad" (fun xs p -> [| Layout.pad (p.Ints "low") (p.Ints "high") xs.[0] |]) (fun avals p ->
            arity "pad" 1 avals
            let x, low, high = avals.[0], p.Ints "low", p.Ints "high"

            if low.Length <> x.Rank || high.Length <> x.Rank then
                fail "pad: %d low and %d high paddings for a tensor of rank %d." low.Length high.Length x.Rank

            if Array.exists (fun v -> v < 0) low || Array.exists (fun v -> v < 0) high then
                fail "pad: paddings must be non-negative (low %A, high %A); use slice to cut." low high

            [|
                Aval(Array.init x.Rank (fun k -> low.[k] + x.Shape.[k] + high.[k]), x.DType)
            |])
        |> fusedAs (LaneKernel.Shift leadingShift)

    /// Joins operands along `dimension`; the other dimensions must agree.
    let concatenateP =
        builtin "concatenate" (fun xs p -> [| Layout.concatenate (p.Int "dimension") xs |]) (fun avals p ->
            if avals.Length = 0 then
                fail "concatenate: needs at least one operand."

            let first = avals.[0]
            let axis = p.Int "dimension"

            if axis < 0 || axis >= first.Rank then
                fail "concatenate: dimension %d is out of range for rank %d." axis first.Rank

            for a in avals do
                if a.DType <> first.DType || a.Rank <> first.Rank then
                    fail "concatenate: operands %O and %O differ in dtype or rank." first a

                for k in 0 .. a.Rank - 1 do
                    if k <> axis && a.Shape.[k] <> first.Shape.[k] then
                        fail
                            "concatenate: shapes %s and %s differ on axis %d (only axis %d may differ)."
                            (Shape.show first.Shape)
                            (Shape.show a.Shape)
                            k
                            axis

            let shape = Array.copy first.Shape
            shape.[axis] <- avals |> Array.sumBy (fun a -> a.Shape.[axis])
            [| Aval(shape, first.DType) |])

    /// The `convert_element_type` primitive: converts to the dtype `new_dtype`.
    let convertElementTypeP =
        builtin
            "convert_element_type"
            (fun xs p -> [| Elementwise.convert (p.DType "new_dtype") xs.[0] |])
            (fun avals p ->
                arity "convert_element_type" 1 avals
                [| avals.[0].WithDType(p.DType "new_dtype") |])
        |> noOpWhen (fun x p -> x.DType = p.DType "new_dtype")
