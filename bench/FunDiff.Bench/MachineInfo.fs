/// What the figures were measured on: CPU (from lscpu), .NET, OS, GC mode, date, commit.
module FunDiff.Bench.MachineInfo

open System
open System.Diagnostics
open System.IO
open System.Runtime
open System.Runtime.InteropServices

/// The description printed at the top of docs/BENCHMARKS.md.
type Machine =
    {
        /// lscpu's "Model name".
        CpuModel: string
        /// Logical processors the process sees, and lscpu's cores per socket × sockets.
        Cores: string
        /// RuntimeInformation.FrameworkDescription.
        DotNet: string
        /// RuntimeInformation.OSDescription and architecture.
        Os: string
        /// Workstation / server, concurrent or not.
        Gc: string
        /// UTC date and time of the run.
        Date: DateTime
        /// The commit the working tree is on (with "+ changes" if it is dirty), or "unknown".
        Commit: string
    }

/// Runs a program and returns its standard output, or None if it cannot run.
let private run (file: string) (args: string) (dir: string) =
    try
        let psi = ProcessStartInfo(file, args)
        psi.RedirectStandardOutput <- true
        psi.RedirectStandardError <- true
        psi.UseShellExecute <- false
        psi.WorkingDirectory <- dir
        use p = Process.Start psi
        let out = p.StandardOutput.ReadToEnd()
        p.WaitForExit()
        if p.ExitCode = 0 then Some(out.Trim()) else None
    with _ ->
        None

/// The value of a `Key: value` line of lscpu's output.
let private lscpuField (lscpu: string) (key: string) =
    lscpu.Split('\n')
    |> Array.tryPick (fun line ->
        let i = line.IndexOf(':')

        if i > 0 && line.Substring(0, i).Trim() = key then
            Some(line.Substring(i + 1).Trim())
        else
            None)

/// Collects the machine description (runs `lscpu` and `git`; both are optional).
let describe (repoRoot: string) : Machine =
    let lscpu = run "lscpu" "" repoRoot |> Option.defaultValue ""
    let field key = lscpuField lscpu key

    let model =
        field "Model name"
        |> Option.defaultValue (RuntimeInformation.ProcessArchitecture.ToString())

    let physical =
        match field "Core(s) per socket", field "Socket(s)" with
        | Some c, Some s ->
            match Int32.TryParse c, Int32.TryParse s with
            | (true, c), (true, s) -> Some(c * s)
            | _ -> None
        | _ -> None

    let cores =
        match physical with
        | Some p ->
            sprintf
                "%d cores, %s thread(s) per core, %d logical processors"
                p
                (field "Thread(s) per core" |> Option.defaultValue "?")
                Environment.ProcessorCount
        | None -> sprintf "%d logical processors" Environment.ProcessorCount

    let commit =
        match run "git" "rev-parse --short HEAD" repoRoot with
        | Some sha ->
            match run "git" "status --porcelain --untracked-files=no" repoRoot with
            | Some "" -> sha
            | Some status ->
                // name the top-level folders with changes: the figures depend on src/ only
                let folders =
                    status.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    |> Array.map (fun line ->
                        line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries) |> Array.last)
                    |> Array.map (fun path -> path.Split('/').[0])
                    |> Array.distinct
                    |> String.concat ", "

                sprintf "%s + uncommitted changes in %s" sha folders
            | None -> sha
        | None -> "unknown"

    let gc =
        sprintf
            "%s, %s"
            (if GCSettings.IsServerGC then "server" else "workstation")
            (match GCSettings.LatencyMode with
             | GCLatencyMode.Batch -> "non-concurrent"
             | GCLatencyMode.Interactive -> "concurrent"
             | m -> string m)

    {
        CpuModel = model
        Cores = cores
        DotNet = RuntimeInformation.FrameworkDescription
        Os = sprintf "%s (%O)" RuntimeInformation.OSDescription RuntimeInformation.OSArchitecture
        Gc = gc
        Date = DateTime.UtcNow
        Commit = commit
    }

/// The repository root: the first folder upwards (from the working directory, then from the
/// executable) that holds FunDiff.sln.
let repoRoot () =
    let rec up (dir: DirectoryInfo) =
        if isNull dir then
            None
        elif File.Exists(Path.Combine(dir.FullName, "FunDiff.sln")) then
            Some dir.FullName
        else
            up dir.Parent

    match up (DirectoryInfo(Directory.GetCurrentDirectory())) with
    | Some d -> d
    | None ->
        match up (DirectoryInfo(AppContext.BaseDirectory)) with
        | Some d -> d
        | None -> failwith "cannot find the repository root (no FunDiff.sln above the working directory)"

/// True when the JIT optimizes this assembly's code (a Release build).
let isOptimized () =
    let attr =
        Reflection.Assembly.GetExecutingAssembly().GetCustomAttributes(typeof<DebuggableAttribute>, false)

    attr
    |> Array.forall (fun a -> not (a :?> DebuggableAttribute).IsJITOptimizerDisabled)
