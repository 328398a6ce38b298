/// Reuse of large value buffers.
///
/// Why: a fresh large array lands on .NET's large-object heap, which only a full (gen-2)
/// collection frees; between those, every new buffer is fresh memory and page faults. Measured
/// on the bench machine: allocating and filling an 800 KB array costs 9× filling a reused one,
/// and a loop of 10⁵-element gradients ran 10–40× slower than with warm buffers.
///
/// How: arrays are immutable and shared (a reshape shares its operand's storage), so no
/// transform can tell when one dies, but the GC can, cheaply, if it is asked about a small
/// object. Every NDArray over a pooled buffer holds the buffer's `Lease` (a tiny object, one per
/// buffer, shared by every view); the pool keeps only a weak reference to it. When rentals have
/// missed the idle list by a few megabytes, the pool runs a young-generation collection (about
/// 20 µs on a small heap, against about 80 µs of page faults per fresh 800 KB buffer) and takes
/// back every buffer whose lease died. A gen-2 callback sweeps after the runtime's own full
/// collections, so nothing waits forever.
///
/// Safety: a buffer goes back to the pool only when no NDArray over it is reachable. Code that
/// reads `NDArray.Data` must therefore keep the NDArray alive while it uses the raw array
/// (`Interpreter.Evaluate` keeps a kernel's inputs alive; a kernel keeps its own intermediates
/// alive). A rented buffer that never becomes an NDArray's storage (scratch space, the
/// `float[]` results of public Linalg functions) is never taken back: it is the caller's.
module FunDiff.Backend.BufferPool

open System
open System.Collections.Generic
open System.Runtime.CompilerServices
open System.Threading

/// Buffers of at least this many elements are pooled (128 KiB, past the cost of the lease).
[<Literal>]
let MinPooledLength = 16384

/// At most this many idle buffers are kept per length.
[<Literal>]
let private MaxIdlePerLength = 64

/// At most this many idle bytes are kept in all (beyond it, returned buffers are dropped).
let private maxIdleBytes = 512L * 1024L * 1024L

/// The bytes a collection should find for its cost to vanish: a young collection costs about
/// 20 µs, what the page faults of 200 KB of fresh buffers or ~1 µs per 4 MB of passes over
/// warm ones do. When a collection finds less (a loop that keeps its last result, say), the
/// pool may allocate the shortfall fresh before the next one, so the buffers circulating
/// between collections grow to this much and a collection then comes once per this many
/// bytes rented. When collections find plenty, the next one comes at the first miss: no fresh
/// memory at all, and a loop's working set (its cache footprint) stays as small as it can be.
let private reclaimTarget = 4L * 1024L * 1024L

/// At most this many missed bytes between induced collections (a program that keeps growing
/// its live set stops paying for collections that find nothing).
let private maxMissBudget = 256L * 1024L * 1024L

/// The token every NDArray over one pooled buffer holds; the buffer is reusable once no lease
/// of it is reachable.
[<Sealed; AllowNullLiteral>]
type Lease internal () = class end

let private gate = obj ()
let private idle = Dictionary<int, Stack<float[]>>()
let mutable private idleBytes = 0L
/// Buffers rented but not (yet) an NDArray's storage: scratch space or a caller's plain array.
/// Weak keys: such a buffer is the GC's once its holder drops it; the pool never takes it back.
let private raw = ConditionalWeakTable<float[], obj>()
let private rawMark = obj ()
/// Buffers that are NDArrays' storage, with a weak reference to their lease. Held strongly, so
/// a buffer whose lease died stays here, untouched, until a sweep takes it back.
let private adopted = Dictionary<float[], WeakReference>(HashIdentity.Reference)
let mutable private missedBytes = 0L
let mutable private missBudget = 0L
/// The bytes collections should find: `reclaimTarget`, doubled while even full collections
/// find little (the live set grows: collect less often).
let mutable private expected = reclaimTarget
let mutable private nextFull = false
let mutable private rentedSinceSweep = false
let mutable private youngCollections = 0L
let mutable private fullCollections = 0L

let private addIdle (buffer: float[]) =
    let stack =
        match idle.TryGetValue buffer.Length with
        | true, s -> s
        | _ ->
            let s = Stack<float[]>()
            idle.[buffer.Length] <- s
            s

    let bytes = int64 buffer.Length * 8L

    if stack.Count < MaxIdlePerLength && idleBytes + bytes <= maxIdleBytes then
        stack.Push buffer
        idleBytes <- idleBytes + bytes
        bytes
    else
        0L

