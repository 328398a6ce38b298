/// The quick runner: a plain Stopwatch harness. Every case is warmed up, then measured in
/// interleaved rounds (each round runs every case once, in a rotating order), so that the
/// noise of a shared machine hits all cases alike and ratios are measured side by side.
/// A sample is a batch of calls lasting about `sampleTarget`; its time and the bytes the
/// thread allocated are divided by the batch size. Figures are medians over the rounds.
module FunDiff.Bench.QuickRunner

open System
open System.Diagnostics
open FunDiff
open FunDiff.Bench.Workloads

/// One measured thing.
type Case =
    {
        /// A stable key the report looks figures up by.
        Key: string
        /// What the row shows.
        Label: string
        /// One call of the workload (stores its result in Workloads.sink).
        Run: unit -> unit
    }

/// The figures of one case.
type Measurement =
    {
        Case: Case
        /// Calls per sample.
        Batch: int
        /// Seconds per call, one entry per round.
        Seconds: float[]
        /// Bytes allocated per call, one entry per round.
        Bytes: float[]
        /// Gen-0 and gen-2 collections per call over all rounds.
        Gen0PerCall: float
        Gen2PerCall: float
        /// Time the runtime was paused for GC, per call (GC.GetTotalPauseDuration).
        GcPausePerCall: float
    }

/// The median of a non-empty array.
let median (xs: float[]) =
    let s = Array.sort xs
    let m = s.Length / 2

    if s.Length % 2 = 1 then
        s.[m]
    else
        0.5 * (s.[m - 1] + s.[m])

/// The interquartile range as a fraction of the median (a noise indicator).
let spread (xs: float[]) =
    let s = Array.sort xs

    let q (p: float) =
        s.[int (Math.Round(p * float (s.Length - 1)))]

    (q 0.75 - q 0.25) / median xs

type Measurement with

    member m.MedianSeconds = median m.Seconds
    member m.MinSeconds = Array.min m.Seconds
    member m.MedianBytes = median m.Bytes
    member m.Spread = spread m.Seconds

/// Median over rounds of the per-round ratio a / b (paired: both measured in the same round).
let pairedRatio (a: Measurement) (b: Measurement) =
    median (Array.map2 (/) a.Seconds b.Seconds)

/// The cases, built from the workloads with their inputs prepared outside the timed calls.
let cases () : Case list =
    let rosen n =
        let xs = rosenbrockInput n
        let x = Tensor.ofArray xs
        let g = grad rosenbrock
        let tag = if n = 1000 then "1e3" else "1e5"

        [
            {
                Key = "rosen.f." + tag
                Label = sprintf "Rosenbrock f, n = %d" n
                Run = fun () -> sink <- rosenbrock x
            }
            {
                Key = "rosen.grad." + tag
                Label = sprintf "Rosenbrock grad f, n = %d" n
                Run = fun () -> sink <- g x
            }
            {
                Key = "rosen.hand." + tag
                Label = sprintf "Rosenbrock f, hand-written loop, n = %d" n
                Run = fun () -> sinkFloat <- rosenbrockHand xs
            }
            {
                Key = "rosen.handgrad." + tag
                Label = sprintf "Rosenbrock gradient, hand-written loop, n = %d" n
                Run = fun () -> sink <- rosenbrockGradHand xs
            }
        ]

    let hvpCase =
        let n = 100_000
        let x = Tensor.ofArray (rosenbrockInput n)
        let v = Tensor.ofArray (direction n)

        {
            Key = "rosen.hvp.1e5"
            Label = sprintf "Rosenbrock hvp f x v, n = %d" n
            Run = fun () -> sink <- hvp rosenbrock x v
        }

    let scalar =
        let a = Tensor.scalar scalarA
        let g = grad scalarLoop

        [
            {
                Key = "scalar.f"
                Label = "scalar loop f (1000 iterations)"
                Run = fun () -> sink <- scalarLoop a
            }
            {
                Key = "scalar.grad"
                Label = "scalar loop grad f (1000 iterations)"
                Run = fun () -> sink <- g a
            }
            {
                Key = "scalar.hand"
                Label = "scalar loop on plain floats"
                Run = fun () -> sinkFloat <- scalarLoopHand scalarA
            }
        ]

    rosen 1000 @ rosen 100_000 @ [ hvpCase ] @ scalar

