/// The linear-algebra kernels against naive references written with explicit index loops:
/// matmulBatched on non-square, narrow, wide, batched and empty shapes, and dotGeneral with
/// JAX's lax.dot_general output order (batch dims in lhsBatch's order, then lhs free dims, then
/// rhs free dims) for several contracting dims, non-leading batch dims, contracting dims given
/// out of order, outer products and a rank-0 result. Inputs are random with fixed seeds.
module FunDiff.Tests.LinalgKernelTests

open System
open Xunit
open FunDiff
open FunDiff.Backend

// ---- references and comparison -------------------------------------------------------------

/// Uniform values in [-1, 1) from a fixed seed.
let private randomData (seed: int) (n: int) =
    let r = Random seed
    Array.init n (fun _ -> 2.0 * r.NextDouble() - 1.0)

let private randomArray (seed: int) (shape: int[]) =
    NDArray.ofData shape Float64 (randomData seed (Shape.size shape))

/// The row-major flat position of a multi-index.
let private flat (shape: int[]) (index: int[]) =
    let mutable pos = 0

    for k in 0 .. shape.Length - 1 do
        pos <- pos * shape.[k] + index.[k]

    pos

let private multiIndex (shape: int[]) (position: int) =
    let index = Array.zeroCreate shape.Length
    let mutable rest = position

    for k in shape.Length - 1 .. -1 .. 0 do
        index.[k] <- rest % shape.[k]
        rest <- rest / shape.[k]

    index

/// Exact sums and the scale Σ|a·b| of each one (the size of a dot product's rounding error).
type private Reference =
    {
        Shape: int[]
        Values: float[]
        Scale: float[]
    }

/// lax.dot_general by definition: for every output multi-index, sum over every contracted
/// multi-index the product of the lhs and rhs elements that the two indices select.
let private referenceDotGeneral
    (lhsContract: int[])
    (rhsContract: int[])
    (lhsBatch: int[])
    (rhsBatch: int[])
    (lhs: NDArray)
    (rhs: NDArray)
    =
    let free (shape: int[]) (batch: int[]) (contract: int[]) =
        [| 0 .. shape.Length - 1 |]
        |> Array.filter (fun a -> not (Array.contains a batch) && not (Array.contains a contract))

    let lhsFree = free lhs.Shape lhsBatch lhsContract
    let rhsFree = free rhs.Shape rhsBatch rhsContract
    let sizes (shape: int[]) (axes: int[]) = axes |> Array.map (fun a -> shape.[a])

    let outShape =
        Array.concat [ sizes lhs.Shape lhsBatch; sizes lhs.Shape lhsFree; sizes rhs.Shape rhsFree ]

    let contractShape = sizes lhs.Shape lhsContract
    let values = Array.zeroCreate (Shape.size outShape)
    let scale = Array.zeroCreate values.Length
    let li = Array.zeroCreate lhs.Shape.Length
    let ri = Array.zeroCreate rhs.Shape.Length

    for o in 0 .. values.Length - 1 do
        let oi = multiIndex outShape o

        for t in 0 .. lhsBatch.Length - 1 do
            li.[lhsBatch.[t]] <- oi.[t]
            ri.[rhsBatch.[t]] <- oi.[t]

        for t in 0 .. lhsFree.Length - 1 do
            li.[lhsFree.[t]] <- oi.[lhsBatch.Length + t]

        for t in 0 .. rhsFree.Length - 1 do
            ri.[rhsFree.[t]] <- oi.[lhsBatch.Length + lhsFree.Length + t]

        for c in 0 .. Shape.size contractShape - 1 do
            let ci = multiIndex contractShape c

            for t in 0 .. lhsContract.Length - 1 do
                li.[lhsContract.[t]] <- ci.[t]
                ri.[rhsContract.[t]] <- ci.[t]

            let product = lhs.Data.[flat lhs.Shape li] * rhs.Data.[flat rhs.Shape ri]
            values.[o] <- values.[o] + product
            scale.[o] <- scale.[o] + abs product

    {
        Shape = outShape
        Values = values
        Scale = scale
    }

