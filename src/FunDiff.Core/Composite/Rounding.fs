/// The floating-point tests (isnan, isinf, isfinite) and nanToNum: composites of comparisons and
/// select_n, exact because a comparison is.
module internal FunDiff.Composite.Rounding

open FunDiff
open FunDiff.Primitives

let private inf = Prim.scalar infinity

/// Bools and int64 hold no NaN or infinity; float64 is what the tests look at.
let private asNumber (x: Tensor) =
    if x.DType = Bool then Prim.convert Int64 x else x

/// x ≠ x: true exactly for NaN (IEEE: NaN is unequal to everything, itself included).
let isnan (x: Tensor) =
    let x = asNumber x
    Prim.compare neP x x

/// |x| = ∞.
let isinf (x: Tensor) =
    let x = asNumber x
    Prim.compare eqP (Prim.floatUnary absP (Prim.asFloat x)) inf

/// |x| < ∞: false for NaN (every ordered comparison with NaN is false) and for ±∞.
let isfinite (x: Tensor) =
    let x = asNumber x
    Prim.compare ltP (Prim.floatUnary absP (Prim.asFloat x)) inf

/// NaN → `nan`, +∞ → `posinf`, −∞ → `neginf`, every other element unchanged (with its
/// tangent; a replaced element's tangent is 0, the replacement being a constant).
let nanToNum (nan: float) (posinf: float) (neginf: float) (x: Tensor) =
    if x.DType <> Float64 then
        // no NaN or infinity to replace (NumPy returns integers unchanged)
        x
    else
        let replace (test: Tensor) (value: float) (x: Tensor) = Prim.where test (Prim.scalar value) x

        x
        |> replace (isnan x) nan
        |> replace (Prim.compare eqP x inf) posinf
        |> replace (Prim.compare eqP x (Prim.scalar -infinity)) neginf
