/// Entry point. `quick`: the Stopwatch runner, which prints markdown tables and rewrites
/// docs/BENCHMARKS.md. `quick families`: only the primitive-family rows, printed, nothing
/// written. `quick vmap`: only the vmap rows (tables 10–12 and their targets), printed,
/// nothing written. `profile vmap`: where the vmap workloads' time goes, by primitive (printed).
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

/// `quick vmap`: checks and measures only the vmap rows and prints their tables.
let private quickVmap () =
    warnIfUnoptimized ()
    let clock = Stopwatch.StartNew()
    checkVmap ()
    let ms = measureVmap ()
    printfn ""
    printfn "%s" (Markdown.vmapTables ms)
    printfn "%s" (Markdown.table [ "target"; "figure"; "status" ] (Markdown.vmapTargetRows ms))
    printfn "%s" (Markdown.measurementsTable ms)
    printfn "(%.0f s; docs/BENCHMARKS.md not written)" clock.Elapsed.TotalSeconds
    0

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
        }

    printfn "measuring (%d rounds)..." settings.Rounds
    let main = QuickRunner.measure settings (printfn "%s") (QuickRunner.cases ())
    let families = measureFamilies ()
    let vmaps = measureVmap ()
    let body = Markdown.tables (main @ families @ vmaps) sizes extras
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
