/// Entry point. `quick`: the Stopwatch runner, which prints markdown tables and rewrites
/// docs/BENCHMARKS.md. Anything else: BenchmarkDotNet over the benchmark classes (no
/// arguments runs them all; BenchmarkDotNet's own arguments such as `--filter` pass through).
module FunDiff.Bench.Program

open System.Diagnostics
open BenchmarkDotNet.Running

let private quick () =
    if not (MachineInfo.isOptimized ()) then
        eprintfn "warning: this is not an optimized build; run with -c Release for meaningful figures."

    let root = MachineInfo.repoRoot ()
    let clock = Stopwatch.StartNew()
    printfn "FunDiff quick benchmarks (repository %s)" root
    printfn "self-check of the workloads..."
    Workloads.selfCheck ()
    let sizes = Workloads.programSizes ()
    let settings = QuickRunner.defaultSettings
    printfn "measuring (%d rounds)..." settings.Rounds
    let ms = QuickRunner.measure settings (printfn "%s") (QuickRunner.cases ())
    let body = Markdown.tables ms sizes
    let machine = MachineInfo.describe root
    let doc = Markdown.document machine settings clock.Elapsed body
    printfn ""
    printfn "%s" body
    let path = Markdown.write root doc
    printfn "wrote %s (%.0f s)" path clock.Elapsed.TotalSeconds
    0

[<EntryPoint>]
let main argv =
    match List.ofArray argv with
    | "quick" :: _ -> quick ()
    | [] ->
        BenchmarkSwitcher.FromAssembly(typeof<RosenbrockBenchmarks>.Assembly).RunAll()
        |> ignore

        0
    | args ->
        BenchmarkSwitcher.FromAssembly(typeof<RosenbrockBenchmarks>.Assembly).Run(Array.ofList args)
        |> ignore

        0
