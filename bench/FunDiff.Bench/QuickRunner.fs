/// The quick runner: a plain Stopwatch harness. Every case is warmed up, then measured in
/// interleaved rounds (each round runs every case once, in a rotating order), so that the
/// noise of a shared machine hits all cases alike and ratios are measured side by side.
/// A sample is a batch of calls lasting about `sampleTarget`; its time and the bytes the
/// thread allocated are divided by the batch size. Figures are medians over the rounds.
module FunDiff.Bench.QuickRunner

open System
open System.Diagnostics
open FunDiff
open FunDiff.Bench.Workloads

/// One measured thing.
type Case =
    {
        /// A stable key the report looks figures up by.
        Key: string
        /// What the row shows.
        Label: string
        /// One call of the workload (stores its result in Workloads.sink).
        Run: unit -> unit
    }

/// The figures of one case.
type Measurement =
    {
        Case: Case
        /// Calls per sample.
        Batch: int
        /// Seconds per call, one entry per round.
        Seconds: float[]
        /// Bytes allocated per call, one entry per round.
        Bytes: float[]
        /// Gen-0 and gen-2 collections per call over all rounds.
        Gen0PerCall: float
        Gen2PerCall: float
        /// Time the runtime was paused for GC, per call (GC.GetTotalPauseDuration).
        GcPausePerCall: float
    }

/// The median of a non-empty array.
let median (xs: float[]) =
    let s = Array.sort xs
    let m = s.Length / 2

    if s.Length % 2 = 1 then
        s.[m]
    else
        0.5 * (s.[m - 1] + s.[m])

/// The interquartile range as a fraction of the median (a noise indicator).
let spread (xs: float[]) =
    let s = Array.sort xs

    let q (p: float) =
        s.[int (Math.Round(p * float (s.Length - 1)))]

    (q 0.75 - q 0.25) / median xs

type Measurement with

    member m.MedianSeconds = median m.Seconds
    member m.MinSeconds = Array.min m.Seconds
    member m.MedianBytes = median m.Bytes
    member m.Spread = spread m.Seconds

/// Median over rounds of the per-round ratio a / b (paired: both measured in the same round).
let pairedRatio (a: Measurement) (b: Measurement) =
    median (Array.map2 (/) a.Seconds b.Seconds)

/// Sizes of the matmul row.
let matmulSizes = [ 256; 512; 1024 ]

/// Key suffixes and labels of the Rosenbrock sizes.
let rosenbrockSizes = [ "1e3", 1_000; "1e5", 100_000; "1e6", 1_000_000 ]

/// The cases, built from the workloads with their inputs prepared outside the timed calls.
/// The OpenBLAS cases are present only when OpenBLAS loads.
/// The MLP gradient's five matrix products by the backend alone (`mlpMatmulFloor`) on arrays
/// of the model's shapes: the floor under any engine's MLP gradient.
let private mlpFloorRun () =
    let xa, w1, w2, h, d2, d1 = mlpFloorOperands ()
    fun () -> sinkFloat <- float (mlpMatmulFloor xa w1 w2 h d2 d1)

