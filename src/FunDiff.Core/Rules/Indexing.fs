/// Rules of gather (NumPy's take along an axis) and its transpose scatter-add: each is linear in
/// its data operand and transposes to the other; the int64 indices are never differentiated.
module FunDiff.Rules.Indexing

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

/// The JVP of a primitive linear in operand 0 whose operand 1 (the indices) is fixed.
let private linearInData (prim: Primitive) : JvpRule =
    fun xs ts pars _ ->
        match ts.[0] with
        | ValueSome t -> [| ValueSome(Interpreter.Bind1(prim, [| t; xs.[1] |], pars)) |]
        | ValueNone -> [| ValueNone |]

let private indicesOf (arg: LinearArg) =
    match arg with
    | Known i -> i
    | Linear _ -> raise (TransformException "gather/scatter_add: the indices cannot be linear.")

let private gatherRules =
    jvpOnly (linearInData gatherP)
    |> withTranspose (fun cts args pars ->
        match args.[0] with
        | Linear aval ->
            let axis = pars.Int "axis"

            [|
                ValueSome(Prim.scatterAdd axis aval.Shape.[axis] cts.[0] (indicesOf args.[1]))
                ValueNone
            |]
        | Known _ -> [| ValueNone; ValueNone |])

let private scatterAddRules =
    jvpOnly (linearInData scatterAddP)
    |> withTranspose (fun cts args pars ->
        match args.[0] with
        | Linear _ ->
            [|
                ValueSome(Prim.gather (pars.Int "axis") cts.[0] (indicesOf args.[1]))
                ValueNone
            |]
        | Known _ -> [| ValueNone; ValueNone |])

/// The family's entries for the rules table.
let rules = [ gatherP, gatherRules; scatterAddP, scatterAddRules ]
