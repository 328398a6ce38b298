// Room: the public Linalg module (NumPy's numpy.linalg): solve, inv, det, slogdet, cholesky,
// triangularSolve, qr, eigh, svd, lstsq, lstsqFull, pinv, matrixPower, norm, tril, triu, kron.
namespace FunDiff

open FunDiff.Primitives
open FunDiff.Rules

/// Which norm `Linalg.norm` computes (NumPy's `ord`).
type NormOrder =
    /// Frobenius for a matrix (the square root of the sum of squares), 2-norm for a vector.
    | Frobenius
    /// Matrix: the largest column sum of |aᵢⱼ|; vector: the sum of |xᵢ|.
    | One
    /// Matrix: the largest singular value (spectral norm); vector: the Euclidean norm.
    | Two
    /// Matrix: the largest row sum of |aᵢⱼ|; vector: the largest |xᵢ|.
    | Infinity
    /// Matrix only: the sum of the singular values.
    | Nuclear

/// Linear algebra in the style of `numpy.linalg` / `jax.numpy.linalg`, differentiable to any
/// order and batched: every function takes a matrix or a stack of matrices (the last two axes;
/// leading axes are a batch, as NumPy's), and works under grad, vmap and jit.
/// C#: `Linalg.Solve(a, b)`, `Linalg.Inv(a)`, ... (PascalCase compiled names).
///
/// Derivatives: eigenvector and singular-vector derivatives are undefined where eigenvalues
/// (singular values) repeat: the rules then divide by zero and give non-finite values, as
/// JAX's and PyTorch's do. Sign conventions (so that the factors are functions of the matrix):
/// r of `qr` has a non-negative diagonal; each eigenvector of `eigh` and each column of u of
/// `svd` has its largest-magnitude entry positive.
/// Singular matrices raise `LinAlgException` in `solve`, `inv` and `triangularSolve`; `det`
/// gives 0 and `slogdet` (0, −∞). `cholesky` of a matrix that is not positive definite raises
/// `LinAlgException` (NumPy's choice; JAX returns NaN).
module Linalg =

    let private notNull (op: string) (name: string) (x: Tensor) = Guard.notNull op name x

    let private fail (fmt: Printf.StringFormat<'a, 'b>) =
        Printf.ksprintf (fun message -> raise (ShapeException message)) fmt

    let private matrixOperand (op: string) (x: Tensor) =
        if x.Rank < 2 then
            fail
                "%s: expects a matrix or a stack of matrices (rank 2 or more), got shape %s. Reshape it, e.g. Tensor.reshape [| n; n |]."
                op
                (Shape.show x.Aval.Shape)

    let private batchOf (x: Tensor) = x.Aval.Shape.[.. x.Rank - 3]

    /// b with the leading axes of a, as a stack of matrices (a vector b becomes one column),
    /// the leading axes of both broadcast; and whether b was a vector.
    let private rightHandSide (op: string) (a: Tensor) (b: Tensor) =
        matrixOperand op a
        let vector = b.Rank = 1
        let bm = if vector then Prim.reshape [| b.Size; 1 |] b else b

        if not (Shape.broadcasts (batchOf a) (batchOf bm)) then
            fail
                "%s: the leading (batch) axes of the matrix %s and the right-hand side %s cannot broadcast. Make them equal or 1."
                op
                (Shape.show a.Aval.Shape)
                (Shape.show b.Aval.Shape)

        let batch = Shape.broadcast op (batchOf a) (batchOf bm)
        let lastTwo (x: Tensor) = x.Aval.Shape.[x.Rank - 2 ..]
        let a' = Prim.broadcastTo (Array.append batch (lastTwo a)) a
        let b' = Prim.broadcastTo (Array.append batch (lastTwo bm)) bm
        a', b', vector

    let private unvector (vector: bool) (x: Tensor) =
        if vector then
            Prim.reshape x.Aval.Shape.[.. x.Rank - 2] x
        else
            x

    /// x with a x = b, by LU with partial pivoting. `a`: [..., n, n]; `b`: a vector [n] or a
    /// stack [..., n, k] (leading axes broadcast). Raises LinAlgException for a singular `a`.
    [<CompiledName "Solve">]
    let solve (a: Tensor) (b: Tensor) =
        notNull "solve" "a" a
        notNull "solve" "b" b
        let a, b, vector = rightHandSide "solve" a b
        unvector vector (Factorizations.solve a b)

    /// The inverse of each matrix. Raises LinAlgException for a singular one.
    [<CompiledName "Inv">]
    let inv (a: Tensor) =
        notNull "inv" "a" a
        Interpreter.Bind1(invP, [| a |], Params.Empty)

    /// The determinant of each matrix (shape: the leading axes), by LU.
    [<CompiledName "Det">]
    let det (a: Tensor) =
        notNull "det" "a" a
        Interpreter.Bind1(detP, [| a |], Params.Empty)

    /// (sign, log |det|) of each matrix: the stable form of the determinant (a singular matrix
    /// gives (0, −∞)). The sign has derivative zero.
    [<CompiledName "Slogdet">]
    let slogdet (a: Tensor) =
        notNull "slogdet" "a" a
        let outs = Interpreter.Bind(slogdetP, [| a |], Params.Empty)
        outs.[0], outs.[1]

    /// The lower Cholesky factor L of each symmetric positive-definite matrix (a = L Lᵀ); the
    /// symmetric part (a + aᵀ)/2 is factored, so the derivative is taken along symmetric
    /// directions. Raises LinAlgException for a matrix that is not positive definite.
    [<CompiledName "Cholesky">]
    let cholesky (a: Tensor) =
        notNull "cholesky" "a" a
        Interpreter.Bind1(choleskyP, [| a |], Params.Empty)

    /// x with op(T) x = b (left side), T the lower (`lower = true`) or upper triangle of `a`
    /// (the other triangle is not read), op(T) = Tᵀ when `transpose`. `b` as in `solve`.
    [<CompiledName "TriangularSolve">]
    let triangularSolve (lower: bool) (transpose: bool) (a: Tensor) (b: Tensor) =
        notNull "triangularSolve" "a" a
        notNull "triangularSolve" "b" b
        let a, b, vector = rightHandSide "triangular_solve" a b
        unvector vector (Factorizations.triangularSolve lower transpose a b)

    /// The reduced QR of each m×n matrix: (q [m, k], r [k, n]), k = min(m, n), q with
    /// orthonormal columns, r upper triangular with a non-negative diagonal. Differentiable
    /// where the leading k columns are linearly independent, tall or wide (for m < n, a =
    /// [x | y] with x the leading m×m block: q, r_x = qr(x) and r = [r_x | qᵀ y]).
    [<CompiledName "Qr">]
    let qr (a: Tensor) =
        notNull "qr" "a" a
        let outs = Interpreter.Bind(qrP, [| a |], Params.Empty)
        outs.[0], outs.[1]

    /// The eigendecomposition of each symmetric matrix (its symmetric part (a + aᵀ)/2):
    /// (eigenvalues ascending [..., n], eigenvectors as columns [..., n, n]).
    [<CompiledName "Eigh">]
    let eigh (a: Tensor) =
        notNull "eigh" "a" a
        let outs = Interpreter.Bind(eighP, [| a |], Params.Empty)
        outs.[0], outs.[1]

    /// The reduced SVD of each m×n matrix: (u [m, k], s [k] descending, vt [k, n]), k = min(m, n),
    /// a = u · diag(s) · vt.
    [<CompiledName "Svd">]
    let svd (a: Tensor) =
        notNull "svd" "a" a
        let outs = Interpreter.Bind(svdP, [| a |], Params.Empty)
        outs.[0], outs.[1], outs.[2]

    /// The pseudo-inverse of each matrix, by SVD: singular values at most 1e-15 · max(m, n) ·
    /// the largest are treated as zero (NumPy's default `rcond`).
    [<CompiledName "Pinv">]
    let pinv (a: Tensor) =
        notNull "pinv" "a" a
        matrixOperand "pinv" a
        let u, s, vt = svd a
        let m, n = a.Aval.Shape.[a.Rank - 2], a.Aval.Shape.[a.Rank - 1]

        let cutoff =
            Prim.stopGradient (Prim.reduce reduceMaxP [| s.Rank - 1 |] s * (1e-15 * float (max m n)))

        let keep = Prim.compare gtP s (Prim.expandDims (s.Rank - 1) cutoff)
        // the reciprocal of a kept value only: a zero singular value must not reach 1/s
        let safe = Prim.where keep s (Prim.scalar 1.0)
        let sInv = Prim.where keep (1.0 / safe) (Prim.scalar 0.0)
        Factorizations.mm (Factorizations.mT vt) (Factorizations.mT u * Prim.expandDims s.Rank sInv)

    /// The least-squares solution x minimizing ‖a x − b‖ (the minimum-norm one if a is rank
    /// deficient): pinv(a) · b. Only x is returned (NumPy's lstsq also returns residuals, rank
    /// and singular values: use svd for those).
    [<CompiledName "Lstsq">]
    let lstsq (a: Tensor) (b: Tensor) =
        notNull "lstsq" "a" a
        notNull "lstsq" "b" b
        matrixOperand "lstsq" a
        let vector = b.Rank = 1
        let bm = if vector then Prim.reshape [| b.Size; 1 |] b else b

        if bm.Aval.Shape.[bm.Rank - 2] <> a.Aval.Shape.[a.Rank - 2] then
            fail
                "lstsq: the right-hand side of shape %s does not fit the matrix of shape %s (%d rows needed)."
                (Shape.show b.Aval.Shape)
                (Shape.show a.Aval.Shape)
                a.Aval.Shape.[a.Rank - 2]

        unvector vector (Composite.LinearAlgebra.matmul (pinv a) bm)

    /// NumPy's full lstsq: `(x, residuals, rank, s)` for `a` [..., m, n] and `b` a vector [m] or
    /// a stack [..., m, k] (leading axes broadcast, as `solve`'s; NumPy's and JAX's lstsq take
    /// one matrix). `x` is the least-squares solution (the minimum-norm one if `a` is rank
    /// deficient), by SVD; singular values at most rcond · max(s) count as zero, rcond = ε ·
    /// max(m, n) (NumPy's default; `lstsq` uses pinv's 1e-15 · max(m, n)). `residuals` is ‖b −
    /// a x‖² per column ([..., k], or [..., 1] for a vector `b`) when m > n and every matrix has
    /// rank n, else empty ([..., 0]), as NumPy's; where the rank is not known while tracing
    /// (under jit, vmap, makeIR) and m > n the residuals are always computed (JAX's jit-able
    /// choice). `rank` is int64, shape [...]; `s` the singular values, descending [..., min(m, n)].
    /// Differentiable in x, residuals and s (rank has derivative zero).
    [<CompiledName "LstsqFull">]
    let lstsqFull (a: Tensor) (b: Tensor) =
        notNull "lstsqFull" "a" a
        notNull "lstsqFull" "b" b
        let a', b', vector = rightHandSide "lstsqFull" a b
        let m, n = a'.Aval.Shape.[a'.Rank - 2], a'.Aval.Shape.[a'.Rank - 1]

        if b'.Aval.Shape.[b'.Rank - 2] <> m then
            fail
                "lstsqFull: the right-hand side of shape %s does not fit the matrix of shape %s (%d rows needed)."
                (Shape.show b.Aval.Shape)
                (Shape.show a.Aval.Shape)
                m

        let u, s, vt = svd a'
        let last = s.Rank - 1
        let rcond = System.Math.Pow(2.0, -52.0) * float (max m n)

        let cutoff = Prim.stopGradient (Prim.reduce reduceMaxP [| last |] s * rcond)

        let keep = Prim.compare gtP s (Prim.expandDims last cutoff)
        let rank = Prim.sumAxes [| last |] (Prim.convert Int64 keep)
        // the reciprocal of a kept value only: a zero singular value must not reach 1/s
        let sInv =
            Prim.where keep (1.0 / Prim.where keep s (Prim.scalar 1.0)) (Prim.scalar 0.0)

        let uTb = Factorizations.mm (Factorizations.mT u) b'
        let x = Factorizations.mm (Factorizations.mT vt) (Prim.expandDims s.Rank sInv * uTb)
        let batch = batchOf a'

        let empty () =
            Prim.broadcastTo (Array.append batch [| 0 |]) (Prim.scalar 0.0)

        let fullRank () =
            match Prim.knownValues "lstsqFull" rank with
            | ValueSome ranks -> Array.forall (fun r -> r = float n) ranks.Data
            | ValueNone -> true

        let residuals =
            if m > n && fullRank () then
                let e = b' - Factorizations.mm a' x
                Prim.sumAxes [| e.Rank - 2 |] (e * e)
            else
                empty ()

        unvector vector x, residuals, rank, s

    /// The lower triangle of each matrix: entries with j − i ≤ k kept, the others zero
    /// (k = 0: the diagonal and below; k = −1: strictly below).
    [<CompiledName "Tril">]
    let tril (k: int) (a: Tensor) =
        notNull "tril" "a" a
        matrixOperand "tril" a
        let rows, cols = a.Aval.Shape.[a.Rank - 2], a.Aval.Shape.[a.Rank - 1]

        let mask =
            Factorizations.constant rows cols (fun i j -> if j - i <= k then 1.0 else 0.0)

        Prim.where (Prim.broadcastTo a.Aval.Shape mask) a (Prim.scalar 0.0)

    /// The upper triangle of each matrix: entries with j − i ≥ k kept, the others zero.
    [<CompiledName "Triu">]
    let triu (k: int) (a: Tensor) =
        notNull "triu" "a" a
        matrixOperand "triu" a
        let rows, cols = a.Aval.Shape.[a.Rank - 2], a.Aval.Shape.[a.Rank - 1]

        let mask =
            Factorizations.constant rows cols (fun i j -> if j - i >= k then 1.0 else 0.0)

        Prim.where (Prim.broadcastTo a.Aval.Shape mask) a (Prim.scalar 0.0)

    /// The Kronecker product of matrices, batched: the last two axes of each operand are its
    /// matrices and the leading axes broadcast as NumPy's do, so `a` [..., m, n] and `b`
    /// [..., p, q] give [..., m·p, n·q], each matrix the block matrix [aᵢⱼ · b]. An operand of
    /// rank 1 beside one of rank ≥ 2 is a row [1, n] (as np.kron takes it); two vectors (or a
    /// scalar) give the product over their one axis, [aᵢ · b], as np.kron.
    ///
    /// This differs from np.kron on operands of rank 3 or more, which takes the product over
    /// every axis (np.kron of [2, 3, 3] and [2, 3, 3] is [4, 9, 9]): here every Linalg function
    /// treats leading axes as a batch (the issue's rule for the module), so the same operands
    /// give [2, 9, 9], matrix i the kron of the matrices i. For NumPy's n-d product, reshape to
    /// interleaved axes and multiply (Tensor.reshape and broadcasting).
    [<CompiledName "Kron">]
    let kron (a: Tensor) (b: Tensor) =
        notNull "kron" "a" a
        notNull "kron" "b" b

        if a.Rank <= 1 && b.Rank <= 1 then
            // vectors (or scalars): the product over the one axis, [aᵢ · b]
            let sa = if a.Rank = 0 then 1 else a.Size
            let sb = if b.Rank = 0 then 1 else b.Size
            let product = Prim.reshape [| sa; 1 |] a * Prim.reshape [| 1; sb |] b
            let r = max a.Rank b.Rank
            Prim.reshape (if r = 0 then [||] else [| sa * sb |]) product
        else
            // each operand a stack of matrices (a vector a row, a scalar 1×1)
            let asMatrices (x: Tensor) =
                match x.Rank with
                | 0 -> Prim.reshape [| 1; 1 |] x
                | 1 -> Prim.reshape [| 1; x.Size |] x
                | _ -> x

            let a, b = asMatrices a, asMatrices b

            if not (Shape.broadcasts (batchOf a) (batchOf b)) then
                fail
                    "kron: the leading (batch) axes of %s and %s cannot broadcast; the last two axes are the matrices, the leading ones must be equal or 1 (for NumPy's product over every axis, reshape to interleaved axes and multiply)."
                    (Shape.show a.Aval.Shape)
                    (Shape.show b.Aval.Shape)

            let batch = Shape.broadcast "kron" (batchOf a) (batchOf b)
            let m, n = a.Aval.Shape.[a.Rank - 2], a.Aval.Shape.[a.Rank - 1]
            let p, q = b.Aval.Shape.[b.Rank - 2], b.Aval.Shape.[b.Rank - 1]
            // a's entry (i, j) at axes (i, 1, j, 1), b's at (1, k, 1, l): the product's
            // (i, k) and (j, l) flatten to the block matrix's row and column
            let a' = Prim.reshape (Array.append (batchOf a) [| m; 1; n; 1 |]) a
            let b' = Prim.reshape (Array.append (batchOf b) [| 1; p; 1; q |]) b
            Prim.reshape (Array.append batch [| m * p; n * q |]) (a' * b')

    /// The integer power of each square matrix, by repeated squaring: n = 0 gives the identity,
    /// a negative n the power of the inverse.
    [<CompiledName "MatrixPower">]
    let matrixPower (n: int) (a: Tensor) =
        notNull "matrixPower" "a" a
        matrixOperand "matrixPower" a
        let size = a.Aval.Shape.[a.Rank - 1]

        if a.Aval.Shape.[a.Rank - 2] <> size then
            fail
                "matrixPower: expects square matrices, got shape %s. Only a square matrix has powers."
                (Shape.show a.Aval.Shape)

        let identity () =
            Prim.broadcastTo a.Aval.Shape (Factorizations.eye size)

        let baseMatrix = if n < 0 then inv a else a
        let mutable result: Tensor voption = ValueNone
        let mutable power = baseMatrix
        let mutable e = abs n

        while e > 0 do
            if e &&& 1 = 1 then
                result <-
                    ValueSome(
                        match result with
                        | ValueSome acc -> Factorizations.mm acc power
                        | ValueNone -> power
                    )

            e <- e >>> 1

            if e > 0 then
                power <- Factorizations.mm power power

        match result with
        | ValueSome m -> m
        | ValueNone -> identity ()

    /// The norm of a vector (rank 1) or of each matrix (rank ≥ 2: the last two axes), NumPy's
    /// `norm(x, ord)`. Two and Nuclear of a matrix go through its singular values.
    [<CompiledName "Norm">]
    let norm (ord: NormOrder) (x: Tensor) =
        Guard.notNull "norm" "ord" ord
        notNull "norm" "x" x

        let sumAbs (axis: int) (y: Tensor) = Prim.sumAxes [| axis |] (Tensor.Abs y)
        let maxAxis (axis: int) (y: Tensor) = Prim.reduce reduceMaxP [| axis |] y

        match x.Rank, ord with
        | 0, _ -> fail "norm: expects a vector or a matrix, got a scalar. Use Tensor.abs for a scalar."
        | 1, (Frobenius | Two) -> Composite.Nn.norm x
        | 1, One -> Prim.sum (Tensor.Abs x)
        | 1, Infinity -> Prim.reduce reduceMaxP [| 0 |] (Tensor.Abs x)
        | 1, Nuclear ->
            fail "norm: the nuclear norm is defined for matrices, got a vector of shape %s." (Shape.show x.Aval.Shape)
        | 2, Frobenius -> Composite.Nn.norm x
        | r, Frobenius -> Tensor.Sqrt(Prim.sumAxes [| r - 2; r - 1 |] (x * x))
        | r, One -> maxAxis (r - 2) (sumAbs (r - 2) x)
        | r, Infinity -> maxAxis (r - 2) (sumAbs (r - 1) x)
        | _, Two ->
            let _, s, _ = svd x
            maxAxis (s.Rank - 1) s
        | _, Nuclear ->
            let _, s, _ = svd x
            Prim.sumAxes [| s.Rank - 1 |] s