/// `|actual - expected| <= 1e-12 · Σ|a·b|` elementwise: relative to the terms summed, so a sum
/// that cancels to near zero is judged by the size of its terms.
let private assertClose (label: string) (expected: Reference) (actualShape: int[]) (actual: float[]) =
    Assert.True(
        Shape.equal expected.Shape actualShape,
        sprintf "%s: shape %s, expected %s" label (Shape.show actualShape) (Shape.show expected.Shape)
    )

    Assert.Equal(expected.Values.Length, actual.Length)

    for i in 0 .. actual.Length - 1 do
        let error = abs (actual.[i] - expected.Values.[i])

        if not (error <= 1e-12 * expected.Scale.[i]) then
            Assert.Fail(
                sprintf
                    "%s: element %A is %.17g, expected %.17g (error %g, scale %g)"
                    label
                    (multiIndex expected.Shape i)
                    actual.[i]
                    expected.Values.[i]
                    error
                    expected.Scale.[i]
            )

/// Checks dotGeneral against the reference on random operands of the given shapes, and checks
/// the output shape against the one the test states.
let private checkDotGeneral
    (lhsShape: int[])
    (rhsShape: int[])
    (lhsContract: int[])
    (rhsContract: int[])
    (lhsBatch: int[])
    (rhsBatch: int[])
    (expectedShape: int[])
    =
    let lhs = randomArray 11 lhsShape
    let rhs = randomArray 12 rhsShape
    let actual = DotGeneral.apply lhsContract rhsContract lhsBatch rhsBatch lhs rhs
    let expected = referenceDotGeneral lhsContract rhsContract lhsBatch rhsBatch lhs rhs
    let label = sprintf "dotGeneral %s %s" (Shape.show lhsShape) (Shape.show rhsShape)
    Assert.Equal<int[]>(expectedShape, actual.Shape)
    Assert.Equal(Float64, actual.DType)
    assertClose label expected actual.Shape actual.Data

/// Checks matmulBatched against the reference for batch×m×k times batch×k×n.
let private checkMatmul (batch: int) (m: int) (k: int) (n: int) =
    let a = randomData (100 + m) (batch * m * k)
    let b = randomData (200 + n) (batch * k * n)
    let actual = Gemm.matmulBatched batch m k n a b

    let expected =
        referenceDotGeneral
            [| 2 |]
            [| 1 |]
            [| 0 |]
            [| 0 |]
            (NDArray.ofData [| batch; m; k |] Float64 a)
            (NDArray.ofData [| batch; k; n |] Float64 b)

    assertClose (sprintf "matmulBatched %d %d %d %d" batch m k n) expected [| batch; m; n |] actual
    // the same product into a caller's array full of garbage: every value is overwritten
    let into = Array.create (batch * m * n) nan
    Gemm.matmulBatchedInto batch m k n a b into
    assertClose (sprintf "matmulBatchedInto %d %d %d %d" batch m k n) expected [| batch; m; n |] into

// ---- matmulBatched ---------------------------------------------------------------------------

[<Fact>]
let ``a 1×1 times 1×1 product is the product of the numbers`` () =
    Assert.Equal<float[]>([| -6.0 |], Gemm.matmulBatched 1 1 1 1 [| 2.0 |] [| -3.0 |])

[<Fact>]
let ``a 2×2 product has the textbook values`` () =
    // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
    let product =
        Gemm.matmulBatched 1 2 2 2 [| 1.0; 2.0; 3.0; 4.0 |] [| 5.0; 6.0; 7.0; 8.0 |]

    Assert.Equal<float[]>([| 19.0; 22.0; 43.0; 50.0 |], product)

// The kernel takes one vectorized dot product per element when rows are short (n < 128 and
// n ≤ k) and one vectorized row update per a[i, p] otherwise; these shapes reach both.
[<Theory>]
[<InlineData(1, 1, 1)>]
[<InlineData(3, 5, 2)>] // dot products against b's transposed columns
[<InlineData(4, 6, 1)>] // one column: dot products against b itself
[<InlineData(7, 1, 9)>] // k = 1: an outer product, by rows
[<InlineData(1, 9, 7)>]
[<InlineData(2, 3, 8)>] // n > k: by rows
[<InlineData(33, 47, 65)>] // widths that are not multiples of any vector length
[<InlineData(16, 64, 32)>]
[<InlineData(3, 150, 129)>] // long rows: by rows although n ≤ k
let ``matmul of non-square shapes agrees with the index-loop reference`` (m: int, k: int, n: int) = checkMatmul 1 m k n

