// Room: the matrix factorizations behind the public Linalg module (LU, Cholesky, triangular
// solve, Householder QR; symmetric eigendecomposition and SVD through MathNet), each over a stack of
// matrices (leading axes are a batch, as NumPy's).
module internal FunDiff.Backend.Factor

open System
open FunDiff
open MathNet.Numerics.LinearAlgebra
open System.Numerics.Tensors

/// The number of matrices of `rows`×`cols` in a stack of shape `shape` (leading axes).
let private count (shape: int[]) (rows: int) (cols: int) =
    if rows * cols = 0 then
        Shape.size shape.[.. shape.Length - 3]
    else
        Shape.size shape / (rows * cols)

let private rowsCols (x: NDArray) =
    let s = x.Shape
    s.[s.Length - 2], s.[s.Length - 1]

let private singular (op: string) (shape: int[]) (batch: int) (fix: string) =
    raise (
        LinAlgException(
            sprintf
                "%s: the matrix%s of shape %s is singular (a zero pivot). %s"
                op
                (if Shape.size shape.[.. shape.Length - 3] > 1 then
                     sprintf " at batch index %d" batch
                 else
                     "")
                (Shape.show shape)
                fix
        )
    )

/// LU with partial pivoting of the n×n matrix at `a.[off..]`, in place (row-major: the unit
/// lower factor below the diagonal, U on and above it); `perm` receives the row order. Returns
/// the permutation's sign and whether a pivot was zero (the elimination then skips that column,
/// so the determinant is still the product of U's diagonal, 0).
let luInPlace (a: float[]) (off: int) (n: int) (perm: int[]) : struct (float * bool) =
    let mutable sign = 1.0
    let mutable isSingular = false

    for i in 0 .. n - 1 do
        perm.[i] <- i

    for k in 0 .. n - 1 do
        let mutable p = k
        let mutable best = abs a.[off + k * n + k]

        for i in k + 1 .. n - 1 do
            let v = abs a.[off + i * n + k]

            if v > best then
                best <- v
                p <- i

        if p <> k then
            let rk = a.AsSpan(off + k * n, n)
            let rp = a.AsSpan(off + p * n, n)
            let tmp = rk.ToArray()
            rp.CopyTo rk
            tmp.AsSpan().CopyTo rp
            let t = perm.[k]
            perm.[k] <- perm.[p]
            perm.[p] <- t
            sign <- -sign

        let pivot = a.[off + k * n + k]

        if pivot = 0.0 then
            isSingular <- true
        else
            let rowK = ReadOnlySpan<float>(a, off + k * n + k + 1, n - k - 1)

            for i in k + 1 .. n - 1 do
                let l = a.[off + i * n + k] / pivot
                a.[off + i * n + k] <- l

                if l <> 0.0 then
                    let rowI = a.AsSpan(off + i * n + k + 1, n - k - 1)

                    for j in 0 .. rowI.Length - 1 do
                        rowI.[j] <- rowI.[j] - l * rowK.[j]

    struct (sign, isSingular)

/// Solves L U X = P B in place in `b.[boff..]` (n×k, row-major) from an LU of `luInPlace`.
let private luSolveInPlace (lu: float[]) (off: int) (n: int) (perm: int[]) (b: float[]) (boff: int) (k: int) =
    let src = Array.sub b boff (n * k)

    for i in 0 .. n - 1 do
        Array.blit src (perm.[i] * k) b (boff + i * k) k

    // forward: unit lower
    for i in 1 .. n - 1 do
        let rowI = b.AsSpan(boff + i * k, k)

        for j in 0 .. i - 1 do
            let l = lu.[off + i * n + j]

            if l <> 0.0 then
                let rowJ = ReadOnlySpan<float>(b, boff + j * k, k)

                for c in 0 .. k - 1 do
                    rowI.[c] <- rowI.[c] - l * rowJ.[c]
    // backward: U
    for i in n - 1 .. -1 .. 0 do
        let rowI = b.AsSpan(boff + i * k, k)

        for j in i + 1 .. n - 1 do
            let u = lu.[off + i * n + j]

            if u <> 0.0 then
                let rowJ = ReadOnlySpan<float>(b, boff + j * k, k)

                for c in 0 .. k - 1 do
                    rowI.[c] <- rowI.[c] - u * rowJ.[c]

        let d = lu.[off + i * n + i]

        for c in 0 .. k - 1 do
            rowI.[c] <- rowI.[c] / d

