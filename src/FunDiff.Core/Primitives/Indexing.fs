// Room: gather and scatter_add (rules in Rules/Indexing.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The indexing primitives: gather along an axis and its transpose scatter_add.
/// Declared per family, as their rules are (`Rules/Indexing.fs`); opening `FunDiff.Primitives`
/// opens every family.
[<AutoOpen>]
module Indexing =

    /// gather(operand, indices) along `axis`: NumPy's take with int64 indices, or float64 ones
    /// (staged by makeIR, their values unknown) that the kernel checks are whole.
    let gatherP =
        builtin "gather" (fun xs p -> [| AxisKernels.gather (p.Int "axis") xs.[0] xs.[1] |]) (fun avals p ->
            arity "gather" 2 avals
            let x, idx, axis = avals.[0], avals.[1], p.Int "axis"

            // float64 indices (unknown while staging) are checked to be whole by the kernel
            if idx.DType = Bool then
                fail "gather: indices must be int64 or float64, got %O (convert with Tensor.convert Int64)." idx

            if axis < 0 || axis >= x.Rank then
                fail "gather: axis %d is out of range for rank %d." axis x.Rank

            [|
                Aval(Array.concat [ x.Shape.[.. axis - 1]; idx.Shape; x.Shape.[axis + 1 ..] ], x.DType)
            |])

    /// scatter_add(updates, indices): the transpose of gather, into an axis of size `size`.
    let scatterAddP =
        builtin
            "scatter_add"
            (fun xs p -> [| AxisKernels.scatterAdd (p.Int "axis") (p.Int "size") xs.[0] xs.[1] |])
            (fun avals p ->
                arity "scatter_add" 2 avals
                let u, idx, axis = avals.[0], avals.[1], p.Int "axis"

                if idx.DType <> Int64 then
                    fail "scatter_add: indices must be int64, got %O." idx

                if axis < 0 || axis + idx.Rank > u.Rank then
                    fail "scatter_add: updates %O cannot hold indices %O at axis %d." u idx axis

                if not (Shape.equal u.Shape.[axis .. axis + idx.Rank - 1] idx.Shape) then
                    fail
                        "scatter_add: updates %O do not have the indices' shape %s at axis %d."
                        u
                        (Shape.show idx.Shape)
                        axis

                [|
                    Aval(
                        Array.concat [ u.Shape.[.. axis - 1]; [| p.Int "size" |]; u.Shape.[axis + idx.Rank ..] ],
                        u.DType
                    )
                |])
