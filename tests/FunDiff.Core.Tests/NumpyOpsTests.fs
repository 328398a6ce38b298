/// The NumPy-breadth ops of issue 16 (rounding and tests, activations, structural ops):
/// exact values NumPy documents, derivatives at kinks and zeros against the maths or central
/// differences, vmap and jit of a few, and their errors. The rounding primitives' laws
/// (derivative, batching, jit) run in PrimitiveLaws/VmapLaws/JitLaws from Domains.fs.
module FunDiff.Tests.NumpyOpsTests

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private scalar (v: float) = Tensor.scalar v

/// The same bits, so that −0 differs from +0 and NaN equals NaN.
let private assertBits (expected: float[]) (actual: Tensor) =
    let a = values actual

    let show (v: float[]) =
        v |> Array.map showFloat |> String.concat "; "

    if
        a.Length <> expected.Length
        || Array.exists2
            (fun (e: float) (v: float) -> BitConverter.DoubleToInt64Bits e <> BitConverter.DoubleToInt64Bits v)
            expected
            a
    then
        failwithf "expected [%s], got [%s]" (show expected) (show a)

let private assertExact (expected: float[]) (actual: Tensor) =
    Assert.Equal<float[]>(expected, values actual)

let private assertShape (expected: int[]) (actual: Tensor) =
    Assert.Equal<int[]>(expected, actual.Shape)

/// The gradient of `f` (to a scalar) at `x` against central differences, direction by direction.
let private assertGradient (what: string) (f: Tensor -> Tensor) (x: Tensor) =
    let g = grad f x
    let n = x.Size

    for i in 0 .. n - 1 do
        let e = Array.zeroCreate n
        e.[i] <- 1.0
        let v = tensorOf x.Shape e
        let fd = centralDifference f x v
        assertCloseFloat (sprintf "%s: d/dx[%d]" what i) finiteDifference (float fd) (values g).[i]

// ---- 1. rounding and tests ---------------------------------------------------------------------

[<Fact>]
let ``round takes halves to even as NumPy`` () =
    let x =
        Tensor.ofArray [| 0.5; 1.5; 2.5; -0.5; -1.5; -2.5; 0.49999999999999994; 2.6; -0.0 |]

    assertBits [| 0.0; 2.0; 2.0; -0.0; -2.0; -2.0; 0.0; 3.0; -0.0 |] (Tensor.round x)
    // the vector kernel (longer than the small-array loop) gives the scalar function's bits
    let long = Tensor.ofArray (Array.init 37 (fun i -> float i * 0.5 - 9.0))

    assertBits (Array.init 37 (fun i -> Math.Round(float i * 0.5 - 9.0, MidpointRounding.ToEven))) (Tensor.round long)

[<Fact>]
let ``floor ceil and trunc match NumPy`` () =
    let x = Tensor.ofArray [| -1.7; -0.2; 0.0; 0.2; 1.7; -2.0; nan; infinity |]
    assertBits [| -2.0; -1.0; 0.0; 0.0; 1.0; -2.0; nan; infinity |] (Tensor.floor x)
    assertBits [| -1.0; -0.0; 0.0; 1.0; 2.0; -2.0; nan; infinity |] (Tensor.ceil x)
    assertBits [| -1.0; -0.0; 0.0; 0.0; 1.0; -2.0; nan; infinity |] (Tensor.trunc x)
    // an int64 tensor gives float64, as NumPy's floor does
    let i = Tensor.convert DType.Int64 (Tensor.ofArray [| -3.0; 4.0 |])
    Assert.Equal(DType.Float64, (Tensor.floor i).DType)
    assertExact [| -3.0; 4.0 |] (Tensor.floor i)

[<Fact>]
let ``rounding has derivative 0, also at the jumps`` () =
    for f in [ Tensor.floor; Tensor.ceil; Tensor.round; Tensor.trunc ] do
        let x = Tensor.ofArray [| -1.0; -0.5; 0.0; 0.3; 2.5 |]
        assertExact [| 0.0; 0.0; 0.0; 0.0; 0.0 |] (grad (fun x -> Tensor.sum (f x)) x)
        // a straight-through use: x + stopGradient(round x − x) has derivative 1
        let ste (x: Tensor) =
            Tensor.sum (x + Tensor.stopGradient (f x - x))

        assertExact [| 1.0; 1.0; 1.0; 1.0; 1.0 |] (grad ste x)

[<Fact>]
let ``isnan isinf isfinite give bools`` () =
    let x = Tensor.ofArray [| 1.0; nan; infinity; -infinity; 0.0; -0.0 |]

    let asFloat (b: Tensor) =
        Assert.Equal(DType.Bool, b.DType)
        values b

    Assert.Equal<float[]>([| 0.0; 1.0; 0.0; 0.0; 0.0; 0.0 |], asFloat (Tensor.isnan x))
    Assert.Equal<float[]>([| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0 |], asFloat (Tensor.isinf x))
    Assert.Equal<float[]>([| 1.0; 0.0; 0.0; 0.0; 1.0; 1.0 |], asFloat (Tensor.isfinite x))
    let i = Tensor.convert DType.Int64 (Tensor.ofArray [| 1.0; -2.0 |])
    Assert.Equal<float[]>([| 0.0; 0.0 |], asFloat (Tensor.isnan i))
    Assert.Equal<float[]>([| 1.0; 1.0 |], asFloat (Tensor.isfinite i))

