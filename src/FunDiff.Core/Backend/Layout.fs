/// Layout kernels: broadcast, transpose, slice, pad, concatenate, reduce_sum, reshape.
/// Reshape, and a slice of a contiguous region, are views (no copy); the others, and any other
/// slice, are one strided gather or scatter driven by an odometer loop (no recursion).
module internal FunDiff.Backend.Layout

#nowarn "9" // native pointers: the pinned outputs of non-temporal copies (Stores)

open System
open System.Threading
open System.Numerics.Tensors
open Microsoft.FSharp.NativeInterop
open FunDiff

/// Rows of at least this many elements are copied into a large output non-temporally (Stores);
/// shorter ones keep Array.Copy (the per-row set-up of an aligned copy would dominate them).
[<Literal>]
let private NonTemporalRow = 64

/// Whether `n` elements in rows of `inner` are stored non-temporally.
let private copiesRowsNonTemporally (n: int) (inner: int) =
    Stores.isLarge n && inner >= NonTemporalRow

/// Reads `src` at `offset + Σ index_k · srcStrides_k` for every index of `outShape`, row-major.
/// A zero stride repeats (broadcast); permuted strides transpose; an offset slices.
let gather (src: float[]) (offset: int) (srcStrides: int[]) (outShape: int[]) =
    let n = Shape.size outShape
    let out = NDArray.alloc n
    let rank = outShape.Length

    if n > 0 then
        if rank = 0 then
            out.[0] <- src.[offset]
        else
            let index = Array.zeroCreate rank
            let inner = outShape.[rank - 1]
            let innerStride = srcStrides.[rank - 1]
            let mutable pos = offset
            let mutable o = 0
            let nonTemporal = innerStride = 1 && copiesRowsNonTemporally n inner
            use pinned = fixed out

            while o < n do
                // the innermost axis is a tight loop; the odometer advances the outer axes
                if nonTemporal then
                    Stores.copyToPinned (ReadOnlySpan(src, pos, inner)) (NativePtr.add pinned o)
                elif innerStride = 1 then
                    Array.blit src pos out o inner
                elif innerStride = 0 then
                    // a broadcast along the innermost axis: a vectorized fill (10× the loop)
                    Span<float>(out, o, inner).Fill src.[pos]
                else
                    let mutable p = pos

                    for k in 0 .. inner - 1 do
                        out.[o + k] <- src.[p]
                        p <- p + innerStride

                o <- o + inner
                let mutable axis = rank - 2
                let mutable carry = true

                while carry && axis >= 0 do
                    index.[axis] <- index.[axis] + 1
                    pos <- pos + srcStrides.[axis]

                    if index.[axis] < outShape.[axis] then
                        carry <- false
                    else
                        pos <- pos - srcStrides.[axis] * outShape.[axis]
                        index.[axis] <- 0
                        axis <- axis - 1

            if nonTemporal then
                Stores.fence ()

    out

/// Writes `src` (row-major over `srcShape`) into `dst` at `offset + Σ index_k · dstStrides_k`;
/// non-temporally (Stores) when `dst` is large and the rows are long.
let scatterInto (dst: float[]) (offset: int) (dstStrides: int[]) (srcShape: int[]) (src: ReadOnlySpan<float>) =
    let n = src.Length
    let rank = srcShape.Length

    if n > 0 then
        if rank = 0 then
            dst.[offset] <- src.[0]
        else
            let index = Array.zeroCreate rank
            let inner = srcShape.[rank - 1]
            let innerStride = dstStrides.[rank - 1]
            let mutable pos = offset
            let mutable o = 0
            let nonTemporal = innerStride = 1 && copiesRowsNonTemporally dst.Length inner
            use pinned = fixed dst

            while o < n do
                if nonTemporal then
                    Stores.copyToPinned (src.Slice(o, inner)) (NativePtr.add pinned pos)
                elif innerStride = 1 then
                    src.Slice(o, inner).CopyTo(Span<float>(dst, pos, inner))
                else
                    let mutable p = pos

                    for k in 0 .. inner - 1 do
                        dst.[p] <- src.[o + k]
                        p <- p + innerStride

                o <- o + inner
                let mutable axis = rank - 2
                let mutable carry = true

                while carry && axis >= 0 do
                    index.[axis] <- index.[axis] + 1
                    pos <- pos + dstStrides.[axis]

                    if index.[axis] < srcShape.[axis] then
                        carry <- false
                    else
                        pos <- pos - dstStrides.[axis] * srcShape.[axis]
                        index.[axis] <- 0
                        axis <- axis - 1

            if nonTemporal then
                Stores.fence ()

/// broadcast_in_dim as a gather with zero strides on the repeated axes.
let private broadcastGather (aval: Aval) (dims: int[]) (x: NDArray) =
    let shape = aval.Shape
    let xStrides = Shape.strides x.Shape
    let strides = Array.zeroCreate shape.Length

    for k in 0 .. dims.Length - 1 do
        if x.Shape.[k] <> 1 then
            strides.[dims.[k]] <- xStrides.[k]

    NDArray(aval, gather x.Buffer x.Offset strides shape)