/// X with A X = B for a stack of n×n matrices A and of n×k matrices B (same leading axes).
/// A singular matrix raises, naming `op`.
let solve (op: string) (a: NDArray) (b: NDArray) =
    let n, _ = rowsCols a
    let _, k = rowsCols b
    let m = count a.Shape n n
    let lu = Array.copy a.Data
    let x = Array.copy b.Data
    let perm = Array.zeroCreate n

    for t in 0 .. m - 1 do
        let struct (_, isSingular) = luInPlace lu (t * n * n) n perm

        if isSingular then
            singular
                op
                a.Shape
                t
                "Check the matrix for dependent rows or columns; for a least-squares solution use Linalg.lstsq, or Linalg.pinv."

        luSolveInPlace lu (t * n * n) n perm x (t * n * k) k

    NDArray.ofData b.Shape Float64 x

/// The inverses of a stack of n×n matrices.
let inv (a: NDArray) =
    let n, _ = rowsCols a
    let m = count a.Shape n n
    let eye = Array.zeroCreate (m * n * n)

    for t in 0 .. m - 1 do
        for i in 0 .. n - 1 do
            eye.[t * n * n + i * n + i] <- 1.0

    solve "inv" a (NDArray.ofData a.Shape Float64 eye)

/// For each matrix of a stack, (sign of its determinant, log of its absolute value), by LU:
/// the product of U's diagonal; a singular matrix gives (0, −∞), as NumPy's slogdet.
let slogdet (a: NDArray) =
    let n, _ = rowsCols a
    let m = count a.Shape n n
    let lu = Array.copy a.Data
    let perm = Array.zeroCreate n
    let signs, logs = Array.zeroCreate m, Array.zeroCreate m

    for t in 0 .. m - 1 do
        let struct (s, isSingular) = luInPlace lu (t * n * n) n perm

        if isSingular then
            signs.[t] <- 0.0
            logs.[t] <- Double.NegativeInfinity
        else
            let mutable sign, total = s, 0.0

            for i in 0 .. n - 1 do
                let d = lu.[t * n * n + i * n + i]

                if d < 0.0 then
                    sign <- -sign

                total <- total + log (abs d)

            signs.[t] <- sign
            logs.[t] <- total

    let batch = a.Shape.[.. a.Shape.Length - 3]
    NDArray.ofData batch Float64 signs, NDArray.ofData (Array.copy batch) Float64 logs

/// The determinants of a stack of matrices: the product of U's diagonal times the sign of P
/// (a product, not exp of slogdet: exact for small integer matrices).
let det (a: NDArray) =
    let n, _ = rowsCols a
    let m = count a.Shape n n
    let lu = Array.copy a.Data
    let perm = Array.zeroCreate n
    let dets = Array.zeroCreate m

    for t in 0 .. m - 1 do
        let struct (s, _) = luInPlace lu (t * n * n) n perm
        let mutable d = s

        for i in 0 .. n - 1 do
            d <- d * lu.[t * n * n + i * n + i]

        dets.[t] <- d

    NDArray.ofData a.Shape.[.. a.Shape.Length - 3] Float64 dets

/// The lower Cholesky factors L (A = L Lᵀ) of a stack of symmetric positive-definite
/// matrices. The kernel factors the symmetric part (A + Aᵀ)/2, so its derivative is defined for
/// every direction (the JVP symmetrizes the tangent the same way). A matrix that is not
/// positive definite raises (NumPy's choice; JAX returns NaN).
let cholesky (a: NDArray) =
    let n, _ = rowsCols a
    let m = count a.Shape n n
    let src = a.Data
    let l = Array.zeroCreate (m * n * n)

    for t in 0 .. m - 1 do
        let o = t * n * n

        for j in 0 .. n - 1 do
            for i in j .. n - 1 do
                let rowI = ReadOnlySpan<float>(l, o + i * n, j)
                let rowJ = ReadOnlySpan<float>(l, o + j * n, j)
                let mutable s = 0.5 * (src.[o + i * n + j] + src.[o + j * n + i])

                for c in 0 .. j - 1 do
                    s <- s - rowI.[c] * rowJ.[c]

                if i = j then
                    if not (s > 0.0) then
                        raise (
                            LinAlgException(
                                sprintf
                                    "cholesky: the matrix%s of shape %s is not positive definite (pivot %d is %g). Cholesky needs a symmetric positive-definite matrix, e.g. A Aᵀ + εI; for a symmetric indefinite one use Linalg.eigh or Linalg.solve."
                                    (if m > 1 then sprintf " at batch index %d" t else "")
                                    (Shape.show a.Shape)
                                    j
                                    s
                            )
                        )

                    l.[o + j * n + j] <- sqrt s
                else
                    l.[o + i * n + j] <- s / l.[o + j * n + j]

    NDArray.ofData a.Shape Float64 l