[<Fact>]
let ``nanToNum replaces with NumPy's defaults or the values given`` () =
    let x = Tensor.ofArray [| 1.5; nan; infinity; -infinity; -2.0 |]
    assertExact [| 1.5; 0.0; Double.MaxValue; -Double.MaxValue; -2.0 |] (Tensor.nanToNum x)
    assertExact [| 1.5; -1.0; 9.0; -9.0; -2.0 |] (Tensor.nanToNumWith -1.0 9.0 -9.0 x)
    // kept elements keep their derivative, replaced ones get 0
    assertExact [| 2.0; 0.0; 0.0; 0.0; 2.0 |] (grad (fun x -> Tensor.sum (2.0 * Tensor.nanToNum x)) x)

[<Fact>]
let ``rounding and tests run under vmap and jit`` () =
    let x = tensorOf [| 2; 3 |] [| 0.5; 1.5; -2.5; nan; 3.7; -0.2 |]

    let f (x: Tensor) =
        Tensor.round x + Tensor.floor x + Tensor.nanToNum x

    let eager = f x
    // NaN ≠ NaN, so compare with NaN mapped to a number
    let clean (t: Tensor) = Tensor.nanToNumWith 7.0 8.0 9.0 t
    assertExact (values (clean eager)) (clean (jit f x))
    assertExact (values (clean eager)) (clean (vmap f x))
    assertExact (values (Tensor.isnan x)) (vmap Tensor.isnan x)

// ---- 2. activations and friends ----------------------------------------------------------------

/// Second derivatives by grad (grad f) against central differences of grad f.
let private assertSecond (what: string) (f: Tensor -> Tensor) (points: float list) =
    for p in points do
        let x = scalar p
        let fd = centralDifference (grad f) x (scalar 1.0)
        assertCloseFloat (sprintf "%s'' at %g" what p) finiteDifference (float fd) (float (grad (grad f) x))

[<Fact>]
let ``gelu silu and logit have the values and derivatives of their formulas`` () =
    Assert.Equal(0.0, float (Tensor.gelu (scalar 0.0)))
    Assert.Equal(0.5, float (grad Tensor.gelu (scalar 0.0)))
    Assert.Equal(0.0, float (Tensor.geluTanh (scalar 0.0)))
    Assert.Equal(0.5, float (grad Tensor.geluTanh (scalar 0.0)))
    // Φ(1) = ½ (1 + erf(1/√2)) = 0.8413447460685429
    assertCloseFloat "gelu 1" rounding 0.8413447460685429 (float (Tensor.gelu (scalar 1.0)))
    // tanh form at 1: ½ (1 + tanh(√(2/π) · 1.044715))
    assertCloseFloat
        "geluTanh 1"
        rounding
        (0.5 * (1.0 + Math.Tanh(Math.Sqrt(2.0 / Math.PI) * 1.044715)))
        (float (Tensor.geluTanh (scalar 1.0)))
    // silu x = x σ(x); silu'(0) = ½
    assertCloseFloat "silu 2" rounding (2.0 / (1.0 + Math.Exp -2.0)) (float (Tensor.silu (scalar 2.0)))
    Assert.Equal(0.5, float (grad Tensor.silu (scalar 0.0)))
    // logit is sigmoid's inverse: logit ½ = 0, logit'(p) = 1 / (p (1 − p))
    Assert.Equal(0.0, float (Tensor.logit (scalar 0.5)))
    Assert.Equal(-infinity, float (Tensor.logit (scalar 0.0)))
    Assert.Equal(infinity, float (Tensor.logit (scalar 1.0)))
    assertCloseFloat "logit' 0.2" rounding (1.0 / 0.16) (float (grad Tensor.logit (scalar 0.2)))
    assertCloseFloat "logit (sigmoid 3)" rounding 3.0 (float (Tensor.logit (Tensor.sigmoid (scalar 3.0))))

    for name, f, points in
        [
            "gelu", Tensor.gelu, [ -2.0; 0.0; 0.7 ]
            "geluTanh", Tensor.geluTanh, [ -2.0; 0.0; 0.7 ]
            "silu", Tensor.silu, [ -2.0; 0.0; 0.7 ]
            "logit", Tensor.logit, [ 0.1; 0.5; 0.8 ]
        ] do
        for p in points do
            assertGradient (sprintf "%s at %g" name p) f (scalar p)

        assertSecond name f points

[<Fact>]
let ``logAddExp is stable and exact at ties`` () =
    let lae (x: float) (y: float) =
        float (Tensor.logAddExp (scalar x) (scalar y))

    assertCloseFloat "logAddExp 1000 1000" rounding (1000.0 + Math.Log 2.0) (lae 1000.0 1000.0)
    assertCloseFloat "logAddExp -1000 -1000" rounding (-1000.0 + Math.Log 2.0) (lae -1000.0 -1000.0)
    assertCloseFloat "logAddExp 0 0" rounding (Math.Log 2.0) (lae 0.0 0.0)
    assertCloseFloat "logAddExp 1 2" rounding (Math.Log(Math.E + Math.E * Math.E)) (lae 1.0 2.0)
    Assert.Equal(1000.0, lae 1000.0 -1000.0)
    Assert.Equal(infinity, lae infinity infinity)
    Assert.Equal(-infinity, lae -infinity -infinity)
    Assert.Equal(3.0, lae -infinity 3.0)
    Assert.True(Double.IsNaN(lae nan 1.0))
    // ∂/∂x = σ(x − y): ½ at a tie, second derivative σ'(0) = ¼ (not the 0 of a kink)
    let pair (p: Tensor) = Tensor.logAddExp p.[0] p.[1]
    assertExact [| 0.5; 0.5 |] (grad pair (Tensor.ofArray [| 1000.0; 1000.0 |]))

    assertCloseFloat
        "d²/dx² at a tie"
        rounding
        0.25
        (float (grad (grad (fun x -> Tensor.logAddExp x (scalar 2.0))) (scalar 2.0)))

    assertGradient "logAddExp" pair (Tensor.ofArray [| 0.3; -1.2 |])
    // broadcasting
    assertShape [| 2; 3 |] (Tensor.logAddExp (Tensor.zeros [| 2; 1 |]) (Tensor.zeros [| 3 |]))

