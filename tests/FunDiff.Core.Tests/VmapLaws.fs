/// The laws every primitive's batch rule must obey, on random applications from the
/// primitive's domain (as in PrimitiveLaws): random batch sizes (1 to 3), a random choice of
/// batched and unbatched operands and random batch axes. `vmap` equals stacking the
/// per-example results, and it commutes with `jvp` and with `vjp`. A primitive without a
/// batch rule fails.
module FunDiff.Tests.VmapLaws

open System
open Xunit
open FunDiff
open FunDiff.Backend
open FunDiff.Rules
open FunDiff.Transforms
open FunDiff.Tests.Harness
open FunDiff.Tests.PrimitiveLaws

/// Batched and per-example results agree to this (dot_general may sum in another order; the
/// elementwise kernels are bit-identical, and NaN matches NaN).
let batchTolerance = { Relative = 1e-13; Absolute = 1e-14 }

/// One batched draw around an application: every example has the application's shapes and
/// params; example 0 is the application itself, and a batched operand's other examples are
/// random permutations of its elements (so each stays in the primitive's domain: positive,
/// in range, distinct, bool).
type BatchedDraw =
    {
        Size: int
        /// Per operand: its batch axis, or ValueNone for an operand shared by every example.
        Axes: int voption[]
        /// The operands as vmap receives them.
        Batched: Tensor[]
        /// The operands of each example.
        Examples: Tensor[][]
        /// The batch axis of the result.
        OutAxis: int
    }

let private permuted (r: Random) (x: Tensor) =
    let v = values x
    let order = Array.init v.Length id |> Array.sortBy (fun _ -> r.Next())
    Prim.ofArray (NDArray.ofData x.Shape x.DType (order |> Array.map (fun k -> v.[k])))

let draw (r: Random) (app: Application) =
    let operands = app.Operands
    let n = operands.Length
    let size = r.Next(1, 4)
    let mapped = Array.init n (fun _ -> r.Next 3 <> 0)

    if not (Array.exists id mapped) then
        mapped.[r.Next n] <- true

    let examples =
        Array.init size (fun b ->
            Array.init n (fun i ->
                if mapped.[i] && b > 0 then
                    if Domains.isFactorization app.Primitive then
                        Domains.perturbed r operands.[i]
                    else
                        permuted r operands.[i]
                else
                    operands.[i]))

    let axes =
        Array.init n (fun i ->
            if mapped.[i] then
                ValueSome(r.Next(0, operands.[i].Rank + 1))
            else
                ValueNone)

    let batched =
        Array.init n (fun i ->
            match axes.[i] with
            | ValueSome a -> Tensor.stackAxis a [ for b in 0 .. size - 1 -> examples.[b].[i] ]
            | ValueNone -> operands.[i])

    let outRank = (app.Apply app.Point).Rank

    {
        Size = size
        Axes = axes
        Batched = batched
        Examples = examples
        OutAxis = r.Next(0, outRank + 1)
    }

let private apply (app: Application) (operands: Tensor[]) =
    Domains.applyAll app.Primitive operands app.Params

/// vmap of the primitive over the draw's batched operands.
let private batchedApply (app: Application) (d: BatchedDraw) (operands: Tensor[]) =
    (Batching.vmapMany "vmap" (fun xs -> [| apply app xs |]) operands d.Axes (fun _ -> d.OutAxis)).[0]

let describeDraw (d: BatchedDraw) =
    sprintf
        "batch of %d; operand batch axes %s; output batch axis %d"
        d.Size
        (d.Axes
         |> Array.map (function
             | ValueSome a -> string a
             | ValueNone -> "none")
         |> String.concat ", ")
        d.OutAxis

