// Room: the concrete array every kernel reads and writes (an aval over a window of a float[]
// buffer, possibly pooled, possibly shared with the array it is a view of).
namespace FunDiff.Backend

open System
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
[<Sealed>]
type NDArray internal (aval: Aval, buffer: float[], offset: int) =
    do
        if isNull buffer then
            nullArg "buffer"

        if offset < 0 || offset > buffer.Length - aval.Size then
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

    /// An array over all of `data` (which the caller gives up), row-major; `data` must hold
    /// exactly `aval.Size` values.
    new(aval: Aval, data: float[]) = NDArray(aval, NDArray.WholeBuffer(aval, data), 0)

    // The length check of the public constructor, before the primary one adopts the buffer (a
    // buffer of the wrong length must not become a pooled array's storage before raising).
    static member private WholeBuffer(aval: Aval, data: float[]) =
        if isNull data then
            nullArg "data"

        if data.Length <> aval.Size then
            invalidArg "data" (sprintf "NDArray: %d values for aval %O" data.Length aval)

        data

    /// Shape and dtype.
    member _.Aval = aval

    /// The values, row-major, from index 0: exactly `Size` of them. Never mutate. For an array
    /// that owns its whole buffer this is the buffer itself, valid while this NDArray is
    /// reachable (a large buffer returns to the pool once no NDArray over it is, so keep the
    /// NDArray alive, with `GC.KeepAlive` or by reading through `Read`, while you use it). For
    /// a view (a slice or reshape sharing another array's buffer) it is a fresh copy of the
    /// window, yours to keep: read `Span` instead to avoid the copy.
    member _.Data: float[] =
        if offset = 0 && buffer.Length = aval.Size then
            buffer
        else
            buffer.AsSpan(offset, aval.Size).ToArray()

    /// The values, row-major, without copying (a view's window of its shared buffer). Valid
    /// while this NDArray is reachable, as `Data`.
    member _.Span: ReadOnlySpan<float> = ReadOnlySpan<float>(buffer, offset, aval.Size)

    /// Runs `reader` on the values (`Data`), keeping this NDArray (and so its pooled buffer)
    /// alive until it returns: the scoped, checkable way to read `Data`. `reader` must not keep
    /// the array or return it.
    member x.Read(reader: float[] -> 'T) : 'T =
        let result = reader x.Data
        GC.KeepAlive x
        result

    /// The storage this array is a window of (shared with the arrays it is a view of, or that
    /// are views of it). Kernels index it from `Offset`; external code reads `Data` or `Span`.
    member internal _.Buffer = buffer

    /// Where this array's first element sits in `Buffer`.
    member internal _.Offset = offset

    /// Whether this array is all of its buffer from index 0 (so `Data` is the buffer itself).
    member internal _.OwnsWholeBuffer = offset = 0 && buffer.Length = aval.Size

    /// The element at flat row-major index `i` (no copy, for a view too).
    member internal _.At(i: int) = buffer.[offset + i]

    /// The pool's token for a pooled buffer (null otherwise); views share it.
    member internal _.Lease = lease
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

    /// The aval of every float64 scalar (avals are immutable, so one is shared).
    let internal scalarAval = Aval([||], Float64)

    /// A float64 scalar.
    let scalar (v: float) = NDArray(scalarAval, [| v |])

    /// Wraps existing storage (which the caller gives up) with a shape.
    let ofData (shape: int[]) (dtype: DType) (data: float[]) = NDArray(Aval(shape, dtype), data)

    /// A view: the `aval.Size` elements of `x`'s buffer from `x`'s element `offset` on, shared.
    let internal view (aval: Aval) (offset: int) (x: NDArray) =
        NDArray(aval, x.Buffer, x.Offset + offset)

    /// The flat index of the first element of `x` that passes `test`, or -1.
    let internal findIndex (test: float -> bool) (x: NDArray) =
        let values = x.Span
        let mutable i = 0

        while i < values.Length && not (test values.[i]) do
            i <- i + 1

        if i < values.Length then i else -1