let cases () : Case list =
    let rosen (tag: string) (n: int) =
        let xs = rosenbrockInput n
        let x = Tensor.ofArray xs
        let g = grad rosenbrock
        let reused = Array.zeroCreate n

        [
            {
                Key = "rosen.f." + tag
                Label = sprintf "Rosenbrock f, n = %d" n
                Run = fun () -> sink <- rosenbrock x
            }
            {
                Key = "rosen.grad." + tag
                Label = sprintf "Rosenbrock grad f, n = %d" n
                Run = fun () -> sink <- g x
            }
            {
                Key = "rosen.hand." + tag
                Label = sprintf "Rosenbrock f, hand-written loop, n = %d" n
                Run = fun () -> sinkFloat <- rosenbrockHand xs
            }
            {
                Key = "rosen.handgrad." + tag
                Label = sprintf "Rosenbrock gradient, hand-written loop, n = %d" n
                Run = fun () -> sink <- rosenbrockGradHand xs
            }
            {
                Key = "rosen.handinto." + tag
                Label = sprintf "Rosenbrock gradient, hand-written loop into a reused array, n = %d" n
                Run = fun () -> rosenbrockGradHandInto xs reused
            }
        ]

    let hvpCase =
        let n = 100_000
        let x = Tensor.ofArray (rosenbrockInput n)
        let v = Tensor.ofArray (direction n)

        {
            Key = "rosen.hvp.1e5"
            Label = sprintf "Rosenbrock hvp f x v, n = %d" n
            Run = fun () -> sink <- hvp rosenbrock x v
        }

    let scalar =
        let a = Tensor.scalar scalarA
        let one = Tensor.scalar 1.0
        let g = grad scalarLoop

        [
            {
                Key = "scalar.f"
                Label = "scalar loop f (1000 iterations)"
                Run = fun () -> sink <- scalarLoop a
            }
            {
                Key = "scalar.jvp"
                Label = "scalar loop jvp f (1000 iterations)"
                Run = fun () -> sink <- snd (jvp scalarLoop a one)
            }
            {
                Key = "scalar.grad"
                Label = "scalar loop grad f (1000 iterations)"
                Run = fun () -> sink <- g a
            }
            {
                Key = "scalar.hand"
                Label = "scalar loop on plain floats"
                Run = fun () -> sinkFloat <- scalarLoopHand scalarA
            }
        ]

    let mlp =
        let x, y = mlpData ()
        let p = mlpParams ()
        let loss = mlpLoss x y
        let gradLoss = Tree.grad loss

        [
            {
                Key = "mlp.f"
                Label = "MLP 784-256-10 loss, batch 64"
                Run = fun () -> sink <- loss p
            }
            {
                Key = "mlp.grad"
                Label = "MLP Tree.grad of the loss (all weights)"
                Run = fun () -> sink <- gradLoss p
            }
            {
                Key = "mlp.floor"
                Label = "MLP: the gradient's 5 matrix products alone (backend)"
                Run = mlpFloorRun ()
            }
        ]

    let hessians =
        [
            for n in [ 100; 300 ] ->
                let x = Tensor.ofArray (rosenbrockInput n)
                let h = hessian rosenbrock

                {
                    Key = sprintf "hessian.%d" n
                    Label = sprintf "Rosenbrock hessian, n = %d" n
                    Run = fun () -> sink <- h x
                }
        ]

    let matmul =
        [
            for n in matmulSizes do
                let r = Random(n)
                let a = Array.init (n * n) (fun _ -> r.NextDouble() - 0.5)
                let b = Array.init (n * n) (fun _ -> r.NextDouble() - 0.5)
                let out = Array.zeroCreate (n * n)

                yield
                    {
                        Key = sprintf "matmul.ours.%d" n
                        Label = sprintf "matmul %d×%d, FunDiff (Backend.Gemm.matmulBatchedInto)" n n
                        Run = fun () -> Backend.Gemm.matmulBatchedInto 1 n n n a b out
                    }

                match OpenBlas.status.Force() with
                | Ok _ ->
                    let c = Array.zeroCreate (n * n)

                    yield
                        {
                            Key = sprintf "matmul.blas.%d" n
                            Label = sprintf "matmul %d×%d, OpenBLAS cblas_dgemm (1 thread)" n n
                            Run = fun () -> OpenBlas.dgemm n a b c
                        }
                | Error _ -> ()
        ]

    let elementwiseCases =
        let r = Random(5)
        let xs = Array.init elementwiseSize (fun _ -> 4.0 * r.NextDouble() - 2.0)
        let ys = Array.init elementwiseSize (fun _ -> r.NextDouble())
        let x, y = Tensor.ofArray xs, Tensor.ofArray ys
        let out: float[] = Array.zeroCreate elementwiseSize

        [
            {
                Key = "elem.fundiff"
                Label = "tanh(x)·y + x, 10⁷ elements, FunDiff (3 primitives)"
                Run = fun () -> sink <- elementwise x y
            }
            {
                Key = "elem.fused"
                Label = "tanh(x)·y + x, 10⁷ elements, fused vectorized loop"
                Run = fun () -> sink <- elementwiseFused xs ys out
            }
            {
                Key = "elem.scalar"
                Label = "tanh(x)·y + x, 10⁷ elements, scalar loop (Math.Tanh)"
                Run = fun () -> sink <- elementwiseScalar xs ys out
            }
        ]

    let jacobians =
        let x = Tensor.ofArray (rosenbrockInput 1000)
        let t = Tensor.scalar 0.7

        [
            {
                Key = "jac.f.fwd"
                Label = "jacfwd f, f: R¹⁰⁰⁰ → R (Rosenbrock)"
                Run = fun () -> sink <- jacfwd rosenbrock x
            }
            {
                Key = "jac.f.rev"
                Label = "jacrev f, f: R¹⁰⁰⁰ → R (Rosenbrock)"
                Run = fun () -> sink <- jacrev rosenbrock x
            }
            {
                Key = "jac.g.fwd"
                Label = "jacfwd g, g: R → R¹⁰⁰⁰"
                Run = fun () -> sink <- jacfwd wideOutput t
            }
            {
                Key = "jac.g.rev"
                Label = "jacrev g, g: R → R¹⁰⁰⁰"
                Run = fun () -> sink <- jacrev wideOutput t
            }
        ]

    [
        for tag, n in rosenbrockSizes do
            yield! rosen tag n
        yield hvpCase
        yield! mlp
        yield! hessians
        yield! scalar
        yield! matmul
        yield! elementwiseCases
        yield! jacobians
    ]

