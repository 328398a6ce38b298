/// jit's fused loops: which equations `Fusion.plan` groups (shown on real programs), that a
/// fused program computes what eager evaluation computes at sizes around the tile length, and
/// that a steady-state call of a fused program allocates little more than its outputs.
module FunDiff.Tests.FusionTests

open System
open Xunit
open FunDiff
open FunDiff.Compiler
open FunDiff.Tests.Harness

let private rosenbrock (x: Tensor) =
    let head = Tensor.slice 0 (x.Size - 1) x
    let tail = Tensor.slice 1 x.Size x
    Tensor.sum (100.0 * (tail - head ** 2.0) ** 2.0 + (1.0 - head) ** 2.0)

let private vector (n: int) =
    Tensor.ofArray (Array.init n (fun i -> 0.5 + 0.37 * Math.Sin(float i)))

/// The primitive names of each item of the plan: one list per loop, a singleton per equation.
let private grouping (p: Program) =
    let plan = Fusion.plan p

    [
        for item in plan.Items do
            match item with
            | Fusion.Single i -> yield [ p.EquationArray.[i].Primitive.Name ]
            | Fusion.Fused g -> yield [ for (i, _) in plan.Groups.[g].Members -> p.EquationArray.[i].Primitive.Name ]
    ]

/// The pad primitive (its public op comes with the NumPy-breadth issue).
let private pad (low: int list) (high: int list) (x: Tensor) =
    Interpreter.Bind1(
        Primitives.Structural.padP,
        [| x |],
        Params([| "low", Param.Ints(Array.ofList low); "high", Param.Ints(Array.ofList high) |])
    )

let private optimized (f: Tensor -> Tensor) (x: Tensor) = Passes.optimize (makeIR f x)

[<Fact>]
let ``Rosenbrock is one loop that reads its slices in place and ends in its sum`` () =
    let p = optimized rosenbrock (vector 10)

    Assert.Equal<string list list>(
        [
            [
                "slice"
                "slice"
                "pow_const"
                "sub"
                "pow_const"
                "mul"
                "sub"
                "pow_const"
                "add"
                "reduce_sum"
            ]
        ],
        grouping p
    )

[<Fact>]
let ``the gradient of Rosenbrock is a loop over the slices and a loop over the pads`` () =
    let groups = grouping (optimized (grad rosenbrock) (vector 10))
    let loops = groups |> List.filter (fun g -> g.Length > 1)
    Assert.Equal(2, loops.Length)
    // the pads read the first loop's results as shifted arrays, inside the second loop
    Assert.Equal<string list>([ "pad"; "pad"; "sub" ], loops.[1])
    Assert.Contains("mul", loops.[0])

[<Fact>]
let ``lowered tags each fused equation with its loop and lists the loops`` () =
    let shown = lowered (grad rosenbrock) (vector 10)
    Assert.Equal(2, shown.Loops.Length)
    let text = string shown
    Assert.Contains("-- loop 1", text)
    Assert.Contains("-- loop 2", text)
    Assert.Contains("loop 2 over f64[10]", text)
    // the slices are windows read in place by loop 1; the pads, shifted reads of loop 2
    for line in text.Split('\n') do
        if line.Contains "= slice" then
            Assert.Contains("-- loop 1", line)

        if line.Contains "= pad" then
            Assert.Contains("-- loop 2", line)

[<Fact>]
let ``a loop with one pass over the arrays is dissolved into its kernel`` () =
    let groups = grouping (optimized (fun x -> Tensor.exp x) (vector 10))
    Assert.Equal<string list list>([ [ "exp" ] ], groups)

[<Fact>]
let ``int64 arithmetic and matrix products are not fused`` () =
    let f (x: Tensor) =
        let i = Tensor.convert Int64 x
        Tensor.convert Float64 (i + i * i) + Tensor.sin x

    // the int64 mul and add run alone; only the float64 sin and add form a loop
    let groups = grouping (optimized f (vector 6))

    Assert.Equal<string list list>(
        [
            [ "convert_element_type" ]
            [ "mul" ]
            [ "add" ]
            [ "convert_element_type" ]
            [ "sin"; "add" ]
        ],
        groups
    )

    let m = Tensor.ofArray2D (Array2D.init 3 3 (fun i j -> float (i + 2 * j)))

    let g (a: Tensor) =
        Tensor.matmul (Tensor.tanh a * 2.0) a + 1.0

    let groups = grouping (optimized g m)
    Assert.Contains([ "dot_general" ], groups)

/// Sizes around the tile length (and below the kernels' small-array cut-off), and one past
/// the size from which outputs are streamed with non-temporal stores (Stores.isLarge).
let private sizes =
    [
        1
        2
        7
        8
        9
        511
        512
        513
        1024
        1537
        10_007
        Backend.Stores.NonTemporalElements + 3
    ]

let private agrees (what: string) (f: Tensor -> Tensor) (x: Tensor) =
    let eager = f x
    let fused = (jit f) x
    Assert.Equal<int[]>(eager.Shape, fused.Shape)
    assertClose (sprintf "%s at n = %d" what x.Size) { Relative = 1e-13; Absolute = 1e-13 } eager fused

