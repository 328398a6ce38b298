/// The vectorized kernels (comparisons, select_n, max/min, max/min/prod reductions, the tiled
/// transpose, the non-temporal copies of large layout outputs) against plain scalar loops
/// written here, bit for bit: over random lengths around the vector widths, the 16-element row
/// threshold and the non-temporal threshold, with NaN (of several payloads), ±0 and ±inf
/// sprinkled in, on arrays that are windows of a larger buffer (views) as well as whole.
/// (One xunit collection with BufferPoolTests: the outputs past the non-temporal threshold are
/// pooled lengths, BufferPoolTests' among them, and renting them alongside those tests took
/// their buffers and broke their counts.)
[<Xunit.Collection("BufferPool")>]
module FunDiff.Tests.KernelEquivalenceTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FunDiff
open FunDiff.Backend
open FunDiff.Tests.Harness

// ---- inputs ---------------------------------------------------------------------------------

/// A quiet NaN with a payload, negative or not: the reductions must return the first NaN's bits.
let private nanWith (payload: int64) (negative: bool) =
    let sign = if negative then Int64.MinValue else 0L
    BitConverter.Int64BitsToDouble(sign ||| 0x7FF8000000000000L ||| payload)

/// Lengths at the edges of Vector<float> (2, 4 or 8 lanes), of the 16-element row threshold,
/// long ones, and ones at and past the size from which outputs are stored non-temporally
/// (their elements before the first vector-aligned one take the scalar path).
let private randomLength (r: Random) =
    match r.Next 5 with
    | 0 -> r.Next 4
    | 1 -> [| 3; 4; 5; 7; 8; 9; 15; 16; 17; 31; 32; 33 |].[r.Next 12]
    | 2 -> r.Next(1, 70)
    | 3 -> 1000 + r.Next 600
    | _ -> Stores.NonTemporalElements - 1 + r.Next 12

/// A value: mostly small integers (so equal values and ties are common), with NaN, ±0 and
/// ±inf sprinkled in at a rate that differs from sample to sample.
let private randomValue (r: Random) (special: float) =
    if r.NextDouble() < special then
        match r.Next 7 with
        | 0 -> nan
        | 1 -> nanWith (int64 (r.Next 1000)) (r.Next 2 = 0)
        | 2 -> 0.0
        | 3 -> -0.0
        | 4 -> infinity
        | 5 -> -infinity
        | _ -> Double.Epsilon
    else
        float (r.Next(-4, 5)) * 0.5

let private randomValues (r: Random) (n: int) =
    let special = [| 0.0; 0.01; 0.2; 0.6 |].[r.Next 4]
    Array.init n (fun _ -> randomValue r special)

/// `values` as an array of `shape`, either owning its buffer or a window of a larger one (a
/// view, at a random offset among random values).
let private arrayOf (r: Random) (shape: int[]) (dtype: DType) (values: float[]) =
    let aval = Aval(shape, dtype)

    if r.Next 2 = 0 then
        NDArray(aval, Array.copy values)
    else
        let before = r.Next 9
        let buffer = randomValues r (before + values.Length + r.Next 9)
        Array.blit values 0 buffer before values.Length
        NDArray(aval, buffer, before)

/// Whether two arrays hold the same bits (NaN payloads and the sign of zero included).
let private assertBits (what: string) (expected: float[]) (actual: NDArray) =
    let actual = actual.Span.ToArray()

    Assert.True(
        expected.Length = actual.Length,
        sprintf "%s: %d values, expected %d" what actual.Length expected.Length
    )

    for i in 0 .. expected.Length - 1 do
        let e, a =
            BitConverter.DoubleToInt64Bits expected.[i], BitConverter.DoubleToInt64Bits actual.[i]

        if e <> a then
            failwithf
                "%s: element %d of %d is %.17g (0x%016x), the scalar loop gives %.17g (0x%016x)"
                what
                i
                expected.Length
                actual.[i]
                a
                expected.[i]
                e

// ---- binary kernels -----------------------------------------------------------------------

/// Operands for a binary kernel of n elements: both of n, or one of them rank 0.
let private binaryOperands (r: Random) (dtype: DType) =
    let n = randomLength r
    let xs = randomValues r n
    // y: often x itself or x shuffled, so equal pairs (±0 against ±0, NaN against NaN) occur
    let ys =
        match r.Next 3 with
        | 0 -> Array.copy xs
        | 1 -> Array.init n (fun i -> xs.[(i * 7 + 3) % n])
        | _ -> randomValues r n

    match r.Next 4 with
    | 0 -> arrayOf r [||] dtype [| randomValue r 0.3 |], arrayOf r [| n |] dtype ys
    | 1 -> arrayOf r [| n |] dtype xs, arrayOf r [||] dtype [| randomValue r 0.3 |]
    | _ -> arrayOf r [| n |] dtype xs, arrayOf r [| n |] dtype ys

