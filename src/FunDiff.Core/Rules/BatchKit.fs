/// Helpers that write a batch rule in one line, in the spirit of JAX's `defvectorized`,
/// `defbroadcasting` and `defreducer`, and the axis arithmetic the family rules share.
/// Batch axes are kept where they are when an operation allows it (a transpose is a pass over
/// memory); rules that need the batch axis in front move it there.
module internal FunDiff.Rules.BatchKit

open FunDiff

/// The batch size: the length of the batch axis of the first batched operand.
let size (xs: Tensor[]) (axes: int voption[]) =
    let mutable n = -1

    for i in 0 .. xs.Length - 1 do
        match axes.[i] with
        | ValueSome a when n < 0 -> n <- xs.[i].Aval.Shape.[a]
        | _ -> ()

    if n < 0 then
        raise (TransformException "vmap: a batch rule was called with no batched operand (a bug in the batch trace).")

    n

/// The per-example rank of an operand.
let exampleRank (x: Tensor) (axis: int voption) =
    match axis with
    | ValueSome _ -> x.Rank - 1
    | ValueNone -> x.Rank

/// The per-example shape of an operand.
let exampleShape (x: Tensor) (axis: int voption) =
    match axis with
    | ValueSome a -> Array.removeAt a x.Aval.Shape
    | ValueNone -> Array.copy x.Aval.Shape

/// Per-example axes renumbered for an array whose batch axis is at `batch`.
let shiftPast (batch: int) (axes: int[]) =
    axes |> Array.map (fun k -> if k >= batch then k + 1 else k)

/// Moves axis `from` of `x` to position `dest` (the other axes keep their order).
let moveAxis (from: int) (dest: int) (x: Tensor) =
    if from = dest then
        x
    else
        let others = Array.init x.Rank id |> Array.removeAt from
        Prim.transpose (Array.insertAt dest from others) x

/// An operand with its batch axis at `dest`: moved there, or (unbatched) broadcast to `n`
/// examples there.
let batchedAt (n: int) (dest: int) (x: Tensor) (axis: int voption) =
    match axis with
    | ValueSome a -> moveAxis a dest x
    | ValueNone ->
        let shape = Array.insertAt dest n x.Aval.Shape
        let dims = Array.init x.Rank (fun k -> if k < dest then k else k + 1)
        Prim.broadcastInDim shape dims x

/// Example `b` of an operand batched along `axis` (that axis removed).
let exampleAt (axis: int) (b: int) (x: Tensor) =
    let starts = Array.zeroCreate x.Rank
    let limits = Array.copy x.Aval.Shape
    starts.[axis] <- b
    limits.[axis] <- b + 1
    Prim.reshape (Array.removeAt axis x.Aval.Shape) (Prim.slice starts limits x)

/// Every operand with its batch axis in front (unbatched ones broadcast).
let allInFront (xs: Tensor[]) (axes: int voption[]) =
    let n = size xs axes
    Array.init xs.Length (fun i -> batchedAt n 0 xs.[i] axes.[i])

/// One output batched along `axis`.
let single (y: Tensor) (axis: int) : Tensor[] * int voption[] = [| y |], [| ValueSome axis |]

/// The params with one entry replaced.
let withParam (name: string) (value: Param) (pars: Params) =
    Params(
        pars.Entries
        |> Array.map (fun (n, v) -> if n = name then (n, value) else (n, v))
    )

let private bind1 (prim: Primitive) (xs: Tensor[]) (pars: Params) = Interpreter.Bind1(prim, xs, pars)

