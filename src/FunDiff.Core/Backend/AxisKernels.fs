/// Kernels that work along axes: reductions (max/min/prod over axes), argmax/argmin, cumulative
/// sums, gather along an axis and its transpose scatter-add. Each views its operand as rows:
/// the reduced (or scanned) axes are moved last, so the inner loops run over contiguous rows.
module internal FunDiff.Backend.AxisKernels

open System
open System.Numerics.Tensors
open FunDiff

/// The operand with `axes` moved to the end (a copy only when they are not already last),
/// as (rows, rowLength, kept shape).
let private rowsOver (axes: int[]) (x: NDArray) =
    let rank = x.Shape.Length

    let kept = Shape.complementAxes rank axes

    let perm = Array.append kept axes

    let moved =
        if perm = Array.init rank id then
            x
        else
            Layout.transpose perm x

    let rowLength = axes |> Array.fold (fun acc a -> acc * x.Shape.[a]) 1
    let keptShape = kept |> Array.map (fun k -> x.Shape.[k])
    // the NDArray, not its raw data: the caller keeps it alive while reading (BufferPool)
    moved, rowLength, keptShape

/// Reduces one row (a span of the rows' buffer) to one value.
type private RowReduction = delegate of ReadOnlySpan<float> -> float

/// Reduces every row with `reduce`.
let private reduceRows (reduce: RowReduction) (axes: int[]) (x: NDArray) =
    let moved, rowLength, keptShape = rowsOver axes x
    let data = moved.Span
    let rows = Shape.size keptShape
    let out = NDArray.alloc rows

    for r in 0 .. rows - 1 do
        out.[r] <- reduce.Invoke(data.Slice(r * rowLength, rowLength))

    GC.KeepAlive moved
    NDArray(Aval(keptShape, x.DType), out)

// NaN wins, as in NumPy's max/min: the fold keeps the first NaN, and otherwise the first
// element that reaches the extreme (of equal zeros, the first one's sign)
let private nanMax (a: float) (b: float) =
    if Double.IsNaN a then a
    elif Double.IsNaN b || b > a then b
    else a

let private nanMin (a: float) (b: float) =
    if Double.IsNaN a then a
    elif Double.IsNaN b || b < a then b
    else a

/// Rows at least this long take TensorPrimitives' vectorized Max/Min and a fix-up; shorter ones
/// the plain fold, which costs less than the call and the fix-up's test.
[<Literal>]
let private VectorRowLength = 16

/// The element of `row` that the fold by nanMax/nanMin returns, given the extreme `m` of the row
/// as TensorPrimitives.Max/Min computes it (NaN if any element is, otherwise a value equal to
/// the extreme, of either sign for zero). The fold returns the first NaN (with its payload) or
/// the first element equal to the extreme, and only NaN and zero have more than one
/// representation, so only they need a scan, which stops at the element it looks for.
let private firstLike (row: ReadOnlySpan<float>) (m: float) =
    if Double.IsNaN m then
        let mutable i = 0

        while not (Double.IsNaN row.[i]) do
            i <- i + 1

        row.[i]
    elif m = 0.0 then
        let mutable i = 0

        while row.[i] <> 0.0 do
            i <- i + 1

        row.[i]
    else
        m

/// The fold of `row` by nanMax from -inf (`largest`) or nanMin from +inf (an empty row gives
/// the seed); long rows take the vectorized extreme made equal to the fold's first matching
/// element (`firstLike`).
let private extremeRow (largest: bool) (row: ReadOnlySpan<float>) =
    if row.Length < VectorRowLength then
        let mutable acc =
            if largest then
                Double.NegativeInfinity
            else
                Double.PositiveInfinity

        for v in row do
            acc <- if largest then nanMax acc v else nanMin acc v

        acc
    else
        firstLike
            row
            (if largest then
                 TensorPrimitives.Max row
             else
                 TensorPrimitives.Min row)

let private maxRow (row: ReadOnlySpan<float>) = extremeRow true row
let private minRow (row: ReadOnlySpan<float>) = extremeRow false row

/// The product of `row`, left to right from 1 (the order fixes the rounding).
let private prodRow (row: ReadOnlySpan<float>) =
    let mutable acc = 1.0

    for v in row do
        acc <- acc * v

    acc

/// The maximum over `axes` (NaN propagates; -inf for an empty reduction).
let reduceMax (axes: int[]) (x: NDArray) = reduceRows (RowReduction maxRow) axes x

/// The minimum over `axes` (NaN propagates; +inf for an empty reduction).
let reduceMin (axes: int[]) (x: NDArray) = reduceRows (RowReduction minRow) axes x

/// The product over `axes` (1 for an empty reduction).
let reduceProd (axes: int[]) (x: NDArray) =
    reduceRows (RowReduction prodRow) axes x

/// The index of the first largest (`largest` true) or smallest element along `axis`, as int64;
/// NaN counts as the extreme, as in NumPy.
let argExtreme (largest: bool) (axis: int) (x: NDArray) =
    let moved, rowLength, keptShape = rowsOver [| axis |] x
    let data = moved.Span
    let rows = Shape.size keptShape
    let out = NDArray.alloc rows

    for r in 0 .. rows - 1 do
        let mutable best = 0
        let mutable found = false
        let baseIndex = r * rowLength

        for j in 1 .. rowLength - 1 do
            if not found then
                let v, b = data.[baseIndex + j], data.[baseIndex + best]

                if Double.IsNaN b then
                    found <- true
                elif Double.IsNaN v then
                    best <- j
                    found <- true
                elif (largest && v > b) || (not largest && v < b) then
                    best <- j

        out.[r] <- float best

    GC.KeepAlive moved
    NDArray(Aval(keptShape, Int64), out)

