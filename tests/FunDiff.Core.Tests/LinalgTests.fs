/// The Linalg module against the identities that define each function (a · solve a b = b,
/// q r = a, u diag(s) vᵀ = a, L Lᵀ = a, ...), exact values on 2×2 matrices, batches against
/// loops over their matrices, derivatives (jit of grad, repeated eigenvalues) and errors.
/// Derivatives in general are checked by the property laws (Domains.fs).
module FunDiff.Tests.LinalgTests

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private tight = { Relative = 1e-10; Absolute = 1e-10 }

let private m2 (rows: float list list) = Tensor.ofArray2D (array2D rows)

/// Random entries in [-1, 1) plus (n + 1)·I on each matrix: well conditioned.
let private wellConditioned (seed: int) (shape: int[]) =
    let n = shape.[shape.Length - 1]
    let r = Random seed
    let eye = Tensor.broadcastTo shape (Tensor.eye n)
    randomTensor r -1.0 1.0 shape + eye * float (n + 1)

let private random (seed: int) (shape: int[]) =
    randomTensor (Random seed) -1.0 1.0 shape

let private mT (x: Tensor) =
    let r = x.Rank

    Tensor.transposeAxes
        (Array.init r (fun k ->
            if k = r - 2 then r - 1
            elif k = r - 1 then r - 2
            else k))
        x

let private close what expected actual = assertClose what tight expected actual

let private isIdentity what (x: Tensor) =
    let n = x.Shape.[x.Rank - 1]
    close what (Tensor.broadcastTo x.Shape (Tensor.eye n)) x

/// Matrix b of a stack (shape without the leading axis).
let private at (b: int) (x: Tensor) = Tensor.index b x

[<Fact>]
let ``a · solve a b = b for a vector, a matrix and broadcast leading axes`` () =
    let a = wellConditioned 1 [| 4; 4 |]
    let b = random 2 [| 4 |]
    close "vector" b (Tensor.matmul a (Linalg.solve a b))
    let bm = random 3 [| 4; 2 |]
    close "matrix" bm (Tensor.matmul a (Linalg.solve a bm))
    let stack = wellConditioned 4 [| 3; 4; 4 |]
    let x = Linalg.solve stack bm
    Assert.Equal<int[]>([| 3; 4; 2 |], x.Shape)
    close "batch of matrices, one right-hand side" (Tensor.broadcastTo [| 3; 4; 2 |] bm) (Tensor.matmul stack x)

[<Fact>]
let ``inv a · a = I and a batch equals the loop over its matrices`` () =
    let a = wellConditioned 5 [| 3; 3; 3 |]
    let ai = Linalg.inv a
    isIdentity "inv a @ a" (Tensor.matmul ai a)

    for b in 0..2 do
        close (sprintf "matrix %d" b) (Linalg.inv (at b a)) (at b ai)
        close (sprintf "det %d" b) (Linalg.det (at b a)) (at b (Linalg.det a))

        close
            (sprintf "cholesky %d" b)
            (Linalg.cholesky (at b (Tensor.matmul a (mT a))))
            (at b (Linalg.cholesky (Tensor.matmul a (mT a))))

        let w, v = Linalg.eigh (at b (a + mT a))
        let wb, vb = Linalg.eigh (a + mT a)
        close (sprintf "eigh values %d" b) w (at b wb)
        close (sprintf "eigh vectors %d" b) v (at b vb)
        let u, s, vt = Linalg.svd (at b a)
        let ub, sb, vtb = Linalg.svd a
        close (sprintf "svd u %d" b) u (at b ub)
        close (sprintf "svd s %d" b) s (at b sb)
        close (sprintf "svd vt %d" b) vt (at b vtb)