[<Fact>]
let ``hypot does not overflow and is differentiable at ties and 0`` () =
    let h (x: float) (y: float) =
        float (Tensor.hypot (scalar x) (scalar y))

    Assert.Equal(5.0, h 3.0 4.0)
    assertCloseFloat "hypot 1e200 1e200" rounding (1e200 * Math.Sqrt 2.0) (h 1e200 1e200)
    assertCloseFloat "hypot 1e-200 1e-200" rounding (1e-200 * Math.Sqrt 2.0) (h 1e-200 1e-200)
    Assert.Equal(0.0, h 0.0 0.0)
    Assert.Equal(infinity, h infinity nan)
    Assert.Equal(infinity, h nan -infinity)
    Assert.True(Double.IsNaN(h nan 1.0))
    let pair (p: Tensor) = Tensor.hypot p.[0] p.[1]
    // (x, y) / h: at a tie |x| = |y| too, signs included
    let g = values (grad pair (Tensor.ofArray [| 2.0; -2.0 |]))
    assertCloseFloat "∂x at a tie" rounding (1.0 / Math.Sqrt 2.0) g.[0]
    assertCloseFloat "∂y at a tie" rounding (-1.0 / Math.Sqrt 2.0) g.[1]
    assertExact [| 0.0; 0.0 |] (grad pair (Tensor.ofArray [| 0.0; 0.0 |]))
    assertExact [| 0.0; 1.0 |] (grad pair (Tensor.ofArray [| 0.0; 3.0 |]))
    assertGradient "hypot" pair (Tensor.ofArray [| 0.3; -1.2 |])
    // second order at a tie: H = (I − u uᵀ) / h with u = (x, y) / h; at (2, −2) all entries
    // ±1 / (4√2)
    let q = 1.0 / (4.0 * Math.Sqrt 2.0)

    assertClose
        "hessian at a tie"
        rounding
        (tensorOf [| 2; 2 |] [| q; q; q; q |])
        (hessian pair (Tensor.ofArray [| 2.0; -2.0 |]))
    // at x = 0: ∂²/∂x² = 1 / |y|
    assertCloseFloat
        "∂²/∂x² at x = 0"
        rounding
        (1.0 / 3.0)
        (float (hessian pair (Tensor.ofArray [| 0.0; 3.0 |])).[0].[0])

[<Fact>]
let ``xlogy is 0 where x is 0, with the documented derivatives`` () =
    let xl (x: float) (y: float) =
        float (Tensor.xlogy (scalar x) (scalar y))

    Assert.Equal(0.0, xl 0.0 0.0)
    Assert.Equal(0.0, xl 0.0 -1.0)
    Assert.True(Double.IsNaN(xl 0.0 nan))
    assertCloseFloat "xlogy 2 3" rounding (2.0 * Math.Log 3.0) (xl 2.0 3.0)
    let pair (p: Tensor) = Tensor.xlogy p.[0] p.[1]
    // at x = 0: ∂/∂x = log y, ∂/∂y = 0
    let g = values (grad pair (Tensor.ofArray [| 0.0; 2.0 |]))
    assertCloseFloat "∂x at x = 0" rounding (Math.Log 2.0) g.[0]
    Assert.Equal(0.0, g.[1])
    Assert.Equal(-infinity, (values (grad pair (Tensor.ofArray [| 0.0; 0.0 |]))).[0])
    assertGradient "xlogy" pair (Tensor.ofArray [| 0.7; 1.3 |])
    // entropy-style use: Σ −p log p with a zero probability is finite
    let p = Tensor.ofArray [| 0.0; 0.25; 0.75 |]
    Assert.False(Double.IsNaN(float (Tensor.sum (-(Tensor.xlogy p p)))))

[<Fact>]
let ``activations run under vmap and jit`` () =
    let x = tensorOf [| 2; 3 |] [| -1.0; 0.0; 0.5; 2.0; -3.0; 0.25 |]
    // one row, so that f applies alike to the whole and to each row under vmap
    let y = Tensor.ofArray [| 1.0; 0.0; -2.0 |]

    let f (x: Tensor) =
        Tensor.gelu x
        + Tensor.silu x
        + Tensor.logAddExp x y
        + Tensor.hypot x y
        + Tensor.xlogy x (Tensor.abs y + 1.0)

    assertClose "jit" rounding (f x) (jit f x)
    assertClose "vmap" rounding (f x) (vmap f x)
    assertClose "jit of grad" rounding (grad (fun x -> Tensor.sum (f x)) x) (jit (grad (fun x -> Tensor.sum (f x))) x)

// ---- 3. structural ops ---------------------------------------------------------------------

let private v (xs: float list) = Tensor.ofArray (Array.ofList xs)

