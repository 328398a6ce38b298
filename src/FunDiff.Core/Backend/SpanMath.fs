/// Vectorized kernels for the functions whose TensorPrimitives versions lose precision
/// (log1p and expm1 near 0): a TensorPrimitives pass for exp or log, then a System.Numerics
/// vector pass applying ScalarMath's correction, so the vector and scalar paths compute the
/// same formulas. Also the fix-up pass that recomputes, with an accurate scalar function, the
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

/// The series x + x² Σ x^k / (k + 2)! on a vector (the steps of ScalarMath.expm1SeriesTail).
let private expm1Series (x: Vector<float>) =
    let c = ScalarMath.expm1Coefficients
    let mutable p = Vector<float>(c.[c.Length - 1])

    for k in c.Length - 2 .. -1 .. 0 do
        p <- p * x + Vector<float>(c.[k])

    x + x * x * p

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
