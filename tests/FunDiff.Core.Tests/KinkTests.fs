/// Composites built from kinks (abs, max, where, clip, sign) at and around their kink points,
/// to second order, against analytic derivatives. Each second derivative is computed three
/// ways (reverse over reverse, forward over reverse, forward over forward) so that a rule that
/// is right in one mode and wrong in another fails. A composite whose derivatives were right
/// only where two kink conventions cancel (softplus at 0) is exactly what this file catches.
module FunDiff.Tests.KinkTests

open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private scalar (v: float) = Tensor.scalar v

let private sigma (x: float) = 1.0 / (1.0 + exp -x)

/// f′(x) and f″(x) of a scalar function by every pairing of modes.
let private assertScalarDerivatives
    (name: string)
    (f: Tensor -> Tensor)
    (x: float)
    (expectedFirst: float)
    (expectedSecond: float)
    =
    let what order mode =
        sprintf "%s at %s: %s derivative by %s" name (showFloat x) order mode

    let tol = rounding
    assertCloseFloat (what "first" "grad") tol expectedFirst (float (grad f (scalar x)))
    assertCloseFloat (what "first" "jvp") tol expectedFirst (float (snd (jvp f (scalar x) (scalar 1.0))))
    assertCloseFloat (what "second" "grad (grad f)") tol expectedSecond (float (grad (grad f) (scalar x)))
    assertCloseFloat (what "second" "hvp") tol expectedSecond (float (hvp f (scalar x) (scalar 1.0)))

    let forwardTwice =
        snd (jvp (fun y -> snd (jvp f y (scalar 1.0))) (scalar x) (scalar 1.0))

    assertCloseFloat (what "second" "jvp (jvp f)") tol expectedSecond (float forwardTwice)
    assertCloseFloat (what "second" "hessian") tol expectedSecond (float (hessian f (scalar x)))

[<Fact>]
let ``softplus has sigmoid and its derivative as first and second derivatives, at 0 too`` () =
    for x in [ 0.0; 1e-300; -1e-300; 1e-8; -1e-8; 0.5; -2.0; 30.0; -30.0 ] do
        assertScalarDerivatives "softplus" Tensor.softplus x (sigma x) (sigma x * (1.0 - sigma x))

[<Fact>]
let ``softplus keeps full relative precision far into the negative tail`` () =
    // log(1 + e^x) = e^x (1 − e^x/2 + …): for x ≤ −40 the correction is below 1e-17
    for x in [ -40.0; -50.0; -300.0 ] do
        assertCloseFloat
            (sprintf "softplus %g" x)
            { Relative = 1e-15; Absolute = 0.0 }
            (exp x)
            (float (Tensor.softplus (scalar x)))

    // so its log is finite: log softplus x ≈ x
    assertCloseFloat "log (softplus -50)" rounding -50.0 (float (Tensor.log (Tensor.softplus (scalar -50.0))))

[<Fact>]
let ``relu, abs, sign and clip are piecewise linear: second derivatives are 0, kinks follow the conventions`` () =
    for x in [ -1.5; 0.0; 2.0 ] do
        let step = if x > 0.0 then 1.0 else 0.0
        assertScalarDerivatives "relu" Tensor.relu x step 0.0
        assertScalarDerivatives "abs" Tensor.abs x (float (sign x)) 0.0
        assertScalarDerivatives "sign" Tensor.sign x 0.0 0.0

    // clip passes the derivative strictly inside its bounds
    for x, slope in [ -2.0, 0.0; -1.0, 0.0; 0.25, 1.0; 1.0, 0.0; 3.0, 0.0 ] do
        assertScalarDerivatives "clip -1 1" (Tensor.clip -1.0 1.0) x slope 0.0

[<Fact>]
let ``smooth functions of kink ops have their true second derivative: relu x squared, abs x cubed`` () =
    // relu(x)² = x² for x > 0 and 0 for x < 0; |x|³ = ±x³; each away from the kink
    for x in [ -1.5; 0.75 ] do
        let positive = if x > 0.0 then 1.0 else 0.0

        assertScalarDerivatives
            "relu² "
            (fun t -> Tensor.square (Tensor.relu t))
            x
            (2.0 * x * positive)
            (2.0 * positive)

        assertScalarDerivatives "|x|³" (fun t -> Tensor.powConst 3.0 (Tensor.abs t)) x (3.0 * x * abs x) (6.0 * abs x)

    // maximum(x, x²) crosses at 0 and 1: away from them it is x or x²
    for x, d1, d2 in [ 0.5, 1.0, 0.0; 2.0, 4.0, 2.0; -1.0, -2.0, 2.0 ] do
        assertScalarDerivatives "maximum x x²" (fun t -> Tensor.maximum t (Tensor.square t)) x d1 d2

