/// The working set of a long gradient loop plateaus: the issue's loop, run for 20,000 steps in
/// a child process (`tests/FunDiff.MemoryProbe`) under server GC (`dotnet fsi`'s setting, where
/// the pool's induced young collections once made it grow without bound), must end within 10%
/// of where it stood after 2,000 steps.
module FunDiff.Tests.MemoryPlateauTests

open System
open System.Diagnostics
open System.IO
open Xunit

/// The probe's dll, built beside this project in the same configuration (the project reference
/// in the .fsproj builds it without referencing its assembly).
let private probePath () =
    let here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)
    let tfm = Path.GetFileName here
    let config = Path.GetFileName(Path.GetDirectoryName here)
    let tests = Path.GetFullPath(Path.Combine(here, "..", "..", "..", ".."))
    Path.Combine(tests, "FunDiff.MemoryProbe", "bin", config, tfm, "FunDiff.MemoryProbe.dll")

/// Runs the probe and returns (step, working set in bytes) for each reported step.
let private runProbe (serverGc: bool) (steps: int) (reports: int list) =
    let path = probePath ()
    Assert.True(File.Exists path, sprintf "the memory probe is not built at %s" path)
    let info = ProcessStartInfo("dotnet")
    info.ArgumentList.Add path
    info.ArgumentList.Add(string steps)

    for r in reports do
        info.ArgumentList.Add(string r)

    info.Environment.["DOTNET_gcServer"] <- if serverGc then "1" else "0"
    info.RedirectStandardOutput <- true
    info.RedirectStandardError <- true
    info.UseShellExecute <- false
    use child = Process.Start info
    let errors = child.StandardError.ReadToEndAsync()
    let output = child.StandardOutput.ReadToEnd()
    child.WaitForExit()
    Assert.True(child.ExitCode = 0, sprintf "the probe failed (%d): %s%s" child.ExitCode output errors.Result)

    output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    |> Array.map (fun line ->
        let words = line.Trim().Split ' '
        int words.[1], float (int64 words.[3]))

[<Fact>]
let ``20,000 gradient steps end within 10% of the working set after 2,000`` () =
    let samples = runProbe true 20000 [ 2000; 20000 ] |> dict
    let early, late = samples.[2000], samples.[20000]

    Assert.True(
        late < 1.1 * early,
        sprintf
            "the working set grew from %.1f MB at step 2,000 to %.1f MB at step 20,000 (+%.0f%%)"
            (early / 1e6)
            (late / 1e6)
            (100.0 * (late / early - 1.0))
    )
