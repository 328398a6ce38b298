/// A child process for the memory-plateau test: a plain gradient-descent loop over 10⁵
/// elements (the issue's loop), printing the process's working set at chosen steps. A fresh
/// process, so nothing the test runner did (its heap, its collections) colours the numbers.
///
/// Usage: dotnet FunDiff.MemoryProbe.dll <steps> <step to report> ...
/// Prints one line per reported step: `step <n> workingset <bytes> gen2 <full collections>`.
module FunDiff.MemoryProbe.Program

open System
open FunDiff

[<EntryPoint>]
let main argv =
    let steps = if argv.Length > 0 then int argv.[0] else 20000

    let report =
        if argv.Length > 1 then
            argv.[1..] |> Array.map int |> Set.ofArray
        else
            set [ 2000; steps ]

    let f (x: Tensor) = Tensor.sum (sin x * x)
    let mutable x = Tensor.linspace -1.0 1.0 100000

    for i in 1..steps do
        x <- x - 1e-6 * Diff.grad f x

        if report.Contains i then
            // the working set is what the user watches (top, Task Manager): it counts what the
            // GC committed and touched, fragmentation included, which the managed heap's size
            // does not (the leak this guards against was free space in gen 2, not live objects)
            printfn "step %d workingset %d gen2 %d" i Environment.WorkingSet (GC.CollectionCount 2)
            Console.Out.Flush()

    0
