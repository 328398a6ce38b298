/// Accurate scalar versions of the functions whose .NET implementations lose precision:
/// log1p and expm1 near 0 (Double.LogP1 and Double.ExpM1 compute log(1 + x) and exp(x) - 1 as
/// written), series forms of tanh and sinh near 0 that vectorize (TensorPrimitives' lose
/// relative accuracy there), and erf's sign of zero. Each stays within 2 ulp of the correctly
/// rounded value (docs/RELIABILITY.md, "Accuracy of elementwise kernels"); the vectorized
/// kernels in SpanMath reuse the same formulas, so both paths agree.
module internal FunDiff.Backend.ScalarMath

open System

/// ln 2: below it expm1 uses its series, above it exp(x) - 1 loses at most one bit.
[<Literal>]
let Ln2 = 0.6931471805599453

/// 1 / n! (n! is exact in binary64 up to 18!, and beyond it the rounding of these tiny
/// coefficients is far below an ulp of any result).
let private inverseFactorial (n: int) =
    1.0 / Seq.fold (fun acc i -> acc * float i) 1.0 (seq { 1..n })

/// 1 / (k + 2)! for k = 0 .. 20: the series expm1(x) = x + x² Σ x^k / (k + 2)!, truncated
/// below 2^-62 of the result for |x| < 1.25 (the largest argument tanh gives it).
let internal expm1Coefficients = Array.init 21 (fun k -> inverseFactorial (k + 2))

/// The series part x² Σ x^k / (k + 2)! by Horner's rule, for |x| < 1.25. SpanMath evaluates
/// the same steps on vectors, so both paths give the same bits.
let internal expm1SeriesTail (x: float) =
    let c = expm1Coefficients
    let mutable p = c.[c.Length - 1]

    for k in c.Length - 2 .. -1 .. 0 do
        p <- p * x + c.[k]

    x * x * p

/// e^x − 1 within 2 ulp for every x: the Taylor series below |x| = ln 2, where exp(x) − 1
/// cancels, and exp(x) − 1 above it, where exp's rounding error is at most one ulp of the
/// result. Keeps the sign of zero.
let expm1 (x: float) =
    if x = 0.0 then x
    elif Math.Abs x < Ln2 then x + expm1SeriesTail x
    else Math.Exp x - 1.0

/// Below this |x| tanh uses expm1's series (TensorPrimitives.Tanh is off by up to 3 ulp up to
/// |x| = 0.549 and loses all relative accuracy near 0).
[<Literal>]
let TanhSeriesBound = 0.625

/// tanh |x| = E / (E + 2) with E = expm1(2|x|) from the series, for |x| < TanhSeriesBound,
/// written as a + (T − a·E) / (E + 2) for a = |x| and E = 2a + T: the correction is at most
/// a third of a and barely depends on E's rounding, so the result stays within about an ulp.
/// Keeps the sign.
let internal tanhSmall (x: float) =
    if x = 0.0 then
        x
    else
        let a = Math.Abs x
        let tail = expm1SeriesTail (2.0 * a)
        let e = 2.0 * a + tail
        let t = a + (tail - a * e) / (e + 2.0)
        if x < 0.0 then -t else t

/// tanh within 2 ulp: the series form below |x| = TanhSeriesBound, Math.Tanh above.
let tanh (x: float) =
    if Math.Abs x < TanhSeriesBound then
        tanhSmall x
    else
        Math.Tanh x

/// 1 / (2k + 3)! for k = 0 .. 8: the series sinh x = x + x³ Σ x^2k / (2k + 3)!, truncated below
/// 2^-64 of the result for |x| < 1.
let internal sinhCoefficients = Array.init 9 (fun k -> inverseFactorial (2 * k + 3))

/// sinh x by its Taylor series, for |x| < 1: x is exact and the rest at most 0.18 of the result,
/// so its rounding errors cost a fraction of an ulp. SpanMath evaluates the same steps.
let internal sinhSmall (x: float) =
    let c = sinhCoefficients
    let x2 = x * x
    let mutable p = c.[c.Length - 1]

    for k in c.Length - 2 .. -1 .. 0 do
        p <- p * x2 + c.[k]

    x + x * (x2 * p)

/// sinh within 2 ulp: the series below |x| = 1, Math.Sinh above (TensorPrimitives.Sinh is off
/// near 0 and by 3 to 496 ulp above 1).
let sinh (x: float) =
    if Math.Abs x < 1.0 then sinhSmall x else Math.Sinh x

/// The rounding error of u = fl(1 + x), exactly: (1 + x) − u (Fast2Sum, larger operand first).
/// Only for finite x with u finite.
let internal onePlusError (x: float) (u: float) =
    if Math.Abs x <= 1.0 then x - (u - 1.0) else 1.0 - (u - x)

/// log(1 + x) within 2 ulp for every x: log u for u = fl(1 + x), corrected by the exact
/// rounding error c of u (log(u + c) = log u + c/u to far below an ulp). log(1 + x) alone
/// returns 0 for |x| < 2^-53 and loses about |log x| / ln 2 bits near 0.
let log1p (x: float) =
    let u = 1.0 + x

    if u = 1.0 then
        x // |x| <= 2^-53 (and ±0): log1p(x) = x − x²/2 rounds to x
    elif u = 0.0 || Double.IsInfinity u || Double.IsNaN u then
        Math.Log u
    else
        Math.Log u + onePlusError x u / u

/// The error function (MathNet's), with erf(−0) = −0 as for every odd function (MathNet
/// returns +0).
let erf (x: float) =
    if x = 0.0 then
        x
    else
        MathNet.Numerics.SpecialFunctions.Erf x
