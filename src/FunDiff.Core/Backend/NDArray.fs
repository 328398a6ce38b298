// Room: the concrete array every kernel reads and writes (an aval over a window of a float[]
// buffer, possibly pooled, possibly shared with the array it is a view of).
namespace FunDiff.Backend

open System
open System.Threading
open FunDiff

/// A dense, row-major, immutable array. Every dtype is stored in a `float[]`: `Int64` values
/// are whole numbers (exact up to 2^53) and `Bool` values are 0.0 or 1.0. One storage type
/// keeps every kernel single and SIMD-friendly; `float32` will bring a second one.
///
/// An array is a window of `Size` consecutive elements of its buffer: a contiguous slice or a
/// reshape shares its operand's buffer (a *view*) instead of copying it.
/// Kernels read through `Span`, which is that window; `Data` keeps the older contract (the
/// values from index 0, exactly `Size` of them) by copying a view's window.
/// Kernels never write into an array they did not allocate through `NDArray.alloc`.
///
/// A *uniform* array (a broadcast of one value, zeros or ones of a shape) holds its value once.
/// The kernels that know the form read that value (`IsUniform`, `At`); every other reader of
/// `Span`, `Data` or `Buffer` gets the values materialized once, on first read.
[<Sealed>]
type NDArray private (aval: Aval, buffer: float[], offset: int, uniform: bool) =
    do
        if isNull buffer then
            nullArg "buffer"

        if uniform then
            if buffer.Length <> 1 || offset <> 0 || aval.Size < 2 then
                invalidArg
                    "buffer"
                    "NDArray: a uniform array holds its one value at index 0 and has two elements or more"
        elif offset < 0 || offset > buffer.Length - aval.Size then
            invalidArg
                "offset"
                (sprintf
                    "NDArray: a window of %d values at offset %d does not fit a buffer of %d"
                    aval.Size
                    offset
                    buffer.Length)

    // A pooled buffer is reused only once no NDArray over it holds its lease. A view passes the
    // whole buffer, which its base keeps alive while the view is made, so it gets the base's
    // lease: the buffer outlives whichever of the two dies last.
    let lease = BufferPool.leaseOf buffer

    // A uniform array's values in full, made on the first read that needs them (null until
    // then); holding it keeps its buffer's lease alive for as long as this array lives.
    let mutable expanded = Unchecked.defaultof<NDArray>

    /// A window of `aval.Size` values of `buffer` from `offset` on (shared: a view).
    internal new(aval: Aval, buffer: float[], offset: int) = NDArray(aval, buffer, offset, false)

    /// An array over all of `data` (which the caller gives up), row-major; `data` must hold
    /// exactly `aval.Size` values.
    new(aval: Aval, data: float[]) = NDArray(aval, NDArray.WholeBuffer(aval, data), 0, false)

    // The length check of the public constructor, before the primary one adopts the buffer (a
    // buffer of the wrong length must not become a pooled array's storage before raising).
    static member private WholeBuffer(aval: Aval, data: float[]) =
        if isNull data then
            nullArg "data"

        if data.Length <> aval.Size then
            invalidArg "data" (sprintf "NDArray: %d values for aval %O" data.Length aval)

        data

    /// A uniform array of `aval` (two elements or more): `value` everywhere, stored once.
    static member internal Uniform(aval: Aval, value: float) = NDArray(aval, [| value |], 0, true)

    // The materialized form of a uniform array. Two threads racing here both fill a buffer; one
    // array wins and the other dies (its pooled buffer returns to the pool like any other).
    member private _.Expanded: NDArray =
        let current = Volatile.Read &expanded

        if not (obj.ReferenceEquals(current, null)) then
            current
        else
            let values = BufferPool.rent aval.Size
            Array.Fill(values, buffer.[0])
            let made = NDArray(aval, values, 0, false)

            let winner =
                Interlocked.CompareExchange(&expanded, made, Unchecked.defaultof<NDArray>)

            if obj.ReferenceEquals(winner, null) then made else winner

    /// Shape and dtype.
    member _.Aval = aval

    /// The values, row-major, from index 0: exactly `Size` of them. Never mutate. For an array
    /// that owns its whole buffer this is the buffer itself, valid while this NDArray is
    /// reachable (a large buffer returns to the pool once no NDArray over it is, so keep the
    /// NDArray alive, with `GC.KeepAlive` or by reading through `Read`, while you use it). For
    /// a view (a slice or reshape sharing another array's buffer) it is a fresh copy of the
    /// window, yours to keep: read `Span` instead to avoid the copy.
    member x.Data: float[] =
        if uniform then x.Expanded.Data
        elif offset = 0 && buffer.Length = aval.Size then buffer
        else buffer.AsSpan(offset, aval.Size).ToArray()

    /// The values, row-major, without copying (a view's window of its shared buffer). Valid
    /// while this NDArray is reachable, as `Data`.
    member x.Span: ReadOnlySpan<float> =
        if uniform then
            x.Expanded.Span
        else
            ReadOnlySpan<float>(buffer, offset, aval.Size)

    /// Runs `reader` on the values (`Data`), keeping this NDArray (and so its pooled buffer)
    /// alive until it returns: the scoped, checkable way to read `Data`. `reader` must not keep
    /// the array or return it.
    member x.Read(reader: float[] -> 'T) : 'T =
        let result = reader x.Data
        GC.KeepAlive x
        result

    /// The storage this array is a window of (shared with the arrays it is a view of, or that
    /// are views of it). Kernels index it from `Offset`; external code reads `Data` or `Span`.
    /// A uniform array's is its materialized buffer.
    member internal x.Buffer = if uniform then x.Expanded.Buffer else buffer

    /// Where this array's first element sits in `Buffer`.
    member internal _.Offset = if uniform then 0 else offset

    /// Whether this array is all of its buffer from index 0 (so `Data` is the buffer itself).
    member internal _.OwnsWholeBuffer = uniform || offset = 0 && buffer.Length = aval.Size

    /// Whether every element is one value stored once (read it with `At`).
    member internal _.IsUniform = uniform

    /// Whether a uniform array's values were materialized (for tests).
    member internal _.IsExpanded =
        uniform && not (obj.ReferenceEquals(Volatile.Read &expanded, null))

    /// The element at flat row-major index `i` (no copy, for a view or a uniform array too).
    member internal _.At(i: int) =
        if uniform then buffer.[0] else buffer.[offset + i]

    /// The pool's token for a pooled buffer (null otherwise); views share it.
    member internal _.Lease =
        if uniform then
            let e = Volatile.Read &expanded
            if obj.ReferenceEquals(e, null) then null else e.Lease
        else
            lease

    /// The dimensions.
    member _.Shape = aval.Shape
    /// The element type.
    member _.DType = aval.DType
    /// The number of elements.
    member _.Size = aval.Size

/// Construction of arrays: the single allocation function lives here.
module NDArray =

    /// The one place that allocates value storage: large buffers come from the pool, which
    /// the GC refills as arrays die. Uninitialized: the caller writes every element.
    let alloc (n: int) : float[] = BufferPool.rent n

    /// An array of the given aval filled with a value.
    let full (aval: Aval) (value: float) =
        let d = alloc aval.Size
        Array.Fill(d, value)
        NDArray(aval, d)

    /// When true on a thread, no uniform array is made on it (every one is an ordinary, filled
    /// array, as before uniform arrays): the reference the uniform laws of the tests compare
    /// against, and a way to measure what uniform arrays save.
    let internal noUniform = new ThreadLocal<bool>()

    /// An array of the given aval whose every element is `value`: uniform (the value stored
    /// once) from two elements on, an ordinary array below.
    let internal uniform (aval: Aval) (value: float) =
        if aval.Size >= 2 && not noUniform.Value then
            NDArray.Uniform(aval, value)
        else
            full aval value

    /// Whether `x` is one value everywhere and broadcasts like a scalar: uniform, or rank 0.
    let internal isConstant (x: NDArray) = x.IsUniform || x.Aval.Rank = 0

    /// The aval of every float64 scalar (avals are immutable, so one is shared).
    let internal scalarAval = Aval([||], Float64)

    /// A float64 scalar.
    let scalar (v: float) = NDArray(scalarAval, [| v |])

    /// Wraps existing storage (which the caller gives up) with a shape.
    let ofData (shape: int[]) (dtype: DType) (data: float[]) = NDArray(Aval(shape, dtype), data)

    /// A view: the `aval.Size` elements of `x`'s buffer from `x`'s element `offset` on, shared.
    /// A view of a uniform array is uniform (or one element).
    let internal view (aval: Aval) (offset: int) (x: NDArray) =
        if x.IsUniform then
            uniform aval (x.At 0)
        else
            NDArray(aval, x.Buffer, x.Offset + offset)

    /// The flat index of the first element of `x` that passes `test`, or -1 (a uniform array's
    /// value is tested once).
    let internal findIndex (test: float -> bool) (x: NDArray) =
        if x.IsUniform then
            if test (x.At 0) then 0 else -1
        else
            let values = x.Span
            let mutable i = 0

            while i < values.Length && not (test values.[i]) do
                i <- i + 1

            if i < values.Length then i else -1