[<Fact>]
let ``pad modes match NumPy`` () =
    let x = v [ 1.0; 2.0; 3.0 ]
    assertExact [| 0.0; 1.0; 2.0; 3.0; 0.0; 0.0 |] (Tensor.pad [ 1, 2 ] 0.0 x)
    assertExact [| 7.0; 7.0; 1.0; 2.0; 3.0; 7.0 |] (Tensor.pad [ 2, 1 ] 7.0 x)
    assertExact [| 1.0; 1.0; 1.0; 2.0; 3.0; 3.0 |] (Tensor.padEdge [ 2, 1 ] x)
    assertExact [| 3.0; 2.0; 1.0; 2.0; 3.0; 2.0; 1.0 |] (Tensor.padReflect [ 2, 2 ] x)
    // wider than n − 1: reflected again, as np.pad([1, 2, 3], 5, 'reflect')
    assertExact [| 2.0; 1.0; 2.0; 3.0; 2.0; 1.0; 2.0; 3.0; 2.0; 1.0; 2.0; 3.0; 2.0 |] (Tensor.padReflect [ 5, 5 ] x)
    // unequal wide widths: still the period-4 mirror pattern 1 2 3 2 (NumPy chunks by the period
    // here; reflecting the partly padded array about its current end would not give it)
    assertExact
        [| 3.0; 2.0; 1.0; 2.0; 3.0; 2.0; 1.0; 2.0; 3.0; 2.0; 1.0; 2.0; 3.0; 2.0 |]
        (Tensor.padReflect [ 10, 1 ] x)
    // an axis of size 1 repeats its element (NumPy's legacy rule)
    assertExact [| 5.0; 5.0; 5.0; 5.0 |] (Tensor.padReflect [ 2, 1 ] (v [ 5.0 ]))
    // a matrix, each axis its own widths
    let m = tensorOf [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]
    let padded = Tensor.pad [ (1, 0); (0, 1) ] -1.0 m
    assertShape [| 3; 3 |] padded
    assertExact [| -1.0; -1.0; -1.0; 1.0; 2.0; -1.0; 3.0; 4.0; -1.0 |] padded
    assertExact [| 1.0; 1.0; 2.0; 1.0; 1.0; 2.0; 3.0; 3.0; 4.0 |] (Tensor.padEdge [ (1, 0); (1, 0) ] m)
    // [[1, 2], [3, 4]] reflect 1 each side: rows 3 4 / 1 2 / 3 4 / 1 2, columns mirrored
    assertExact
        [|
            4.0
            3.0
            4.0
            3.0
            2.0
            1.0
            2.0
            1.0
            4.0
            3.0
            4.0
            3.0
            2.0
            1.0
            2.0
            1.0
        |]
        (Tensor.padReflect [ 1, 1 ] m)
    // one pair for every axis; int64 keeps its dtype
    assertShape [| 4; 4 |] (Tensor.pad [ 1, 1 ] 0.0 m)
    let i = Tensor.convert DType.Int64 x
    Assert.Equal(DType.Int64, (Tensor.pad [ 1, 1 ] 5.0 i).DType)

[<Fact>]
let ``pad is linear: its gradient counts the copies of each element`` () =
    let x = v [ 1.0; 2.0; 3.0 ]
    assertExact [| 1.0; 1.0; 1.0 |] (grad (fun x -> Tensor.sum (Tensor.pad [ 2, 1 ] 7.0 x)) x)
    assertExact [| 3.0; 1.0; 2.0 |] (grad (fun x -> Tensor.sum (Tensor.padEdge [ 2, 1 ] x)) x)
    // reflect by 2 gives [3; 2; 1; 2; 3; 2; 1]: 1 and 3 twice, 2 three times
    assertExact [| 2.0; 3.0; 2.0 |] (grad (fun x -> Tensor.sum (Tensor.padReflect [ 2, 2 ] x)) x)
    let w = v [ 0.5; -1.0; 2.0; 3.0; 0.25; 1.5; -2.0 ]
    assertGradient "padReflect" (fun x -> Tensor.sum (w * Tensor.sin (Tensor.padReflect [ 2, 2 ] x))) x

[<Fact>]
let ``pad raises naming the op, the shape and the fix`` () =
    let x = v [ 1.0; 2.0; 3.0 ]

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.pad [ -1, 0 ] 0.0 x |> ignore)

    Assert.Contains("pad", e.Message)
    Assert.Contains("negative", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.padEdge [ (1, 0); (1, 0) ] x |> ignore)

    Assert.Contains("padEdge", e.Message)
    Assert.Contains("[3]", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.padReflect [ 1, 1 ] (Tensor.zeros [| 0 |]) |> ignore)

    Assert.Contains("empty", e.Message)

