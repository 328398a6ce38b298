/// The system's OpenBLAS as the reference of the matmul row, through P/Invoke. Nothing needs it
/// to build or run: the library is looked up on first use, and when `libopenblas.so.0` is
/// missing the row is skipped. It is a benchmark reference only, never a FunDiff dependency.
module FunDiff.Bench.OpenBlas

open System
open System.Runtime.InteropServices

module private Native =
    [<DllImport("libopenblas.so.0")>]
    extern void cblas_dgemm(
        int order,
        int transA,
        int transB,
        int m,
        int n,
        int k,
        double alpha,
        double[] a,
        int lda,
        double[] b,
        int ldb,
        double beta,
        double[] c,
        int ldc
    )

    [<DllImport("libopenblas.so.0")>]
    extern void openblas_set_num_threads(int n)

    [<DllImport("libopenblas.so.0")>]
    extern int openblas_get_num_threads()

    [<DllImport("libopenblas.so.0")>]
    extern nativeint openblas_get_config()

    [<DllImport("libopenblas.so.0")>]
    extern nativeint openblas_get_corename()

let private CblasRowMajor, CblasNoTrans = 101, 111

/// Loads OpenBLAS and makes it single-threaded (openblas_set_num_threads(1), so that both sides
/// of the ratio use one core); Ok with a description, or Error with the reason it is absent.
let private probe () =
    try
        Native.openblas_set_num_threads 1
        let threads = Native.openblas_get_num_threads ()
        let config = Marshal.PtrToStringAnsi(Native.openblas_get_config ())
        let core = Marshal.PtrToStringAnsi(Native.openblas_get_corename ())

        if threads <> 1 then
            Error(sprintf "OpenBLAS (%s) kept %d threads after openblas_set_num_threads(1)" config threads)
        else
            Ok(sprintf "%s, kernels for %s, 1 thread" (config.Trim()) core)
    with
    | :? DllNotFoundException
    | :? EntryPointNotFoundException as e ->
        Error(
            sprintf
                "libopenblas.so.0 could not be loaded (%s); install it with apt-get install libopenblas-dev"
                (e.GetType().Name)
        )

/// Whether OpenBLAS is usable here (probed once).
let status = lazy (probe ())

/// c = a·b for row-major n×n matrices, by OpenBLAS's dgemm (single-threaded once `status` is Ok).
let dgemm (n: int) (a: float[]) (b: float[]) (c: float[]) =
    Native.cblas_dgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n)
