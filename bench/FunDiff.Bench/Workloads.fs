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

/// Rosenbrock's gradient, hand-derived, in one pass over `x` into `g` (every element written).
let rosenbrockGradHandInto (x: float[]) (g: float[]) =
    let n = x.Length
    g.[0] <- 0.0

    for i in 0 .. n - 2 do
        let xi = x.[i]
        let d = x.[i + 1] - xi * xi
        // ∂/∂x_i of term i; g.[i] already holds 200·d_{i−1} from term i−1
        g.[i] <- g.[i] - 400.0 * xi * d - 2.0 * (1.0 - xi)
        // ∂/∂x_{i+1} of term i: the first contribution to g.[i+1]
        g.[i + 1] <- 200.0 * d

/// Rosenbrock's gradient, hand-derived, in one pass over the array into a fresh array (the
/// C#-style baseline: what a careful programmer writes without any AD library).
let rosenbrockGradHand (x: float[]) : float[] =
    let g: float[] = Array.zeroCreate x.Length
    rosenbrockGradHandInto x g
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

// ---- MLP ------------------------------------------------------------------------------------

/// The weights of a 784-256-10 multilayer perceptron: an F# record, a tree for `Tree.grad`.
type Mlp =
    {
        W1: Tensor
        B1: Tensor
        W2: Tensor
        B2: Tensor
    }

/// Inputs, hidden units, classes and batch size of the MLP workload.
let mlpIn, mlpHidden, mlpOut, mlpBatch = 784, 256, 10, 64

let private uniform (rng: Random) (scale: float) (shape: int[]) =
    let data =
        Array.init (Array.fold (*) 1 shape) (fun _ -> scale * (2.0 * rng.NextDouble() - 1.0))

    Tensor.reshape shape (Tensor.ofArray data)

/// Reproducible weights (Glorot-uniform scale) of the MLP.
let mlpParams () : Mlp =
    let rng = Random(11)

    {
        W1 = uniform rng (sqrt (6.0 / float (mlpIn + mlpHidden))) [| mlpIn; mlpHidden |]
        B1 = uniform rng 0.1 [| mlpHidden |]
        W2 = uniform rng (sqrt (6.0 / float (mlpHidden + mlpOut))) [| mlpHidden; mlpOut |]
        B2 = uniform rng 0.1 [| mlpOut |]
    }

/// A reproducible batch: inputs in [0, 1) (64×784) and one-hot labels (64×10).
let mlpData () : Tensor * Tensor =
    let rng = Random(12)
    let x = Array.init (mlpBatch * mlpIn) (fun _ -> rng.NextDouble())
    let labels = Array.init mlpBatch (fun _ -> rng.Next mlpOut)

    let y =
        Array.init (mlpBatch * mlpOut) (fun q -> if labels.[q / mlpOut] = q % mlpOut then 1.0 else 0.0)

    Tensor.reshape [| mlpBatch; mlpIn |] (Tensor.ofArray x), Tensor.reshape [| mlpBatch; mlpOut |] (Tensor.ofArray y)

/// Mean softmax cross-entropy of a tanh MLP, as a user writes it (10 primitives forward, plus
/// logSoftmax's own).
let mlpLoss (x: Tensor) (y: Tensor) (p: Mlp) =
    let h = tanh (Tensor.matmul x p.W1 + p.B1)
    let logits = Tensor.matmul h p.W2 + p.B2
    -Tensor.mean(Tensor.sumAxes [ 1 ] (y * Tensor.logSoftmax logits))

/// Arrays of the shapes `mlpMatmulFloor` multiplies (x, W1, W2, h, δ₂, δ₁), random in
/// [-0.5, 0.5): the operands of the MLP gradient's five products.
let mlpFloorOperands () =
    let nd (shape: int[]) seed =
        let r = Random(seed: int)
        Backend.NDArray.ofData shape Float64 (Array.init (Array.fold (*) 1 shape) (fun _ -> r.NextDouble() - 0.5))

    nd [| mlpBatch; mlpIn |] 1,
    nd [| mlpIn; mlpHidden |] 2,
    nd [| mlpHidden; mlpOut |] 3,
    nd [| mlpBatch; mlpHidden |] 4,
    nd [| mlpBatch; mlpOut |] 5,
    nd [| mlpBatch; mlpHidden |] 6