/// The key of a family case: `fam.<family>.<fundiff|ref|reused>.<size>`.
let familyKey (family: Families.Family) (side: string) (size: string) =
    sprintf "fam.%s.%s.%s" family.Key side size

/// The primitive-family cases: each family's FunDiff call, its reference (fresh outputs) and the
/// same reference writing into reused arrays, at 10⁵ and 10⁷, with their inputs built here,
/// outside the timed calls.
let familyCases () : Case list =
    [
        for tag, shown, n in Families.familySizes do
            let inputs = Families.inputs n

            for family in Families.families do
                yield
                    {
                        Key = familyKey family "fundiff" tag
                        Label = sprintf "family %s, n = %s, FunDiff" family.Key shown
                        Run = fun () -> sink <- family.FunDiff inputs
                    }

                yield
                    {
                        Key = familyKey family "ref" tag
                        Label = sprintf "family %s, n = %s, reference (fresh arrays)" family.Key shown
                        Run = fun () -> sink <- family.Reference Families.fresh inputs
                    }

                let reused = Families.ReusedOutputs()
                let take = reused.Take

                yield
                    {
                        Key = familyKey family "reused" tag
                        Label = sprintf "family %s, n = %s, reference into reused arrays" family.Key shown
                        Run =
                            fun () ->
                                reused.Restart()
                                sink <- family.Reference take inputs
                    }
    ]

/// The vmap issue's cases: per-example gradients of the MLP (vmap, a loop of 64 grads, one
/// batch gradient), the Hessian of Rosenbrock and jacrev of an elementwise map batched and by
/// the loop over the basis they replaced, and the scalar loop vmapped over 1000 examples and
/// evaluated 1000 times. Their inputs are built here, outside the timed calls.
let vmapCases () : Case list =
    let mlp =
        let x, y = mlpData ()
        let p = mlpParams ()
        let batchGrad = Tree.grad (mlpLoss x y)

        [
            {
                Key = "vmap.mlp.vmap"
                Label = "per-example MLP gradients, Tree.vmap of Tree.grad (64 examples)"
                Run = fun () -> sink <- VmapWorkloads.perExampleGradsVmap p (x, y)
            }
            {
                Key = "vmap.mlp.loop"
                Label = "per-example MLP gradients, a loop of 64 Tree.grad"
                Run = fun () -> sink <- VmapWorkloads.perExampleGradsLoop p (x, y)
            }
            {
                Key = "vmap.mlp.batch"
                Label = "MLP batch gradient, Tree.grad of the mean loss (64 examples)"
                Run = fun () -> sink <- batchGrad p
            }
        ]

    let hessians =
        [
            for n in VmapWorkloads.hessianSizes do
                let x = Tensor.ofArray (rosenbrockInput n)
                let h = hessian rosenbrock
                let hLoop = VmapWorkloads.hessianLoop rosenbrock

                yield
                    {
                        Key = sprintf "vmap.hess.new.%d" n
                        Label = sprintf "Rosenbrock hessian, n = %d, batched (vmap over the basis)" n
                        Run = fun () -> sink <- h x
                    }

                yield
                    {
                        Key = sprintf "vmap.hess.loop.%d" n
                        Label = sprintf "Rosenbrock hessian, n = %d, loop over the basis" n
                        Run = fun () -> sink <- hLoop x
                    }
        ]

    let jacobian =
        let x = VmapWorkloads.elementwiseMapInput ()
        let j = jacrev VmapWorkloads.elementwiseMap
        let jLoop = VmapWorkloads.jacrevLoop VmapWorkloads.elementwiseMap

        [
            {
                Key = "vmap.jacrev.new"
                Label = "jacrev (sin x * x), R¹⁰⁰⁰ → R¹⁰⁰⁰, batched"
                Run = fun () -> sink <- j x
            }
            {
                Key = "vmap.jacrev.loop"
                Label = "jacrev (sin x * x), R¹⁰⁰⁰ → R¹⁰⁰⁰, loop over the basis"
                Run = fun () -> sink <- jLoop x
            }
        ]

    let scalar =
        let a = VmapWorkloads.scalarBatchInput ()
        let examples = [ for i in 0 .. VmapWorkloads.scalarBatch - 1 -> Tensor.index i a ]

        [
            {
                Key = "vmap.scalar.vmap"
                Label = "scalar loop, vmap over 1000 examples"
                Run = fun () -> sink <- VmapWorkloads.scalarLoopVmap a
            }
            {
                Key = "vmap.scalar.loop"
                Label = "scalar loop, 1000 separate evaluations"
                Run = fun () -> sink <- VmapWorkloads.scalarLoopEach examples
            }
        ]

    mlp @ hessians @ jacobian @ scalar