[<Fact>]
let ``exact values on 2x2 matrices`` () =
    let a = m2 [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]
    Assert.Equal(-2.0, Tensor.toScalar (Linalg.det a), 12)
    close "inv" (m2 [ [ -2.0; 1.0 ]; [ 1.5; -0.5 ] ]) (Linalg.inv a)
    close "solve" (Tensor.ofArray [| 1.0; 0.0 |]) (Linalg.solve a (Tensor.ofArray [| 1.0; 3.0 |]))
    let sign, logAbs = Linalg.slogdet (m2 [ [ 0.0; 1.0 ]; [ 1.0; 0.0 ] ])
    Assert.Equal(-1.0, Tensor.toScalar sign)
    Assert.Equal(0.0, Tensor.toScalar logAbs, 12)
    let sign0, log0 = Linalg.slogdet (m2 [ [ 1.0; 2.0 ]; [ 2.0; 4.0 ] ])
    Assert.Equal(0.0, Tensor.toScalar sign0)
    Assert.Equal(Double.NegativeInfinity, Tensor.toScalar log0)
    Assert.Equal(0.0, Tensor.toScalar (Linalg.det (m2 [ [ 1.0; 2.0 ]; [ 2.0; 4.0 ] ])))
    close "cholesky" (m2 [ [ 2.0; 0.0 ]; [ 1.0; sqrt 2.0 ] ]) (Linalg.cholesky (m2 [ [ 4.0; 2.0 ]; [ 2.0; 3.0 ] ]))
    let w, v = Linalg.eigh (m2 [ [ 2.0; 1.0 ]; [ 1.0; 2.0 ] ])
    close "eigenvalues ascending" (Tensor.ofArray [| 1.0; 3.0 |]) w
    let h = 1.0 / sqrt 2.0
    // sign convention: the largest-magnitude entry of each eigenvector is positive (a tie: the first)
    close "eigenvectors" (m2 [ [ h; h ]; [ -h; h ] ]) v
    let _, s, _ = Linalg.svd (m2 [ [ 3.0; 0.0 ]; [ 0.0; -4.0 ] ])
    close "singular values descending" (Tensor.ofArray [| 4.0; 3.0 |]) s
    close "tril" (m2 [ [ 1.0; 0.0 ]; [ 3.0; 4.0 ] ]) (Linalg.tril 0 a)
    close "triu 1" (m2 [ [ 0.0; 2.0 ]; [ 0.0; 0.0 ] ]) (Linalg.triu 1 a)
    close "tril -1" (m2 [ [ 0.0; 0.0 ]; [ 3.0; 0.0 ] ]) (Linalg.tril -1 a)

    close
        "kron"
        (m2
            [
                [ 0.0; 1.0; 0.0; 2.0 ]
                [ 1.0; 0.0; 2.0; 0.0 ]
                [ 0.0; 3.0; 0.0; 4.0 ]
                [ 3.0; 0.0; 4.0; 0.0 ]
            ])
        (Linalg.kron a (m2 [ [ 0.0; 1.0 ]; [ 1.0; 0.0 ] ]))

    close
        "kron of vectors"
        (Tensor.ofArray [| 3.0; 4.0; 6.0; 8.0 |])
        (Linalg.kron (Tensor.ofArray [| 1.0; 2.0 |]) (Tensor.ofArray [| 3.0; 4.0 |]))

    close "matrixPower 3" (m2 [ [ 37.0; 54.0 ]; [ 81.0; 118.0 ] ]) (Linalg.matrixPower 3 a)
    close "matrixPower 0" (Tensor.eye 2) (Linalg.matrixPower 0 a)
    close "matrixPower -2" (Tensor.matmul (Linalg.inv a) (Linalg.inv a)) (Linalg.matrixPower -2 a)
    let n = m2 [ [ 1.0; -2.0 ]; [ 3.0; 4.0 ] ]
    Assert.Equal(sqrt 30.0, Tensor.toScalar (Linalg.norm Frobenius n), 12)
    Assert.Equal(6.0, Tensor.toScalar (Linalg.norm One n), 12)
    Assert.Equal(7.0, Tensor.toScalar (Linalg.norm Infinity n), 12)
    let _, sn, _ = Linalg.svd n
    Assert.Equal((Tensor.toArray sn).[0], Tensor.toScalar (Linalg.norm Two n), 12)
    Assert.Equal(Array.sum (Tensor.toArray sn), Tensor.toScalar (Linalg.norm Nuclear n), 12)
    let x = Tensor.ofArray [| 3.0; -4.0 |]
    Assert.Equal(5.0, Tensor.toScalar (Linalg.norm Two x), 12)
    Assert.Equal(7.0, Tensor.toScalar (Linalg.norm One x), 12)
    Assert.Equal(4.0, Tensor.toScalar (Linalg.norm Infinity x), 12)

