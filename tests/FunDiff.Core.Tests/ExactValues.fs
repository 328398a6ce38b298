/// Derivatives with known values: textbook functions, analytic Hessians, nested derivatives up
/// to the fourth order, perturbation confusion, a long loop, broadcasting, constant functions
/// and Jacobians of rank-2 inputs and outputs. Every expected value is analytic (or an exact
/// identity between two transforms), never copied from the engine's output.
module FunDiff.Tests.ExactValues

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private scalar (v: float) = Tensor.scalar v

/// The value of a scalar function of a scalar at `x`.
let private at (f: Tensor -> Tensor) (x: float) = float (f (scalar x))

let private assertExact (expected: float[]) (actual: Tensor) =
    Assert.Equal<float[]>(expected, values actual)

// ---- first and second derivatives of textbook functions ---------------------------------------

[<Fact>]
let ``grad of x²y + y + 2 at (3, 4) is (24, 10)`` () =
    // ∂/∂x = 2xy = 24, ∂/∂y = x² + 1 = 10
    let f (v: Tensor) = v.[0] ** 2.0 * v.[1] + v.[1] + 2.0
    let p = Tensor.ofArray [| 3.0; 4.0 |]
    Assert.Equal(42.0, float (f p))
    let g = grad f p
    Assert.Equal<int[]>([| 2 |], g.Shape)
    assertExact [| 24.0; 10.0 |] g

[<Fact>]
let ``the logistic function's derivative at 1.5 is σ(1 - σ)`` () =
    let logistic (x: Tensor) = 1.0 / (1.0 + exp -x)
    // σ(1.5)(1 - σ(1.5)) = 0.1491464520703328
    assertCloseFloat "σ'(1.5)" { Relative = 0.0; Absolute = 1e-15 } 0.1491464520703328 (at (grad logistic) 1.5)

[<Fact>]
let ``x³ + x² has derivatives 3x² + 2x and 6x + 2`` () =
    let f (x: Tensor) = x ** 3.0 + x ** 2.0

    for x in [ -2.0; -0.5; 0.0; 1.0; 3.0 ] do
        assertCloseFloat (sprintf "f'(%g)" x) rounding (3.0 * x * x + 2.0 * x) (at (grad f) x)
        assertCloseFloat (sprintf "f''(%g)" x) rounding (6.0 * x + 2.0) (at (grad (grad f)) x)

[<Fact>]
let ``sin x / x has the analytic first and second derivatives`` () =
    let f (x: Tensor) = sin x / x

    for x in [ -3.0; 0.5; 1.0; 2.5 ] do
        let s, c = Math.Sin x, Math.Cos x
        // (x cos x - sin x) / x²
        assertCloseFloat (sprintf "f'(%g)" x) rounding ((x * c - s) / (x * x)) (at (grad f) x)
        // -sin x / x - 2 cos x / x² + 2 sin x / x³
        assertCloseFloat
            (sprintf "f''(%g)" x)
            rounding
            (-s / x - 2.0 * c / (x * x) + 2.0 * s / (x * x * x))
            (at (grad (grad f)) x)

[<Fact>]
let ``grad of 2 Σx² is 4x`` () =
    let f (x: Tensor) = 2.0 * Tensor.sum (x * x)
    assertExact [| 0.0; 4.0; 8.0; 12.0 |] (grad f (Tensor.ofArray [| 0.0; 1.0; 2.0; 3.0 |]))

// ---- Hessians ------------------------------------------------------------------------------------

/// The n-dimensional Rosenbrock function Σᵢ 100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)².
let private rosenbrock (x: Tensor) =
    let n = x.Shape.[0]
    let a, b = Tensor.slice 0 (n - 1) x, Tensor.slice 1 n x
    Tensor.sum (100.0 * (b - a ** 2.0) ** 2.0 + (1.0 - a) ** 2.0)

/// Its analytic gradient.
let private rosenbrockGradient (x: float[]) =
    let n = x.Length

    Array.init n (fun i ->
        let fromNext =
            if i < n - 1 then
                -400.0 * x.[i] * (x.[i + 1] - x.[i] * x.[i]) - 2.0 * (1.0 - x.[i])
            else
                0.0

        let fromPrevious =
            if i > 0 then
                200.0 * (x.[i] - x.[i - 1] * x.[i - 1])
            else
                0.0

        fromNext + fromPrevious)