/// Settings of a quick run.
type Settings =
    {
        /// Rounds (samples per case); the median is over these. At least 7.
        Rounds: int
        /// Target duration of one sample.
        SampleTarget: TimeSpan
        /// Minimum warm-up time per case (lets tiered JIT promote the hot methods).
        WarmUp: TimeSpan
    }

let defaultSettings =
    {
        Rounds = 31
        SampleTarget = TimeSpan.FromMilliseconds 80.0
        WarmUp = TimeSpan.FromMilliseconds 400.0
    }

/// Runs a case until `duration` has passed (at least 3 calls); returns seconds per call of the
/// last half of the calls.
let private warmUp (case: Case) (duration: TimeSpan) =
    let total = Stopwatch.StartNew()
    let times = ResizeArray<float>()

    while total.Elapsed < duration || times.Count < 3 do
        let sw = Stopwatch.StartNew()
        case.Run()
        times.Add sw.Elapsed.TotalSeconds

    times |> Seq.skip (times.Count / 2) |> Seq.toArray |> median

/// One sample: `batch` calls; returns (seconds per call, bytes per call).
let private sample (case: Case) (batch: int) =
    let bytes0 = GC.GetAllocatedBytesForCurrentThread()
    let sw = Stopwatch.StartNew()

    for _ in 1..batch do
        case.Run()

    let t = sw.Elapsed.TotalSeconds
    let bytes = GC.GetAllocatedBytesForCurrentThread() - bytes0
    t / float batch, float bytes / float batch

/// Measures every case; `log` receives progress lines.
let measure (settings: Settings) (log: string -> unit) (cases: Case list) : Measurement list =
    if settings.Rounds < 7 then
        invalidArg "settings" "at least 7 rounds"

    let cases = Array.ofList cases

    let batches =
        cases
        |> Array.map (fun c ->
            let perCall = warmUp c settings.WarmUp
            let batch = max 1 (int (settings.SampleTarget.TotalSeconds / perCall))
            log (sprintf "  warmed up %-48s ~%s per call, %d calls per sample" c.Label (Units.time perCall) batch)
            batch)

    let k = cases.Length
    let seconds = Array.init k (fun _ -> Array.zeroCreate settings.Rounds)
    let bytes = Array.init k (fun _ -> Array.zeroCreate settings.Rounds)
    let gen0 = Array.zeroCreate k
    let gen2 = Array.zeroCreate k
    let pause = Array.create k TimeSpan.Zero

    for r in 0 .. settings.Rounds - 1 do
        for j in 0 .. k - 1 do
            let i = (j + r) % k // rotate the order so that no case always follows the same one
            let g0, g2 = GC.CollectionCount 0, GC.CollectionCount 2
            let p0 = GC.GetTotalPauseDuration()
            let t, b = sample cases.[i] batches.[i]
            pause.[i] <- pause.[i] + (GC.GetTotalPauseDuration() - p0)
            gen0.[i] <- gen0.[i] + GC.CollectionCount 0 - g0
            gen2.[i] <- gen2.[i] + GC.CollectionCount 2 - g2
            seconds.[i].[r] <- t
            bytes.[i].[r] <- b

        log (sprintf "  round %d/%d done" (r + 1) settings.Rounds)

    [
        for i in 0 .. k - 1 ->
            let calls = float (batches.[i] * settings.Rounds)

            {
                Case = cases.[i]
                Batch = batches.[i]
                Seconds = seconds.[i]
                Bytes = bytes.[i]
                Gen0PerCall = float gen0.[i] / calls
                Gen2PerCall = float gen2.[i] / calls
                GcPausePerCall = pause.[i].TotalSeconds / calls
            }
    ]
