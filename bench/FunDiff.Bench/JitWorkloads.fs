/// The workloads of the jit issue's measurements: each jitted function built from the public
/// API (`Diff.jitted`, `jit`), the eager function it is compared with, its input, its program
/// size (`makeIR` of the function jit traces) and its compile time (the first call of a fresh
/// jitted object: trace, compile, one run).
module FunDiff.Bench.JitWorkloads

open System.Diagnostics
open FunDiff
open FunDiff.Bench.Workloads

/// One jitted workload: how to build a fresh jitted object, its input, the eager function the
/// jitted one must agree with, and the function whose `makeIR` counts its equations.
type JitWorkload =
    {
        /// A stable key (the report's case keys are "jit.<key>.jit" and "jit.<key>.eager").
        Key: string
        /// What the row shows.
        Label: string
        /// The function jit traces (also what `makeIR` counts).
        Traced: Tensor -> Tensor
        /// The input.
        Input: Tensor
    }

/// `jit f` of a workload (a fresh jitted object: its first call traces).
let fresh (w: JitWorkload) = jitted w.Traced

/// Rosenbrock sizes of the jit rows (key suffix, n).
let rosenbrockSizes = [ "1e3", 1_000; "1e5", 100_000; "1e6", 1_000_000 ]

/// n of the hvp row.
let hvpSize = 100_000

/// The MLP's gradient with respect to its raveled parameters (one float64 vector of
/// 784·256 + 256 + 256·10 + 10 = 203 530 entries), the form `jit` (one tensor in, one out) can
/// take: `grad (fun v -> loss (unravel v))`, with the batch (x, y) closed over (constants of
/// the traced program). Returns the function and the raveled parameters.
let mlpRaveledGrad () =
    let x, y = mlpData ()
    let p = mlpParams ()
    let flat, unravel = Tree.ravel p
    grad (fun v -> mlpLoss x y (unravel v)), flat

/// The elementwise inputs of table 7 (10⁷ elements each), built as QuickRunner builds them.
let elementwiseInputs () =
    let r = System.Random(5)
    let xs = Array.init elementwiseSize (fun _ -> 4.0 * r.NextDouble() - 2.0)
    let ys = Array.init elementwiseSize (fun _ -> r.NextDouble())
    xs, ys

/// Every jitted workload of the jit tables (inputs built here). `y` of the elementwise row is
/// closed over (a constant of the program), as jit takes one tensor.
let workloads (elementwiseY: Tensor) (elementwiseX: Tensor) : JitWorkload list =
    [
        for tag, n in rosenbrockSizes do
            let x = Tensor.ofArray (rosenbrockInput n)

            yield
                {
                    Key = "rosen.f." + tag
                    Label = sprintf "Rosenbrock f, n = %d" n
                    Traced = rosenbrock
                    Input = x
                }

            yield
                {
                    Key = "rosen.grad." + tag
                    Label = sprintf "Rosenbrock grad f, n = %d" n
                    Traced = grad rosenbrock
                    Input = x
                }

        let xh = Tensor.ofArray (rosenbrockInput hvpSize)
        let v = Tensor.ofArray (direction hvpSize)

        yield
            {
                Key = "rosen.hvp.1e5"
                Label = sprintf "Rosenbrock hvp f x v, n = %d" hvpSize
                Traced = fun x -> hvp rosenbrock x v
                Input = xh
            }

        let a = Tensor.scalar scalarA

        yield
            {
                Key = "scalar.f"
                Label = "scalar loop f (1000 iterations)"
                Traced = scalarLoop
                Input = a
            }

        yield
            {
                Key = "scalar.grad"
                Label = "scalar loop grad f (1000 iterations)"
                Traced = grad scalarLoop
                Input = a
            }

        yield
            {
                Key = "elem"
                Label = "tanh(x)·y + x, 10⁷ elements"
                Traced = fun x -> elementwise x elementwiseY
                Input = elementwiseX
            }

        let g, flat = mlpRaveledGrad ()

        yield
            {
                Key = "mlp.grad"
                Label = "MLP grad of the loss w.r.t. the raveled weights (203 530)"
                Traced = g
                Input = flat
            }
    ]

/// The largest absolute difference between two tensors of one shape.
let maxAbsDiff = VmapWorkloads.maxAbsDiff

/// Checks every jitted workload against its eager function (max abs difference below 1e-12
/// times 1 + the largest eager magnitude in every element, on the first call and on a later
/// one, which runs the cached program: a fused sum adds tile by tile, in another order than the
/// eager kernel, so a sum of 10⁶ terms differs in its last digits), and
/// that a second call did not retrace. Raises otherwise. Returns the differences.
let selfCheck (ws: JitWorkload list) : (string * float) list =
    [
        for w in ws ->
            let eager = w.Traced w.Input

            let limit =
                1e-12 * (1.0 + Array.fold (fun m v -> max m (abs v)) 0.0 (Tensor.toArray eager))

            let j = fresh w
            let first = j.Invoke w.Input
            let second = j.Invoke w.Input

            if j.TraceCount <> 1 then
                failwithf "self-check failed: jit %s traced %d times for one signature" w.Label j.TraceCount

            let d1 =
                VmapWorkloads.agree (sprintf "jit %s (first call) vs eager" w.Label) limit first eager

            let d2 =
                VmapWorkloads.agree (sprintf "jit %s (cached call) vs eager" w.Label) limit second eager

            w.Label, max d1 d2
    ]

/// The equations of a workload's program (`makeIR` of the traced function on its input).
let equations (w: JitWorkload) =
    (makeIR w.Traced w.Input).Equations.Length

/// The median of an odd-length array.
let private median (xs: float[]) =
    let s = Array.sort xs
    s.[s.Length / 2]

/// Compile time of a workload: the first call of a fresh jitted object (trace, compile and one
/// run of the program) and, paired with it, the object's second call (the cached program
/// alone); returns the medians over `repeats` (odd) fresh objects of the first call and of
/// first − second (trace + compile, the run's own time taken out by the call right after it).
/// The caller has already run the workload (the self-check), so .NET's own JIT of the
/// library's code is not in the figures.
let compileSeconds (repeats: int) (w: JitWorkload) =
    let firsts, differences =
        Array.init repeats (fun _ ->
            let j = fresh w
            let sw = Stopwatch.StartNew()
            sink <- j.Invoke w.Input
            let first = sw.Elapsed.TotalSeconds
            sw.Restart()
            sink <- j.Invoke w.Input
            let second = sw.Elapsed.TotalSeconds
            first, first - second)
        |> Array.unzip

    median firsts, median differences

/// The compile figures of a workload.
type Compile =
    {
        Key: string
        /// Equations of its program (`makeIR` of the traced function).
        Equations: int
        /// The first call of a fresh jitted object: trace + compile + one run (median).
        FirstCall: float
        /// First call − the same object's second call: trace + compile (median).
        TraceAndCompile: float
    }

/// Compile figures of every workload (7 fresh objects each, 3 for the 10⁶ and 10⁷ rows).
let compiles (ws: JitWorkload list) : Compile list =
    [
        for w in ws ->
            let big = w.Input.Size >= 1_000_000
            let first, compile = compileSeconds (if big then 3 else 7) w

            {
                Key = w.Key
                Equations = equations w
                FirstCall = first
                TraceAndCompile = compile
            }
    ]
