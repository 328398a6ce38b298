/// How tensors are built, read, printed, indexed and sliced, and how arithmetic broadcasts and
/// promotes dtypes.
module FunDiff.Tests.TensorTests

open Xunit
open FunDiff

let private values (t: Tensor) = Tensor.toArray t

[<Fact>]
let ``construction functions give the documented shapes and values`` () =
    Assert.Equal<int[]>([||], Tensor.shape (Tensor.scalar 2.5))
    Assert.Equal<float[]>([| 1.0; 2.0 |], values (Tensor.ofArray [| 1.0; 2.0 |]))
    Assert.Equal<int[]>([| 2; 3 |], Tensor.shape (Tensor.ofArray2D (array2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ])))

    Assert.Equal<float[]>(
        [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |],
        values (Tensor.ofArray2D (array2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]))
    )

    Assert.Equal<float[]>(
        [| 0.5; 1.5 |],
        values (
            Tensor.ofSeq (
                seq {
                    0.5
                    1.5
                }
            )
        )
    )

    Assert.Equal<float[]>(Array.zeroCreate 6, values (Tensor.zeros [| 2; 3 |]))
    Assert.Equal<float[]>(Array.create 4 1.0, values (Tensor.ones [| 4 |]))
    Assert.Equal<float[]>(Array.create 2 7.0, values (Tensor.full [| 2 |] 7.0))
    Assert.Equal<float[]>([| 0.0; 1.0; 2.0 |], values (Tensor.arange 3))
    Assert.Equal<float[]>([| 0.0; 0.25; 0.5; 0.75; 1.0 |], values (Tensor.linspace 0.0 1.0 5))
    Assert.Equal<float[]>([| 1.0; 0.0; 0.0; 1.0 |], values (Tensor.eye 2))

[<Fact>]
let ``tensors print like NumPy`` () =
    Assert.Equal("2.5", string (Tensor.scalar 2.5))
    Assert.Equal("3.0", string (Tensor.scalar 3.0))
    Assert.Equal("[1. 2. 3.]", string (Tensor.ofArray [| 1.0; 2.0; 3.0 |]))
    Assert.Equal("[[1. 2.]\n [3. 4.]]", string (Tensor.ofArray2D (array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])))
    Assert.Equal("[1.5  2.25]", string (Tensor.ofArray [| 1.5; 2.25 |]))

    Assert.Equal(
        "[[[0. 1.]\n  [2. 3.]]\n\n [[4. 5.]\n  [6. 7.]]]",
        string (Tensor.reshape [| 2; 2; 2 |] (Tensor.arange 8))
    )

    Assert.Equal("[ True False]", string (Tensor.gt (Tensor.ofArray [| 2.0; 0.0 |]) (Tensor.scalar 1.0)))

[<Fact>]
let ``stack puts tensors of any rank on a new axis 0`` () =
    let a = Tensor.ofArray2D (array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])
    let s = Tensor.stack [ a; a * 10.0 ]
    Assert.Equal<int[]>([| 2; 2; 2 |], Tensor.shape s)
    Assert.Equal<float[]>([| 1.0; 2.0; 3.0; 4.0; 10.0; 20.0; 30.0; 40.0 |], values s)
    let scalars = Tensor.stack [ Tensor.scalar 1.0; Tensor.scalar 2.0 ]
    Assert.Equal<int[]>([| 2 |], Tensor.shape scalars)

[<Fact>]
let ``indexing drops axis 0 and negative indices count from the end`` () =
    let m = Tensor.reshape [| 3; 2 |] (Tensor.arange 6)
    Assert.Equal<float[]>([| 2.0; 3.0 |], values m.[1])
    Assert.Equal<float[]>([| 4.0; 5.0 |], values m.[-1])
    Assert.Equal(3.0, float m.[1].[1])

[<Fact>]
let ``F# slices include their end and Tensor.slice excludes it`` () =
    let x = Tensor.arange 5
    Assert.Equal<float[]>([| 1.0; 2.0 |], values x.[1..2])
    Assert.Equal<float[]>([| 3.0; 4.0 |], values x.[3..])
    Assert.Equal<float[]>([| 0.0; 1.0 |], values x.[..1])
    Assert.Equal<float[]>([| 1.0; 2.0 |], values (Tensor.slice 1 3 x))
    Assert.Equal<float[]>([| 3.0; 4.0 |], values (Tensor.slice -2 5 x))
    let m = Tensor.reshape [| 3; 3 |] (Tensor.arange 9)
    Assert.Equal<float[]>([| 4.0; 5.0; 7.0; 8.0 |], values m.[1..2, 1..2])
    Assert.Equal<float[]>([| 1.0; 4.0; 7.0 |], values (Tensor.sliceAxis 1 1 2 m |> Tensor.flatten))

