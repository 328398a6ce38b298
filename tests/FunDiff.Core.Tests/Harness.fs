/// Shared helpers of the core tests: building tensors from flat values, comparing tensors with
/// a tolerance (the report names the worst element), central differences, inner products,
/// describing a primitive application for failure messages, and running an FsCheck property
/// from a fixed replay seed so that every run checks the same samples.
module FunDiff.Tests.Harness

open System
open System.Globalization
open FsCheck
open FsCheck.FSharp
open FunDiff

// ---- building and reading tensors ---------------------------------------------------------

/// A float64 tensor of a shape from flat row-major values (rank 0 for the shape `[||]`).
let tensorOf (shape: int[]) (values: float[]) : Tensor =
    if Array.fold (*) 1 shape <> values.Length then
        invalidArg "values" (sprintf "tensorOf: %d values for shape %A" values.Length shape)

    Tensor.ofArray values |> Tensor.reshape shape

/// Uniform values in [lo, hi) of a shape.
let randomTensor (r: Random) (lo: float) (hi: float) (shape: int[]) : Tensor =
    tensorOf shape (Array.init (Array.fold (*) 1 shape) (fun _ -> lo + (hi - lo) * r.NextDouble()))

/// The flat values of a tensor.
let values (t: Tensor) = Tensor.toArray t

/// The multi-index of a flat row-major index.
let multiIndex (shape: int[]) (flat: int) =
    let index = Array.zeroCreate shape.Length
    let mutable rest = flat

    for k in shape.Length - 1 .. -1 .. 0 do
        index.[k] <- rest % shape.[k]
        rest <- rest / shape.[k]

    index

// ---- describing values for failure messages -----------------------------------------------

let private invariant = CultureInfo.InvariantCulture

/// A float exactly as stored (round-trippable), so a failing sample can be rebuilt.
let showFloat (v: float) = v.ToString("R", invariant)

/// A shape like `[2; 3]`.
let showShape (shape: int[]) =
    "[" + (shape |> Array.map string |> String.concat "; ") + "]"

/// A tensor's aval and its flat values: `f64[2,3] = [0.1; ...]`.
let describeTensor (t: Tensor) =
    sprintf "%O = [%s]" t.Aval (values t |> Array.map showFloat |> String.concat "; ")

/// One application of a primitive: its name, params, and each operand's aval and values.
let describeSample (prim: Primitive) (operands: Tensor[]) (pars: Params) =
    let operandLines =
        operands
        |> Array.mapi (fun i t -> sprintf "  operand %d: %s" i (describeTensor t))
        |> String.concat "\n"

    sprintf
        "primitive %s, params %s, operand avals (%s)\n%s"
        prim.Name
        (if pars.Entries.Length = 0 then "(none)" else string pars)
        (operands |> Array.map (fun t -> string t.Aval) |> String.concat ", ")
        operandLines

// ---- tolerance comparison ------------------------------------------------------------------

/// `|actual - expected| <= Absolute + Relative * |expected|`, elementwise.
type Tolerance = { Relative: float; Absolute: float }

/// Tight: results that differ only by rounding in a different order of operations.
let rounding = { Relative = 1e-10; Absolute = 1e-12 }

/// Loose: a derivative against central differences (truncation and cancellation errors).
let finiteDifference = { Relative = 1e-6; Absolute = 1e-6 }

/// None when the tensors have one shape and agree elementwise within the tolerance (NaN only
/// agrees with NaN); otherwise a report naming the worst element.
let compareTensors (tol: Tolerance) (expected: Tensor) (actual: Tensor) : string option =
    if expected.Shape <> actual.Shape then
        Some(
            sprintf
                "shapes differ: expected %s, actual %s\n  expected %s\n  actual   %s"
                (showShape expected.Shape)
                (showShape actual.Shape)
                (describeTensor expected)
                (describeTensor actual)
        )
    else
        let e, a = values expected, values actual
        // how many tolerances each element is off (infinite for a NaN mismatch)
        let excess i =
            if Double.IsNaN e.[i] || Double.IsNaN a.[i] then
                (if Double.IsNaN e.[i] && Double.IsNaN a.[i] then
                     0.0
                 else
                     infinity)
            elif e.[i] = a.[i] then
                0.0
            else
                abs (a.[i] - e.[i]) / (tol.Absolute + tol.Relative * abs e.[i])

        if e.Length = 0 then
            None
        else
            let worst = Array.init e.Length id |> Array.maxBy excess

            if excess worst <= 1.0 then
                None
            else
                Some(
                    sprintf
                        "worst element at %s (flat %d): expected %s, actual %s, difference %s (tolerance: relative %g, absolute %g)\n  expected %s\n  actual   %s"
                        (showShape (multiIndex expected.Shape worst))
                        worst
                        (showFloat e.[worst])
                        (showFloat a.[worst])
                        (showFloat (abs (a.[worst] - e.[worst])))
                        tol.Relative
                        tol.Absolute
                        (describeTensor expected)
                        (describeTensor actual)
                )