/// The jit issue's cases, from the workloads `ws` (JitWorkloads.workloads): each jitted
/// function (a jitted object already called once, so its program is cached) beside its eager
/// function, and the references the targets compare with: the hand-written Rosenbrock f and
/// gradient into a reused array, the scalar loop on plain floats, the fused vectorized
/// elementwise loop (on the same arrays as `elemX`, `elemY`), and the MLP's `Tree.grad` of
/// the record (the raveled gradient's eager form is the "eager" case).
let jitCases (ws: JitWorkloads.JitWorkload list) (elemX: float[]) (elemY: float[]) : Case list =
    let pairs =
        [
            for w in ws do
                let j = JitWorkloads.fresh w
                j.Invoke w.Input |> ignore
                let f = w.Traced
                let x = w.Input

                yield
                    {
                        Key = sprintf "jit.%s.jit" w.Key
                        Label = sprintf "%s, jit" w.Label
                        Run = fun () -> sink <- j.Invoke x
                    }

                yield
                    {
                        Key = sprintf "jit.%s.eager" w.Key
                        Label = sprintf "%s, eager" w.Label
                        Run = fun () -> sink <- f x
                    }
        ]

    let references =
        [
            for tag, n in JitWorkloads.rosenbrockSizes do
                let xs = rosenbrockInput n
                let reused = Array.zeroCreate n

                yield
                    {
                        Key = "jit.rosen.hand." + tag
                        Label = sprintf "Rosenbrock f, hand-written loop, n = %d" n
                        Run = fun () -> sinkFloat <- rosenbrockHand xs
                    }

                yield
                    {
                        Key = "jit.rosen.handinto." + tag
                        Label = sprintf "Rosenbrock gradient, hand-written loop into a reused array, n = %d" n
                        Run = fun () -> rosenbrockGradHandInto xs reused
                    }

            yield
                {
                    Key = "jit.scalar.hand"
                    Label = "scalar loop on plain floats"
                    Run = fun () -> sinkFloat <- scalarLoopHand scalarA
                }

            let out: float[] = Array.zeroCreate elemX.Length

            yield
                {
                    Key = "jit.elem.fused"
                    Label = "tanh(x)·y + x, 10⁷ elements, fused vectorized loop"
                    Run = fun () -> sink <- elementwiseFused elemX elemY out
                }

            let x, y = mlpData ()
            let p = mlpParams ()
            let g = Tree.grad (mlpLoss x y)

            yield
                {
                    Key = "jit.mlp.treegrad"
                    Label = "MLP Tree.grad of the loss (the weights as a record), eager"
                    Run = fun () -> sink <- g p
                }

            // the training step's gradient as a user jits it: the record in, the record out
            let jg = Tree.jit (Tree.grad (mlpLoss x y))
            let jitted, _ = Tree.ravel (jg p)
            let eager, _ = Tree.ravel (g p)
            let scale = 1.0 + Array.fold (fun m v -> max m (abs v)) 0.0 (Tensor.toArray eager)

            VmapWorkloads.agree "Tree.jit (Tree.grad loss) vs eager" (1e-12 * scale) jitted eager
            |> ignore

            yield
                {
                    Key = "jit.mlp.treejit"
                    Label = "MLP Tree.jit (Tree.grad loss) (the weights as a record)"
                    Run = fun () -> sink <- box (jg p)
                }

            yield
                {
                    Key = "jit.mlp.floor"
                    Label = "MLP: the gradient's 5 matrix products alone (backend)"
                    Run = mlpFloorRun ()
                }
        ]

    pairs @ references