/// Its analytic Hessian, flat row-major.
let private rosenbrockHessian (x: float[]) =
    let n = x.Length

    Array.init (n * n) (fun k ->
        let i, j = k / n, k % n

        if i = j then
            (if i < n - 1 then
                 2.0 - 400.0 * (x.[i + 1] - x.[i] * x.[i]) + 800.0 * x.[i] * x.[i]
             else
                 0.0)
            + (if i > 0 then 200.0 else 0.0)
        elif j = i + 1 then
            -400.0 * x.[i]
        elif i = j + 1 then
            -400.0 * x.[j]
        else
            0.0)

let private rosenbrockPoint = [| -1.2; 1.0; 0.5; 2.0 |]

[<Fact>]
let ``the Rosenbrock gradient and Hessian are analytic`` () =
    let x = Tensor.ofArray rosenbrockPoint
    assertClose "grad" rounding (Tensor.ofArray (rosenbrockGradient rosenbrockPoint)) (grad rosenbrock x)
    let h = hessian rosenbrock x
    assertClose "hessian" rounding (tensorOf [| 4; 4 |] (rosenbrockHessian rosenbrockPoint)) h

[<Fact>]
let ``hvp is the Hessian times v`` () =
    let x = Tensor.ofArray rosenbrockPoint
    let v = Tensor.ofArray [| 0.3; -1.0; 2.0; 0.7 |]
    let h = tensorOf [| 4; 4 |] (rosenbrockHessian rosenbrockPoint)
    assertClose "hvp" rounding (contract h v) (hvp rosenbrock x v)

/// Σ sin(xᵢ) xᵢ² + x₀ x₁ x₂ on a 3-vector, with an analytic Hessian.
let private mixed (x: Tensor) =
    Tensor.sum (sin x * x ** 2.0) + x.[0] * x.[1] * x.[2]

let private mixedHessian (x: float[]) =
    Array.init 9 (fun k ->
        let i, j = k / 3, k % 3

        if i = j then
            // d²/dx² x² sin x = 2 sin x + 4x cos x - x² sin x
            2.0 * sin x.[i] + 4.0 * x.[i] * cos x.[i] - x.[i] * x.[i] * sin x.[i]
        else
            // ∂²(x₀x₁x₂)/∂xᵢ∂xⱼ is the third coordinate
            x.[3 - i - j])

let private mixedPoint = [| 0.4; -1.3; 2.1 |]

[<Fact>]
let ``jvp of grad equals hvp and the analytic Hessian times v`` () =
    let x = Tensor.ofArray mixedPoint
    let v = Tensor.ofArray [| 1.0; -0.5; 0.25 |]
    let expected = contract (tensorOf [| 3; 3 |] (mixedHessian mixedPoint)) v
    let _, forwardOverReverse = jvp (grad mixed) x v
    assertClose "jvp (grad f) x v" rounding expected forwardOverReverse
    assertClose "hvp f x v" rounding expected (hvp mixed x v)
    assertClose "jvp (grad f) vs hvp" rounding forwardOverReverse (hvp mixed x v)

[<Fact>]
let ``every composition of jacfwd and jacrev gives the Hessian`` () =
    let x = Tensor.ofArray mixedPoint
    let expected = tensorOf [| 3; 3 |] (mixedHessian mixedPoint)
    assertClose "hessian" rounding expected (hessian mixed x)
    assertClose "jacfwd (jacrev f)" rounding expected (jacfwd (jacrev mixed) x)
    assertClose "jacrev (jacrev f)" rounding expected (jacrev (jacrev mixed) x)
    assertClose "jacfwd (grad f)" rounding expected (jacfwd (grad mixed) x)
    assertClose "jacrev (grad f)" rounding expected (jacrev (grad mixed) x)