/// X with op(T) X = B for a stack of n×n triangular matrices (only the `lower` or upper
/// triangle of `a` is read, diagonal included) and n×k right-hand sides; op is the transpose
/// when `transpose`. A zero on the diagonal raises.
let triangularSolve (lower: bool) (transpose: bool) (a: NDArray) (b: NDArray) =
    let n, _ = rowsCols a
    let _, k = rowsCols b
    let m = count a.Shape n n
    let t = a.Data
    let x = Array.copy b.Data
    // op(T)[i, j]
    let inline at (o: int) (i: int) (j: int) =
        if transpose then t.[o + j * n + i] else t.[o + i * n + j]

    let forward = lower <> transpose

    for s in 0 .. m - 1 do
        let o, bo = s * n * n, s * n * k

        for step in 0 .. n - 1 do
            let i = if forward then step else n - 1 - step
            let rowI = x.AsSpan(bo + i * k, k)
            let lo, hi = (if forward then 0, i - 1 else i + 1, n - 1)

            for j in lo..hi do
                let c = at o i j

                if c <> 0.0 then
                    let rowJ = ReadOnlySpan<float>(x, bo + j * k, k)

                    for q in 0 .. k - 1 do
                        rowI.[q] <- rowI.[q] - c * rowJ.[q]

            let d = at o i i

            if d = 0.0 then
                singular "triangular_solve" a.Shape s "A triangular matrix is singular when its diagonal holds a zero."

            for q in 0 .. k - 1 do
                rowI.[q] <- rowI.[q] / d

    NDArray.ofData b.Shape Float64 x

let private build = Matrix<float>.Build

let private matrixAt (x: float[]) (o: int) (rows: int) (cols: int) =
    build.Dense(rows, cols, fun i j -> x.[o + i * cols + j])

let private write (dst: float[]) (o: int) (mat: Matrix<float>) (rows: int) (cols: int) (flip: int -> float) =
    for i in 0 .. rows - 1 do
        for j in 0 .. cols - 1 do
            dst.[o + i * cols + j] <- mat.[i, j] * flip j

/// Applies the reflection I − 2 v vᵀ to rows first..last−1 of the row-major matrix `m` (row
/// length `stride`), columns from..from+width−1: w = vᵀ M accumulated row by row, then each
/// row less 2 vᵢ w, so every pass runs along contiguous rows (the column-wise loop strode by a
/// row per element and was 8× LAPACK at n = 512).
let private reflectRows (m: float[]) (stride: int) (first: int) (last: int) (from: int) (width: int) (v: float[]) =
    let w = Array.zeroCreate<float> width
    let ws = Span<float>(w)

    for i in first .. last - 1 do
        let row = ReadOnlySpan<float>(m, i * stride + from, width)
        TensorPrimitives.MultiplyAdd(row, v.[i - first], ReadOnlySpan<float>(w), ws)

    for i in first .. last - 1 do
        let row = Span<float>(m, i * stride + from, width)

        TensorPrimitives.MultiplyAdd(
            ReadOnlySpan<float>(w),
            -2.0 * v.[i - first],
            ReadOnlySpan<float>(m, i * stride + from, width),
            row
        )

/// Householder QR of the rows×cols matrix at `src.[o..]`: q (rows×k) into `q.[qo..]` and r
/// (k×cols) into `r.[ro..]`, k = min(rows, cols), with r's diagonal made non-negative.
let private householderQr
    (src: float[])
    (o: int)
    (rows: int)
    (cols: int)
    (q: float[])
    (qo: int)
    (r: float[])
    (ro: int)
    =
    let k = min rows cols
    let a = Array.sub src o (rows * cols)
    let vs = Array.init k (fun j -> Array.zeroCreate (rows - j))

    for j in 0 .. k - 1 do
        let v = vs.[j]
        let mutable norm = 0.0

        for i in j .. rows - 1 do
            v.[i - j] <- a.[i * cols + j]
            norm <- norm + v.[i - j] * v.[i - j]

        norm <- sqrt norm
        let alpha = if v.[0] > 0.0 then -norm else norm
        v.[0] <- v.[0] - alpha
        let vnorm = sqrt (Array.sumBy (fun x -> x * x) v)

        if vnorm = 0.0 then
            Array.fill v 0 v.Length 0.0
        else
            for i in 0 .. v.Length - 1 do
                v.[i] <- v.[i] / vnorm
            // A[j:, j:] −= 2 v (vᵀ A[j:, j:]), a row at a time (contiguous in row-major storage)
            reflectRows a cols j rows j (cols - j) v

    // Q = H₀ H₁ … applied to the first k columns of the identity
    let qm = Array.zeroCreate (rows * k)

    for i in 0 .. k - 1 do
        qm.[i * k + i] <- 1.0

    for j in k - 1 .. -1 .. 0 do
        reflectRows qm k j rows 0 k vs.[j]

    for i in 0 .. k - 1 do
        let sign = if a.[i * cols + i] < 0.0 then -1.0 else 1.0

        for c in 0 .. cols - 1 do
            r.[ro + i * cols + c] <- (if c >= i then sign * a.[i * cols + c] else 0.0)

        for row in 0 .. rows - 1 do
            q.[qo + row * k + i] <- sign * qm.[row * k + i]

