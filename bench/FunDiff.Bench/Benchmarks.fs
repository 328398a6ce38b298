/// The BenchmarkDotNet classes: the same workloads as the quick runner, for precise figures
/// (run without `quick`). Each class puts a workload beside its baseline so that BenchmarkDotNet
/// prints the ratio column.
namespace FunDiff.Bench

open BenchmarkDotNet.Attributes
open FunDiff
open FunDiff.Bench.Workloads

/// Rosenbrock f, grad f and the hand-written gradient at n = 10³ and 10⁵; the ratio column is
/// relative to the hand-written gradient.
[<MemoryDiagnoser>]
type RosenbrockBenchmarks() =
    let mutable xs: float[] = [||]
    let mutable x: Tensor = Tensor.scalar 0.0
    let gradRosenbrock = grad rosenbrock

    [<Params(1_000, 100_000)>]
    member val N = 1_000 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        xs <- rosenbrockInput this.N
        x <- Tensor.ofArray xs

    [<Benchmark(Description = "f")>]
    member _.F() = rosenbrock x

    [<Benchmark(Description = "grad f")>]
    member _.Grad() = gradRosenbrock x

    [<Benchmark(Baseline = true, Description = "hand-written grad")>]
    member _.HandGrad() = rosenbrockGradHand xs

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
