/// The system's LAPACK (Debian's liblapack.so.3, the reference Netlib build over the reference
/// BLAS unless an optimized one is installed as the alternative) as the reference of the
/// linear-algebra rows, through P/Invoke: LU with partial pivoting (dgetrf), Cholesky (dpotrf),
/// Householder QR with Q formed (dgeqrf, dorgqr), the symmetric eigendecomposition with vectors
/// (dsyevd) and the thin SVD with vectors (dgesdd). Looked up on first use; absent, the rows are
/// skipped. A benchmark reference only.
module FunDiff.Bench.Lapack

open System
open System.Runtime.InteropServices

module private Native =
    [<DllImport("liblapack.so.3")>]
    extern void dgetrf_(int& m, int& n, double[] a, int& lda, int[] ipiv, int& info)

    [<DllImport("liblapack.so.3")>]
    extern void dpotrf_(byte& uplo, int& n, double[] a, int& lda, int& info)

    [<DllImport("liblapack.so.3")>]
    extern void dgeqrf_(int& m, int& n, double[] a, int& lda, double[] tau, double[] work, int& lwork, int& info)

    [<DllImport("liblapack.so.3")>]
    extern void dorgqr_(int& m, int& n, int& k, double[] a, int& lda, double[] tau, double[] work, int& lwork, int& info)

    [<DllImport("liblapack.so.3")>]
    extern void dsyevd_(
        byte& jobz,
        byte& uplo,
        int& n,
        double[] a,
        int& lda,
        double[] w,
        double[] work,
        int& lwork,
        int[] iwork,
        int& liwork,
        int& info
    )

    [<DllImport("liblapack.so.3")>]
    extern void dgesdd_(
        byte& jobz,
        int& m,
        int& n,
        double[] a,
        int& lda,
        double[] s,
        double[] u,
        int& ldu,
        double[] vt,
        int& ldvt,
        double[] work,
        int& lwork,
        int[] iwork,
        int& info
    )

/// LU-factors the n×n matrix `a` (copied into `work` first: dgetrf overwrites) and returns its
/// determinant (the diagonal's product with the pivots' sign), as the FunDiff row computes.
let luDeterminant (n: int) (a: float[]) (work: float[]) (pivots: int[]) =
    Array.blit a 0 work 0 a.Length
    let mutable m, nn, lda, info = n, n, n, 0
    Native.dgetrf_ (&m, &nn, work, &lda, pivots, &info)

    if info < 0 then
        failwithf "dgetrf: argument %d is invalid" -info

    let mutable det = 1.0

    for i in 0 .. n - 1 do
        det <- det * work.[i * n + i] * (if pivots.[i] <> i + 1 then -1.0 else 1.0)

    det

/// Cholesky-factors the symmetric positive definite n×n matrix `a` (copied into `work`) and
/// returns the factor's first diagonal element (a use of the result).
let cholesky (n: int) (a: float[]) (work: float[]) =
    Array.blit a 0 work 0 a.Length
    let mutable uplo = byte 'L'
    let mutable nn, lda, info = n, n, 0
    Native.dpotrf_ (&uplo, &nn, work, &lda, &info)

    if info <> 0 then
        failwithf "dpotrf: info %d (the matrix is not positive definite?)" info

    work.[0]

let private check (routine: string) (info: int) =
    if info <> 0 then
        failwithf "%s: info %d" routine info

/// The workspace of the QR, eigendecomposition and SVD calls at one n (sized by LAPACK's
/// workspace queries once, outside the timed calls).
type Workspace =
    {
        N: int
        /// The matrix LAPACK overwrites (a copy per call).
        A: float[]
        /// R of the QR (its upper triangle, column-major), copied out before dorgqr forms Q.
        R: float[]
        Tau: float[]
        /// Eigenvalues or singular values.
        Values: float[]
        U: float[]
        Vt: float[]
        Work: float[]
        IWork: int[]
    }

