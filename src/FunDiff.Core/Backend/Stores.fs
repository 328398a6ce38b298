/// How the kernels written here (not TensorPrimitives') store large outputs: non-temporally.
///
/// Why: a kernel's output is a pooled buffer, and the pool learns that buffers died only at a
/// collection, every 32 MB or more of rentals (BufferPool), so the buffer it hands out was last
/// written tens of MB of traffic ago and is out of every cache. An ordinary store to such a
/// line first reads it from memory (read-for-ownership), which doubles the traffic of a write;
/// a non-temporal store writes the line whole without reading it. Measured (Release, 10⁵
/// doubles, output rotating over 40 buffers as the pool's do): Span.CopyTo 67–85 µs, a
/// Vector<float> copy loop 48 µs, the same loop with non-temporal stores 30 µs, flat from one
/// buffer to 80; TensorPrimitives' kernels (Add, Multiply, ...) already store this way above
/// 256 KiB and stayed at 30–37 µs. Below that size outputs usually stay in cache for the next
/// operation, and ordinary stores are kept.
module internal FunDiff.Backend.Stores

#nowarn "9" // native pointers: non-temporal stores take the address of a pinned output

open System
open System.Numerics
open System.Runtime.Intrinsics.X86
open System.Threading
open Microsoft.FSharp.NativeInterop

/// Outputs of at least this many float64 elements (256 KiB, TensorPrimitives' threshold for
/// the same choice) are stored non-temporally.
[<Literal>]
let NonTemporalElements = 32768

/// Whether an output of `n` elements is stored non-temporally (only where vectors are
/// hardware-accelerated: the stores are vector stores).
let isLarge (n: int) =
    n >= NonTemporalElements && Vector.IsHardwareAccelerated

/// How many of the `n` elements from `p` on come before the first address aligned to a whole
/// Vector<float> (non-temporal vector stores need that alignment). Doubles sit at multiples of
/// 8, so the distance is a whole number of elements.
let alignedLead (p: nativeptr<float>) (n: int) =
    let size = nativeint Vector<byte>.Count
    let misalignment = NativePtr.toNativeInt p &&& (size - 1n)

    if misalignment = 0n then
        0
    else
        Math.Min(n, int ((size - misalignment) / 8n))

/// Stores `v` at element `i` of `out`, pinned at `p`: non-temporally when `nonTemporal` (then
/// `p + i` must be vector-aligned), else as an ordinary store.
let inline store (nonTemporal: bool) (p: nativeptr<float>) (out: float[]) (i: int) (v: Vector<float>) =
    if nonTemporal then
        Vector.StoreAlignedNonTemporal(v, NativePtr.add p i)
    else
        v.CopyTo(out, i)

/// Orders the non-temporal stores before every later store (they are weakly ordered: without
/// this, another thread handed the finished array could read stale values).
let fence () =
    if Sse.IsSupported then
        Sse.StoreFence()
    else
        Interlocked.MemoryBarrier()

/// Copies `src` to `dst` (of src's length) non-temporally: the elements before the first
/// aligned vector of `dst` and the tail one by one, the body by aligned vector stores. The
/// caller pins `dst` and calls `fence` after its last copy.
let copyToPinned (src: ReadOnlySpan<float>) (dst: nativeptr<float>) =
    let n = src.Length
    let width = Vector<float>.Count
    let lead = alignedLead dst n

    for k in 0 .. lead - 1 do
        NativePtr.set dst k src.[k]

    let mutable i = lead

    while i <= n - width do
        Vector.StoreAlignedNonTemporal(Vector<float>(src.Slice(i, width)), NativePtr.add dst i)
        i <- i + width

    while i < n do
        NativePtr.set dst i src.[i]
        i <- i + 1

/// `src.CopyTo dst`, non-temporally when `dst` is large (the same values either way).
let copy (src: ReadOnlySpan<float>) (dst: Span<float>) =
    if src.Length <> dst.Length then
        invalidArg "dst" (sprintf "Stores.copy: %d values into %d" src.Length dst.Length)

    if isLarge dst.Length then
        use p = fixed dst
        copyToPinned src p
        fence ()
    else
        src.CopyTo dst
