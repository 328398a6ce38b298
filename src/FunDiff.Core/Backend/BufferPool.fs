/// Reuse of large value buffers.
///
/// Why: a fresh large array lands on .NET's large-object heap, which only a full (gen-2)
/// collection frees; between those, every new buffer is fresh memory and page faults. Measured
/// on the bench machine: allocating and filling an 800 KB array costs 9× filling a reused one,
/// and a loop of 10⁵-element gradients ran 10–40× slower than with warm buffers.
///
/// How: arrays are immutable and shared (a reshape or a contiguous slice is a view of its
/// operand's storage), so no transform can tell when one dies, but the GC can, cheaply, if it
/// is asked about a small object. Every NDArray over a pooled buffer holds the buffer's
/// `Lease` (a tiny object, one per buffer, shared by every view); the pool keeps only a weak
/// reference to it. When a rental misses the idle lists after at least `MinCollectionSpacing` bytes were rented
/// since the last one (and any miss budget is spent), the pool runs
/// a collection and takes back every buffer whose lease died. A gen-2 callback sweeps after the
/// runtime's own full collections.
///
/// Why the induced collection is a full one: young (gen-1) collections were tried first. Under
/// server GC (`dotnet fsi`'s setting, and many hosts') a loop of 10⁵-element gradients then ran
/// one induced gen-1 collection per step and no full collection ever: each left ~11 KB of free
/// space in gen 2 and ~70 KB more committed memory, which only a full collection reclaims, and
/// the runtime never started one (its own budgets never filled). The working set grew without
/// bound (measured: 119 → 237 MB from step 2,000 to 6,000; 252 → 397 MB in the issue, in fsi).
/// A lease that survived two young collections also reached gen 2, where only a full collection
/// could find it dead. A full collection of a small heap costs about what a gen-1 one does (the
/// pooled buffers hold no references, so marking them is free), finds every dead lease whatever
/// its age, frees the large-object heap and lets the runtime compact: the same loop now plateaus
/// at ~60 MB under both server and workstation GC (`MemoryPlateauTests` checks 20,000 steps in a
/// child process). Its cost grows with the live heap of small objects; a program whose
/// collections keep finding little (a growing live set) waits longer between them.
///
/// Safety: a buffer goes back to the pool only when no NDArray over it is reachable. Code that
/// reads `NDArray.Data` must therefore keep the NDArray alive while it uses the raw array
/// (`NDArray.Read` does; `Interpreter.Evaluate` keeps a kernel's inputs alive; a kernel keeps
/// its own intermediates alive). A rented buffer that never becomes an NDArray's storage
/// (scratch space, the `float[]` results of public Linalg functions) is never taken back: it is
/// the caller's. `DebugChecks` (or FUNDIFF_POOL_DEBUG=1) makes a breach of this rule visible.
module FunDiff.Backend.BufferPool

open System
open System.Collections.Generic
open System.Runtime.CompilerServices
open System.Threading

/// Buffers of at least this many elements are pooled (128 KiB, past the cost of the lease).
[<Literal>]
let MinPooledLength = 16384

/// At most this many idle bytes are kept in all (512 MiB; beyond it the least recently used
/// lengths' buffers are dropped). Settable for tests of that policy, which cannot fill 512 MiB.
let mutable internal maxIdleBytes = 512L * 1024L * 1024L

/// The bytes a collection should find for its cost to vanish: a full collection of a small heap
/// costs about what the page faults of a few hundred KB of fresh buffers do, or a few passes
/// over 4 MB of warm ones. When a collection finds less (a loop that keeps its last result, say), the
/// pool may allocate the shortfall fresh before the next one, so the buffers circulating
/// between collections grow to this much and a collection then comes once per this many
/// bytes rented. When collections find plenty, the next one comes at the first miss once the
/// collection spacing below has been rented.
let private reclaimTarget = 4L * 1024L * 1024L

/// At least this many bytes are rented from the pool between two induced collections (or 8
/// rentals of the size asked for, if more). Why: when collections find plenty, the cheapest
/// next step used to be a collection at the first miss, which kept the circulating buffers
/// minimal but ran a full collection once or more per step of a plain loop (measured: one per
/// Rosenbrock `f` at n = 10⁵, four at 10⁶, about 20 % of its time). Below the spacing a miss
/// allocates fresh instead, so the circulating buffers grow until they cover the spacing and a
/// collection then finds that much dead: a steady loop makes one collection per spacing of
/// rentals, at the price of at most the spacing in extra idle memory.
[<Literal>]
let private MinCollectionSpacing = 32L * 1024L * 1024L

/// The bytes to rent between induced collections when rentals are `bytes` long.
let private collectionSpacing (bytes: int64) = max MinCollectionSpacing (8L * bytes)

