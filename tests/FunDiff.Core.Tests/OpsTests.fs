/// The public ops of the `Tensor` module beyond the primitives' own rules (which PrimitiveLaws
/// checks): the conventions at kinks, stability at ±1000, matmul/dot against loop references,
/// take and its transpose, that every composite op is differentiable to second order, exact
/// small values NumPy would give, and the C# extension methods. Every expected value is
/// analytic or computed by loops in this file, never copied from the engine's output.
module FunDiff.Tests.OpsTests

open System
open FsCheck.FSharp
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private scalar (v: float) = Tensor.scalar v

/// An int64 tensor of a shape.
let private int64Of (shape: int[]) (v: int[]) =
    Tensor.convert DType.Int64 (tensorOf shape (Array.map float v))

let private assertExact (expected: float[]) (actual: Tensor) =
    Assert.Equal<float[]>(expected, values actual)

let private assertShape (expected: int[]) (actual: Tensor) =
    Assert.Equal<int[]>(expected, actual.Shape)

/// Runs `check` on `n` samples, each drawn by a System.Random whose seed FsCheck draws from a
/// fixed replay seed; a failure names the sample's seed.
let private forSamples (seed: uint64) (n: int) (check: Random -> unit) =
    checkProperty
        seed
        7919UL
        n
        (Prop.forAll randomSeeds (fun s ->
            try
                check (Random s)
            with e ->
                failwithf "sample drawn by System.Random(%d):\n%s" s e.Message))

/// A random shape of rank minRank..maxRank with dimensions minDim..4.
let private randomShape (r: Random) (minRank: int) (maxRank: int) (minDim: int) =
    Array.init (r.Next(minRank, maxRank + 1)) (fun _ -> r.Next(minDim, 5))

// ---- 1. conventions at kinks -----------------------------------------------------------------

/// `expected` exactly, or within rounding (infinities compare equal; NaN never passes).
let private sameFloat (expected: float) (actual: float) =
    actual = expected || abs (actual - expected) <= 1e-12 * (1.0 + abs expected)

/// For each `(x, f'(x), f''(x))`: the first derivative by grad and by jvp, the second by
/// grad (grad f).
let private assertDerivatives (name: string) (f: Tensor -> Tensor) (cases: (float * float * float) list) =
    for x, first, second in cases do
        let at = scalar x

        let check (what: string) (expected: float) (actual: Tensor) =
            let a = float actual

            if not (sameFloat expected a) then
                failwithf "%s of %s at %g: expected %s, got %s" what name x (showFloat expected) (showFloat a)

        check "grad" first (grad f at)
        check "jvp" first (snd (jvp f at (scalar 1.0)))
        check "grad (grad _)" second (grad (grad f) at)

[<Fact>]
let ``abs has derivative 0 at 0`` () =
    assertDerivatives "abs" Tensor.abs [ 0.0, 0.0, 0.0; -2.0, -1.0, 0.0; 3.0, 1.0, 0.0 ]

[<Fact>]
let ``relu has derivative 0 at 0`` () =
    assertDerivatives "relu" Tensor.relu [ 0.0, 0.0, 0.0; -2.0, 0.0, 0.0; 2.0, 1.0, 0.0 ]

[<Fact>]
let ``sign has derivative 0 everywhere`` () =
    assertDerivatives "sign" Tensor.sign [ -2.0, 0.0, 0.0; 0.0, 0.0, 0.0; 3.0, 0.0, 0.0 ]

[<Fact>]
let ``sqrt has an infinite derivative at 0`` () =
    // d/dx √x = 1 / (2√x), d²/dx² √x = -1 / (4 x^1.5)
    assertDerivatives "sqrt" Tensor.sqrt [ 0.0, infinity, -infinity; 4.0, 0.25, -1.0 / 32.0 ]

[<Fact>]
let ``clip passes the derivative only strictly inside its bounds`` () =
    let f = Tensor.clip -1.0 2.0
    assertExact [| -1.0; -1.0; 0.5; 2.0; 2.0 |] (f (Tensor.ofArray [| -3.0; -1.0; 0.5; 2.0; 5.0 |]))

    assertDerivatives "clip -1 2" f [ -3.0, 0.0, 0.0; -1.0, 0.0, 0.0; 0.5, 1.0, 0.0; 2.0, 0.0, 0.0; 5.0, 0.0, 0.0 ]

[<Fact>]
let ``maximum and minimum split the derivative equally at ties`` () =
    let one = scalar 1.0
    // as functions of the first operand against 1
    assertDerivatives "maximum x 1" (fun x -> Tensor.maximum x one) [ 1.0, 0.5, 0.0; 2.0, 1.0, 0.0; 0.0, 0.0, 0.0 ]
    assertDerivatives "minimum x 1" (fun x -> Tensor.minimum x one) [ 1.0, 0.5, 0.0; 2.0, 0.0, 0.0; 0.0, 1.0, 0.0 ]
    // both halves reach x when it is both operands
    assertDerivatives "maximum x x" (fun x -> Tensor.maximum x x) [ 1.0, 1.0, 0.0 ]
    // as a function of both operands: ½ to each at a tie, 1/0 away from it
    let maxOfPair (p: Tensor) = Tensor.maximum p.[0] p.[1]
    let minOfPair (p: Tensor) = Tensor.minimum p.[0] p.[1]

    for f, name, tie, firstWins, secondWins in
        [
            maxOfPair, "maximum", [| 1.0; 1.0 |], [| 2.0; 1.0 |], [| 1.0; 2.0 |]
            minOfPair, "minimum", [| 1.0; 1.0 |], [| 1.0; 2.0 |], [| 2.0; 1.0 |]
        ] do
        let at (p: float[]) = Tensor.ofArray p
        assertExact [| 0.5; 0.5 |] (grad f (at tie))
        assertExact [| 1.0; 0.0 |] (grad f (at firstWins))
        assertExact [| 0.0; 1.0 |] (grad f (at secondWins))
        Assert.Equal(0.5, float (snd (jvp f (at tie) (Tensor.ofArray [| 1.0; 0.0 |]))))
        Assert.Equal(0.5, float (snd (jvp f (at tie) (Tensor.ofArray [| 0.0; 1.0 |]))))
        assertZeros (sprintf "hessian of %s at a tie" name) [| 2; 2 |] (hessian f (at tie))
    // elementwise, broadcasting against a scalar
    let x = Tensor.ofArray [| -1.0; 0.0; 2.0 |]
    assertExact [| 0.0; 0.5; 1.0 |] (grad (fun x -> Tensor.sum (Tensor.maximum x (scalar 0.0))) x)
    assertExact [| 1.0; 0.5; 0.0 |] (grad (fun x -> Tensor.sum (Tensor.minimum x (scalar 0.0))) x)

[<Fact>]
let ``max and min reductions share the derivative equally among tied elements`` () =
    let x = Tensor.ofArray [| 1.0; 3.0; 3.0; 2.0; 3.0 |]
    let third = 1.0 / 3.0
    Assert.Equal(3.0, float (Tensor.max x))
    assertExact [| 0.0; third; third; 0.0; third |] (grad Tensor.max x)
    // jvp: the mean of the tangent over the tied elements, (2 + 3 + 5) / 3
    assertCloseFloat
        "jvp max"
        rounding
        (10.0 / 3.0)
        (float (snd (jvp Tensor.max x (Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0; 5.0 |]))))

    assertZeros "hessian of max" [| 5; 5 |] (hessian Tensor.max x)
    let y = Tensor.ofArray [| 1.0; 3.0; 1.0; 2.0 |]
    assertExact [| 0.5; 0.0; 0.5; 0.0 |] (grad Tensor.min y)
    assertZeros "hessian of min" [| 4; 4 |] (hessian Tensor.min y)
    // along an axis: each row shares its own tangent
    let m = tensorOf [| 2; 3 |] [| 1.0; 5.0; 5.0; 2.0; 2.0; 2.0 |]
    assertExact [| 0.0; 0.5; 0.5; third; third; third |] (grad (fun m -> Tensor.sum (Tensor.maxAxes [ 1 ] m)) m)
    assertExact [| 1.0; 0.0; 0.0; third; third; third |] (grad (fun m -> Tensor.sum (Tensor.minAxes [ -1 ] m)) m)
    // columns [1, 2], [5, 2], [5, 2]: no ties along axis 0
    assertExact [| 0.0; 1.0; 1.0; 1.0; 0.0; 0.0 |] (grad (fun m -> Tensor.sum (Tensor.maxAxes [ 0 ] m)) m)

    let _, t =
        jvp (Tensor.maxKeepDims [ 1 ]) m (tensorOf [| 2; 3 |] [| 9.0; 2.0; 4.0; 3.0; 6.0; 9.0 |])

    assertShape [| 2; 1 |] t
    assertExact [| 3.0; 6.0 |] t
    assertZeros "hessian of Σ maxAxes [1]" [| 2; 3; 2; 3 |] (hessian (fun m -> Tensor.sum (Tensor.maxAxes [ 1 ] m)) m)