/// broadcast_in_dim: operand axis k becomes output axis dims[k]; size-1 axes and new axes repeat.
/// A broadcast of one value (an operand of one element, or a uniform one) is uniform: O(1).
let broadcastInDim (shape: int[]) (dims: int[]) (x: NDArray) =
    let aval = Aval(shape, x.DType)

    if (x.Size = 1 || x.IsUniform) && aval.Size >= 2 then
        NDArray.uniform aval (x.At 0)
    elif aval.Size = x.Size then
        // only axes of size 1 are inserted (the dims increase): the same elements in the same
        // order, so a view (batch rules insert such axes, e.g. a batch of one)
        NDArray.view aval 0 x
    else
        broadcastGather aval dims x

/// Reshape shares the storage (arrays are immutable): the result is a view of `x`'s window.
let reshape (shape: int[]) (x: NDArray) = NDArray.view (Aval(shape, x.DType)) 0 x

/// Edge of the square tiles of a transposing copy. Copied element by element, one side walks
/// with a large stride and at 10⁷ elements misses the cache on every element; a 32 × 32 tile
/// of doubles is 8 KB read and 8 KB written, both in L1 (32 KB or more), so each cache line
/// of either side is fetched once per tile instead of once per element.
[<Literal>]
let private TransposeTile = 32

/// Copies a rows × cols block with its axes swapped, tile by tile:
/// dst[dstAt + i·dstStride + j] = src[srcAt + i + j·srcStride] for i < rows, j < cols.
let private transposeBlock
    (src: float[])
    (srcAt: int)
    (srcStride: int)
    (dst: float[])
    (dstAt: int)
    (dstStride: int)
    (rows: int)
    (cols: int)
    =
    let mutable i0 = 0

    while i0 < rows do
        let iEnd = Math.Min(rows, i0 + TransposeTile)
        let mutable j0 = 0

        while j0 < cols do
            let jEnd = Math.Min(cols, j0 + TransposeTile)

            for i in i0 .. iEnd - 1 do
                let d = dstAt + i * dstStride
                let mutable s = srcAt + i + j0 * srcStride

                for j in j0 .. jEnd - 1 do
                    dst.[d + j] <- src.[s]
                    s <- s + srcStride

            j0 <- jEnd

        i0 <- iEnd

/// The transpose of `x` (output axis k reads `x` with stride `strides[k]`) when the operand's
/// last axis, read at stride 1, becomes output axis `q` < rank - 1: for every index of the other
/// axes, the (axis q) × (last axis) block is a 2-D transposing copy, done by tiles.
let private transposeByTiles (q: int) (strides: int[]) (shape: int[]) (x: NDArray) =
    let rank = shape.Length
    let out = NDArray.alloc (Shape.size shape)
    let outStrides = Shape.strides shape
    let rows, cols = shape.[q], shape.[rank - 1]
    let outer = Array.init (rank - 2) (fun k -> if k < q then k else k + 1)
    let index = Array.zeroCreate outer.Length
    let blocks = if rows * cols = 0 then 0 else out.Length / (rows * cols)
    let mutable srcAt = x.Offset
    let mutable dstAt = 0

    for _ in 1..blocks do
        transposeBlock x.Buffer srcAt strides.[rank - 1] out dstAt outStrides.[q] rows cols
        // an odometer over the other axes, the last of them fastest
        let mutable k = outer.Length - 1
        let mutable carry = true

        while carry && k >= 0 do
            let axis = outer.[k]
            index.[k] <- index.[k] + 1
            srcAt <- srcAt + strides.[axis]
            dstAt <- dstAt + outStrides.[axis]

            if index.[k] < shape.[axis] then
                carry <- false
            else
                srcAt <- srcAt - strides.[axis] * shape.[axis]
                dstAt <- dstAt - outStrides.[axis] * shape.[axis]
                index.[k] <- 0
                k <- k - 1

    out

/// transpose: output axis i is operand axis perm[i]. When the operand's last axis stays last,
/// the copy runs along contiguous rows (gather); otherwise it goes by tiles.
let transpose (perm: int[]) (x: NDArray) =
    let xStrides = Shape.strides x.Shape
    let shape = perm |> Array.map (fun p -> x.Shape.[p])
    let strides = perm |> Array.map (fun p -> xStrides.[p])
    let rank = perm.Length
    let q = Array.IndexOf(perm, rank - 1)

    let out =
        if rank < 2 || q = rank - 1 then
            gather x.Buffer x.Offset strides shape
        else
            transposeByTiles q strides shape x

    NDArray(Aval(shape, x.DType), out)

/// Whether the region `start`..`limit` (exclusive) of a row-major array of shape `shape` is
/// one run of consecutive elements: the axes before the first one that selects other than one
/// index select one index each, and every axis after it is whole.
let isContiguousRegion (shape: int[]) (start: int[]) (limit: int[]) =
    let rank = shape.Length
    let mutable first = 0

    while first < rank && limit.[first] - start.[first] = 1 do
        first <- first + 1

    let mutable whole = true

    for k in first + 1 .. rank - 1 do
        if start.[k] <> 0 || limit.[k] <> shape.[k] then
            whole <- false

    whole