/// At most this many idle buffers are kept per length: 64, or twice what one spacing between
/// induced collections rents of that length (fewer would drop, at every collection, buffers
/// the loop needs again before the next one, and it would allocate them fresh every cycle).
let private maxIdlePerLength (length: int) =
    max 64L (2L * MinCollectionSpacing / (int64 length * 8L))

/// At most this many missed bytes between induced collections (a program that keeps growing
/// its live set stops paying for collections that find nothing).
let private maxMissBudget = 256L * 1024L * 1024L

/// The token every NDArray over one pooled buffer holds; the buffer is reusable once no lease
/// of it is reachable.
[<Sealed; AllowNullLiteral>]
type Lease internal () = class end

let private gate = obj ()
let private idle = Dictionary<int, Stack<float[]>>()
/// The idle buffers that were filled with NaN when taken back (debug mode was on then): only
/// these can be checked for writes at their next rental, since debug mode may have been
/// switched on while other buffers were idle.
let private poisoned = HashSet<float[]>(HashIdentity.Reference)
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
/// Bytes rented from the pool (pooled lengths) since the last induced collection.
let mutable private rentedSinceCollection = 0L
/// The bytes collections should find: `reclaimTarget`, doubled while collections find little
/// (the live set grows: collect less often).
let mutable private expected = reclaimTarget
let mutable private rentedSinceSweep = false
/// The bytes every sweep found dead since the last induced collection read it: the callback's
/// sweeps on the finalizer thread count too (they ran after the previous collection and took
/// what this one would otherwise have found; without them the feedback saw "found nothing",
/// doubled the budget, and a plain loop allocated tens of MB fresh).
let mutable private foundSinceInduced = 0L

/// Debug mode for the pool's invariant (an NDArray over a pooled buffer is kept alive while
/// its raw data is read). When on, every large rental first runs a full collection and a sweep
/// (so a buffer whose arrays died is reused at once, where a missing `GC.KeepAlive` shows),
/// every buffer taken back is filled with NaN (so a stale read shows as NaN, not as plausible
/// numbers), and a rental from the idle lists checks that the buffer is still all NaN (if it
/// was taken back in debug mode: the mode may be switched on while other buffers are idle) and
/// that no live lease refers to it (raising `InvalidOperationException` if something wrote to a
/// returned buffer or a live array's buffer reached the idle lists). Slow: for tests and
/// debugging. Initially on when the environment variable FUNDIFF_POOL_DEBUG is 1.
let mutable DebugChecks =
    Environment.GetEnvironmentVariable "FUNDIFF_POOL_DEBUG" = "1"

/// When each length was last rented or returned (a counter, under `gate`): the idle cap makes
/// room by dropping the buffers of the lengths used longest ago.
let private lastUse = Dictionary<int, int64>()
let mutable private useClock = 0L

let private touch (length: int) =
    useClock <- useClock + 1L
    lastUse.[length] <- useClock

/// Drops idle buffers of lengths used before `length` was, least recently used first, until
/// `bytes` more fit under the cap (or no such length is left). Why: a workload that leaves
/// many large buffers of its lengths idle (a batched Jacobian) would otherwise fill the cap,
/// and every buffer the next workload returns would be refused and rented fresh again.
let private makeRoom (length: int) (bytes: int64) =
    let mutable searching = idleBytes + bytes > maxIdleBytes

    while searching do
        let mutable oldest = -1
        let mutable oldestUse = lastUse.[length]

        for KeyValue(other, stack) in idle do
            if other <> length && stack.Count > 0 then
                let used =
                    match lastUse.TryGetValue other with
                    | true, u -> u
                    | _ -> 0L

                if used < oldestUse then
                    oldest <- other
                    oldestUse <- used

        if oldest < 0 then
            searching <- false
        else
            let stack = idle.[oldest]

            while stack.Count > 0 && idleBytes + bytes > maxIdleBytes do
                let dropped = stack.Pop()
                poisoned.Remove dropped |> ignore
                idleBytes <- idleBytes - int64 dropped.Length * 8L

            searching <- idleBytes + bytes > maxIdleBytes

let private addIdle (buffer: float[]) =
    let stack =
        match idle.TryGetValue buffer.Length with
        | true, s -> s
        | _ ->
            let s = Stack<float[]>()
            idle.[buffer.Length] <- s
            s

    let bytes = int64 buffer.Length * 8L
    touch buffer.Length

    if int64 stack.Count < maxIdlePerLength buffer.Length then
        makeRoom buffer.Length bytes

    if
        int64 stack.Count < maxIdlePerLength buffer.Length
        && idleBytes + bytes <= maxIdleBytes
    then
        stack.Push buffer
        idleBytes <- idleBytes + bytes
        bytes
    else
        0L

