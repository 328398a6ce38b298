/// Errors raised inside transforms name them; exceptions from user constructors are not
/// wrapped; the validations of the C# members in Core.fs.
module FunDiff.Tests.TransformErrorTests

open System
open Xunit
open FunDiff

let private fails (parts: string list) (f: unit -> 'a) =
    let e = Assert.Throws<ShapeException>(fun () -> f () |> ignore)

    for part in parts do
        Assert.Contains(part, e.Message)

let private v3 () = Tensor.ofArray [| 1.0; 2.0; 3.0 |]

/// A class whose constructor checks its arguments (as a C# record or an F# class may).
type CheckedLayer(w: Tensor, b: Tensor) =
    do
        if w.Shape.[0] <> b.Shape.[0] then
            raise (ShapeException(sprintf "CheckedLayer: w has %d rows but b has %d" w.Shape.[0] b.Shape.[0]))

    member _.W = w
    member _.B = b

/// A class whose setter checks the value.
type CheckedBox() =
    let mutable w = Tensor.scalar 0.0

    member _.W
        with get () = w
        and set (v: Tensor) =
            if v.Rank <> 0 then
                raise (ShapeException "CheckedBox.W must be a scalar")

            w <- v

[<Fact>]
let ``P1 a shape error inside grad names grad`` () =
    fails [ "add: shapes [3] and [2]"; "inside grad" ] (fun () ->
        grad (fun x -> Tensor.sum (x + Tensor.zeros [| 2 |])) (v3 ()))

[<Fact>]
let ``P2 a shape error inside jvp inside grad names both, once each`` () =
    let message =
        Assert
            .Throws<ShapeException>(fun () ->
                grad (fun x -> snd (jvp (fun y -> Tensor.sum (y + Tensor.zeros [| 2 |])) x x)) (v3 ())
                |> ignore)
            .Message

    Assert.Contains("inside jvp inside grad", message)
    Assert.DoesNotContain("inside grad inside grad", message)

[<Fact>]
let ``P3 a shape error inside makeIR names makeIR`` () =
    fails [ "inside makeIR" ] (fun () -> makeIR (fun x -> x + Tensor.zeros [| 2 |]) (v3 ()))

[<Fact>]
let ``P4 a constructor that throws during a Tree rebuild raises its own exception, not TargetInvocationException`` () =
    let layer = CheckedLayer(Tensor.zeros [| 2 |], Tensor.zeros [| 2 |])
    let mutable first = true

    fails [ "CheckedLayer: w has 3 rows but b has 2" ] (fun () ->
        Tree.map
            (fun t ->
                if first then
                    first <- false
                    Tensor.zeros [| 3 |]
                else
                    t)
            layer)

[<Fact>]
let ``P5 a setter that throws during a Tree rebuild raises its own exception`` () =
    fails [ "CheckedBox.W must be a scalar" ] (fun () -> Tree.map (fun _ -> Tensor.zeros [| 3 |]) (CheckedBox()))

[<Fact>]
let ``P6 the C# Take with a float index of 1.5 raises instead of truncating to 1`` () =
    fails [ "index 1.5 is not a whole number" ] (fun () -> (v3 ()).Take(Tensor.ofArray [| 1.5 |], 0))

[<Fact>]
let ``P7 the C# Clip with lo greater than hi raises`` () =
    fails [ "Clip"; "lo = 3"; "hi = 1" ] (fun () -> (v3 ()).Clip(3.0, 1.0))

[<Fact>]
let ``P8 the C# Mean of an empty tensor is NaN, as Tensor.mean`` () =
    Assert.True(Double.IsNaN(float ((Tensor.zeros [| 0 |]).Mean())))

[<Fact>]
let ``P9 F# slicing two axes of a vector raises a ShapeException, not IndexOutOfRangeException`` () =
    fails [ "slice"; "axis 1"; "[3]" ] (fun () -> (v3 ()).[0..1, 0..1])
    fails [ "slice"; "axis 1"; "[3]" ] (fun () -> (v3 ()).[0, 0..1])

[<Fact>]
let ``P10 the C# Zeros of a negative size names Zeros, not full`` () =
    fails [ "Zeros:"; "[-1]" ] (fun () -> Tensor.Zeros(-1))

[<Fact>]
let ``P11 the C# Max, Min and Prod with an axis out of range name the member, not reduce_max`` () =
    let m = Tensor.zeros [| 2; 3 |]
    fails [ "Max: axis 5" ] (fun () -> m.Max(5))
    fails [ "Prod: axis 5" ] (fun () -> m.Prod(5))

[<Fact>]
let ``P12 indexing a scalar says how to read it`` () =
    fails [ "scalar"; "toScalar" ] (fun () -> (Tensor.scalar 1.0).[0])