[<Fact>]
let ``det is the product of the eigenvalues; slogdet agrees with det`` () =
    let a = random 6 [| 2; 4; 4 |]
    let s = a + mT a
    let w, _ = Linalg.eigh s
    close "det = prod eigenvalues" (Tensor.prodAxes [ 1 ] w) (Linalg.det s)
    let sign, logAbs = Linalg.slogdet a
    close "slogdet" (Linalg.det a) (sign * Tensor.exp logAbs)

[<Fact>]
let ``eigh: a v = v diag w with w ascending and v orthonormal`` () =
    let a = random 7 [| 5; 5 |]
    let s = a + mT a
    let w, v = Linalg.eigh s
    close "a v = v diag w" (Tensor.matmul s v) (v * Tensor.reshape [| 1; 5 |] w)
    isIdentity "vᵀ v" (Tensor.matmul (mT v) v)
    let ws = Tensor.toArray w
    Assert.Equal<float[]>(Array.sort ws, ws)

[<Fact>]
let ``q · r = a with q orthonormal and r upper triangular with a non-negative diagonal`` () =
    for shape in [ [| 5; 3 |]; [| 3; 5 |]; [| 2; 4; 4 |] ] do
        let a = random 8 shape
        let q, r = Linalg.qr a
        close (sprintf "q r = a for %A" shape) a (Tensor.matmul q r)
        isIdentity "qᵀ q" (Tensor.matmul (mT q) q)
        close "r upper" (Linalg.triu 0 r) r
        let k = min shape.[shape.Length - 2] shape.[shape.Length - 1]
        let cols = r.Shape.[r.Rank - 1]
        let values = Tensor.toArray r

        for b in 0 .. values.Length / (k * cols) - 1 do
            for i in 0 .. k - 1 do
                Assert.True(values.[b * k * cols + i * cols + i] >= 0.0, sprintf "r's diagonal at %d" i)

[<Fact>]
let ``u · diag s · vt = a with s descending, for tall, wide and batched matrices`` () =
    for shape in [ [| 5; 3 |]; [| 3; 5 |]; [| 2; 4; 4 |] ] do
        let a = random 9 shape
        let u, s, vt = Linalg.svd a
        close (sprintf "u diag(s) vt = a for %A" shape) a (Tensor.matmul (u * Tensor.expandDims (s.Rank - 1) s) vt)
        isIdentity "uᵀ u" (Tensor.matmul (mT u) u)
        isIdentity "vt vtᵀ" (Tensor.matmul vt (mT vt))
        let sv = Tensor.toArray s
        let k = shape.[shape.Length - 1] |> min shape.[shape.Length - 2]

        for b in 0 .. sv.Length / k - 1 do
            let row = sv.[b * k .. b * k + k - 1]
            Assert.Equal<float[]>(Array.sortDescending row, row)

[<Fact>]
let ``cholesky: L Lᵀ = a with L lower triangular`` () =
    let x = random 10 [| 2; 4; 4 |]
    let a = Tensor.matmul x (mT x) + Tensor.eye 4
    let l = Linalg.cholesky a
    close "L Lᵀ = a" a (Tensor.matmul l (mT l))
    close "L lower" (Linalg.tril 0 l) l