/// f over the operands with rank-0 broadcasting, a plain loop.
let private zipReference (f: float -> float -> float) (x: NDArray) (y: NDArray) =
    let n = max x.Size y.Size
    let at (a: NDArray) i = if a.Size = 1 then a.At 0 else a.At i
    Array.init (if x.Size = 0 || y.Size = 0 then 0 else n) (fun i -> f (at x i) (at y i))

let private comparisons: (string * (NDArray -> NDArray -> NDArray) * (float -> float -> bool)) list =
    [
        "lt", Elementwise.lt, (fun a b -> a < b)
        "le", Elementwise.le, (fun a b -> a <= b)
        "gt", Elementwise.gt, (fun a b -> a > b)
        "ge", Elementwise.ge, (fun a b -> a >= b)
        "eq", Elementwise.eq, (fun a b -> a = b)
        "ne", Elementwise.ne, (fun a b -> a <> b)
    ]

[<Fact>]
let ``comparisons give the scalar loop's 0.0 and 1.0, NaN comparing false except by ne`` () =
    let prop seed =
        let r = Random(seed: int)
        let x, y = binaryOperands r Float64

        for name, kernel, test in comparisons do
            let result = kernel x y
            Assert.Equal(Bool, result.DType)

            assertBits
                (sprintf "%s of %A and %A (seed %d)" name x.Shape y.Shape seed)
                (zipReference (fun a b -> if test a b then 1.0 else 0.0) x y)
                result

    checkProperty 131UL 4111UL 300 (Prop.forAll randomSeeds prop)

[<Fact>]
let ``a comparison of NaN is false, and ne of NaN true`` () =
    let x = NDArray.ofData [| 9 |] Float64 (Array.create 9 nan)

    let y =
        NDArray.ofData [| 9 |] Float64 [| nan; 0.0; 1.0; nan; -0.0; infinity; nan; 2.0; nan |]

    for name, kernel, _ in comparisons do
        let expected = if name = "ne" then 1.0 else 0.0
        Assert.True((kernel x y).Span.ToArray() |> Array.forall ((=) expected), name)

/// NumPy's maximum/minimum as the kernels had them: NaN (the one `nan`) if either is NaN, else
/// Math.Max/Math.Min (+0 over -0 for max, -0 for min).
let private maxReference (a: float) (b: float) =
    if Double.IsNaN a || Double.IsNaN b then
        nan
    else
        Math.Max(a, b)

let private minReference (a: float) (b: float) =
    if Double.IsNaN a || Double.IsNaN b then
        nan
    else
        Math.Min(a, b)

[<Fact>]
let ``max and min give the scalar loop's bits, and their scalar functions the same`` () =
    let prop seed =
        let r = Random(seed: int)
        let dtype = if r.Next 4 = 0 then Int64 else Float64
        let x, y = binaryOperands r dtype

        for name, map, reference in [ "max", Elementwise.max, maxReference; "min", Elementwise.min, minReference ] do
            let result = map.Kernel x y
            let what = sprintf "%s of %A and %A (seed %d)" name x.Shape y.Shape seed
            Assert.Equal(dtype, result.DType)
            assertBits what (zipReference reference x y) result
            // the scalar fast path's function, element by element
            assertBits (what + ", scalar function") (zipReference map.Scalar x y) result

    checkProperty 137UL 4113UL 300 (Prop.forAll randomSeeds prop)

[<Fact>]
let ``max and min of signed zeros and NaN, lane by lane`` () =
    let xs = [| -0.0; 0.0; -0.0; 0.0; nan; 1.0; -infinity; nanWith 5L false |]
    let ys = [| 0.0; -0.0; -0.0; 0.0; 1.0; nan; infinity; 2.0 |]
    let x, y = NDArray.ofData [| 8 |] Float64 xs, NDArray.ofData [| 8 |] Float64 ys
    assertBits "max" [| 0.0; 0.0; -0.0; 0.0; nan; nan; infinity; nan |] (Elementwise.max.Kernel x y)
    assertBits "min" [| -0.0; -0.0; -0.0; 0.0; nan; nan; -infinity; nan |] (Elementwise.min.Kernel x y)

