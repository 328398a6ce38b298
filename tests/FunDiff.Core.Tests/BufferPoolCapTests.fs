/// The pool's idle-cap policy. It lowers the global cap for a while, which would change what
/// every other test sees of the pool (a plateau test would rent fresh), so it runs alone: its
/// collection is not run in parallel with any other.
[<Xunit.Collection("PoolSettings")>]
module FunDiff.Tests.BufferPoolCapTests

open System
open Xunit
open FunDiff
open FunDiff.Backend

/// The collection of tests that change the pool's global settings: run alone.
[<CollectionDefinition("PoolSettings", DisableParallelization = true)>]
type PoolSettings() = class end

let private collect () =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    GC.Collect()

/// Makes `count` pooled arrays of `length` and drops them (in a frame of its own: a Debug build
/// keeps a method's locals alive to its end).
[<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)>]
let private makeAndDrop (length: int) (count: int) =
    let x = Tensor.linspace 0.0 1.0 length

    for k in 1..count do
        (x * float k) |> ignore

[<Fact>]
let ``a full idle cap drops the lengths used longest ago, not the buffers being returned now`` () =
    let saved = BufferPool.maxIdleBytes
    let a, b = 1 <<< 17, (1 <<< 17) + 8 // two lengths of 1 MiB

    let settle () =
        collect ()
        BufferPool.collectNow () |> ignore

    try
        BufferPool.maxIdleBytes <- 8L * 1024L * 1024L
        settle ()
        // twelve arrays of length a die: at most eight of them fit under the cap
        makeAndDrop a 12
        settle ()
        Assert.True(BufferPool.idleCountOf a >= 6, sprintf "%d idle of length a" (BufferPool.idleCountOf a))
        // then a workload of length b returns its buffers: they are kept, a's make room
        makeAndDrop b 4
        settle ()
        Assert.True(BufferPool.idleCountOf b >= 4, sprintf "%d idle of length b" (BufferPool.idleCountOf b))
        Assert.True(BufferPool.idleByteCount () <= BufferPool.maxIdleBytes)
    finally
        BufferPool.maxIdleBytes <- saved
