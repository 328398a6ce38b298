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

// ---- batch rules --------------------------------------------------------------------------

/// Per-example indices into an axis of `n` elements, made indices into the batch folded into
/// that axis (`B·n` elements, example b's block at b·n): negatives wrap as the kernel wraps
/// them, and an index out of range for its example becomes one out of range for the folded
/// axis, so the kernel still raises instead of reading the next example's block.
/// `indices` carries the batch in front.
let private foldedIndices (n: int) (indices: Tensor) =
    let b = indices.Aval.Shape.[0]
    let dtype = indices.DType
    let constant (v: float) = Prim.convert dtype (Prim.scalar v)

    let offsets =
        Prim.convert
            dtype
            (Prim.ofArray (Backend.NDArray(Aval([| b |], Float64), Array.init b (fun k -> float (k * n)))))
        |> Prim.broadcastInDim indices.Aval.Shape [| 0 |]

    let wrapped =
        Prim.where (Prim.compare ltP indices (constant 0.0)) (Prim.arithmetic addP indices (constant (float n))) indices

    let sentinel = constant (float (-(b * n) - 1))

    let inRange =
        Prim.where (Prim.compare ltP wrapped (constant 0.0)) sentinel (Prim.arithmetic addP wrapped offsets)

    Prim.where (Prim.compare geP wrapped (constant (float n))) sentinel inRange

let private gatherBatch: BatchRule =
    fun xs axes pars ->
        let axis = pars.Int "axis"
        let x, indices = xs.[0], xs.[1]

        match axes.[0], axes.[1] with
        | ValueSome a, ValueNone ->
            let axis' = if axis >= a then axis + 1 else axis
            let out = if a < axis' then a else a - 1 + indices.Rank
            BatchKit.single (Prim.gather axis' x indices) out
        | ValueNone, ValueSome b -> BatchKit.single (Prim.gather axis x indices) (axis + b)
        | ValueSome a, ValueSome b ->
            // the batch axis folded into the gathered one: one gather reads every example
            let x = BatchKit.moveAxis a axis x
            let n = x.Aval.Shape.[axis + 1]

            let folded =
                Prim.reshape
                    (Array.append x.Aval.Shape.[.. axis - 1] (Array.append [| -1 |] x.Aval.Shape.[axis + 2 ..]))
                    x

            let indices = foldedIndices n (BatchKit.moveAxis b 0 indices)
            BatchKit.single (Prim.gather axis folded indices) axis
        | ValueNone, ValueNone -> [| Prim.gather axis x indices |], [| ValueNone |]

let private scatterAddBatch: BatchRule =
    fun xs axes pars ->
        let axis, size = pars.Int "axis", pars.Int "size"
        let updates, indices = xs.[0], xs.[1]
        let k = indices.Rank - (if axes.[1].IsSome then 1 else 0)

        match axes.[0], axes.[1] with
        | ValueSome a, ValueNone when a < axis -> BatchKit.single (Prim.scatterAdd (axis + 1) size updates indices) a
        | ValueSome a, ValueNone when a >= axis + k ->
            BatchKit.single (Prim.scatterAdd axis size updates indices) (a - k + 1)
        | ValueSome a, ValueNone ->
            BatchKit.single (Prim.scatterAdd (axis + 1) size (BatchKit.moveAxis a 0 updates) indices) 0
        | ua, ValueSome b ->
            // the batch folded into the scattered axis: example b adds into block b·size
            let n = indices.Aval.Shape.[b]
            let updates = BatchKit.batchedAt n axis updates ua
            let indices = foldedIndices size (BatchKit.moveAxis b 0 indices)
            let summed = Prim.scatterAdd axis (n * size) updates indices

            let shape =
                Array.concat
                    [
                        summed.Aval.Shape.[.. axis - 1]
                        [| n; size |]
                        summed.Aval.Shape.[axis + 1 ..]
                    ]

            BatchKit.single (Prim.reshape shape summed) axis
        | ValueNone, ValueNone -> [| Prim.scatterAdd axis size updates indices |], [| ValueNone |]

/// The family's entries for the rules table.
let rules =
    [
        gatherP, gatherRules |> withBatch gatherBatch
        scatterAddP, scatterAddRules |> withBatch scatterAddBatch
    ]
