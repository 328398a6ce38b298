/// Functional index updates (`atSet`, `atAdd`: JAX's `x.at[i].set/add`) and boolean-mask
/// reading (`extract`, NumPy's `x[mask]`): values against hand-written arrays, duplicates,
/// negative indices, derivatives, vmap and jit, and the errors (a mask under jit included).
module FunDiff.Tests.IndexUpdateTests

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private i64 (xs: float list) =
    Tensor.convert Int64 (Tensor.ofArray (Array.ofList xs))

[<Fact>]
let ``atSet writes rows, the last of duplicate indices wins, negatives count from the end`` () =
    let x = Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0 |]

    let set =
        Tensor.atSet (i64 [ 1.0; -1.0; 1.0 ]) (Tensor.ofArray [| 10.0; 40.0; 20.0 |]) x

    Assert.Equal<float[]>([| 1.0; 20.0; 3.0; 40.0 |], Tensor.toArray set)
    // a scalar index and a scalar value broadcast over a row of a matrix
    let m = Tensor.reshape [| 2; 3 |] (Tensor.arange 6)

    let row =
        Tensor.atSet (Tensor.convert Int64 (Tensor.scalar 1.0)) (Tensor.scalar 7.0) m

    Assert.Equal<float[]>([| 0.0; 1.0; 2.0; 7.0; 7.0; 7.0 |], Tensor.toArray row)
    Assert.Equal<float[]>([| 1.0; 2.0; 3.0; 4.0 |], Tensor.toArray x) // x itself is unchanged

[<Fact>]
let ``atAdd accumulates duplicates`` () =
    let x = Tensor.ofArray [| 1.0; 2.0; 3.0 |]

    let added =
        Tensor.atAdd (i64 [ 0.0; 2.0; 0.0; -1.0 ]) (Tensor.ofArray [| 1.0; 10.0; 100.0; 1000.0 |]) x

    Assert.Equal<float[]>([| 102.0; 2.0; 1013.0 |], Tensor.toArray added)

[<Fact>]
let ``atMul, atMin and atMax fold duplicate updates in turn`` () =
    let x = Tensor.ofArray [| 2.0; 3.0; 4.0 |]
    let idx = i64 [ 0.0; 2.0; 0.0; -3.0 ]
    let v = Tensor.ofArray [| 5.0; 0.5; 7.0; 0.1 |]
    Assert.Equal<float[]>([| 2.0 * 5.0 * 7.0 * 0.1; 3.0; 2.0 |], Tensor.toArray (Tensor.atMul idx v x))
    Assert.Equal<float[]>([| 0.1; 3.0; 0.5 |], Tensor.toArray (Tensor.atMin idx v x))
    Assert.Equal<float[]>([| 7.0; 3.0; 4.0 |], Tensor.toArray (Tensor.atMax idx v x))
    // the product's derivative is exact with a zero update (nothing is divided)
    let zero = Tensor.ofArray [| 5.0; 0.5; 0.0; 0.1 |]
    let g = grad (fun v -> Tensor.sum (Tensor.atMul idx v x)) zero
    Assert.Equal<float[]>([| 0.0; 3.0 * 0.0 + 4.0; 2.0 * 5.0 * 0.1; 0.0 |], Tensor.toArray g)
    // under jit the indices are traced: one round per update, the same values
    let exact = { Relative = 1e-13; Absolute = 1e-13 }
    assertClose "jit atMax" exact (Tensor.atMax idx v x) (jit (fun x -> Tensor.atMax idx v x) x)

    let traced = Tree.jit (fun (i: Tensor, x: Tensor) -> Tensor.atMul i v x)

    assertClose "jit with traced indices" exact (Tensor.atMul idx v x) (traced (idx, x))