/// Raises (failing the test) unless the tensors agree within the tolerance; `what` names the
/// quantity in the message.
let assertClose (what: string) (tol: Tolerance) (expected: Tensor) (actual: Tensor) =
    match compareTensors tol expected actual with
    | None -> ()
    | Some report -> failwithf "%s: %s" what report

/// Raises unless two numbers agree within the tolerance.
let assertCloseFloat (what: string) (tol: Tolerance) (expected: float) (actual: float) =
    assertClose what tol (Tensor.scalar expected) (Tensor.scalar actual)

/// Raises unless the tensor has the shape and every element is exactly 0.0.
let assertZeros (what: string) (shape: int[]) (t: Tensor) =
    if t.Shape <> shape then
        failwithf "%s: expected zeros of shape %s, got shape %s" what (showShape shape) (showShape t.Shape)

    match values t |> Array.tryFindIndex (fun v -> v <> 0.0) with
    | Some i ->
        failwithf "%s: expected exact zeros, element %d is %s (%s)" what i (showFloat (values t).[i]) (describeTensor t)
    | None -> ()

// ---- numerical oracles ---------------------------------------------------------------------

/// The inner product Σ aᵢ bᵢ of two tensors of one shape.
let inner (a: Tensor) (b: Tensor) =
    if a.Shape <> b.Shape then
        invalidArg "b" (sprintf "inner: shapes %s and %s differ" (showShape a.Shape) (showShape b.Shape))

    Array.fold2 (fun s x y -> s + x * y) 0.0 (values a) (values b)

/// The step of central differences at `x`: 1e-6 relative to the largest magnitude (at least 1).
let differenceStep (x: Tensor) =
    1e-6 * (values x |> Array.fold (fun m v -> max m (abs v)) 1.0)