[<Fact>]
let ``arithmetic broadcasts like NumPy`` () =
    let row = Tensor.ofArray [| 1.0; 2.0; 3.0 |]
    let col = Tensor.reshape [| 2; 1 |] (Tensor.ofArray [| 10.0; 20.0 |])
    let s = row + col
    Assert.Equal<int[]>([| 2; 3 |], Tensor.shape s)
    Assert.Equal<float[]>([| 11.0; 12.0; 13.0; 21.0; 22.0; 23.0 |], values s)
    Assert.Equal<float[]>([| 1.0; 0.0; -1.0 |], values (2.0 - row))
    Assert.Equal<float[]>([| 0.5; 1.0; 1.5 |], values (row / 2.0))
    Assert.Equal<float[]>([| 2.0; 1.0; 2.0 / 3.0 |], values (2.0 / row))

[<Fact>]
let ``powers with float, int and tensor exponents`` () =
    let x = Tensor.ofArray [| -2.0; 3.0 |]
    Assert.Equal<float[]>([| 4.0; 9.0 |], values (x ** 2.0))
    Assert.Equal<float[]>([| -8.0; 27.0 |], values (x ** 3))
    let y = Tensor.pow (Tensor.scalar 2.0) (Tensor.ofArray [| 3.0; 0.5 |])
    Assert.Equal(8.0, (values y).[0], 12)
    Assert.Equal(sqrt 2.0, (values y).[1], 12)

[<Fact>]
let ``dtypes promote as in NumPy`` () =
    let mask = Tensor.lt (Tensor.ofArray [| 1.0; 5.0 |]) (Tensor.scalar 3.0)
    Assert.Equal(Bool, Tensor.dtype mask)
    let ints = Tensor.convert Int64 (Tensor.ofArray [| 1.7; -2.7 |])
    Assert.Equal(Int64, Tensor.dtype ints)
    Assert.Equal<float[]>([| 1.0; -2.0 |], values ints)
    Assert.Equal(Int64, Tensor.dtype (ints + ints))
    Assert.Equal(Float64, Tensor.dtype (ints + Tensor.ofArray [| 0.5; 0.5 |]))
    Assert.Equal(Float64, Tensor.dtype (ints / ints))
    Assert.Equal(Int64, Tensor.dtype (Tensor.sum mask))
    Assert.Equal(1.0, float (Tensor.sum mask))

[<Fact>]
let ``where selects elementwise and broadcasts`` () =
    let x = Tensor.ofArray [| -1.0; 2.0; -3.0 |]
    let r = Tensor.where (Tensor.gt x (Tensor.scalar 0.0)) x (Tensor.scalar 0.0)
    Assert.Equal<float[]>([| 0.0; 2.0; 0.0 |], values r)

[<Fact>]
let ``reductions sum over the requested axes`` () =
    let m = Tensor.reshape [| 2; 3 |] (Tensor.arange 6)
    Assert.Equal(15.0, float (Tensor.sum m))
    Assert.Equal<float[]>([| 3.0; 5.0; 7.0 |], values (Tensor.sumAxes [ 0 ] m))
    Assert.Equal<float[]>([| 3.0; 12.0 |], values (Tensor.sumAxes [ -1 ] m))
    Assert.Equal(2.5, float (Tensor.mean m))

[<Fact>]
let ``transpose and reshape move values as in NumPy`` () =
    let m = Tensor.reshape [| 2; 3 |] (Tensor.arange 6)
    Assert.Equal<float[]>([| 0.0; 3.0; 1.0; 4.0; 2.0; 5.0 |], values (Tensor.transpose m))
    Assert.Equal<int[]>([| 3; 2 |], Tensor.shape m.T)
    Assert.Equal<int[]>([| 3; 2 |], Tensor.shape (Tensor.reshape [| -1; 2 |] m))
    let t3 = Tensor.reshape [| 2; 3; 4 |] (Tensor.arange 24)
    let p = Tensor.transposeAxes [| 2; 0; 1 |] t3
    Assert.Equal<int[]>([| 4; 2; 3 |], Tensor.shape p)
    // p[k, i, j] = t3[i, j, k]
    Assert.Equal(float (t3.[1].[2].[3]), float (p.[3].[1].[2]))

[<Fact>]
let ``toArray2D and toScalar read values`` () =
    let a = array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]
    Assert.Equal<float[,]>(a, Tensor.toArray2D (Tensor.ofArray2D a))
    Assert.Equal(2.5, Tensor.toScalar (Tensor.scalar 2.5))
    Assert.Equal(2.5, float (Tensor.ofArray [| 2.5 |]))