/// vmap equals stacking the per-example results.
let valueLaw: Law =
    fun r app ->
        let d = draw r app
        let expected = Tensor.stackAxis d.OutAxis [ for ex in d.Examples -> apply app ex ]
        let actual = batchedApply app d d.Batched

        if actual.DType <> expected.DType then
            failwithf "%s: vmap gave dtype %O, the examples %O" (describeDraw d) actual.DType expected.DType

        assertClose (sprintf "vmap vs stacked examples (%s)" (describeDraw d)) batchTolerance expected actual

/// A tangent or cotangent for operand `i` of a draw: batched like the operand.
let private directionFor (r: Random) (d: BatchedDraw) (i: int) = direction r d.Batched.[i]

/// jvp of the vmapped primitive = vmap of the per-example jvp (the tangent batched as its
/// operand is).
let jvpCommutesLaw: Law =
    fun r app ->
        let d = draw r app
        let i = app.Wrt
        let v = directionFor r d i
        let withOperand (x: Tensor) (xs: Tensor[]) = Array.updateAt i x xs

        let _, outer =
            jvp (fun x -> batchedApply app d (withOperand x d.Batched)) d.Batched.[i] v

        let inner =
            (Batching.vmapMany
                "vmap"
                (fun xs ->
                    let operands, t = xs.[.. xs.Length - 2], xs.[xs.Length - 1]
                    [| snd (jvp (fun x -> apply app (withOperand x operands)) operands.[i] t) |])
                (Array.append d.Batched [| v |])
                (Array.append d.Axes [| d.Axes.[i] |])
                (fun _ -> d.OutAxis)).[0]

        assertClose (sprintf "jvp (vmap f) vs vmap (jvp f) (%s)" (describeDraw d)) rounding inner outer

/// vjp of the vmapped primitive = vmap of the per-example vjp; for a shared operand, the sum
/// over the examples of their cotangents.
let vjpCommutesLaw: Law =
    fun r app ->
        let d = draw r app
        let i = app.Wrt
        let withOperand (x: Tensor) (xs: Tensor[]) = Array.updateAt i x xs

        let y, pullback =
            vjp (fun x -> batchedApply app d (withOperand x d.Batched)) d.Batched.[i]

        let u = randomTensor r -1.0 1.0 y.Shape
        let outer = pullback u

        let perExample (axis: int) =
            (Batching.vmapMany
                "vmap"
                (fun xs ->
                    let operands, ct = xs.[.. xs.Length - 2], xs.[xs.Length - 1]
                    [| (snd (vjp (fun x -> apply app (withOperand x operands)) operands.[i])) ct |])
                (Array.append d.Batched [| u |])
                (Array.append d.Axes [| ValueSome d.OutAxis |])
                (fun _ -> axis)).[0]

        let inner =
            match d.Axes.[i] with
            | ValueSome a -> perExample a
            | ValueNone -> Tensor.sumAxes [ 0 ] (perExample 0)

        assertClose (sprintf "vjp (vmap f) vs vmap (vjp f) (%s)" (describeDraw d)) rounding inner outer

/// Checks a batch law on every primitive of the rules table; a primitive without a batch rule
/// fails it.
let checkEveryBatchRule (law: Law) =
    let missing =
        [
            for prim in Table.primitives do
                if (Table.lookup prim).Batch.IsNone then
                    yield
                        sprintf
                            "%s: has no batch rule in FunDiff.Rules.Table; every built-in primitive needs one (RuleKit.withBatch)."
                            prim.Name
        ]

    if not missing.IsEmpty then
        failwithf "%d primitive(s) cannot be batched:\n%s" missing.Length (String.concat "\n" missing)

    checkEveryPrimitive law

[<Fact>]
let ``vmap equals stacking the per-example results, for every primitive`` () = checkEveryBatchRule valueLaw

[<Fact>]
let ``jvp commutes with vmap, for every primitive`` () = checkEveryBatchRule jvpCommutesLaw

[<Fact>]
let ``vjp commutes with vmap, for every primitive`` () = checkEveryBatchRule vjpCommutesLaw
