// Room: the rules of last_writer: an integer output (zero tangent); its kernel takes rows.
module FunDiff.Rules.IndexUpdates

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

/// last_writer under vmap: the batch axis in front is one more row axis of the kernel.
let private lastWriterBatch: BatchRule =
    fun xs axes pars ->
        let front = BatchKit.moveAxis axes.[0].Value 0 xs.[0]
        BatchKit.single (Interpreter.Bind1(lastWriterP, [| front |], pars)) 0

/// The index-update family's rules.
let rules: (Primitive * PrimitiveRules) list =
    [ lastWriterP, jvpOnly zeroJvp |> withBatch lastWriterBatch ]