[<Fact>]
let ``pow and powConst at 0 have their polynomial derivatives to second order`` () =
    let cube t = Tensor.pow t (scalar 3.0)
    assertScalarDerivatives "pow x 3" cube 0.0 0.0 0.0
    assertScalarDerivatives "pow x 2" (fun t -> Tensor.pow t (scalar 2.0)) 0.0 0.0 2.0
    assertScalarDerivatives "powConst 2" (Tensor.powConst 2.0) 0.0 0.0 2.0
    assertScalarDerivatives "powConst 3" (Tensor.powConst 3.0) -1.0 3.0 -6.0

/// The gradient and the Hessian of a vector function, each by both of its modes.
let private assertVectorDerivatives (name: string) (f: Tensor -> Tensor) (x: Tensor) (g: Tensor) (h: Tensor) =
    assertClose (name + ": grad") rounding g (grad f x)
    assertClose (name + ": jacfwd of f (as a gradient)") rounding g (jacfwd f x)
    assertClose (name + ": hessian (jacfwd (jacrev f))") rounding h (hessian f x)
    assertClose (name + ": jacrev (jacrev f)") rounding h (jacrev (jacrev f) x)
    assertClose (name + ": jacfwd (jacfwd f)") rounding h (jacfwd (jacfwd f) x)

let private identity n = Tensor.eye n

[<Fact>]
let ``logSumExp and logSoftmax at ties: softmax and diag(p) - p pT`` () =
    let x = Tensor.ofArray [| 1.0; 1.0; 1.0 |]
    let p = Tensor.full [| 3 |] (1.0 / 3.0)
    let hess = Tensor.diag p - Tensor.outer p p
    assertVectorDerivatives "logSumExp at a three-way tie" Tensor.logSumExp x p hess

    // a partial tie: [2, 2, 0]
    let x = Tensor.ofArray [| 2.0; 2.0; 0.0 |]
    let e = Tensor.exp x
    let p = e / Tensor.sum e
    assertVectorDerivatives "logSumExp at a two-way tie" Tensor.logSumExp x p (Tensor.diag p - Tensor.outer p p)

    // the Jacobian of softmax at a tie is diag(p) − p pᵀ, by both modes
    assertClose "jacrev softmax at a tie" rounding (Tensor.diag p - Tensor.outer p p) (jacrev Tensor.softmax x)
    assertClose "jacfwd softmax at a tie" rounding (Tensor.diag p - Tensor.outer p p) (jacfwd Tensor.softmax x)

    // logSoftmax's first component: x₀ − lse(x)
    let first t = Tensor.index 0 (Tensor.logSoftmax t)
    let unit0 = Tensor.ofArray [| 1.0; 0.0; 0.0 |]
    assertVectorDerivatives "logSoftmax₀ at a tie" first x (unit0 - p) (-(Tensor.diag p - Tensor.outer p p))

[<Fact>]
let ``norm where one element is 0 is smooth: x over norm and (I - x xT / |x|^2) / |x|`` () =
    let x = Tensor.ofArray [| 0.0; 3.0; 4.0 |]
    let n = 5.0
    let g = x / n
    let h = (identity 3 - Tensor.outer x x / (n * n)) / n
    assertVectorDerivatives "norm at [0; 3; 4]" Tensor.norm x g h

[<Fact>]
let ``norm and std at their cusp (0, and zero variance) have gradient 0, a subgradient`` () =
    assertClose "grad norm at 0" rounding (Tensor.zeros [| 3 |]) (grad Tensor.norm (Tensor.zeros [| 3 |]))
    let constant = Tensor.full [| 4 |] 2.0
    assertClose "grad std at zero variance" rounding (Tensor.zeros [| 4 |]) (grad Tensor.std constant)

[<Fact>]
let ``var at zero variance is a quadratic: gradient 0, Hessian 2 (I - 1/n) / n`` () =
    let n = 4
    let x = Tensor.full [| n |] 2.0
    let h = 2.0 * (identity n - Tensor.full [| n; n |] (1.0 / float n)) / float n
    assertVectorDerivatives "var at zero variance" Tensor.var x (Tensor.zeros [| n |]) h

[<Fact>]
let ``std away from zero variance: (x - mean) / (n std), and its Hessian`` () =
    let x = Tensor.ofArray [| 1.0; 2.0; 4.0 |]
    let n = 3.0
    let c = x - Tensor.mean x
    let s = sqrt (float (Tensor.sum (c * c)) / n)
    let g = c / (n * s)
    // ∂²s/∂x∂x = (P / n − g gᵀ) / s with P = I − 1/n the centring projection
    let proj = identity 3 - Tensor.full [| 3; 3 |] (1.0 / n)
    let h = (proj / n - Tensor.outer g g) / s
    assertVectorDerivatives "std" Tensor.std x g h

[<Fact>]
let ``max and min reductions at ties share the derivative equally; their second derivative is 0`` () =
    let x = Tensor.ofArray [| 3.0; 1.0; 3.0 |]
    let half = Tensor.ofArray [| 0.5; 0.0; 0.5 |]
    assertVectorDerivatives "max at a tie" Tensor.max x half (Tensor.zeros [| 3; 3 |])
    assertVectorDerivatives "min at a tie" (fun t -> Tensor.min (-t)) x (-half) (Tensor.zeros [| 3; 3 |])