[<Fact>]
let ``norm has a zero gradient at 0 and x over norm x elsewhere`` () =
    let zero = Tensor.zeros [| 3 |]
    Assert.Equal(0.0, float (Tensor.norm zero))
    assertZeros "grad norm at 0" [| 3 |] (grad Tensor.norm zero)
    assertZeros "jvp norm at 0" [||] (snd (jvp Tensor.norm zero (Tensor.ofArray [| 1.0; 2.0; 3.0 |])))
    assertZeros "hessian norm at 0" [| 3; 3 |] (hessian Tensor.norm zero)
    assertDerivatives "norm of a scalar" Tensor.norm [ 0.0, 0.0, 0.0; -2.0, -1.0, 0.0 ]
    let x = Tensor.ofArray [| 3.0; 4.0 |]
    Assert.Equal(5.0, float (Tensor.norm x))
    assertClose "grad norm [3; 4]" rounding (Tensor.ofArray [| 0.6; 0.8 |]) (grad Tensor.norm x)
    // ∇² ‖x‖ = (I − x xᵀ / ‖x‖²) / ‖x‖
    assertClose
        "hessian norm [3; 4]"
        rounding
        (tensorOf [| 2; 2 |] [| 16.0 / 125.0; -12.0 / 125.0; -12.0 / 125.0; 9.0 / 125.0 |])
        (hessian Tensor.norm x)
    // a matrix's (Frobenius) norm
    let m = tensorOf [| 2; 2 |] [| 1.0; -2.0; 2.0; 4.0 |]
    assertClose "grad norm of a matrix" rounding (m / 5.0) (grad Tensor.norm m)

[<Fact>]
let ``pow at base 0 has a zero derivative in the exponent, and x to the 0 a zero derivative in x`` () =
    let zero = scalar 0.0
    // 0^y: d/dy = log 0 · 0^y would be NaN; the convention is 0
    assertDerivatives "0 ** y" (fun y -> Tensor.pow zero y) [ 2.0, 0.0, 0.0; 0.5, 0.0, 0.0; 0.0, 0.0, 0.0 ]
    // x^0 = 1: d/dx = 0 · x^-1 would be NaN at 0; the convention is 0
    let toZero (x: Tensor) = Tensor.pow x zero
    Assert.Equal(1.0, float (toZero zero))
    assertDerivatives "x ** 0" toZero [ 2.0, 0.0, 0.0; -1.5, 0.0, 0.0 ]
    Assert.Equal(0.0, float (grad toZero zero))
    Assert.Equal(0.0, float (snd (jvp toZero zero (scalar 1.0))))
    // away from the conventions: d/dy 2^y = 2^y ln 2, d/dx x³ = 3x²
    let ln2 = Math.Log 2.0
    assertDerivatives "2 ** y" (fun y -> Tensor.pow (scalar 2.0) y) [ 3.0, 8.0 * ln2, 8.0 * ln2 * ln2 ]
    assertDerivatives "x ** 3" (fun x -> Tensor.pow x (scalar 3.0)) [ 2.0, 12.0, 12.0 ]

// ---- 2. stability at ±1000 ---------------------------------------------------------------------

let private extremes = Tensor.ofArray [| 1000.0; -1000.0; 0.0 |]

/// Rows mixing ±1000: softmax of each is one-hot (e^-1000 underflows to 0).
let private extremeRows =
    tensorOf [| 2; 3 |] [| 1000.0; -1000.0; 0.0; -1000.0; -1000.0; 1000.0 |]

let private assertFinite (what: string) (t: Tensor) =
    if values t |> Array.exists (fun v -> Double.IsNaN v || Double.IsInfinity v) then
        failwithf "%s is not finite: %s" what (describeTensor t)

[<Fact>]
let ``sigmoid and softplus are exact at ±1000 and their derivatives are finite`` () =
    assertExact [| 1.0; 0.0; 0.5 |] (Tensor.sigmoid extremes)
    // σ' = σ (1 − σ): e^-1000 underflows to 0
    assertExact [| 0.0; 0.0; 0.25 |] (grad (fun x -> Tensor.sum (Tensor.sigmoid x)) extremes)

    assertExact
        [| 0.0; 0.0; 0.0 |]
        (grad (fun x -> Tensor.sum (grad (fun x -> Tensor.sum (Tensor.sigmoid x)) x)) extremes)

    assertClose "softplus" rounding (Tensor.ofArray [| 1000.0; 0.0; Math.Log 2.0 |]) (Tensor.softplus extremes)
    // softplus' = sigmoid
    let softplusGrad = grad (fun x -> Tensor.sum (Tensor.softplus x))
    assertClose "grad softplus at ±1000" rounding (Tensor.sigmoid extremes) (softplusGrad extremes)
    assertFinite "softplus'' at ±1000" (grad (fun x -> Tensor.sum (softplusGrad x)) extremes)
    // in the tail, log1p keeps every digit: softplus(-30) = e^-30 − e^-60 / 2 + …
    let tail = Tensor.ofArray [| -30.0; 30.0 |]
    let e30 = Math.Exp -30.0

    assertClose
        "softplus ±30"
        rounding
        (Tensor.ofArray [| e30 - e30 * e30 / 2.0; 30.0 + e30 - e30 * e30 / 2.0 |])
        (Tensor.softplus tail)

    assertClose "sigmoid ±30" rounding (Tensor.ofArray [| e30 / (1.0 + e30); 1.0 / (1.0 + e30) |]) (Tensor.sigmoid tail)
    // grad softplus = sigmoid at random points too
    let x = Tensor.ofArray [| -3.7; -0.2; 0.0; 1.1; 8.0 |]
    assertClose "grad softplus = sigmoid" rounding (Tensor.sigmoid x) (softplusGrad x)

[<Fact>]
let ``logSumExp is exact at ±1000 and its gradient is softmax`` () =
    Assert.Equal(1000.0, float (Tensor.logSumExp extremes))

    assertCloseFloat
        "logSumExp [1000; 1000]"
        rounding
        (1000.0 + Math.Log 2.0)
        (float (Tensor.logSumExp (Tensor.ofArray [| 1000.0; 1000.0 |])))

    assertCloseFloat
        "logSumExp [-1000; -1000]"
        rounding
        (-1000.0 + Math.Log 2.0)
        (float (Tensor.logSumExp (Tensor.ofArray [| -1000.0; -1000.0 |])))

    assertExact [| 1.0; 0.0; 0.0 |] (grad Tensor.logSumExp extremes)
    // jvp: softmax · v = v₀
    Assert.Equal(1.0, float (snd (jvp Tensor.logSumExp extremes (Tensor.ofArray [| 1.0; 2.0; 3.0 |]))))
    assertFinite "hvp logSumExp at ±1000" (hvp Tensor.logSumExp extremes (Tensor.ofArray [| 1.0; 2.0; 3.0 |]))
    // grad logSumExp = softmax
    let x = Tensor.ofArray [| 0.3; -1.2; 2.5; 0.0 |]
    assertClose "grad logSumExp = softmax" rounding (Tensor.softmax x) (grad Tensor.logSumExp x)
    // over an axis: each row (column) on its own
    assertExact [| 1000.0; 1000.0 |] (Tensor.logSumExpAxes [ 1 ] extremeRows)

    assertClose
        "logSumExpAxes [0]"
        rounding
        (Tensor.ofArray [| 1000.0; -1000.0 + Math.Log 2.0; 1000.0 |])
        (Tensor.logSumExpAxes [ 0 ] extremeRows)

    assertShape [| 2; 1 |] (Tensor.logSumExpKeepDims [ 1 ] extremeRows)

    assertExact
        [| 1.0; 0.0; 0.0; 0.0; 0.0; 1.0 |]
        (grad (fun m -> Tensor.sum (Tensor.logSumExpAxes [ 1 ] m)) extremeRows)

    assertExact [| 1.0; 0.0; 0.0; 0.0; 0.0; 1.0 |] (Tensor.softmax extremeRows)

