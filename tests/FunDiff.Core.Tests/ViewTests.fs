/// Views: a slice of a contiguous region and a reshape share their operand's buffer instead of
/// copying it. Every kernel must read a view's window (its offset) and nothing else, a view
/// must keep a pooled buffer alive after its base dies, and `NDArray.Data` must keep meaning
/// "exactly the values, from index 0". (One xunit collection with BufferPoolTests: both switch
/// the global `BufferPool.DebugChecks`, so their tests must not overlap.)
[<Xunit.Collection("BufferPool")>]
module FunDiff.Tests.ViewTests

open System
open System.Runtime.CompilerServices
open Xunit
open FsCheck
open FsCheck.FSharp
open FunDiff
open FunDiff.Backend
open FunDiff.Tests.Harness

let private arrayOf (t: Tensor) = t.Concrete "ViewTests"

/// Whether `t` shares `whole`'s buffer (no copy was made).
let private sharesBuffer (whole: Tensor) (t: Tensor) =
    obj.ReferenceEquals((arrayOf whole).Buffer, (arrayOf t).Buffer)

/// Runs `body` with every slice on this thread copying (the reference the laws compare with).
let private withCopiedSlices (body: unit -> 'T) =
    Layout.copySlices.Value <- true

    try
        body ()
    finally
        Layout.copySlices.Value <- false

/// Views against copies, to within `ulps` (`Harness.assertWithinUlps`).
let private assertWithinUlps = Harness.assertWithinUlps "on a view" "on a copy"

let private assertSameBits = assertWithinUlps 0L

// ---- random views ----------------------------------------------------------------------------

/// A random shape of rank 1 to 3 with extents 1 to 5, or (one time in six) a long vector, for
/// the vectorized kernels' main loops and their alignment handling.
let private randomShape (rng: Random) =
    if rng.Next 6 = 0 then
        [| rng.Next(64, 3000) |]
    else
        Array.init (rng.Next(1, 4)) (fun _ -> rng.Next(1, 6))

/// A random non-empty slice of `shape`: contiguous (one index on the axes before some axis,
/// whole axes after it) when `contiguous`, else any box.
let private randomSlice (rng: Random) (contiguous: bool) (shape: int[]) =
    let rank = shape.Length
    let split = rng.Next rank
    let start = Array.zeroCreate rank
    let limit = Array.copy shape

    for k in 0 .. rank - 1 do
        if not contiguous || k = split then
            start.[k] <- rng.Next shape.[k]
            limit.[k] <- rng.Next(start.[k] + 1, shape.[k] + 1)
        elif k < split then
            start.[k] <- rng.Next shape.[k]
            limit.[k] <- start.[k] + 1

    start, limit

/// A random float64 tensor of the given shape, values in [-2, 2) with a few exact zeros.
let private randomTensor (rng: Random) (shape: int[]) =
    let values =
        Array.init (Shape.size shape) (fun _ -> if rng.Next 8 = 0 then 0.0 else rng.NextDouble() * 4.0 - 2.0)

    Tensor.reshape shape (Tensor.ofArray values)

/// A random slice of a random base tensor, and whether it shares the base's buffer; the same
/// `seed` draws the same values, so the slice can be drawn again with slices copying.
let private makeView (seed: int) =
    let rng = Random seed
    let shape = randomShape rng
    let whole = randomTensor rng shape
    let start, limit = randomSlice rng (rng.Next 4 <> 0) shape
    let slice = Prim.slice start limit whole
    slice, sharesBuffer whole slice && not (obj.ReferenceEquals(slice, whole))

/// The ops the laws apply to a view: every kernel family, on a tensor of any shape. The names
/// of ops built on sin or cos start with "sin" or "cos" (see alignmentUlps).
let private viewOps: (string * (Tensor -> Tensor)) list =
    let last (x: Tensor) = x.Rank - 1

    [
        "neg", Tensor.neg
        "sin", Tensor.sin
        "exp", Tensor.exp
        "tanh", Tensor.tanh
        "log1p", (fun x -> Tensor.log1p (Tensor.abs x))
        "sign", Tensor.sign
        "sigmoid", Tensor.sigmoid
        "softplus", Tensor.softplus
        "square", Tensor.square
        "cube", (fun x -> x ** 3.0)
        "pow 1.5", (fun x -> x ** 1.5)
        "x + x", (fun x -> x + x)
        "x * x + 1", (fun x -> x * x + 1.0)
        "2 - x", (fun x -> 2.0 - x)
        "x / (x + 3)", (fun x -> x / (x + 3.0))
        "maximum", (fun x -> Tensor.maximum x (x * 0.5))
        "atan2", (fun x -> Tensor.atan2 x (x + 0.25))
        "clip", (fun x -> Tensor.clip -0.5 0.5 x)
        "gt", (fun x -> Tensor.gt x (x * x))
        "where", (fun x -> Tensor.where (Tensor.gt x (Tensor.scalar 0.0)) x (-x))
        "to int64", Tensor.convert Int64
        "to bool", Tensor.convert Bool
        "sum", Tensor.sum
        "sum axis 0", Tensor.sumAxes [ 0 ]
        "sum last axis", (fun x -> Tensor.sumAxes [ last x ] x)
        "max", Tensor.max
        "min last axis", (fun x -> Tensor.minAxes [ last x ] x)
        "prod", Tensor.prod
        "argmax", Tensor.argmax
        "argmin axis 0", Tensor.argminAxis 0
        "cumsum axis 0", Tensor.cumsumAxis 0
        "cumsum last axis", (fun x -> Tensor.cumsumAxis (last x) x)
        "logSumExp", Tensor.logSumExp
        "softmax", Tensor.softmax
        "flatten", Tensor.flatten
        "cos of a reshape", (fun x -> Tensor.cos (Tensor.reshape [| -1; 1 |] x))
        "reshape then exp", (fun x -> Tensor.exp (Tensor.reshape [| -1; 1 |] x))
        "transpose", (fun x -> Tensor.transposeAxes (Array.rev [| 0 .. last x |]) x)
        "broadcast", (fun x -> Tensor.broadcastTo (Array.append [| 2 |] x.Shape) x)
        "pad", (fun x -> Prim.pad (Array.create x.Rank 1) (Array.create x.Rank 2) x)
        "concat", (fun x -> Tensor.concat 0 [ x; x * 2.0; x ])
        "slice of the view", (fun x -> Tensor.sliceAxis 0 (x.Shape.[0] / 2) x.Shape.[0] x)
        "index 0", Tensor.index 0
        "take", (fun x -> Tensor.take (Tensor.convert Int64 (Tensor.ofArray [| 0.0; -1.0; 0.0 |])) x)
        "matmul by a matrix",
        (fun x ->
            let m = Tensor.reshape [| x.Shape.[0]; -1 |] x
            Tensor.matmul m (Tensor.reshape [| m.Shape.[1]; 2 |] (Tensor.linspace -1.0 1.5 (2 * m.Shape.[1]))))
        "matmul of the transpose",
        (fun x ->
            let m = Tensor.reshape [| x.Shape.[0]; -1 |] x
            Tensor.matmul (Tensor.transpose m) m)
        "dot with itself", (fun x -> Tensor.dot (Tensor.flatten x) (Tensor.flatten x))
        "matrix-vector",
        (fun x ->
            let m = Tensor.reshape [| x.Shape.[0]; -1 |] x
            Tensor.matmul m (Tensor.ones [| m.Shape.[1] |]))
        "sum of squares of a nested slice",
        (fun x -> Tensor.sum (Tensor.square (Tensor.sliceAxis (last x) 0 (max 1 (x.Shape.[last x] - 1)) x)))
    ]

[<Fact>]
let ``every op gives the same bits on a view as on a copy`` () =
    let mutable views = 0

    let prop (seed: int) =
        let view, isView = makeView seed
        let copy, copyIsView = withCopiedSlices (fun () -> makeView seed)
        Assert.False(copyIsView, "with slices copying, a slice must not share its base's buffer")
        views <- views + (if isView then 1 else 0)

        for name, op in viewOps do
            let expected = withCopiedSlices (fun () -> op copy)

            let ulps =
                if name.StartsWith "sin" || name.StartsWith "cos" then
                    alignmentUlps
                else
                    0L

            assertWithinUlps ulps (sprintf "%s of %A (seed %d)" name view.Shape seed) expected (op view)

    checkProperty 41UL 4099UL 200 (Prop.forAll randomSeeds prop)
    // most samples are views (the rest are whole arrays or non-contiguous slices: copies)
    Assert.True(views > 100, sprintf "only %d of 200 samples were views" views)

[<Fact>]
let ``grad and jvp through slices give the same bits as with copied slices`` () =
    // Rosenbrock-like chains of slices, reshapes and elementwise ops, through every transform
    // (tanh and exp, not sin: see alignmentUlps)
    let f (x: Tensor) =
        let a = Tensor.sliceAxis 0 1 x.Shape.[0] x
        let b = Tensor.sliceAxis 0 0 (x.Shape.[0] - 1) x
        let inner = Tensor.tanh (Tensor.reshape [| -1 |] (a - b * b))

        Tensor.sum (
            100.0 * inner ** 2.0
            + (1.0 - Tensor.flatten b) ** 2.0
            + Tensor.exp (0.1 * Tensor.flatten a)
        )

    let prop (seed: int) =
        let rng = Random seed
        let shape = Array.append [| rng.Next(2, 7) |] (randomShape rng |> Array.truncate 2)
        let x = randomTensor rng shape
        let v = randomTensor rng shape

        let both (transform: unit -> Tensor) label =
            assertSameBits (sprintf "%s at %A (seed %d)" label shape seed) (withCopiedSlices transform) (transform ())

        both (fun () -> f x) "f"
        both (fun () -> grad f x) "grad"
        both (fun () -> snd (jvp f x v)) "jvp"
        both (fun () -> snd (jvp (grad f) x v)) "hvp"

        both
            (fun () ->
                (snd (vjp (fun x -> Tensor.sliceAxis 0 1 x.Shape.[0] x * 3.0) x)) (Tensor.sliceAxis 0 1 shape.[0] v))
            "vjp"
        // the input itself a view (its slices views of a view)
        let xv = Tensor.sliceAxis 0 1 shape.[0] (Tensor.concat 0 [ x; x ])
        both (fun () -> grad f xv) "grad at a view"

    checkProperty 43UL 4101UL 100 (Prop.forAll randomSeeds prop)

[<Fact>]
let ``the blocked GEMM reads a view at its offset, directly and transposed`` () =
    // large enough for the GEMM path (the random shapes above take the small-product paths)
    let rng = Random 7
    let whole = randomTensor rng [| 70; 40 |]
    let rows = Prim.slice [| 5; 0 |] [| 69; 40 |] whole
    Assert.True(sharesBuffer whole rows)
    let copy = withCopiedSlices (fun () -> Prim.slice [| 5; 0 |] [| 69; 40 |] whole)
    let right = randomTensor rng [| 40; 48 |]
    let left = randomTensor rng [| 48; 64 |]

    for name, op in
        [
            "view · matrix", (fun v -> Tensor.matmul v right)
            "matrix · view", (fun v -> Tensor.matmul left v)
            "viewᵀ · view", (fun v -> Tensor.matmul (Tensor.transpose v) v)
            "batched view", (fun v -> Tensor.matmul (Tensor.reshape [| 4; 16; 40 |] v) right)
        ] do
        assertSameBits name (op copy) (op rows)

[<Fact>]
let ``pad, which zeroes only around a contiguous interior, equals padding by concatenation`` () =
    let prop (seed: int) =
        let rng = Random seed
        let shape = randomShape rng
        let x = randomTensor rng shape
        // zero paddings after some axis (and one index before it) make the interior contiguous
        let split = rng.Next shape.Length

        let pads () =
            Array.init shape.Length (fun k -> if k < split || rng.Next 3 = 0 then rng.Next 3 else 0)

        let low, high = pads (), pads ()

        let expected =
            Array.fold
                (fun (acc: Tensor) k ->
                    let zeros (n: int) =
                        let s = Array.copy acc.Shape
                        s.[k] <- n
                        Tensor.zeros s

                    Tensor.concat k [ zeros low.[k]; acc; zeros high.[k] ])
                x
                [| 0 .. shape.Length - 1 |]

        assertSameBits (sprintf "pad %A %A of %A" low high shape) expected (Prim.pad low high x)

    checkProperty 47UL 4103UL 200 (Prop.forAll randomSeeds prop)

// ---- which slices are views ----------------------------------------------------------------

[<Fact>]
let ``a slice of a contiguous region shares the buffer, at its offset`` () =
    let whole = randomTensor (Random 1) [| 4; 5 |]
    let rows = Prim.slice [| 1; 0 |] [| 3; 5 |] whole
    Assert.True(sharesBuffer whole rows)
    Assert.Equal(5, (arrayOf rows).Offset)
    Assert.Equal<float[]>((Tensor.toArray whole).[5..14], Tensor.toArray rows)
    // one row's run of columns, a slice of a 1-d array, and a reshape of a view: views too
    let run = Prim.slice [| 2; 1 |] [| 3; 4 |] whole
    Assert.True(sharesBuffer whole run)
    Assert.Equal(11, (arrayOf run).Offset)
    let flat = Tensor.flatten whole
    let tail = flat.[1..]
    Assert.True(sharesBuffer whole tail)
    Assert.Equal(1, (arrayOf tail).Offset)
    let reshaped = Tensor.reshape [| 5; 2 |] rows
    Assert.True(sharesBuffer whole reshaped)
    Assert.Equal(5, (arrayOf reshaped).Offset)
    // a column block is not contiguous: a copy
    let columns = Prim.slice [| 0; 1 |] [| 4; 3 |] whole
    Assert.False(sharesBuffer whole columns)
    Assert.Equal(0, (arrayOf columns).Offset)

[<Fact>]
let ``Rosenbrock's slices of a large vector are views`` () =
    let n = 100000
    let x = Tensor.linspace 0.0 1.0 n
    Assert.True(sharesBuffer x x.[1..])
    Assert.True(sharesBuffer x x.[.. x.Length - 2])

[<Fact>]
let ``a small slice of a large pooled buffer is copied, so it does not pin the buffer`` () =
    let x = Tensor.linspace 0.0 1.0 (BufferPool.MinPooledLength * 2 + 71)
    let small = x.[10..19]
    Assert.False(sharesBuffer x small)
    Assert.Equal(10, (arrayOf small).Buffer.Length)
    Assert.Equal<float[]>((Tensor.toArray x).[10..19], Tensor.toArray small)

[<Fact>]
let ``Data of a view is a copy of exactly its window; Data of a whole array is its buffer`` () =
    let whole = randomTensor (Random 2) [| 3; 4 |]
    let view = arrayOf (Prim.slice [| 1; 0 |] [| 2; 4 |] whole)
    let data = view.Data
    Assert.Equal(4, data.Length)
    Assert.Equal<float[]>((Tensor.toArray whole).[4..7], data)
    Assert.False(obj.ReferenceEquals(data, view.Buffer))
    Assert.Equal<float[]>(data, view.Span.ToArray())
    Assert.Equal<float[]>(data, view.Read Array.copy)
    Assert.True(obj.ReferenceEquals((arrayOf whole).Data, (arrayOf whole).Buffer))
    // ToArray, printing and scalar reads see the window too
    Assert.Equal<float[]>(data, Tensor.toArray (Prim.ofArray view))
    Assert.Equal(Format.array (NDArray.ofData view.Shape Float64 data), Format.array view)
    let element = Prim.slice [| 1; 2 |] [| 2; 3 |] whole |> Tensor.reshape [||]
    Assert.True(sharesBuffer whole element)
    Assert.Equal((Tensor.toArray whole).[6], Tensor.toScalar element)

[<Fact>]
let ``the constructors check the window`` () =
    let buffer = Array.zeroCreate<float> 6

    Assert.Throws<ArgumentException>(fun () -> NDArray(Aval([| 4 |], Float64), buffer) |> ignore)
    |> ignore

    Assert.Throws<ArgumentException>(fun () -> NDArray(Aval([| 4 |], Float64), buffer, 3) |> ignore)
    |> ignore

    Assert.Equal(2, NDArray(Aval([| 4 |], Float64), buffer, 2).Offset)

// ---- views and the buffer pool ---------------------------------------------------------------


let private collect () =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    GC.Collect()

/// A view of most of a pooled temporary, which is unreachable once this returns (not inlined,
/// so no local of the caller keeps the base alive).
[<MethodImpl(MethodImplOptions.NoInlining)>]
let private viewOfATemporary (n: int) =
    let temporary = Tensor.sin (Tensor.linspace 0.0 1.0 n)
    let view = temporary.[3..]
    Assert.True(sharesBuffer temporary view)
    view, WeakReference(arrayOf temporary)

[<Fact>]
let ``a view outliving its base keeps its values while buffers are recycled`` () =
    withDebugChecks (fun () ->
        // lengths no other test uses, so no other test's buffers are on these idle lists
        let n = BufferPool.MinPooledLength * 2 + 43
        let view, baseArray = viewOfATemporary n
        let grid = Tensor.toArray (Tensor.linspace 0.0 1.0 n)
        let expected = Array.init (n - 3) (fun i -> Math.Sin grid.[i + 3])
        collect ()
        Assert.False(baseArray.IsAlive, "the base array should be unreachable")
        let length = (arrayOf view).Buffer.Length

        // many arrays of the base's length and of the view's: any reuse of the shared buffer
        // would overwrite (or, in debug mode, have poisoned with NaN) the view's values
        for round in 1..30 do
            Tensor.exp (Tensor.linspace 0.0 (float round) length) |> ignore
            Tensor.cos (Tensor.linspace 0.0 (float round) (n - 3)) |> ignore

            if round % 10 = 0 then
                collect ()

        let values = Tensor.toArray view

        for i in 0 .. expected.Length - 1 do
            Assert.True(
                abs (values.[i] - expected.[i]) <= 1e-15,
                sprintf "element %d: %g vs %g" i values.[i] expected.[i]
            )

        // the view is still a view of that buffer, and kernels read it right
        Assert.Equal(3, (arrayOf view).Offset)
        let twice = Tensor.toArray (view * 2.0)
        Assert.Equal<float[]>(Array.map (fun v -> v * 2.0) values, twice))

[<Fact>]
let ``the buffer of a dead view and its dead base is recycled`` () =
    withDebugChecks (fun () ->
        let n = BufferPool.MinPooledLength * 2 + 59

        let makeAndDrop () =
            let view, _ = viewOfATemporary n
            Tensor.sum view |> Tensor.toScalar

        let first = makeAndDrop ()
        collect ()
        // debug mode checks every reuse: the dead pair's buffer must come back poisoned-clean
        for _ in 1..10 do
            Assert.Equal(first, makeAndDrop ())

        Assert.True(BufferPool.idleByteCount () >= 0L))