/// The reduced QR of a stack of m×n matrices: q (m×k) with orthonormal columns and r (k×n)
/// upper triangular, k = min(m, n), by Householder reflections. The sign convention: r's
/// diagonal is non-negative (each column of q and row of r flipped together), so q and r are
/// unique for a full-rank matrix and differentiable.
let qr (a: NDArray) =
    let rows, cols = rowsCols a
    let k = min rows cols
    let m = count a.Shape rows cols
    let src = a.Data
    let q, r = Array.zeroCreate (m * rows * k), Array.zeroCreate (m * k * cols)

    for t in 0 .. m - 1 do
        householderQr src (t * rows * cols) rows cols q (t * rows * k) r (t * k * cols)

    let batch = a.Shape.[.. a.Shape.Length - 3]

    NDArray.ofData (Array.append batch [| rows; k |]) Float64 q,
    NDArray.ofData (Array.append batch [| k; cols |]) Float64 r

// the sign that makes the largest-magnitude entry of column j of `mat` positive
let private columnSign (mat: Matrix<float>) (rows: int) (j: int) =
    let mutable best, value = -1.0, 0.0

    for i in 0 .. rows - 1 do
        if abs mat.[i, j] > best then
            best <- abs mat.[i, j]
            value <- mat.[i, j]

    if value < 0.0 then -1.0 else 1.0

/// The eigendecomposition of a stack of symmetric n×n matrices (the symmetric part
/// (A + Aᵀ)/2 is decomposed): eigenvalues ascending and eigenvectors as columns, by MathNet's
/// symmetric EVD (tridiagonal QL). Sign convention: the largest-magnitude entry of each
/// eigenvector is positive.
let eigh (a: NDArray) =
    let n, _ = rowsCols a
    let m = count a.Shape n n
    let src = a.Data
    let w, v = Array.zeroCreate (m * n), Array.zeroCreate (m * n * n)

    for t in 0 .. m - 1 do
        let o = t * n * n

        let sym =
            build.Dense(n, n, fun i j -> 0.5 * (src.[o + i * n + j] + src.[o + j * n + i]))

        let evd = sym.Evd(Symmetricity.Symmetric)
        let values = evd.EigenValues |> Seq.map (fun c -> c.Real) |> Array.ofSeq
        let order = Array.init n id |> Array.sortBy (fun i -> values.[i])
        let vectors = evd.EigenVectors

        for j in 0 .. n - 1 do
            let c = order.[j]
            w.[t * n + j] <- values.[c]
            let sign = columnSign vectors n c

            for i in 0 .. n - 1 do
                v.[o + i * n + j] <- sign * vectors.[i, c]

    NDArray.ofData a.Shape.[.. a.Shape.Length - 2] Float64 w, NDArray.ofData a.Shape Float64 v

/// The reduced SVD of a stack of m×n matrices: u (m×k), s (k, descending), vt (k×n), k =
/// min(m, n), by MathNet's SVD (Golub–Kahan). Sign convention: the largest-magnitude entry of
/// each column of u is positive (the row of vt flipped with it).
let svd (a: NDArray) =
    let rows, cols = rowsCols a
    let k = min rows cols
    let m = count a.Shape rows cols
    let src = a.Data

    let u, s, vt =
        Array.zeroCreate (m * rows * k), Array.zeroCreate (m * k), Array.zeroCreate (m * k * cols)

    for t in 0 .. m - 1 do
        let f = (matrixAt src (t * rows * cols) rows cols).Svd(true)
        let signs = Array.init k (fun j -> columnSign f.U rows j)
        write u (t * rows * k) f.U rows k (fun j -> signs.[j])

        for j in 0 .. k - 1 do
            s.[t * k + j] <- f.S.[j]

            for c in 0 .. cols - 1 do
                vt.[t * k * cols + j * cols + c] <- f.VT.[j, c] * signs.[j]

    let batch = a.Shape.[.. a.Shape.Length - 3]

    NDArray.ofData (Array.append batch [| rows; k |]) Float64 u,
    NDArray.ofData (Array.append batch [| k |]) Float64 s,
    NDArray.ofData (Array.append batch [| k; cols |]) Float64 vt