[<Theory>]
[<InlineData(3, 4, 5, 11)>]
[<InlineData(5, 2, 7, 3)>]
[<InlineData(2, 9, 1, 1)>]
[<InlineData(4, 1, 6, 20)>]
[<InlineData(2, 3, 140, 130)>]
let ``batched matmul multiplies each pair of matrices`` (batch: int, m: int, k: int, n: int) = checkMatmul batch m k n

[<Fact>]
let ``an empty contraction (k = 0) gives zeros`` () =
    Assert.Equal<float[]>(Array.zeroCreate 12, Gemm.matmulBatched 1 3 0 4 [||] [||])
    Assert.Equal<float[]>(Array.zeroCreate 24, Gemm.matmulBatched 2 3 0 4 [||] [||])

[<Fact>]
let ``empty batch, row or column dimensions give an empty result`` () =
    Assert.Empty(Gemm.matmulBatched 0 3 4 5 [||] [||])
    Assert.Empty(Gemm.matmulBatched 1 0 4 5 [||] (randomData 1 20))
    Assert.Empty(Gemm.matmulBatched 1 3 4 0 (randomData 1 12) [||])

[<Fact>]
let ``a NaN in b propagates even where a is zero`` () =
    // IEEE: 0 · NaN = NaN, so skipping zero coefficients would be wrong
    for n in [ 1; 2; 12 ] do
        let b = Array.init (3 * n) (fun i -> if i = n then nan else 1.0)
        let product = Gemm.matmulBatched 1 1 3 n [| 1.0; 0.0; 1.0 |] b
        Assert.True(Double.IsNaN product.[0], sprintf "n = %d: column 0 is %g" n product.[0])

        for j in 1 .. n - 1 do
            Assert.Equal(2.0, product.[j])

[<Fact>]
let ``matmulBatched rejects arrays of the wrong length`` () =
    Assert.Throws<ArgumentException>(fun () ->
        Gemm.matmulBatched 1 2 3 4 (Array.zeroCreate 6) (Array.zeroCreate 11) |> ignore)
    |> ignore

// ---- dotGeneral ------------------------------------------------------------------------------

[<Fact>]
let ``contracting lhs axis 1 with rhs axis 0 is the matrix product`` () =
    checkDotGeneral [| 3; 5 |] [| 5; 2 |] [| 1 |] [| 0 |] [||] [||] [| 3; 2 |]
    checkDotGeneral [| 7; 1 |] [| 1; 9 |] [| 1 |] [| 0 |] [||] [||] [| 7; 9 |]
    checkDotGeneral [| 1; 1 |] [| 1; 1 |] [| 1 |] [| 0 |] [||] [||] [| 1; 1 |]

[<Fact>]
let ``contracting both axes 1 is the product with the transposed rhs`` () =
    checkDotGeneral [| 4; 6 |] [| 9; 6 |] [| 1 |] [| 1 |] [||] [||] [| 4; 9 |]
    checkDotGeneral [| 6; 4 |] [| 6; 9 |] [| 0 |] [| 0 |] [||] [||] [| 4; 9 |]

[<Fact>]
let ``several contracting dims are summed over together`` () =
    checkDotGeneral [| 2; 3; 4 |] [| 3; 4; 5 |] [| 1; 2 |] [| 0; 1 |] [||] [||] [| 2; 5 |]
    checkDotGeneral [| 2; 3; 4 |] [| 4; 3; 5 |] [| 1; 2 |] [| 1; 0 |] [||] [||] [| 2; 5 |]

[<Fact>]
let ``contracting dims given out of order pair up by position`` () =
    // lhs axis 2 (size 5) with rhs axis 1, lhs axis 0 (size 3) with rhs axis 0
    checkDotGeneral [| 3; 4; 5 |] [| 3; 5; 6 |] [| 2; 0 |] [| 1; 0 |] [||] [||] [| 4; 6 |]

[<Fact>]
let ``several leading batch dims come first in the output`` () =
    checkDotGeneral [| 2; 3; 4; 5 |] [| 2; 3; 5; 6 |] [| 3 |] [| 2 |] [| 0; 1 |] [| 0; 1 |] [| 2; 3; 4; 6 |]