[<Fact>]
let ``logSumExp of all −inf is −inf, not NaN`` () =
    Assert.Equal(-infinity, float (Tensor.logSumExp (Tensor.ofArray [| -infinity; -infinity |])))

    assertExact
        [| -infinity; Math.Log 2.0 |]
        (Tensor.logSumExpAxes [ 1 ] (tensorOf [| 2; 2 |] [| -infinity; -infinity; 0.0; 0.0 |]))
    // one finite element among −inf: its value, with all the gradient
    let x = Tensor.ofArray [| -infinity; 1.5; -infinity |]
    Assert.Equal(1.5, float (Tensor.logSumExp x))
    assertExact [| 0.0; 1.0; 0.0 |] (grad Tensor.logSumExp x)
    Assert.Equal(infinity, float (Tensor.logSumExp (Tensor.ofArray [| infinity; 1.0 |])))

[<Fact>]
let ``softmax and logSoftmax are exact at ±1000 with finite gradients`` () =
    // softmax [1000, 0] = [1, e^-1000 ≈ 0]
    assertExact [| 1.0; 0.0 |] (Tensor.softmax (Tensor.ofArray [| 1000.0; 0.0 |]))
    assertExact [| 0.5; 0.5 |] (Tensor.softmax (Tensor.ofArray [| 1000.0; 1000.0 |]))
    assertExact [| 0.5; 0.5 |] (Tensor.softmax (Tensor.ofArray [| -1000.0; -1000.0 |]))
    assertExact [| 1.0; 0.5; 0.0; 0.0; 0.5; 1.0 |] (Tensor.softmaxAxis 0 extremeRows)
    assertExact [| 0.0; -2000.0; -1000.0; -2000.0; -2000.0; 0.0 |] (Tensor.logSoftmax extremeRows)

    assertClose
        "logSoftmaxAxis 0"
        rounding
        (tensorOf [| 2; 3 |] [| 0.0; -Math.Log 2.0; -1000.0; -2000.0; -Math.Log 2.0; 0.0 |])
        (Tensor.logSoftmaxAxis 0 extremeRows)

    let w = Tensor.ofArray [| 1.0; 2.0; 3.0 |]
    // ∂/∂x Σ w · logSoftmax x = w − softmax x · Σ w, row by row
    assertExact [| -5.0; 2.0; 3.0; 1.0; 2.0; -3.0 |] (grad (fun m -> Tensor.sum (w * Tensor.logSoftmax m)) extremeRows)
    // softmax is saturated: its gradient vanishes
    assertExact (Array.zeroCreate 6) (grad (fun m -> Tensor.sum (w * Tensor.softmax m)) extremeRows)
    assertExact (Array.zeroCreate 6) (grad (fun m -> Tensor.sum (w * Tensor.softmaxAxis 1 m)) extremeRows)

    for name, f in
        [
            "softmax", Tensor.softmax
            "softmaxAxis 0", Tensor.softmaxAxis 0
            "logSoftmax", Tensor.logSoftmax
        ] do
        let g (m: Tensor) =
            Tensor.sum (tensorOf [| 2; 3 |] [| 1.0; -2.0; 0.5; 3.0; 1.0; -1.0 |] * f m)

        assertFinite (sprintf "grad %s at ±1000" name) (grad g extremeRows)

        assertFinite
            (sprintf "hvp %s at ±1000" name)
            (hvp g extremeRows (tensorOf [| 2; 3 |] [| 1.0; 0.0; -1.0; 2.0; 1.0; 0.5 |]))
    // each row of softmax sums to 1, wherever it is
    let x = tensorOf [| 2; 3 |] [| 0.5; 700.0; -3.0; -800.0; -800.5; -799.0 |]
    assertClose "rows sum to 1" rounding (Tensor.ones [| 2 |]) (Tensor.sumAxes [ 1 ] (Tensor.softmax x))

// ---- 3. matmul and dot against loop references -------------------------------------------------

/// NumPy's broadcast of two shapes (trailing axes aligned, a 1 stretches).
let private broadcastShapes (a: int[]) (b: int[]) =
    let n = max a.Length b.Length

    let at (s: int[]) k =
        if k < n - s.Length then 1 else s.[k - (n - s.Length)]

    Array.init n (fun k ->
        let da, db = at a k, at b k

        if da = db || db = 1 then
            da
        elif da = 1 then
            db
        else
            failwithf "shapes %s and %s do not broadcast" (showShape a) (showShape b))

/// The flat index into `shape` read by the multi-index `index` of the broadcast shape
/// (trailing axes aligned; a size-1 axis is read at 0).
let private broadcastSource (shape: int[]) (index: int[]) =
    let lead = index.Length - shape.Length

    Array.fold2
        (fun flat d k -> flat * d + (if d = 1 then 0 else index.[lead + k]))
        0
        shape
        (Array.init shape.Length id)

/// The flat row-major index of a multi-index.
let private flatIndex (shape: int[]) (index: int[]) =
    Array.fold2 (fun flat d i -> flat * d + i) 0 shape index

/// NumPy's matmul by loops: a 1-d x is a row, a 1-d y a column, and their axes are dropped.
let private naiveMatmul (x: Tensor) (y: Tensor) =
    let xs = if x.Rank = 1 then [| 1; x.Size |] else x.Shape
    let ys = if y.Rank = 1 then [| y.Size; 1 |] else y.Shape
    let m, k, n = xs.[xs.Length - 2], xs.[xs.Length - 1], ys.[ys.Length - 1]
    let xBatch, yBatch = xs.[.. xs.Length - 3], ys.[.. ys.Length - 3]
    let batch = broadcastShapes xBatch yBatch
    let full = Array.append batch [| m; n |]
    let xv, yv = values x, values y

    let out =
        Array.init (Array.fold (*) 1 full) (fun flat ->
            let index = multiIndex full flat
            let b = index.[.. batch.Length - 1]
            let i, j = index.[batch.Length], index.[batch.Length + 1]
            let xb, yb = broadcastSource xBatch b, broadcastSource yBatch b
            Seq.sum (seq { for l in 0 .. k - 1 -> xv.[(xb * m + i) * k + l] * yv.[(yb * k + l) * n + j] }))

    let shape =
        [|
            yield! batch
            if x.Rank > 1 then
                yield m
            if y.Rank > 1 then
                yield n
        |]

    tensorOf shape out

/// NumPy's dot by loops: the sum product over x's last axis and y's second-to-last (its only
/// axis for a vector); the result's axes are x's others, then y's others.
let private naiveDot (x: Tensor) (y: Tensor) =
    let xs, ys = x.Shape, y.Shape
    let k = xs.[xs.Length - 1]
    let yAxis = if ys.Length = 1 then 0 else ys.Length - 2
    let xOuter, yOuter = xs.[.. xs.Length - 2], Array.removeAt yAxis ys
    let shape = Array.append xOuter yOuter
    let xv, yv = values x, values y

    tensorOf
        shape
        (Array.init (Array.fold (*) 1 shape) (fun flat ->
            let index = multiIndex shape flat
            let xi, yi = index.[.. xOuter.Length - 1], index.[xOuter.Length ..]

            Seq.sum (
                seq {
                    for l in 0 .. k - 1 ->
                        xv.[flatIndex xs (Array.append xi [| l |])]
                        * yv.[flatIndex ys (Array.insertAt yAxis l yi)]
                }
            )))

/// The gradient of a scalar function by central differences along every basis direction.
let private numericGradient (f: Tensor -> Tensor) (x: Tensor) =
    tensorOf
        x.Shape
        (Array.init x.Size (fun i ->
            float (centralDifference f x (tensorOf x.Shape (Array.init x.Size (fun j -> if i = j then 1.0 else 0.0))))))

/// (x shape, y shape, expected result shape) of NumPy's matmul.
let private matmulShapes =
    [
        [| 3; 4 |], [| 4; 2 |], [| 3; 2 |] // non-square
        [| 3; 4 |], [| 4 |], [| 3 |] // matrix · vector is a vector
        [| 4 |], [| 4; 2 |], [| 2 |]
        [| 4 |], [| 4 |], [||] // vector · vector is rank 0
        [| 2; 3; 4 |], [| 2; 4; 5 |], [| 2; 3; 5 |] // batched
        [| 2; 1; 3; 4 |], [| 5; 4; 2 |], [| 2; 5; 3; 2 |] // batch axes broadcast
        [| 1; 3; 4 |], [| 2; 4; 3 |], [| 2; 3; 3 |]
        [| 2; 3; 4 |], [| 4 |], [| 2; 3 |]
        [| 4 |], [| 2; 4; 3 |], [| 2; 3 |]
    ]

