/// The BenchmarkDotNet classes: the same workloads as the quick runner, for precise figures
/// (run without `quick`). Each class puts a workload beside its baseline so that BenchmarkDotNet
/// prints the ratio column.
namespace FunDiff.Bench

open BenchmarkDotNet.Attributes
open FunDiff
open FunDiff.Bench.Workloads

/// Rosenbrock f, grad f and the hand-written gradient at n = 10³, 10⁵ and 10⁶; the ratio column is
/// relative to the hand-written gradient.
[<MemoryDiagnoser>]
type RosenbrockBenchmarks() =
    let mutable xs: float[] = [||]
    let mutable x: Tensor = Tensor.scalar 0.0
    let mutable reused: float[] = [||]
    let gradRosenbrock = grad rosenbrock

    [<Params(1_000, 100_000, 1_000_000)>]
    member val N = 1_000 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        xs <- rosenbrockInput this.N
        reused <- Array.zeroCreate this.N
        x <- Tensor.ofArray xs

    [<Benchmark(Description = "f")>]
    member _.F() = rosenbrock x

    [<Benchmark(Description = "grad f")>]
    member _.Grad() = gradRosenbrock x

    [<Benchmark(Baseline = true, Description = "hand-written grad")>]
    member _.HandGrad() = rosenbrockGradHand xs

    [<Benchmark(Description = "hand-written grad into a reused array")>]
    member _.HandGradInto() = rosenbrockGradHandInto xs reused

    [<Benchmark(Description = "hand-written f")>]
    member _.HandF() = rosenbrockHand xs

/// The scalar loop (5000 scalar primitives per evaluation) under evaluation and grad; the
/// ratio column is relative to evaluation.
[<MemoryDiagnoser>]
type ScalarLoopBenchmarks() =
    let a = Tensor.scalar scalarA
    let gradLoop = grad scalarLoop

    [<Benchmark(Baseline = true, Description = "f")>]
    member _.F() = scalarLoop a

    [<Benchmark(Description = "grad f")>]
    member _.Grad() = gradLoop a

    [<Benchmark(Description = "plain floats")>]
    member _.Hand() = scalarLoopHand scalarA

/// The Hessian-vector product of Rosenbrock at n = 10⁵ beside the gradient (the baseline).
[<MemoryDiagnoser>]
type HvpBenchmarks() =
    let n = 100_000
    let x = Tensor.ofArray (rosenbrockInput n)
    let v = Tensor.ofArray (direction n)
    let gradRosenbrock = grad rosenbrock

    [<Benchmark(Baseline = true, Description = "grad f")>]
    member _.Grad() = gradRosenbrock x

    [<Benchmark(Description = "hvp f x v")>]
    member _.Hvp() = hvp rosenbrock x v

/// The MLP loss (the baseline), its Tree.grad with respect to all weights, and the gradient's
/// five matrix products by the backend alone.
[<MemoryDiagnoser>]
type MlpBenchmarks() =
    let x, y = mlpData ()
    let p = mlpParams ()
    let loss = mlpLoss x y
    let gradLoss = Tree.grad loss

    let xa, w1, w2, h, d2, d1 = mlpFloorOperands ()

    [<Benchmark(Baseline = true, Description = "loss")>]
    member _.Loss() = loss p

    [<Benchmark(Description = "Tree.grad loss")>]
    member _.Grad() = gradLoss p

    [<Benchmark(Description = "5 matrix products (backend)")>]
    member _.Floor() = mlpMatmulFloor xa w1 w2 h d2 d1

/// The Hessian of Rosenbrock at n = 100 and 300.
[<MemoryDiagnoser>]
type HessianBenchmarks() =
    let mutable x: Tensor = Tensor.scalar 0.0
    let h = hessian rosenbrock

    [<Params(100, 300)>]
    member val N = 100 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        x <- Tensor.ofArray (rosenbrockInput this.N)

    [<Benchmark(Description = "hessian f")>]
    member _.Hessian() = h x

/// FunDiff's matmul kernel at n = 256, 512, 1024 (GFLOP/s = 2n³ / time).
[<MemoryDiagnoser>]
type MatmulBenchmarks() =
    let mutable a: float[] = [||]
    let mutable b: float[] = [||]
    let mutable c: float[] = [||]

    [<Params(256, 512, 1024)>]
    member val N = 256 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        let r = System.Random(this.N)
        a <- Array.init (this.N * this.N) (fun _ -> r.NextDouble() - 0.5)
        b <- Array.init (this.N * this.N) (fun _ -> r.NextDouble() - 0.5)
        c <- Array.zeroCreate (this.N * this.N)

    [<Benchmark(Description = "FunDiff matmulBatchedInto")>]
    member this.Ours() =
        Backend.Gemm.matmulBatchedInto 1 this.N this.N this.N a b c