[<Fact>]
let ``flip roll tile repeat meshgrid and diff match NumPy`` () =
    let m = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    assertExact [| 3.0; 2.0; 1.0; 6.0; 5.0; 4.0 |] (Tensor.flip [ 1 ] m)
    assertExact [| 4.0; 5.0; 6.0; 1.0; 2.0; 3.0 |] (Tensor.flip [ 0 ] m)
    assertExact [| 6.0; 5.0; 4.0; 3.0; 2.0; 1.0 |] (Tensor.flip [ 0; -1 ] m)
    assertExact [| 3.0; 1.0; 2.0; 6.0; 4.0; 5.0 |] (Tensor.roll 1 1 m)
    assertExact [| 2.0; 3.0; 1.0; 5.0; 6.0; 4.0 |] (Tensor.roll -1 1 m)
    assertExact [| 2.0; 3.0; 1.0; 5.0; 6.0; 4.0 |] (Tensor.roll 5 -1 m)
    assertExact [| 4.0; 5.0; 6.0; 1.0; 2.0; 3.0 |] (Tensor.roll 1 0 m)
    // np.tile([1, 2], 2) = [1, 2, 1, 2]; np.tile([1, 2], (2, 1)) = [[1, 2], [1, 2]]
    let x = v [ 1.0; 2.0 ]
    assertExact [| 1.0; 2.0; 1.0; 2.0 |] (Tensor.tile [| 2 |] x)
    let t = Tensor.tile [| 2; 1 |] x
    assertShape [| 2; 2 |] t
    assertExact [| 1.0; 2.0; 1.0; 2.0 |] t
    let t = Tensor.tile [| 2; 2 |] m
    assertShape [| 4; 6 |] t

    assertExact
        [|
            1.0
            2.0
            3.0
            1.0
            2.0
            3.0
            4.0
            5.0
            6.0
            4.0
            5.0
            6.0
            1.0
            2.0
            3.0
            1.0
            2.0
            3.0
            4.0
            5.0
            6.0
            4.0
            5.0
            6.0
        |]
        t
    // np.repeat([1, 2], 2) = [1, 1, 2, 2]; along the columns of m
    assertExact [| 1.0; 1.0; 2.0; 2.0 |] (Tensor.repeat 2 0 x)
    assertExact [| 1.0; 1.0; 2.0; 2.0; 3.0; 3.0; 4.0; 4.0; 5.0; 5.0; 6.0; 6.0 |] (Tensor.repeat 2 1 m)
    assertExact [| 1.0; 2.0; 3.0; 1.0; 2.0; 3.0; 4.0; 5.0; 6.0; 4.0; 5.0; 6.0 |] (Tensor.repeat 2 0 m)
    // np.meshgrid([1, 2, 3], [4, 5]): shapes (2, 3) for 'xy', (3, 2) for 'ij'
    match Tensor.meshgrid [ v [ 1.0; 2.0; 3.0 ]; v [ 4.0; 5.0 ] ] with
    | [ gx; gy ] ->
        assertShape [| 2; 3 |] gx
        assertExact [| 1.0; 2.0; 3.0; 1.0; 2.0; 3.0 |] gx
        assertExact [| 4.0; 4.0; 4.0; 5.0; 5.0; 5.0 |] gy
    | other -> failwithf "meshgrid gave %d tensors" other.Length

    match Tensor.meshgridIJ [ v [ 1.0; 2.0; 3.0 ]; v [ 4.0; 5.0 ] ] with
    | [ gx; gy ] ->
        assertShape [| 3; 2 |] gx
        assertExact [| 1.0; 1.0; 2.0; 2.0; 3.0; 3.0 |] gx
        assertExact [| 4.0; 5.0; 4.0; 5.0; 4.0; 5.0 |] gy
    | other -> failwithf "meshgridIJ gave %d tensors" other.Length
    // np.diff([1, 2, 4, 7, 0]) = [1, 2, 3, -7]; n = 2: [1, 1, -10]
    let d = v [ 1.0; 2.0; 4.0; 7.0; 0.0 ]
    assertExact [| 1.0; 2.0; 3.0; -7.0 |] (Tensor.diff 1 0 d)
    assertExact [| 1.0; 1.0; -10.0 |] (Tensor.diff 2 0 d)
    assertExact (values d) (Tensor.diff 0 0 d)
    assertShape [| 0 |] (Tensor.diff 7 0 d)
    assertExact [| 1.0; 1.0; 1.0; 1.0 |] (Tensor.diff 1 1 m)
    assertExact [| 3.0; 3.0; 3.0 |] (Tensor.diff 1 0 m)

[<Fact>]
let ``structural ops raise naming the op`` () =
    let m = Tensor.zeros [| 2; 3 |]

    for name, act in
        [
            "flip", (fun () -> Tensor.flip [ 2 ] m)
            "roll", (fun () -> Tensor.roll 1 2 m)
            "tile", (fun () -> Tensor.tile [| -1 |] m)
            "repeat", (fun () -> Tensor.repeat -1 0 m)
            "repeat", (fun () -> Tensor.repeat 2 3 m)
            "diff", (fun () -> Tensor.diff -1 0 m)
            "diff", (fun () -> Tensor.diff 1 5 m)
            "cumprodAxis", (fun () -> Tensor.cumprodAxis 2 m)
            "cummaxAxis", (fun () -> Tensor.cummaxAxis -3 m)
        ] do
        let e = Assert.Throws<ShapeException>(fun () -> act () |> ignore)
        Assert.StartsWith(name + ":", e.Message)

[<Fact>]
let ``flip roll tile repeat and diff are linear with the right gradients`` () =
    let x = v [ 0.3; -1.2; 2.0 ]
    let w = v [ 1.0; -2.0; 0.5; 3.0; 1.5; -0.5 ]
    assertGradient "flip" (fun x -> Tensor.sum (w.[0..2] * Tensor.sin (Tensor.flip [ 0 ] x))) x
    assertGradient "roll" (fun x -> Tensor.sum (w.[0..2] * Tensor.sin (Tensor.roll 2 0 x))) x
    assertGradient "tile" (fun x -> Tensor.sum (w * Tensor.sin (Tensor.tile [| 2 |] x))) x
    assertGradient "repeat" (fun x -> Tensor.sum (w * Tensor.sin (Tensor.repeat 2 0 x))) x
    assertGradient "diff" (fun x -> Tensor.sum (w.[0..1] * Tensor.sin (Tensor.diff 1 0 x))) x