[<Fact>]
let ``select_n takes onTrue wherever the condition is not zero, as the scalar loop`` () =
    let prop seed =
        let r = Random(seed: int)
        let n = randomLength r
        let shape = [| n |]
        // conditions are 0.0/1.0 bools, and also arbitrary values (NaN and -0 included)
        let which =
            if r.Next 2 = 0 then
                Array.init n (fun _ -> float (r.Next 2))
            else
                randomValues r n

        let f, t = randomValues r n, randomValues r n
        let expected = Array.init n (fun i -> if which.[i] <> 0.0 then t.[i] else f.[i])

        let result =
            Elementwise.select (arrayOf r shape Bool which) (arrayOf r shape Float64 f) (arrayOf r shape Float64 t)

        assertBits (sprintf "select_n of %d (seed %d)" n seed) expected result

    checkProperty 139UL 4115UL 300 (Prop.forAll randomSeeds prop)

// ---- reductions ---------------------------------------------------------------------------

/// The sequential folds the reductions are defined by: the first NaN wins; otherwise the first
/// element strictly beyond the running extreme replaces it.
let private foldMax (values: float seq) =
    values
    |> Seq.fold
        (fun acc v ->
            if Double.IsNaN acc then acc
            elif Double.IsNaN v || v > acc then v
            else acc)
        -infinity

let private foldMin (values: float seq) =
    values
    |> Seq.fold
        (fun acc v ->
            if Double.IsNaN acc then acc
            elif Double.IsNaN v || v < acc then v
            else acc)
        infinity

let private foldProd (values: float seq) = values |> Seq.fold (*) 1.0

/// The reference of a reduction over `axes` of a row-major array, by a loop over every output
/// index gathering its elements in row-major order of the reduced axes.
let private reduceReference (fold: float seq -> float) (shape: int[]) (axes: int[]) (values: float[]) =
    let rank = shape.Length
    let strides = Shape.strides shape
    let kept = Shape.complementAxes rank axes
    let keptShape = kept |> Array.map (fun k -> shape.[k])
    let reducedShape = axes |> Array.map (fun k -> shape.[k])

    let indices (s: int[]) =
        let n = Shape.size s

        Array.init n (fun flat ->
            let idx = Array.zeroCreate s.Length
            let mutable rest = flat

            for k in s.Length - 1 .. -1 .. 0 do
                idx.[k] <- rest % s.[k]
                rest <- rest / s.[k]

            idx)

    [|
        for outIndex in indices keptShape ->
            fold (
                seq {
                    for inIndex in indices reducedShape do
                        let mutable flat = 0

                        for j in 0 .. kept.Length - 1 do
                            flat <- flat + outIndex.[j] * strides.[kept.[j]]

                        for j in 0 .. axes.Length - 1 do
                            flat <- flat + inIndex.[j] * strides.[axes.[j]]

                        yield values.[flat]
                }
            )
    |]

/// A random shape of rank 1 to 3 and sorted distinct axes to reduce (all of them often).
let private reductionCase (r: Random) =
    let rank = r.Next(1, 4)

    let shape =
        if rank = 1 then
            [| randomLength r |]
        else
            Array.init rank (fun _ -> [| 1; 2; 3; 5; 15; 16; 17; 40 |].[r.Next 8])

    let axes =
        if r.Next 3 = 0 then
            Array.init rank id
        else
            Array.init rank id |> Array.filter (fun _ -> r.Next 2 = 0)

    shape, axes

[<Fact>]
let ``max, min and prod over axes give the sequential fold's bits`` () =
    let prop seed =
        let r = Random(seed: int)
        let shape, axes = reductionCase r
        let size = Shape.size shape
        // some samples all ≤ 0 (zeros keep their signs), so that the extreme is often a zero
        // and the first zero's sign decides
        let values =
            let v = randomValues r size

            if r.Next 3 = 0 then
                Array.map (fun x -> if x > 0.0 then -x else x) v
            else
                v

        let x = arrayOf r shape Float64 values

        for name, kernel, fold in
            [
                "max", AxisKernels.reduceMax, foldMax
                "min", AxisKernels.reduceMin, foldMin
                "prod", AxisKernels.reduceProd, foldProd
            ] do
            assertBits
                (sprintf "%s over %A of %A (seed %d)" name axes shape seed)
                (reduceReference fold shape axes values)
                (kernel axes x)

    checkProperty 149UL 4117UL 400 (Prop.forAll randomSeeds prop)

