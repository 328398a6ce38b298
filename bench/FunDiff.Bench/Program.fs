/// Entry point. `quick`: the Stopwatch runner, which prints markdown tables and rewrites
/// docs/BENCHMARKS.md. `quick families`: only the primitive-family rows, printed, nothing
/// written. `quick vmap`: only the vmap rows (tables 10–12 and their targets), printed,
/// nothing written. `quick jit`: only the jit rows (tables 13–18 and their targets), printed,
/// nothing written. `quick conv`: only the convolution and pooling rows against ONNX Runtime
/// (table 20), printed, nothing written. `profile vmap`: where the vmap workloads' time goes, by primitive (printed). `profile jit`:
/// the same for the jitted array workloads' bodies.
/// `peak-memory n calls`: the child process of the peak-memory measurement.
/// Anything else: BenchmarkDotNet over the benchmark classes (no arguments runs them all;
/// BenchmarkDotNet's own arguments such as `--filter` pass through).
module FunDiff.Bench.Program

open System.Diagnostics
open BenchmarkDotNet.Running

let private warnIfUnoptimized () =
    if not (MachineInfo.isOptimized ()) then
        eprintfn "warning: this is not an optimized build; run with -c Release for meaningful figures."

/// Measures the primitive-family rows in their own rounds (their settings differ from the rest).
let private measureFamilies () =
    let settings = QuickRunner.familySettings
    printfn "measuring the primitive families (%d rounds)..." settings.Rounds
    QuickRunner.measure settings (printfn "%s") (QuickRunner.familyCases ())

/// `quick families`: checks and measures only the family rows and prints their table.
let private quickFamilies () =
    warnIfUnoptimized ()
    let clock = Stopwatch.StartNew()
    printfn "self-check of the families..."
    Families.selfCheck ()
    let ms = measureFamilies ()
    printfn ""
    printfn "%s" (Markdown.familyTable ms)
    printfn "%s" (Markdown.measurementsTable ms)
    printfn "(%.0f s; docs/BENCHMARKS.md not written)" clock.Elapsed.TotalSeconds
    0

/// Measures the vmap rows in their own rounds (their loops are slow and vmap's per-example
/// gradients allocate ~100 MB a call).
let private measureVmap () =
    let settings = QuickRunner.vmapSettings
    printfn "measuring the vmap rows (%d rounds)..." settings.Rounds
    QuickRunner.measure settings (printfn "%s") (QuickRunner.vmapCases ())

/// The vmap self-check (vmap against its loops), with the largest differences printed.
let private checkVmap () =
    printfn "self-check of the vmap workloads (vmap against the loops)..."

    for what, d in VmapWorkloads.selfCheck () do
        printfn "  %s: max abs difference %.3g" what d

/// The jit self-check (every jitted workload against its eager function), the compile figures
/// (first calls of fresh jitted objects) and the jit rows measured in their own rounds.
let private measureJit () =
    printfn "building the jit workloads (10⁷-element inputs)..."
    let xs, ys = JitWorkloads.elementwiseInputs ()

    let ws =
        JitWorkloads.workloads (FunDiff.Tensor.ofArray ys) (FunDiff.Tensor.ofArray xs)

    printfn "self-check of the jit workloads (jit against eager, limit 1e-9)..."

    for what, d in JitWorkloads.selfCheck ws do
        printfn "  %s: max abs difference %.3g" what d

    printfn "compile times (first calls of fresh jitted objects)..."
    let compiles = JitWorkloads.compiles ws

    for c in compiles do
        printfn
            "  %-20s %6d equations, first call %s, trace + compile %s"
            c.Key
            c.Equations
            (Units.time c.FirstCall)
            (Units.time c.TraceAndCompile)

    let settings = QuickRunner.jitSettings
    printfn "measuring the jit rows (%d rounds)..." settings.Rounds
    let ms = QuickRunner.measure settings (printfn "%s") (QuickRunner.jitCases ws xs ys)
    ms, compiles

/// The linear-algebra rows (FunDiff and MathNet's managed code against LAPACK: LU, Cholesky, QR,
/// eigh, SVD), in their own interleaved rounds.
let private measureLinalg () =
    printfn
        "linear algebra against LAPACK: %s"
        (match Lapack.status.Force() with
         | Ok s -> s
         | Error e -> e)

    printfn "linear algebra, MathNet: %s" (QuickRunner.useManagedMathNet ())

    let settings = QuickRunner.linalgSettings
    printfn "measuring the linear-algebra rows (%d rounds)..." settings.Rounds
    QuickRunner.measure settings (printfn "%s") (QuickRunner.linalgCases ())

/// The convolution and pooling rows (table 20) against ONNX Runtime, in their own rounds.
let private measureConv () =
    printfn "self-check of the convolution rows (FunDiff against ONNX Runtime)..."
    let cases = ConvWorkloads.cases (printfn "%s")
    printfn "measuring the convolution rows (%d rounds)..." ConvWorkloads.settings.Rounds
    QuickRunner.measure ConvWorkloads.settings (printfn "%s") cases