[<Fact>]
let ``triangularSolve solves op(T) x = b for each triangle, transposed or not`` () =
    let a = wellConditioned 11 [| 2; 4; 4 |]
    let b = random 12 [| 2; 4; 3 |]

    for lower in [ true; false ] do
        for transpose in [ true; false ] do
            let t = if lower then Linalg.tril 0 a else Linalg.triu 0 a
            let op = if transpose then mT t else t
            let x = Linalg.triangularSolve lower transpose a b
            close (sprintf "lower=%b transpose=%b" lower transpose) b (Tensor.matmul op x)

[<Fact>]
let ``pinv of a full-rank square matrix is its inverse; lstsq solves the normal equations`` () =
    let a = wellConditioned 13 [| 3; 3 |]
    close "pinv = inv" (Linalg.inv a) (Linalg.pinv a)
    let tall = random 14 [| 6; 3 |]
    let b = random 15 [| 6 |]
    let x = Linalg.lstsq tall b
    close "normal equations" (Linalg.solve (Tensor.matmul (mT tall) tall) (Tensor.matmul (mT tall) b)) x
    let wide = random 16 [| 2; 4 |]

    close
        "pinv a a pinv a = pinv a"
        (Linalg.pinv wide)
        (Tensor.matmul (Tensor.matmul (Linalg.pinv wide) wide) (Linalg.pinv wide))

[<Fact>]
let ``gradients: of log det a is inv(a)ᵀ, jit of grad through solve equals grad`` () =
    let a = wellConditioned 17 [| 3; 3 |]
    close "grad logdet" (mT (Linalg.inv a)) (grad (fun a -> snd (Linalg.slogdet a)) a)
    close "grad det" (Linalg.det a * mT (Linalg.inv a)) (grad Linalg.det a)
    let b = random 18 [| 3 |]

    let f (a: Tensor) =
        Tensor.sum (Tensor.square (Linalg.solve a b))

    close "jit (grad f)" (grad f a) ((jit (grad f)) a)

    let g (x: Tensor) =
        Tensor.sum (Linalg.solve (a + Tensor.diag x) b)

    let x0 = Tensor.ofArray [| 0.1; 0.2; 0.3 |]
    close "jit (hessian g)" (hessian g x0) ((jit (hessian g)) x0)

[<Fact>]
let ``eigenvector derivatives are non-finite at repeated eigenvalues, as JAX's`` () =
    let _, t = jvp (fun a -> snd (Linalg.eigh a)) (Tensor.eye 3) (random 19 [| 3; 3 |])
    Assert.True(Tensor.toArray t |> Array.exists (fun v -> not (Double.IsFinite v)))

[<Fact>]
let ``Newton's method with solve and hessian finds the minimum`` () =
    let f (x: Tensor) =
        Tensor.sum (Tensor.exp x) - Tensor.sum (x * Tensor.ofArray [| 1.0; 2.0 |])
        + 0.5 * Tensor.sum (x * x)

    let mutable x = Tensor.zeros [| 2 |]

    for _ in 1..20 do
        x <- x - Linalg.solve (hessian f x) (grad f x)

    Assert.True(Tensor.toArray (grad f x) |> Array.forall (fun g -> abs g < 1e-12))

// ---- errors -----------------------------------------------------------------------------

let private singularMatrix = m2 [ [ 1.0; 2.0 ]; [ 2.0; 4.0 ] ]

[<Fact>]
let ``a singular matrix raises LinAlgException naming solve, inv and triangularSolve`` () =
    let e =
        Assert.Throws<LinAlgException>(fun () -> Linalg.solve singularMatrix (Tensor.ones [| 2 |]) |> ignore)

    Assert.Contains("solve", e.Message)
    Assert.Contains("singular", e.Message)
    Assert.Contains("[2, 2]", e.Message)

    let e =
        Assert.Throws<LinAlgException>(fun () -> Linalg.inv singularMatrix |> ignore)

    Assert.Contains("inv", e.Message)

    let e =
        Assert.Throws<LinAlgException>(fun () ->
            Linalg.triangularSolve true false (m2 [ [ 0.0; 0.0 ]; [ 1.0; 1.0 ] ]) (Tensor.ones [| 2 |])
            |> ignore)

    Assert.Contains("triangular_solve", e.Message)