[<Fact>]
let ``matmul agrees with the loop reference on every shape combination`` () =
    forSamples 20250301UL 5 (fun r ->
        for xShape, yShape, expected in matmulShapes do
            let x, y = randomTensor r -1.0 1.0 xShape, randomTensor r -1.0 1.0 yShape
            let product = Tensor.matmul x y
            assertShape expected product

            assertClose
                (sprintf "matmul %s %s" (showShape xShape) (showShape yShape))
                rounding
                (naiveMatmul x y)
                product)

[<Fact>]
let ``matmul gradients agree with central differences and the analytic ones`` () =
    forSamples 20250302UL 3 (fun r ->
        for xShape, yShape, _ in matmulShapes do
            let x, y = randomTensor r -1.0 1.0 xShape, randomTensor r -1.0 1.0 yShape
            let w = randomTensor r -1.0 1.0 (Tensor.matmul x y).Shape
            let what = sprintf "matmul %s %s" (showShape xShape) (showShape yShape)
            let ofX (x: Tensor) = Tensor.sum (w * Tensor.matmul x y)
            let ofY (y: Tensor) = Tensor.sum (w * Tensor.matmul x y)
            assertClose (what + ": d/dx") finiteDifference (numericGradient ofX x) (grad ofX x)
            assertClose (what + ": d/dy") finiteDifference (numericGradient ofY y) (grad ofY y))

    // d/dA Σ (A B) = 1 Bᵀ and d/dB Σ (A B) = Aᵀ 1
    let r = Random 7
    let a, b = randomTensor r -1.0 1.0 [| 3; 4 |], randomTensor r -1.0 1.0 [| 4; 2 |]
    let ones = Tensor.ones [| 3; 2 |]

    assertClose
        "d/dA Σ AB"
        rounding
        (naiveMatmul ones (Tensor.transpose b))
        (grad (fun a -> Tensor.sum (Tensor.matmul a b)) a)

    assertClose
        "d/dB Σ AB"
        rounding
        (naiveMatmul (Tensor.transpose a) ones)
        (grad (fun b -> Tensor.sum (Tensor.matmul a b)) b)
    // with weights: d/dA Σ W ⊙ AB = W Bᵀ, d/dB = Aᵀ W
    let w = randomTensor r -1.0 1.0 [| 3; 2 |]

    assertClose
        "d/dA Σ W⊙AB"
        rounding
        (naiveMatmul w (Tensor.transpose b))
        (grad (fun a -> Tensor.sum (w * Tensor.matmul a b)) a)

    assertClose
        "d/dB Σ W⊙AB"
        rounding
        (naiveMatmul (Tensor.transpose a) w)
        (grad (fun b -> Tensor.sum (w * Tensor.matmul a b)) b)
    // a matrix times a vector: d/dA Σ Av = 1 vᵀ, d/dv Σ Av = the column sums of A
    let v = randomTensor r -1.0 1.0 [| 4 |]

    assertClose
        "d/dA Σ Av"
        rounding
        (naiveMatmul (Tensor.ones [| 3; 1 |]) (Tensor.reshape [| 1; 4 |] v))
        (grad (fun a -> Tensor.sum (Tensor.matmul a v)) a)

    assertClose "d/dv Σ Av" rounding (Tensor.sumAxes [ 0 ] a) (grad (fun v -> Tensor.sum (Tensor.matmul a v)) v)

[<Fact>]
let ``dot follows NumPy including N-d times M-d`` () =
    let cases =
        [
            [| 4 |], [| 4 |], [||]
            [| 3; 4 |], [| 4; 2 |], [| 3; 2 |]
            [| 3; 4 |], [| 4 |], [| 3 |]
            [| 4 |], [| 4; 2 |], [| 2 |]
            [| 2; 3; 4 |], [| 4 |], [| 2; 3 |]
            [| 2; 3; 4 |], [| 5; 4; 2 |], [| 2; 3; 5; 2 |] // not matmul: no batch axes
            [| 4 |], [| 2; 4; 3 |], [| 2; 3 |]
            [| 3; 4 |], [| 2; 5; 4; 2 |], [| 3; 2; 5; 2 |]
        ]

    forSamples 20250303UL 3 (fun r ->
        for xShape, yShape, expected in cases do
            let x, y = randomTensor r -1.0 1.0 xShape, randomTensor r -1.0 1.0 yShape
            let what = sprintf "dot %s %s" (showShape xShape) (showShape yShape)
            let product = Tensor.dot x y
            assertShape expected product
            assertClose what rounding (naiveDot x y) product
            let w = randomTensor r -1.0 1.0 expected
            let ofX (x: Tensor) = Tensor.sum (w * Tensor.dot x y)
            let ofY (y: Tensor) = Tensor.sum (w * Tensor.dot x y)
            assertClose (what + ": d/dx") finiteDifference (numericGradient ofX x) (grad ofX x)
            assertClose (what + ": d/dy") finiteDifference (numericGradient ofY y) (grad ofY y))

    // a scalar operand multiplies
    assertExact [| 2.0; 4.0 |] (Tensor.dot (scalar 2.0) (Tensor.ofArray [| 1.0; 2.0 |]))