let private takeIdle (length: int) : float[] =
    touch length

    match idle.TryGetValue length with
    | true, s when s.Count > 0 ->
        let b = s.Pop()
        idleBytes <- idleBytes - int64 b.Length * 8L
        b
    | _ -> null

/// Whether `buffer` (just taken from the idle lists) was poisoned when it was taken back; it
/// leaves the poisoned set either way. Called under `gate`.
let private takePoisoned (buffer: float[]) =
    not (isNull buffer) && poisoned.Remove buffer

/// Moves every adopted buffer whose leases all died to the idle lists (as far as they have room);
/// returns the bytes found dead, kept or not: a collection that found plenty of dead buffers
/// was worth its cost even when the idle lists were full. Called under `gate`.
let private sweep () =
    let dead = List<float[]>()

    for KeyValue(buffer, lease) in adopted do
        if isNull lease.Target then
            dead.Add buffer

    let mutable reclaimed = 0L

    let poison = DebugChecks

    for buffer in dead do
        adopted.Remove buffer |> ignore

        if poison then
            Array.Fill(buffer, nan)

        if addIdle buffer > 0L && poison then
            poisoned.Add buffer |> ignore

        reclaimed <- reclaimed + int64 buffer.Length * 8L

    rentedSinceSweep <- false
    foundSinceInduced <- foundSinceInduced + reclaimed
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
                    poisoned.Clear()
                    idleBytes <- 0L

                sweep () |> ignore)

            GC.ReRegisterForFinalize this

do FullCollectionCallback() |> ignore

/// A full collection (see the header for why not a young one), then a sweep; adapts the miss
/// budget to what it found.
let private collectAndSweep () =
    let missed = Interlocked.Exchange(&missedBytes, 0L)
    Interlocked.Exchange(&rentedSinceCollection, 0L) |> ignore
    GC.Collect(2, GCCollectionMode.Forced, true, false)

    lock gate (fun () ->
        sweep () |> ignore
        let reclaimed = foundSinceInduced
        foundSinceInduced <- 0L
        // we are inside a rental: the full-collection callback must not drop the idle lists
        rentedSinceSweep <- true

        if reclaimed * 2L < missed then
            // the collection found little: the live set is growing, wait longer
            expected <- min maxMissBudget (expected * 2L)
        else
            expected <- reclaimTarget

        missBudget <- max 0L (expected - reclaimed))

/// Debug mode: a buffer leaving the idle lists must be untouched since it was poisoned (when it
/// was), and no live lease may refer to it. Called under `gate`.
let private verifyIdle (buffer: float[]) (wasPoisoned: bool) =
    if not (isNull buffer) then
        match adopted.TryGetValue buffer with
        | true, weak when not (isNull weak.Target) ->
            raise (
                InvalidOperationException
                    "BufferPool debug check: a buffer on the idle lists is still the storage of a live NDArray."
            )
        | _ -> ()

        let mutable i = if wasPoisoned then 0 else buffer.Length

        while i < buffer.Length do
            if not (Double.IsNaN buffer.[i]) then
                raise (
                    InvalidOperationException(
                        sprintf
                            "BufferPool debug check: element %d of an idle %d-element buffer is %g, not the NaN it was filled with when its last NDArray died: something wrote to the raw array after it stopped holding an NDArray over it (keep the NDArray alive, e.g. with NDArray.Read or GC.KeepAlive, while using .Data)."
                            i
                            buffer.Length
                            buffer.[i]
                    )
                )

            i <- i + 1

/// An uninitialized buffer of exactly `length` elements: an idle pooled one when available.
let rent (length: int) : float[] =
    if length < MinPooledLength then
        GC.AllocateUninitializedArray<float> length
    else
        let bytes = int64 length * 8L
        let debug = DebugChecks

        if debug then
            collectAndSweep ()

        let take () =
            lock gate (fun () ->
                let b = takeIdle length
                let wasPoisoned = takePoisoned b

                if debug then
                    verifyIdle b wasPoisoned

                b)

        let mutable buffer = take ()
        let rented = Interlocked.Add(&rentedSinceCollection, bytes)

        if
            isNull buffer
            && rented >= collectionSpacing bytes
            && Volatile.Read(&missedBytes) + bytes > Volatile.Read(&missBudget)
        then
            collectAndSweep ()
            buffer <- take ()

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

/// The number of idle pooled bytes (for diagnostics and tests).
let idleByteCount () = lock gate (fun () -> idleBytes)

/// The number of idle buffers of one length (for tests).
let internal idleCountOf (length: int) =
    lock gate (fun () ->
        match idle.TryGetValue length with
        | true, s -> s.Count
        | _ -> 0)

/// Runs a full collection and a sweep now (tests and diagnostics); returns the bytes it took
/// back into the idle lists.
let collectNow () =
    GC.Collect(2, GCCollectionMode.Forced, true, false)
    lock gate sweep
