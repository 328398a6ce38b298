/// Writes the quick runner's figures as markdown: the tables printed to the console and the
/// whole of docs/BENCHMARKS.md.
module FunDiff.Bench.Markdown

open System
open System.IO
open System.Text
open FunDiff.Bench.MachineInfo
open FunDiff.Bench.QuickRunner
open FunDiff.Bench.Units
open FunDiff.Bench.Workloads

/// A markdown table from a header and rows.
let table (header: string list) (rows: string list list) =
    let line (cells: string list) = "| " + String.Join(" | ", cells) + " |"
    let sep = "|" + String.Join("|", header |> List.map (fun _ -> "---")) + "|"
    String.Join("\n", [ line header; sep ] @ List.map line rows) + "\n"

/// The result tables (what the console shows).
let tables (ms: Measurement list) (sizes: (string * int) list) =
    let m key =
        match ms |> List.tryFind (fun m -> m.Case.Key = key) with
        | Some m -> m
        | None -> failwithf "no measurement %s" key

    let t key = time (m key).MedianSeconds
    let b key = bytes (m key).MedianBytes
    let r a b' = ratio (pairedRatio (m a) (m b'))
    let sb = StringBuilder()
    let add (s: string) = sb.Append(s).Append('\n') |> ignore

    add "### 1. Rosenbrock: f, grad f and a hand-written gradient\n"

    add (
        table
            [
                "n"
                "f"
                "grad f"
                "**grad / f**"
                "hand-written grad"
                "**grad / hand-written grad**"
                "hand-written f"
                "allocated: f"
                "allocated: grad f"
                "allocated: hand-written grad"
            ]
            [
                for tag, n in [ "1e3", "10³"; "1e5", "10⁵" ] ->
                    [
                        n
                        t ("rosen.f." + tag)
                        t ("rosen.grad." + tag)
                        "**" + r ("rosen.grad." + tag) ("rosen.f." + tag) + "**"
                        t ("rosen.handgrad." + tag)
                        "**" + r ("rosen.grad." + tag) ("rosen.handgrad." + tag) + "**"
                        t ("rosen.hand." + tag)
                        b ("rosen.f." + tag)
                        b ("rosen.grad." + tag)
                        b ("rosen.handgrad." + tag)
                    ]
            ]
    )

    add "### 2. Scalar loop z ← a·cos(z + i) + z·b, 1000 iterations (5000 primitives per evaluation)\n"
    let p = float scalarLoopPrimitives

    add (
        table
            [
                "mode"
                "time per call"
                "**µs per primitive**"
                "allocated per call"
                "**bytes per primitive**"
                "vs the loop on plain floats"
            ]
            [
                for key, name in [ "scalar.f", "evaluation f a"; "scalar.grad", "grad f a" ] do
                    let x = m key

                    yield
                        [
                            name
                            t key
                            "**" + sig3 (x.MedianSeconds * 1e6 / p) + "**"
                            b key
                            "**" + sig3 (x.MedianBytes / p) + "**"
                            r key "scalar.hand"
                        ]

                yield [ "plain floats (reference)"; t "scalar.hand"; "—"; b "scalar.hand"; "—"; "1×" ]
            ]
    )

    add (sprintf "grad / f for the scalar loop: **%s**.\n" (r "scalar.grad" "scalar.f"))

    add "### 3. Hessian-vector product of Rosenbrock, n = 10⁵\n"

    add (
        table
            [ "n"; "grad f"; "hvp f x v"; "**hvp / grad**"; "allocated: hvp" ]
            [
                [
                    "10⁵"
                    t "rosen.grad.1e5"
                    t "rosen.hvp.1e5"
                    "**" + r "rosen.hvp.1e5" "rosen.grad.1e5" + "**"
                    b "rosen.hvp.1e5"
                ]
            ]
    )

    add "### All measurements\n"

    add (
        table
            [
                "case"
                "median"
                "min"
                "spread (IQR / median)"
                "calls per sample"
                "allocated per call"
                "gen-0 GCs per call"
                "gen-2 GCs per call"
                "GC pause per call"
            ]
            [
                for x in ms ->
                    [
                        x.Case.Label
                        time x.MedianSeconds
                        time x.MinSeconds
                        percent x.Spread
                        string x.Batch
                        bytes x.MedianBytes
                        sig3 x.Gen0PerCall
                        sig3 x.Gen2PerCall
                        time x.GcPausePerCall
                    ]
            ]
    )

    add "### Program sizes (equations after `makeIR`, Rosenbrock at n = 10³)\n"
    add (table [ "program"; "equations" ] [ for name, n in sizes -> [ "`" + name + "`"; string n ] ])
    sb.ToString()