/// `(f (x + h v) - f (x - h v)) / 2h`, the derivative of `f` at `x` along `v` by central
/// differences (error O(h²) plus rounding). The shifts and the quotient are computed on plain
/// arrays, so the oracle shares nothing with the engine but `f` itself.
let centralDifference (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor =
    let h = differenceStep x
    let xs, vs = values x, values v

    let shifted (s: float) =
        tensorOf x.Shape (Array.map2 (fun a b -> a + s * h * b) xs vs)

    let plus, minus = f (shifted 1.0), f (shifted -1.0)
    tensorOf plus.Shape (Array.map2 (fun p m -> (p - m) / (2.0 * h)) (values plus) (values minus))

/// `M · v` where `M` has shape `out.shape ++ v.shape` (a Jacobian or Hessian), as a tensor of
/// shape `out.shape`.
let contract (m: Tensor) (v: Tensor) : Tensor =
    let n = v.Size
    let outShape = m.Shape.[0 .. m.Rank - v.Rank - 1]

    if m.Shape.[m.Rank - v.Rank ..] <> v.Shape then
        invalidArg "v" (sprintf "contract: %s does not end with %s" (showShape m.Shape) (showShape v.Shape))

    let ms, vs = values m, values v

    tensorOf
        outShape
        (Array.init (Array.fold (*) 1 outShape) (fun i ->
            Array.fold (fun s k -> s + ms.[i * n + k] * vs.[k]) 0.0 [| 0 .. n - 1 |]))

// ---- FsCheck with a fixed seed -------------------------------------------------------------

/// Runs an FsCheck property `n` times from the replay seed `(s, g)` (`g` must be odd), so each
/// run draws the same samples; raises with the counterexample on failure.
let checkProperty (s: uint64) (g: uint64) (n: int) (prop: 'Property) =
    if g % 2UL = 0UL then
        invalidArg "g" (sprintf "checkProperty: the second seed number %d must be odd" g)

    Check.One(Config.QuickThrowOnFailure.WithReplay(Some { Rnd = Rnd(s, g); Size = None }).WithMaxTest(n), prop)

/// Seeds for System.Random, drawn by FsCheck (no shrinking: a smaller seed is not a simpler
/// sample).
let randomSeeds: Arbitrary<int> = Arb.fromGen (Gen.choose (0, Int32.MaxValue))

/// Runs `body` with the buffer pool's debug checks on (poisoned returns, lease checks), restoring
/// the previous setting. Tests that use it share the xunit collection "BufferPool".
let withDebugChecks (body: unit -> unit) =
    let before = FunDiff.Backend.BufferPool.DebugChecks
    FunDiff.Backend.BufferPool.DebugChecks <- true

    try
        body ()
    finally
        FunDiff.Backend.BufferPool.DebugChecks <- before

/// The distance in units of the last place between two doubles of one sign (0 when equal,
/// including 0.0 and -0.0 only if their bits are equal).
let ulpsApart (a: float) (b: float) =
    if Math.Sign a <> Math.Sign b then
        Int64.MaxValue
    else
        abs (BitConverter.DoubleToInt64Bits a - BitConverter.DoubleToInt64Bits b)

/// Equality of shapes, dtypes and values to within `ulps` units of the last place (0: bit for
/// bit; NaNs of any payload count as equal). `actualSide`/`expectedSide` name where the two
/// values came from in the failure message (e.g. "on a view", "on a copy").
let assertWithinUlps
    (actualSide: string)
    (expectedSide: string)
    (ulps: int64)
    (label: string)
    (expected: Tensor)
    (actual: Tensor)
    =
    Xunit.Assert.True(
        Shape.equal expected.Shape actual.Shape,
        sprintf "%s: shape %A vs %A" label actual.Shape expected.Shape
    )

    Xunit.Assert.Equal(expected.DType, actual.DType)
    let e = Tensor.toArray expected
    let a = Tensor.toArray actual

    for i in 0 .. e.Length - 1 do
        let same =
            (Double.IsNaN e.[i] && Double.IsNaN a.[i])
            || BitConverter.DoubleToInt64Bits e.[i] = BitConverter.DoubleToInt64Bits a.[i]
            || ulpsApart e.[i] a.[i] <= ulps

        Xunit.Assert.True(
            same,
            sprintf "%s: element %d is %.17g %s, %.17g %s" label i a.[i] actualSide e.[i] expectedSide
        )

/// TensorPrimitives' Sin and Cos are the one kernels whose value for an element depends on
/// where the element sits in memory: whether a vector's worth of elements around it takes the
/// vectorized path or a scalar fallback follows from its alignment (measured: same input, one
/// window at offsets 0..8 of a buffer vs a fresh copy, up to ~2% of elements differ by one ulp;
/// exp, log, sqrt, tan, the inverse functions, cosh, tanh, sums and arithmetic never differ).
/// A view and a copy have different alignments, as any two pooled buffers may, so ops built on
/// sin or cos are compared to within 1 ulp; everything else bit for bit.
let alignmentUlps = 1L

/// Runs `transform` on a function that stores its argument (after `keep`) and returns `result`
/// of it, then uses the stored tracer after the transform returned: that must raise
/// EscapedTracerException naming `transformName` and the op (`sin`). Returns the message.
let assertTracerEscapes
    (transformName: string)
    (keep: Tensor -> Tensor)
    (result: Tensor -> Tensor)
    (transform: (Tensor -> Tensor) -> Tensor -> Tensor)
    (x: Tensor)
    =
    let mutable leaked = Unchecked.defaultof<Tensor>

    transform
        (fun x ->
            leaked <- keep x
            result x)
        x
    |> ignore

    let e =
        Xunit.Assert.Throws<EscapedTracerException>(fun () -> Tensor.sin leaked |> ignore)

    Xunit.Assert.Contains(transformName, e.Message)
    Xunit.Assert.Contains("sin", e.Message)
    e.Message

/// Two smooth functions of a 4-vector that the transform tests (vmap, jit) share, over a fixed
/// random 3×4 matrix `W`.
module Samples =
    /// The matrix the samples close over.
    let W = randomTensor (Random 20261203) -1.0 1.0 [| 3; 4 |]

    /// A scalar function with every kind of primitive in it: elementwise ops, a matrix product
    /// with the closed-over `W`, slices, a concatenation and reductions.
    let scalar (x: Tensor) =
        let h = Tensor.tanh (Tensor.matmul W x) * Tensor.sin x.[0..2]

        Tensor.sum (Tensor.concat 0 [ h; Tensor.exp x.[1..] ])
        + Tensor.sum (x * x * x) / 3.0

    /// A vector-valued function R⁴ → R³.
    let vector (x: Tensor) = Tensor.matmul W (Tensor.sin x * x)
