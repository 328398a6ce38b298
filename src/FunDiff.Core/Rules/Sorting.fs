// Room: the rules of argsort and searchsorted: integer outputs, so zero tangents; batch rules.
module FunDiff.Rules.Sorting

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

/// searchsorted under vmap: a batched `v` is searched as it is (any shape); a batched sorted
/// vector is one search per example.
let private searchsortedBatch: BatchRule =
    fun xs axes pars ->
        match axes.[0], axes.[1] with
        | ValueNone, ValueSome a -> BatchKit.single (Interpreter.Bind1(searchsortedP, xs, pars)) a
        | _ -> BatchKit.perExample searchsortedP xs axes pars

/// The sorting family's rules.
let rules: (Primitive * PrimitiveRules) list =
    [
        argsortP, jvpOnly zeroJvp |> withBatch (BatchKit.alongAxis false argsortP)
        searchsortedP, jvpOnly zeroJvp |> withBatch searchsortedBatch
    ]
