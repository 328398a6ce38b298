/// vmap composed with every transform, in any order and to any depth, against loops over the
/// examples; the API's axes, trees and errors.
module FunDiff.Tests.VmapTests

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private r = Random 20261203

/// A loop over axis 0: `f` of each slice, stacked along axis 0 (what vmap must equal).
let private loop (f: Tensor -> Tensor) (xs: Tensor) =
    Tensor.stack [ for i in 0 .. xs.Shape.[0] - 1 -> f (Tensor.index i xs) ]

let private w = Samples.W
let private f = Samples.scalar
let private g = Samples.vector

let private xs = randomTensor r -1.0 1.0 [| 5; 4 |]

[<Fact>]
let ``vmap of a function equals the loop over examples`` () =
    assertClose "vmap f" rounding (loop (fun x -> Tensor.reshape [||] (f x)) xs) (vmap f xs)
    assertClose "vmap g" rounding (loop g xs) (vmap g xs)

[<Fact>]
let ``vmap (grad f) gives per-example gradients`` () =
    assertClose "vmap (grad f)" rounding (loop (grad f) xs) (vmap (grad f) xs)

[<Fact>]
let ``grad of a sum over vmap is the sum of the examples' gradients`` () =
    let total (x: Tensor) =
        Tensor.sum (vmap f (Tensor.stack [ x; 2.0 * x; Tensor.sin x ]))

    let byLoop (x: Tensor) = f x + f (2.0 * x) + f (Tensor.sin x)
    let x = Tensor.index 0 xs
    assertClose "grad (sum (vmap f))" rounding (grad byLoop x) (grad total x)
    // the batch as the differentiated input: the gradient of each example's term
    let grads = grad (fun b -> Tensor.sum (vmap f b)) xs
    assertClose "grad over the batch" rounding (loop (grad f) xs) grads

[<Fact>]
let ``vmap (vmap f) equals a double loop`` () =
    let cube = randomTensor r -1.0 1.0 [| 2; 3; 4 |]
    assertClose "vmap (vmap g)" rounding (loop (loop g) cube) (vmap (vmap g) cube)

[<Fact>]
let ``jvp of vmap and vmap of jvp equal the loop of jvps`` () =
    let vs = randomTensor r -1.0 1.0 [| 5; 4 |]

    let expected =
        Tensor.stack [ for i in 0..4 -> snd (jvp g (Tensor.index i xs) (Tensor.index i vs)) ]

    let _, outer = jvp (vmap g) xs vs
    assertClose "jvp (vmap g)" rounding expected outer
    // one direction shared by every example: closed over
    let v = Tensor.index 0 vs
    let shared = Tensor.stack [ for i in 0..4 -> snd (jvp g (Tensor.index i xs) v) ]
    assertClose "vmap (fun x -> jvp g x v)" rounding shared (vmap (fun x -> snd (jvp g x v)) xs)

[<Fact>]
let ``vmap (hessian f) and vmap of hvp over many directions`` () =
    assertClose "vmap (hessian f)" rounding (loop (hessian f) xs) (vmap (hessian f) xs)
    let x = Tensor.index 0 xs
    let directions = randomTensor r -1.0 1.0 [| 6; 4 |]
    assertClose "vmap (hvp f x)" rounding (loop (hvp f x) directions) (vmap (hvp f x) directions)
    // the Hessian's columns are hvp of the basis
    assertClose "vmap (hvp f x) (eye)" rounding (hessian f x) (vmap (hvp f x) (Tensor.eye 4))

[<Fact>]
let ``vmap of jacfwd and jacrev, and jacobians of vmap`` () =
    assertClose "vmap (jacfwd g)" rounding (loop (jacfwd g) xs) (vmap (jacfwd g) xs)
    assertClose "vmap (jacrev g)" rounding (loop (jacrev g) xs) (vmap (jacrev g) xs)
    // the Jacobian of a batched map is block diagonal
    let j = jacrev (vmap g) xs
    Assert.Equal<int[]>([| 5; 3; 5; 4 |], j.Shape)

    let blocks =
        Tensor.stack
            [
                for i in 0..4 -> Tensor.index i (Tensor.transposeAxes [| 1; 0; 2 |] (Tensor.index i j))
            ]

    assertClose "diagonal blocks of jacrev (vmap g)" rounding (loop (jacrev g) xs) blocks
    assertClose "jacfwd (vmap g) = jacrev (vmap g)" rounding j (jacfwd (vmap g) xs)