[<Fact>]
let ``outer, diag and trace have NumPy's values and analytic gradients`` () =
    let x = Tensor.ofArray [| 1.0; -2.0; 3.0 |]
    let y = tensorOf [| 2; 1 |] [| 0.5; 4.0 |]
    // outer flattens both operands
    let o = Tensor.outer x y
    assertShape [| 3; 2 |] o
    assertExact [| 0.5; 4.0; -1.0; -8.0; 1.5; 12.0 |] o
    // d/dx Σ outer x y = Σ y on every element; d/dy = Σ x
    assertExact [| 4.5; 4.5; 4.5 |] (grad (fun x -> Tensor.sum (Tensor.outer x y)) x)
    assertExact [| 2.0; 2.0 |] (grad (fun y -> Tensor.sum (Tensor.outer x y)) y)
    // vector → diagonal matrix
    assertExact [| 1.0; 0.0; 0.0; 0.0; -2.0; 0.0; 0.0; 0.0; 3.0 |] (Tensor.diag x)
    assertShape [| 3; 3 |] (Tensor.diag x)
    // matrix → its diagonal, for wide and tall matrices
    let wide = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    let tall = tensorOf [| 3; 2 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    assertExact [| 1.0; 5.0 |] (Tensor.diag wide)
    assertExact [| 1.0; 4.0 |] (Tensor.diag tall)
    assertExact [| 1.0; 2.0; 3.0 |] (Tensor.diag (Tensor.diag (Tensor.ofArray [| 1.0; 2.0; 3.0 |])))
    // d/dv Σ W ⊙ diag v = the diagonal of W; d/dM Σ diag M = the identity pattern
    let w = tensorOf [| 3; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0; 7.0; 8.0; 9.0 |]
    assertExact [| 1.0; 5.0; 9.0 |] (grad (fun v -> Tensor.sum (w * Tensor.diag v)) x)
    assertExact [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |] (grad (fun m -> Tensor.sum (Tensor.diag m)) wide)
    // trace and its gradient, the identity; d/dA trace(A B) = Bᵀ
    Assert.Equal(15.0, float (Tensor.trace w))
    Assert.Equal(5.0, float (Tensor.trace tall))
    assertExact [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |] (grad Tensor.trace w)
    let b = tensorOf [| 3; 2 |] [| 0.5; -1.0; 2.0; 3.0; -4.0; 1.5 |]
    assertExact (values (Tensor.transpose b)) (grad (fun a -> Tensor.trace (Tensor.matmul a b)) wide)

// ---- 4. take and its transpose, scatter-add ---------------------------------------------------

/// NumPy's take along an axis by loops: out[o, j, i] = x[o, idx[j], i], negative indices
/// counting from the end; the result's shape is x's with `axis` replaced by the indices' shape.
let private naiveTake (axis: int) (indices: int[]) (indexShape: int[]) (x: Tensor) =
    let xs = x.Shape
    let n = xs.[axis]

    let outer, inner =
        Array.fold (*) 1 xs.[.. axis - 1], Array.fold (*) 1 xs.[axis + 1 ..]

    let m = indices.Length
    let xv = values x
    let wrap i = if i < 0 then i + n else i

    tensorOf
        (Array.concat [ xs.[.. axis - 1]; indexShape; xs.[axis + 1 ..] ])
        (Array.init (outer * m * inner) (fun flat ->
            let o, j, i = flat / (m * inner), flat / inner % m, flat % inner
            xv.[(o * n + wrap indices.[j]) * inner + i]))

/// The transpose of take by loops: each slice of u is added at its index (repeats accumulate).
let private naiveScatterAdd (axis: int) (indices: int[]) (xShape: int[]) (u: Tensor) =
    let n = xShape.[axis]

    let outer, inner =
        Array.fold (*) 1 xShape.[.. axis - 1], Array.fold (*) 1 xShape.[axis + 1 ..]

    let m = indices.Length
    let uv = values u
    let out = Array.zeroCreate (outer * n * inner)

    for o in 0 .. outer - 1 do
        for j in 0 .. m - 1 do
            let target = if indices.[j] < 0 then indices.[j] + n else indices.[j]

            for i in 0 .. inner - 1 do
                out.[(o * n + target) * inner + i] <- out.[(o * n + target) * inner + i] + uv.[(o * m + j) * inner + i]

    tensorOf xShape out

/// Random indices into an axis of size n, negatives included, with at least one repeat.
let private randomIndices (r: Random) (n: int) =
    let shape =
        if r.Next 3 = 0 then
            [| 2; r.Next(1, 4) |]
        else
            [| r.Next(2, 7) |]

    let count = Array.fold (*) 1 shape
    let drawn = Array.init count (fun _ -> r.Next(-n, n))
    // repeat one index, possibly in its other (negative or positive) spelling
    let k = drawn.[0]
    drawn.[count - 1] <- if r.Next 2 = 0 then k else (if k < 0 then k + n else k - n)
    drawn, shape

[<Fact>]
let ``take is the transpose of scatter-add`` () =
    forSamples 20250401UL 40 (fun r ->
        let xShape = randomShape r 1 3 1
        let axis = r.Next xShape.Length
        let x = randomTensor r -1.0 1.0 xShape
        let indices, indexShape = randomIndices r xShape.[axis]
        let idx = int64Of indexShape indices
        let take = Tensor.takeAxis axis idx

        let what =
            sprintf
                "takeAxis %d [%s] of %s"
                axis
                (indices |> Array.map string |> String.concat "; ")
                (showShape xShape)

        let y, pullback = vjp take x
        assertClose what rounding (naiveTake axis indices indexShape x) y
        let u = randomTensor r -1.0 1.0 y.Shape
        let scattered = naiveScatterAdd axis indices xShape u
        assertClose (what + ": pullback vs scatter-add") rounding scattered (pullback u)
        // ⟨take x, u⟩ = ⟨x, scatter-add u⟩
        assertCloseFloat (what + ": ⟨take x, u⟩ vs ⟨x, Jᵀu⟩") rounding (inner y u) (inner x (pullback u))
        assertCloseFloat (what + ": ⟨take x, u⟩ vs ⟨x, scatter-add u⟩") rounding (inner y u) (inner x scattered)
        // take alone reads the flattened tensor, as NumPy
        let flat = Tensor.reshape [| x.Size |] x
        let flatIndices, flatShape = randomIndices r x.Size
        let y, pullback = vjp (Tensor.take (int64Of flatShape flatIndices)) x
        assertClose "take" rounding (naiveTake 0 flatIndices flatShape flat) y
        let u = randomTensor r -1.0 1.0 y.Shape

        assertClose
            "take's pullback"
            rounding
            (naiveScatterAdd 0 flatIndices [| x.Size |] u |> Tensor.reshape xShape)
            (pullback u))

[<Fact>]
let ``takeAxis gathers along axes 0, 1 and 2`` () =
    let x = Tensor.reshape [| 2; 3; 4 |] (Tensor.arange 24)
    let idx = int64Of [| 3 |] [| 1; -1; 1 |]
    let along0 = Tensor.takeAxis 0 idx x
    assertShape [| 3; 3; 4 |] along0
    assertExact (Array.concat [ [| 12.0 .. 23.0 |]; [| 12.0 .. 23.0 |]; [| 12.0 .. 23.0 |] ]) along0
    let along1 = Tensor.takeAxis 1 idx x
    assertShape [| 2; 3; 4 |] along1

    // [1; -1; 1] reads rows 1, 2, 1 of each 3 × 4 block
    assertExact (Array.init 24 (fun k -> float (k / 12 * 12 + [| 1; 2; 1 |].[k / 4 % 3] * 4 + k % 4))) along1

    let along2 = Tensor.takeAxis -1 (int64Of [| 2; 2 |] [| 0; 3; 3; 0 |]) x
    assertShape [| 2; 3; 2; 2 |] along2

    assertExact
        (Array.init 6 (fun row -> let b = 4.0 * float row in [| b; b + 3.0; b + 3.0; b |])
         |> Array.concat)
        along2
    // the gradient counts how often each element is taken: index 1 of axis 1 twice, index 2 once
    let counts = grad (fun x -> Tensor.sum (Tensor.takeAxis 1 idx x)) x
    assertExact (Array.init 24 (fun k -> [| 0.0; 2.0; 1.0 |].[k / 4 % 3])) counts

[<Fact>]
let ``an out-of-range index raises a ShapeException naming the index, the axis and its size`` () =
    let x = Tensor.ofArray [| 1.0; 2.0; 3.0 |]

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.take (int64Of [| 2 |] [| 0; 5 |]) x |> ignore)

    Assert.Contains("index 5 is out of range for axis 0 of size 3", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.take (int64Of [| 1 |] [| -4 |]) x |> ignore)

    Assert.Contains("index -4 is out of range for axis 0 of size 3", e.Message)
    let m = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.takeAxis 1 (int64Of [| 1 |] [| 3 |]) m |> ignore)

    Assert.Contains("index 3 is out of range for axis 1 of size 3", e.Message)
    // under a transform too
    let e =
        Assert.Throws<ShapeException>(fun () ->
            grad (fun x -> Tensor.sum (Tensor.take (int64Of [| 1 |] [| 3 |]) x)) x |> ignore)

    Assert.Contains("index 3 is out of range for axis 0 of size 3", e.Message)

// ---- 5. every composite op is differentiable ---------------------------------------------------

/// A composite op as a function of one operand, at a random point of its smooth domain: a case
/// samples the point and any fixed operands together.
type private Case =
    {
        Name: string
        Sample: Random -> (Tensor -> Tensor) * Tensor
    }

/// Uniform values in [lo, hi) away from the `kinks` by at least `gap`.
let private awayFrom (kinks: float list) (gap: float) (lo: float) (hi: float) (r: Random) (shape: int[]) =
    let rec draw () =
        let v = lo + (hi - lo) * r.NextDouble()

        if kinks |> List.exists (fun k -> abs (v - k) < gap) then
            draw ()
        else
            v

    tensorOf shape (Array.init (Array.fold (*) 1 shape) (fun _ -> draw ()))

/// Distinct values at least 0.4 apart (no ties for max/min, even after a finite-difference step).
let private distinct (r: Random) (shape: int[]) =
    let n = Array.fold (*) 1 shape
    let order = Array.init n id |> Array.sortBy (fun _ -> r.Next())

    tensorOf
        shape
        (order
         |> Array.map (fun k -> 0.5 * float k - 0.25 * float n + 0.1 * r.NextDouble()))

let private uniformIn lo hi (r: Random) (shape: int[]) = randomTensor r lo hi shape

/// An op applied to a point drawn by `values` on a shape drawn by `shape`.
let private unary (name: string) (op: Tensor -> Tensor) (shape: Random -> int[]) (values: Random -> int[] -> Tensor) =
    {
        Name = name
        Sample = fun r -> op, values r (shape r)
    }

/// An op with one fixed operand drawn alongside the point.
let private withFixed (name: string) (sample: Random -> (Tensor -> Tensor) * Tensor) = { Name = name; Sample = sample }

let private anyRank (r: Random) = randomShape r 0 3 1
let private rank1to3 (r: Random) = randomShape r 1 3 1
let private rank2to3 (r: Random) = randomShape r 2 3 1
/// Every axis at least 2 long, so that no variance is 0.
let private wide2to3 (r: Random) = randomShape r 2 3 2
let private fixedShape (shape: int[]) (_: Random) = shape
let private reals = uniformIn -2.0 2.0
let private nonZero = awayFrom [ 0.0 ] 0.2 -2.0 2.0

/// Products of moderate factors, one in three with an exact zero.
let private factors (r: Random) (shape: int[]) =
    let x = values (awayFrom [ 0.0 ] 0.5 -1.5 1.5 r shape)

    if x.Length > 1 && r.Next 3 = 0 then
        x.[r.Next x.Length] <- 0.0

    tensorOf shape x

/// Indices with repeats and negatives, of the test's own choosing.
let private someIndices = int64Of [| 2; 2 |] [| 1; -1; 0; 1 |]