let private takeIdle (length: int) : float[] =
    match idle.TryGetValue length with
    | true, s when s.Count > 0 ->
        let b = s.Pop()
        idleBytes <- idleBytes - int64 b.Length * 8L
        b
    | _ -> null

/// Moves every adopted buffer whose leases all died to the idle lists; returns the bytes
/// reclaimed. Called under `gate`.
let private sweep () =
    let dead = List<float[]>()

    for KeyValue(buffer, lease) in adopted do
        if isNull lease.Target then
            dead.Add buffer

    let mutable reclaimed = 0L

    for buffer in dead do
        adopted.Remove buffer |> ignore
        reclaimed <- reclaimed + addIdle buffer

    rentedSinceSweep <- false
    reclaimed

/// Runs after every full collection of the runtime (re-registering itself): sweeps, and drops
/// the idle buffers if nothing was rented since the previous one (the program moved on).
[<Sealed>]
type private FullCollectionCallback() =
    override this.Finalize() =
        if not Environment.HasShutdownStarted then
            lock gate (fun () ->
                if not rentedSinceSweep then
                    idle.Clear()
                    idleBytes <- 0L

                sweep () |> ignore)

            GC.ReRegisterForFinalize this

do FullCollectionCallback() |> ignore

/// A young-generation collection (a full one when young ones stopped finding dead leases),
/// then a sweep; adapts the miss budget to what it found.
let private collectAndSweep () =
    let missed = Interlocked.Exchange(&missedBytes, 0L)

    if nextFull then
        Interlocked.Increment &fullCollections |> ignore
        GC.Collect(2, GCCollectionMode.Forced, true, false)
    else
        Interlocked.Increment &youngCollections |> ignore
        GC.Collect(1, GCCollectionMode.Forced, true, false)

    lock gate (fun () ->
        let reclaimed = sweep ()
        let poor = reclaimed * 2L < missed

        if poor && nextFull then
            // even a full collection found little: the live set is growing, wait longer
            expected <- min maxMissBudget (expected * 2L)
        elif not poor then
            expected <- reclaimTarget

        missBudget <- max 0L (expected - reclaimed)

        nextFull <- poor && not nextFull)

/// An uninitialized buffer of exactly `length` elements: an idle pooled one when available.
let rent (length: int) : float[] =
    if length < MinPooledLength then
        GC.AllocateUninitializedArray<float> length
    else
        let bytes = int64 length * 8L
        let mutable buffer = lock gate (fun () -> takeIdle length)

        if
            isNull buffer
            && Volatile.Read(&missedBytes) + bytes > Volatile.Read(&missBudget)
        then
            collectAndSweep ()
            buffer <- lock gate (fun () -> takeIdle length)

        if isNull buffer then
            Interlocked.Add(&missedBytes, bytes) |> ignore
            buffer <- GC.AllocateUninitializedArray<float> length

        lock gate (fun () ->
            rentedSinceSweep <- true
            raw.AddOrUpdate(buffer, rawMark))

        buffer

/// The lease for an NDArray over `data`: the buffer's shared lease when the pool handed the
/// buffer out (adopting it on first use), null for any other array.
let leaseOf (data: float[]) : Lease =
    if data.Length < MinPooledLength then
        null
    else
        lock gate (fun () ->
            match adopted.TryGetValue data with
            | true, weak ->
                match weak.Target with
                | :? Lease as lease -> lease
                | _ ->
                    // every earlier NDArray died but no sweep took the buffer back yet: it is
                    // still untouched, so a new owner may take it over
                    let lease = Lease()
                    weak.Target <- lease
                    lease
            | _ ->
                if raw.Remove data then
                    let lease = Lease()
                    adopted.Add(data, WeakReference lease)
                    lease
                else
                    null)

/// The collections the pool induced so far: (young, full) (diagnostics and benchmarks).
let inducedCollections () =
    struct (Interlocked.Read &youngCollections, Interlocked.Read &fullCollections)

/// The number of idle pooled bytes (for diagnostics and tests).
let idleByteCount () = lock gate (fun () -> idleBytes)

/// Runs a full collection and a sweep now (tests and diagnostics); returns the bytes it took
/// back into the idle lists.
let collectNow () =
    GC.Collect(2, GCCollectionMode.Forced, true, false)
    lock gate sweep