[<Fact>]
let ``the Hessian of a function of a matrix has shape in ++ in`` () =
    // f(X) = Σ X²_ij X_i0: H is not diagonal, and its layout shows a stacking-order bug
    let f (x: Tensor) =
        Tensor.sum (x ** 2.0 * Tensor.sliceAxis 1 0 1 x)

    let xs = [| 0.5; -1.0; 2.0; 1.5; 0.25; -0.75 |]
    let x = tensorOf [| 2; 3 |] xs
    let at (i, j) = xs.[i * 3 + j]
    let delta a b = if a = b then 1.0 else 0.0

    // f = Σᵢ [ Σⱼ X_ij² ] X_i0, so ∂f/∂X_ij = 2 X_ij X_i0 + δ_j0 Σₗ X_il²
    // ∂²f/∂X_ij∂X_kl = δ_ik [ 2 δ_jl X_i0 + 2 X_ij δ_l0 + δ_j0 2 X_il ]
    let expected =
        Array.init 36 (fun n ->
            let m = multiIndex [| 2; 3; 2; 3 |] n
            let i, j, k, l = m.[0], m.[1], m.[2], m.[3]

            delta i k
            * (2.0 * delta j l * at (i, 0)
               + 2.0 * at (i, j) * delta l 0
               + delta j 0 * 2.0 * at (i, l)))

    assertClose "hessian" rounding (tensorOf [| 2; 3; 2; 3 |] expected) (hessian f x)

// ---- nested derivatives ------------------------------------------------------------------------

[<Fact>]
let ``nested grads do not confuse perturbations`` () =
    // d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1 (a confused engine answers 2)
    let inner (x: Tensor) = x * grad (fun y -> x + y) (scalar 1.0)
    Assert.Equal(1.0, at (grad inner) 1.0)
    // the same with the inner derivative taken at y = x
    let innerAtX (x: Tensor) = x * grad (fun y -> x + y) x
    Assert.Equal(1.0, at (grad innerAtX) 1.0)
    // and in forward mode
    let forward (x: Tensor) =
        x * snd (jvp (fun y -> x + y) (scalar 1.0) (scalar 1.0))

    Assert.Equal(1.0, float (snd (jvp forward (scalar 1.0) (scalar 1.0))))

[<Fact>]
let ``grad of a function of a gradient`` () =
    // g(x) = Σ sin x has grad cos x; h(x) = Σ x · grad g x = Σ x cos x has grad cos x - x sin x
    let g (x: Tensor) = Tensor.sum (sin x)
    let h (x: Tensor) = Tensor.sum (x * grad g x)
    let points = [| -1.0; 0.3; 2.0 |]
    let expected = points |> Array.map (fun x -> cos x - x * sin x)
    assertClose "grad h" rounding (Tensor.ofArray expected) (grad h (Tensor.ofArray points))

/// Four nested grads.
let private fourth (f: Tensor -> Tensor) = grad (grad (grad (grad f)))

[<Fact>]
let ``four nested grads give the fourth derivative`` () =
    let tanh4 (x: float) =
        // d⁴/dx⁴ tanh = 8 t (1 - t²)(2 - 3t²), t = tanh x
        let t = Math.Tanh x
        8.0 * t * (1.0 - t * t) * (2.0 - 3.0 * t * t)

    let cases: (string * (Tensor -> Tensor) * (float -> float) * float list) list =
        [
            "sin", sin, sin, [ -1.0; 0.5; 2.0 ]
            "cos", cos, cos, [ -1.0; 0.5; 2.0 ]
            "exp", exp, exp, [ -1.0; 0.5; 2.0 ]
            // d⁴/dx⁴ log x = -6 / x⁴
            "log", log, (fun x -> -6.0 / x ** 4.0), [ 0.5; 1.0; 3.0 ]
            "tanh", tanh, tanh4, [ -1.0; 0.3; 1.5 ]
            // d⁴/dx⁴ x^(1/2) = (1/2)(-1/2)(-3/2)(-5/2) x^(-7/2) = -15/16 x^(-7/2)
            "sqrt", sqrt, (fun x -> -15.0 / 16.0 * x ** -3.5), [ 0.5; 1.0; 4.0 ]
            // d⁴/dx⁴ x^2.5 = 2.5 · 1.5 · 0.5 · (-0.5) x^(-1.5)
            "x ** 2.5", (fun x -> x ** 2.5), (fun x -> 2.5 * 1.5 * 0.5 * -0.5 * x ** -1.5), [ 0.5; 1.0; 4.0 ]
            // integer exponents are exact at negative x (no log is formed)
            "x ** 3.0", (fun x -> x ** 3.0), (fun _ -> 0.0), [ -2.0; -0.5; 1.0 ]
            "x ** 4.0", (fun x -> x ** 4.0), (fun _ -> 24.0), [ -2.0; -0.5; 1.0 ]
        ]

    for name, f, expected, points in cases do
        for x in points do
            assertCloseFloat (sprintf "d⁴/dx⁴ %s at %g" name x) rounding (expected x) (at (fourth f) x)