[<Fact>]
let ``cholesky of a matrix that is not positive definite raises LinAlgException`` () =
    let e =
        Assert.Throws<LinAlgException>(fun () -> Linalg.cholesky (m2 [ [ 1.0; 2.0 ]; [ 2.0; 1.0 ] ]) |> ignore)

    Assert.Contains("cholesky", e.Message)
    Assert.Contains("not positive definite", e.Message)

[<Fact>]
let ``non-square matrices and mismatched shapes raise ShapeException naming the op`` () =
    let wide = Tensor.ones [| 2; 3 |]

    for name, f in
        [
            "det", Linalg.det
            "inv", Linalg.inv
            "cholesky", Linalg.cholesky
            "slogdet", (Linalg.slogdet >> fst)
            "eigh", (Linalg.eigh >> fst)
        ] do
        let e = Assert.Throws<ShapeException>(fun () -> f wide |> ignore)
        Assert.Contains(name, e.Message)
        Assert.Contains("[2, 3]", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Linalg.solve (Tensor.eye 3) (Tensor.ones [| 2 |]) |> ignore)

    Assert.Contains("solve", e.Message)
    Assert.Contains("[2, 1]", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Linalg.det (Tensor.ones [| 3 |]) |> ignore)

    Assert.Contains("det", e.Message)
    let e = Assert.Throws<ShapeException>(fun () -> Linalg.matrixPower 2 wide |> ignore)
    Assert.Contains("matrixPower", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Linalg.norm Nuclear (Tensor.ones [| 3 |]) |> ignore)

    Assert.Contains("nuclear", e.Message)

[<Fact>]
let ``vmap over a stack of matrices equals the batched call, also for per-matrix gradients`` () =
    let stack = wellConditioned 20 [| 4; 3; 3 |]
    let b = random 21 [| 3 |]
    close "vmap solve" (Linalg.solve stack b) (vmap (fun a -> Linalg.solve a b) stack)
    close "vmap det" (Linalg.det stack) (vmap Linalg.det stack)
    let logdet (a: Tensor) = snd (Linalg.slogdet a)
    close "vmap (grad logdet)" (mT (Linalg.inv stack)) (vmap (grad logdet) stack)
    let spd = Tensor.matmul stack (mT stack)

    close "vmap (jit cholesky)" (Linalg.cholesky spd) (vmap (jit Linalg.cholesky) spd)

// ---- issue 16 leftovers: batched kron, wide qr derivative, lstsqFull --------------------

/// kron of two matrices by its definition: block (i, j) is a[i, j] · b.
let private kronLoop (a: Tensor) (b: Tensor) =
    let av, bv = Tensor.toArray2D a, Tensor.toArray2D b
    let m, n = Array2D.length1 av, Array2D.length2 av
    let p, q = Array2D.length1 bv, Array2D.length2 bv
    Tensor.ofArray2D (Array2D.init (m * p) (n * q) (fun r c -> av.[r / p, c / q] * bv.[r % p, c % q]))

