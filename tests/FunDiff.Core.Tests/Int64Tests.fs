/// int64 semantics: values are exact or the op raises (int64 is stored as float64 whole
/// numbers, exact within ±(2⁵³ − 1)); conversions of non-finite floats raise; integer powers,
/// squares and relu keep int64 as in NumPy; `grad` of an integer output raises as in JAX.
module FunDiff.Tests.Int64Tests

open Xunit
open FunDiff

let private int64Of (values: float[]) =
    Tensor.convert Int64 (Tensor.ofArray values)

let private maxExact = 9007199254740991.0 // 2^53 − 1

let private assertInt64 (expected: float[]) (t: Tensor) =
    Assert.Equal(Int64, t.DType)
    Assert.Equal<float[]>(expected, Tensor.toArray t)

[<Fact>]
let ``arithmetic that leaves the exact range raises instead of rounding`` () =
    let a = int64Of [| maxExact |]
    // the largest exact value is held; one more is 2^53, where a + 1 − a would silently be 0
    assertInt64 [| maxExact |] a
    let one = int64Of [| 1.0 |]
    assertInt64 [| maxExact - 1.0 |] (a - one)
    let e = Assert.Throws<Int64RangeException>(fun () -> a + one |> ignore)
    Assert.Contains("add", e.Message)
    Assert.Contains("9007199254740991", e.Message)

    let big = int64Of [| 1073741824.0 |] // 2^30
    let small = int64Of [| 67108864.0 |] // 2^26: its square 2^52 is exact
    assertInt64 [| 4503599627370496.0 |] (small * small)
    Assert.Throws<Int64RangeException>(fun () -> big * big |> ignore) |> ignore

    Assert.Throws<Int64RangeException>(fun () -> Tensor.sum (int64Of [| maxExact; 1.0 |]) |> ignore)
    |> ignore

    Assert.Throws<Int64RangeException>(fun () -> Tensor.convert Int64 (Tensor.scalar 9007199254740992.0) |> ignore)
    |> ignore

[<Fact>]
let ``converting NaN, infinity or 1e300 to int64 raises naming the value`` () =
    for v in [ nan; infinity; -infinity; 1e300 ] do
        let e =
            Assert.Throws<Int64RangeException>(fun () -> Tensor.convert Int64 (Tensor.ofArray [| 1.0; v |]) |> ignore)

        Assert.Contains("convert_element_type", e.Message)

    // whole values truncate toward zero, as NumPy's astype
    assertInt64 [| -2.0; 2.0; 0.0 |] (int64Of [| -2.7; 2.7; -0.3 |])

[<Fact>]
let ``pow, powConst, square and relu of int64 stay int64, as in NumPy`` () =
    let x = int64Of [| -3.0; 0.0; 5.0 |]
    assertInt64 [| 9.0; 0.0; 25.0 |] (Tensor.square x)
    assertInt64 [| -27.0; 0.0; 125.0 |] (Tensor.powConst 3.0 x)
    assertInt64 [| 1.0; 1.0; 1.0 |] (Tensor.powConst 0.0 x)
    assertInt64 [| 0.0; 0.0; 5.0 |] (Tensor.relu x)
    assertInt64 [| 9.0; 0.0; 3125.0 |] (Tensor.pow x (int64Of [| 2.0; 3.0; 5.0 |]))
    // 3^33 = 5559060566555523 < 2^53: exact
    assertInt64 [| 5559060566555523.0 |] (Tensor.powConst 33.0 (int64Of [| 3.0 |]))

    Assert.Throws<Int64RangeException>(fun () -> Tensor.powConst 34.0 (int64Of [| 3.0 |]) |> ignore)
    |> ignore

    // a fractional or negative exponent gives float64 (as JAX's float-typed exponent does)
    let root = Tensor.powConst 0.5 (int64Of [| 4.0 |])
    Assert.Equal(Float64, root.DType)
    Assert.Equal<float[]>([| 2.0 |], Tensor.toArray root)
    Assert.Equal(Float64, (Tensor.powConst -1.0 (int64Of [| 4.0 |])).DType)
    // an integer base to a negative integer exponent has no integer result: NumPy raises too
    let e =
        Assert.Throws<Int64RangeException>(fun () -> Tensor.pow x (int64Of [| 1.0; 1.0; -1.0 |]) |> ignore)

    Assert.Contains("pow", e.Message)
    // mixed: float64
    Assert.Equal(Float64, (Tensor.pow x (Tensor.scalar 2.0)).DType)

[<Fact>]
let ``grad of a function whose output is int64 or bool raises, as JAX`` () =
    let x = Tensor.ofArray [| 1.5; 2.5 |]

    let e =
        Assert.Throws<TransformException>(fun () -> grad (fun t -> Tensor.argmax t) x |> ignore)

    Assert.Contains("grad", e.Message)
    Assert.Contains("i64", e.Message)

    Assert.Throws<TransformException>(fun () ->
        grad (fun t -> Tensor.sum (Tensor.convert Int64 (t * 10.0))) x |> ignore)
    |> ignore

    Assert.Throws<TransformException>(fun () ->
        grad (fun t -> Tensor.gt (Tensor.sum t) (Tensor.scalar 0.0)) x |> ignore)
    |> ignore

[<Fact>]
let ``int64 values inside a differentiated function are exact and carry no derivative`` () =
    // an index computed from the input is piecewise constant: it contributes nothing
    let f (t: Tensor) =
        let k = Tensor.convert Float64 (Tensor.square (Tensor.convert Int64 t))
        Tensor.sum (k * t)

    let x = Tensor.ofArray [| 2.5; -3.5 |]
    Assert.Equal<float[]>([| 4.0; 9.0 |], Tensor.toArray (grad f x))
