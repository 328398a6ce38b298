// Room: argsort and searchsorted (rules in Rules/Sorting.fs); sort and topK are ops built on them.
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The sorting primitives: argsort along an axis and searchsorted. Both give int64 indices
/// (no derivative); `Tensor.sort` and `Tensor.topK` gather with them, so their values are
/// differentiable through the gather.
[<AutoOpen>]
module Sorting =

    /// The stable sorting permutation of each lane along `axis` (`descending` = 1 for largest
    /// first); NaN sorts last in both orders; int64.
    let argsortP =
        builtin
            "argsort"
            (fun xs p -> [| Sorting.argsort (p.Int "axis") (p.Int "descending" = 1) xs.[0] |])
            (fun avals p ->
                arity "argsort" 1 avals
                let x, axis = avals.[0], p.Int "axis"

                if x.DType = Bool then
                    fail "argsort: expects float64 or int64 values, got %O (convert with Tensor.convert)." x

                if axis < 0 || axis >= x.Rank then
                    fail "argsort: axis %d is out of range for %O (rank %d)." axis x x.Rank

                [| Aval(x.Shape, Int64) |])

    /// searchsorted(a, v): where each element of `v` goes in the sorted vector `a` (`right` = 1:
    /// after equal elements); int64 of `v`'s shape.
    let searchsortedP =
        builtin
            "searchsorted"
            (fun xs p -> [| Sorting.searchsorted (p.Int "right" = 1) xs.[0] xs.[1] |])
            (fun avals p ->
                arity "searchsorted" 2 avals
                let a, v = avals.[0], avals.[1]

                if a.Rank <> 1 then
                    fail
                        "searchsorted: the sorted operand must be a vector, got %O. Flatten it (Tensor.flatten) or search each row under vmap."
                        a

                if a.DType = Bool || v.DType = Bool then
                    fail "searchsorted: expects float64 or int64 values, got %O and %O." a v

                [| Aval(v.Shape, Int64) |])