[<Fact>]
let ``the vectorized max and min return the first NaN, and the first zero of an all-zero extreme`` () =
    let n = 100
    let firstNan, laterNan = nanWith 11L true, nanWith 22L false
    let values = Array.init n (fun i -> float (i % 7) - 3.0)
    values.[40] <- firstNan
    values.[70] <- laterNan
    let x = NDArray.ofData [| n |] Float64 values
    assertBits "max with NaN" [| firstNan |] (AxisKernels.reduceMax [| 0 |] x)
    assertBits "min with NaN" [| firstNan |] (AxisKernels.reduceMin [| 0 |] x)

    for first in [ 0.0; -0.0 ] do
        // -1 and zeros: the first zero (index 31) has the sign `first`, the later ones the other
        let zeros = Array.init n (fun i -> if i < 31 || i % 3 = 0 then -1.0 else -first)
        zeros.[31] <- first
        let x = NDArray.ofData [| n |] Float64 zeros
        assertBits (sprintf "max, first zero %g" (1.0 / first)) [| first |] (AxisKernels.reduceMax [| 0 |] x)
        let positive = NDArray.ofData [| n |] Float64 (Array.map (fun v -> -v) zeros)
        assertBits (sprintf "min, first zero %g" (-1.0 / first)) [| -first |] (AxisKernels.reduceMin [| 0 |] positive)

// ---- transpose ----------------------------------------------------------------------------

/// A random permutation of 0..rank-1.
let private randomPermutation (r: Random) (rank: int) =
    let p = Array.init rank id

    for i in rank - 1 .. -1 .. 1 do
        let j = r.Next(i + 1)
        let t = p.[i]
        p.[i] <- p.[j]
        p.[j] <- t

    p

/// The transpose by its definition: output element at index o is the operand's at the index
/// whose axis perm[k] is o[k].
let private transposeReference (perm: int[]) (shape: int[]) (values: float[]) =
    let outShape = perm |> Array.map (fun p -> shape.[p])
    let strides = Shape.strides shape
    let n = Shape.size outShape

    Array.init n (fun flat ->
        let mutable rest = flat
        let mutable at = 0

        for k in outShape.Length - 1 .. -1 .. 0 do
            at <- at + (rest % outShape.[k]) * strides.[perm.[k]]
            rest <- rest / outShape.[k]

        values.[at])

[<Fact>]
let ``transpose of rank 2 to 4 moves every element to its permuted index`` () =
    let prop seed =
        let r = Random(seed: int)
        let rank = r.Next(2, 5)
        // sizes across the 32-element tile edge, with the occasional 0 and 1
        let sizes = [| 0; 1; 2; 3; 7; 31; 32; 33; 65 |]
        let limit = if rank = 2 then 9 else 7
        let smallest () = if r.Next 20 = 0 then 0 else 1
        let shape = Array.init rank (fun _ -> sizes.[r.Next(smallest (), limit)])
        let perm = randomPermutation r rank
        let values = Array.init (Shape.size shape) (fun _ -> r.NextDouble())
        let result = Layout.transpose perm (arrayOf r shape Float64 values)
        Assert.Equal<int[]>(perm |> Array.map (fun p -> shape.[p]), result.Shape)

        assertBits
            (sprintf "transpose %A of %A (seed %d)" perm shape seed)
            (transposeReference perm shape values)
            result

    checkProperty 151UL 4119UL 300 (Prop.forAll randomSeeds prop)

[<Fact>]
let ``transpose of a large matrix crosses many tiles`` () =
    let r = Random 3
    let rows, cols = 301, 517
    let values = Array.init (rows * cols) (fun _ -> r.NextDouble())
    let x = arrayOf r [| rows; cols |] Float64 values

    assertBits
        "transpose 301 × 517"
        (transposeReference [| 1; 0 |] [| rows; cols |] values)
        (Layout.transpose [| 1; 0 |] x)

// ---- non-temporal stores of large outputs ---------------------------------------------------

/// Lengths around the size from which outputs are stored non-temporally.
let private largeLengths =
    [
        Stores.NonTemporalElements - 1
        Stores.NonTemporalElements
        Stores.NonTemporalElements + 7
    ]