[<Fact>]
let ``kron batches over leading axes: each matrix of the result is the kron of the matrices`` () =
    let a = random 30 [| 3; 2; 3 |]
    let b = random 31 [| 3; 4; 2 |]
    let k = Linalg.kron a b
    Assert.Equal<int[]>([| 3; 8; 6 |], k.Shape)

    for i in 0..2 do
        close (sprintf "matrix %d" i) (kronLoop (at i a) (at i b)) (at i k)

    // leading axes broadcast: one matrix against a stack, and [2, 1] against [3]
    let one = random 32 [| 2; 2 |]
    let kb = Linalg.kron one b
    Assert.Equal<int[]>([| 3; 8; 4 |], kb.Shape)

    for i in 0..2 do
        close (sprintf "broadcast %d" i) (kronLoop one (at i b)) (at i kb)

    let c = random 33 [| 2; 1; 2; 2 |]
    Assert.Equal<int[]>([| 2; 3; 8; 4 |], (Linalg.kron c b).Shape)
    close "[2, 1] with [3]: (1, 2)" (kronLoop (at 0 (at 1 c)) (at 2 b)) (at 2 (at 1 (Linalg.kron c b)))
    // a vector beside a matrix is a row, as np.kron takes it
    let v = Tensor.ofArray [| 1.0; -2.0 |]
    close "vector with matrix" (kronLoop (Tensor.reshape [| 1; 2 |] v) one) (Linalg.kron v one)

    let e =
        Assert.Throws<ShapeException>(fun () ->
            Linalg.kron (random 34 [| 2; 2; 2 |]) (random 35 [| 3; 2; 2 |]) |> ignore)

    Assert.Contains("kron", e.Message)
    Assert.Contains("[2, 2, 2]", e.Message)
    Assert.Contains("[3, 2, 2]", e.Message)

/// The gradient in x of Σ w ∘ kron(x, b) for one matrix x [m, n]: g[j, l] = Σ_{k, c}
/// w[j·p + k, l·q + c] · b[k, c].
let private kronGradient (m: int) (n: int) (w: Tensor) (b: Tensor) =
    let wv, bv = Tensor.toArray2D w, Tensor.toArray2D b
    let p, q = Array2D.length1 bv, Array2D.length2 bv

    Array2D.init m n (fun j l ->
        let mutable s = 0.0

        for k in 0 .. p - 1 do
            for c in 0 .. q - 1 do
                s <- s + wv.[j * p + k, l * q + c] * bv.[k, c]

        s)
    |> Tensor.ofArray2D

[<Fact>]
let ``batched kron under vmap and grad equals the loop over the batch`` () =
    let a = random 36 [| 4; 2; 3 |]
    let b = random 37 [| 3; 2 |]
    close "vmap" (Linalg.kron a b) (vmap (fun x -> Linalg.kron x b) a)
    let w = random 38 [| 4; 6; 6 |]
    let g = grad (fun x -> Tensor.sum (w * Linalg.kron x b)) a

    for i in 0..3 do
        close (sprintf "grad %d" i) (kronGradient 2 3 (at i w) b) (at i g)

    let w0 = at 0 w
    let perExample = vmap (grad (fun x -> Tensor.sum (w0 * Linalg.kron x b))) a

    for i in 0..3 do
        close (sprintf "vmap (grad) %d" i) (kronGradient 2 3 w0 b) (at i perExample)

    // and in b, against central differences
    let fb (y: Tensor) =
        Tensor.sum (Tensor.sin (Linalg.kron a y))

    let v = random 39 [| 3; 2 |]
    let _, t = jvp fb b v
    assertClose "jvp in b" finiteDifference (centralDifference fb b v) t

/// q and r of `qr`, flattened and concatenated: one output to check both derivatives at once.
let private qrBoth (a: Tensor) =
    let q, r = Linalg.qr a
    Tensor.concat 0 [ Tensor.reshape [| -1 |] q; Tensor.reshape [| -1 |] r ]