[<Fact>]
let ``closed-over tracers of an outer vmap are per-example values of the inner one`` () =
    let a = randomTensor r -1.0 1.0 [| 3 |]
    let b = randomTensor r -1.0 1.0 [| 4 |]
    // outer product by two nested vmaps; each level sees its own batch
    let outer = vmap (fun x -> vmap (fun y -> x * y + Tensor.sin x) b) a

    let expected =
        Tensor.stack
            [
                for i in 0..2 -> Tensor.stack [ for j in 0..3 -> a.[i] * b.[j] + Tensor.sin a.[i] ]
            ]

    assertClose "nested vmap with a closure" rounding expected outer
    // perturbation confusion: d/dx of (x · d/dy (x·y)) is 2x, per example
    let confused =
        vmap (grad (fun x -> x * grad (fun y -> x * y) (Tensor.scalar 3.0))) a

    assertClose "nested grad under vmap" rounding (2.0 * a) confused

[<Fact>]
let ``vmapAxes maps any axis, negative axes count from the end`` () =
    let m = randomTensor r -1.0 1.0 [| 4; 5 |]

    let columns =
        Tensor.stack [ for j in 0..4 -> g (Tensor.index j (Tensor.transpose m)) ]

    assertClose "in axis 1" rounding columns (vmapAxes 1 0 g m)
    assertClose "in axis -1, out axis -1" rounding (Tensor.transpose columns) (vmapAxes -1 -1 g m)

[<Fact>]
let ``an output that does not depend on the batch is broadcast along it`` () =
    let y = vmap (fun _ -> Tensor.ofArray [| 1.0; 2.0 |]) xs
    Assert.Equal<int[]>([| 5; 2 |], y.Shape)
    assertClose "broadcast output" rounding (Tensor.stack [ for _ in 0..4 -> Tensor.ofArray [| 1.0; 2.0 |] ]) y

[<Fact>]
let ``a batch of one example`` () =
    let one = xs.[0..0, *]
    assertClose "vmap (grad f) of one" rounding (loop (grad f) one) (vmap (grad f) one)

[<Fact>]
let ``jacfwd and jacrev give the same Jacobian chunked and unchunked`` () =
    let x = Tensor.index 1 xs

    for chunk in [ 1; 2; 3; 4; 100 ] do
        assertClose (sprintf "jacfwdChunked %d" chunk) rounding (jacfwd g x) (jacfwdChunked chunk g x)
        assertClose (sprintf "jacrevChunked %d" chunk) rounding (jacrev g x) (jacrevChunked chunk g x)

    assertClose "jacfwd = jacrev" rounding (jacfwd g x) (jacrev g x)

[<Fact>]
let ``makeIR of vmap prints one batched program with no per-example loop`` () =
    let single = makeIR f (Tensor.index 0 xs)
    let batched = makeIR (vmap f) xs
    let text = string batched
    Assert.Contains("f64[5,4]", text)
    // one batched equation per equation of the example (plus the moves and broadcasts a batch
    // needs), never one per example
    Assert.True(
        batched.Equations.Length < 2 * single.Equations.Length,
        sprintf "%d batched equations for %d per example:\n%s" batched.Equations.Length single.Equations.Length text
    )

    assertClose "the program evaluates to vmap f" rounding (vmap f xs) (Program.eval batched [| xs |]).[0]

/// A model held in an F# record, for per-example gradients.
type private Model = { W: Tensor; B: Tensor }

[<Fact>]
let ``Tree.vmap (Tree.grad loss) gives per-example gradients of a record model`` () =
    let model =
        {
            W = randomTensor r -1.0 1.0 [| 3; 4 |]
            B = randomTensor r -1.0 1.0 [| 3 |]
        }

    let targets = randomTensor r -1.0 1.0 [| 5; 3 |]

    let loss (m: Model) (x: Tensor, t: Tensor) =
        Tensor.sum (Tensor.square (Tensor.tanh (Tensor.matmul m.W x + m.B) - t))

    let perExample =
        Tree.vmap (fun example -> Tree.grad (fun m -> loss m example) model) (xs, targets)

    Assert.Equal<int[]>([| 5; 3; 4 |], perExample.W.Shape)

    for i in 0..4 do
        let expected =
            Tree.grad (fun m -> loss m (Tensor.index i xs, Tensor.index i targets)) model

        assertClose (sprintf "example %d, W" i) rounding expected.W (Tensor.index i perExample.W)
        assertClose (sprintf "example %d, B" i) rounding expected.B (Tensor.index i perExample.B)

    // the same with the model passed and shared (JAX's in_axes=(None, 0))
    let shared =
        Tree.vmap2
            Shared
            (Along 0)
            (fun (m: Model) example -> Tree.grad (fun m -> loss m example) m)
            model
            (xs, targets)

    assertClose "vmap2 Shared (Along 0)" rounding perExample.W shared.W
    // per leaf: the targets mapped along axis 1
    let byLeaf =
        Tree.vmapLeaves
            (fun path -> if path.EndsWith "Item2" then Along 1 else Along 0)
            (fun example -> Tree.grad (fun m -> loss m example) model)
            (xs, Tensor.transpose targets)

    assertClose "vmapLeaves" rounding perExample.B byLeaf.B

