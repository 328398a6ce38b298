/// Batching (vmap).
/// - Computes: `f` on every example of a batch at once, each primitive applied once to the
///   whole batch by its batch rule.
/// - Its tracer carries: the batched value (an array one rank higher than the example) and
///   the axis that holds the batch; its aval is the example's, so shape rules, error messages
///   and user code see per-example shapes.
/// - Values of other traces: the same for every example (not tracers), as a zero tangent is
///   no JVP tracer, so a closed-over value is broadcast only where a rule needs it to be.
///   The rules' ops are processed by the parent: no rule input is one of its tracers.
/// Stateless but for the batch size, so it is safe under Parallel.For.
module FunDiff.Transforms.Batching

open System
open FunDiff
open FunDiff.Rules

type internal BatchTracer(trace: Trace, value: Tensor, axis: int) =
    inherit Tracer(trace, Aval(Array.removeAt axis value.Aval.Shape, value.DType))
    /// The whole batch.
    member _.Value = value
    /// The axis of `Value` that runs over the examples.
    member _.Axis = axis

    override t.ToConcrete op =
        raise (
            ConcretizationException(
                sprintf
                    "%s: a tracer of %s (aval %O per example) holds a different value for each example of the batch, so it cannot become one number. Use Tensor.where for a per-example choice, or read the value outside %s."
                    op
                    trace.Transform
                    t.Aval
                    trace.Transform
            )
        )

    override t.Describe() =
        sprintf "Traced<%O> in %s (batched along axis %d of %O)" t.Aval trace.Transform axis value.Aval

type internal BatchTrace(parent: Trace, transform: string, size: int) =
    inherit Trace(parent, transform)

    /// The number of examples.
    member _.Size = size

    override this.Process(prim, inputs, pars) =
        let n = inputs.Length
        let values = Array.zeroCreate n
        let axes = Array.zeroCreate n
        let examples = Array.zeroCreate n

        for i in 0 .. n - 1 do
            match inputs.[i] with
            | :? BatchTracer as t when Object.ReferenceEquals(t.Trace, this) ->
                values.[i] <- t.Value
                axes.[i] <- ValueSome t.Axis
                examples.[i] <- t.Aval
            | x ->
                values.[i] <- x
                examples.[i] <- x.Aval

        // the shape rule on the examples' avals: bad input is reported in the shapes the user
        // wrote, and the rule's outputs are checked against it below
        let expected = prim.ShapeRule examples pars

        let rule =
            match (Table.lookup prim).Batch with
            | Some rule -> rule
            | None -> BatchKit.perExample prim

        let outs, outAxes = rule values axes pars

        if outs.Length <> expected.Length then
            raise (
                TransformException(
                    sprintf
                        "%s: its batch rule returned %d output(s), but the primitive has %d (a bug in the rule)."
                        prim.Name
                        outs.Length
                        expected.Length
                )
            )

        Array.init outs.Length (fun i ->
            let y = outs.[i]

            match outAxes.[i] with
            | ValueSome axis ->
                let got = y.Aval

                if
                    axis < 0
                    || axis >= got.Rank
                    || got.Shape.[axis] <> size
                    || got.DType <> expected.[i].DType
                    || not (Shape.equal (Array.removeAt axis got.Shape) expected.[i].Shape)
                then
                    raise (
                        TransformException(
                            sprintf
                                "%s: its batch rule returned %O batched along axis %d for %d examples of %O (a bug in the rule)."
                                prim.Name
                                got
                                axis
                                size
                                expected.[i]
                        )
                    )

                BatchTracer(this, y, axis) :> Tensor
            | ValueNone -> y)

/// Checks and normalizes a batch axis of a tensor (negative axes count from the end).
let private normalizeAxis (transform: string) (what: string) (rank: int) (axis: int) =
    let a = if axis < 0 then axis + rank else axis

    if a < 0 || a >= rank then
        raise (
            ShapeException(
                sprintf
                    "%s: %s axis %d is out of range for rank %d; a batched value needs the batch axis (use an axis in [-%d, %d))."
                    transform
                    what
                    axis
                    rank
                    rank
                    rank
            )
        )

    a

/// Runs `f` over a batch: input `i` is mapped over its axis `inAxes.[i]` (`ValueNone`: the
/// same for every example), and output `j` carries the batch at `outAxes.[j]` (an output that
/// does not depend on the batch is broadcast there). All mapped inputs need one batch size.
let internal vmapMany
    (transform: string)
    (f: Tensor[] -> Tensor[])
    (xs: Tensor[])
    (inAxes: int voption[])
    (outAxes: int -> int)
    : Tensor[] =
    let inAxes =
        Array.init xs.Length (fun i ->
            inAxes.[i]
            |> ValueOption.map (normalizeAxis transform "the input's" (xs.[i].Rank)))

    let sizes =
        [
            for i in 0 .. xs.Length - 1 do
                match inAxes.[i] with
                | ValueSome a -> yield i, xs.[i].Aval.Shape.[a], a
                | ValueNone -> ()
        ]

    match sizes with
    | [] ->
        raise (
            TransformException(
                sprintf "%s: no input is mapped over an axis; give at least one input a batch axis." transform
            )
        )
    | (_, n, _) :: _ ->
        if sizes |> List.exists (fun (_, m, _) -> m <> n) then
            raise (
                ShapeException(
                    sprintf
                        "%s: the mapped inputs have different batch sizes: %s; every mapped axis must have the same length."
                        transform
                        (sizes
                         |> List.map (fun (i, m, a) ->
                             sprintf "input %d has %d along axis %d (shape %s)" i m a (Shape.show xs.[i].Aval.Shape))
                         |> String.concat ", ")
                )
            )

        let trace = BatchTrace(Interpreter.Current, transform, n)

        TraceScope.run trace transform (fun () ->
            let inputs =
                Array.init xs.Length (fun i ->
                    match inAxes.[i] with
                    | ValueSome a -> BatchTracer(trace, xs.[i], a) :> Tensor
                    | ValueNone -> xs.[i])

            f inputs
            |> Array.mapi (fun j y ->
                let dest = normalizeAxis transform "the output's" (y.Rank + 1) (outAxes j)

                match y with
                | :? BatchTracer as t when Object.ReferenceEquals(t.Trace, trace) ->
                    BatchKit.moveAxis t.Axis dest t.Value
                | y -> BatchKit.batchedAt n dest y ValueNone))

/// `vmapMany` for one input mapped over `inAxis` and one output batched at `outAxis`.
let internal vmapAxes (transform: string) (inAxis: int) (outAxis: int) (f: Tensor -> Tensor) (x: Tensor) =
    (vmapMany transform (fun xs -> [| f xs.[0] |]) [| x |] [| ValueSome inAxis |] (fun _ -> outAxis)).[0]