[<Fact>]
let ``qr of wide matrices is differentiable: jvp against differences, vjp the transpose of jvp`` () =
    for seed, shape in [ 50, [| 2; 4 |]; 51, [| 3; 5 |]; 52, [| 2; 3; 5 |]; 53, [| 1; 3 |] ] do
        let m = shape.[shape.Length - 2]
        // the leading m×m block well conditioned
        let lift =
            Tensor.ofArray2D (Array2D.init m shape.[shape.Length - 1] (fun i j -> if i = j then 2.0 else 0.0))

        let a = random seed shape + lift
        let v = random (seed + 100) shape
        let y, t = jvp qrBoth a v
        assertClose (sprintf "jvp vs differences %A" shape) finiteDifference (centralDifference qrBoth a v) t
        let u = random (seed + 200) y.Shape
        let _, pullback = vjp qrBoth a
        let w = pullback u
        // ⟨u, J v⟩ = ⟨Jᵀ u, v⟩
        assertCloseFloat (sprintf "dot-product test %A" shape) tight (float (inner u t)) (float (inner w v))
        // the wide rule's r keeps its structure: dR upper triangular in the leading block
        let _, dr = jvp (Linalg.qr >> snd) a v
        close "dR upper" (Linalg.triu 0 dr) dr

    // the batched case against the loop over its matrices
    let a =
        random 54 [| 3; 2; 4 |]
        + Tensor.ofArray2D (array2D [ [ 2.0; 0.0; 0.0; 0.0 ]; [ 0.0; 2.0; 0.0; 0.0 ] ])

    let v = random 55 [| 3; 2; 4 |]
    let _, t = jvp (Linalg.qr >> snd) a v

    for b in 0..2 do
        let _, tb = jvp (Linalg.qr >> snd) (at b a) (at b v)
        close (sprintf "batched dR %d" b) tb (at b t)

    close
        "vmap (grad)"
        (grad (fun x -> Tensor.sum (snd (Linalg.qr x))) a)
        (vmap (grad (fun x -> Tensor.sum (snd (Linalg.qr x)))) a)

[<Fact>]
let ``lstsqFull returns NumPy's x, residuals, rank and singular values`` () =
    let a = random 60 [| 6; 3 |]
    let b = random 61 [| 6; 2 |]
    let x, res, rank, s = Linalg.lstsqFull a b
    // x: the normal equations; residuals: ‖b − a x‖² per column, by hand
    close "x" (Linalg.solve (Tensor.matmul (mT a) a) (Tensor.matmul (mT a) b)) x
    let av, bv, xv = Tensor.toArray2D a, Tensor.toArray2D b, Tensor.toArray2D x

    let byHand =
        Array.init 2 (fun c ->
            Array.init 6 (fun i ->
                let fit = Array.init 3 (fun j -> av.[i, j] * xv.[j, c]) |> Array.sum
                (bv.[i, c] - fit) ** 2.0)
            |> Array.sum)

    close "residuals" (Tensor.ofArray byHand) res
    Assert.Equal(Int64, rank.DType)
    Assert.Equal<int[]>([||], rank.Shape)
    Assert.Equal(3.0, Tensor.toScalar rank)
    let _, sv, _ = Linalg.svd a
    close "s" sv s
    let sa = Tensor.toArray s
    Assert.Equal<float[]>(Array.sortDescending sa, sa)
    // a vector b: x a vector, residuals of shape [1] (NumPy's)
    let xv1, res1, _, _ = Linalg.lstsqFull a (at 0 (mT b))
    close "vector x" (Linalg.lstsq a (at 0 (mT b))) xv1
    Assert.Equal<int[]>([| 1 |], res1.Shape)
    close "vector residual" (Tensor.ofArray [| byHand.[0] |]) res1

