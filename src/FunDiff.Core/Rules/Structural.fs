/// Rules of the structural primitives: all linear, each transposed by another member of the
/// family (reduce_sum ↔ broadcast_in_dim, slice ↔ pad, reshape and transpose by themselves).
module FunDiff.Rules.Structural

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

let private single (f: Tensor -> Aval -> Params -> Tensor) : TransposeRule =
    fun cts args pars -> [| ValueSome(f cts.[0] (linearArgAval args.[0]) pars) |]

// the cotangent of a sum is broadcast back along the summed axes
let private reduceSumTranspose =
    single (fun ct operand pars ->
        let axes = pars.Ints "axes"

        Prim.broadcastInDim operand.Shape (Shape.complementAxes operand.Rank axes) ct)

// the cotangent of a broadcast sums over the axes it created or stretched
let private broadcastTranspose =
    single (fun ct operand pars ->
        let shape, dims = pars.Ints "shape", pars.Ints "broadcast_dimensions"

        let summed =
            [|
                for axis in 0 .. shape.Length - 1 do
                    match Array.tryFindIndex ((=) axis) dims with
                    | None -> axis
                    | Some k when operand.Shape.[k] = 1 && shape.[axis] <> 1 -> axis
                    | Some _ -> ()
            |]

        Prim.reshape operand.Shape (Prim.sumAxes summed ct))

let private reshapeTranspose =
    single (fun ct operand _ -> Prim.reshape operand.Shape ct)

let private transposeTranspose =
    single (fun ct _ pars -> Prim.transpose (Shape.invertPermutation (pars.Ints "permutation")) ct)

let private sliceTranspose =
    single (fun ct operand pars ->
        let start, limit = pars.Ints "start_indices", pars.Ints "limit_indices"
        Prim.pad start (Array.init operand.Rank (fun k -> operand.Shape.[k] - limit.[k])) ct)

let private padTranspose =
    single (fun ct operand pars ->
        let low = pars.Ints "low"
        Prim.slice low (Array.map2 (+) low operand.Shape) ct)

// concatenate is linear in every operand; missing tangents become zeros
let private concatenateRules =
    jvpOnly (fun xs ts pars _ ->
        let parts = Array.map2 instantiate xs ts
        [| ValueSome(Interpreter.Bind1(concatenateP, parts, pars)) |])
    |> withTranspose (fun cts args pars ->
        let axis = pars.Int "dimension"
        let mutable at = 0

        args
        |> Array.map (fun arg ->
            let aval = linearArgAval arg
            let start = at
            at <- at + aval.Shape.[axis]

            match arg with
            | Linear _ -> ValueSome(Prim.sliceAxis axis start (start + aval.Shape.[axis]) cts.[0])
            | Known _ -> ValueNone))

// a conversion to a float type carries the tangent; to int or bool it has none
let private convertRules =
    jvpOnly (fun _ ts pars _ ->
        match ts.[0] with
        | ValueSome t when (pars.DType "new_dtype").IsFloat -> [| ValueSome(Prim.convert (pars.DType "new_dtype") t) |]
        | _ -> [| ValueNone |])
    |> withTranspose (single (fun ct operand _ -> Prim.convert operand.DType ct))

// ---- batch rules: the batch axis is one more axis the primitive carries along ----------------

let private batched (f: Tensor -> int -> Params -> Tensor * int) : BatchRule =
    fun xs axes pars ->
        let y, axis = f xs.[0] axes.[0].Value pars
        BatchKit.single y axis

// broadcasting keeps its operand's axes in order: the batch goes in front of both
let private broadcastBatch =
    batched (fun x a pars ->
        let shape, dims = pars.Ints "shape", pars.Ints "broadcast_dimensions"
        let x = BatchKit.moveAxis a 0 x

        Prim.broadcastInDim
            (Array.insertAt 0 x.Aval.Shape.[0] shape)
            (Array.insertAt 0 0 (dims |> Array.map ((+) 1)))
            x,
        0)

let private reshapeBatch =
    batched (fun x a pars ->
        let x = BatchKit.moveAxis a 0 x
        Prim.reshape (Array.insertAt 0 x.Aval.Shape.[0] (pars.Ints "new_sizes")) x, 0)

// the permutation takes the batch axis first: no move before it
let private transposeBatch =
    batched (fun x a pars -> Prim.transpose (Array.insertAt 0 a (BatchKit.shiftPast a (pars.Ints "permutation"))) x, 0)

let private sliceBatch =
    batched (fun x a pars ->
        let start, limit = pars.Ints "start_indices", pars.Ints "limit_indices"
        Prim.slice (Array.insertAt a 0 start) (Array.insertAt a x.Aval.Shape.[a] limit) x, a)

let private padBatch =
    batched (fun x a pars ->
        Prim.pad (Array.insertAt a 0 (pars.Ints "low")) (Array.insertAt a 0 (pars.Ints "high")) x, a)

let private concatenateBatch: BatchRule =
    fun xs axes pars ->
        let parts = BatchKit.allInFront xs axes

        BatchKit.single
            (Interpreter.Bind1(concatenateP, parts, BatchKit.withParam "dimension" (Int(pars.Int "dimension" + 1)) pars))
            0

/// The family's entries for the rules table.
let rules =
    [
        reduceSumP,
        linear reduceSumP
        |> jvpOnly
        |> withTranspose reduceSumTranspose
        |> withBatch (BatchKit.reducer reduceSumP)
        broadcastInDimP,
        linear broadcastInDimP
        |> jvpOnly
        |> withTranspose broadcastTranspose
        |> withBatch broadcastBatch
        reshapeP,
        linear reshapeP
        |> jvpOnly
        |> withTranspose reshapeTranspose
        |> withBatch reshapeBatch
        transposeP,
        linear transposeP
        |> jvpOnly
        |> withTranspose transposeTranspose
        |> withBatch transposeBatch
        sliceP, linear sliceP |> jvpOnly |> withTranspose sliceTranspose |> withBatch sliceBatch
        padP, linear padP |> jvpOnly |> withTranspose padTranspose |> withBatch padBatch
        concatenateP, concatenateRules |> withBatch concatenateBatch
        convertElementTypeP, convertRules |> withBatch (BatchKit.elementwise convertElementTypeP)
    ]