[<Fact>]
let ``a batch tracer that escapes raises EscapedTracerException naming vmap`` () =
    assertTracerEscapes "vmap" id id vmap xs |> ignore

[<Fact>]
let ``reading a per-example value as a number raises ConcretizationException`` () =
    let e =
        Assert.Throws<ConcretizationException>(fun () ->
            vmap (fun x -> if Tensor.toScalar (Tensor.sum x) > 0.0 then x else -x) xs
            |> ignore)

    Assert.Contains("vmap", e.Message)
    Assert.Contains("Tensor.where", e.Message)

[<Fact>]
let ``mapped inputs of different batch sizes, and a missing axis, are shape errors`` () =
    let e =
        Assert.Throws<ShapeException>(fun () ->
            Tree.vmap (fun (a: Tensor, b: Tensor) -> a + b) (Tensor.zeros [| 3; 2 |], Tensor.zeros [| 4; 2 |])
            |> ignore)

    Assert.Contains("different batch sizes", e.Message)
    Assert.Contains("[3,2]", e.Message.Replace(" ", ""))
    let e2 = Assert.Throws<ShapeException>(fun () -> vmapAxes 2 0 g xs |> ignore)
    Assert.Contains("axis 2", e2.Message)

    let e3 =
        Assert.Throws<ShapeException>(fun () -> vmap g (Tensor.scalar 1.0) |> ignore)

    Assert.Contains("vmap", e3.Message)

[<Fact>]
let ``a shape error inside vmap names the per-example shapes`` () =
    let e =
        Assert.Throws<ShapeException>(fun () -> vmap (fun x -> Tensor.matmul w (Tensor.concat 0 [ x; x ])) xs |> ignore)

    Assert.Contains("vmap", e.Message)
    Assert.Contains("8", e.Message)

[<Fact>]
let ``a user primitive without a batch rule is evaluated once per example and stacked`` () =
    let softClip =
        Primitive.define
            "soft_clip_vmap"
            (fun xs -> Tensor.tanh xs.[0])
            (fun a -> a.[0])
            (fun _ ts y -> ts.[0] * (1.0 - y * y))
            None

    let apply x = Primitive.apply softClip [ x ]
    assertClose "vmap of a user primitive" rounding (Tensor.tanh xs) (vmap apply xs)

    assertClose
        "vmap (grad) of a user primitive"
        rounding
        (loop (grad (fun x -> Tensor.sum (apply x))) xs)
        (vmap (grad (fun x -> Tensor.sum (apply x))) xs)

[<Fact>]
let ``a user primitive with a batch rule is applied once to the whole batch`` () =
    let calls = ref 0

    // the batch rule applies the primitive itself: a cell filled once it exists
    let self: Primitive ref = ref null

    let softClip =
        Primitive.defineBatched
            "soft_clip_batched"
            (fun xs ->
                calls.Value <- calls.Value + 1
                Tensor.tanh xs.[0])
            (fun a -> a.[0])
            (fun _ ts y -> ts.[0] * (1.0 - y * y))
            None
            (fun xs axes -> Primitive.apply self.Value [ xs.[0] ], axes.[0].Value)

    self.Value <- softClip

    let apply x = Primitive.apply softClip [ x ]
    calls.Value <- 0
    assertClose "vmap of a batched user primitive" rounding (Tensor.tanh xs) (vmap apply xs)
    Assert.Equal(1, calls.Value)

    assertClose
        "vmap (grad) of it"
        rounding
        (loop (grad (fun x -> Tensor.sum (apply x))) xs)
        (vmap (grad (fun x -> Tensor.sum (apply x))) xs)

