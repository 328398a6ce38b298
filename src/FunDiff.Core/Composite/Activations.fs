/// Activations and friends of issue 16 (gelu, silu, logAddExp, hypot, logit): composites of
/// primitives whose derivatives are right everywhere, including at 0 and at ties.
module internal FunDiff.Composite.Activations

open FunDiff
open FunDiff.Primitives

let private zero = Prim.scalar 0.0
let private one = Prim.scalar 1.0
let private inf = Prim.scalar infinity

/// The exact GELU, x · Φ(x) = ½ x (1 + erf(x / √2)) (PyTorch's default; JAX's `approximate=False`).
let gelu (x: Tensor) =
    let x = Prim.asFloat x
    0.5 * x * (1.0 + (x * (1.0 / sqrt 2.0)).Erf())

/// The tanh approximation ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))) (JAX's default
/// `approximate=True`, PyTorch's `approximate='tanh'`).
let geluTanh (x: Tensor) =
    let x = Prim.asFloat x
    let c = sqrt (2.0 / System.Math.PI)
    0.5 * x * (1.0 + Tensor.Tanh(c * (x + 0.044715 * Prim.powConst 3.0 x)))

/// x · σ(x) (swish).
let silu (x: Tensor) =
    let x = Prim.asFloat x
    x * x.Sigmoid()

/// log(eˣ + eʸ) without overflow: on each side of x = y it is the larger operand plus
/// softplus of (smaller − larger), a smooth expression of the same function, so every
/// derivative is exact, at ties too (∂/∂x = σ(x − y) = ½ there, second derivative ¼). Two equal
/// infinities give that infinity (x − y would be NaN); NaN propagates.
let logAddExp (x: Tensor) (y: Tensor) =
    let x, y = Prim.asFloat x, Prim.asFloat y

    let tiedInfinite =
        Prim.compare eqP (Prim.where (Rounding.isinf x) x (Prim.scalar nan)) y
    // the infinities replaced before the main branch, so that no NaN reaches its derivative
    let sx, sy = Prim.where tiedInfinite zero x, Prim.where tiedInfinite zero y
    let softplus (v: Tensor) = Prim.floatUnary softplusP v

    let main =
        Prim.where (Prim.compare geP sx sy) (sx + softplus (sy - sx)) (sy + softplus (sx - sy))

    Prim.where tiedInfinite x main

/// √(x² + y²) without overflow or underflow: s · √((x/s)² + (y/s)²) with the scale
/// s = max(|x|, |y|) held constant (stop_gradient), so the squares stay in [0, 1]. For a fixed
/// s > 0 the expression equals hypot, and it is smooth in x and y, so every derivative is the
/// true one to any order, at |x| = |y| and at x = 0 too (a max/min-switched form, big ·
/// √(1 + (small/big)²), had the right gradient at ties but a zero Hessian there). At (0, 0),
/// where hypot has no derivative, it is 0 (as `norm`'s). An infinite operand gives +∞ even if
/// the other is NaN (NumPy, C99). The sum of squares is replaced by 1 at (0, 0) before the
/// square root too, so that its infinite derivative there does not reach the gradient as NaN.
let hypot (x: Tensor) (y: Tensor) =
    let x, y = Prim.asFloat x, Prim.asFloat y
    let ax, ay = Tensor.Abs x, Tensor.Abs y
    let scale = Prim.stopGradient (Prim.arithmetic maxP ax ay)
    let isZero = Prim.compare eqP scale zero
    let s = Prim.where isZero one scale
    let u, v = x / s, y / s

    let h =
        Prim.where isZero zero (s * Tensor.Sqrt(Prim.where isZero one (u * u + v * v)))

    Prim.where (Prim.compare eqP ax inf) inf (Prim.where (Prim.compare eqP ay inf) inf h)

/// log(x / (1 − x)) = log x − log1p(−x): accurate near 0 and 1; −∞ at 0, +∞ at 1, NaN outside [0, 1].
let logit (x: Tensor) =
    let x = Prim.asFloat x
    Tensor.Log x - (-x).Log1p()

/// x · log y, 0 where x = 0 (the `xlogy` primitive: its derivative in x is log y, also there).
let xlogy (x: Tensor) (y: Tensor) = Prim.floatBinary xlogyP x y