[<Fact>]
let ``cumprod matches NumPy and its gradient is exact at zeros`` () =
    assertExact [| 1.0; 2.0; 6.0; 24.0 |] (Tensor.cumprod (v [ 1.0; 2.0; 3.0; 4.0 ]))
    let m = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    assertExact [| 1.0; 2.0; 6.0; 4.0; 20.0; 120.0 |] (Tensor.cumprodAxis 1 m)
    assertExact [| 1.0; 2.0; 3.0; 4.0; 10.0; 18.0 |] (Tensor.cumprodAxis 0 m)
    assertExact [| 1.0; 2.0; 6.0; 24.0; 120.0; 720.0 |] (Tensor.cumprod m)
    // zeros: d/dx Σ cumprod x by hand for x = [2, 0, 3, 0, 5]: y = [2, 0, 0, 0, 0]
    // ∂/∂x₀ = 1 + x₁ + x₁x₂ + ... = 1; ∂/∂x₁ = x₀ + x₀x₂ + x₀x₂x₃ + ... = 2 + 6 = 8;
    // ∂/∂x₂ = x₀x₁ (…) = 0; ∂/∂x₃ = x₀x₁x₂ (…) = 0; ∂/∂x₄ = x₀x₁x₂x₃ = 0
    let z = v [ 2.0; 0.0; 3.0; 0.0; 5.0 ]
    assertExact [| 2.0; 0.0; 0.0; 0.0; 0.0 |] (Tensor.cumprod z)
    assertExact [| 1.0; 8.0; 0.0; 0.0; 0.0 |] (grad (fun x -> Tensor.sum (Tensor.cumprod x)) z)
    let w = v [ 0.5; -1.0; 2.0; 3.0; 1.5 ]
    assertGradient "cumprod at zeros" (fun x -> Tensor.sum (w * Tensor.cumprod x)) z
    assertGradient "cumprod" (fun x -> Tensor.sum (w * Tensor.cumprod x)) (v [ 0.5; -1.3; 2.0; 0.7; 1.1 ])
    // second order: the hessian of Σ cumprod at zeros against differences of the gradient
    let h = hessian (fun x -> Tensor.sum (w * Tensor.cumprod x)) z
    let g = grad (fun x -> Tensor.sum (w * Tensor.cumprod x))

    for i in 0..4 do
        let e = Array.init 5 (fun j -> if i = j then 1.0 else 0.0)
        let fd = centralDifference g z (Tensor.ofArray e)
        assertClose (sprintf "hessian column %d" i) finiteDifference fd (Tensor.index i h)

[<Fact>]
let ``cummax and cummin route the derivative to the running extreme`` () =
    let x = v [ 1.0; 3.0; 2.0; 5.0; 4.0 ]
    assertExact [| 1.0; 3.0; 3.0; 5.0; 5.0 |] (Tensor.cummax x)
    assertExact [| 1.0; 1.0; 1.0; 1.0; 1.0 |] (Tensor.cummin x)
    assertExact [| 1.0; 2.0; 0.0; 2.0; 0.0 |] (grad (fun x -> Tensor.sum (Tensor.cummax x)) x)
    assertExact [| 5.0; 0.0; 0.0; 0.0; 0.0 |] (grad (fun x -> Tensor.sum (Tensor.cummin x)) x)
    let y = v [ 4.0; 2.0; 3.0; 0.5; 1.0 ]
    assertExact [| 4.0; 2.0; 2.0; 0.5; 0.5 |] (Tensor.cummin y)
    assertExact [| 1.0; 2.0; 0.0; 2.0; 0.0 |] (grad (fun x -> Tensor.sum (Tensor.cummin x)) y)
    let m = tensorOf [| 2; 3 |] [| 1.0; 5.0; 2.0; 4.0; 0.0; 6.0 |]
    assertExact [| 1.0; 5.0; 5.0; 4.0; 4.0; 6.0 |] (Tensor.cummaxAxis 1 m)
    assertExact [| 1.0; 5.0; 2.0; 4.0; 5.0; 6.0 |] (Tensor.cummaxAxis 0 m)
    assertExact [| 1.0; 1.0; 1.0; 4.0; 0.0; 0.0 |] (Tensor.cumminAxis 1 m)
    // NaN propagates onward, as NumPy's maximum.accumulate
    Assert.True(Double.IsNaN (values (Tensor.cummax (v [ 1.0; nan; 3.0 ]))).[2])

[<Fact>]
let ``structural ops and scans run under vmap and jit`` () =
    let m = tensorOf [| 2; 4 |] [| 1.0; 0.0; 3.0; 2.0; -1.0; 2.0; 0.5; 4.0 |]

    let f (x: Tensor) =
        Tensor.sum (Tensor.padReflect [ 2, 1 ] x)
        + Tensor.sum (Tensor.roll 1 0 x * Tensor.flip [ 0 ] x)
        + Tensor.sum (Tensor.cumprod x)
        + Tensor.sum (Tensor.cummax x)
        + Tensor.sum (Tensor.diff 1 0 x * Tensor.diff 1 0 x)
        + Tensor.sum (Tensor.tile [| 2 |] x) * Tensor.sum (Tensor.repeat 2 0 x)

    let rows = Tensor.stack [ f m.[0]; f m.[1] ]
    assertClose "vmap" rounding rows (vmap f m)
    assertClose "jit" rounding (f m.[0]) (jit f m.[0])
    assertClose "vmap (grad f)" rounding (Tensor.stack [ grad f m.[0]; grad f m.[1] ]) (vmap (grad f) m)
    assertClose "jit (grad f)" rounding (grad f m.[0]) (jit (grad f) m.[0])

// ---- issue 16 leftovers: repeat with one count per element, diff of bools -----------------

