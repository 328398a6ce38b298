/// Rules of comparisons, select_n and stop_gradient: comparisons and stop_gradient carry no
/// tangent; select_n is linear in its two cases and routes tangents and cotangents by the mask.
module FunDiff.Rules.Logical

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

let private selectRules =
    jvpOnly (fun xs ts pars _ ->
        // the mask is bool, so only the cases can carry tangents
        let onFalse, onTrue = instantiate xs.[1] ts.[1], instantiate xs.[2] ts.[2]

        [|
            ValueSome(Interpreter.Bind1(selectNP, [| xs.[0]; onFalse; onTrue |], pars))
        |])
    |> withTranspose (fun cts args pars ->
        let which =
            match args.[0] with
            | Known w -> w
            | Linear _ -> raise (TransformException "select_n: the mask cannot be linear.")

        let ct = cts.[0]
        let zeros = Prim.zeros ct.Aval

        let route (arg: LinearArg) (onFalse: Tensor) (onTrue: Tensor) =
            match arg with
            | Linear _ -> ValueSome(Interpreter.Bind1(selectNP, [| which; onFalse; onTrue |], pars))
            | Known _ -> ValueNone

        [| ValueNone; route args.[1] ct zeros; route args.[2] zeros ct |])

/// The family's entries for the rules table.
let rules =
    [
        ltP, jvpOnly zeroJvp
        leP, jvpOnly zeroJvp
        gtP, jvpOnly zeroJvp
        geP, jvpOnly zeroJvp
        eqP, jvpOnly zeroJvp
        neP, jvpOnly zeroJvp
        selectNP,
        selectRules
        |> withBatch (BatchKit.elementwiseWith (fun _ -> false) false selectNP)
        stopGradientP, jvpOnly zeroJvp
    ]
    |> BatchKit.vectorized