[<Fact>]
let ``a batch dim that is not leading moves to the front`` () =
    // lhs batch axis 2 pairs with rhs batch axis 0
    checkDotGeneral [| 4; 5; 3 |] [| 3; 5; 6 |] [| 1 |] [| 1 |] [| 2 |] [| 0 |] [| 3; 4; 6 |]

[<Fact>]
let ``batch dims appear in the order lhsBatch gives them`` () =
    checkDotGeneral [| 2; 3; 4; 7 |] [| 3; 2; 4; 8 |] [| 2 |] [| 2 |] [| 1; 0 |] [| 0; 1 |] [| 3; 2; 7; 8 |]

[<Fact>]
let ``batch dims without contraction multiply elementwise with outer free dims`` () =
    checkDotGeneral [| 5; 3 |] [| 5; 4 |] [||] [||] [| 0 |] [| 0 |] [| 5; 3; 4 |]
    checkDotGeneral [| 6 |] [| 6 |] [||] [||] [| 0 |] [| 0 |] [| 6 |]

[<Fact>]
let ``no contraction and no batch is the outer product`` () =
    checkDotGeneral [| 3 |] [| 4 |] [||] [||] [||] [||] [| 3; 4 |]
    checkDotGeneral [| 2; 3 |] [| 4; 1 |] [||] [||] [||] [||] [| 2; 3; 4; 1 |]
    checkDotGeneral [||] [| 3 |] [||] [||] [||] [||] [| 3 |]

[<Fact>]
let ``vector dot vector is a rank-0 array`` () =
    checkDotGeneral [| 7 |] [| 7 |] [| 0 |] [| 0 |] [||] [||] [||]
    checkDotGeneral [| 2; 3 |] [| 3; 2 |] [| 0; 1 |] [| 1; 0 |] [||] [||] [||]

[<Fact>]
let ``a matrix times a vector keeps the matrix's free dim`` () =
    checkDotGeneral [| 9; 4 |] [| 4 |] [| 1 |] [| 0 |] [||] [||] [| 9 |]
    checkDotGeneral [| 4 |] [| 4; 9 |] [| 0 |] [| 0 |] [||] [||] [| 9 |]

[<Fact>]
let ``operands with long rows agree with the reference`` () =
    checkDotGeneral [| 2; 17; 40 |] [| 40; 2; 33 |] [| 2 |] [| 0 |] [| 0 |] [| 1 |] [| 2; 17; 33 |]
    checkDotGeneral [| 5; 3; 2 |] [| 2; 3; 130 |] [| 1 |] [| 1 |] [| 2 |] [| 0 |] [| 2; 5; 130 |]

[<Fact>]
let ``an empty contracting dim gives zeros`` () =
    let lhs = NDArray.ofData [| 2; 0 |] Float64 [||]
    let rhs = NDArray.ofData [| 0; 3 |] Float64 [||]
    let product = DotGeneral.apply [| 1 |] [| 0 |] [||] [||] lhs rhs
    Assert.Equal<int[]>([| 2; 3 |], product.Shape)
    Assert.Equal<float[]>(Array.zeroCreate 6, product.Data)

[<Fact>]
let ``an empty free dim gives an empty result of the right shape`` () =
    let lhs = NDArray.ofData [| 2; 0; 3 |] Float64 [||]
    let rhs = randomArray 3 [| 2; 3; 4 |]
    let product = DotGeneral.apply [| 2 |] [| 1 |] [| 0 |] [| 0 |] lhs rhs
    Assert.Equal<int[]>([| 2; 0; 4 |], product.Shape)
    Assert.Empty product.Data

[<Fact>]
let ``the result has the operands' dtype`` () =
    // [1 2; 3 4] · [1; 1] = [3; 7], exact in int64
    let lhs = NDArray.ofData [| 2; 2 |] Int64 [| 1.0; 2.0; 3.0; 4.0 |]
    let rhs = NDArray.ofData [| 2 |] Int64 [| 1.0; 1.0 |]
    let product = DotGeneral.apply [| 1 |] [| 0 |] [||] [||] lhs rhs
    Assert.Equal(Int64, product.DType)
    Assert.Equal<float[]>([| 3.0; 7.0 |], product.Data)