let private cases: Case list =
    [
        unary "softplus" Tensor.softplus anyRank (uniformIn -4.0 4.0)
        unary "relu (away from 0)" Tensor.relu anyRank nonZero
        unary "sigmoid" Tensor.sigmoid anyRank (uniformIn -4.0 4.0)
        unary "softmax" Tensor.softmax rank1to3 reals
        unary "softmaxAxis 0" (Tensor.softmaxAxis 0) rank1to3 reals
        unary "logSoftmax" Tensor.logSoftmax rank1to3 reals
        unary "logSoftmaxAxis 0" (Tensor.logSoftmaxAxis 0) rank2to3 reals
        unary "logSumExp" Tensor.logSumExp anyRank reals
        unary "logSumExpAxes [-1]" (Tensor.logSumExpAxes [ -1 ]) rank1to3 reals
        unary "logSumExpAxes [0; 1]" (Tensor.logSumExpAxes [ 0; 1 ]) rank2to3 reals
        unary "logSumExpKeepDims [0]" (Tensor.logSumExpKeepDims [ 0 ]) rank1to3 reals
        unary "mean" Tensor.mean anyRank reals
        unary "meanAxes [0]" (Tensor.meanAxes [ 0 ]) rank1to3 reals
        unary "meanKeepDims [-1]" (Tensor.meanKeepDims [ -1 ]) rank1to3 reals
        unary "var" Tensor.var anyRank reals
        unary "varAxes [0]" (Tensor.varAxes [ 0 ]) rank1to3 reals
        unary "varKeepDims [1]" (Tensor.varKeepDims [ 1 ]) rank2to3 reals
        unary "std" Tensor.std wide2to3 distinct
        unary "stdAxes [0]" (Tensor.stdAxes [ 0 ]) wide2to3 distinct
        unary "stdKeepDims [-1]" (Tensor.stdKeepDims [ -1 ]) wide2to3 distinct
        unary "max" Tensor.max anyRank distinct
        unary "maxAxes [0]" (Tensor.maxAxes [ 0 ]) rank1to3 distinct
        unary "maxKeepDims [-1]" (Tensor.maxKeepDims [ -1 ]) rank1to3 distinct
        unary "min" Tensor.min anyRank distinct
        unary "minAxes [-1]" (Tensor.minAxes [ -1 ]) rank1to3 distinct
        unary "minKeepDims [0; 1]" (Tensor.minKeepDims [ 0; 1 ]) rank2to3 distinct
        unary "prod" Tensor.prod anyRank factors
        unary "prodAxes [0]" (Tensor.prodAxes [ 0 ]) rank1to3 factors
        unary "prodKeepDims [-1]" (Tensor.prodKeepDims [ -1 ]) rank1to3 factors
        unary "norm" Tensor.norm rank1to3 nonZero
        withFixed "matmul x W" (fun r ->
            let w = randomTensor r -1.0 1.0 [| 4; 2 |]
            (fun x -> Tensor.matmul x w), randomTensor r -1.0 1.0 [| 3; 4 |])
        withFixed "matmul W x" (fun r ->
            Tensor.matmul (randomTensor r -1.0 1.0 [| 2; 3 |]), randomTensor r -1.0 1.0 [| 3; 4 |])
        withFixed "matmul with broadcast batch axes" (fun r ->
            let w = randomTensor r -1.0 1.0 [| 5; 4; 2 |]
            (fun x -> Tensor.matmul x w), randomTensor r -1.0 1.0 [| 2; 1; 3; 4 |])
        withFixed "dot x W (N-d)" (fun r ->
            let w = randomTensor r -1.0 1.0 [| 2; 3; 2 |]
            (fun x -> Tensor.dot x w), randomTensor r -1.0 1.0 [| 2; 3 |])
        withFixed "dot v x" (fun r -> Tensor.dot (randomTensor r -1.0 1.0 [| 3 |]), randomTensor r -1.0 1.0 [| 3 |])
        withFixed "outer x c" (fun r ->
            let c = randomTensor r -1.0 1.0 [| 3 |]
            (fun x -> Tensor.outer x c), randomTensor r -1.0 1.0 [| 2; 2 |])
        withFixed "outer c x" (fun r -> Tensor.outer (randomTensor r -1.0 1.0 [| 2 |]), randomTensor r -1.0 1.0 [| 3 |])
        unary "diag of a vector" Tensor.diag (fixedShape [| 3 |]) reals
        unary "diag of a matrix" Tensor.diag (fun r -> [| r.Next(1, 5); r.Next(1, 5) |]) reals
        unary "trace" Tensor.trace (fun r -> [| r.Next(1, 5); r.Next(1, 5) |]) reals
        unary "squeeze" (fun x -> Tensor.squeeze x ** 2.0) (fixedShape [| 1; 3; 1; 2 |]) reals
        unary "squeezeAxis 2" (Tensor.squeezeAxis 2) (fixedShape [| 2; 3; 1 |]) reals
        unary
            "split"
            (fun x ->
                match Tensor.split 2 x with
                | [ a; b ] -> Tensor.stack [ a * b; sin a ]
                | parts -> failwithf "split gave %d parts" parts.Length)
            (fixedShape [| 4; 3 |])
            reals
        unary "splitAxis" (fun x -> Tensor.concat 1 (Tensor.splitAxis 3 1 x |> List.rev)) (fixedShape [| 2; 6 |]) reals
        unary "take" (fun x -> Tensor.take someIndices x ** 2.0) (fixedShape [| 3; 4 |]) reals
        unary "takeAxis 1" (fun x -> Tensor.takeAxis 1 someIndices x ** 2.0) (fixedShape [| 3; 2; 2 |]) reals
        unary "cumsum" Tensor.cumsum anyRank reals
        unary "cumsumAxis 1" (fun x -> Tensor.cumsumAxis 1 x ** 2.0) rank2to3 reals
        unary "clip (not at its bounds)" (Tensor.clip -1.0 1.0) anyRank (awayFrom [ -1.0; 1.0 ] 0.1 -2.0 2.0)
        withFixed "maximum x c (no ties)" (fun r ->
            let x = randomTensor r -1.0 1.0 (randomShape r 0 3 1)
            let c = x + awayFrom [ 0.0 ] 0.1 -1.0 1.0 r x.Shape
            (fun x -> Tensor.maximum x c), x)
        withFixed "minimum c x (no ties, c broadcast)" (fun r ->
            let c = Tensor.ofArray [| 0.0; 0.5 |]
            (fun x -> Tensor.minimum c x), awayFrom [ 0.0; 0.5 ] 0.1 -1.0 1.5 r [| 3; 2 |])
        withFixed "atan2 y c" (fun r ->
            let c = nonZero r [| 2; 2 |]
            (fun y -> Tensor.atan2 y c), reals r [| 2; 2 |])
        withFixed "atan2 c x" (fun r ->
            let c = nonZero r [| 3 |]
            (fun x -> Tensor.atan2 c x), reals r [| 3 |])
        withFixed "pow x c" (fun r ->
            let c = uniformIn -2.0 3.0 r [| 3 |]
            (fun x -> Tensor.pow x c), uniformIn 0.5 2.0 r [| 3 |])
        withFixed "pow c y" (fun r ->
            let c = uniformIn 0.5 2.0 r [| 3 |]
            (fun y -> Tensor.pow c y), reals r [| 3 |])
        unary "pow x x" (fun x -> Tensor.pow x x) rank1to3 (uniformIn 0.5 2.0)
    ]

/// jvp vs central differences; ⟨u, J v⟩ = ⟨Jᵀ u, v⟩; and the second order of Σ w · op(x)
/// (hvp vs central differences of grad).
let private checkCase (r: Random) (case: Case) =
    let f, x = case.Sample r

    let fail what (e: exn) =
        failwithf "%s: %s at %s\n%s" case.Name what (describeTensor x) e.Message

    let v = randomTensor r -1.0 1.0 x.Shape
    let y, t = jvp f x v

    try
        assertClose "jvp's primal vs the op" rounding (f x) y
        assertClose "jvp vs central differences" finiteDifference (centralDifference f x v) t
    with e ->
        fail "first order" e

    let y2, pullback = vjp f x
    let u = randomTensor r -1.0 1.0 y2.Shape
    let ct = pullback u
    let left, right = inner u t, inner ct v

    if abs (left - right) > 1e-10 * (1.0 + abs left + abs right) then
        failwithf
            "%s: ⟨u, J v⟩ = %s but ⟨Jᵀ u, v⟩ = %s at %s"
            case.Name
            (showFloat left)
            (showFloat right)
            (describeTensor x)

    let w = randomTensor r -1.0 1.0 y.Shape
    let g (x: Tensor) = Tensor.sum (w * f x)

    try
        assertClose "grad vs vjp" rounding (pullback w) (grad g x)
        assertClose "hvp vs central differences of grad" finiteDifference (centralDifference (grad g) x v) (hvp g x v)
    with e ->
        fail "second order" e