/// The workspace for n×n matrices.
let workspace (n: int) =
    let a = Array.zeroCreate (n * n)
    let query = Array.zeroCreate 1
    let iquery = Array.zeroCreate 1
    let mutable m, nn, k, lda, lwork, liwork, info = n, n, n, n, -1, -1, 0
    Native.dgeqrf_ (&m, &nn, a, &lda, Array.zeroCreate n, query, &lwork, &info)
    check "dgeqrf (workspace query)" info
    let geqrf = int query.[0]
    Native.dorgqr_ (&m, &nn, &k, a, &lda, Array.zeroCreate n, query, &lwork, &info)
    check "dorgqr (workspace query)" info
    let orgqr = int query.[0]
    let mutable jobz, uplo = byte 'V', byte 'L'
    Native.dsyevd_ (&jobz, &uplo, &nn, a, &lda, Array.zeroCreate n, query, &lwork, iquery, &liwork, &info)
    check "dsyevd (workspace query)" info
    let syevd, isyevd = int query.[0], iquery.[0]
    let mutable jobs, ldu = byte 'S', n
    let u, vt = Array.zeroCreate (n * n), Array.zeroCreate (n * n)
    let iwork = Array.zeroCreate (max isyevd (8 * n))
    Native.dgesdd_ (&jobs, &m, &nn, a, &lda, Array.zeroCreate n, u, &ldu, vt, &ldu, query, &lwork, iwork, &info)
    check "dgesdd (workspace query)" info
    let gesdd = int query.[0]

    {
        N = n
        A = a
        R = Array.zeroCreate (n * n)
        Tau = Array.zeroCreate n
        Values = Array.zeroCreate n
        U = u
        Vt = vt
        Work = Array.zeroCreate (List.max [ geqrf; orgqr; syevd; gesdd; 1 ])
        IWork = iwork
    }

/// Householder QR of the row-major n×n matrix `a` (transposed into the workspace, so that LAPACK
/// factors a itself, not aᵀ) with Q formed (dgeqrf, then dorgqr); returns R's diagonal's first
/// element (R, column-major, stays in `ws.R`; Q in `ws.A`).
let qr (a: float[]) (ws: Workspace) =
    let n = ws.N

    for i in 0 .. n - 1 do
        for j in 0 .. n - 1 do
            ws.A.[j * n + i] <- a.[i * n + j]

    let mutable m, nn, k, lda, lwork, info = n, n, n, n, ws.Work.Length, 0
    Native.dgeqrf_ (&m, &nn, ws.A, &lda, ws.Tau, ws.Work, &lwork, &info)
    check "dgeqrf" info

    for j in 0 .. n - 1 do
        Array.blit ws.A (j * n) ws.R (j * n) (j + 1)

    Native.dorgqr_ (&m, &nn, &k, ws.A, &lda, ws.Tau, ws.Work, &lwork, &info)
    check "dorgqr" info
    ws.R.[0]

/// The eigendecomposition with eigenvectors of the symmetric n×n matrix `a` (copied into the
/// workspace; dsyevd, divide and conquer, NumPy's eigh's routine); returns the smallest
/// eigenvalue (the values stay in `ws.Values`, ascending).
let eigh (a: float[]) (ws: Workspace) =
    Array.blit a 0 ws.A 0 a.Length
    let mutable jobz, uplo = byte 'V', byte 'L'

    let mutable nn, lda, lwork, liwork, info =
        ws.N, ws.N, ws.Work.Length, ws.IWork.Length, 0

    Native.dsyevd_ (&jobz, &uplo, &nn, ws.A, &lda, ws.Values, ws.Work, &lwork, ws.IWork, &liwork, &info)
    check "dsyevd" info
    ws.Values.[0]

/// The thin SVD with singular vectors of the n×n matrix `a` (copied into the workspace; dgesdd,
/// divide and conquer, NumPy's svd's routine; LAPACK sees aᵀ, whose singular values are a's);
/// returns the largest singular value (the values stay in `ws.Values`, descending).
let svd (a: float[]) (ws: Workspace) =
    Array.blit a 0 ws.A 0 a.Length
    let mutable jobz = byte 'S'
    let mutable m, nn, lda, lwork, info = ws.N, ws.N, ws.N, ws.Work.Length, 0
    Native.dgesdd_ (&jobz, &m, &nn, ws.A, &lda, ws.Values, ws.U, &lda, ws.Vt, &lda, ws.Work, &lwork, ws.IWork, &info)
    check "dgesdd" info
    ws.Values.[0]

/// Whether liblapack.so.3 loads here (probed once on a 2×2 system).
let status =
    lazy
        (try
            let det =
                luDeterminant 2 [| 2.0; 1.0; 1.0; 3.0 |] (Array.zeroCreate 4) (Array.zeroCreate 2)

            if abs (det - 5.0) > 1e-12 then
                Error(sprintf "dgetrf gave det %g for a matrix of det 5" det)
            else
                Ok "liblapack.so.3 (dgetrf, dpotrf, dgeqrf + dorgqr, dsyevd, dgesdd), one thread"
         with
         | :? DllNotFoundException
         | :? EntryPointNotFoundException as e ->
             Error(sprintf "liblapack.so.3 could not be loaded (%s); install liblapack3" (e.GetType().Name)))