/// The sizes of the linear-algebra rows.
let linalgSizes = [ 64; 256; 512 ]

/// A well-conditioned n×n matrix (random entries plus n on the diagonal) and an SPD one
/// (B Bᵀ + n I), row-major.
let private linalgMatrices (n: int) =
    let r = Random(n)

    let a =
        Array.init (n * n) (fun k -> r.NextDouble() - 0.5 + (if k / n = k % n then float n else 0.0))

    let b = Array.init (n * n) (fun _ -> r.NextDouble() - 0.5)

    let spd =
        Array.init (n * n) (fun k ->
            let i, j = k / n, k % n
            let mutable s = if i = j then float n else 0.0

            for t in 0 .. n - 1 do
                s <- s + b.[i * n + t] * b.[j * n + t]

            s)

    a, spd

/// The factorizations of the linear-algebra rows: (key, name in the table).
let linalgFactorizations =
    [ "lu", "LU"; "chol", "Cholesky"; "qr", "QR"; "eigh", "eigh"; "svd", "SVD" ]

/// The sizes a factorization is measured at.
let linalgSizesOf (_factorization: string) = linalgSizes

/// Makes MathNet.Numerics use its managed (pure .NET) provider on one thread, for its rows and
/// for FunDiff's eigh and svd, which call MathNet's EVD and SVD; returns what it set.
let useManagedMathNet () =
    MathNet.Numerics.Control.UseManaged()
    MathNet.Numerics.Control.UseSingleThread()

    sprintf
        "MathNet.Numerics 5.0.0, %O provider, MaxDegreeOfParallelism %d"
        MathNet.Numerics.Providers.LinearAlgebra.LinearAlgebraControl.Provider
        MathNet.Numerics.Control.MaxDegreeOfParallelism

let private mathNet = MathNet.Numerics.LinearAlgebra.Matrix<float>.Build

/// Fails unless `ours` and `theirs` agree within 1e-9 of the largest magnitude.
let private agreeValues (what: string) (ours: float[]) (theirs: float[]) =
    let scale = 1.0 + Array.fold (fun m v -> max m (abs v)) 0.0 theirs

    let d =
        Array.fold2 (fun m (x: float) (y: float) -> max m (abs (x - y))) 0.0 ours theirs

    if ours.Length <> theirs.Length || d > 1e-9 * scale then
        failwithf "self-check failed: %s: max abs difference %g" what d

