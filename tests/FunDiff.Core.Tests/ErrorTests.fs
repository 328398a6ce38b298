/// Bad input raises a FunDiffException subtype whose message names the operation, the shapes
/// and a fix.
module FunDiff.Tests.ErrorTests

open Xunit
open FunDiff

[<Fact>]
let ``shapes that cannot broadcast raise a ShapeException naming both shapes`` () =
    let e =
        Assert.Throws<ShapeException>(fun () ->
            Tensor.ofArray [| 1.0; 2.0; 3.0 |] + Tensor.ofArray [| 1.0; 2.0 |] |> ignore)

    Assert.Contains("add", e.Message)
    Assert.Contains("[3]", e.Message)
    Assert.Contains("[2]", e.Message)

[<Fact>]
let ``grad of a non-scalar function raises NonScalarOutputException with the shape`` () =
    let e =
        Assert.Throws<NonScalarOutputException>(fun () ->
            grad (fun x -> x * 2.0) (Tensor.ofArray [| 1.0; 2.0 |]) |> ignore)

    Assert.Contains("grad", e.Message)
    Assert.Contains("[2]", e.Message)

[<Fact>]
let ``a bad axis raises a ShapeException naming the axis and the rank`` () =
    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.sumAxes [ 2 ] (Tensor.zeros [| 2; 2 |]) |> ignore)

    Assert.Contains("axis 2", e.Message)
    Assert.Contains("rank 2", e.Message)

[<Fact>]
let ``an out-of-range index names the index, the axis and its size`` () =
    let e = Assert.Throws<ShapeException>(fun () -> (Tensor.arange 3).[5] |> ignore)
    Assert.Contains("index 5 is out of range for axis 0 of size 3", e.Message)

[<Fact>]
let ``a reshape to a different size names both shapes`` () =
    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.reshape [| 4 |] (Tensor.zeros [| 2; 3 |]) |> ignore)

    Assert.Contains("[2, 3]", e.Message)
    Assert.Contains("[4]", e.Message)

[<Fact>]
let ``stacking tensors of different shapes raises a ShapeException`` () =
    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.stack [ Tensor.zeros [| 2 |]; Tensor.zeros [| 3 |] ] |> ignore)

    Assert.Contains("[2]", e.Message)
    Assert.Contains("[3]", e.Message)

[<Fact>]
let ``a jvp tangent of the wrong shape raises a ShapeException`` () =
    let e =
        Assert.Throws<ShapeException>(fun () -> jvp sin (Tensor.zeros [| 2 |]) (Tensor.zeros [| 3 |]) |> ignore)

    Assert.Contains("jvp", e.Message)

[<Fact>]
let ``a vjp cotangent of the wrong shape raises a ShapeException`` () =
    let _, pullback = vjp sin (Tensor.zeros [| 2 |])

    Assert.Throws<ShapeException>(fun () -> pullback (Tensor.zeros [| 3 |]) |> ignore)
    |> ignore

[<Fact>]
let ``differentiating with respect to an integer tensor raises a TransformException`` () =
    let e =
        Assert.Throws<TransformException>(fun () ->
            grad Tensor.sum (Tensor.convert Int64 (Tensor.ofArray [| 1.0 |])) |> ignore)

    Assert.Contains("i64", e.Message)

[<Fact>]
let ``toScalar of a non-scalar tensor names its shape`` () =
    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.toScalar (Tensor.zeros [| 2; 2 |]) |> ignore)

    Assert.Contains("[2, 2]", e.Message)

[<Fact>]
let ``every error derives from FunDiffException and reaches the caller unwrapped`` () =
    let e =
        Record.Exception(fun () -> Tensor.sumAxes [ 5 ] (Tensor.zeros [| 2 |]) |> ignore)

    Assert.IsAssignableFrom<FunDiffException>(e) |> ignore
    Assert.IsType<ShapeException>(e) |> ignore