/// OpenBLAS's single-threaded dgemm on the same matrices as MatmulBenchmarks. Its set-up fails
/// with the reason when libopenblas.so.0 does not load (BenchmarkDotNet then reports the error).
type OpenBlasBenchmarks() =
    let mutable a: float[] = [||]
    let mutable b: float[] = [||]
    let mutable c: float[] = [||]

    [<Params(256, 512, 1024)>]
    member val N = 256 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        match OpenBlas.status.Force() with
        | Ok _ -> ()
        | Error why -> failwith why

        let r = System.Random(this.N)
        a <- Array.init (this.N * this.N) (fun _ -> r.NextDouble() - 0.5)
        b <- Array.init (this.N * this.N) (fun _ -> r.NextDouble() - 0.5)
        c <- Array.zeroCreate (this.N * this.N)

    [<Benchmark(Description = "OpenBLAS cblas_dgemm")>]
    member this.Blas() = OpenBlas.dgemm this.N a b c

/// tanh(x)·y + x over 10⁷ elements: FunDiff beside the fused vectorized loop (the baseline) and
/// the scalar loop.
[<MemoryDiagnoser>]
type ElementwiseBenchmarks() =
    let r = System.Random(5)
    let xs = Array.init elementwiseSize (fun _ -> 4.0 * r.NextDouble() - 2.0)
    let ys = Array.init elementwiseSize (fun _ -> r.NextDouble())
    let x = Tensor.ofArray xs
    let y = Tensor.ofArray ys
    let out: float[] = Array.zeroCreate elementwiseSize

    [<Benchmark(Description = "FunDiff tanh x * y + x")>]
    member _.FunDiff() = elementwise x y

    [<Benchmark(Baseline = true, Description = "fused vectorized loop")>]
    member _.Fused() = elementwiseFused xs ys out

    [<Benchmark(Description = "scalar loop (Math.Tanh)")>]
    member _.Scalar() = elementwiseScalar xs ys out

/// jacfwd and jacrev on f: R¹⁰⁰⁰ → R (Rosenbrock) and g: R → R¹⁰⁰⁰.
[<MemoryDiagnoser>]
type JacobianBenchmarks() =
    let x = Tensor.ofArray (rosenbrockInput 1000)
    let t = Tensor.scalar 0.7

    [<Benchmark(Description = "jacfwd f (R¹⁰⁰⁰ → R)")>]
    member _.FwdF() = jacfwd rosenbrock x

    [<Benchmark(Baseline = true, Description = "jacrev f (R¹⁰⁰⁰ → R)")>]
    member _.RevF() = jacrev rosenbrock x

    [<Benchmark(Description = "jacfwd g (R → R¹⁰⁰⁰)")>]
    member _.FwdG() = jacfwd wideOutput t

    [<Benchmark(Description = "jacrev g (R → R¹⁰⁰⁰)")>]
    member _.RevG() = jacrev wideOutput t

/// Every primitive family (Families.fs) at 10⁵ and 10⁷ elements: FunDiff beside its reference
/// with fresh outputs (the baseline: issue 13's target is a ratio ≤ 1.3) and the same reference
/// writing into reused arrays. `--filter '*PrimitiveFamily*'` runs only these.
[<MemoryDiagnoser>]
type PrimitiveFamilyBenchmarks() =
    let mutable family: Families.Family = Families.families.Head
    let mutable inputs: Families.Inputs option = None
    let reused = Families.ReusedOutputs()
    let take = reused.Take

    [<Params("unary", "binary", "scalar", "select", "reduce", "copies", "transpose")>]
    member val Family = "unary" with get, set

    [<Params(100_000, 10_000_000)>]
    member val N = 100_000 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        family <- Families.families |> List.find (fun f -> f.Key = this.Family)
        inputs <- Some(Families.inputs this.N)

    [<Benchmark(Description = "FunDiff")>]
    member _.FunDiff() = family.FunDiff inputs.Value

    [<Benchmark(Baseline = true, Description = "reference, fresh outputs")>]
    member _.Reference() =
        family.Reference Families.fresh inputs.Value

    [<Benchmark(Description = "reference into reused arrays")>]
    member _.Reused() =
        reused.Restart()
        family.Reference take inputs.Value

