/// Forward mode.
/// - Computes: the output of `f` and its directional derivative along a tangent.
/// - Its tracer carries: (primal, tangent); a value with a symbolic-zero tangent is not a
///   tracer at all, so no work is done for it (and no NaN · 0 appears).
/// - Values of other traces: constants (zero tangent). The rules' ops are processed by the
///   parent (bind passes over this trace: no rule input is one of its tracers).
/// Stateless, so it is safe under Parallel.For.
module FunDiff.Transforms.Jvp

open System
open FunDiff
open FunDiff.Rules

type internal JvpTracer(trace: Trace, primal: Tensor, tangent: Tensor) =
    inherit Tracer(trace, primal.Aval)
    member _.Primal = primal
    member _.Tangent = tangent
    override _.ToConcrete op = primal.Concrete op

    override t.Describe() =
        sprintf "Traced<%O> in %s (primal %O)" t.Aval trace.Transform primal

type internal JvpTrace(parent: Trace, transform: string) =
    inherit Trace(parent, transform)

    override this.Process(prim, inputs, pars) =
        let n = inputs.Length
        let primals = Array.zeroCreate n
        let tangents = Array.zeroCreate n

        for i in 0 .. n - 1 do
            match inputs.[i] with
            | :? JvpTracer as t when Object.ReferenceEquals(t.Trace, this) ->
                primals.[i] <- t.Primal
                tangents.[i] <- ValueSome t.Tangent
            | x -> primals.[i] <- x

        let rules = Table.lookup prim

        let struct (outs, outTangents) =
            match rules.PrimalAndTangent with
            | Some rule ->
                let outs, tangents = rule primals tangents pars
                struct (outs, tangents)
            | None ->
                let outs = Interpreter.Bind(prim, primals, pars)
                struct (outs, rules.Jvp primals tangents pars outs)

        for i in 0 .. outs.Length - 1 do
            let y = outs.[i]

            match outTangents.[i] with
            | ValueSome t when y.DType.IsFloat ->
                if not (Shape.equal t.Aval.Shape y.Aval.Shape) then
                    raise (
                        TransformException(
                            sprintf
                                "%s: its JVP rule returned a tangent of shape %s for an output of shape %s (a bug in the rule)."
                                prim.Name
                                (Shape.show t.Aval.Shape)
                                (Shape.show y.Aval.Shape)
                        )
                    )

                outs.[i] <- JvpTracer(this, y, t)
            | _ -> ()

        outs

/// Checks that a tensor can be differentiated with respect to.
let internal checkDifferentiable (transform: string) (x: Tensor) =
    if not x.DType.IsFloat then
        raise (
            TransformException(
                sprintf
                    "%s: the input has dtype %s (aval %O); only float64 inputs can be differentiated. Convert it with Tensor.convert Float64."
                    transform
                    x.DType.ShortName
                    x.Aval
            )
        )

/// Runs `f` under a new JVP trace (on top of the current trace) with tangent `vs.[i]` for
/// `xs.[i]`; returns the primal outputs and their tangents (`ValueNone`: the output does not
/// depend on the inputs).
let internal jvpMany (transform: string) (f: Tensor[] -> Tensor[]) (xs: Tensor[]) (vs: Tensor[]) =
    for i in 0 .. xs.Length - 1 do
        checkDifferentiable transform xs.[i]

        if not (Shape.equal xs.[i].Aval.Shape vs.[i].Aval.Shape) then
            raise (
                ShapeException(
                    sprintf
                        "%s: the tangent has shape %s but the input has shape %s; they must match."
                        transform
                        (Shape.show vs.[i].Aval.Shape)
                        (Shape.show xs.[i].Aval.Shape)
                )
            )

    let trace = JvpTrace(Interpreter.Current, transform)

    TraceScope.run trace transform (fun () ->
        let inputs =
            Array.map2 (fun x v -> JvpTracer(trace, x, Prim.convert Float64 v) :> Tensor) xs vs

        f inputs
        |> Array.map (fun y ->
            match y with
            | :? JvpTracer as t when Object.ReferenceEquals(t.Trace, trace) -> t.Primal, ValueSome t.Tangent
            | y -> y, ValueNone)
        |> Array.unzip)

/// `jvpMany` for one input and one output.
let internal jvpWith (transform: string) (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) =
    let ys, ts = jvpMany transform (fun xs -> [| f xs.[0] |]) [| x |] [| v |]
    ys.[0], ts.[0]