/// The matrix products a gradient of `mlpLoss` with respect to the weights needs, by the
/// backend alone (no engine): forward x·W1 and h·W2, backward hᵀ·δ₂ (for W2), δ₂·W2ᵀ (into h)
/// and xᵀ·δ₁ (for W1), with transposed operands read in place as dot_general reads them.
/// The floor under the MLP gradient's time that the engine cannot go below with these kernels.
let mlpMatmulFloor
    (x: Backend.NDArray)
    (w1: Backend.NDArray)
    (w2: Backend.NDArray)
    (h: Backend.NDArray)
    (d2: Backend.NDArray)
    (d1: Backend.NDArray)
    =
    let dot lc rc a b =
        Backend.DotGeneral.apply [| lc |] [| rc |] [||] [||] a b

    let z1 = dot 1 0 x w1 // 64×256
    let z2 = dot 1 0 h w2 // 64×10
    let gw2 = dot 0 0 h d2 // 256×10
    let dh = dot 1 1 d2 w2 // 64×256
    let gw1 = dot 0 0 x d1 // 784×256
    z1.Size + z2.Size + gw2.Size + dh.Size + gw1.Size

// ---- Hessian, Jacobians -----------------------------------------------------------------------

/// A function R → R¹⁰⁰⁰ for jacfwd vs jacrev: g(t) = sin(t·a) + t²·b with constant vectors a, b.
let wideOutput =
    let a = Tensor.ofArray (Array.init 1000 (fun i -> 0.001 * float (i + 1)))
    let b = Tensor.ofArray (Array.init 1000 (fun i -> cos (float i)))
    fun (t: Tensor) -> sin (t * a) + t * t * b

/// Rosenbrock's Hessian by hand: tridiagonal, for the self-check.
let rosenbrockHessianHand (x: float[]) =
    let n = x.Length
    let h = Array2D.zeroCreate n n

    for i in 0 .. n - 2 do
        let xi = x.[i]
        // term i: 100 (x_{i+1} − x_i²)² + (1 − x_i)²
        h.[i, i] <- h.[i, i] + 1200.0 * xi * xi - 400.0 * x.[i + 1] + 2.0
        h.[i, i + 1] <- h.[i, i + 1] - 400.0 * xi
        h.[i + 1, i] <- h.[i + 1, i] - 400.0 * xi
        h.[i + 1, i + 1] <- h.[i + 1, i + 1] + 200.0

    h

// ---- elementwise --------------------------------------------------------------------------------

/// Elements of the elementwise workload.
let elementwiseSize = 10_000_000

/// tanh(x)·y + x on tensors: three primitives, three passes, two intermediate arrays.
let elementwise (x: Tensor) (y: Tensor) = tanh x * y + x

/// tanh(x)·y + x fused by hand into one pass, vectorized as a careful programmer would: blocks
/// of 2048 elements (in L1) through TensorPrimitives.Tanh and one FusedMultiplyAdd, into `out`
/// (preallocated by the caller: the hand loop's best case, no allocation at all).
let elementwiseFused (x: float[]) (y: float[]) (out: float[]) =
    let block = 2048
    let t: float[] = Array.zeroCreate block
    let mutable i = 0

    while i < x.Length do
        let len = min block (x.Length - i)
        let xs = ReadOnlySpan(x, i, len)
        let ts = Span(t, 0, len)
        System.Numerics.Tensors.TensorPrimitives.Tanh(xs, ts)

        System.Numerics.Tensors.TensorPrimitives.FusedMultiplyAdd(
            ReadOnlySpan(t, 0, len),
            ReadOnlySpan(y, i, len),
            xs,
            Span(out, i, len)
        )

        i <- i + len

    out

