// Room: the rules of the window primitives: both linear, each the other's transpose; a batch
// axis is one more leading axis.
module FunDiff.Rules.Windows

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

/// patches' params without the "spatial" entry patches_transpose adds.
let private windowOnly (pars: Params) =
    Params(pars.Entries |> Array.filter (fun (name, _) -> name <> "spatial"))

// the cotangent of the windows is added back into the operand's spatial axes
let private patchesTranspose: TransposeRule =
    fun cts args pars ->
        let x = linearArgAval args.[0]
        let r = (pars.Ints "window").Length
        [| ValueSome(Prim.patchesTranspose x.Shape.[x.Rank - r ..] pars cts.[0]) |]

// and the cotangent of what was added back is read out window by window
let private patchesTransposeTranspose: TransposeRule =
    fun cts _ pars -> [| ValueSome(Prim.patches (windowOnly pars) cts.[0]) |]

/// Both primitives window the trailing axes: the batch axis, moved in front, is a leading one.
let private leading (prim: Primitive) : BatchRule =
    fun xs axes pars ->
        let front = BatchKit.moveAxis axes.[0].Value 0 xs.[0]
        BatchKit.single (Interpreter.Bind1(prim, [| front |], pars)) 0

/// The window family's rules.
let rules: (Primitive * PrimitiveRules) list =
    [
        patchesP,
        linear patchesP
        |> jvpOnly
        |> withTranspose patchesTranspose
        |> withBatch (leading patchesP)
        patchesTransposeP,
        linear patchesTransposeP
        |> jvpOnly
        |> withTranspose patchesTransposeTranspose
        |> withBatch (leading patchesTransposeP)
    ]