/// Per-example gradients of the MLP over its 64 examples: Tree.vmap of Tree.grad beside a loop
/// of 64 Tree.grad calls and one batch gradient of the mean loss (the baseline). The vmap
/// issue's targets: vmap ≥ 10× faster than the loop, within 3× of the batch gradient.
/// `--filter '*PerExample*'` runs only these.
[<MemoryDiagnoser>]
type PerExampleGradientBenchmarks() =
    let x, y = mlpData ()
    let p = mlpParams ()
    let batchGrad = Tree.grad (mlpLoss x y)

    [<GlobalSetup>]
    member _.Setup() = VmapWorkloads.selfCheck () |> ignore

    [<Benchmark(Description = "Tree.vmap of Tree.grad")>]
    member _.Vmap() =
        VmapWorkloads.perExampleGradsVmap p (x, y)

    [<Benchmark(Description = "loop of 64 Tree.grad")>]
    member _.Loop() =
        VmapWorkloads.perExampleGradsLoop p (x, y)

    [<Benchmark(Baseline = true, Description = "one batch gradient")>]
    member _.Batch() = batchGrad p

/// The Hessian of Rosenbrock at n = 100 and 300, batched over the basis (as `hessian` is now)
/// beside the loop over basis directions it replaced (the baseline). Target: ≥ 5× at n = 100.
[<MemoryDiagnoser>]
type BatchedHessianBenchmarks() =
    let mutable x: Tensor = Tensor.scalar 0.0
    let h = hessian rosenbrock
    let hLoop = VmapWorkloads.hessianLoop rosenbrock

    [<Params(100, 300)>]
    member val N = 100 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        x <- Tensor.ofArray (rosenbrockInput this.N)
        VmapWorkloads.agree "hessian, batched vs loop" 1e-9 (h x) (hLoop x) |> ignore

    [<Benchmark(Description = "hessian, batched")>]
    member _.Batched() = h x

    [<Benchmark(Baseline = true, Description = "hessian, loop over the basis")>]
    member _.Loop() = hLoop x

/// jacrev of the elementwise map sin x * x (R¹⁰⁰⁰ → R¹⁰⁰⁰), batched beside the loop of 1000
/// pullbacks (the baseline).
[<MemoryDiagnoser>]
type BatchedJacrevBenchmarks() =
    let x = VmapWorkloads.elementwiseMapInput ()
    let j = jacrev VmapWorkloads.elementwiseMap
    let jLoop = VmapWorkloads.jacrevLoop VmapWorkloads.elementwiseMap

    [<Benchmark(Description = "jacrev, batched")>]
    member _.Batched() = j x

    [<Benchmark(Baseline = true, Description = "jacrev, loop over the basis")>]
    member _.Loop() = jLoop x

/// The scalar loop vmapped over 1000 examples beside 1000 separate evaluations (the baseline).
[<MemoryDiagnoser>]
type VmapScalarLoopBenchmarks() =
    let a = VmapWorkloads.scalarBatchInput ()
    let examples = [ for i in 0 .. VmapWorkloads.scalarBatch - 1 -> Tensor.index i a ]

    [<Benchmark(Description = "vmap over 1000 examples")>]
    member _.Vmap() = VmapWorkloads.scalarLoopVmap a

    [<Benchmark(Baseline = true, Description = "1000 evaluations")>]
    member _.Loop() = VmapWorkloads.scalarLoopEach examples

/// Rosenbrock under jit at n = 10³, 10⁵, 10⁶: `jit f` and `jit (grad f)` (cached programs)
/// beside the hand-written f and the hand-written gradient into a reused array (the baseline),
/// and the eager f and grad f. The jit issue's targets: `jit (grad f)` within 1.5× of that
/// loop at 10⁵ and 10⁶, `jit f` within 1.3× of the hand-written f. `--filter '*Jit*'` runs
/// all the jit classes.
[<MemoryDiagnoser>]
type JitRosenbrockBenchmarks() =
    let mutable xs: float[] = [||]
    let mutable x: Tensor = Tensor.scalar 0.0
    let mutable reused: float[] = [||]
    let jitF = jit rosenbrock
    let jitGrad = jit (grad rosenbrock)
    let gradRosenbrock = grad rosenbrock

    [<Params(1_000, 100_000, 1_000_000)>]
    member val N = 1_000 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        xs <- rosenbrockInput this.N
        reused <- Array.zeroCreate this.N
        x <- Tensor.ofArray xs
        VmapWorkloads.agree "jit f vs f" 1e-9 (jitF x) (rosenbrock x) |> ignore

        VmapWorkloads.agree "jit (grad f) vs grad f" 1e-9 (jitGrad x) (gradRosenbrock x)
        |> ignore

    [<Benchmark(Description = "jit f")>]
    member _.JitF() = jitF x

    [<Benchmark(Description = "jit (grad f)")>]
    member _.JitGrad() = jitGrad x

    [<Benchmark(Description = "f, eager")>]
    member _.F() = rosenbrock x

    [<Benchmark(Description = "grad f, eager")>]
    member _.Grad() = gradRosenbrock x

    [<Benchmark(Description = "hand-written f")>]
    member _.HandF() = rosenbrockHand xs

    [<Benchmark(Baseline = true, Description = "hand-written grad into a reused array")>]
    member _.HandGradInto() = rosenbrockGradHandInto xs reused

