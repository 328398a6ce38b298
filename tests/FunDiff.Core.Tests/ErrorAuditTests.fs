/// The bad-input audit of the `Tensor` module: every public op, given a bad argument (wrong
/// rank, mismatched shapes, a bad or repeated axis, an index out of range, not whole or NaN,
/// an empty tensor where one is not allowed, a negative size, a bad section count), raises a
/// FunDiffException subtype, unwrapped, before any work, whose message names the op the user
/// called, the shapes or values involved, and a fix. docs/RELIABILITY.md tabulates them.
module FunDiff.Tests.ErrorAuditTests

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness


// ---- helpers ---------------------------------------------------------------------------------

/// Asserts that `f` raises exactly a ShapeException (not a subclass, not wrapped) whose message
/// contains every one of `parts`; returns the message.
let private shapeError (parts: string list) (f: unit -> 'a) =
    let e = Assert.Throws<ShapeException>(fun () -> f () |> ignore)

    for part in parts do
        Assert.Contains(part, e.Message)

    e.Message

let private fails parts f = shapeError parts f |> ignore

let private v3 () = Tensor.ofArray [| 1.0; 2.0; 3.0 |]
let private v2 () = Tensor.ofArray [| 1.0; 2.0 |]

let private m23 () =
    tensorOf [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]

let private m34 () = Tensor.zeros [| 3; 4 |]
let private empty () = Tensor.zeros [| 0 |]
let private emptyColumns () = Tensor.zeros [| 2; 0 |]
let private scalar () = Tensor.scalar 2.0

let private int64Of (xs: float[]) =
    Tensor.convert Int64 (Tensor.ofArray xs)

// ---- construction ------------------------------------------------------------------------------

[<Fact>]
let ``zeros of a negative size names zeros, the shape and the axis`` () =
    fails [ "zeros:"; "[2, -1]"; "-1 at axis 1"; "0 or more" ] (fun () -> Tensor.zeros [| 2; -1 |])

[<Fact>]
let ``ones of a negative size names ones`` () =
    fails [ "ones:"; "[-3]"; "negative dimension" ] (fun () -> Tensor.ones [| -3 |])

[<Fact>]
let ``full of a negative size names full`` () =
    fails [ "full:"; "[-3]"; "negative dimension" ] (fun () -> Tensor.full [| -3 |] 1.0)

[<Fact>]
let ``arange of a negative count names arange and n`` () =
    fails [ "arange:"; "n = -1"; "non-negative" ] (fun () -> Tensor.arange -1)

[<Fact>]
let ``linspace of a negative count names linspace and n`` () =
    fails [ "linspace:"; "n = -2" ] (fun () -> Tensor.linspace 0.0 1.0 -2)

[<Fact>]
let ``eye of a negative size names eye and n`` () =
    fails [ "eye:"; "n = -2" ] (fun () -> Tensor.eye -2)

[<Fact>]
let ``stack of no tensors says the list is empty`` () =
    fails [ "stack:"; "empty"; "at least one tensor" ] (fun () -> Tensor.stack [])

[<Fact>]
let ``stack of tensors of different shapes names the odd one out and both shapes`` () =
    fails
        [
            "stack:"
            "tensor 0 has shape [3]"
            "tensor 2 has shape [2]"
            "Tensor.concat"
        ]
        (fun () -> Tensor.stack [ v3 (); v3 (); v2 () ])

[<Fact>]
let ``stackAxis past the result's rank names the rank of the tensors and of the result`` () =
    fails [ "stackAxis:"; "axis 3"; "tensors of rank 1"; "result has rank 2"; "-2..1" ] (fun () ->
        Tensor.stackAxis 3 [ v3 (); v3 () ])

[<Fact>]
let ``stackAxis with a negative axis out of range raises`` () =
    fails [ "stackAxis:"; "axis -3" ] (fun () -> Tensor.stackAxis -3 [ v3 (); v3 () ])

[<Fact>]
let ``concat of no tensors says the list is empty`` () =
    fails [ "concat:"; "empty" ] (fun () -> Tensor.concat 0 [])

[<Fact>]
let ``concat of tensors of different ranks names both shapes and ranks`` () =
    fails [ "concat:"; "[3] (rank 1)"; "[2, 3] (rank 2)"; "Tensor.expandDims" ] (fun () ->
        Tensor.concat 0 [ v3 (); m23 () ])

[<Fact>]
let ``concat of shapes that differ off the joined axis names the axis`` () =
    fails [ "concat:"; "[2, 3]"; "[3, 4]"; "differ on axis 1"; "joined axis 0" ] (fun () ->
        Tensor.concat 0 [ m23 (); m34 () ])

[<Fact>]
let ``concat along an axis out of range names concat, the axis and the rank`` () =
    fails [ "concat:"; "axis 2"; "rank 2"; "-2..1" ] (fun () -> Tensor.concat 2 [ m23 (); m23 () ])

[<Fact>]
let ``concat of a single tensor still checks the axis`` () =
    fails [ "concat:"; "axis 2" ] (fun () -> Tensor.concat 2 [ m23 () ])

[<Fact>]
let ``concat of scalars points to stack`` () =
    fails [ "concat:"; "scalar"; "Tensor.stack" ] (fun () -> Tensor.concat 0 [ scalar (); scalar () ])

// ---- reading -----------------------------------------------------------------------------------

[<Fact>]
let ``toArray2D of a vector names its shape and a fix`` () =
    fails [ "toArray2D:"; "rank-2"; "[3]"; "Tensor.reshape" ] (fun () -> Tensor.toArray2D (v3 ()))

[<Fact>]
let ``toScalar of a vector names its shape and the element count`` () =
    fails [ "ToScalar:"; "[3]"; "3 elements"; "Tensor.sum" ] (fun () -> Tensor.toScalar (v3 ()))

// ---- elementwise: shapes that cannot broadcast ---------------------------------------------------

let private broadcastParts op =
    [ op + ": shapes [3] and [2] cannot broadcast"; "3 vs 2"; "equal or 1" ]

[<Fact>]
let ``add of shapes that cannot broadcast names add and both shapes`` () =
    fails (broadcastParts "add") (fun () -> Tensor.add (v3 ()) (v2 ()))

[<Fact>]
let ``sub of shapes that cannot broadcast names sub`` () =
    fails (broadcastParts "sub") (fun () -> Tensor.sub (v3 ()) (v2 ()))

[<Fact>]
let ``mul of shapes that cannot broadcast names mul`` () =
    fails (broadcastParts "mul") (fun () -> Tensor.mul (v3 ()) (v2 ()))

[<Fact>]
let ``div of shapes that cannot broadcast names div`` () =
    fails (broadcastParts "div") (fun () -> Tensor.div (v3 ()) (v2 ()))

[<Fact>]
let ``pow of shapes that cannot broadcast names pow`` () =
    fails (broadcastParts "pow") (fun () -> Tensor.pow (v3 ()) (v2 ()))

[<Fact>]
let ``maximum of shapes that cannot broadcast names maximum, not the max primitive`` () =
    fails (broadcastParts "maximum") (fun () -> Tensor.maximum (v3 ()) (v2 ()))

[<Fact>]
let ``minimum of shapes that cannot broadcast names minimum`` () =
    fails (broadcastParts "minimum") (fun () -> Tensor.minimum (v3 ()) (v2 ()))

[<Fact>]
let ``atan2 of shapes that cannot broadcast names atan2`` () =
    fails (broadcastParts "atan2") (fun () -> Tensor.atan2 (v3 ()) (v2 ()))

[<Fact>]
let ``a comparison of shapes that cannot broadcast names it`` () =
    for op, f in
        [
            "lt", Tensor.lt
            "le", Tensor.le
            "gt", Tensor.gt
            "ge", Tensor.ge
            "eq", Tensor.eq
            "ne", Tensor.ne
        ] do
        fails (broadcastParts op) (fun () -> f (v3 ()) (v2 ()))

[<Fact>]
let ``where with branches that cannot broadcast names where`` () =
    fails (broadcastParts "where") (fun () -> Tensor.where (Tensor.gt (v3 ()) (scalar ())) (v3 ()) (v2 ()))

[<Fact>]
let ``where with a condition that cannot broadcast names where`` () =
    fails [ "where: shapes [2] and [3] cannot broadcast" ] (fun () ->
        Tensor.where (Tensor.gt (v2 ()) (scalar ())) (v3 ()) (v3 ()))

[<Fact>]
let ``the operators name the primitive they stand for`` () =
    fails (broadcastParts "add") (fun () -> v3 () + v2 ())
    fails (broadcastParts "mul") (fun () -> v3 () * v2 ())

[<Fact>]
let ``clip with lo greater than hi says to swap them`` () =
    fails [ "clip:"; "lo = 2"; "hi = 1"; "Swap" ] (fun () -> Tensor.clip 2.0 1.0 (v3 ()))

[<Fact>]
let ``clip with a NaN bound says NaN`` () =
    fails [ "clip:"; "NaN"; "infinity" ] (fun () -> Tensor.clip nan 1.0 (v3 ()))

// ---- reductions: bad and repeated axes -------------------------------------------------------------

let private badAxis op axis =
    [
        sprintf "%s: axis %d is out of range for a tensor of rank 2 (valid axes are -2..1)" op axis
    ]

let private repeatedAxis op axis =
    [ sprintf "%s: axis %d is repeated" op axis; "Give each axis once" ]

[<Fact>]
let ``sumAxes with an axis out of range names sumAxes, the axis and the rank`` () =
    fails (badAxis "sumAxes" 2) (fun () -> Tensor.sumAxes [ 2 ] (m23 ()))

[<Fact>]
let ``sumAxes with an axis given twice (0 and -2) names the repeated axis`` () =
    fails (repeatedAxis "sumAxes" 0 @ [ "[0, -2]" ]) (fun () -> Tensor.sumAxes [ 0; -2 ] (m23 ()))

[<Fact>]
let ``sumKeepDims with an axis out of range names sumKeepDims`` () =
    fails (badAxis "sumKeepDims" 5) (fun () -> Tensor.sumKeepDims [ 5 ] (m23 ()))

[<Fact>]
let ``meanAxes with an axis out of range names meanAxes, not sum`` () =
    fails (badAxis "meanAxes" 3) (fun () -> Tensor.meanAxes [ 3 ] (m23 ()))

[<Fact>]
let ``meanKeepDims with a repeated axis names meanKeepDims`` () =
    fails (repeatedAxis "meanKeepDims" 1) (fun () -> Tensor.meanKeepDims [ 1; 1 ] (m23 ()))

[<Fact>]
let ``maxAxes with an axis out of range names maxAxes, not reduce_max`` () =
    let message =
        shapeError (badAxis "maxAxes" 4) (fun () -> Tensor.maxAxes [ 4 ] (m23 ()))

    Assert.DoesNotContain("reduce_max", message)

[<Fact>]
let ``maxKeepDims with a repeated axis names maxKeepDims`` () =
    fails (repeatedAxis "maxKeepDims" 0) (fun () -> Tensor.maxKeepDims [ 0; 0 ] (m23 ()))

[<Fact>]
let ``minAxes with a negative axis out of range names minAxes`` () =
    fails (badAxis "minAxes" -3) (fun () -> Tensor.minAxes [ -3 ] (m23 ()))

[<Fact>]
let ``minKeepDims with an axis out of range names minKeepDims`` () =
    fails (badAxis "minKeepDims" 2) (fun () -> Tensor.minKeepDims [ 2 ] (m23 ()))

[<Fact>]
let ``prodAxes with an axis out of range names prodAxes, not reduce_prod`` () =
    fails (badAxis "prodAxes" 2) (fun () -> Tensor.prodAxes [ 2 ] (m23 ()))

[<Fact>]
let ``prodKeepDims with a repeated axis names prodKeepDims`` () =
    fails (repeatedAxis "prodKeepDims" 0) (fun () -> Tensor.prodKeepDims [ 0; 0 ] (m23 ()))

[<Fact>]
let ``varAxes with an axis out of range names varAxes`` () =
    fails (badAxis "varAxes" 2) (fun () -> Tensor.varAxes [ 2 ] (m23 ()))

[<Fact>]
let ``varKeepDims with an axis out of range names varKeepDims`` () =
    fails (badAxis "varKeepDims" 2) (fun () -> Tensor.varKeepDims [ 2 ] (m23 ()))

[<Fact>]
let ``stdAxes with an axis out of range names stdAxes`` () =
    fails (badAxis "stdAxes" 2) (fun () -> Tensor.stdAxes [ 2 ] (m23 ()))

[<Fact>]
let ``stdKeepDims with an axis out of range names stdKeepDims`` () =
    fails (badAxis "stdKeepDims" -5) (fun () -> Tensor.stdKeepDims [ -5 ] (m23 ()))

[<Fact>]
let ``logSumExpAxes with an axis out of range names logSumExpAxes`` () =
    fails (badAxis "logSumExpAxes" 2) (fun () -> Tensor.logSumExpAxes [ 2 ] (m23 ()))

[<Fact>]
let ``logSumExpAxes with a repeated axis names logSumExpAxes`` () =
    fails (repeatedAxis "logSumExpAxes" 0) (fun () -> Tensor.logSumExpAxes [ 0; 0 ] (m23 ()))

[<Fact>]
let ``logSumExpKeepDims with an axis out of range names logSumExpKeepDims, not reduce_max`` () =
    fails (badAxis "logSumExpKeepDims" 2) (fun () -> Tensor.logSumExpKeepDims [ 2 ] (m23 ()))

[<Fact>]
let ``softmaxAxis with an axis out of range names softmaxAxis, not reduce_max`` () =
    fails (badAxis "softmaxAxis" 2) (fun () -> Tensor.softmaxAxis 2 (m23 ()))

[<Fact>]
let ``logSoftmaxAxis with an axis out of range names logSoftmaxAxis`` () =
    fails (badAxis "logSoftmaxAxis" 2) (fun () -> Tensor.logSoftmaxAxis 2 (m23 ()))

[<Fact>]
let ``argmaxAxis with an axis out of range names argmaxAxis`` () =
    fails (badAxis "argmaxAxis" 2) (fun () -> Tensor.argmaxAxis 2 (m23 ()))

[<Fact>]
let ``argminAxis with an axis out of range names argminAxis`` () =
    fails (badAxis "argminAxis" -3) (fun () -> Tensor.argminAxis -3 (m23 ()))

[<Fact>]
let ``cumsumAxis with an axis out of range names cumsumAxis`` () =
    fails (badAxis "cumsumAxis" 2) (fun () -> Tensor.cumsumAxis 2 (m23 ()))

[<Fact>]
let ``an axis of a scalar says a scalar has no axes and how to get one`` () =
    fails
        [
            "argmaxAxis: axis 0 is out of range"
            "scalar (rank 0) has no axes"
            "Reshape it to [1]"
        ]
        (fun () -> Tensor.argmaxAxis 0 (scalar ()))

// ---- reductions: empty tensors and empty axes ----------------------------------------------------

let private emptyAxis op =
    [ op + ": axis 0 of shape [0] is empty"; "at least one element" ]

[<Fact>]
let ``max of an empty tensor names max and the shape`` () =
    fails (emptyAxis "max") (fun () -> Tensor.max (empty ()))

[<Fact>]
let ``min of an empty tensor names min`` () =
    fails (emptyAxis "min") (fun () -> Tensor.min (empty ()))

[<Fact>]
let ``maxAxes over an empty axis names the axis and the shape`` () =
    fails [ "maxAxes: axis 1 of shape [2, 0] is empty" ] (fun () -> Tensor.maxAxes [ 1 ] (emptyColumns ()))

[<Fact>]
let ``minKeepDims over an empty axis names minKeepDims`` () =
    fails [ "minKeepDims: axis 1 of shape [2, 0] is empty" ] (fun () -> Tensor.minKeepDims [ 1 ] (emptyColumns ()))

[<Fact>]
let ``logSumExp of an empty tensor names logSumExp, not reduce_max`` () =
    fails (emptyAxis "logSumExp") (fun () -> Tensor.logSumExp (empty ()))

[<Fact>]
let ``softmax of an empty tensor names softmax`` () =
    fails (emptyAxis "softmax") (fun () -> Tensor.softmax (empty ()))

[<Fact>]
let ``logSoftmax of an empty tensor names logSoftmax`` () =
    fails (emptyAxis "logSoftmax") (fun () -> Tensor.logSoftmax (empty ()))

[<Fact>]
let ``softmax of a scalar says it needs an axis`` () =
    fails [ "softmax:"; "scalar"; "[1]" ] (fun () -> Tensor.softmax (scalar ()))

[<Fact>]
let ``logSoftmax of a scalar names logSoftmax`` () =
    fails [ "logSoftmax:"; "scalar" ] (fun () -> Tensor.logSoftmax (scalar ()))

[<Fact>]
let ``argmax of an empty tensor names argmax and the shape`` () =
    fails [ "argmax: the tensor is empty (shape [0])" ] (fun () -> Tensor.argmax (empty ()))

[<Fact>]
let ``argmin of an empty tensor names argmin`` () =
    fails [ "argmin: the tensor is empty (shape [0])" ] (fun () -> Tensor.argmin (empty ()))

[<Fact>]
let ``argmaxAxis over an empty axis names argmaxAxis`` () =
    fails [ "argmaxAxis: axis 1 of shape [2, 0] is empty" ] (fun () -> Tensor.argmaxAxis 1 (emptyColumns ()))

[<Fact>]
let ``the C# Max and Min members of an empty tensor raise instead of returning -inf and inf`` () =
    fails [ "reduce_max: axis 0 of shape [0] is empty" ] (fun () -> (empty ()).Max())
    fails [ "reduce_min: axis 1 of shape [2, 0] is empty" ] (fun () -> (emptyColumns ()).Min(1))

[<Fact>]
let ``reductions with an identity accept an empty tensor, as NumPy`` () =
    Assert.Equal(0.0, Tensor.toScalar (Tensor.sum (empty ())))
    Assert.Equal(1.0, Tensor.toScalar (Tensor.prod (empty ())))
    // 0 / 0: NaN, as NumPy's mean (which also warns) and JAX's
    Assert.True(Double.IsNaN(Tensor.toScalar (Tensor.mean (empty ()))))
    Assert.True(Double.IsNaN(Tensor.toScalar (Tensor.var (empty ()))))

// ---- linear algebra ------------------------------------------------------------------------------

[<Fact>]
let ``dot of vectors of different lengths names dot, both shapes and both sizes`` () =
    fails [ "dot: shapes [3] and [2] are not aligned"; "size 3"; "size 2" ] (fun () -> Tensor.dot (v3 ()) (v2 ()))

[<Fact>]
let ``dot of matrices that do not chain names the second-to-last axis`` () =
    fails [ "dot: shapes [2, 3] and [2, 3]"; "second-to-last axis"; "transposing" ] (fun () ->
        Tensor.dot (m23 ()) (m23 ()))

[<Fact>]
let ``matmul of a scalar names matmul and says to use *`` () =
    fails [ "matmul:"; "scalars"; "[]"; "[3]"; "use *" ] (fun () -> Tensor.matmul (scalar ()) (v3 ()))

[<Fact>]
let ``matmul of matrices that do not chain names matmul, not dot_general`` () =
    let message =
        shapeError
            [
                "matmul: shapes [2, 3] and [2, 3] do not match"
                "3 columns vs 2 rows"
                "Transpose"
            ]
            (fun () -> Tensor.matmul (m23 ()) (m23 ()))

    Assert.DoesNotContain("dot_general", message)

[<Fact>]
let ``matmul of a vector and a matrix that do not chain names both shapes`` () =
    fails [ "matmul: shapes [2] and [3, 4]" ] (fun () -> Tensor.matmul (v2 ()) (m34 ()))

[<Fact>]
let ``matmul with batch axes that cannot broadcast names the full shapes and the batch axes`` () =
    fails [ "matmul:"; "[2, 3, 4] and [3, 4, 5]"; "batch axes"; "[2] and [3]" ] (fun () ->
        Tensor.matmul (Tensor.zeros [| 2; 3; 4 |]) (Tensor.zeros [| 3; 4; 5 |]))

[<Fact>]
let ``diag of a scalar names diag and the rank`` () =
    fails [ "diag:"; "rank 0" ] (fun () -> Tensor.diag (scalar ()))

[<Fact>]
let ``diag of a rank-3 tensor names the shape and a fix`` () =
    fails [ "diag:"; "rank 3"; "[2, 3, 4]"; "Reshape" ] (fun () -> Tensor.diag (Tensor.zeros [| 2; 3; 4 |]))

[<Fact>]
let ``trace of a vector names trace and the shape`` () =
    fails [ "trace:"; "2-d"; "[3]" ] (fun () -> Tensor.trace (v3 ()))

// ---- shapes --------------------------------------------------------------------------------------

[<Fact>]
let ``reshape to another element count names both shapes and counts`` () =
    fails [ "reshape: cannot reshape [2, 3] (6 elements) to [4] (4 elements)"; "-1" ] (fun () ->
        Tensor.reshape [| 4 |] (m23 ()))

[<Fact>]
let ``reshape to negative sizes whose product matches still raises`` () =
    fails [ "reshape:"; "[-2, -3]"; "negative dimension (-2 at axis 0)" ] (fun () ->
        Tensor.reshape [| -2; -3 |] (m23 ()))

[<Fact>]
let ``reshape with two -1 says at most one`` () =
    fails [ "reshape:"; "at most one -1"; "[-1, -1]" ] (fun () -> Tensor.reshape [| -1; -1 |] (m23 ()))

[<Fact>]
let ``reshape with a -1 that cannot be inferred names the shape and the count`` () =
    fails [ "reshape:"; "cannot infer -1 in [-1, 4] for 6 elements" ] (fun () -> Tensor.reshape [| -1; 4 |] (m23 ()))

[<Fact>]
let ``transposeAxes with too few axes names the permutation and the rank`` () =
    fails [ "transposeAxes: [0] is not a permutation"; "rank-2"; "0..1 exactly once" ] (fun () ->
        Tensor.transposeAxes [| 0 |] (m23 ()))

[<Fact>]
let ``transposeAxes with a repeated axis raises`` () =
    fails [ "transposeAxes: [0, 0] is not a permutation" ] (fun () -> Tensor.transposeAxes [| 0; 0 |] (m23 ()))

[<Fact>]
let ``transposeAxes with an axis out of range names it`` () =
    fails (badAxis "transposeAxes" 2) (fun () -> Tensor.transposeAxes [| 0; 2 |] (m23 ()))

[<Fact>]
let ``broadcastTo an incompatible shape names both shapes`` () =
    fails [ "broadcastTo:"; "[2, 3]"; "[2, 4]"; "cannot broadcast" ] (fun () -> Tensor.broadcastTo [| 2; 4 |] (m23 ()))

[<Fact>]
let ``broadcastTo a lower rank names the shape it would need`` () =
    fails [ "broadcastTo: shape [2, 3] cannot broadcast to [3]" ] (fun () -> Tensor.broadcastTo [| 3 |] (m23 ()))

[<Fact>]
let ``broadcastTo a negative size raises a ShapeException, not an OverflowException`` () =
    fails [ "broadcastTo:"; "[-1]"; "negative dimension" ] (fun () -> Tensor.broadcastTo [| -1 |] (scalar ()))
    fails [ "broadcastTo:"; "[-2, 3]" ] (fun () -> Tensor.broadcastTo [| -2; 3 |] (v3 ()))

[<Fact>]
let ``expandDims past the result's rank names both ranks`` () =
    fails [ "expandDims: axis 4"; "rank 2"; "result has rank 3"; "-3..2" ] (fun () -> Tensor.expandDims 4 (m23 ()))

[<Fact>]
let ``slice of a scalar says a scalar has no axes`` () =
    fails [ "slice: axis 0"; "scalar" ] (fun () -> Tensor.slice 0 1 (scalar ()))

[<Fact>]
let ``sliceAxis with an axis out of range names sliceAxis`` () =
    fails (badAxis "sliceAxis" 2) (fun () -> Tensor.sliceAxis 2 0 1 (m23 ()))

[<Fact>]
let ``slice bounds out of range clamp, as NumPy`` () =
    Assert.Equal<int[]>([| 0 |], (Tensor.slice 5 10 (v3 ())).Shape)
    Assert.Equal<float[]>([| 2.0; 3.0 |], values (Tensor.slice -2 100 (v3 ())))

[<Fact>]
let ``index out of range names the index, the axis and its size`` () =
    fails [ "index: index 5 is out of range for axis 0 of size 3" ] (fun () -> Tensor.index 5 (v3 ()))

[<Fact>]
let ``a negative index out of range names it`` () =
    fails [ "index -4 is out of range for axis 0 of size 3" ] (fun () -> Tensor.index -4 (v3 ()))

[<Fact>]
let ``index of a scalar says a scalar has no axis 0`` () =
    fails [ "index:"; "scalar has no axis 0"; "toScalar" ] (fun () -> Tensor.index 0 (scalar ()))

[<Fact>]
let ``F# slicing out of range names the bounds, the axis and its size`` () =
    fails [ "slice: 1..5 is out of range for axis 0 of size 3" ] (fun () -> (v3 ()).[1..5])

[<Fact>]
let ``the C# Slice out of range names the count, the start and the size`` () =
    fails [ "Slice: 5 elements from 2"; "axis 0 of size 3" ] (fun () -> (v3 ()).Slice(2, 5))

[<Fact>]
let ``squeezeAxis of an axis whose size is not 1 names the axis, its size and the shape`` () =
    fails [ "squeezeAxis: axis 0 has size 2, not 1 (shape [2, 3])"; "Tensor.squeeze" ] (fun () ->
        Tensor.squeezeAxis 0 (m23 ()))

[<Fact>]
let ``squeezeAxis with an axis out of range names squeezeAxis`` () =
    fails (badAxis "squeezeAxis" 3) (fun () -> Tensor.squeezeAxis 3 (m23 ()))

[<Fact>]
let ``split into zero sections lists the valid section counts`` () =
    fails
        [
            "split: axis 0 of size 3 cannot be split into 0 equal sections"
            "positive divisor of 3 (1, 3)"
        ]
        (fun () -> Tensor.split 0 (v3 ()))

[<Fact>]
let ``split into a negative number of sections raises`` () =
    fails [ "split:"; "into -1 equal sections" ] (fun () -> Tensor.split -1 (v3 ()))

[<Fact>]
let ``split into a count that does not divide the size lists the divisors`` () =
    fails [ "split:"; "size 6"; "into 4 equal sections"; "(1, 2, 3, 6)" ] (fun () -> Tensor.split 4 (Tensor.arange 6))

[<Fact>]
let ``splitAxis with an axis out of range names splitAxis`` () =
    fails (badAxis "splitAxis" 2) (fun () -> Tensor.splitAxis 1 2 (m23 ()))

[<Fact>]
let ``split of a scalar says a scalar has no axes`` () =
    fails [ "split: axis 0"; "scalar" ] (fun () -> Tensor.split 1 (scalar ()))

// ---- indices: take, takeAxis, oneHot --------------------------------------------------------------

[<Fact>]
let ``take with an index out of range names the index, the axis and its size`` () =
    fails
        [
            "take: index 5 is out of range for axis 0 of size 3"
            "valid indices are -3..2"
        ]
        (fun () -> Tensor.take (int64Of [| 0.0; 5.0 |]) (v3 ()))

[<Fact>]
let ``take on a matrix says the axis is the flattened tensor's`` () =
    fails
        [
            "take: index 6 is out of range for axis 0 of size 6"
            "flattened from shape [2, 3]"
        ]
        (fun () -> Tensor.take (int64Of [| 6.0 |]) (m23 ()))

[<Fact>]
let ``take with a float index of 1.5 says it is not a whole number`` () =
    fails [ "take: index 1.5 is not a whole number"; "axis 0 of size 3"; "int64" ] (fun () ->
        Tensor.take (Tensor.ofArray [| 1.5 |]) (v3 ()))

[<Fact>]
let ``take with a NaN index says NaN`` () =
    fails [ "take: index NaN"; "axis 0 of size 3" ] (fun () -> Tensor.take (Tensor.ofArray [| nan |]) (v3 ()))

[<Fact>]
let ``take with an infinite index names it, not a saturated integer`` () =
    let message =
        shapeError [ "take: index Infinity is out of range for axis 0 of size 3" ] (fun () ->
            Tensor.take (Tensor.ofArray [| infinity |]) (v3 ()))

    Assert.DoesNotContain("2147483647", message)

[<Fact>]
let ``take with a huge index names it, not a saturated integer`` () =
    let message =
        shapeError [ "out of range for axis 0 of size 3" ] (fun () -> Tensor.take (Tensor.ofArray [| 1e20 |]) (v3 ()))

    Assert.DoesNotContain("2147483647", message)

[<Fact>]
let ``take with bool indices points to where`` () =
    fails [ "take:"; "bool"; "Tensor.where" ] (fun () -> Tensor.take (Tensor.gt (v3 ()) (scalar ())) (v3 ()))

[<Fact>]
let ``take from an empty tensor says no index is valid`` () =
    fails [ "take: index 0 is out of range for axis 0 of size 0"; "empty" ] (fun () ->
        Tensor.take (int64Of [| 0.0 |]) (empty ()))

[<Fact>]
let ``takeAxis with an index out of range names the index, the axis and its size`` () =
    fails [ "takeAxis: index 3 is out of range for axis 1 of size 3" ] (fun () ->
        Tensor.takeAxis 1 (int64Of [| 3.0 |]) (m23 ()))

[<Fact>]
let ``takeAxis with a float index of 0.5 says it is not a whole number`` () =
    fails [ "takeAxis: index 0.5 is not a whole number"; "axis 1 of size 3" ] (fun () ->
        Tensor.takeAxis 1 (Tensor.ofArray [| 0.5 |]) (m23 ()))

[<Fact>]
let ``takeAxis with an axis out of range names takeAxis`` () =
    fails (badAxis "takeAxis" 2) (fun () -> Tensor.takeAxis 2 (int64Of [| 0.0 |]) (m23 ()))

[<Fact>]
let ``take with whole float indices still works`` () =
    Assert.Equal<float[]>([| 3.0; 1.0 |], values (Tensor.take (Tensor.ofArray [| 2.0; -3.0 |]) (v3 ())))

[<Fact>]
let ``oneHot of zero classes names n`` () =
    fails [ "oneHot:"; "positive"; "got 0" ] (fun () -> Tensor.oneHot 0 (v3 ()))

[<Fact>]
let ``oneHot of a label of 1.5 names the label and the valid labels`` () =
    fails [ "oneHot: label 1.5"; "3 classes"; "0..2" ] (fun () -> Tensor.oneHot 3 (Tensor.ofArray [| 1.5 |]))

[<Fact>]
let ``oneHot of a NaN label names it`` () =
    fails [ "oneHot: label NaN" ] (fun () -> Tensor.oneHot 3 (Tensor.ofArray [| nan |]))

[<Fact>]
let ``oneHot of a label out of range raises instead of giving a row of zeros`` () =
    fails [ "oneHot: label 5"; "0..2" ] (fun () -> Tensor.oneHot 3 (int64Of [| 5.0 |]))
    fails [ "oneHot: label -1"; "0..2" ] (fun () -> Tensor.oneHot 3 (int64Of [| -1.0 |]))

// ---- the C# extension methods alias the module, and so its checks ---------------------------------

[<Fact>]
let ``the C# extension methods raise the module's errors`` () =
    fails [ "softmaxAxis: axis 2" ] (fun () -> (m23 ()).Softmax(2))
    fails [ "matmul: shapes [2, 3] and [2, 3]" ] (fun () -> (m23 ()).MatMul(m23 ()))
    fails [ "splitAxis:"; "cannot be split into 2" ] (fun () -> (v3 ()).Split(2, 0))
    fails [ "take: index 1.5" ] (fun () -> (v3 ()).Take(Tensor.ofArray [| 1.5 |]))
    fails [ "oneHot: label 7" ] (fun () -> (int64Of [| 7.0 |]).OneHot(3))

// ---- inside transforms: the same errors, unwrapped -------------------------------------------------

[<Fact>]
let ``a shape error inside grad reaches the caller as the same ShapeException`` () =
    fails (broadcastParts "add") (fun () -> grad (fun x -> Tensor.sum (x + Tensor.zeros [| 2 |])) (v3 ()))

[<Fact>]
let ``a shape error inside jvp, makeIR and hessian reaches the caller unwrapped`` () =
    let f (x: Tensor) =
        Tensor.sum (Tensor.matmul x (Tensor.zeros [| 2; 2 |]))

    fails [ "matmul: shapes [3] and [2, 2]" ] (fun () -> jvp f (v3 ()) (v3 ()))
    fails [ "matmul: shapes [3] and [2, 2]" ] (fun () -> makeIR f (v3 ()))
    fails [ "matmul: shapes [3] and [2, 2]" ] (fun () -> hessian f (v3 ()))

[<Fact>]
let ``an index out of range inside grad names the index, the axis and its size`` () =
    fails [ "take: index 7 is out of range for axis 0 of size 3" ] (fun () ->
        grad (fun x -> Tensor.sum (Tensor.take (int64Of [| 7.0 |]) x)) (v3 ()))

[<Fact>]
let ``a float index of 1.5 inside grad raises`` () =
    fails [ "take: index 1.5 is not a whole number" ] (fun () ->
        grad (fun x -> Tensor.sum (Tensor.take (Tensor.ofArray [| 1.5 |]) x)) (v3 ()))

[<Fact>]
let ``float indices traced by jvp are checked through their primal`` () =
    fails [ "take: index 1.5 is not a whole number" ] (fun () ->
        jvp (fun i -> Tensor.take i (v3 ())) (Tensor.ofArray [| 1.5 |]) (Tensor.ofArray [| 1.0 |]))

[<Fact>]
let ``an index out of range in a program staged by makeIR raises when the program runs`` () =
    let program = makeIR (fun x -> Tensor.take (int64Of [| 7.0 |]) x) (v3 ())
    fails [ "take: index 7 is out of range for axis 0 of size 3" ] (fun () -> Program.eval program [| v3 () |])

[<Fact>]
let ``an exception of the user's own function inside grad is not wrapped`` () =
    Assert.Throws<InvalidOperationException>(fun () ->
        grad (fun (x: Tensor) -> if true then invalidOp "mine" else x) (v3 ()) |> ignore)
    |> ignore

[<Fact>]
let ``a shape error inside Tree.grad reaches the caller unwrapped`` () =
    fails [ "add: shapes [3] and [2]" ] (fun () ->
        Tree.grad (fun (a: Tensor, b: Tensor) -> Tensor.sum (a + b)) (v3 (), v2 ()))

// ---- sizes that overflow ---------------------------------------------------------------------------

[<Fact>]
let ``zeros of a shape with more elements than an array can hold raises instead of wrapping to 0`` () =
    // 65536 × 65536 = 2³², which wraps to 0 in int arithmetic
    fails [ "zeros: shape [65536, 65536] has more than"; "elements" ] (fun () -> Tensor.zeros [| 65536; 65536 |])

[<Fact>]
let ``eye of an n whose square overflows names eye`` () =
    fails [ "eye: shape [70000, 70000]"; "elements" ] (fun () -> Tensor.eye 70000)

[<Fact>]
let ``broadcasting to a shape that overflows names the op`` () =
    fails [ "add: shape [65536, 65536] has more than" ] (fun () ->
        Tensor.zeros [| 65536; 1 |] + Tensor.zeros [| 1; 65536 |])

[<Fact>]
let ``an outer product whose size overflows raises a ShapeException`` () =
    fails [ "shape [65536, 65536] has more than" ] (fun () ->
        Tensor.outer (Tensor.zeros [| 65536 |]) (Tensor.zeros [| 65536 |]))

[<Fact>]
let ``a shape with a zero dimension is empty however large the others are`` () =
    Assert.Equal(0, (Tensor.zeros [| 65536; 65536; 0 |]).Size)

[<Fact>]
let ``the C# ArgMax of an empty tensor names argmax and the shape`` () =
    fails [ "argmax: axis 0 of shape [0] is empty" ] (fun () -> (empty ()).ArgMax())

// ---- null arguments: a sweep of the public API -------------------------------------------------------

/// Values for the parameters that are not being tested (they are never read: the null check of
/// the tested parameter must come first).
type NullSweepDummies =
    /// The function `fun _ -> value`, for any function parameter.
    static member Constant<'a, 'b>(value: 'b) : 'a -> 'b = fun _ -> value

/// A type of no tree meaning, for instantiating `Tree.register` without registering anything
/// that matters.
type NullSweepNode = { Child: Tensor }

module private NullSweep =
    open System.Reflection
    open Microsoft.FSharp.Reflection

    let private vector () = Tensor.ofArray [| 1.0; 2.0 |]

    /// A non-null value of a parameter type.
    let rec dummy (t: Type) : obj =
        if t = typeof<Tensor> then
            box (vector ())
        elif t = typeof<Tensor[]> then
            box [| vector () |]
        elif t = typeof<Tensor list> then
            box [ vector () ]
        elif t = typeof<int[]> then
            box [| 2 |]
        elif t = typeof<int list> then
            box [ 0 ]
        elif t = typeof<float[]> then
            box [| 1.0; 2.0 |]
        elif t = typeof<float[,]> then
            box (array2D [ [ 1.0 ] ])
        elif t = typeof<seq<float>> then
            box (Seq.ofList [ 1.0 ])
        elif t = typeof<string> then
            box "name"
        elif t = typeof<Program> then
            box (makeIR sin (vector ()))
        elif t = typeof<TreeDef> then
            box (snd (Tree.flatten (vector ())))
        elif t = typeof<DType> then
            box Float64
        elif t = typeof<Primitive> then
            box (Primitive.define "null_sweep" (fun xs -> xs.[0]) (fun a -> a.[0]) (fun _ ts _ -> ts.[0]) None)
        elif t = typeof<unit> then
            null
        elif t = typeof<obj> then
            box (vector ())
        elif t = typeof<Aval> then
            box (vector ()).Aval
        elif t = typeof<Params> then
            box Params.Empty
        elif t = typeof<VmapAxis> then
            box (Along 0)
        elif t = typeof<ConvPadding> then
            box ConvPadding.Valid
        elif t.IsArray && t.GetArrayRank() = 1 then
            let a = Array.CreateInstance(t.GetElementType(), 1)
            a.SetValue(dummy (t.GetElementType()), 0)
            box a
        elif t.IsGenericType && t.GetGenericTypeDefinition() = typedefof<list<_>> then
            let empty = t.GetProperty("Empty").GetValue(null)
            t.GetMethod("Cons").Invoke(null, [| dummy (t.GetGenericArguments().[0]); empty |])
        elif t.IsGenericType && t.GetGenericTypeDefinition() = typedefof<option<_>> then
            null // None
        elif t.IsValueType then
            Activator.CreateInstance t
        elif FSharpType.IsFunction t then
            let domain, range = FSharpType.GetFunctionElements t

            typeof<NullSweepDummies>
                .GetMethod("Constant")
                .MakeGenericMethod(domain, range)
                .Invoke(null, [| dummy range |])
        elif FSharpType.IsTuple t then
            FSharpValue.MakeTuple(FSharpType.GetTupleElements t |> Array.map dummy, t)
        elif FSharpType.IsRecord t then
            FSharpValue.MakeRecord(t, FSharpType.GetRecordFields t |> Array.map (fun p -> dummy p.PropertyType))
        else
            failwithf "the null sweep has no dummy value for %s: add one" t.FullName

    /// The parameter types a null of which must raise ArgumentNullException: tensors, their
    /// collections, shapes and value arrays, functions, programs, optimizer states. Trees
    /// (generic parameters) are not here: a null in a tree is a None or an empty value of its
    /// declared type, and a null Tensor leaf raises TransformException naming its path.
    let swept (definition: ParameterInfo) (actual: Type) =
        not definition.ParameterType.IsGenericParameter
        && not actual.IsValueType
        && actual <> typeof<string>
        && actual <> typeof<unit>
        && actual <> typeof<DType>
        && not (actual.IsGenericType && actual.GetGenericTypeDefinition() = typedefof<option<_>>)

    /// The user-facing types whose public methods take tensors or functions.
    let types =
        let core = typeof<Tensor>.Assembly

        [
            typeof<Tensor>
            typeof<TensorExtensions>
            typeof<Interpreter>
            core.GetType("FunDiff.TensorModule", true)
            core.GetType("FunDiff.TensorSlicing", true)
            core.GetType("FunDiff.Diff", true)
            core.GetType("FunDiff.TreeModule", true)
            core.GetType("FunDiff.Optim", true)
            core.GetType("FunDiff.ProgramModule", true)
            core.GetType("FunDiff.PrimitiveModule", true)
        ]

    let methods () =
        [
            for t in types do
                for m in
                    t.GetMethods(
                        BindingFlags.Public
                        ||| BindingFlags.Static
                        ||| BindingFlags.Instance
                        ||| BindingFlags.DeclaredOnly
                    ) do
                    if not m.IsSpecialName || m.Name.StartsWith "op_" then
                        let m =
                            if m.IsGenericMethodDefinition then
                                let arg =
                                    if m.Name = "register" then
                                        typeof<NullSweepNode>
                                    else
                                        typeof<Tensor>

                                m.MakeGenericMethod(Array.create (m.GetGenericArguments().Length) arg)
                            else
                                m

                        yield m
        ]

    let private invoke (m: MethodInfo) (receiver: obj) (args: obj[]) =
        m.Invoke(receiver, BindingFlags.DoNotWrapExceptions, null, args, null)

    /// Calls `act` and describes what is wrong unless it raised ArgumentNullException whose
    /// ParamName is `name`.
    let private expectNull (what: string) (name: string) (act: unit -> obj) =
        try
            act () |> ignore
            Some(sprintf "%s: returned normally" what)
        with
        | :? ArgumentNullException as e when e.ParamName = name -> None
        | :? ArgumentNullException as e -> Some(sprintf "%s: ParamName %s, expected %s" what e.ParamName name)
        | e -> Some(sprintf "%s: %s (%s)" what (e.GetType().Name) (e.Message.Split('\n').[0]))

    /// The FSharpFunc<Tensor, _> base of a closure's type, if it is one.
    let rec private tensorFunctionType (t: Type) =
        if isNull t then
            None
        elif t.IsGenericType && t.GetGenericTypeDefinition() = typedefof<FSharpFunc<_, _>> then
            if t.GetGenericArguments().[0] = typeof<Tensor> then
                Some t
            else
                None
        else
            tensorFunctionType t.BaseType

    /// The functions a transform returned (a gradient, a pullback, a linear map), alone or in a
    /// tuple, with their FSharpFunc<Tensor, _> types.
    let private returnedFunctions (result: obj) =
        let asFunction (o: obj) =
            if isNull o then
                None
            else
                tensorFunctionType (o.GetType()) |> Option.map (fun t -> o, t)

        if isNull result then
            []
        elif FSharpType.IsTuple(result.GetType()) then
            FSharpValue.GetTupleFields result |> Array.choose asFunction |> List.ofArray
        else
            Option.toList (asFunction result)

    /// Every failure: one line per (method, parameter) whose null is not reported properly.
    let failures () =
        [
            for m in methods () do
                let parameters = m.GetParameters()

                let definition =
                    if m.IsGenericMethod then
                        m.GetGenericMethodDefinition()
                    else
                        m

                let receiver () =
                    if m.IsStatic then null else box (vector ())

                let name =
                    sprintf
                        "%s.%s(%s)"
                        m.DeclaringType.Name
                        m.Name
                        (parameters |> Array.map (fun p -> p.Name) |> String.concat ", ")

                let args () =
                    parameters |> Array.map (fun p -> dummy p.ParameterType)

                for i in 0 .. parameters.Length - 1 do
                    let p = parameters.[i]

                    if swept (definition.GetParameters().[i]) p.ParameterType then
                        let a = args ()
                        a.[i] <- null

                        match
                            expectNull (sprintf "%s with %s = null" name p.Name) p.Name (fun () ->
                                invoke m (receiver ()) a)
                        with
                        | Some failure -> yield failure
                        | None -> ()

                // the functions a transform returns check their argument too (a tree's
                // transforms return functions of trees, whose nulls are TreeDef's business;
                // ravel's unravel takes a tensor)
                if m.DeclaringType.Name = "Diff" || m.Name = "ravel" then
                    let expected =
                        match m.Name with
                        | "linearize"
                        | "ravel" -> "v"
                        | "vjp" -> "u"
                        | _ -> "x"

                    let result =
                        try
                            invoke m (receiver ()) (args ())
                        with _ ->
                            null

                    for f, t in returnedFunctions result do
                        let invokeMethod = t.GetMethod("Invoke", [| typeof<Tensor> |])

                        match
                            expectNull (sprintf "the function %s returns, given null" name) expected (fun () ->
                                invokeMethod.Invoke(f, BindingFlags.DoNotWrapExceptions, null, [| null |], null))
                        with
                        | Some failure -> yield failure
                        | None -> ()
        ]

[<Fact>]
let ``every public function of the F# API raises ArgumentNullException naming a null parameter`` () =
    // the sweep covers the surface: if it found nothing to test, it would pass vacuously
    let methods = NullSweep.methods ()
    Assert.True(List.length methods > 250, sprintf "only %d methods swept" (List.length methods))

    for required in [ "grad"; "op_Addition"; "stack"; "takeAxis"; "eval"; "map2"; "withDebugNans" ] do
        Assert.Contains(methods, fun m -> m.Name = required)

    let failures = NullSweep.failures ()
    Assert.True(List.isEmpty failures, sprintf "%d failures:\n%s" failures.Length (String.concat "\n" failures))

[<Fact>]
let ``the issue's null cases raise ArgumentNullException naming the parameter`` () =
    let paramName (f: unit -> 'a) =
        (Assert.Throws<ArgumentNullException>(fun () -> f () |> ignore)).ParamName

    Assert.Equal("x", paramName (fun () -> grad Tensor.sum (Unchecked.defaultof<Tensor>)))
    Assert.Equal("f", paramName (fun () -> grad (Unchecked.defaultof<Tensor -> Tensor>)))
    Assert.Equal("y", paramName (fun () -> v3 () + Unchecked.defaultof<Tensor>))
    Assert.Equal("xs", paramName (fun () -> Tensor.stack [ scalar (); Unchecked.defaultof<Tensor> ]))

    let e =
        Assert.Throws<ArgumentNullException>(fun () ->
            Tensor.stack [ scalar (); Unchecked.defaultof<Tensor> ] |> ignore)

    Assert.Contains("element 1 of xs", e.Message)

// ---- sizes too large for a tensor: every constructor shares one check ----------------------------

/// Each constructor (F# and C#) and each composite whose result's size comes from its
/// arguments, with a size past the largest tensor: a ShapeException naming it, raised before any
/// allocation (an OutOfMemoryException or an inner op's name, `eq`, is the bug).
let private oversized: (string * (unit -> Tensor)) list =
    let big = Int32.MaxValue

    [
        "zeros", (fun () -> Tensor.zeros [| big |])
        "ones", (fun () -> Tensor.ones [| big |])
        "full", (fun () -> Tensor.full [| big |] 1.0)
        "arange", (fun () -> Tensor.arange big)
        "linspace", (fun () -> Tensor.linspace 0.0 1.0 big)
        "eye", (fun () -> Tensor.eye 70000)
        "Zeros", (fun () -> Tensor.Zeros big)
        "Ones", (fun () -> Tensor.Ones(big, 2))
        "full", (fun () -> Tensor.Full([| big; 2 |], 1.0))
        "arange", (fun () -> Tensor.Arange big)
        "linspace", (fun () -> Tensor.Linspace(0.0, 1.0, big))
        "eye", (fun () -> Tensor.Eye 70000)
        "broadcastTo", (fun () -> Tensor.broadcastTo [| 65536; 65536 |] (scalar ()))
        "oneHot", (fun () -> Tensor.oneHot big (int64Of [| 0.0; 1.0 |]))
        "oneHot", (fun () -> Tensor.oneHot big (Tensor.scalar 0.0))
        "oneHot", (fun () -> (int64Of [| 0.0; 1.0; 2.0 |]).OneHot(1000000000))
        "outer", (fun () -> Tensor.outer (Tensor.zeros [| 65536 |]) (Tensor.zeros [| 65536 |]))
        "diag", (fun () -> Tensor.diag (Tensor.zeros [| 70000 |]))
    ]

[<Fact>]
let ``every constructor and size-making composite rejects a size too large as a ShapeException naming it`` () =
    for name, make in oversized do
        let e =
            try
                make () |> ignore
                failwithf "%s: returned a tensor" name
            with
            | :? ShapeException as e -> e
            | e -> failwithf "%s: raised %s instead of a ShapeException: %s" name (e.GetType().Name) e.Message

        Assert.StartsWith(name + ": shape [", e.Message)
        Assert.Contains("elements, the most a tensor can hold", e.Message)

[<Fact>]
let ``the issue's arange and linspace of Int32.MaxValue raise the ShapeException zeros gives`` () =
    let expected (op: string) =
        sprintf
            "%s: shape [%d] has more than %d elements, the most a tensor can hold (the size overflows). Use smaller dimensions."
            op
            Int32.MaxValue
            Array.MaxLength

    Assert.Equal(expected "zeros", shapeError [] (fun () -> Tensor.zeros [| Int32.MaxValue |]))
    Assert.Equal(expected "arange", shapeError [] (fun () -> Tensor.arange Int32.MaxValue))
    Assert.Equal(expected "linspace", shapeError [] (fun () -> Tensor.linspace 0.0 1.0 Int32.MaxValue))

// ---- take: the C# member and the module agree, concrete or traced --------------------------------

/// The outcome of a take at one index value: the values, or the ShapeException's message with
/// the op's name taken out (the member says `Take`, the module `takeAxis`).
let private takeOutcome (op: string) (take: Tensor -> Tensor -> Tensor) (mode: string) (index: float) =
    let x = Tensor.ofArray [| 10.0; 20.0; 30.0 |]
    let indices = Tensor.ofArray [| index |]

    try
        let result =
            match mode with
            | "concrete" -> take x indices
            // the index is computed from x, so under grad it is a tracer with a known primal
            | "grad" -> grad (fun x -> Tensor.sum (take x (x.[0] * 0.0 + indices))) x
            | "jvp" -> fst (jvp (fun i -> take x i) indices (Tensor.ofArray [| 1.0 |]))
            | "makeIR" -> (Program.eval (makeIR (fun i -> take x i) indices) [| indices |]).[0]
            | _ -> failwith mode

        Ok(Tensor.toArray result)
    with :? ShapeException as e ->
        Error(e.Message.Replace(op + ":", "OP:").Replace("take:", "OP:"))

[<Fact>]
let ``x.Take(indices, axis) and takeAxis accept and reject the same indices, concrete and traced`` () =
    let member' (x: Tensor) (i: Tensor) = x.Take(i, 0)
    let moduleTake (x: Tensor) (i: Tensor) = Tensor.takeAxis 0 i x
    let mutable rejected = 0

    for mode in [ "concrete"; "grad"; "jvp"; "makeIR" ] do
        for index in [ 0.0; 2.0; -1.0; -3.0; 1.5; -0.5; 3.0; -4.0; nan; infinity; 1e20 ] do
            let a = takeOutcome "Take" member' mode index
            let b = takeOutcome "takeAxis" moduleTake mode index
            Assert.True((a = b), sprintf "%s, index %g: x.Take gives %A but takeAxis gives %A" mode index a b)

            match a with
            | Error _ -> rejected <- rejected + 1
            | Ok _ -> ()

    // the indices that are not whole or out of range were rejected in every mode
    Assert.Equal(4 * 7, rejected)

[<Fact>]
let ``the issue's x.Take under grad with a traced float index of 1.5 raises`` () =
    let x = Tensor.ofArray [| 10.0; 20.0; 30.0 |]

    fails [ "Take: index 1.5 is not a whole number"; "inside grad" ] (fun () ->
        grad (fun x -> Tensor.sum (x.Take(x.[0] * 0.0 + 1.5, 0))) x)

// ---- an escaped tracer prints no value -------------------------------------------------------------

[<Fact>]
let ``an escaped tracer prints without a number, whichever transform it escaped`` () =
    let x = Tensor.scalar 1.5
    let mutable leaked = Unchecked.defaultof<Tensor>

    let keep (y: Tensor) =
        leaked <- y * y // 2.25
        y

    let transforms: (string * (unit -> unit)) list =
        [
            "grad", (fun () -> grad keep x |> ignore)
            "jvp", (fun () -> jvp keep x x |> ignore)
            "vjp", (fun () -> vjp keep x |> ignore)
            "linearize", (fun () -> linearize keep x |> ignore)
            "jacfwd", (fun () -> jacfwd keep x |> ignore)
            "hessian", (fun () -> hessian keep x |> ignore)
            "makeIR", (fun () -> makeIR keep x |> ignore)
            "Tree.grad", (fun () -> Tree.grad keep x |> ignore)
        ]

    for name, run in transforms do
        leaked <- Unchecked.defaultof<Tensor>
        run ()
        Assert.True(Object.ReferenceEquals(leaked, null) |> not, name)

        for shown in [ string leaked; sprintf "%O" leaked; sprintf "%A" leaked ] do
            Assert.True(not (shown.Contains "2.25") && not (shown.Contains "1.5"), sprintf "%s: %s" name shown)
            Assert.Contains("escaped", shown)
            Assert.Contains("Traced<f64[]>", shown)

[<Fact>]
let ``a live tracer inside jvp still shows its primal`` () =
    let mutable shown = ""

    jvp
        (fun y ->
            shown <- string (y * y)
            y)
        (Tensor.scalar 1.5)
        (Tensor.scalar 1.0)
    |> ignore

    Assert.Contains("primal 2.25", shown)
