/// Linear-algebra kernels: batched matrix multiplication, and dot_general reduced to it by
/// permuting each operand to (batch, free, contracting) or (batch, contracting, free).
module FunDiff.Backend.Linalg

open System
open System.Numerics.Tensors
open FunDiff

/// Output rows at least this long amortize a vectorized call's set-up cost whatever k is
/// (measured: below it, and when n ≤ k, one dot product per element is up to 3× faster).
[<Literal>]
let private LongRow = 128

/// out[i, :] = Σ_p a[i, p] · b[p, :] for one (m×k)·(k×n) product with k ≥ 1: m·k vectorized
/// calls of length n. The i-p-j order streams rows of b and keeps the output row in cache.
let private multiplyByRows
    (a: float[])
    (aOff: int)
    (b: float[])
    (bOff: int)
    (out: float[])
    (outOff: int)
    (m: int)
    (k: int)
    (n: int)
    =
    for i in 0 .. m - 1 do
        let rowOff = outOff + i * n
        let aRow = aOff + i * k
        let row = Span(out, rowOff, n)
        // the first term initializes the row, so it needs no clearing pass
        TensorPrimitives.Multiply(ReadOnlySpan(b, bOff, n), a.[aRow], row)

        for p in 1 .. k - 1 do
            TensorPrimitives.MultiplyAdd(
                ReadOnlySpan(b, bOff + p * n, n),
                a.[aRow + p],
                ReadOnlySpan(out, rowOff, n),
                row
            )

/// The same product as m·n vectorized dot products of length k, of a row of a with a column of
/// b read from `columns` (b transposed, n×k, at `colOff`): better when rows are short.
let private multiplyByColumns
    (a: float[])
    (aOff: int)
    (columns: float[])
    (colOff: int)
    (out: float[])
    (outOff: int)
    (m: int)
    (k: int)
    (n: int)
    =
    for i in 0 .. m - 1 do
        let aRow = ReadOnlySpan(a, aOff + i * k, k)

        for j in 0 .. n - 1 do
            out.[outOff + i * n + j] <- TensorPrimitives.Dot(aRow, ReadOnlySpan(columns, colOff + j * k, k))

/// Multiplies `batch` pairs of row-major matrices: `a` is batch×m×k, `b` is batch×k×n, the
/// result is batch×m×n (zeros when k = 0); raises ArgumentException when a length disagrees.
let matmulBatched (batch: int) (m: int) (k: int) (n: int) (a: float[]) (b: float[]) : float[] =
    if a.Length <> batch * m * k || b.Length <> batch * k * n then
        invalidArg
            "a"
            (sprintf
                "matmulBatched: %d and %d values do not hold %d×%d×%d and %d×%d×%d matrices"
                a.Length
                b.Length
                batch
                m
                k
                batch
                k
                n)

    let out = NDArray.alloc (batch * m * n)

    if k = 0 then
        Array.Clear out
    elif m > 0 && n > 0 then
        if n >= LongRow || n > k then
            for s in 0 .. batch - 1 do
                multiplyByRows a (s * m * k) b (s * k * n) out (s * m * n) m k n
        elif n = 1 then
            // a k×1 matrix is its own transpose
            for s in 0 .. batch - 1 do
                multiplyByColumns a (s * m * k) b (s * k) out (s * m) m k 1
        else
            let columns = NDArray.alloc (k * n)

            for s in 0 .. batch - 1 do
                let bOff = s * k * n

                for p in 0 .. k - 1 do
                    for j in 0 .. n - 1 do
                        columns.[j * k + p] <- b.[bOff + p * n + j]

                multiplyByColumns a (s * m * k) columns 0 out (s * m * n) m k n

    out

/// Whether a permutation leaves every axis in place (then transposing would only copy).
let private isIdentity (perm: int[]) =
    let mutable same = true

    for i in 0 .. perm.Length - 1 do
        if perm.[i] <> i then
            same <- false

    same

let private permute (perm: int[]) (x: NDArray) =
    if isIdentity perm then x else Layout.transpose perm x

/// The axes of a rank-`rank` operand that are neither batch nor contracting, ascending.
let private freeAxes (rank: int) (batch: int[]) (contract: int[]) =
    [|
        for axis in 0 .. rank - 1 do
            if not (Array.contains axis batch || Array.contains axis contract) then
                axis
    |]

let private sizesOf (shape: int[]) (axes: int[]) = axes |> Array.map (fun a -> shape.[a])

/// JAX's lax.dot_general: contracts lhs axes `lhsContract` with rhs axes `rhsContract` pairwise
/// and pairs batch axes likewise; the result has shape (batch dims in lhsBatch's order) ++ (lhs
/// free dims) ++ (rhs free dims) and the lhs dtype; raises ArgumentException when paired sizes
/// differ. Example: `dotGeneral [|1|] [|0|] [||] [||] a b` is the matrix product of a and b.
let dotGeneral
    (lhsContract: int[])
    (rhsContract: int[])
    (lhsBatch: int[])
    (rhsBatch: int[])
    (lhs: NDArray)
    (rhs: NDArray)
    : NDArray =
    let lhsShape = lhs.Shape
    let rhsShape = rhs.Shape
    let batchSizes = sizesOf lhsShape lhsBatch
    let contractSizes = sizesOf lhsShape lhsContract

    if
        lhsContract.Length <> rhsContract.Length
        || lhsBatch.Length <> rhsBatch.Length
        || not (Shape.equal batchSizes (sizesOf rhsShape rhsBatch))
        || not (Shape.equal contractSizes (sizesOf rhsShape rhsContract))
    then
        invalidArg
            "rhs"
            (sprintf
                "dotGeneral: shapes %s and %s do not pair contracting axes %A with %A and batch axes %A with %A"
                (Shape.show lhsShape)
                (Shape.show rhsShape)
                lhsContract
                rhsContract
                lhsBatch
                rhsBatch)

    let lhsFree = freeAxes lhsShape.Length lhsBatch lhsContract
    let rhsFree = freeAxes rhsShape.Length rhsBatch rhsContract
    let lhsFreeSizes = sizesOf lhsShape lhsFree
    let rhsFreeSizes = sizesOf rhsShape rhsFree
    let lhsPerm = Array.concat [ lhsBatch; lhsFree; lhsContract ]
    let rhsPerm = Array.concat [ rhsBatch; rhsContract; rhsFree ]

    if lhsPerm.Length <> lhsShape.Length then
        invalidArg
            "lhsContract"
            (sprintf "dotGeneral: batch axes %A and contracting axes %A repeat an axis" lhsBatch lhsContract)

    if rhsPerm.Length <> rhsShape.Length then
        invalidArg
            "rhsContract"
            (sprintf "dotGeneral: batch axes %A and contracting axes %A repeat an axis" rhsBatch rhsContract)

    let b = Shape.size batchSizes
    let m = Shape.size lhsFreeSizes
    let k = Shape.size contractSizes
    let n = Shape.size rhsFreeSizes
    let lhsData = (permute lhsPerm lhs).Data
    let rhsData = (permute rhsPerm rhs).Data
    let outShape = Array.concat [ batchSizes; lhsFreeSizes; rhsFreeSizes ]
    NDArray(Aval(outShape, lhs.DType), matmulBatched b m k n lhsData rhsData)