[<Fact>]
let ``every composite op agrees with central differences to second order`` () =
    let failures =
        [
            for case in cases do
                try
                    forSamples 20250501UL 20 (fun r -> checkCase r case)
                with e ->
                    yield e.Message
        ]

    if not failures.IsEmpty then
        failwithf "%d op(s) fail:\n\n%s" failures.Length (String.concat "\n\n" failures)

[<Fact>]
let ``the composite check catches wrong first and second derivatives`` () =
    let caught (case: Case) =
        let failed =
            try
                checkCase (Random 5) case
                false
            with e ->
                Assert.Contains(case.Name, e.Message)
                true

        Assert.True(failed, sprintf "the check did not catch %s" case.Name)
    // x · x with one factor held constant: half the derivative
    caught (unary "x * stopGradient x" (fun x -> x * Tensor.stopGradient x) (fixedShape [| 3 |]) reals)
    // x² with a first derivative of 2x whose own derivative is hidden: zero second derivative
    caught (
        unary
            "frozen square"
            (fun x ->
                Tensor.stopGradient (x * x)
                + (x - Tensor.stopGradient x) * Tensor.stopGradient (2.0 * x))
            (fixedShape [| 3 |])
            reals
    )

// ---- 6. exact small values --------------------------------------------------------------------

[<Fact>]
let ``var and std are the population ones`` () =
    let x = Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0 |]
    Assert.Equal(1.25, float (Tensor.var x))
    Assert.Equal(Math.Sqrt 1.25, float (Tensor.std x))
    let m = tensorOf [| 2; 2 |] [| 1.0; 2.0; 3.0; 5.0 |]
    assertExact [| 1.0; 2.25 |] (Tensor.varAxes [ 0 ] m)
    assertExact [| 0.25; 1.0 |] (Tensor.varAxes [ 1 ] m)
    assertExact [| 1.0; 1.5 |] (Tensor.stdAxes [ 0 ] m)
    assertShape [| 1; 2 |] (Tensor.stdKeepDims [ 0 ] m)
    Assert.Equal(0.0, float (Tensor.var (Tensor.full [| 3 |] 7.0)))
    // d/dx var = 2 (x − mean) / n
    assertExact [| -0.75; -0.25; 0.25; 0.75 |] (grad Tensor.var x)
    Assert.Equal(2.75, float (Tensor.mean m))
    assertExact [| 1.5; 4.0 |] (Tensor.meanAxes [ 1 ] m)

[<Fact>]
let ``prod and its gradient are exact where elements are zero`` () =
    Assert.Equal(24.0, float (Tensor.prod (Tensor.ofArray [| 2.0; 3.0; 4.0 |])))
    assertExact [| 12.0; 8.0; 6.0 |] (grad Tensor.prod (Tensor.ofArray [| 2.0; 3.0; 4.0 |]))
    let oneZero = Tensor.ofArray [| 2.0; 0.0; 3.0 |]
    Assert.Equal(0.0, float (Tensor.prod oneZero))
    assertExact [| 0.0; 6.0; 0.0 |] (grad Tensor.prod oneZero)
    Assert.Equal(6.0, float (snd (jvp Tensor.prod oneZero (Tensor.ofArray [| 5.0; 1.0; 7.0 |]))))
    assertExact [| 0.0; 0.0; 0.0 |] (grad Tensor.prod (Tensor.ofArray [| 0.0; 0.0; 3.0 |]))
    // ∂²/∂xᵢ∂xⱼ Π x = Π of the others (0 on the diagonal)
    assertExact [| 0.0; 3.0; 0.0; 3.0; 0.0; 2.0; 0.0; 2.0; 0.0 |] (hessian Tensor.prod oneZero)

    assertExact
        [| 0.0; 3.0; 0.0; 3.0; 0.0; 0.0; 0.0; 0.0; 0.0 |]
        (hessian Tensor.prod (Tensor.ofArray [| 0.0; 0.0; 3.0 |]))
    // along an axis
    let m = tensorOf [| 2; 3 |] [| 1.0; 0.0; 2.0; 3.0; 4.0; 0.5 |]
    assertExact [| 0.0; 6.0 |] (Tensor.prodAxes [ 1 ] m)
    assertExact [| 3.0; 0.0; 1.0 |] (Tensor.prodAxes [ 0 ] m)
    assertShape [| 2; 1 |] (Tensor.prodKeepDims [ 1 ] m)
    assertExact [| 0.0; 2.0; 0.0; 2.0; 1.5; 12.0 |] (grad (fun m -> Tensor.sum (Tensor.prodAxes [ 1 ] m)) m)

[<Fact>]
let ``argmax and argmin give the first index of the extreme, as int64`` () =
    let x = Tensor.ofArray [| 1.0; 3.0; -2.0; 3.0; -2.0 |]
    Assert.Equal(DType.Int64, (Tensor.argmax x).DType)
    assertShape [||] (Tensor.argmax x)
    Assert.Equal(1.0, float (Tensor.argmax x))
    Assert.Equal(2.0, float (Tensor.argmin x))
    // flat over a matrix
    let m = tensorOf [| 2; 3 |] [| 1.0; 7.0; 7.0; 0.0; 9.0; 0.0 |]
    Assert.Equal(4.0, float (Tensor.argmax m))
    Assert.Equal(3.0, float (Tensor.argmin m))
    // along axes
    let along0, along1 = Tensor.argmaxAxis 0 m, Tensor.argmaxAxis 1 m
    Assert.Equal(DType.Int64, along0.DType)
    assertExact [| 0.0; 1.0; 0.0 |] along0
    assertExact [| 1.0; 1.0 |] along1
    assertExact [| 1.0; 0.0; 1.0 |] (Tensor.argminAxis 0 m)
    assertExact [| 0.0; 0.0 |] (Tensor.argminAxis -1 m)
    // they are constant: zero gradient through them
    assertZeros "grad through argmax" [| 5 |] (grad (fun x -> Tensor.convert Float64 (Tensor.argmax x)) x)

    assertZeros
        "grad through argminAxis"
        [| 2; 3 |]
        (grad (fun m -> Tensor.sum (Tensor.convert Float64 (Tensor.argminAxis 0 m))) m)

[<Fact>]
let ``cumsum flattens and cumsumAxis runs along one axis`` () =
    let m = tensorOf [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]
    assertShape [| 4 |] (Tensor.cumsum m)
    assertExact [| 1.0; 3.0; 6.0; 10.0 |] (Tensor.cumsum m)
    assertExact [| 1.0; 2.0; 4.0; 6.0 |] (Tensor.cumsumAxis 0 m)
    assertExact [| 1.0; 3.0; 3.0; 7.0 |] (Tensor.cumsumAxis 1 m)
    assertExact [| 1.0; 3.0; 3.0; 7.0 |] (Tensor.cumsumAxis -1 m)
    // d/dxᵢ Σₖ cumsum(x)ₖ = n − i
    assertExact
        [| 4.0; 3.0; 2.0; 1.0 |]
        (grad (fun x -> Tensor.sum (Tensor.cumsum x)) (Tensor.ofArray [| 5.0; -1.0; 0.0; 2.0 |]))

    assertExact [| 2.0; 2.0; 1.0; 1.0 |] (grad (fun m -> Tensor.sum (Tensor.cumsumAxis 0 m)) m)

[<Fact>]
let ``oneHot gives float64 rows of n classes`` () =
    let labels = int64Of [| 3 |] [| 0; 2; 1 |]
    let h = Tensor.oneHot 3 labels
    Assert.Equal(Float64, h.DType)
    assertShape [| 3; 3 |] h
    assertExact [| 1.0; 0.0; 0.0; 0.0; 0.0; 1.0; 0.0; 1.0; 0.0 |] h
    let grid = Tensor.oneHot 2 (int64Of [| 2; 2 |] [| 1; 0; 0; 1 |])
    assertShape [| 2; 2; 2 |] grid
    assertExact [| 0.0; 1.0; 1.0; 0.0; 1.0; 0.0; 0.0; 1.0 |] grid
    // float labels are read as integers
    assertExact [| 0.0; 1.0 |] (Tensor.oneHot 2 (Tensor.scalar 1.0))

