/// Reverse mode is forward mode, linearized and transposed.
/// - `linearizeProgram` runs the JVP with the primal known and the tangent unknown, under a
///   staging trace: primal work is computed, tangent work is staged into a linear program.
/// - `vjp` transposes that program; `grad` is `vjp` with cotangent 1.
module FunDiff.Transforms.Linearize

open FunDiff
open FunDiff.Transforms.Staging

/// The primal outputs of `f` at `xs` and the linear program mapping the inputs' tangents to
/// the outputs' tangents (one program input per `xs` element; its consts are the residuals).
let internal linearizeMany (transform: string) (f: Tensor[] -> Tensor[]) (xs: Tensor[]) : Tensor[] * Program =
    xs |> Array.iter (Jvp.checkDifferentiable transform)
    let staging = StagingTrace(Interpreter.Current, transform)
    let tangentsIn = xs |> Array.map (fun x -> staging.NewInput x.Aval)

    TraceScope.run staging transform (fun () ->
        let ys, tangentsOut =
            Jvp.jvpMany transform f xs (tangentsIn |> Array.map (fun t -> t :> Tensor))

        let tangentsOut =
            Array.map2
                (fun (y: Tensor) t ->
                    match t with
                    | ValueSome t -> t
                    | ValueNone -> Prim.zeros (y.Aval.WithDType Float64))
                ys
                tangentsOut

        ys, staging.Finish(tangentsIn |> Array.map (fun t -> t.Var), tangentsOut))

/// `linearizeMany` for one input and one output.
let internal linearizeProgram (transform: string) (f: Tensor -> Tensor) (x: Tensor) : Tensor * Program =
    let ys, program = linearizeMany transform (fun xs -> [| f xs.[0] |]) [| x |]
    ys.[0], program

/// Checks a cotangent against the output it belongs to.
let internal checkCotangent (transform: string) (y: Tensor) (ct: Tensor) =
    if not (ct.Aval.Shape = y.Aval.Shape) then
        raise (
            ShapeException(
                sprintf
                    "%s: the cotangent has shape %s but the function's output has shape %s; they must match."
                    transform
                    (Shape.show ct.Aval.Shape)
                    (Shape.show y.Aval.Shape)
            )
        )

/// Raises unless the output of `f` is a float64 scalar: an int64 or bool output is piecewise
/// constant, so its "gradient" of zeros would be a silent non-answer (JAX raises too).
let internal checkScalarOutput (transform: string) (y: Tensor) =
    if y.DType <> Float64 then
        raise (
            TransformException(
                sprintf
                    "%s: the function returned a value of aval %O, but %s needs a float64 output (an integer or bool output has no gradient). Return a float64 value, e.g. Tensor.convert Float64 of it, or use stopGradient for the integer part."
                    transform
                    y.Aval
                    transform
            )
        )

    if y.Rank <> 0 then
        raise (
            NonScalarOutputException(
                sprintf
                    "%s: the function returned shape %s, but %s needs a scalar (rank-0) output. Reduce it (e.g. Tensor.sum) or use vjp / jacrev for non-scalar outputs."
                    transform
                    (Shape.show y.Aval.Shape)
                    transform
            )
        )

/// (value, gradient) of a scalar function.
let internal valueAndGrad (transform: string) (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearizeProgram transform f x
    checkScalarOutput transform y
    y, (Transpose.backwardPass linear [| Prim.ones y.Aval |]).[0]
