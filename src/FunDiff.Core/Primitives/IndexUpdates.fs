// Room: last_writer, the primitive behind functional index updates (rules in Rules/IndexUpdates.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The index-update primitive: for a set of update indices, which update writes each position
/// (int64, no derivative). `Tensor.atSet` gathers the updates with it, so the values it sets are
/// differentiable and a duplicate index is written by its last update.
[<AutoOpen>]
module IndexUpdates =

    /// last_writer(indices)[..., p]: the j of the `occurrence`-th update with indices[..., j] = p
    /// (from 0 in order; -1 the last; negative indices count from the end of an axis of `size`),
    /// or -1 where there is none; int64 of shape indices.shape[:-1] ++ [size].
    let lastWriterP =
        builtin
            "last_writer"
            (fun xs p ->
                [|
                    IndexUpdates.nthWriter "last_writer" (p.Int "size") (p.Int "occurrence") xs.[0]
                |])
            (fun avals p ->
                arity "last_writer" 1 avals
                let idx, size = avals.[0], p.Int "size"

                if idx.DType = Bool || idx.Rank = 0 then
                    fail "last_writer: expects an int64 index vector (or rows of them), got %O." idx

                if size < 0 then
                    fail "last_writer: size %d is negative." size

                [| Aval(Array.append idx.Shape.[.. idx.Rank - 2] [| size |], Int64) |])