[<Fact>]
let ``a non-temporal copy gives the source's bits at every alignment of either side`` () =
    let r = Random 5

    for n in largeLengths do
        let src = randomValues r (n + 8)

        for srcAt in 0..3 do
            // every destination offset of a 32-byte vector (and of a 64-byte one, wider machines)
            for dstAt in 0..8 do
                let dst = Array.create (n + 9) 7.0
                Stores.copy (ReadOnlySpan(src, srcAt, n)) (Span(dst, dstAt, n))

                let expected =
                    Array.init (n + 9) (fun i ->
                        if i >= dstAt && i < dstAt + n then
                            src.[srcAt + i - dstAt]
                        else
                            7.0)

                assertBits
                    (sprintf "copy of %d from %d to %d" n srcAt dstAt)
                    expected
                    (NDArray.ofData [| n + 9 |] Float64 dst)

/// The row-major values of `shape` at every index, read by `at` from its flat output index.
let private layoutReference (shape: int[]) (at: int[] -> float) =
    let n = Shape.size shape
    let strides = Shape.strides shape
    Array.init n (fun flat -> at (Array.init shape.Length (fun k -> flat / strides.[k] % shape.[k])))

[<Fact>]
let ``a broadcast of rows into a large output repeats the row's bits`` () =
    let r = Random 7

    // rows of a length that shifts each row's alignment, rank 2 and 3
    for shape, dims, operandShape in
        [
            [| 33; 1001 |], [| 1 |], [| 1001 |]
            [| 2; 17; 999 |], [| 1; 2 |], [| 17; 999 |]
            [| 40; 1000 |], [| 1 |], [| 1000 |]
        ] do
        let values = randomValues r (Shape.size operandShape)
        let x = arrayOf r operandShape Float64 values
        let operandStrides = Shape.strides operandShape

        let expected =
            layoutReference shape (fun index ->
                values.[Array.fold2 (fun acc d st -> acc + index.[d] * st) 0 dims operandStrides])

        assertBits (sprintf "broadcast to %A" shape) expected (Layout.broadcastInDim shape dims x)

[<Fact>]
let ``a concatenation into a large output places every operand's bits`` () =
    let r = Random 11

    for axis, shapes in
        [
            0, [ [| 16500 |]; [| 16501 |] ]
            0, [ [| 20; 1001 |]; [| 13; 1001 |] ]
            1, [ [| 40; 501 |]; [| 40; 333 |]; [| 40; 99 |] ]
        ] do
        let parts =
            shapes |> List.map (fun shape -> shape, randomValues r (Shape.size shape))

        let operands =
            parts |> List.map (fun (shape, values) -> arrayOf r shape Float64 values)

        let shape = Array.copy (fst parts.[0])
        shape.[axis] <- parts |> List.sumBy (fun (s, _) -> s.[axis])

        let expected =
            layoutReference shape (fun index ->
                // the operand the index falls in, and the index within it
                let mutable at = index.[axis]
                let mutable k = 0

                while at >= (fst parts.[k]).[axis] do
                    at <- at - (fst parts.[k]).[axis]
                    k <- k + 1

                let partShape, values = parts.[k]
                let local = Array.copy index
                local.[axis] <- at
                values.[Array.fold2 (fun acc i st -> acc + i * st) 0 local (Shape.strides partShape)])

        assertBits
            (sprintf "concatenate on axis %d of %A" axis shapes)
            expected
            (Layout.concatenate axis (Array.ofList operands))

[<Fact>]
let ``a strided slice and a pad into a large output keep every element's bits`` () =
    let r = Random 13
    let shape = [| 40; 1003 |]
    let values = randomValues r (Shape.size shape)
    let x = arrayOf r shape Float64 values
    // the rows' interior: a copy by rows, each starting at another alignment
    let sliced = Layout.slice [| 0; 1 |] [| 40; 1002 |] x
    assertBits "slice" (layoutReference [| 40; 1001 |] (fun i -> values.[i.[0] * 1003 + i.[1] + 1])) sliced

    // a pad around the rows (scattered by rows) and around a flat array (one run)
    let padded = Layout.pad [| 0; 3 |] [| 0; 2 |] x

    let expectedPad =
        layoutReference [| 40; 1008 |] (fun i ->
            if i.[1] < 3 || i.[1] >= 1006 then
                0.0
            else
                values.[i.[0] * 1003 + i.[1] - 3])

    assertBits "pad of rows" expectedPad padded
    let flat = randomValues r 33001
    let paddedFlat = Layout.pad [| 3 |] [| 5 |] (arrayOf r [| 33001 |] Float64 flat)

    assertBits
        "pad of a flat array"
        (Array.init 33009 (fun i -> if i < 3 || i >= 33004 then 0.0 else flat.[i - 3]))
        paddedFlat
