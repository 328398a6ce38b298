/// The functions the benchmarks measure, written as a user would write them, and their inputs.
/// Both runners (the quick Stopwatch runner and BenchmarkDotNet) call these and nothing else.
module FunDiff.Bench.Workloads

open System
open FunDiff

// ---- Rosenbrock -----------------------------------------------------------------------------

/// f(x) = Σᵢ 100 (x_{i+1} − x_i²)² + (1 − x_i)², written as a NumPy port would write it:
/// `x[1:]` and `x[:-1]` are slices, everything else is whole-array arithmetic (10 primitives).
let rosenbrock (x: Tensor) =
    let n = x.Size
    let head = Tensor.slice 0 (n - 1) x
    let tail = Tensor.slice 1 n x
    Tensor.sum (100.0 * (tail - head ** 2.0) ** 2.0 + (1.0 - head) ** 2.0)

/// The number of primitives `rosenbrock` binds: slice, slice, pow, sub, pow, mul, sub, pow,
/// add, reduce_sum.
let rosenbrockPrimitives = 10

/// Rosenbrock's value by a plain loop over an array (the C#-style baseline).
let rosenbrockHand (x: float[]) =
    let mutable s = 0.0

    for i in 0 .. x.Length - 2 do
        let xi = x.[i]
        let d = x.[i + 1] - xi * xi
        let e = 1.0 - xi
        s <- s + 100.0 * d * d + e * e

    s

/// Rosenbrock's gradient, hand-derived, in one pass over the array into a fresh array (the
/// C#-style baseline: what a careful programmer writes without any AD library).
let rosenbrockGradHand (x: float[]) : float[] =
    let n = x.Length
    let g: float[] = Array.zeroCreate n

    for i in 0 .. n - 2 do
        let xi = x.[i]
        let d = x.[i + 1] - xi * xi
        // ∂/∂x_i of term i; g.[i] already holds 200·d_{i−1} from term i−1
        g.[i] <- g.[i] - 400.0 * xi * d - 2.0 * (1.0 - xi)
        // ∂/∂x_{i+1} of term i: the first contribution to g.[i+1]
        g.[i + 1] <- 200.0 * d

    g

/// A reproducible input of length n around the interesting valley of Rosenbrock.
let rosenbrockInput (n: int) : float[] =
    let rng = Random(42)
    Array.init n (fun _ -> rng.NextDouble() * 2.0 - 0.5)

/// A reproducible direction for the Hessian-vector product.
let direction (n: int) : float[] =
    let rng = Random(7)
    Array.init n (fun _ -> rng.NextDouble() - 0.5)

// ---- the scalar loop ------------------------------------------------------------------------

/// Iterations of the scalar loop.
let scalarIterations = 1000

/// The constant b of the scalar loop (|b| < 1 keeps z bounded).
let scalarB = 0.5

/// The starting value z₀ of the scalar loop.
let scalarZ0 = 0.5

/// z ← a·cos(z + i) + z·b for 1000 iterations on scalar tensors, as a function of `a`
/// (differentiate with respect to `a`). Each iteration binds 5 primitives: add, cos, mul, mul,
/// add — so an evaluation binds 5000 and the function is pure interpreter overhead.
let scalarLoop (a: Tensor) =
    let mutable z = Tensor.scalar scalarZ0

    for i in 0 .. scalarIterations - 1 do
        z <- a * cos (z + float i) + z * scalarB

    z

/// The primitives one evaluation of `scalarLoop` binds.
let scalarLoopPrimitives = 5 * scalarIterations

/// The scalar loop on plain floats, for reference (and to check the FunDiff result).
let scalarLoopHand (a: float) =
    let mutable z = scalarZ0

    for i in 0 .. scalarIterations - 1 do
        z <- a * Math.Cos(z + float i) + z * scalarB

    z

/// The value of `a` the scalar loop is measured at.
let scalarA = 0.9

// ---- keeping results alive ------------------------------------------------------------------

/// Results are stored here so that no measured call can be optimized away.
let mutable sink: obj = null

/// Float results are stored here (no boxing in the measured call).
let mutable sinkFloat = 0.0

// ---- self-check -----------------------------------------------------------------------------

/// Checks the workloads against each other before anything is measured: FunDiff's gradient of
/// Rosenbrock equals the hand-written one, the scalar loop equals its float version, hvp
/// agrees with a finite difference of gradients. Raises on disagreement.
let selfCheck () =
    let fail what (got: float) (want: float) =
        failwithf "self-check failed: %s: FunDiff gives %.17g, the reference %.17g" what got want

    let close (a: float) (b: float) tol = abs (a - b) <= tol * (1.0 + abs b)

    for n in [ 10; 1000 ] do
        let xs = rosenbrockInput n
        let x = Tensor.ofArray xs
        let f = Tensor.toScalar (rosenbrock x)

        if not (close f (rosenbrockHand xs) 1e-12) then
            fail (sprintf "rosenbrock n=%d" n) f (rosenbrockHand xs)

        let g = Tensor.toArray (grad rosenbrock x)
        let h = rosenbrockGradHand xs

        for i in 0 .. n - 1 do
            if not (close g.[i] h.[i] 1e-10) then
                fail (sprintf "grad rosenbrock n=%d, element %d" n i) g.[i] h.[i]

        // hvp against a central difference of the hand-written gradient
        let vs = direction n
        let hv = Tensor.toArray (hvp rosenbrock x (Tensor.ofArray vs))
        let eps = 1e-6
        let gp = rosenbrockGradHand (Array.map2 (fun a b -> a + eps * b) xs vs)
        let gm = rosenbrockGradHand (Array.map2 (fun a b -> a - eps * b) xs vs)

        for i in 0 .. n - 1 do
            let fd = (gp.[i] - gm.[i]) / (2.0 * eps)

            if not (close hv.[i] fd 1e-5) then
                fail (sprintf "hvp rosenbrock n=%d, element %d" n i) hv.[i] fd

    let z = Tensor.toScalar (scalarLoop (Tensor.scalar scalarA))

    if not (close z (scalarLoopHand scalarA) 1e-12) then
        fail "scalar loop" z (scalarLoopHand scalarA)

    let dz = Tensor.toScalar (grad scalarLoop (Tensor.scalar scalarA))
    let eps = 1e-6

    let fd =
        (scalarLoopHand (scalarA + eps) - scalarLoopHand (scalarA - eps)) / (2.0 * eps)

    if not (close dz fd 1e-5) then
        fail "grad scalar loop (vs central difference)" dz fd

// ---- program sizes --------------------------------------------------------------------------

/// Equation counts of the staged programs (`makeIR`), for the report: what the workloads
/// cost in primitives once known values are folded and dead code removed.
let programSizes () : (string * int) list =
    let x = Tensor.ofArray (rosenbrockInput 1000)
    let a = Tensor.scalar scalarA
    let count f x = (makeIR f x).Equations.Length

    [
        "makeIR rosenbrock", count rosenbrock x
        "makeIR (grad rosenbrock)", count (grad rosenbrock) x
        "makeIR (fun x -> hvp rosenbrock x v)", count (fun x -> hvp rosenbrock x (Tensor.ofArray (direction 1000))) x
        "makeIR scalarLoop", count scalarLoop a
        "makeIR (grad scalarLoop)", count (grad scalarLoop) a
    ]
