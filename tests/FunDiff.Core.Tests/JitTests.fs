/// jit (first slice): the traced program equals eager evaluation under every transform, in
/// any order; the cache traces once per signature and says why it retraced; errors.
module FunDiff.Tests.JitTests

open System
open System.Threading.Tasks
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private r = Random 20261215
let private w = Samples.W
let private f = Samples.scalar
let private g = Samples.vector
let private x = randomTensor r -1.0 1.0 [| 4 |]
let private v = randomTensor r -1.0 1.0 [| 4 |]
let private xs = randomTensor r -1.0 1.0 [| 5; 4 |]

/// jit's results agree with eager ones to 1e-13 (the same kernels in the same order: in
/// practice bit for bit).
let private exact = { Relative = 1e-13; Absolute = 1e-14 }

[<Fact>]
let ``jit f equals f`` () =
    assertClose "jit f" exact (f x) (jit f x)
    assertClose "jit g" exact (g x) (jit g x)

[<Fact>]
let ``jit composes with grad, jvp, vjp, hvp and hessian in both orders`` () =
    assertClose "jit (grad f)" exact (grad f x) (jit (grad f) x)
    assertClose "grad (jit f)" exact (grad f x) (grad (jit f) x)

    let secondOrder (h: Tensor -> Tensor) =
        grad (fun x -> Tensor.sum (grad (fun y -> Tensor.sum (h y)) x)) x

    assertClose "grad (grad (jit g))" exact (secondOrder g) (secondOrder (jit g))
    assertClose "jvp (jit g)" exact (snd (jvp g x v)) (snd (jvp (jit g) x v))
    assertClose "jit (hvp f x)" exact (hvp f x v) (jit (hvp f x) v)
    assertClose "hvp (jit f)" exact (hvp f x v) (hvp (jit f) x v)
    assertClose "hessian (jit f)" exact (hessian f x) (hessian (jit f) x)
    assertClose "jacfwd (jit g)" exact (jacfwd g x) (jacfwd (jit g) x)
    assertClose "jacrev (jit g)" exact (jacrev g x) (jacrev (jit g) x)
    let _, pullback = vjp (jit g) x
    let u = randomTensor r -1.0 1.0 [| 3 |]
    assertClose "vjp (jit g)" exact ((snd (vjp g x)) u) (pullback u)

[<Fact>]
let ``jit composes with vmap in both orders`` () =
    assertClose "vmap (jit f)" exact (vmap f xs) (vmap (jit f) xs)
    assertClose "jit (vmap (grad f))" exact (vmap (grad f) xs) (jit (vmap (grad f)) xs)
    assertClose "vmap (jit (grad f))" exact (vmap (grad f) xs) (vmap (jit (grad f)) xs)

    assertClose
        "grad (sum (vmap (jit f)))"
        exact
        (grad (fun b -> Tensor.sum (vmap f b)) xs)
        (grad (fun b -> Tensor.sum (vmap (jit f) b)) xs)

[<Fact>]
let ``under grad, jit's tangent work is one linear jit equation`` () =
    let _, linear = linearize (jit g) x
    // linearize's program is what grad transposes: the jit equation's JVP is itself a jit
    let program = makeIR (fun v -> linear v) v
    let names = [ for e in program.Equations -> e.Primitive.Name ]
    Assert.Equal<string list>([ "jit" ], names)

    match program.Equations.[0].Params.["body"] with
    | Closed(:? ClosedProgram as body) -> Assert.Equal("jit_jvp", body.Name)
    | other -> failwithf "the body param is %O" other

    Assert.Contains("{ lambda", string program) // the body prints inside the equation

[<Fact>]
let ``makeIR of jit f shows one jit equation whose body is f's program`` () =
    let program = makeIR (jit f) x
    Assert.Equal(1, program.Equations.Length)
    Assert.Equal("jit", program.Equations.[0].Primitive.Name)

[<Fact>]
let ``a jitted function traces once per signature and says why it retraced`` () =
    let traced = jitted (fun x -> Tensor.sin x * 2.0)
    traced.Invoke(Tensor.ones [| 3 |]) |> ignore
    traced.Invoke(Tensor.zeros [| 3 |]) |> ignore
    Assert.Equal(1, traced.TraceCount)
    Assert.Equal("the first call", traced.LastRetrace)
    let y = traced.Invoke(Tensor.ones [| 4 |])
    Assert.Equal(2, traced.TraceCount)
    Assert.Equal("input 0 changed f64[3] -> f64[4]", traced.LastRetrace)
    assertClose "after the retrace" exact (Tensor.sin (Tensor.ones [| 4 |]) * 2.0) y
    traced.Invoke(Tensor.ones [| 3 |]) |> ignore
    Assert.Equal(2, traced.TraceCount)

[<Fact>]
let ``concurrent first calls on 8 threads trace once and agree`` () =
    let calls = ref 0

    let traced =
        jitted (fun x ->
            Threading.Interlocked.Increment(&calls.contents) |> ignore
            Threading.Thread.Sleep 20
            Tensor.tanh x + x)

    let results = Array.zeroCreate 8
    Parallel.For(0, 8, fun i -> results.[i] <- traced.Invoke x) |> ignore
    Assert.Equal(1, traced.TraceCount)
    Assert.Equal(1, calls.Value)

    for y in results do
        Assert.Equal<float[]>(values results.[0], values y)