/// LU (through `Linalg.det`), Cholesky (`Linalg.cholesky`), QR (`Linalg.qr`), the symmetric
/// eigendecomposition (`Linalg.eigh`) and the SVD (`Linalg.svd`) by FunDiff beside MathNet's
/// managed code (`LU()`, `Cholesky()`, `QR(QRMethod.Thin)`, `Evd(Symmetricity.Symmetric)`,
/// `Svd(true)` on a fresh DenseMatrix per call) and LAPACK (dgetrf, dpotrf, dgeqrf + dorgqr,
/// dsyevd, dgesdd on a copy per call; only when it loads) on the same matrices; the results
/// are checked against each other first (determinants, factors, |diag R|, eigenvalues and
/// singular values).
let linalgCases () : Case list =
    useManagedMathNet () |> ignore

    [
        for n in linalgSizes do
            let a, spd = linalgMatrices n
            let ta = Tensor.reshape [| n; n |] (Tensor.ofArray a)
            let tspd = Tensor.reshape [| n; n |] (Tensor.ofArray spd)
            let at (f: string) = List.contains n (linalgSizesOf f)

            // FunDiff's results against MathNet's
            let det = Tensor.toScalar (Linalg.det ta)
            let mdet = mathNet.DenseOfRowMajor(n, n, a).LU().Determinant

            if abs (det - mdet) > 1e-9 * abs mdet then
                failwithf "self-check failed: det at n = %d: FunDiff %g, MathNet %g" n det mdet

            agreeValues
                (sprintf "Cholesky factor at n = %d, FunDiff vs MathNet" n)
                (Tensor.toArray (Linalg.cholesky tspd))
                (mathNet.DenseOfRowMajor(n, n, spd).Cholesky().Factor.ToRowMajorArray())

            let rDiag =
                Tensor.toArray (snd (Linalg.qr ta))
                |> fun r -> Array.init n (fun i -> r.[i * n + i])

            if at "qr" then
                let mr =
                    mathNet.DenseOfRowMajor(n, n, a).QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin).R

                agreeValues
                    (sprintf "|diag R| at n = %d, FunDiff vs MathNet" n)
                    rDiag
                    (Array.init n (fun i -> abs mr.[i, i]))

            let w =
                if at "eigh" then
                    Tensor.toArray (fst (Linalg.eigh tspd))
                else
                    [||]

            if at "eigh" then
                let mw =
                    mathNet
                        .DenseOfRowMajor(n, n, spd)
                        .Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric)
                        .EigenValues
                    |> Seq.map (fun c -> c.Real)
                    |> Seq.sort
                    |> Array.ofSeq

                agreeValues (sprintf "eigenvalues at n = %d, FunDiff vs MathNet" n) w mw

            let sv =
                if at "svd" then
                    let _, s, _ = Linalg.svd ta
                    Tensor.toArray s
                else
                    [||]

            if at "svd" then
                agreeValues
                    (sprintf "singular values at n = %d, FunDiff vs MathNet" n)
                    sv
                    (mathNet.DenseOfRowMajor(n, n, a).Svd(true).S.ToArray())

            yield
                {
                    Key = sprintf "linalg.lu.fundiff.%d" n
                    Label = sprintf "LU (Linalg.det), n = %d, FunDiff" n
                    Run = fun () -> sink <- Linalg.det ta
                }

            yield
                {
                    Key = sprintf "linalg.lu.mathnet.%d" n
                    Label = sprintf "LU (LU().Determinant), n = %d, MathNet" n
                    Run = fun () -> sinkFloat <- mathNet.DenseOfRowMajor(n, n, a).LU().Determinant
                }

            yield
                {
                    Key = sprintf "linalg.chol.fundiff.%d" n
                    Label = sprintf "Cholesky (Linalg.cholesky), n = %d, FunDiff" n
                    Run = fun () -> sink <- Linalg.cholesky tspd
                }

            yield
                {
                    Key = sprintf "linalg.chol.mathnet.%d" n
                    Label = sprintf "Cholesky (Cholesky()), n = %d, MathNet" n
                    Run = fun () -> sinkFloat <- mathNet.DenseOfRowMajor(n, n, spd).Cholesky().Factor.[0, 0]
                }

            if at "qr" then
                yield
                    {
                        Key = sprintf "linalg.qr.fundiff.%d" n
                        Label = sprintf "QR (Linalg.qr), n = %d, FunDiff" n
                        Run = fun () -> sink <- box (Linalg.qr ta)
                    }

                yield
                    {
                        Key = sprintf "linalg.qr.mathnet.%d" n
                        Label = sprintf "QR (QR(Thin)), n = %d, MathNet" n
                        Run =
                            fun () ->
                                sinkFloat <-
                                    mathNet
                                        .DenseOfRowMajor(n, n, a)
                                        .QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin)
                                        .R.[0, 0]
                    }

            if at "eigh" then
                yield
                    {
                        Key = sprintf "linalg.eigh.fundiff.%d" n
                        Label = sprintf "eigh (Linalg.eigh), n = %d, FunDiff" n
                        Run = fun () -> sink <- box (Linalg.eigh tspd)
                    }

                yield
                    {
                        Key = sprintf "linalg.eigh.mathnet.%d" n
                        Label = sprintf "eigh (Evd(Symmetric)), n = %d, MathNet" n
                        Run =
                            fun () ->
                                sinkFloat <-
                                    mathNet
                                        .DenseOfRowMajor(n, n, spd)
                                        .Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric)
                                        .EigenValues.[0].Real
                    }

            if at "svd" then
                yield
                    {
                        Key = sprintf "linalg.svd.fundiff.%d" n
                        Label = sprintf "SVD (Linalg.svd), n = %d, FunDiff" n
                        Run = fun () -> sink <- box (Linalg.svd ta)
                    }

                yield
                    {
                        Key = sprintf "linalg.svd.mathnet.%d" n
                        Label = sprintf "SVD (Svd(true)), n = %d, MathNet" n
                        Run = fun () -> sinkFloat <- mathNet.DenseOfRowMajor(n, n, a).Svd(true).S.[0]
                    }

            match Lapack.status.Force() with
            | Ok _ ->
                let work = Array.zeroCreate (n * n)
                let pivots = Array.zeroCreate n
                let theirs = Lapack.luDeterminant n a work pivots

                if abs (det - theirs) > 1e-9 * abs theirs then
                    failwithf "self-check failed: det at n = %d: FunDiff %g, LAPACK %g" n det theirs

                let ws = Lapack.workspace n

                if at "qr" then
                    Lapack.qr a ws |> ignore

                    agreeValues
                        (sprintf "|diag R| at n = %d, FunDiff vs LAPACK" n)
                        rDiag
                        (Array.init n (fun i -> abs ws.R.[i * n + i]))

                if at "eigh" then
                    Lapack.eigh spd ws |> ignore
                    agreeValues (sprintf "eigenvalues at n = %d, FunDiff vs LAPACK" n) w (Array.copy ws.Values)

                if at "svd" then
                    Lapack.svd a ws |> ignore
                    agreeValues (sprintf "singular values at n = %d, FunDiff vs LAPACK" n) sv (Array.copy ws.Values)

                yield
                    {
                        Key = sprintf "linalg.lu.lapack.%d" n
                        Label = sprintf "LU (dgetrf), n = %d, LAPACK" n
                        Run = fun () -> sinkFloat <- Lapack.luDeterminant n a work pivots
                    }

                yield
                    {
                        Key = sprintf "linalg.chol.lapack.%d" n
                        Label = sprintf "Cholesky (dpotrf), n = %d, LAPACK" n
                        Run = fun () -> sinkFloat <- Lapack.cholesky n spd work
                    }

                if at "qr" then
                    yield
                        {
                            Key = sprintf "linalg.qr.lapack.%d" n
                            Label = sprintf "QR (dgeqrf + dorgqr), n = %d, LAPACK" n
                            Run = fun () -> sinkFloat <- Lapack.qr a ws
                        }

                if at "eigh" then
                    yield
                        {
                            Key = sprintf "linalg.eigh.lapack.%d" n
                            Label = sprintf "eigh (dsyevd), n = %d, LAPACK" n
                            Run = fun () -> sinkFloat <- Lapack.eigh spd ws
                        }

                if at "svd" then
                    yield
                        {
                            Key = sprintf "linalg.svd.lapack.%d" n
                            Label = sprintf "SVD (dgesdd), n = %d, LAPACK" n
                            Run = fun () -> sinkFloat <- Lapack.svd a ws
                        }
            | Error _ -> ()
    ]

