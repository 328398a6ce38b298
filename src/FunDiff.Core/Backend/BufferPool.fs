/// Reuse of large value buffers. Arrays are immutable and shared (a reshape shares its
/// operand's storage), so no transform can tell when one dies — but the GC can: each pooled
/// buffer has a small sentinel, kept alive exactly as long as the buffer (a
/// ConditionalWeakTable entry), whose finalizer hands the buffer back once nothing references
/// it. Reusing warm memory avoids the large-object allocations and page faults that dominated
/// gradients of 10⁵-element functions. Small arrays are cheaper to allocate than to pool.
module FunDiff.Backend.BufferPool

open System
open System.Collections.Concurrent
open System.Runtime.CompilerServices
open System.Threading

/// Buffers of at least this many elements are pooled (128 KiB, past the cost of a sentinel).
[<Literal>]
let MinPooledLength = 16384

/// At most this many idle buffers are kept per length.
[<Literal>]
let private MaxIdlePerLength = 64

/// At most this many idle bytes are kept in all (beyond it, returned buffers are dropped).
let private maxIdleBytes = 512L * 1024L * 1024L

let private idle = ConcurrentDictionary<int, ConcurrentBag<float[]>>()
let mutable private idleBytes = 0L

let private giveBack (buffer: float[]) =
    let bag = idle.GetOrAdd(buffer.Length, fun _ -> ConcurrentBag<float[]>())
    let bytes = int64 buffer.Length * 8L

    if
        bag.Count < MaxIdlePerLength
        && Interlocked.Add(&idleBytes, bytes) <= maxIdleBytes
    then
        bag.Add buffer
    else if bag.Count >= MaxIdlePerLength then
        ()
    else
        Interlocked.Add(&idleBytes, -bytes) |> ignore

/// Lives exactly as long as its buffer; when both are unreachable its finalizer returns the
/// buffer to the pool (resurrecting it there).
[<AllowNullLiteral>]
type private Sentinel(buffer: float[]) =
    override _.Finalize() =
        if not (Environment.HasShutdownStarted) then
            giveBack buffer

let private sentinels = ConditionalWeakTable<float[], Sentinel>()

/// An uninitialized buffer of exactly `length` elements: an idle pooled one when available.
let rent (length: int) : float[] =
    if length < MinPooledLength then
        GC.AllocateUninitializedArray<float> length
    else
        let buffer =
            match idle.TryGetValue length with
            | true, bag ->
                match bag.TryTake() with
                | true, b ->
                    Interlocked.Add(&idleBytes, -(int64 b.Length * 8L)) |> ignore
                    b
                | _ -> GC.AllocateUninitializedArray<float> length
            | _ -> GC.AllocateUninitializedArray<float> length

        sentinels.AddOrUpdate(buffer, Sentinel buffer)
        buffer

/// The number of idle pooled bytes (for diagnostics and tests).
let idleByteCount () = Interlocked.Read &idleBytes
