/// Peak working set of `grad rosenbrock` at n = 10⁶, measured in a child process (this program
/// with the argument `peak-memory`) so that nothing the quick runner allocated counts.
///
/// Method (Linux): the child JIT-compiles the gradient on a small input, builds the input, runs
/// a full blocking GC, then for each of several calls reads its resident set (VmRSS of
/// /proc/self/status), resets the kernel's high-water mark (writing 5 to /proc/self/clear_refs
/// sets VmHWM to the current RSS), calls `grad rosenbrock x`, and reads VmHWM again: the
/// difference is the memory the call touched beyond what the process already held. After each
/// call (result dropped) it runs a full GC with pending finalizers (which return dead buffers to
/// FunDiff's pool) and records the managed heap: flat across calls means no retained garbage.
/// Elsewhere (no clear_refs) it falls back to Process.PeakWorkingSet64 minus the working set
/// before the first call, for the first call only.
module FunDiff.Bench.PeakMemory

open System
open System.Diagnostics
open System.IO
open FunDiff
open FunDiff.Bench.Workloads

/// The figures the child reports.
type Figures =
    {
        N: int
        /// Bytes of the input vector.
        InputBytes: float
        /// Per call: bytes of peak resident memory above the resident set just before the call.
        PeakAboveStart: float[]
        /// Per call: managed heap bytes after the call and a full GC.
        HeapAfter: float[]
        /// Managed heap bytes before the first call (input and program included).
        HeapBefore: float
        /// How the peak was measured.
        Method: string
    }

let private statusField (name: string) =
    File.ReadAllLines "/proc/self/status"
    |> Array.tryPick (fun line ->
        if line.StartsWith(name + ":") then
            // "VmHWM:	  123456 kB"
            let parts =
                line.Substring(name.Length + 1).Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)

            Some(float (int64 parts.[0]) * 1024.0)
        else
            None)
    |> Option.defaultWith (fun () -> failwithf "no %s in /proc/self/status" name)

let private canResetPeak () =
    try
        File.WriteAllText("/proc/self/clear_refs", "5")
        true
    with _ ->
        false

let private fullCollect () =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    GC.Collect()

/// The child's work: prints one line `key value` per figure (parsed by `measure`).
let child (n: int) (calls: int) =
    let g = grad rosenbrock

    for _ in 1..3 do
        g (Tensor.ofArray (rosenbrockInput 1000)) |> ignore

    let x = Tensor.ofArray (rosenbrockInput n)
    fullCollect ()
    printfn "heapBefore %d" (GC.GetTotalMemory true)

    if canResetPeak () then
        printfn "method clear_refs"

        for i in 1..calls do
            fullCollect ()
            let start = statusField "VmRSS"
            File.WriteAllText("/proc/self/clear_refs", "5")
            let r = g x
            let peak = statusField "VmHWM"
            GC.KeepAlive r
            printfn "peak %.0f" (peak - start)
            fullCollect ()
            printfn "heap %d" (GC.GetTotalMemory true)
    else
        printfn "method PeakWorkingSet64"
        use p = Process.GetCurrentProcess()
        let start = float p.WorkingSet64
        let r = g x
        p.Refresh()
        GC.KeepAlive r
        printfn "peak %.0f" (float p.PeakWorkingSet64 - start)
        fullCollect ()
        printfn "heap %d" (GC.GetTotalMemory true)

/// Runs the child (this executable again) and parses its figures.
let measure (n: int) (calls: int) : Result<Figures, string> =
    try
        let exe = Environment.ProcessPath
        let self = Reflection.Assembly.GetEntryAssembly().Location

        let psi =
            if Path.GetFileNameWithoutExtension(exe) = "dotnet" then
                ProcessStartInfo(exe, [ self; "peak-memory"; string n; string calls ])
            else
                ProcessStartInfo(exe, [ "peak-memory"; string n; string calls ])

        psi.RedirectStandardOutput <- true
        psi.UseShellExecute <- false
        use p = Process.Start psi
        let out = p.StandardOutput.ReadToEnd()
        p.WaitForExit()

        if p.ExitCode <> 0 then
            Error(sprintf "the peak-memory child exited with %d" p.ExitCode)
        else
            let lines =
                out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                |> Array.map (fun l -> l.Trim().Split(' ', 2))

            let values key =
                lines |> Array.filter (fun l -> l.[0] = key) |> Array.map (fun l -> l.[1])

            Ok
                {
                    N = n
                    InputBytes = 8.0 * float n
                    PeakAboveStart = values "peak" |> Array.map float
                    HeapAfter = values "heap" |> Array.map float
                    HeapBefore = values "heapBefore" |> Array.map float |> Array.head
                    Method = values "method" |> Array.head
                }
    with e ->
        Error(sprintf "the peak-memory child failed: %s" e.Message)