/// A quick run of one group of rows: `measure` (checks included) gives the measurements and
/// what the tables need; printed are the group's tables, its target rows and the raw figures,
/// without rewriting docs/BENCHMARKS.md.
let private quickGroup
    (measure: unit -> QuickRunner.Measurement list * 'extra)
    (tables: QuickRunner.Measurement list -> 'extra -> string)
    (targets: QuickRunner.Measurement list -> string list list)
    =
    warnIfUnoptimized ()
    let clock = Stopwatch.StartNew()
    let ms, extra = measure ()
    printfn ""
    printfn "%s" (tables ms extra)
    printfn "%s" (Markdown.table [ "target"; "figure"; "status" ] (targets ms))
    printfn "%s" (Markdown.measurementsTable ms)
    printfn "(%.0f s; docs/BENCHMARKS.md not written)" clock.Elapsed.TotalSeconds
    0

/// `quick linalg`: measures only the linear-algebra rows and prints their table.
let private quickLinalg () =
    quickGroup (fun () -> measureLinalg (), ()) (fun ms () -> Markdown.linalgTables ms) Markdown.linalgTargetRows

/// `quick conv`: checks and measures only the convolution rows and prints their table.
let private quickConv () =
    quickGroup (fun () -> measureConv (), ()) (fun ms () -> ConvWorkloads.table ms) (fun _ -> [])

/// `quick jit`: checks and measures only the jit rows and prints their tables.
let private quickJit () =
    quickGroup measureJit Markdown.jitTables Markdown.jitTargetRows

/// `quick vmap`: checks and measures only the vmap rows and prints their tables.
let private quickVmap () =
    quickGroup
        (fun () ->
            checkVmap ()
            measureVmap (), ())
        (fun ms () -> Markdown.vmapTables ms)
        Markdown.vmapTargetRows

let private quick () =
    warnIfUnoptimized ()

    let root = MachineInfo.repoRoot ()
    let clock = Stopwatch.StartNew()
    printfn "FunDiff quick benchmarks (repository %s)" root
    printfn "self-check of the workloads..."
    Workloads.selfCheck ()
    Families.selfCheck ()
    checkVmap ()
    let sizes = Workloads.programSizes ()
    let settings = QuickRunner.defaultSettings
    printfn "peak working set of grad at n = 10⁶ (child process)..."
    let peak = PeakMemory.measure 1_000_000 5

    let extras: Markdown.Extras =
        {
            Peak = peak
            OpenBlas = OpenBlas.status.Force()
            Kernel =
                match FunDiff.Backend.Gemm.hardwareKernel with
                | ValueSome k -> sprintf "%A" k
                | ValueNone -> "none (no Vector256 with FMA: small-product paths only)"
            JitCompile = []
        }

    printfn "measuring (%d rounds)..." settings.Rounds
    let main = QuickRunner.measure settings (printfn "%s") (QuickRunner.cases ())
    let families = measureFamilies ()
    let vmaps = measureVmap ()
    let jits, compiles = measureJit ()
    let linalgs = measureLinalg ()
    let convs = measureConv ()

    let body =
        Markdown.tables (main @ families @ vmaps @ jits @ linalgs @ convs) sizes { extras with JitCompile = compiles }

    let machine = MachineInfo.describe root

    let doc =
        Markdown.document machine settings QuickRunner.familySettings clock.Elapsed extras body

    printfn ""
    printfn "%s" body
    let path = Markdown.write root doc
    printfn "wrote %s (%.0f s)" path clock.Elapsed.TotalSeconds
    0

[<EntryPoint>]
let main argv =
    match List.ofArray argv with
    | [ "quick"; "families" ] -> quickFamilies ()
    | [ "quick"; "vmap" ] -> quickVmap ()
    | [ "quick"; "jit" ] -> quickJit ()
    | [ "quick"; "linalg" ] -> quickLinalg ()
    | [ "quick"; "conv" ] -> quickConv ()
    | [ "profile"; "jit" ] ->
        warnIfUnoptimized ()
        Profile.runJit ()
    | [ "profile"; "vmap" ] ->
        warnIfUnoptimized ()
        Profile.run ()
    | "quick" :: _ -> quick ()
    | [ "peak-memory"; n; calls ] ->
        PeakMemory.child (int n) (int calls)
        0
    | [] ->
        BenchmarkSwitcher.FromAssembly(typeof<RosenbrockBenchmarks>.Assembly).RunAll()
        |> ignore

        0
    | args ->
        BenchmarkSwitcher.FromAssembly(typeof<RosenbrockBenchmarks>.Assembly).Run(Array.ofList args)
        |> ignore

        0