/// Settings of a quick run.
type Settings =
    {
        /// Rounds (samples per case); the median is over these. At least 7.
        Rounds: int
        /// Target duration of one sample.
        SampleTarget: TimeSpan
        /// Minimum warm-up time per case (lets tiered JIT promote the hot methods).
        WarmUp: TimeSpan
    }

let defaultSettings =
    {
        Rounds = 25
        SampleTarget = TimeSpan.FromMilliseconds 80.0
        WarmUp = TimeSpan.FromMilliseconds 400.0
    }

/// Settings of the primitive-family rows, measured in their own interleaved rounds: at 10⁷ a call
/// takes 20–300 ms, so a sample is a single call and fewer rounds keep the run short.
let familySettings =
    {
        Rounds = 11
        SampleTarget = TimeSpan.FromMilliseconds 80.0
        WarmUp = TimeSpan.FromMilliseconds 300.0
    }

/// Settings of the vmap rows, measured in their own interleaved rounds (a loop row takes 20–300
/// ms a call, and vmap's per-example gradients allocate ~100 MB a call, which should not land
/// in the other rows' rounds).
let vmapSettings =
    {
        Rounds = 15
        SampleTarget = TimeSpan.FromMilliseconds 80.0
        WarmUp = TimeSpan.FromMilliseconds 400.0
    }