/// Whether a window of `size` elements of `buffer` should be a view rather than a copy. A view
/// keeps all of its buffer alive, and a pooled buffer out of the pool, for as long as the view
/// lives: a small window of a large pooled buffer (`x.[0]` of a 10⁶-element temporary kept in
/// a list, say) is copied, which costs at most a quarter of what sharing would pin.
let private viewPays (size: int) (buffer: float[]) =
    size > 0
    && (buffer.Length < BufferPool.MinPooledLength || size >= buffer.Length / 4)

/// When true on a thread, every slice on it copies, as slices did before views: the reference
/// the view laws of the tests compare views against (and a way to measure what views save).
let copySlices = new ThreadLocal<bool>()

/// slice with NumPy's exclusive limits and unit strides: a view of `x` (sharing its buffer, no
/// copy) when the region is contiguous, uniform when `x` is, else a strided copy.
let slice (start: int[]) (limit: int[]) (x: NDArray) =
    let xStrides = Shape.strides x.Shape
    let shape = Array.map2 (-) limit start
    let offset = Array.fold2 (fun acc s st -> acc + s * st) 0 start xStrides
    let aval = Aval(shape, x.DType)

    if x.IsUniform then
        // any region of a uniform array is uniform (or one element)
        NDArray.view aval 0 x
    elif
        isContiguousRegion x.Shape start limit
        && viewPays aval.Size x.Buffer
        && not copySlices.Value
    then
        NDArray.view aval offset x
    else
        NDArray(aval, gather x.Buffer (x.Offset + offset) xStrides shape)

/// pad with zeros: `low[k]` zeros before and `high[k]` after axis k.
let pad (low: int[]) (high: int[]) (x: NDArray) =
    let shape = Array.init x.Shape.Length (fun k -> low.[k] + x.Shape.[k] + high.[k])
    let out = NDArray.alloc (Shape.size shape)
    let strides = Shape.strides shape
    let offset = Array.fold2 (fun acc l st -> acc + l * st) 0 low strides
    let interiorLimit = Array.map2 (+) low x.Shape

    if x.Size > 0 && isContiguousRegion shape low interiorLimit then
        // the operand lands in one run (a contiguous slice's cotangent): zero only around it
        Array.Clear(out, 0, offset)
        Stores.copy x.Span (Span<float>(out, offset, x.Size))
        Array.Clear(out, offset + x.Size, out.Length - offset - x.Size)
    else
        Array.Clear out
        scatterInto out offset strides x.Shape x.Span

    NDArray(Aval(shape, x.DType), out)

/// concatenate along an axis.
let concatenate (axis: int) (xs: NDArray[]) =
    let shape = Array.copy xs.[0].Shape
    shape.[axis] <- xs |> Array.sumBy (fun x -> x.Shape.[axis])
    let out = NDArray.alloc (Shape.size shape)
    let strides = Shape.strides shape
    let mutable at = 0

    for x in xs do
        scatterInto out (at * strides.[axis]) strides x.Shape x.Span
        at <- at + x.Shape.[axis]

    NDArray(Aval(shape, xs.[0].DType), out)

/// Sums over the given (sorted, distinct) axes, which disappear from the shape.
let reduceSum (axes: int[]) (x: NDArray) =
    let rank = x.Shape.Length
    let reduced = Array.init rank (fun k -> Array.contains k axes)

    let outShape =
        [|
            for k in 0 .. rank - 1 do
                if not reduced.[k] then
                    x.Shape.[k]
        |]

    let outAval = Aval(outShape, x.DType)

    if outShape.Length = 0 then
        NDArray(outAval, [| TensorPrimitives.Sum x.Span |])
    else
        let out = NDArray.alloc (Shape.size outShape)
        Array.Clear out
        // map every operand index to its output position: reduced axes get stride 0
        let outStrides = Shape.strides outShape
        let strides = Array.zeroCreate rank
        let mutable j = 0

        for k in 0 .. rank - 1 do
            if not reduced.[k] then
                strides.[k] <- outStrides.[j]
                j <- j + 1

        let src = x.Span
        let n = src.Length

        if n > 0 then
            let index = Array.zeroCreate rank
            let inner = x.Shape.[rank - 1]
            let innerStride = strides.[rank - 1]
            let mutable pos = 0
            let mutable i = 0

            while i < n do
                if innerStride = 0 then
                    out.[pos] <- out.[pos] + TensorPrimitives.Sum(src.Slice(i, inner))
                else
                    let dst = Span(out, pos, inner)
                    TensorPrimitives.Add(ReadOnlySpan(out, pos, inner), src.Slice(i, inner), dst)

                i <- i + inner
                let mutable axis = rank - 2
                let mutable carry = true

                while carry && axis >= 0 do
                    index.[axis] <- index.[axis] + 1
                    pos <- pos + strides.[axis]

                    if index.[axis] < x.Shape.[axis] then
                        carry <- false
                    else
                        pos <- pos - strides.[axis] * x.Shape.[axis]
                        index.[axis] <- 0
                        axis <- axis - 1

        NDArray(outAval, out)