/// A two-layer MLP in an F# record (layers in a list, as a user might hold them).
type private Layer = { Weights: Tensor; Bias: Tensor }
type private Mlp = { Layers: Layer list }

[<Fact>]
let ``per-example gradients of an MLP held in a record equal a loop of Tree.grad`` () =
    let layer (inputs: int) (outputs: int) =
        {
            Weights = randomTensor r -0.5 0.5 [| inputs; outputs |]
            Bias = randomTensor r -0.5 0.5 [| outputs |]
        }

    let mlp = { Layers = [ layer 4 6; layer 6 3 ] }

    let labels =
        Tensor.oneHot 3 (Tensor.convert DType.Int64 (Tensor.ofArray [| 0.0; 2.0; 1.0; 1.0; 0.0 |]))

    let loss (m: Mlp) (x: Tensor, y: Tensor) =
        let hidden = Tensor.tanh (Tensor.matmul x m.Layers.[0].Weights + m.Layers.[0].Bias)
        let logits = Tensor.matmul hidden m.Layers.[1].Weights + m.Layers.[1].Bias
        -(Tensor.sum (y * Tensor.logSoftmax logits))

    let perExample =
        Tree.vmap (fun ex -> Tree.grad (fun m -> loss m ex) mlp) (xs, labels)

    for i in 0..4 do
        let expected =
            Tree.grad (fun m -> loss m (Tensor.index i xs, Tensor.index i labels)) mlp

        for k in 0..1 do
            assertClose
                (sprintf "example %d, layer %d weights" i k)
                rounding
                expected.Layers.[k].Weights
                (Tensor.index i perExample.Layers.[k].Weights)

            assertClose
                (sprintf "example %d, layer %d bias" i k)
                rounding
                expected.Layers.[k].Bias
                (Tensor.index i perExample.Layers.[k].Bias)

    // the batch gradient is the sum of the per-example ones
    let batch =
        Tree.grad (fun m -> Tensor.sum (Tree.vmap2 Shared (Along 0) loss m (xs, labels))) mlp

    assertClose
        "batch = Σ per-example"
        rounding
        batch.Layers.[0].Weights
        (Tensor.sumAxes [ 0 ] perExample.Layers.[0].Weights)

[<Fact>]
let ``binary primitives repeat an operand along leading axes exactly as if it were materialized`` () =
    let binaries =
        [
            FunDiff.Primitives.Arithmetic.addP
            FunDiff.Primitives.Arithmetic.subP
            FunDiff.Primitives.Arithmetic.mulP
            FunDiff.Primitives.Arithmetic.divP
            FunDiff.Primitives.Arithmetic.powP
            FunDiff.Primitives.Arithmetic.atan2P
            FunDiff.Primitives.Piecewise.maxP
            FunDiff.Primitives.Piecewise.minP
            FunDiff.Primitives.Logical.ltP
            FunDiff.Primitives.Logical.leP
            FunDiff.Primitives.Logical.gtP
            FunDiff.Primitives.Logical.geP
            FunDiff.Primitives.Logical.eqP
            FunDiff.Primitives.Logical.neP
        ]

    for prim in binaries do
        for bigShape, smallShape in
            [
                [| 5; 3 |], [| 3 |]
                [| 2; 4; 9 |], [| 4; 9 |]
                [| 2; 4; 9 |], [| 9 |]
                [| 3; 1 |], [| 1 |]
                [| 0; 3 |], [| 3 |]
            ] do
            let big = randomTensor r 0.5 2.0 bigShape
            let small = randomTensor r 0.5 2.0 smallShape
            let materialized = Tensor.broadcastTo bigShape small

            let bind a b =
                Interpreter.Bind1(prim, [| a; b |], Params.Empty)

            let label = sprintf "%s of %A and %A" prim.Name bigShape smallShape
            Assert.Equal<float[]>(values (bind big materialized), values (bind big small))
            Assert.Equal<float[]>(values (bind materialized big), values (bind small big))
            // the derivatives: the repeated operand's cotangent sums over the leading axes
            let comparison = List.contains prim.Name [ "lt"; "le"; "gt"; "ge"; "eq"; "ne" ]

            if not comparison then
                let g (s: Tensor) =
                    Tensor.sum (Tensor.convert Float64 (bind big s))

                let gm (s: Tensor) =
                    Tensor.sum (Tensor.convert Float64 (bind big (Tensor.broadcastTo bigShape s)))

                assertClose (label + ", grad") rounding (grad gm small) (grad g small)