[<Fact>]
let ``values closed over are constants of the program; tracers closed over are not kept`` () =
    let scale = Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0 |]
    let traced = jitted (fun x -> x * scale)
    assertClose "closure" exact (x * scale) (traced.Invoke x)
    // the closed-over value of an enclosing grad differs per call: traced every time
    let outer (a: Tensor) =
        let inner = jitted (fun x -> x * a)
        Tensor.sum (inner.Invoke x)

    assertClose "grad through a jit closing over its variable" exact x (grad outer (Tensor.ones [| 4 |]))

[<Fact>]
let ``reading a value inside jit raises ConcretizationException naming jit`` () =
    let e =
        Assert.Throws<ConcretizationException>(fun () ->
            jit (fun x -> if Tensor.toScalar (Tensor.sum x) > 0.0 then x else -x) x
            |> ignore)

    Assert.Contains("jit", e.Message)
    Assert.Contains("Tensor.where", e.Message)

[<Fact>]
let ``a tracer escaping from jit raises EscapedTracerException naming jit`` () =
    assertTracerEscapes "jit" id id jit x |> ignore

[<Fact>]
let ``a shape error inside jit names it and is not cached`` () =
    let traced = jitted (fun x -> Tensor.matmul w x)

    Assert.Throws<ShapeException>(fun () -> traced.Invoke(Tensor.ones [| 5 |]) |> ignore)
    |> ignore

    Assert.Throws<ShapeException>(fun () -> traced.Invoke(Tensor.ones [| 5 |]) |> ignore)
    |> ignore

    Assert.Equal(2, traced.TraceCount)
    assertClose "then a good call" exact (Tensor.matmul w x) (traced.Invoke x)

type private Layer = { Weights: Tensor; Bias: Tensor }

[<Fact>]
let ``Tree.jit of a training step over a record model equals the eager step`` () =
    let layer (inputs: int) (outputs: int) =
        {
            Weights = randomTensor r -0.5 0.5 [| inputs; outputs |]
            Bias = randomTensor r -0.5 0.5 [| outputs |]
        }

    let model = [ layer 4 6; layer 6 3 ]

    let labels =
        Tensor.oneHot 3 (Tensor.convert DType.Int64 (Tensor.ofArray [| 0.0; 2.0; 1.0; 1.0; 0.0 |]))

    let loss (m: Layer list) =
        let hidden = Tensor.tanh (Tensor.matmul xs m.[0].Weights + m.[0].Bias)
        let logits = Tensor.matmul hidden m.[1].Weights + m.[1].Bias
        -(Tensor.mean (Tensor.sumAxes [ 1 ] (labels * Tensor.logSoftmax logits)))

    let step (m: Layer list) =
        Tree.sub m (Tree.scale 0.1 (Tree.grad loss m))

    let jitted = Tree.jit step
    let eager1, compiled1 = step model, jitted model
    let eager2, compiled2 = step eager1, jitted compiled1

    for k in 0..1 do
        assertClose (sprintf "step 1, layer %d" k) exact eager1.[k].Weights compiled1.[k].Weights
        assertClose (sprintf "step 2, layer %d" k) exact eager2.[k].Weights compiled2.[k].Weights
        assertClose (sprintf "step 2, bias %d" k) exact eager2.[k].Bias compiled2.[k].Bias

    // another structure (one layer more) is traced apart
    let lossOf3 (m: Layer list) =
        Tensor.sum (m |> List.map (fun l -> Tensor.sum l.Bias) |> Tensor.stack)

    let grads = Tree.jit (Tree.grad lossOf3)
    let g2 = grads [ layer 2 2; layer 2 2 ]
    let g3 = grads [ layer 2 2; layer 2 2; layer 2 3 ]
    Assert.Equal(2, g2.Length)
    Assert.Equal(3, g3.Length)
    assertClose "bias gradient is ones" exact (Tensor.ones [| 3 |]) g3.[2].Bias

[<Fact>]
let ``bodies compare by structure, so CSE merges one function jitted twice`` () =
    let h (x: Tensor) = Tensor.sin x * 2.0
    // two jitted objects of one function trace two bodies, equal in structure
    let first, second = jit h, jit h
    let p = Compiler.Passes.optimize (makeIR (fun x -> first x + second x) x)
    let jits = p.EquationArray |> Array.filter (fun e -> e.Primitive.Name = "jit")
    Assert.Equal(1, jits.Length)
    assertClose "merged" exact (h x + h x) (jit (fun x -> first x + second x) x)

    // a different literal, primitive or shape is a different body
    let paramsOf (f: Tensor -> Tensor) (x: Tensor) = (makeIR (jit f) x).Equations.[0].Params

    Assert.Equal(paramsOf h x, paramsOf h x)
    Assert.NotEqual(paramsOf h x, paramsOf (fun x -> Tensor.sin x * 3.0) x)
    Assert.NotEqual(paramsOf h x, paramsOf (fun x -> Tensor.cos x * 2.0) x)
    Assert.NotEqual(paramsOf h x, paramsOf h xs)
    Assert.Equal((paramsOf h x).GetHashCode(), (paramsOf h x).GetHashCode())