[<Fact>]
let ``x ** 3.0 at negative x has exact first, second and third derivatives`` () =
    let cube (x: Tensor) = x ** 3.0
    Assert.Equal(12.0, at (grad cube) -2.0) // 3x²
    Assert.Equal(-12.0, at (grad (grad cube)) -2.0) // 6x
    Assert.Equal(6.0, at (grad (grad (grad cube))) -2.0)

// ---- a long loop -------------------------------------------------------------------------------

/// z ← a · cos(z + i) + z · b for i = 0 .. 999, from z = 0, with p = (a, b).
let private loop (p: Tensor) =
    let a, b = p.[0], p.[1]
    let mutable z = scalar 0.0

    for i in 0..999 do
        z <- a * cos (z + float i) + z * b

    z

/// The k-th basis vector of R².
let private basis2 (k: int) =
    Tensor.ofArray (Array.init 2 (fun j -> if j = k then 1.0 else 0.0))

[<Fact>]
let ``grad of a 1000-step loop agrees with forward mode and central differences`` () =
    // |∂z'/∂z| = |b - a sin(z + i)| ≤ 0.8: the loop contracts, its derivative is well-conditioned
    let p = Tensor.ofArray [| 0.5; 0.3 |]
    let g = grad loop p

    let forward =
        Tensor.ofArray [| for k in 0..1 -> float (snd (jvp loop p (basis2 k))) |]

    assertClose "grad vs jvp" { Relative = 1e-12; Absolute = 1e-14 } forward g
    assertClose "jacfwd vs grad" { Relative = 1e-12; Absolute = 1e-14 } g (jacfwd loop p)

    let differences =
        Tensor.ofArray [| for k in 0..1 -> float (centralDifference loop p (basis2 k)) |]

    assertClose "grad vs central differences" finiteDifference differences g

// ---- broadcasting ----------------------------------------------------------------------------------

[<Fact>]
let ``gradients through broadcasting have the input's shape`` () =
    let x = Tensor.ofArray [| 1.0; -2.0; 0.5 |]
    let y = tensorOf [| 2; 3 |] [| 0.5; 1.0; -1.5; 2.0; 3.0; 0.25 |]
    // ∂/∂x Σ x * y = Σ over axis 0 of y
    assertExact [| 2.5; 4.0; -1.25 |] (grad (fun x -> Tensor.sum (x * y)) x)
    // ∂/∂y Σ x * y = x repeated along axis 0
    assertExact [| 1.0; -2.0; 0.5; 1.0; -2.0; 0.5 |] (grad (fun y -> Tensor.sum (x * y)) y)
    Assert.Equal<int[]>([| 2; 3 |], (grad (fun y -> Tensor.sum (x * y)) y).Shape)

[<Fact>]
let ``a scalar added to a matrix gets the sum of the cotangent`` () =
    let m = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    // ∂/∂s Σ (s + M) = 6 elements
    let g = grad (fun s -> Tensor.sum (s + m)) (scalar 0.7)
    Assert.Equal<int[]>([||], g.Shape)
    Assert.Equal(6.0, float g)
    // ∂/∂s Σ (s · M)² = Σ 2 s M²
    assertCloseFloat "∂/∂s Σ (s M)²" rounding (2.0 * 0.7 * 91.0) (at (grad (fun s -> Tensor.sum ((s * m) ** 2.0))) 0.7)
    // a [1]-shaped operand is stretched, not rank-0
    let g1 = grad (fun s -> Tensor.sum (s + m)) (Tensor.ofArray [| 0.7 |])
    Assert.Equal<int[]>([| 1 |], g1.Shape)
    assertExact [| 6.0 |] g1

