// Room: the concrete array every kernel reads and writes (an aval over a float[] buffer, possibly pooled).
namespace FunDiff.Backend

open System
open FunDiff

/// A dense, row-major, immutable array. Every dtype is stored in a `float[]`: `Int64` values
/// are whole numbers (exact up to 2^53) and `Bool` values are 0.0 or 1.0. One storage type
/// keeps every kernel single and SIMD-friendly; `float32` will bring a second one.
/// Kernels never write into an array they did not allocate through `NDArray.alloc`.
[<Sealed>]
type NDArray(aval: Aval, data: float[]) =
    do
        if data.Length <> aval.Size then
            invalidArg "data" (sprintf "NDArray: %d values for aval %O" data.Length aval)

    // a pooled buffer is reused only once no NDArray over it (views included) holds its lease
    let lease = BufferPool.leaseOf data

    /// Shape and dtype.
    member _.Aval = aval
    /// The values, row-major. Never mutate. Valid while this NDArray is reachable: a large
    /// buffer returns to the pool once no NDArray over it is, so keep the NDArray alive
    /// (`GC.KeepAlive`, or read through `Read`) for as long as you use the raw array.
    member _.Data = data

    /// Runs `reader` on the raw values, keeping this NDArray (and so its pooled buffer) alive
    /// until it returns: the scoped, checkable way to read `Data`. `reader` must not keep the
    /// array or return it.
    member x.Read(reader: float[] -> 'T) : 'T =
        let result = reader data
        GC.KeepAlive x
        result

    /// The pool's token for a pooled buffer (null otherwise); views share it.
    member internal _.Lease = lease
    /// The dimensions.
    member _.Shape = aval.Shape
    /// The element type.
    member _.DType = aval.DType
    /// The number of elements.
    member _.Size = data.Length

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