[<Fact>]
let ``the operands are not modified`` () =
    let lhs = randomArray 5 [| 3; 4 |]
    let rhs = randomArray 6 [| 4; 2 |]
    let lhsBefore = Array.copy lhs.Data
    let rhsBefore = Array.copy rhs.Data
    DotGeneral.apply [| 1 |] [| 0 |] [||] [||] lhs rhs |> ignore
    DotGeneral.apply [| 0 |] [| 1 |] [||] [||] rhs lhs |> ignore
    Assert.Equal<float[]>(lhsBefore, lhs.Data)
    Assert.Equal<float[]>(rhsBefore, rhs.Data)

[<Fact>]
let ``paired axes of different sizes are rejected`` () =
    let lhs = randomArray 1 [| 3; 4 |]
    let rhs = randomArray 2 [| 5; 2 |]

    let e =
        Assert.Throws<ArgumentException>(fun () -> DotGeneral.apply [| 1 |] [| 0 |] [||] [||] lhs rhs |> ignore)

    Assert.Contains("[3, 4]", e.Message)
    Assert.Contains("[5, 2]", e.Message)

// ---- the blocked GEMM ----------------------------------------------------------------------

/// batch×m×k times batch×k×n by the textbook loops, with the scale Σ|a·b| of each element.
let private referenceMatmul (batch: int) (m: int) (k: int) (n: int) (a: float[]) (b: float[]) =
    let values = Array.zeroCreate (batch * m * n)
    let scale = Array.zeroCreate values.Length

    for s in 0 .. batch - 1 do
        for i in 0 .. m - 1 do
            for p in 0 .. k - 1 do
                let x = a.[(s * m + i) * k + p]

                for j in 0 .. n - 1 do
                    let product = x * b.[(s * k + p) * n + j]
                    let o = (s * m + i) * n + j
                    values.[o] <- values.[o] + product
                    scale.[o] <- scale.[o] + abs product

    {
        Shape = [| batch; m; k |]
        Values = values
        Scale = scale
    }

/// Checks one kernel of the blocked GEMM (forced, whatever the shape) against the reference.
let private checkGemm (kernel: Gemm.GemmKernel) (batch: int) (m: int) (k: int) (n: int) =
    let a = randomData (1000 + 7 * m + k) (batch * m * k)
    let b = randomData (2000 + 5 * n + k) (batch * k * n)
    let actual = Gemm.matmulBatchedWith kernel batch m k n a b

    let expected =
        { referenceMatmul batch m k n a b with
            Shape = [| batch; m; n |]
        }

    assertClose (sprintf "%A %d×%d×%d×%d" kernel batch m k n) expected [| batch; m; n |] actual

/// Sizes around the tiles (MR = 6 or 8, NR = 8 or 16) and the blocks (MC = 96, KC = 256).
let private edgeSizes = [ 1; 3; 7; 9; 17; 65; 129; 257 ]

let kernels: obj[] seq = Gemm.allKernels |> Seq.map (fun k -> [| box k |])

// Every kernel runs here even where the hardware lacks it (then .NET emulates its vectors).
[<Theory>]
[<MemberData(nameof kernels)>]
let ``every kernel agrees with the reference for sizes that are not multiples of the tile`` (kernel: Gemm.GemmKernel) =
    for m in edgeSizes do
        for k in edgeSizes do
            for n in edgeSizes do
                checkGemm kernel 1 m k n

[<Theory>]
[<MemberData(nameof kernels)>]
let ``every kernel multiplies each pair of a batch`` (kernel: Gemm.GemmKernel) =
    for m, k, n in [ 1, 1, 1; 7, 9, 17; 17, 3, 65; 65, 129, 9; 9, 257, 7; 129, 17, 129 ] do
        checkGemm kernel 3 m k n

[<Theory>]
[<MemberData(nameof kernels)>]
let ``every kernel handles several k blocks and several column blocks`` (kernel: Gemm.GemmKernel) =
    checkGemm kernel 1 9 600 5 // three blocks of k: the later ones add to c
    checkGemm kernel 2 5 7 1100 // two blocks of columns
    checkGemm kernel 1 200 300 40 // several row blocks and k blocks together

[<Theory>]
[<MemberData(nameof kernels)>]
let ``every kernel gives zeros for k = 0 and nothing for empty shapes`` (kernel: Gemm.GemmKernel) =
    Assert.Equal<float[]>(Array.zeroCreate 12, Gemm.matmulBatchedWith kernel 1 3 0 4 [||] [||])
    Assert.Empty(Gemm.matmulBatchedWith kernel 0 3 4 5 [||] [||])
    Assert.Empty(Gemm.matmulBatchedWith kernel 1 0 4 5 [||] (randomData 1 20))
    Assert.Empty(Gemm.matmulBatchedWith kernel 1 3 4 0 (randomData 1 12) [||])