/// Settings of the linear-algebra rows, measured in their own interleaved rounds.
let linalgSettings =
    {
        Rounds = 9
        SampleTarget = TimeSpan.FromMilliseconds 80.0
        WarmUp = TimeSpan.FromMilliseconds 300.0
    }

/// Settings of the jit rows, measured in their own interleaved rounds (the 10⁷-element rows
/// take 30–150 ms a call).
let jitSettings =
    {
        Rounds = 11
        SampleTarget = TimeSpan.FromMilliseconds 80.0
        WarmUp = TimeSpan.FromMilliseconds 300.0
    }

/// Runs a case until `duration` has passed (at least 3 calls); returns seconds per call of the
/// last half of the calls.
let private warmUp (case: Case) (duration: TimeSpan) =
    let total = Stopwatch.StartNew()
    let times = ResizeArray<float>()

    while total.Elapsed < duration || times.Count < 3 do
        let sw = Stopwatch.StartNew()
        case.Run()
        times.Add sw.Elapsed.TotalSeconds

    times |> Seq.skip (times.Count / 2) |> Seq.toArray |> median

/// One sample: `batch` calls; returns (seconds per call, bytes per call).
let private sample (case: Case) (batch: int) =
    let bytes0 = GC.GetAllocatedBytesForCurrentThread()
    let sw = Stopwatch.StartNew()

    for _ in 1..batch do
        case.Run()

    let t = sw.Elapsed.TotalSeconds
    let bytes = GC.GetAllocatedBytesForCurrentThread() - bytes0
    t / float batch, float bytes / float batch

/// Measures every case; `log` receives progress lines.
let measure (settings: Settings) (log: string -> unit) (cases: Case list) : Measurement list =
    if settings.Rounds < 7 then
        invalidArg "settings" "at least 7 rounds"

    let cases = Array.ofList cases

    let batches =
        cases
        |> Array.map (fun c ->
            let perCall = warmUp c settings.WarmUp
            let batch = max 1 (int (settings.SampleTarget.TotalSeconds / perCall))
            log (sprintf "  warmed up %-48s ~%s per call, %d calls per sample" c.Label (Units.time perCall) batch)
            batch)

    let k = cases.Length
    let seconds = Array.init k (fun _ -> Array.zeroCreate settings.Rounds)
    let bytes = Array.init k (fun _ -> Array.zeroCreate settings.Rounds)
    let gen0 = Array.zeroCreate k
    let gen2 = Array.zeroCreate k
    let pause = Array.create k TimeSpan.Zero

    for r in 0 .. settings.Rounds - 1 do
        for j in 0 .. k - 1 do
            let i = (j + r) % k // rotate the order so that no case always follows the same one
            let g0, g2 = GC.CollectionCount 0, GC.CollectionCount 2
            let p0 = GC.GetTotalPauseDuration()
            let t, b = sample cases.[i] batches.[i]
            pause.[i] <- pause.[i] + (GC.GetTotalPauseDuration() - p0)
            gen0.[i] <- gen0.[i] + GC.CollectionCount 0 - g0
            gen2.[i] <- gen2.[i] + GC.CollectionCount 2 - g2
            seconds.[i].[r] <- t
            bytes.[i].[r] <- b

        log (sprintf "  round %d/%d done" (r + 1) settings.Rounds)

    [
        for i in 0 .. k - 1 ->
            let calls = float (batches.[i] * settings.Rounds)

            {
                Case = cases.[i]
                Batch = batches.[i]
                Seconds = seconds.[i]
                Bytes = bytes.[i]
                Gen0PerCall = float gen0.[i] / calls
                Gen2PerCall = float gen2.[i] / calls
                GcPausePerCall = pause.[i].TotalSeconds / calls
            }
    ]