/// Moves axis `axis` of a rank-`rank` array to the end and back: the two permutations.
let private axisLast (rank: int) (axis: int) =
    let perm = Array.append (Shape.complementAxes rank [| axis |]) [| axis |]

    perm, Shape.invertPermutation perm

/// Inclusive cumulative sum along `axis`; from the end when `reverse`.
let cumsum (axis: int) (reverse: bool) (x: NDArray) =
    let rank = x.Shape.Length
    let perm, inverse = axisLast rank axis
    let identity = axis = rank - 1
    let moved = if identity then x else Layout.transpose perm x
    let n = x.Shape.[axis]
    let data = moved.Span
    let out = NDArray.alloc data.Length

    if n > 0 then
        for r in 0 .. data.Length / n - 1 do
            let mutable acc = 0.0

            for j in 0 .. n - 1 do
                let i = r * n + (if reverse then n - 1 - j else j)
                acc <- acc + data.[i]
                out.[i] <- acc

    let result = NDArray(moved.Aval, out)
    if identity then result else Layout.transpose inverse result

/// (outer, n, inner) sizes around `axis`.
let private around (shape: int[]) (axis: int) =
    let outer = Array.fold (*) 1 shape.[.. axis - 1]
    let inner = Array.fold (*) 1 shape.[axis + 1 ..]
    outer, shape.[axis], inner

/// An index as printed in errors: `5`, `1.5`, `NaN`, `Infinity`.
let private showIndex (v: float) =
    if Double.IsFinite v && v = Math.Truncate v && abs v < 1e18 then
        string (int64 v)
    else
        string v

/// Raises the error for a bad index value `v` (NaN, not whole, or out of range).
let private badIndex (op: string) (where: string) (n: int) (v: float) =
    let valid =
        if n = 0 then
            "the axis is empty, so no index is valid"
        else
            sprintf "valid indices are %d..%d" -n (n - 1)

    if Double.IsNaN v then
        raise (ShapeException(sprintf "%s: index NaN is not a number, so it cannot index %s (%s)." op where valid))

    if v <> Math.Truncate v then
        raise (
            ShapeException(
                sprintf
                    "%s: index %s is not a whole number (%s); indices must be int64, or float64 holding whole numbers (Tensor.convert Int64 truncates toward zero)."
                    op
                    (showIndex v)
                    where
            )
        )

    raise (ShapeException(sprintf "%s: index %s is out of range for %s (%s)." op (showIndex v) where valid))

/// Checks one index value for an axis of `n` elements (`where` names it: "axis 0 of size 3")
/// and returns it in 0..n-1: a whole number in -n..n-1, negative ones counting from the end.
let checkIndex (op: string) (where: string) (n: int) (v: float) : int =
    // NaN fails every comparison, so it takes the error branch
    if v >= float -n && v < float n && v = Math.Truncate v then
        let i = int v
        if i < 0 then i + n else i
    else
        badIndex op where n v

/// Checks every index value (see checkIndex) without keeping them.
let checkIndexValues (op: string) (where: string) (n: int) (indices: NDArray) =
    let values = indices.Span

    for i in 0 .. values.Length - 1 do
        checkIndex op where n values.[i] |> ignore

/// Reads the int64 indices, wrapping negatives and raising for out-of-range ones.
let private checkedIndices (op: string) (axis: int) (n: int) (indices: NDArray) =
    let where = sprintf "axis %d of size %d" axis n
    let values = indices.Span
    let checkedValues = Array.zeroCreate values.Length

    for i in 0 .. values.Length - 1 do
        checkedValues.[i] <- checkIndex op where n values.[i]

    checkedValues

/// take: `operand` indexed along `axis` by `indices`; the result has shape
/// operand.shape[..axis-1] ++ indices.shape ++ operand.shape[axis+1..].
let gather (axis: int) (operand: NDArray) (indices: NDArray) =
    let outer, n, inner = around operand.Shape axis
    let idx = checkedIndices "take" axis n indices
    let m = idx.Length

    let shape =
        Array.concat [ operand.Shape.[.. axis - 1]; indices.Shape; operand.Shape.[axis + 1 ..] ]

    let out = NDArray.alloc (outer * m * inner)
    let src = operand.Span

    for o in 0 .. outer - 1 do
        for j in 0 .. m - 1 do
            src.Slice((o * n + idx.[j]) * inner, inner).CopyTo(Span<float>(out, (o * m + j) * inner, inner))

    NDArray(Aval(shape, operand.DType), out)

/// The transpose of gather: adds each slice of `updates` into position `indices[j]` of an
/// axis of size `size` (repeated indices accumulate).
let scatterAdd (axis: int) (size: int) (updates: NDArray) (indices: NDArray) =
    let idx = checkedIndices "scatter_add" axis size indices
    let m = idx.Length
    let outer = Array.fold (*) 1 updates.Shape.[.. axis - 1]
    let inner = Array.fold (*) 1 updates.Shape.[axis + indices.Shape.Length ..]

    let shape =
        Array.concat
            [
                updates.Shape.[.. axis - 1]
                [| size |]
                updates.Shape.[axis + indices.Shape.Length ..]
            ]

    let out = NDArray.alloc (outer * size * inner)
    Array.Clear out
    let src = updates.Span

    for o in 0 .. outer - 1 do
        for j in 0 .. m - 1 do
            let d = (o * size + idx.[j]) * inner
            let s = (o * m + j) * inner

            for i in 0 .. inner - 1 do
                out.[d + i] <- out.[d + i] + src.[s + i]

    NDArray(Aval(shape, updates.DType), out)