[<Fact>]
let ``a column times a row sums the cotangent over the stretched axes`` () =
    let column = tensorOf [| 3; 1 |] [| 1.0; 2.0; 3.0 |]
    let row = tensorOf [| 1; 4 |] [| 0.5; -1.0; 2.0; 4.0 |]
    // ∂/∂cᵢ Σᵢⱼ cᵢ rⱼ = Σⱼ rⱼ = 5.5; ∂/∂rⱼ = Σᵢ cᵢ = 6
    let gc = grad (fun c -> Tensor.sum (c * row)) column
    let gr = grad (fun r -> Tensor.sum (column * r)) row
    Assert.Equal<int[]>([| 3; 1 |], gc.Shape)
    Assert.Equal<int[]>([| 1; 4 |], gr.Shape)
    assertExact [| 5.5; 5.5; 5.5 |] gc
    assertExact [| 6.0; 6.0; 6.0; 6.0 |] gr

// ---- constant functions ------------------------------------------------------------------------

[<Fact>]
let ``a function that ignores its input has a zero gradient of the input's shape`` () =
    let x = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    let c = tensorOf [| 2 |] [| 3.0; -1.0 |]
    assertZeros "grad of a constant" [| 2; 3 |] (grad (fun _ -> scalar 3.0) x)
    assertZeros "grad of a sum of a constant" [| 2; 3 |] (grad (fun _ -> Tensor.sum c) x)
    // the input reaches the output only through stop_gradient or a comparison
    assertZeros "grad through stopGradient" [| 2; 3 |] (grad (fun x -> Tensor.sum (Tensor.stopGradient x * 2.0)) x)

    assertZeros
        "grad through a comparison"
        [| 2; 3 |]
        (grad (fun x -> Tensor.sum (Tensor.where (Tensor.gt x (scalar 3.0)) (scalar 1.0) (scalar -1.0))) x)

    assertZeros "grad (grad) of a constant" [| 2; 3 |] (grad (fun x -> Tensor.sum (grad (fun _ -> scalar 3.0) x)) x)
    let _, t = jvp (fun _ -> c) x x
    assertZeros "jvp of a constant" [| 2 |] t

[<Fact>]
let ``Jacobians of a constant function are zeros of shape out ++ in`` () =
    let x = Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0 |]
    let c = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
    assertZeros "jacfwd" [| 2; 3; 4 |] (jacfwd (fun _ -> c) x)
    assertZeros "jacrev" [| 2; 3; 4 |] (jacrev (fun _ -> c) x)
    assertZeros "jacobian" [| 2; 3; 4 |] (jacobian (fun _ -> c) x)
    assertZeros "hessian" [| 4; 4 |] (hessian (fun _ -> scalar 2.0) x)

// ---- Jacobians of rank-2 inputs and outputs ------------------------------------------------------

let private delta (a: int) (b: int) = if a = b then 1.0 else 0.0

let private matrix = [| 0.5; -1.0; 2.0; 1.5; 0.25; -0.75 |]

/// `f` at the 2×3 `matrix`, by every Jacobian transform, against the analytic Jacobian
/// `expected (multi-index)` of shape `outShape ++ [2; 3]`.
let private assertJacobian (f: Tensor -> Tensor) (outShape: int[]) (expected: int[] -> float) =
    let x = tensorOf [| 2; 3 |] matrix
    let shape = Array.append outShape [| 2; 3 |]

    let j =
        tensorOf shape (Array.init (Array.fold (*) 1 shape) (fun n -> expected (multiIndex shape n)))

    assertClose "jacfwd" rounding j (jacfwd f x)
    assertClose "jacrev" rounding j (jacrev f x)
    assertClose "jacobian" rounding j (jacobian f x)
    // one column by linearize and one row by vjp
    let v = tensorOf [| 2; 3 |] [| 1.0; 0.0; -2.0; 0.5; 3.0; 1.0 |]
    let _, linear = linearize f x
    assertClose "linearize" rounding (contract j v) (linear v)