/// The rule of an elementwise primitive (any arity) whose operands have one per-example shape
/// or rank 0: the output keeps the batch axis of the first batched full-rank operand (no
/// transpose for it); other batched operands are moved to that axis; an unbatched rank-0
/// operand stays a scalar (the kernels broadcast it for free); with the batch in front, an
/// unbatched operand stays as it is where the kernel repeats it; any other is broadcast to the
/// batched output's shape (a lower-rank operand is an example's trailing axes).
/// `scalarOperand i` says whether operand i may be rank 0 when the others are not (binary
/// arithmetic: both; clamp: the bounds; select_n: none); `repeats` whether an operand may be
/// the trailing axes of the other (the binary primitives' kernels repeat it along the leading
/// axes), so that with the batch in front an unbatched operand is passed as it is, not copied
/// to the batch size.
let elementwiseWith (scalarOperand: int -> bool) (repeats: bool) (prim: Primitive) : BatchRule =
    fun xs axes pars ->
        let n = size xs axes
        let mutable outRank = 0

        for i in 0 .. xs.Length - 1 do
            outRank <- max outRank (exampleRank xs.[i] axes.[i])

        let full = Array.init xs.Length (fun i -> exampleRank xs.[i] axes.[i] = outRank)

        let dest =
            let mutable d = -1

            for i in 0 .. xs.Length - 1 do
                match axes.[i] with
                | ValueSome a when d < 0 && full.[i] -> d <- a
                | _ -> ()

            max d 0

        let exampleOut =
            let i = Array.findIndex id full
            exampleShape xs.[i] axes.[i]

        let batchedShape = Array.insertAt dest n exampleOut
        // where the last k axes of an example sit in the batched output (a lower-rank operand
        // is an example's trailing axes, as the binary kernels repeat it)
        let trailing (k: int) =
            Array.init k (fun j ->
                let axis = outRank - k + j
                if axis < dest then axis else axis + 1)

        let adapted =
            Array.init xs.Length (fun i ->
                let x = xs.[i]

                match axes.[i] with
                | ValueNone when x.Rank = 0 && scalarOperand i -> x
                | ValueNone when repeats && dest = 0 -> x
                | ValueNone -> Prim.broadcastInDim batchedShape (trailing x.Rank) x
                | ValueSome a when full.[i] -> moveAxis a dest x
                | ValueSome a ->
                    Prim.broadcastInDim batchedShape (Array.insertAt 0 dest (trailing (x.Rank - 1))) (moveAxis a 0 x))

        single (bind1 prim adapted pars) dest

/// The rule of a unary elementwise primitive, or of a binary one (whose operands may each be
/// rank 0, or the other's trailing axes).
let elementwise (prim: Primitive) : BatchRule =
    elementwiseWith (fun _ -> true) true prim

/// The rule of a reduction over the `axes` param (sorted): the reduced axes are renumbered
/// past the batch axis, which survives, shifted left by the reduced axes before it.
let reducer (prim: Primitive) : BatchRule =
    fun xs axes pars ->
        let a = axes.[0].Value
        let reduced = pars.Ints "axes"
        let before = reduced |> Array.filter (fun k -> k < a) |> Array.length
        single (bind1 prim xs (withParam "axes" (Ints(shiftPast a reduced)) pars)) (a - before)

/// The rule of a primitive along the `axis` param: the axis is renumbered past the batch
/// axis; `removesAxis` says whether the output loses it (argmax) or keeps it (cumsum).
let alongAxis (removesAxis: bool) (prim: Primitive) : BatchRule =
    fun xs axes pars ->
        let a = axes.[0].Value
        let axis = pars.Int "axis"
        let axis' = if axis >= a then axis + 1 else axis
        let out = if removesAxis && axis' < a then a - 1 else a
        single (bind1 prim xs (withParam "axis" (Int axis') pars)) out

/// The fallback for a primitive without a batch rule (user-defined): one application per
/// example, stacked along axis 0. Correct for any primitive; it costs one bind per example.
let perExample (prim: Primitive) : BatchRule =
    fun xs axes pars ->
        let n = size xs axes

        let example (b: int) =
            Array.init xs.Length (fun i ->
                match axes.[i] with
                | ValueSome a -> exampleAt a b xs.[i]
                | ValueNone -> xs.[i])

        let results = Array.init n (fun b -> Interpreter.Bind(prim, example b, pars))
        let outputs = if n = 0 then 0 else results.[0].Length

        if n = 0 then
            raise (
                TransformException(
                    sprintf
                        "vmap: %s has no batch rule, and a batch of size 0 cannot be evaluated one example at a time. Give the primitive a batch rule (Primitive.defineBatched)."
                        prim.Name
                )
            )

        let stacked =
            Array.init outputs (fun k -> Prim.stack 0 (results |> Array.map (fun r -> r.[k])))

        stacked, Array.create outputs (ValueSome 0)

/// Gives every entry of an elementwise family that has no batch rule yet the elementwise one.
let vectorized (entries: (Primitive * PrimitiveRules) list) =
    entries
    |> List.map (fun (prim, rules) ->
        match rules.Batch with
        | Some _ -> prim, rules
        | None -> prim, RuleKit.withBatch (elementwise prim) rules)