[<Fact>]
let ``lstsqFull: rank deficient and wide matrices give empty residuals and the minimum-norm x`` () =
    // rank 1: the columns are multiples of one column; rank counts singular values above
    // eps · max(m, n) · max(s)
    let c = random 62 [| 4; 1 |]
    let deficient = Tensor.concat 1 [ c; 2.0 * c; -1.0 * c ]
    let b = random 63 [| 4 |]
    let x, res, rank, s = Linalg.lstsqFull deficient b
    Assert.Equal(1.0, Tensor.toScalar rank)
    Assert.Equal<int[]>([| 0 |], res.Shape)
    Assert.Equal<int[]>([| 3 |], s.Shape)
    close "minimum-norm x = pinv b" (Tensor.matmul (Linalg.pinv deficient) b) x
    // wide: x solves a x = b exactly with the least norm, residuals empty
    let wide = random 64 [| 2; 4 |]
    let bw = random 65 [| 2; 3 |]
    let xw, resw, rankw, sw = Linalg.lstsqFull wide bw
    close "a x = b" bw (Tensor.matmul wide xw)
    close "least norm: x in the row space" (Tensor.matmul (Linalg.pinv wide) bw) xw
    Assert.Equal<int[]>([| 0 |], resw.Shape)
    Assert.Equal(2.0, Tensor.toScalar rankw)
    Assert.Equal<int[]>([| 2 |], sw.Shape)
    // square: m = n gives empty residuals too, as NumPy's
    let _, ress, _, _ =
        Linalg.lstsqFull (wellConditioned 66 [| 3; 3 |]) (random 67 [| 3 |])

    Assert.Equal<int[]>([| 0 |], ress.Shape)

[<Fact>]
let ``lstsqFull batches over leading axes and is differentiable in x, residuals and s`` () =
    let a = random 68 [| 2; 5; 3 |]
    let b = random 69 [| 2; 5; 2 |]
    let x, res, rank, s = Linalg.lstsqFull a b
    Assert.Equal<int[]>([| 2; 3; 2 |], x.Shape)
    Assert.Equal<int[]>([| 2; 2 |], res.Shape)
    Assert.Equal<int[]>([| 2 |], rank.Shape)
    Assert.Equal<float[]>([| 3.0; 3.0 |], Tensor.toArray rank)
    Assert.Equal<int[]>([| 2; 3 |], s.Shape)

    for i in 0..1 do
        let xi, resi, ranki, si = Linalg.lstsqFull (at i a) (at i b)
        close (sprintf "x %d" i) xi (at i x)
        close (sprintf "residuals %d" i) resi (at i res)
        Assert.Equal(Tensor.toScalar ranki, (Tensor.toArray rank).[i])
        close (sprintf "s %d" i) si (at i s)

    // derivatives against central differences, in a (all three) and in b (x, residuals)
    let a0, b0 = at 0 a, at 0 b
    let va, vb = random 70 a0.Shape, random 71 b0.Shape

    let inA (f: Tensor * Tensor * Tensor * Tensor -> Tensor) (y: Tensor) = f (Linalg.lstsqFull y b0)
    let inB (f: Tensor * Tensor * Tensor * Tensor -> Tensor) (y: Tensor) = f (Linalg.lstsqFull a0 y)
    let xOf (x, _, _, _) = x
    let resOf (_, r, _, _) = r
    let sOf (_, _, _, s) = s

    for name, f in [ "x", xOf; "residuals", resOf; "s", sOf ] do
        let _, t = jvp (inA f) a0 va
        assertClose (sprintf "d%s/da" name) finiteDifference (centralDifference (inA f) a0 va) t

    for name, f in [ "x", xOf; "residuals", resOf ] do
        let _, t = jvp (inB f) b0 vb
        assertClose (sprintf "d%s/db" name) finiteDifference (centralDifference (inB f) b0 vb) t

    // grad of the residuals in b is 2 (b − a x) (the residual is orthogonal to a's range)
    let g = grad (fun y -> Tensor.sum (resOf (Linalg.lstsqFull a0 y))) b0
    close "grad residuals" (2.0 * (b0 - Tensor.matmul a0 (at 0 x))) g
    // under vmap (rank unknown while tracing: residuals computed) and jit
    let vres = vmap (fun y -> resOf (Linalg.lstsqFull y b0)) a
    close "vmap residuals" (resOf (Linalg.lstsqFull a (Tensor.broadcastTo [| 2; 5; 2 |] b0))) vres
    close "jit x" (xOf (Linalg.lstsqFull a0 b0)) (jit (fun y -> xOf (Linalg.lstsqFull y b0)) a0)