/// The scalar loop under jit: `jit f` and `jit (grad f)` beside eager evaluation (the baseline)
/// and eager grad. Targets: ≤ 0.02 µs (jit f) and ≤ 0.05 µs (jit (grad f)) per primitive,
/// i.e. ≤ 100 µs and ≤ 250 µs per call of 5000 primitives.
[<MemoryDiagnoser>]
type JitScalarLoopBenchmarks() =
    let a = Tensor.scalar scalarA
    let jitF = jit scalarLoop
    let jitGrad = jit (grad scalarLoop)
    let gradLoop = grad scalarLoop

    [<GlobalSetup>]
    member _.Setup() =
        VmapWorkloads.agree "jit scalarLoop" 1e-9 (jitF a) (scalarLoop a) |> ignore

        VmapWorkloads.agree "jit (grad scalarLoop)" 1e-9 (jitGrad a) (gradLoop a)
        |> ignore

    [<Benchmark(Description = "jit f")>]
    member _.JitF() = jitF a

    [<Benchmark(Description = "jit (grad f)")>]
    member _.JitGrad() = jitGrad a

    [<Benchmark(Baseline = true, Description = "f, eager")>]
    member _.F() = scalarLoop a

    [<Benchmark(Description = "grad f, eager")>]
    member _.Grad() = gradLoop a

/// tanh(x)·y + x over 10⁷ elements under jit (y closed over) beside the eager expression and the
/// fused vectorized loop (the baseline). Target: jit within 1.1× of the loop.
[<MemoryDiagnoser>]
type JitElementwiseBenchmarks() =
    let xs, ys = JitWorkloads.elementwiseInputs ()
    let x, y = Tensor.ofArray xs, Tensor.ofArray ys
    let out: float[] = Array.zeroCreate elementwiseSize
    let jitted = jit (fun x -> elementwise x y)

    [<GlobalSetup>]
    member _.Setup() =
        VmapWorkloads.agree "jit tanh x * y + x" 1e-9 (jitted x) (elementwise x y)
        |> ignore

    [<Benchmark(Description = "jit (fun x -> tanh x * y + x)")>]
    member _.Jit() = jitted x

    [<Benchmark(Description = "tanh x * y + x, eager")>]
    member _.Eager() = elementwise x y

    [<Benchmark(Baseline = true, Description = "fused vectorized loop")>]
    member _.Fused() = elementwiseFused xs ys out

/// The MLP gradient with respect to the raveled weights (`Tree.ravel`; no Tree.jit yet) under
/// jit, beside the same function eager and `Tree.grad` of the record (the baseline).
[<MemoryDiagnoser>]
type JitMlpBenchmarks() =
    let g, flat = JitWorkloads.mlpRaveledGrad ()
    let jitted = jit g
    let x, y = mlpData ()
    let p = mlpParams ()
    let treeGrad = Tree.grad (mlpLoss x y)

    [<GlobalSetup>]
    member _.Setup() =
        VmapWorkloads.agree "jit (grad of the raveled MLP loss)" 1e-9 (jitted flat) (g flat)
        |> ignore

    [<Benchmark(Description = "jit (grad (loss ∘ unravel))")>]
    member _.Jit() = jitted flat

    [<Benchmark(Description = "grad (loss ∘ unravel), eager")>]
    member _.Eager() = g flat

    [<Benchmark(Baseline = true, Description = "Tree.grad of the record, eager")>]
    member _.TreeGrad() = treeGrad p

/// hvp of Rosenbrock at n = 10⁵ under jit (v closed over) beside `jit (grad f)` (the baseline).
[<MemoryDiagnoser>]
type JitHvpBenchmarks() =
    let n = JitWorkloads.hvpSize
    let x = Tensor.ofArray (rosenbrockInput n)
    let v = Tensor.ofArray (direction n)
    let jitHvp = jit (fun x -> hvp rosenbrock x v)
    let jitGrad = jit (grad rosenbrock)

    [<GlobalSetup>]
    member _.Setup() =
        VmapWorkloads.agree "jit hvp" 1e-9 (jitHvp x) (hvp rosenbrock x v) |> ignore

    [<Benchmark(Description = "jit (hvp f x v)")>]
    member _.JitHvp() = jitHvp x

    [<Benchmark(Baseline = true, Description = "jit (grad f)")>]
    member _.JitGrad() = jitGrad x
