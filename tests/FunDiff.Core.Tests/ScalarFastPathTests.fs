/// The interpreter's scalar fast path (rank-0 float64 operands of an elementwise primitive are
/// evaluated by the primitive's scalar function, without arrays or kernel dispatch) against
/// the general path: for every elementwise primitive and a sweep of special and random values,
/// the fast path's result has the same bits as the kernel's on a one-element rank-1 array.
module FunDiff.Tests.ScalarFastPathTests

open System
open Xunit
open FunDiff
open FunDiff.Rules

let private values =
    let r = Random(20261203)

    [
        yield!
            [
                0.0
                -0.0
                1.0
                -1.0
                0.5
                -0.5
                2.0
                1e-300
                -1e-300
                5e-324
                1e-10
                710.0
                -745.5
            ]
        yield! [ 1e300; -1e300; infinity; -infinity; nan; Math.PI; 0.9999999999999999 ]
        for _ in 1..40 -> (r.NextDouble() - 0.5) * 20.0
    ]

let private elementwise =
    Table.primitives
    |> List.filter (fun p ->
        match p.Scalar with
        | ScalarFunction.NotElementwise -> false
        | _ -> true)

let private bits (t: Tensor) =
    BitConverter.DoubleToInt64Bits((Tensor.toArray t).[0])

let private sameBits (a: Tensor) (b: Tensor) =
    let x, y = Tensor.toArray a, Tensor.toArray b
    Double.IsNaN x.[0] && Double.IsNaN y.[0] || bits a = bits b

[<Fact>]
let ``the elementwise primitives declare their scalar function`` () =
    let names = elementwise |> List.map (fun p -> p.Name) |> Set.ofList

    for expected in
        [
            "add"
            "sub"
            "mul"
            "div"
            "neg"
            "sin"
            "cos"
            "exp"
            "log"
            "tanh"
            "max"
            "pow"
        ] do
        Assert.True(names.Contains expected, sprintf "%s has no scalar function (%A)" expected names)

[<Fact>]
let ``the scalar fast path gives the kernel's bits for every elementwise primitive`` () =
    let failures = ResizeArray()

    for prim in elementwise do
        let check (operands: float list) =
            let scalars = operands |> List.map Tensor.scalar |> Array.ofList
            let vectors = operands |> List.map (fun v -> Tensor.ofArray [| v |]) |> Array.ofList
            let fast = Interpreter.Bind1(prim, scalars, Params.Empty)
            let general = Interpreter.Bind1(prim, vectors, Params.Empty)
            Assert.Equal(0, fast.Rank)

            if not (sameBits fast general) then
                failures.Add(
                    sprintf
                        "%s %A: fast path %.17g, kernel %.17g"
                        prim.Name
                        operands
                        (Tensor.toArray fast).[0]
                        (Tensor.toArray general).[0]
                )

        match prim.Scalar with
        | ScalarFunction.Unary _ ->
            for x in values do
                check [ x ]
        | ScalarFunction.Binary _ ->
            for x in values do
                for y in List.take 12 values do
                    check [ x; y ]
                    check [ y; x ]
        | ScalarFunction.NotElementwise -> ()

    Assert.True(failures.Count = 0, String.concat "\n" failures)

[<Fact>]
let ``the fast path leaves NaN debugging to the general path, which reports the primitive`` () =
    let e =
        Assert.Throws<NanException>(fun () -> Diff.withDebugNans (fun () -> Tensor.log (Tensor.scalar -1.0)) |> ignore)

    Assert.Contains("log", e.Message)
