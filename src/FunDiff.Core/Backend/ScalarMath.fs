/// Accurate scalar versions of the functions whose .NET implementations lose precision:
/// log1p and expm1 near 0 (Double.LogP1 and Double.ExpM1 compute log(1 + x) and exp(x) - 1 as
/// written) and erf's sign of zero. Each stays within 2 ulp of the correctly rounded value
/// (docs/RELIABILITY.md, "Accuracy of elementwise kernels"); the vectorized kernels in
/// SpanMath reuse the same formulas, so both paths agree.
module internal FunDiff.Backend.ScalarMath

open System

/// ln 2: below it expm1 uses its series, above it exp(x) - 1 loses at most one bit.
[<Literal>]
let Ln2 = 0.6931471805599453

/// 1 / (k + 2)! for k = 0 .. 16: the series expm1(x) = x + x² Σ x^k / (k + 2)!. Each k! up to
/// 18! is exact in binary64, so every coefficient is one correctly rounded division.
let internal expm1Coefficients =
    Array.init 17 (fun k -> 1.0 / Seq.fold (fun acc i -> acc * float i) 1.0 (seq { 1 .. k + 2 }))

/// The series part x² Σ x^k / (k + 2)! by Horner's rule (for |x| < ln 2 the truncation error is
/// below 2^-60 of the result). SpanMath evaluates the same steps on vectors.
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