/// np.repeat(x, counts, axis) by a loop over the positions of the result.
let private repeatLoop (counts: int list) (axis: int) (x: Tensor) =
    let source = List.concat (List.mapi (fun i c -> List.replicate c i) counts)
    let shape = Array.updateAt axis source.Length x.Shape
    let xs = values x
    let strides = Array.init x.Rank (fun k -> Array.fold (*) 1 x.Shape.[k + 1 ..])

    Array.init (Array.fold (*) 1 shape) (fun p ->
        let idx = multiIndex shape p
        idx.[axis] <- source.[idx.[axis]]
        xs.[Array.fold2 (fun acc i s -> acc + i * s) 0 idx strides])
    |> tensorOf shape

[<Fact>]
let ``repeatEach repeats each element its own count, as np.repeat with a list of counts`` () =
    // np.repeat([1, 2, 3], [1, 0, 3]) = [1, 3, 3, 3]
    assertExact [| 1.0; 3.0; 3.0; 3.0 |] (Tensor.repeatEach [ 1; 0; 3 ] 0 (v [ 1.0; 2.0; 3.0 ]))
    let x = randomTensor (Random 40) -1.0 1.0 [| 2; 3; 4 |]

    for axis, counts in
        [
            0, [ 2; 1 ]
            1, [ 1; 0; 3 ]
            2, [ 0; 2; 1; 1 ]
            -1, [ 3; 0; 0; 1 ]
            1, [ 0; 0; 0 ]
        ] do
        let expected = repeatLoop counts ((axis + 3) % 3) x
        let actual = Tensor.repeatEach counts axis x
        assertShape expected.Shape actual
        assertExact (values expected) actual

    // equal counts are repeat
    assertExact (values (Tensor.repeat 2 1 x)) (Tensor.repeatEach [ 2; 2; 2 ] 1 x)

[<Fact>]
let ``repeatEach is differentiable: each element's gradient is its count times the cotangent's sum`` () =
    let x = randomTensor (Random 41) -1.0 1.0 [| 3; 2 |]
    let counts = [ 2; 0; 3 ]
    // sum: the gradient of element (i, j) is counts[i]
    let g = grad (fun x -> Tensor.sum (Tensor.repeatEach counts 0 x)) x
    assertExact [| 2.0; 2.0; 0.0; 0.0; 3.0; 3.0 |] g
    // a weighted sum: element i's gradient is the sum of the weights of its copies
    let w = randomTensor (Random 42) -1.0 1.0 [| 5; 2 |]
    let gw = grad (fun x -> Tensor.sum (w * Tensor.repeatEach counts 0 x)) x
    let wv = values w

    let expected =
        [|
            wv.[0] + wv.[2]
            wv.[1] + wv.[3]
            0.0
            0.0
            wv.[4] + wv.[6] + wv.[8]
            wv.[5] + wv.[7] + wv.[9]
        |]

    assertClose "weighted" rounding (tensorOf [| 3; 2 |] expected) gw
    assertGradient "sin of repeatEach" (fun x -> Tensor.sum (Tensor.sin (Tensor.repeatEach [ 1; 3 ] 1 x))) x
    // under vmap and jit
    let f (x: Tensor) =
        Tensor.sum (Tensor.square (Tensor.repeatEach [ 3; 1 ] 0 x))

    assertClose "vmap (grad)" rounding (Tensor.stack [ grad f x.[0]; grad f x.[1]; grad f x.[2] ]) (vmap (grad f) x)
    assertClose "jit (grad)" rounding (grad f x.[0]) (jit (grad f) x.[0])

[<Fact>]
let ``repeatEach rejects a wrong number of counts and negative counts`` () =
    let x = Tensor.zeros [| 2; 3 |]

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.repeatEach [ 1; 2 ] 1 x |> ignore)

    Assert.Contains("repeatEach", e.Message)
    Assert.Contains("2 counts", e.Message)
    Assert.Contains("size 3", e.Message)
    Assert.Contains("[2, 3]", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.repeatEach [ 1; -1 ] 0 x |> ignore)

    Assert.Contains("negative", e.Message)
    Assert.Contains("[1, -1]", e.Message)

    Assert.Throws<ShapeException>(fun () -> Tensor.repeatEach [ 1 ] 2 x |> ignore)
    |> ignore

[<Fact>]
let ``diff of a bool tensor is not-equal and bool, as NumPy's`` () =
    // np.diff([True, False, False, True]) = [True, False, True]
    let b = Tensor.convert Bool (v [ 1.0; 0.0; 0.0; 1.0 ])
    let d = Tensor.diff 1 0 b
    Assert.Equal(Bool, d.DType)
    assertExact [| 1.0; 0.0; 1.0 |] d
    // n = 2: [True, True]
    let d2 = Tensor.diff 2 0 b
    Assert.Equal(Bool, d2.DType)
    assertExact [| 1.0; 1.0 |] d2
    // along an axis of a matrix
    let m = Tensor.convert Bool (tensorOf [| 2; 3 |] [| 1.0; 1.0; 0.0; 0.0; 1.0; 1.0 |])
    assertExact [| 0.0; 1.0; 1.0; 0.0 |] (Tensor.diff 1 1 m)
    assertExact [| 1.0; 0.0; 1.0 |] (Tensor.diff 1 0 m)
    Assert.Equal(Bool, (Tensor.diff 0 0 b).DType)
    // under jit and vmap too
    assertExact [| 1.0; 0.0; 1.0 |] (jit (Tensor.diff 1 0) b)
    assertExact [| 0.0; 1.0; 1.0; 0.0 |] (vmap (Tensor.diff 1 0) m)

