/// sort, argsort, topK, searchsorted and takeAlongAxis: against Array.sort and NumPy's
/// documented results, NaN placement and ties, gradients, vmap and jit, errors. (The laws of
/// PrimitiveLaws, VmapLaws and JitLaws check argsort and searchsorted as primitives.)
module FunDiff.Tests.SortingTests

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private r = Random 20261204

/// `x` with `axis` swapped with the last one (its lanes along `axis` become rows).
let private toLast (axis: int) (x: Tensor) =
    let last = x.Rank - 1

    Tensor.transposeAxes
        (Array.init x.Rank (fun k ->
            if k = axis then last
            elif k = last then axis
            else k))
        x

[<Fact>]
let ``sort agrees with Array.sort along every axis and argsort is its permutation`` () =
    for shape in [ [| 7 |]; [| 3; 5 |]; [| 2; 4; 3 |] ] do
        let x = randomTensor r -1.0 1.0 shape

        for axis in 0 .. shape.Length - 1 do
            let sorted = Tensor.sortAxis axis x
            let order = Tensor.argsortAxis axis x
            Assert.Equal(Int64, order.DType)
            // every lane along the axis, against Array.sort
            let moved = Tensor.toArray (toLast axis x)
            let movedSorted = Tensor.toArray (toLast axis sorted)
            let n = shape.[axis]

            for lane in 0 .. moved.Length / n - 1 do
                let expected = Array.sort moved.[lane * n .. lane * n + n - 1]
                Assert.Equal<float[]>(expected, movedSorted.[lane * n .. lane * n + n - 1])

            assertClose "x at argsort" rounding sorted (Tensor.takeAlongAxis axis order x)

[<Fact>]
let ``NaN sorts last, ties keep their order, topK takes the largest first`` () =
    let x = Tensor.ofArray [| 3.0; nan; 1.0; 3.0; -2.0; 1.0 |]
    Assert.Equal<float[]>([| 4.0; 2.0; 5.0; 0.0; 3.0; 1.0 |], Tensor.toArray (Tensor.argsort x))
    let sorted = Tensor.toArray (Tensor.sort x)
    Assert.Equal<float[]>([| -2.0; 1.0; 1.0; 3.0; 3.0 |], sorted.[..4])
    Assert.True(Double.IsNaN sorted.[5])
    let values, indices = Tensor.topK 3 x
    Assert.Equal<float[]>([| 3.0; 3.0; 1.0 |], Tensor.toArray values)
    // of equal elements the lower index first
    Assert.Equal<float[]>([| 0.0; 3.0; 2.0 |], Tensor.toArray indices)
    Assert.Equal(Int64, indices.DType)
    // an int64 tensor sorts as int64
    let i = Tensor.convert Int64 (Tensor.ofArray [| 5.0; -1.0; 2.0 |])
    Assert.Equal(Int64, (Tensor.sort i).DType)
    Assert.Equal<float[]>([| -1.0; 2.0; 5.0 |], Tensor.toArray (Tensor.sort i))

[<Fact>]
let ``searchsorted inserts before (left) or after (right) equal elements, NaN at the end`` () =
    let a = Tensor.ofArray [| 1.0; 2.0; 2.0; 3.0; 5.0 |]
    let v = Tensor.ofArray [| 0.0; 2.0; 2.5; 5.0; 9.0; nan |]
    Assert.Equal<float[]>([| 0.0; 1.0; 3.0; 4.0; 5.0; 5.0 |], Tensor.toArray (Tensor.searchsorted a v))
    Assert.Equal<float[]>([| 0.0; 3.0; 3.0; 5.0; 5.0; 5.0 |], Tensor.toArray (Tensor.searchsortedRight a v))
    let grid = Tensor.reshape [| 2; 3 |] v
    Assert.Equal<int[]>([| 2; 3 |], (Tensor.searchsorted a grid).Shape)

[<Fact>]
let ``the gradient of sort and topK sends each element's cotangent back to where it came from`` () =
    let x = Tensor.ofArray [| 0.3; -1.2; 2.0; 0.7 |]
    let w = Tensor.ofArray [| 1.0; 10.0; 100.0; 1000.0 |]
    // sorted: -1.2, 0.3, 0.7, 2.0 (from 1, 0, 3, 2): d/dx of Σ w·sort x puts w back in place
    let g = grad (fun x -> Tensor.sum (w * Tensor.sort x)) x
    Assert.Equal<float[]>([| 10.0; 1.0; 1000.0; 100.0 |], Tensor.toArray g)

    let g2 =
        grad (fun x -> Tensor.sum (fst (Tensor.topK 2 x) * Tensor.ofArray [| 1.0; 5.0 |])) x

    Assert.Equal<float[]>([| 0.0; 0.0; 1.0; 5.0 |], Tensor.toArray g2)
    // second order: sort is piecewise linear, its Hessian zero
    let h = hessian (fun x -> Tensor.sum (w * Tensor.sort x)) x
    Assert.True(Tensor.toArray h |> Array.forall ((=) 0.0))
    // finite differences on a smooth function of the sorted values
    let f (x: Tensor) =
        Tensor.sum (Tensor.sin (Tensor.sort x) * w)

    let v = randomTensor r -1.0 1.0 x.Shape
    assertClose "jvp" finiteDifference (centralDifference f x v) (snd (jvp f x v))

[<Fact>]
let ``sort, topK and searchsorted under vmap and jit equal the loops and eager values`` () =
    let xs = randomTensor r -1.0 1.0 [| 4; 6 |]
    let loop = Tensor.stack [ for k in 0..3 -> Tensor.sort xs.[k] ]
    assertClose "vmap sort" rounding loop (vmap Tensor.sort xs)

    assertClose
        "vmap topK"
        rounding
        (Tensor.stack [ for k in 0..3 -> fst (Tensor.topK 2 xs.[k]) ])
        (vmap (Tensor.topK 2 >> fst) xs)

    let a = Tensor.ofArray [| -0.5; 0.0; 0.5 |]
    assertClose "vmap searchsorted" rounding (Tensor.searchsorted a xs) (vmap (Tensor.searchsorted a) xs)
    let exact = { Relative = 1e-13; Absolute = 1e-13 }
    assertClose "jit sort" exact (Tensor.sort xs) (jit Tensor.sort xs)

    let g (x: Tensor) =
        Tensor.sum (Tensor.sort x * Tensor.arange 6)

    assertClose "jit grad" exact (grad g xs.[0]) (jit (grad g) xs.[0])

[<Fact>]
let ``bad arguments raise ShapeException naming the op`` () =
    let x = Tensor.ofArray [| 1.0; 2.0 |]
    let m = Tensor.ones [| 2; 2 |]
    Assert.Contains("topK", (Assert.Throws<ShapeException>(fun () -> Tensor.topK 3 x |> ignore)).Message)

    Assert.Contains(
        "searchsorted",
        (Assert.Throws<ShapeException>(fun () -> Tensor.searchsorted m x |> ignore)).Message
    )

    Assert.Contains("argsort", (Assert.Throws<ShapeException>(fun () -> Tensor.argsortAxis 2 x |> ignore)).Message)

    Assert.Contains(
        "takeAlongAxis",
        (Assert.Throws<ShapeException>(fun () -> Tensor.takeAlongAxis 0 (Tensor.convert Int64 m) x |> ignore)).Message
    )
