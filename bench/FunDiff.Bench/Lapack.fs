/// The system's LAPACK (Debian's liblapack.so.3, the reference Netlib build over the reference
/// BLAS unless an optimized one is installed as the alternative) as the reference of the
/// linear-algebra rows, through P/Invoke: LU with partial pivoting (dgetrf) and Cholesky
/// (dpotrf). Looked up on first use; absent, the rows are skipped. A benchmark reference only.
module FunDiff.Bench.Lapack

open System
open System.Runtime.InteropServices

module private Native =
    [<DllImport("liblapack.so.3")>]
    extern void dgetrf_(int& m, int& n, double[] a, int& lda, int[] ipiv, int& info)

    [<DllImport("liblapack.so.3")>]
    extern void dpotrf_(byte& uplo, int& n, double[] a, int& lda, int& info)

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

/// Whether liblapack.so.3 loads here (probed once on a 2×2 system).
let status =
    lazy
        (try
            let det =
                luDeterminant 2 [| 2.0; 1.0; 1.0; 3.0 |] (Array.zeroCreate 4) (Array.zeroCreate 2)

            if abs (det - 5.0) > 1e-12 then
                Error(sprintf "dgetrf gave det %g for a matrix of det 5" det)
            else
                Ok "liblapack.so.3 (dgetrf, dpotrf), one thread"
         with
         | :? DllNotFoundException
         | :? EntryPointNotFoundException as e ->
             Error(sprintf "liblapack.so.3 could not be loaded (%s); install liblapack3" (e.GetType().Name)))