/// tanh(x)·y + x as one scalar loop with Math.Tanh into `out` (the naive fused loop, for scale).
let elementwiseScalar (x: float[]) (y: float[]) (out: float[]) =
    for i in 0 .. x.Length - 1 do
        out.[i] <- Math.Tanh x.[i] * y.[i] + x.[i]

    out

// ---- keeping results alive ------------------------------------------------------------------

/// Results are stored here so that no measured call can be optimized away.
let mutable sink: obj = null

/// Float results are stored here (no boxing in the measured call).
let mutable sinkFloat = 0.0

// ---- self-check -----------------------------------------------------------------------------

/// Checks the workloads against each other before anything is measured: FunDiff's gradient of
/// Rosenbrock equals the hand-written one, the scalar loop equals its float version, hvp
/// agrees with a finite difference of gradients, the MLP gradient with a finite difference of
/// the loss, the Hessian with the hand-derived one, jacfwd with jacrev, the elementwise
/// expression with its fused loops. Raises on disagreement.
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

    // the MLP gradient along a random direction against a central difference of the loss
    let x, y = mlpData ()
    let p = mlpParams ()
    let g = Tree.grad (mlpLoss x y) p
    let rng = Random(3)

    let v =
        Tree.map
            (fun t -> Tensor.reshape t.Shape (Tensor.ofArray (Array.init t.Size (fun _ -> rng.NextDouble() - 0.5))))
            p

    let slope = Tensor.toScalar (Tree.dot g v)

    let at (e: float) =
        Tensor.toScalar (mlpLoss x y (Tree.add p (Tree.scale e v)))

    let fdMlp = (at 1e-5 - at -1e-5) / 2e-5

    if not (close slope fdMlp 1e-6) then
        fail "MLP gradient · v (vs central difference)" slope fdMlp

    // the Hessian of Rosenbrock against the hand-derived tridiagonal one
    let xs = rosenbrockInput 100
    let h = Tensor.toArray (hessian rosenbrock (Tensor.ofArray xs))
    let hh = rosenbrockHessianHand xs

    for i in 0..99 do
        for j in 0..99 do
            if not (close h.[i * 100 + j] hh.[i, j] 1e-10) then
                fail (sprintf "hessian rosenbrock n=100, (%d, %d)" i j) h.[i * 100 + j] hh.[i, j]

    // jacfwd and jacrev agree on both Jacobian workloads
    let agree what (a: Tensor) (b: Tensor) =
        let a, b = Tensor.toArray a, Tensor.toArray b

        for i in 0 .. a.Length - 1 do
            if not (close a.[i] b.[i] 1e-12) then
                fail (sprintf "%s, element %d (jacfwd vs jacrev)" what i) a.[i] b.[i]

    let x1000 = Tensor.ofArray (rosenbrockInput 1000)
    agree "jacobian of rosenbrock" (jacfwd rosenbrock x1000) (jacrev rosenbrock x1000)

    agree
        "jacobian of the wide-output function"
        (jacfwd wideOutput (Tensor.scalar 0.7))
        (jacrev wideOutput (Tensor.scalar 0.7))

    // the elementwise expression against the fused loops
    let ex = Array.init 1000 (fun i -> float (i - 500) / 100.0)
    let ey = Array.init 1000 (fun i -> cos (float i))
    let e = Tensor.toArray (elementwise (Tensor.ofArray ex) (Tensor.ofArray ey))
    let ef = elementwiseFused ex ey (Array.zeroCreate 1000)
    let es = elementwiseScalar ex ey (Array.zeroCreate 1000)

    for i in 0..999 do
        if not (close e.[i] ef.[i] 1e-14 && close e.[i] es.[i] 1e-14) then
            fail (sprintf "tanh(x)·y + x, element %d (vs the fused loop)" i) e.[i] ef.[i]

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