[<Theory>]
[<MemberData(nameof kernels)>]
let ``every kernel propagates NaN and infinity through zero coefficients`` (kernel: Gemm.GemmKernel) =
    // a is zero in column 5; row 5 of b holds NaN at column 2 and +∞ at column 30: both
    // products with a zero are NaN (IEEE), so columns 2 and 30 of every row are NaN
    let m, k, n = 19, 300, 37
    let a = Array.init (m * k) (fun q -> if q % k = 5 then 0.0 else 1.0)

    let b =
        Array.init (k * n) (fun q ->
            if q = 5 * n + 2 then nan
            elif q = 5 * n + 30 then infinity
            else 0.5)

    let product = Gemm.matmulBatchedWith kernel 1 m k n a b

    for i in 0 .. m - 1 do
        for j in 0 .. n - 1 do
            let v = product.[i * n + j]

            if j = 2 || j = 30 then
                Assert.True(Double.IsNaN v, sprintf "%A: (%d, %d) is %g, expected NaN" kernel i j v)
            else
                Assert.Equal(0.5 * float (k - 1), v)

[<Fact>]
let ``matmulBatched agrees with the reference on both sides of the GEMM threshold`` () =
    for batch, m, k, n in
        [
            1, 3, 2, 8 // k < 3: row updates
            1, 9, 40, 4 // n < 6: dot products
            1, 4, 64, 64 // the GEMM
            1, 1, 64, 32 // one row: the GEMM for 16 ≤ n < 128
            2, 64, 784, 10 // the MLP's output layer
            1, 64, 256, 129
            1, 1, 300, 300 // a vector times a matrix stays on row updates
            1, 300, 300, 1 // a matrix times a vector stays on dot products
        ] do
        checkMatmul batch m k n

// The products below take the GEMM (m ≥ 4, n ≥ 6, k ≥ 3), which reads operands through
// strides when each group of axes is equally spaced.
[<Fact>]
let ``dotGeneral reads transposed operands in place and agrees with the reference`` () =
    // contracting lhs axis 0 (a transposed lhs), rhs axis 1 (a transposed rhs), both
    checkDotGeneral [| 129; 65 |] [| 129; 17 |] [| 0 |] [| 0 |] [||] [||] [| 65; 17 |]
    checkDotGeneral [| 65; 129 |] [| 17; 129 |] [| 1 |] [| 1 |] [||] [||] [| 65; 17 |]
    checkDotGeneral [| 129; 65 |] [| 17; 129 |] [| 0 |] [| 1 |] [||] [||] [| 65; 17 |]
    // a batch axis that is not leading, free and contracting axes that merge
    checkDotGeneral [| 20; 3; 17 |] [| 3; 17; 60 |] [| 2 |] [| 1 |] [| 1 |] [| 0 |] [| 3; 20; 60 |]
    checkDotGeneral [| 4; 5; 3; 40 |] [| 3; 4; 5; 30 |] [| 0; 1 |] [| 1; 2 |] [| 2 |] [| 0 |] [| 3; 40; 30 |]

[<Fact>]
let ``dotGeneral copies operands whose axes cannot be viewed as one matrix`` () =
    // contracting axes (2, 0) of lhs are not equally spaced in that order, nor free axes (1, 3)
    checkDotGeneral [| 6; 9; 5; 4 |] [| 5; 6; 40 |] [| 2; 0 |] [| 0; 1 |] [||] [||] [| 9; 4; 40 |]
    checkDotGeneral [| 40; 30 |] [| 7; 40; 3 |] [| 0 |] [| 1 |] [||] [||] [| 30; 7; 3 |]

[<Fact>]
let ``matmulBatchedInto rejects an output of the wrong length`` () =
    let a = randomData 1 (3 * 4)
    let b = randomData 2 (4 * 5)

    let e =
        Assert.Throws<ArgumentException>(fun () -> Gemm.matmulBatchedInto 1 3 4 5 a b (Array.zeroCreate 14))

    Assert.Contains("3×5", e.Message)