[<Fact>]
let ``gradients of index updates go to what was written and what was kept`` () =
    let x = Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0 |]
    let v = Tensor.ofArray [| 10.0; 20.0 |]
    let idx = i64 [ 2.0; 2.0 ]
    let w = Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0 |]
    // d/dx: zero where overwritten; d/dv: the weight at position 2 to the last update only
    let gx = grad (fun x -> Tensor.sum (w * Tensor.atSet idx v x)) x
    Assert.Equal<float[]>([| 1.0; 2.0; 0.0; 4.0 |], Tensor.toArray gx)
    let gv = grad (fun v -> Tensor.sum (w * Tensor.atSet idx v x)) v
    Assert.Equal<float[]>([| 0.0; 3.0 |], Tensor.toArray gv)
    let ga = grad (fun v -> Tensor.sum (w * Tensor.atAdd idx v x)) v
    Assert.Equal<float[]>([| 3.0; 3.0 |], Tensor.toArray ga)
    // finite differences through a smooth function of the updated array
    let r = Random 5

    let f (v: Tensor) =
        Tensor.sum (Tensor.sin (Tensor.atSet (i64 [ 0.0; 3.0 ]) v x * 2.0))

    let dv = randomTensor r -1.0 1.0 v.Shape
    assertClose "jvp" finiteDifference (centralDifference f v dv) (snd (jvp f v dv))

[<Fact>]
let ``index updates under vmap and jit equal the loops and the eager values`` () =
    let r = Random 7
    let xs = randomTensor r -1.0 1.0 [| 3; 5 |]
    let idx = i64 [ 4.0; 0.0; 4.0 ]
    let v = Tensor.ofArray [| 1.0; 2.0; 3.0 |]
    let f (x: Tensor) = Tensor.atSet idx v x * 2.0
    assertClose "vmap" rounding (Tensor.stack [ for k in 0..2 -> f xs.[k] ]) (vmap f xs)
    let exact = { Relative = 1e-13; Absolute = 1e-13 }
    assertClose "jit" exact (f xs.[0]) (jit f xs.[0])

    let g (x: Tensor) =
        Tensor.sum (Tensor.atAdd idx (x.[0..2]) x ** 2.0)

    assertClose "jit grad" exact (grad g xs.[1]) (jit (grad g) xs.[1])

[<Fact>]
let ``extract reads where a mask is true, eagerly and under grad, and refuses jit`` () =
    let x = Tensor.ofArray [| 1.0; -2.0; 3.0; -4.0 |]
    let mask = Tensor.gt x (Tensor.scalar 0.0)
    Assert.Equal<float[]>([| 1.0; 3.0 |], Tensor.toArray (Tensor.extract mask x))
    // a mask over the leading axis selects rows
    let m = Tensor.reshape [| 2; 2 |] x
    let rows = Tensor.extract (Tensor.ofArray [| 0.0; 1.0 |] |> Tensor.convert Bool) m
    Assert.Equal<int[]>([| 1; 2 |], rows.Shape)
    Assert.Equal<float[]>([| 3.0; -4.0 |], Tensor.toArray rows)
    // differentiable in x with the mask fixed
    let g = grad (fun y -> Tensor.sum (Tensor.extract mask y ** 2.0)) x
    Assert.Equal<float[]>([| 2.0; 0.0; 6.0; 0.0 |], Tensor.toArray g)

    let e =
        Assert.Throws<ConcretizationException>(fun () ->
            jit (fun y -> Tensor.extract (Tensor.gt y (Tensor.scalar 0.0)) y) x |> ignore)

    Assert.Contains("extract", e.Message)
    Assert.Contains("Tensor.where", e.Message)

[<Fact>]
let ``bad index updates raise naming the op`` () =
    let x = Tensor.ofArray [| 1.0; 2.0 |]

    Assert.Contains(
        "atSet",
        (Assert.Throws<ShapeException>(fun () -> Tensor.atSet (i64 [ 2.0 ]) (Tensor.scalar 1.0) x |> ignore)).Message
    )

    Assert.Contains(
        "atAdd",
        (Assert.Throws<ShapeException>(fun () -> Tensor.atAdd (i64 [ -3.0 ]) (Tensor.scalar 1.0) x |> ignore)).Message
    )

    Assert.Contains("extract", (Assert.Throws<ShapeException>(fun () -> Tensor.extract x x |> ignore)).Message)
