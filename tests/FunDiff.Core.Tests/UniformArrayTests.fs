/// Uniform arrays: a broadcast of one value (and zeros, ones, full) holds the value once. Every
/// kernel must give the bits it gives on the materialized array, the kernels that read the
/// value directly must not allocate the shape, and a uniform array materialized for an unaware
/// kernel must keep that buffer alive as a view does. (One xunit collection with BufferPoolTests
/// and ViewTests: they switch the global `BufferPool.DebugChecks`.)
[<Xunit.Collection("BufferPool")>]
module FunDiff.Tests.UniformArrayTests

open System
open System.Threading.Tasks
open Xunit
open FsCheck
open FsCheck.FSharp
open FunDiff
open FunDiff.Backend
open FunDiff.Tests.Harness

let private arrayOf (t: Tensor) = t.Concrete "UniformArrayTests"

/// Runs `body` with no uniform array made on this thread (the reference: every broadcast of
/// one value, every zeros and ones, a filled array as before).
let private withoutUniform (body: unit -> 'T) =
    NDArray.noUniform.Value <- true

    try
        body ()
    finally
        NDArray.noUniform.Value <- false

/// A uniform tensor: `v` broadcast to `shape`.
let private uniformOf (shape: int[]) (v: float) =
    let t = Tensor.broadcastTo shape (Tensor.scalar v)

    if Shape.size shape >= 2 && not NDArray.noUniform.Value then
        Assert.True((arrayOf t).IsUniform, sprintf "a broadcast of a scalar to %A should be uniform" shape)

    t

/// The same values as an ordinary array.
let private materialized (shape: int[]) (v: float) =
    Tensor.reshape shape (Tensor.ofArray (Array.create (Shape.size shape) v))

/// Uniform arrays against filled ones, to within `ulps` (`Harness.assertWithinUlps`).
let private assertWithinUlps =
    Harness.assertWithinUlps "from a uniform array" "from a filled one"

let private assertSameBits = assertWithinUlps 0L

/// A random shape: rank 1 to 3 with extents 1 to 5, or (one time in four) a long vector, for
/// the vectorized kernels' main loops and remainders.
let private randomShape (rng: Random) =
    if rng.Next 4 = 0 then
        [| rng.Next(9, 3000) |]
    else
        Array.init (rng.Next(1, 4)) (fun _ -> rng.Next(1, 6))

/// The uniform value: special values one time in three, else in [-2, 2).
let private randomValue (rng: Random) =
    let special =
        [|
            0.0
            -0.0
            1.0
            -1.0
            0.5
            1e-10
            -3e-17
            0.6931
            20.0
            40.0
            -745.0
            nan
            infinity
            -infinity
        |]

    if rng.Next 3 = 0 then
        special.[rng.Next special.Length]
    else
        rng.NextDouble() * 4.0 - 2.0

/// A random ordinary tensor of `shape`, values in [-2, 2).
let private randomTensor (rng: Random) (shape: int[]) =
    Tensor.reshape shape (Tensor.ofArray (Array.init (Shape.size shape) (fun _ -> rng.NextDouble() * 4.0 - 2.0)))

/// The ops the law applies: `x` is the uniform (or filled) operand, `r` an ordinary tensor of
/// its shape. Ops built on sin or cos have names starting with "sin" or "cos".
let private ops: (string * (Tensor -> Tensor -> Tensor)) list =
    let last (x: Tensor) = x.Rank - 1
    let unary (name: string) (f: Tensor -> Tensor) = name, (fun x (_: Tensor) -> f x)

    [
        unary "neg" Tensor.neg
        unary "sin" Tensor.sin
        unary "cos" Tensor.cos
        unary "exp" Tensor.exp
        unary "log" Tensor.log
        unary "sqrt" Tensor.sqrt
        unary "tanh" Tensor.tanh
        unary "tan" Tensor.tan
        unary "asin" Tensor.asin
        unary "acos" Tensor.acos
        unary "atan" Tensor.atan
        unary "sinh" Tensor.sinh
        unary "cosh" Tensor.cosh
        unary "log1p" Tensor.log1p
        unary "expm1" Tensor.expm1
        unary "erf" Tensor.erf
        unary "abs" Tensor.abs
        unary "sign" Tensor.sign
        unary "sigmoid" Tensor.sigmoid
        unary "softplus" Tensor.softplus
        unary "relu" Tensor.relu
        unary "square" Tensor.square
        unary "cube" (fun x -> x ** 3.0)
        unary "pow 1.5" (fun x -> x ** 1.5)
        unary "pow 0" (fun x -> x ** 0.0)
        unary "x + x" (fun x -> x + x)
        unary "x * x + 1" (fun x -> x * x + 1.0)
        unary "2 - x" (fun x -> 2.0 - x)
        unary "x / (x + 3)" (fun x -> x / (x + 3.0))
        "x + r", (fun x r -> x + r)
        "r - x", (fun x r -> r - x)
        "x * r", (fun x r -> x * r)
        "r / x", (fun x r -> r / x)
        "x / r", (fun x r -> x / r)
        "pow x r", (fun x r -> Tensor.pow x r)
        "pow r x", (fun x r -> Tensor.pow r x)
        "maximum", (fun x r -> Tensor.maximum x r)
        "minimum", (fun x r -> Tensor.minimum r x)
        "atan2", (fun x r -> Tensor.atan2 x r)
        "clip", (fun x _ -> Tensor.clip -0.5 0.5 x)
        "gt", (fun x r -> Tensor.gt x r)
        "le", (fun x r -> Tensor.le r x)
        "eq", (fun x _ -> Tensor.eq x x)
        "ne 0.5", (fun x _ -> Tensor.ne x (Tensor.scalar 0.5))
        "where on r", (fun x r -> Tensor.where (Tensor.gt r (Tensor.scalar 0.0)) x (-x))
        "where on x", (fun x r -> Tensor.where (Tensor.gt x (Tensor.scalar 0.0)) r x)
        "to int64",
        (fun x _ ->
            // NaN does not convert (raises): zeros there
            Tensor.convert Int64 (Tensor.clip -1e6 1e6 (Tensor.where (Tensor.eq x x) x (Tensor.zeros x.Shape))))
        "to bool", (fun x _ -> Tensor.convert Bool x)
        "sum", (fun x _ -> Tensor.sum x)
        "sum axis 0", (fun x _ -> Tensor.sumAxes [ 0 ] x)
        "sum last axis", (fun x _ -> Tensor.sumAxes [ last x ] x)
        "mean", (fun x _ -> Tensor.mean x)
        "max", (fun x _ -> Tensor.max x)
        "min last axis", (fun x _ -> Tensor.minAxes [ last x ] x)
        "prod", (fun x _ -> Tensor.prod x)
        "argmax", (fun x _ -> Tensor.argmax x)
        "argmin axis 0", (fun x _ -> Tensor.argminAxis 0 x)
        "logSumExp", (fun x _ -> Tensor.logSumExp x)
        "softmax", (fun x _ -> Tensor.softmax x)
        "cumsum axis 0", (fun x _ -> Tensor.cumsumAxis 0 x)
        "cumsum last axis", (fun x _ -> Tensor.cumsumAxis (last x) x)
        "cumsum", (fun x _ -> Tensor.cumsum x)
        "flatten", (fun x _ -> Tensor.flatten x)
        "reshape then exp", (fun x _ -> Tensor.exp (Tensor.reshape [| -1; 1 |] x))
        "transpose", (fun x _ -> Tensor.transposeAxes (Array.rev [| 0 .. last x |]) x)
        "broadcast", (fun x _ -> Tensor.broadcastTo (Array.append [| 2 |] x.Shape) x)
        "pad", (fun x _ -> Prim.pad (Array.create x.Rank 1) (Array.create x.Rank 2) x)
        "concat", (fun x r -> Tensor.concat 0 [ x; r; x ])
        "slice", (fun x _ -> Tensor.sliceAxis 0 (x.Shape.[0] / 2) x.Shape.[0] x)
        "slice of the last axis", (fun x _ -> Tensor.sliceAxis (last x) 0 (max 1 (x.Shape.[last x] - 1)) x * 2.0)
        "index 0", (fun x _ -> Tensor.index 0 x)
        "take", (fun x _ -> Tensor.take (Tensor.convert Int64 (Tensor.ofArray [| 0.0; -1.0; 0.0 |])) x)
        "matmul by a matrix",
        (fun x _ ->
            let m = Tensor.reshape [| x.Shape.[0]; -1 |] x
            Tensor.matmul m (Tensor.reshape [| m.Shape.[1]; 2 |] (Tensor.linspace -1.0 1.5 (2 * m.Shape.[1]))))
        "matmul of the transpose",
        (fun x _ ->
            let m = Tensor.reshape [| x.Shape.[0]; -1 |] x
            Tensor.matmul (Tensor.transpose m) m)
        "dot with r", (fun x r -> Tensor.dot (Tensor.flatten x) (Tensor.flatten r))
        "matrix-vector",
        (fun x r ->
            let m = Tensor.reshape [| x.Shape.[0]; -1 |] r

            Tensor.matmul
                m
                (Tensor.reshape [| m.Shape.[1] |] (Tensor.sumAxes [ 0 ] (Tensor.reshape [| x.Shape.[0]; -1 |] x))))
    ]

[<Fact>]
let ``every op gives the same bits on a uniform array as on the filled array`` () =
    let prop (seed: int) =
        let rng = Random seed
        let shape = randomShape rng
        let v = randomValue rng
        let r = randomTensor rng shape
        let uniform = uniformOf shape v
        let filled = materialized shape v

        for name, op in ops do
            let ulps =
                if name.StartsWith "sin" || name.StartsWith "cos" then
                    alignmentUlps
                else
                    0L

            let expected = withoutUniform (fun () -> op filled r)
            assertWithinUlps ulps (sprintf "%s of %g over %A (seed %d)" name v shape seed) expected (op uniform r)

    checkProperty 53UL 4111UL 150 (Prop.forAll randomSeeds prop)

[<Fact>]
let ``grad, jvp and hvp through broadcasts give the same bits as with filled arrays`` () =
    // Rosenbrock (its cotangent is the broadcast of 1.0), a broadcast of a reduction, zeros of
    // a shape: every transform, with uniform arrays and without
    let rosenbrock (x: Tensor) =
        let a = Tensor.sliceAxis 0 1 x.Shape.[0] x
        let b = Tensor.sliceAxis 0 0 (x.Shape.[0] - 1) x
        Tensor.sum (100.0 * (a - b * b) ** 2.0 + (1.0 - b) ** 2.0)

    let coupled (x: Tensor) =
        let total = Tensor.broadcastTo x.Shape (Tensor.sum x)
        Tensor.sum (Tensor.tanh (total * x) + Tensor.exp (0.1 * x) * Tensor.ones x.Shape)

    let prop (seed: int) =
        let rng = Random seed

        let n =
            if rng.Next 3 = 0 then
                rng.Next(20, 2000)
            else
                rng.Next(2, 9)

        let x = randomTensor rng [| n |]
        let v = randomTensor rng [| n |]

        for name, f in [ "rosenbrock", rosenbrock; "coupled", coupled ] do
            let both (transform: unit -> Tensor) label =
                assertSameBits
                    (sprintf "%s %s at n = %d (seed %d)" label name n seed)
                    (withoutUniform transform)
                    (transform ())

            both (fun () -> f x) "f"
            both (fun () -> grad f x) "grad"
            both (fun () -> snd (jvp f x v)) "jvp"
            both (fun () -> snd (jvp (grad f) x v)) "hvp"
            both (fun () -> grad f (uniformOf [| n |] 0.75)) "grad at a uniform point"
            both (fun () -> (snd (vjp (fun x -> x * 3.0) x)) (uniformOf [| n |] 2.0)) "vjp of a uniform cotangent"

    checkProperty 59UL 4113UL 60 (Prop.forAll randomSeeds prop)

[<Fact>]
let ``ops that read the value keep an array uniform`` () =
    let x = uniformOf [| 3; 4 |] 0.25

    let stillUniform =
        [
            "broadcast of a one-element array", Tensor.broadcastTo [| 5; 2 |] (Tensor.ofArray [| 2.0 |])
            "broadcast of a uniform array", Tensor.broadcastTo [| 2; 3; 4 |] x
            "unary", Tensor.exp x
            "with a scalar", x * 100.0 - 1.0
            "two uniform arrays", x + x
            "constant power", x ** 2.0
            "reshape", Tensor.reshape [| 12 |] x
            "slice", Tensor.sliceAxis 1 1 3 x
            "to int64", Tensor.convert Int64 x
            "zeros", Tensor.zeros [| 7 |]
            "ones", Tensor.ones [| 2; 2 |]
            "full", Tensor.full [| 9 |] 3.5
        ]

    for name, t in stillUniform do
        Assert.True((arrayOf t).IsUniform, name + " should be uniform")

    Assert.False((arrayOf x).IsExpanded, "no op above needed x's values in full")
    // one element is an ordinary array
    Assert.False((arrayOf (Tensor.broadcastTo [| 1; 1 |] (Tensor.scalar 1.0))).IsUniform)

[<Fact>]
let ``a broadcast of a scalar to a million elements allocates no million-element buffer`` () =
    let n = 1_000_000
    let warm = Tensor.exp (uniformOf [| 4 |] 1.0) * 2.0 - 1.0
    Assert.True((arrayOf warm).IsUniform)
    let before = GC.GetAllocatedBytesForCurrentThread()
    let ones = Tensor.broadcastTo [| n |] (Tensor.scalar 1.0)
    let scaled = (100.0 * ones - 1.0) ** 2.0
    let zeros = Tensor.zeros [| 1000; 1000 |]
    let after = GC.GetAllocatedBytesForCurrentThread()

    for t in [ ones; scaled; zeros ] do
        Assert.True((arrayOf t).IsUniform)
        Assert.False((arrayOf t).IsExpanded)

    Assert.True(after - before < 64_000L, sprintf "%d bytes allocated" (after - before))
    Assert.Equal(9801.0, (arrayOf scaled).At(n - 1))

/// Runs `body` with the pool's debug checks on.

let private collect () =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    GC.Collect()

[<Fact>]
let ``a materialized uniform array keeps its pooled buffer while buffers are recycled`` () =
    withDebugChecks (fun () ->
        // a length no other test uses, so no other test's buffers are on its idle list
        let n = BufferPool.MinPooledLength * 2 + 71
        let x = uniformOf [| n |] 1.5
        // cumsum reads Span: the values are materialized into a pooled buffer
        let sums = Tensor.cumsumAxis 0 x
        Assert.True((arrayOf x).IsExpanded)
        let buffer = (arrayOf x).Buffer
        Assert.Equal(n, buffer.Length)

        for round in 1..30 do
            Tensor.exp (Tensor.linspace 0.0 (float round) n) |> ignore

            if round % 10 = 0 then
                collect ()

        Assert.True(obj.ReferenceEquals(buffer, (arrayOf x).Buffer), "materialized once")
        Assert.True(Array.forall (fun v -> v = 1.5) (Tensor.toArray x))
        Assert.Equal(1.5 * float n, (arrayOf sums).At(n - 1)))

[<Fact>]
let ``the buffers of dead materialized uniform arrays are recycled cleanly`` () =
    withDebugChecks (fun () ->
        let n = BufferPool.MinPooledLength * 2 + 73

        let makeAndDrop (v: float) =
            let x = uniformOf [| n |] v
            Tensor.sum (Tensor.cumsumAxis 0 x) |> Tensor.toScalar

        let first = makeAndDrop 0.5
        collect ()
        // debug mode checks every reuse: a dead array's buffer must come back untouched
        for _ in 1..10 do
            Assert.Equal(first, makeAndDrop 0.5))

[<Fact>]
let ``threads materializing one uniform array all read one buffer`` () =
    for attempt in 1..20 do
        let x =
            arrayOf (uniformOf [| BufferPool.MinPooledLength + attempt |] (float attempt))

        let buffers = Array.zeroCreate<float[]> 8
        Parallel.For(0, buffers.Length, (fun i -> buffers.[i] <- x.Buffer)) |> ignore
        Assert.All(buffers, (fun b -> Assert.True(obj.ReferenceEquals(b, buffers.[0]))))
        Assert.True(x.Data |> Array.forall (fun v -> v = float attempt))