// ---- issue 16 leftovers: integer-array indexing of the leading axes ----------------------

let private longs (shape: int[]) (xs: float list) =
    Tensor.convert Int64 (tensorOf shape (Array.ofList xs))

[<Fact>]
let ``indexWith is NumPy's integer-array indexing of the leading axes`` () =
    let x = randomTensor (Random 80) -1.0 1.0 [| 3; 4; 2 |]
    let xs = values x
    let at (i: int) (j: int) (c: int) = xs.[(i * 4 + j) * 2 + c]
    // x[[0, 2, -1], [1, -4, 3]]: shape [3, 2]
    let i0 = longs [| 3 |] [ 0.0; 2.0; -1.0 ]
    let i1 = longs [| 3 |] [ 1.0; -4.0; 3.0 ]
    let y = Tensor.indexWith [ i0; i1 ] x
    assertShape [| 3; 2 |] y

    assertExact
        [|
            for i, j in [ 0, 1; 2, 0; 2, 3 ] do
                for c in 0..1 do
                    at i j c
        |]
        y
    // broadcasting: rows [[0], [2]] against columns [1, 3]: shape [2, 2, 2]
    let rows = longs [| 2; 1 |] [ 0.0; 2.0 ]
    let cols = longs [| 2 |] [ 1.0; 3.0 ]
    let z = Tensor.indexWith [ rows; cols ] x
    assertShape [| 2; 2; 2 |] z

    assertExact
        [|
            for i in [ 0; 2 ] do
                for j in [ 1; 3 ] do
                    for c in 0..1 do
                        at i j c
        |]
        z
    // all three axes, a scalar index among them: shape [3]
    let w = Tensor.indexWith [ i0; i1; Tensor.convert Int64 (scalar 1.0) ] x
    assertExact [| at 0 1 1; at 2 0 1; at 2 3 1 |] w
    // one axis is takeAxis 0
    assertExact (values (Tensor.takeAxis 0 i0 x)) (Tensor.indexWith [ i0 ] x)

[<Fact>]
let ``indexWith is differentiable and runs under vmap and jit`` () =
    let x = randomTensor (Random 81) -1.0 1.0 [| 3; 4 |]
    // duplicates add up in the gradient: x[[0, 0, 2], [1, 1, 3]]
    let i0 = longs [| 3 |] [ 0.0; 0.0; 2.0 ]
    let i1 = longs [| 3 |] [ 1.0; 1.0; -1.0 ]
    let g = grad (fun x -> Tensor.sum (Tensor.indexWith [ i0; i1 ] x)) x
    let expected = Array.zeroCreate 12
    expected.[1] <- 2.0
    expected.[11] <- 1.0
    assertExact expected g
    assertGradient "sin" (fun x -> Tensor.sum (Tensor.sin (Tensor.indexWith [ i0; i1 ] x) * scalar 3.0)) x
    let f (x: Tensor) = Tensor.indexWith [ i0; i1 ] x
    assertClose "jit" rounding (f x) (jit f x)
    let stack = randomTensor (Random 82) -1.0 1.0 [| 2; 3; 4 |]
    assertClose "vmap" rounding (Tensor.stack [ f stack.[0]; f stack.[1] ]) (vmap f stack)
    // batched indices: each example its own index vector
    let batchedRows = longs [| 2; 3 |] [ 0.0; 1.0; 2.0; 2.0; 1.0; 0.0 ]

    let byRow = vmap (fun r -> Tensor.indexWith [ r; i1 ] x) batchedRows

    assertClose
        "vmap over the indices"
        rounding
        (Tensor.stack
            [
                Tensor.indexWith [ batchedRows.[0]; i1 ] x
                Tensor.indexWith [ batchedRows.[1]; i1 ] x
            ])
        byRow

[<Fact>]
let ``indexWith rejects out-of-range indices, too many index tensors and shapes that do not broadcast`` () =
    let x = Tensor.zeros [| 3; 4 |]

    let e =
        Assert.Throws<ShapeException>(fun () ->
            Tensor.indexWith [ longs [| 1 |] [ 0.0 ]; longs [| 1 |] [ 4.0 ] ] x |> ignore)

    Assert.Contains("indexWith", e.Message)
    Assert.Contains("4", e.Message)
    Assert.Contains("axis 1 of size 4", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.indexWith [ longs [| 1 |] [ -4.0 ] ] x |> ignore)

    Assert.Contains("axis 0 of size 3", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () ->
            Tensor.indexWith [ longs [| 1 |] [ 0.0 ]; longs [| 1 |] [ 0.0 ]; longs [| 1 |] [ 0.0 ] ] x
            |> ignore)

    Assert.Contains("3 index tensors", e.Message)

    let e =
        Assert.Throws<ShapeException>(fun () ->
            Tensor.indexWith [ longs [| 2 |] [ 0.0; 1.0 ]; longs [| 3 |] [ 0.0; 1.0; 2.0 ] ] x
            |> ignore)

    Assert.Contains("indexWith", e.Message)
    // unknown until the program runs (jit): an index out of range still raises
    let f (i: Tensor) = Tensor.indexWith [ i; -i ] x
    let i = longs [| 2 |] [ 2.0; 1.0 ]
    assertExact (values (f i)) (jit f i)

    let e =
        Assert.Throws<ShapeException>(fun () -> jit f (longs [| 1 |] [ 3.0 ]) |> ignore)

    Assert.Contains("out of range", e.Message)
