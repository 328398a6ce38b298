/// Vectorized kernels for the functions whose TensorPrimitives versions lose precision
/// (log1p, expm1, tanh and sinh near 0): a TensorPrimitives pass where one helps, then a
/// System.Numerics vector pass applying ScalarMath's formulas (corrections, series), so the
/// vector and scalar paths compute the same steps. Also the fix-up pass that recomputes, with an accurate scalar function, the
/// elements of a vectorized result whose inputs lie where that kernel is inaccurate.
module internal FunDiff.Backend.SpanMath

open System
open System.Numerics
open System.Numerics.Tensors

/// Recomputes out[i] = f x[i] wherever `inaccurate x[i]` (the inputs where a vectorized kernel
/// misses the accuracy bound).
let fixUp (inaccurate: float -> bool) (f: float -> float) (x: ReadOnlySpan<float>) (out: Span<float>) =
    for i in 0 .. x.Length - 1 do
        let v = x.[i]

        if inaccurate v then
            out.[i] <- f v

/// x² Σ x^k / (k + 2)! on a vector (the steps of ScalarMath.expm1SeriesTail).
let private expm1SeriesTail (x: Vector<float>) =
    let c = ScalarMath.expm1Coefficients
    let mutable p = Vector<float>(c.[c.Length - 1])

    for k in c.Length - 2 .. -1 .. 0 do
        p <- p * x + Vector<float>(c.[k])

    x * x * p

/// The series x + x² Σ x^k / (k + 2)! on a vector (ScalarMath.expm1 below ln 2).
let private expm1Series (x: Vector<float>) = x + expm1SeriesTail x

/// x itself where it is ±0, r elsewhere (the series forms turn −0 into +0).
let private keepZero (x: Vector<float>) (r: Vector<float>) =
    Vector.ConditionalSelect(Vector.Equals(x, Vector<float>.Zero), x, r)

/// Applies `small` to the vectors of x and stores it where |x| < bound, leaving `out` as it is
/// elsewhere; the last x.Length mod Vector.Count elements by the scalar `f`.
/// Inline, with `small` inlined: a closure allocated per call would cost an object per tile of
/// jit's fused loops, and a call through it per vector.
let inline private smallRange
    (bound: float)
    ([<InlineIfLambda>] small: Vector<float> -> Vector<float>)
    (f: float -> float)
    (x: ReadOnlySpan<float>)
    (out: Span<float>)
    =
    let n = Vector<float>.Count
    let b = Vector<float>(bound)
    let mutable i = 0

    while i + n <= x.Length do
        let xv = Vector<float>(x.Slice(i, n))
        let inside = Vector.LessThan(Vector.Abs xv, b)

        if not (Vector.EqualsAll(inside, Vector<int64>.Zero)) then
            let old = Vector<float>(out.Slice(i, n))
            Vector.ConditionalSelect(inside, keepZero xv (small xv), old).CopyTo(out.Slice(i, n))

        i <- i + n

    for j in i .. x.Length - 1 do
        out.[j] <- f x.[j]

/// out = tanh x elementwise: TensorPrimitives.Tanh, then ScalarMath.tanhSmall's formula on
/// vectors for |x| < ScalarMath.TanhSeriesBound.
let tanh (x: ReadOnlySpan<float>) (out: Span<float>) =
    TensorPrimitives.Tanh(x, out)
    let two = Vector<float>(2.0)

    smallRange
        ScalarMath.TanhSeriesBound
        (fun xv ->
            let a = Vector.Abs xv
            let tail = expm1SeriesTail (two * a)
            let e = two * a + tail
            let t = a + (tail - a * e) / (e + two)
            Vector.ConditionalSelect(Vector.LessThan(xv, Vector<float>.Zero), -t, t))
        ScalarMath.tanh
        x
        out

/// out = sinh x elementwise: ScalarMath.sinhSmall's series on vectors for |x| < 1, Math.Sinh
/// beyond (TensorPrimitives.Sinh misses the bound there too).
let sinh (x: ReadOnlySpan<float>) (out: Span<float>) =
    let c = ScalarMath.sinhCoefficients

    smallRange
        1.0
        (fun xv ->
            let x2 = xv * xv
            let mutable p = Vector<float>(c.[c.Length - 1])

            for k in c.Length - 2 .. -1 .. 0 do
                p <- p * x2 + Vector<float>(c.[k])

            xv + xv * (x2 * p))
        ScalarMath.sinh
        x
        out

    fixUp (fun v -> not (Math.Abs v < 1.0)) Math.Sinh x out

/// out = e^x − 1 elementwise: ScalarMath.expm1's series on vectors below |x| = ln 2, exp from
/// TensorPrimitives minus 1 beyond, and ScalarMath.expm1 itself for x in [ln 2, 40).
let expm1 (x: ReadOnlySpan<float>) (out: Span<float>) =
    TensorPrimitives.Exp(x, out)
    let n = Vector<float>.Count
    let ln2 = Vector<float>(ScalarMath.Ln2)
    let one = Vector<float>.One
    let mutable i = 0

    while i + n <= x.Length do
        let xv = Vector<float>(x.Slice(i, n))
        let e = Vector<float>(out.Slice(i, n))
        let series = expm1Series xv
        let small = Vector.LessThan(Vector.Abs xv, ln2)
        // ±0 must stay ±0 (x + x²·p turns −0 into +0)
        let r = Vector.ConditionalSelect(small, series, e - one)
        Vector.ConditionalSelect(Vector.Equals(xv, Vector<float>.Zero), xv, r).CopyTo(out.Slice(i, n))
        i <- i + n

    for j in i .. x.Length - 1 do
        out.[j] <- ScalarMath.expm1 x.[j]

    // TensorPrimitives.Exp is up to 2 ulp off, and e^x − 1 doubles that where e^x is just above
    // a power of two and the result just below one; beyond 40 the − 1 no longer changes e^x
    fixUp (fun v -> v >= ScalarMath.Ln2 && v < 40.0) ScalarMath.expm1 x out

/// out = log(1 + x) elementwise (ScalarMath.log1p on every element; log from TensorPrimitives).
let log1p (x: ReadOnlySpan<float>) (out: Span<float>) =
    TensorPrimitives.Add(x, 1.0, out)
    TensorPrimitives.Log(Span<float>.op_Implicit out, out)
    let n = Vector<float>.Count
    let one = Vector<float>.One
    let inf = Vector<float>(Double.PositiveInfinity)
    let mutable i = 0

    while i + n <= x.Length do
        let xv = Vector<float>(x.Slice(i, n))
        let l = Vector<float>(out.Slice(i, n))
        let u = xv + one
        // the exact rounding error of u (ScalarMath.onePlusError)
        let c =
            Vector.ConditionalSelect(Vector.LessThanOrEqual(Vector.Abs xv, one), xv - (u - one), one - (u - xv))

        let corrected = l + c / u
        // u = 0 or ∞ (x = −1 or ∞): log u alone; u = 1: x itself, keeping the sign of zero
        let edge =
            Vector.BitwiseOr(Vector.Equals(u, Vector<float>.Zero), Vector.Equals(u, inf))

        let r = Vector.ConditionalSelect(edge, l, corrected)
        Vector.ConditionalSelect(Vector.Equals(u, one), xv, r).CopyTo(out.Slice(i, n))
        i <- i + n

    for j in i .. x.Length - 1 do
        out.[j] <- ScalarMath.log1p x.[j]