[<Fact>]
let ``fused programs agree with eager evaluation across tile boundaries`` () =
    for n in sizes do
        let x = vector n
        let y = Tensor.ofArray (Array.init n (fun i -> Math.Cos(float i)))
        agrees "Rosenbrock" rosenbrock (vector (n + 1))
        agrees "grad Rosenbrock" (grad rosenbrock) (vector (n + 1))
        agrees "tanh x * y + x" (fun x -> Tensor.tanh x * y + x) x
        agrees "grad of sum (tanh x * y + x)" (grad (fun x -> Tensor.sum (Tensor.tanh x * y + x))) x
        // values read outside their loop, a repeated scalar as a result, two sums in one loop
        agrees
            "escaping values"
            (fun x ->
                let a = Tensor.sin x * 3.0
                let b = Tensor.exp (a - x)
                Tensor.stack [ a; b; Tensor.sum a * b; Tensor.sum (a * b) + x ])
            x

        // windows (slices, reshapes) read in place: of an input, of an array a loop passes on,
        // and read outside their loop too (concatenate binds them as views)
        agrees
            "windows"
            (fun x ->
                let a = Tensor.sin x * 2.0
                let b = Tensor.slice 1 x.Size (Tensor.exp a + x)
                let c = Tensor.reshape [| 1; b.Size |] (b * b + Tensor.slice 0 (x.Size - 1) x)
                Tensor.concat 0 [ Tensor.reshape [| b.Size |] c; b; a ])
            x

        agrees "max, min and pow" (fun x -> Tensor.maximum (x * x) (Tensor.minimum y 0.2) ** 3.0 - Tensor.pow x y) x

[<Fact>]
let ``a pad along the leading axis of a matrix fuses as a shift, others run their kernel`` () =
    for rows in [ 1; 3; 200 ] do
        let x =
            Tensor.ofArray2D (Array2D.init rows 5 (fun i j -> Math.Sin(float (i * 5 + j))))

        let leading (x: Tensor) =
            let a = pad [ 2; 0 ] [ 1; 0 ] (Tensor.tanh x * 2.0)
            let b = pad [ 0; 0 ] [ 3; 0 ] (Tensor.exp x + 1.0)
            a * b - a

        agrees "leading-axis pads" leading x

        let inner (x: Tensor) =
            let a = pad [ 0; 1 ] [ 0; 1 ] (Tensor.tanh x * 2.0)
            a * a + 1.0

        agrees "inner-axis pad" inner x

[<Fact>]
let ``one-number values of a loop are computed once and stay uniform`` () =
    let f (x: Tensor) =
        // broadcasts of a scalar staged inside the trace
        let ones = Tensor.broadcastTo x.Shape (Tensor.scalar 1.0)
        let scaled = ones * 4.0
        (scaled + 1.0, x * scaled + ones)

    let x = vector 600
    let a, b = (Tree.jit f) x
    let ea, eb = f x
    assertClose "uniform result" rounding ea a
    assertClose "array result" rounding eb b

/// The fewest bytes one of five steady-state calls allocates on this thread.
let private steadyBytes (f: Tensor -> Tensor) (x: Tensor) =
    for _ in 1..5 do
        f x |> ignore

    [ 1..5 ]
    |> List.map (fun _ ->
        let before = GC.GetAllocatedBytesForCurrentThread()
        f x |> ignore
        GC.GetAllocatedBytesForCurrentThread() - before)
    |> List.min

[<Fact>]
let ``a steady-state fused call allocates little beyond its output`` () =
    let n = 100_000
    let y = Tensor.ofArray (Array.init n (fun i -> Math.Cos(float i)))
    let bytes = steadyBytes (jit (fun x -> Tensor.tanh x * y + x)) (vector n)
    // the output's 800 KB at most (0 when the pool hands back a buffer), plus a few objects
    let bound = int64 n * 8L + 4096L
    Assert.True(bytes <= bound, sprintf "a call allocated %d bytes; the bound is %d" bytes bound)

[<Fact>]
let ``arrays passed between fused loops live in the program's buffers, not fresh ones`` () =
    // loop 1 writes two arrays only loop 2 (the pads) reads: the buffer plan keeps them
    let n = 100_000
    let bytes = steadyBytes (jit (grad rosenbrock)) (vector n)
    let bound = int64 n * 8L + 4096L

    Assert.True(
        bytes <= bound,
        sprintf "a gradient call allocated %d bytes; the output alone is %d, the bound %d" bytes (n * 8) bound
    )

    // and the values stay right call after call (the buffers are overwritten each time)
    let g = jit (grad rosenbrock)

    for k in 1..3 do
        let x = vector (n + k)
        agrees (sprintf "grad Rosenbrock, call %d" k) (grad rosenbrock) x
        assertClose "jitted again" { Relative = 1e-13; Absolute = 1e-13 } (grad rosenbrock x) (g x)