/// The explanation of the rows, kept with the code that produces them.
let private explanation =
    """## What each row measures

**Rosenbrock** is f(x) = Σᵢ 100 (x_{i+1} − x_i²)² + (1 − x_i)², written as a NumPy port would
write it (`Tensor.slice` for `x[1:]` and `x[:-1]`, whole-array arithmetic, `Tensor.sum`: 10
primitives). *f* is one evaluation, *grad f* one call of `grad rosenbrock` (linearize: JVP
under staging, then transpose of the linear program), and *grad / f* is the classic
"cheap gradient" ratio (a small constant is the goal, whatever n). The *hand-written*
columns are a C#-style one-pass loop over `float[]` that computes the gradient derived by
hand into a fresh array: *grad / hand-written grad* is the price of using the library
instead of deriving and coding the gradient yourself. At n = 10³ the interpreter overhead per
primitive dominates; at n = 10⁵ the kernels, memory traffic and allocation do.

**The scalar loop** z ← a·cos(z + i) + z·b (1000 iterations, scalar tensors, derivative
with respect to a) binds 5 primitives per iteration (add, cos, mul, mul, add), 5000 per
evaluation, each on a single number. It measures pure per-primitive overhead: *µs per
primitive* and *bytes per primitive* are the call's time and allocated bytes divided by
5000, under plain evaluation and under `grad` (where each primitive also runs its JVP rule,
is staged, and is transposed). The plain-float loop is shown for scale.

**The Hessian-vector product** `hvp rosenbrock x v` at n = 10⁵ is forward-over-reverse
(`jvp (grad f) x v`); *hvp / grad* should stay a small constant (about 2–4 in JAX).

All figures come from one run of the quick runner: every case is warmed up, then measured in
interleaved rounds (each round runs each case once, in a rotating order) so that the noise of
this shared 2-core machine hits all cases alike. A sample is a batch of calls lasting about
80 ms; times and allocations are per call, the **median** over the rounds. Ratios are the
median of the per-round ratios (both sides measured in the same round). *Allocated* is
`GC.GetAllocatedBytesForCurrentThread` per call; GC counts are collections per call during
the measured batches, and *GC pause* the time the runtime was suspended for collections
(`GC.GetTotalPauseDuration`), per call. *Spread* is the interquartile range over the median: a noisy row
shows a large spread.

At n = 10⁵ every intermediate array (800 KB) is above the 85 000-byte threshold of .NET's
large object heap, so each one is a gen-2 allocation and fresh memory: watch the *gen-2 GCs
per call* column and the spread of those rows, which reflect the garbage collector and page
faults as much as the kernels.
"""

/// The whole of docs/BENCHMARKS.md.
let document (machine: Machine) (settings: Settings) (elapsed: TimeSpan) (body: string) =
    let sb = StringBuilder()
    let add (s: string) = sb.Append(s).Append('\n') |> ignore
    add "# FunDiff benchmarks\n"

    add (
        sprintf
            "Measured **%s UTC** on **%s** (%s), **%s**, %s, GC %s, commit %s."
            (machine.Date.ToString("yyyy-MM-dd HH:mm"))
            machine.CpuModel
            machine.Cores
            machine.DotNet
            machine.Os
            machine.Gc
            machine.Commit
    )

    add ""

    add (
        sprintf
            "Quick runner: %d interleaved rounds, samples of about %.0f ms, medians; the run took %.0f s. The machine is shared and noisy: compare ratios measured in one run, not absolute times across runs."
            settings.Rounds
            settings.SampleTarget.TotalMilliseconds
            elapsed.TotalSeconds
    )

    add ""
    add "Regenerate this file (about a minute):\n"
    add "```\ndotnet run -c Release --project bench/FunDiff.Bench -- quick\n```\n"

    add
        "Precise figures by BenchmarkDotNet (all classes; or pass BenchmarkDotNet's own arguments, e.g. `--filter '*Rosenbrock*'`):\n"

    add "```\ndotnet run -c Release --project bench/FunDiff.Bench\n```\n"
    add "## Results\n"
    add body
    add explanation
    sb.ToString()

/// Writes docs/BENCHMARKS.md under the repository root; returns its path.
let write (repoRoot: string) (text: string) =
    let path = Path.Combine(repoRoot, "docs", "BENCHMARKS.md")
    Directory.CreateDirectory(Path.GetDirectoryName path) |> ignore
    File.WriteAllText(path, text)
    path