[<Fact>]
let ``the Jacobian of 2 sin X is diagonal of shape 2×3×2×3`` () =
    // ∂Y_ij/∂X_kl = δ_ik δ_jl 2 cos X_ij
    assertJacobian (fun x -> sin x * 2.0) [| 2; 3 |] (fun m ->
        delta m.[0] m.[2] * delta m.[1] m.[3] * 2.0 * cos matrix.[m.[0] * 3 + m.[1]])

[<Fact>]
let ``the Jacobian of the transpose permutes the identity`` () =
    // Y = Xᵀ (3×2): ∂Y_ij/∂X_kl = δ_il δ_jk
    assertJacobian Tensor.transpose [| 3; 2 |] (fun m -> delta m.[0] m.[3] * delta m.[1] m.[2])

[<Fact>]
let ``the Jacobian of X scaled by its row sums is block diagonal`` () =
    // Y_ij = X_ij Sᵢ with Sᵢ = Σₗ X_il: ∂Y_ij/∂X_kl = δ_ik (δ_jl Sᵢ + X_ij)
    let rowSum i =
        matrix.[i * 3] + matrix.[i * 3 + 1] + matrix.[i * 3 + 2]

    assertJacobian (fun x -> x * Tensor.expandDims 1 (Tensor.sumAxes [ 1 ] x)) [| 2; 3 |] (fun m ->
        delta m.[0] m.[2]
        * (delta m.[1] m.[3] * rowSum m.[0] + matrix.[m.[0] * 3 + m.[1]]))

[<Fact>]
let ``the Jacobian of a column sum maps a matrix to a vector`` () =
    // Y_j = Σᵢ X_ij: ∂Y_j/∂X_kl = δ_jl
    assertJacobian (Tensor.sumAxes [ 0 ]) [| 3 |] (fun m -> delta m.[0] m.[2])

[<Fact>]
let ``vjp of a matrix function pulls a cotangent back to the input's shape`` () =
    // Y = X ⊙ X: Jᵀ U = 2 X ⊙ U
    let x = tensorOf [| 2; 3 |] matrix
    let u = tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; -1.0; -2.0; -3.0 |]
    let y, pullback = vjp (fun x -> x * x) x
    assertExact (matrix |> Array.map (fun v -> v * v)) y
    assertExact (Array.map2 (fun a b -> 2.0 * a * b) matrix (values u)) (pullback u)

[<Fact>]
let ``negations and subtractions meeting in reverse mode give exact gradients`` () =
    // cotangents carry signs through neg and sub: every combination of signs meets here
    let c = Tensor.ofArray [| 0.5; -1.0; 2.0 |]

    let f (x: Tensor) =
        Tensor.sum (-(x - c) - (c - x) * 2.0 + (-(-x)) - (x - 3.0 * c) * x - (-x - c))

    let x = Tensor.ofArray [| 1.0; 2.0; -3.0 |]
    // d/dx: −1 + 2 + 1 − (2x − 3c) + 1
    let expected =
        Array.map2 (fun xv cv -> 3.0 - 2.0 * xv + 3.0 * cv) [| 1.0; 2.0; -3.0 |] [| 0.5; -1.0; 2.0 |]

    Assert.Equal<float[]>(expected, Tensor.toArray (grad f x))
    // the second derivative goes through the same signs (grad of the backward pass)
    let g (x: Tensor) = Tensor.sum (grad f x)
    Assert.Equal<float[]>([| -2.0; -2.0; -2.0 |], Tensor.toArray (grad g x))

[<Fact>]
let ``reverse mode through a subtraction computes no negation`` () =
    let p =
        makeIR (grad (fun (x: Tensor) -> Tensor.sum (x - sin x))) (Tensor.ofArray [| 1.0; 2.0 |])

    let names = p.Equations |> Seq.map (fun e -> e.Primitive.Name) |> Array.ofSeq
    Assert.DoesNotContain("neg", names)
    Assert.Contains("sub", names)