[<Fact>]
let ``split, squeeze and squeezeAxis reshape as NumPy`` () =
    let x = Tensor.arange 6
    let parts = Tensor.split 3 x
    Assert.Equal(3, parts.Length)
    List.iteri (fun i (p: Tensor) -> assertExact [| 2.0 * float i; 2.0 * float i + 1.0 |] p) parts
    let m = Tensor.reshape [| 2; 4 |] (Tensor.arange 8)

    match Tensor.splitAxis 2 1 m with
    | [ left; right ] ->
        assertShape [| 2; 2 |] left
        assertExact [| 0.0; 1.0; 4.0; 5.0 |] left
        assertExact [| 2.0; 3.0; 6.0; 7.0 |] right
    | parts -> failwithf "splitAxis 2 1 gave %d parts" parts.Length

    let e = Assert.Throws<ShapeException>(fun () -> Tensor.split 4 x |> ignore)
    Assert.Contains("cannot be split into 4 equal sections", e.Message)
    let s = Tensor.reshape [| 1; 3; 1; 2 |] (Tensor.arange 6)
    assertShape [| 3; 2 |] (Tensor.squeeze s)
    assertExact [| 0.0 .. 5.0 |] (Tensor.squeeze s)
    assertShape [| 3; 1; 2 |] (Tensor.squeezeAxis 0 s)
    assertShape [| 1; 3; 2 |] (Tensor.squeezeAxis -2 s)
    assertShape [||] (Tensor.squeeze (Tensor.ones [| 1; 1 |]))
    let e = Assert.Throws<ShapeException>(fun () -> Tensor.squeezeAxis 1 s |> ignore)
    Assert.Contains("axis 1 has size 3, not 1", e.Message)

[<Fact>]
let ``keep-dims reductions keep the reduced axes with size 1`` () =
    let x = randomTensor (Random 11) 0.5 2.0 [| 2; 3; 4 |]

    for name, reduce in
        [
            "sumKeepDims", Tensor.sumKeepDims
            "meanKeepDims", Tensor.meanKeepDims
            "maxKeepDims", Tensor.maxKeepDims
            "minKeepDims", Tensor.minKeepDims
            "prodKeepDims", Tensor.prodKeepDims
            "varKeepDims", Tensor.varKeepDims
            "stdKeepDims", Tensor.stdKeepDims
            "logSumExpKeepDims", Tensor.logSumExpKeepDims
        ] do
        for axes, shape in
            [
                [ 1 ], [| 2; 1; 4 |]
                [ 0; 2 ], [| 1; 3; 1 |]
                [ -1 ], [| 2; 3; 1 |]
                [ 0; 1; 2 ], [| 1; 1; 1 |]
            ] do
            let kept = reduce axes x

            if kept.Shape <> shape then
                failwithf "%s %A: shape %s" name axes (showShape kept.Shape)

    // the values are those of the plain reduction
    assertExact (values (Tensor.meanAxes [ 0; 2 ] x)) (Tensor.meanKeepDims [ 0; 2 ] x)
    assertExact (values (Tensor.maxAxes [ 1 ] x)) (Tensor.maxKeepDims [ 1 ] x)

[<Fact>]
let ``take on a matrix reads the flattened matrix, as NumPy`` () =
    let m = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    assertExact [| 1.0; 5.0; 6.0 |] (Tensor.take (int64Of [| 3 |] [| 0; 4; 5 |]) m)
    let taken = Tensor.take (int64Of [| 2; 2 |] [| -1; 0; 2; 2 |]) m
    assertShape [| 2; 2 |] taken
    assertExact [| 6.0; 1.0; 3.0; 3.0 |] taken
    // float indices are converted
    assertExact [| 4.0 |] (Tensor.take (Tensor.ofArray [| 3.0 |]) m)
    // the gradient counts how often each element is taken
    assertExact
        [| 1.0; 0.0; 2.0; 0.0; 0.0; 1.0 |]
        (grad (fun m -> Tensor.sum (Tensor.take (int64Of [| 2; 2 |] [| -1; 0; 2; 2 |]) m)) m)

// ---- 7. the C# extension methods -----------------------------------------------------------------

[<Fact>]
let ``the extension methods are callable from F# and agree with the module functions`` () =
    let r = Random 13
    let x = randomTensor r -2.0 2.0 [| 3; 4 |]
    let w = randomTensor r -1.0 1.0 [| 4; 2 |]
    let v = randomTensor r -1.0 1.0 [| 4 |]

    let same (what: string) (expected: Tensor) (actual: Tensor) =
        assertClose what rounding expected actual

    same "Softplus" (Tensor.softplus x) (x.Softplus())
    same "Relu" (Tensor.relu x) (x.Relu())
    same "Softmax" (Tensor.softmax x) (x.Softmax())
    same "Softmax(0)" (Tensor.softmaxAxis 0 x) (x.Softmax(0))
    same "LogSoftmax" (Tensor.logSoftmax x) (x.LogSoftmax())
    same "LogSoftmax(0)" (Tensor.logSoftmaxAxis 0 x) (x.LogSoftmax(0))
    same "LogSumExp" (Tensor.logSumExp x) (x.LogSumExp())
    same "LogSumExp(1)" (Tensor.logSumExpAxes [ 1 ] x) (x.LogSumExp(1))
    same "Norm" (Tensor.norm x) (x.Norm())
    same "Mean(1)" (Tensor.meanAxes [ 1 ] x) (x.Mean(1))
    same "Var" (Tensor.var x) (x.Var())
    same "Var(0)" (Tensor.varAxes [ 0 ] x) (x.Var(0))
    same "Std" (Tensor.std x) (x.Std())
    same "Std(0)" (Tensor.stdAxes [ 0 ] x) (x.Std(0))
    same "MatMul" (Tensor.matmul x w) (x.MatMul(w))
    same "MatMul vector" (Tensor.matmul x v) (x.MatMul(v))
    same "Dot" (Tensor.dot x w) (x.Dot(w))
    same "Outer" (Tensor.outer v v) (v.Outer(v))
    same "Diag" (Tensor.diag x) (x.Diag())
    same "Trace" (Tensor.trace x) (x.Trace())
    let s = Tensor.reshape [| 1; 3; 1; 4 |] x
    same "Squeeze" (Tensor.squeeze s) (s.Squeeze())
    let parts = x.Split(2, 1)
    Assert.Equal(2, parts.Length)
    Array.iter2 (same "Split") (Array.ofList (Tensor.splitAxis 2 1 x)) parts
    let labels = int64Of [| 2 |] [| 2; 0 |]
    same "OneHot" (Tensor.oneHot 3 labels) (labels.OneHot(3))
    let idx = int64Of [| 3 |] [| 5; -1; 0 |]
    same "Take" (Tensor.take idx x) (x.Take(idx))
    same "CumSum" (Tensor.cumsum x) (x.CumSum())
    let cond = Tensor.gt x (scalar 0.0)
    same "Where" (Tensor.where cond x (-x)) (cond.Where(x, -x))
    // they differentiate like the module functions
    same
        "grad of x.Softmax()"
        (grad (fun x -> Tensor.sum (Tensor.softmax x * x)) x)
        (grad (fun x -> (x.Softmax() * x).Sum()) x)

    same
        "grad of x.MatMul(w).Norm()"
        (grad (fun x -> Tensor.norm (Tensor.matmul x w)) x)
        (grad (fun (x: Tensor) -> x.MatMul(w).Norm()) x)

// Regressions: the pow rule once put a `where` on its x-factor, which dropped ∂/∂y of that
// factor at y = 0 and left 0·∞ = NaN in the untaken branch under reverse-over-reverse.
[<Fact>]
let ``pow's mixed second derivative at y = 0 is 1/x and the Hessian is symmetric`` () =
    let f (v: Tensor) = Tensor.pow v.[0] v.[1]
    let h = Tensor.toArray (hessian f (Tensor.ofArray [| 2.0; 0.0 |]))
    Assert.Equal(0.0, h.[0], 12)
    Assert.Equal(0.5, h.[1], 12)
    Assert.Equal(0.5, h.[2], 12)
    Assert.Equal(log 2.0 ** 2.0, h.[3], 12)

    let viaNested =
        grad (fun y -> grad (fun x -> Tensor.pow x y) (Tensor.scalar 2.0)) (Tensor.scalar 0.0)

    Assert.Equal(0.5, float viaNested, 12)

[<Fact>]
let ``the second derivative of x to the power 0 at x = 0 is 0, not NaN`` () =
    let f (x: Tensor) = Tensor.pow x (Tensor.scalar 0.0)
    Assert.Equal(0.0, float (grad (grad f) (Tensor.scalar 0.0)))
    Assert.Equal(0.0, float (hessian f (Tensor.scalar 0.0)))

[<Fact>]
let ``softmax of a scalar names softmax in its error`` () =
    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.softmax (Tensor.scalar 3.0) |> ignore)

    Assert.Contains("softmax", e.Message)
