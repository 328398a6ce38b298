/// Elementwise kernels: unary maps, binary maps with rank-0 broadcasting, comparisons, select.
/// The only place besides Layout that loops over numbers; System.Numerics.Tensors stays here.
module internal FunDiff.Backend.Elementwise

open System
open System.Numerics
open System.Numerics.Tensors
open FunDiff

#nowarn "9" // native pointers: the pinned outputs of non-temporal stores (Stores)

/// A unary kernel over spans: out[i] = f(x[i]), x and out of one length.
type UnaryKernel = delegate of ReadOnlySpan<float> * Span<float> -> unit

/// A binary kernel over spans: out[i] = f(x[i], y[i]), where an operand of length 1 repeats
/// (rank-0 broadcasting) and the other has out's length. jit's fused loops run these on tiles.
type BinaryKernel = delegate of ReadOnlySpan<float> * ReadOnlySpan<float> * Span<float> -> unit

/// A unary elementwise map: the kernel over arrays, and the scalar function it applies to each
/// element of a small array. The two give the same bits on a rank-0 array, which the scalar
/// fast path of the interpreter (and, later, jit's fused loops) relies on.
type UnaryMap =
    {
        Kernel: NDArray -> NDArray
        Scalar: float -> float
        /// The kernel on spans (a tile of a fused loop): the scalar function on spans of at
        /// most `SmallSize` elements, as `Kernel` does on small arrays.
        Span: UnaryKernel
    }

/// A binary elementwise map with rank-0 broadcasting, and its scalar function (as `UnaryMap`).
type BinaryMap =
    {
        Kernel: NDArray -> NDArray -> NDArray
        Scalar: float -> float -> float
        /// The kernel on spans, an operand of length 1 repeating (a tile of a fused loop).
        Span: BinaryKernel
    }

/// Below this many elements a plain loop beats the vectorized kernels' set-up cost.
[<Literal>]
let private SmallSize = 8

/// The length of the block a unary kernel runs on for a uniform operand: longer than
/// `SmallSize` and a multiple of every vector width (2, 4, 8 doubles), so the kernel takes the
/// path it takes on the body of any array longer than `SmallSize`.
[<Literal>]
let private UniformBlock = 16

/// What a unary map gives each element of a uniform array of `size` copies of `v`: the scalar
/// function where the map loops (`size` <= SmallSize), else the kernel's result on a block of
/// copies (its vector path: TensorPrimitives' and SpanMath's vector code may differ from the
/// scalar function by an ulp, so the scalar function would not match the materialized array).
let private uniformImage (scalar: float -> float) (kernel: UnaryKernel) (size: int) (v: float) =
    if size <= SmallSize then
        scalar v
    else
        let block = Array.create UniformBlock v
        let image = Array.zeroCreate UniformBlock
        kernel.Invoke(ReadOnlySpan block, Span image)
        image.[0]

/// A unary map; `scalarTail`: the kernel computes the last `Size mod Vector<float>.Count`
/// elements with the scalar function (SpanMath's kernels), which may differ by an ulp from its
/// vector path, so a filled array's elements are not all equal then and a uniform operand is
/// materialized and mapped as one (the result is the filled array's, bit for bit).
let private mapWithTail (scalarTail: bool) (scalar: float -> float) (kernel: UnaryKernel) : UnaryMap =
    let mapArray (x: NDArray) =
        let out = NDArray.alloc x.Size
        let src = x.Span

        if src.Length <= SmallSize then
            for i in 0 .. src.Length - 1 do
                out.[i] <- scalar src.[i]
        else
            kernel.Invoke(src, Span out)

        NDArray(x.Aval, out)

    // a uniform operand: one value computed, a uniform result
    let apply (x: NDArray) =
        if
            x.IsUniform
            && (not scalarTail
                || x.Size <= SmallSize
                || x.Size % Numerics.Vector<float>.Count = 0)
        then
            NDArray.uniform x.Aval (uniformImage scalar kernel x.Size (x.At 0))
        else
            mapArray x

    let span =
        UnaryKernel(fun x d ->
            if x.Length <= SmallSize then
                for i in 0 .. x.Length - 1 do
                    d.[i] <- scalar x.[i]
            else
                kernel.Invoke(x, d))

    {
        Kernel = apply
        Scalar = scalar
        Span = span
    }

/// A unary map whose kernel treats every element alike (up to TensorPrimitives' Sin and Cos,
/// whose vector results depend on alignment: see docs/DESIGN-DECISIONS.md).
let private mapWith (scalar: float -> float) (kernel: UnaryKernel) : UnaryMap = mapWithTail false scalar kernel

/// A unary map on a SpanMath kernel (its remainder elements take the scalar function).
let private mapSpanMath (scalar: float -> float) (kernel: UnaryKernel) : UnaryMap = mapWithTail true scalar kernel

/// mapWith for a vectorized kernel that misses the accuracy bound (docs/RELIABILITY.md,
/// "Accuracy of elementwise kernels") on some inputs: those elements are recomputed by `scalar`.
let private mapFixed (scalar: float -> float) (kernel: UnaryKernel) (inaccurate: float -> bool) =
    mapWith
        scalar
        (UnaryKernel(fun x d ->
            kernel.Invoke(x, d)
            SpanMath.fixUp inaccurate scalar x d))

/// mapWith with the scalar function on every element, for functions without an accurate
/// vectorized kernel.
let private mapScalar (scalar: float -> float) =
    mapWith
        scalar
        (UnaryKernel(fun x d ->
            for i in 0 .. x.Length - 1 do
                d.[i] <- scalar x.[i]))

let neg =
    mapWith (fun v -> -v) (UnaryKernel(fun x d -> TensorPrimitives.Negate(x, d)))

let sin = mapWith Math.Sin (UnaryKernel(fun x d -> TensorPrimitives.Sin(x, d)))
let cos = mapWith Math.Cos (UnaryKernel(fun x d -> TensorPrimitives.Cos(x, d)))
let exp = mapWith Math.Exp (UnaryKernel(fun x d -> TensorPrimitives.Exp(x, d)))
let log = mapWith Math.Log (UnaryKernel(fun x d -> TensorPrimitives.Log(x, d)))
let sqrt = mapWith Math.Sqrt (UnaryKernel(fun x d -> TensorPrimitives.Sqrt(x, d)))
// TensorPrimitives.Tanh loses relative accuracy below |x| ≈ 0.55 (tanh 1e-10 = 1.00000008e-10,
// tanh 1e-20 = -0): a vectorized series form there
let tanh = mapSpanMath ScalarMath.tanh (UnaryKernel(fun x d -> SpanMath.tanh x d))

let tan = mapWith Math.Tan (UnaryKernel(fun x d -> TensorPrimitives.Tan(x, d)))
let asin = mapWith Math.Asin (UnaryKernel(fun x d -> TensorPrimitives.Asin(x, d)))
let acos = mapWith Math.Acos (UnaryKernel(fun x d -> TensorPrimitives.Acos(x, d)))
let atan = mapWith Math.Atan (UnaryKernel(fun x d -> TensorPrimitives.Atan(x, d)))
// TensorPrimitives.Sinh is off by thousands of ulp near 0 (sinh 1e-17 = 0), by 3 to 4 on
// [1, 16), 18 above and 496 near overflow: a vectorized series below |x| = 1, Math.Sinh above.
// TensorPrimitives.Cosh is off by 3 ulp from |x| ≈ 1.9 and as sinh beyond 16: Math.Cosh from
// |x| = 1 on (and for NaN).
let sinh = mapSpanMath ScalarMath.sinh (UnaryKernel(fun x d -> SpanMath.sinh x d))

let cosh =
    mapFixed Math.Cosh (UnaryKernel(fun x d -> TensorPrimitives.Cosh(x, d))) (fun v -> not (Math.Abs v < 1.0))

let abs = mapWith Math.Abs (UnaryKernel(fun x d -> TensorPrimitives.Abs(x, d)))

// Double.LogP1/ExpM1 and TensorPrimitives.LogP1/ExpM1 compute log(1 + x) and exp(x) − 1 as
// written (log1p 1e-17 = 0); ScalarMath and SpanMath keep full precision near 0
let log1p =
    mapSpanMath ScalarMath.log1p (UnaryKernel(fun x d -> SpanMath.log1p x d))

let expm1 =
    mapSpanMath ScalarMath.expm1 (UnaryKernel(fun x d -> SpanMath.expm1 x d))

/// sign: -1, 0 or 1 (NaN stays NaN).
let private signScalar (v: float) =
    if v > 0.0 then 1.0
    elif v < 0.0 then -1.0
    else v

let sign = mapScalar signScalar

/// The logistic function 1 / (1 + e^-x), computed without overflow for either sign.
let private logisticScalar (v: float) =
    if v >= 0.0 then
        1.0 / (1.0 + Math.Exp -v)
    else
        let e = Math.Exp v
        e / (1.0 + e)

let logistic = mapScalar logisticScalar

/// log(1 + e^x) = max(x, 0) + log1p(e^−|x|): no overflow at +1000, and full relative precision
/// at −1000 (e^x itself, through log1p). NaN stays NaN (NaN > 0 is false; log1p(e^NaN) is NaN).
let private softplusScalar (v: float) =
    if v > 0.0 then
        v + ScalarMath.log1p (Math.Exp -v)
    else
        ScalarMath.log1p (Math.Exp v)

let softplus = mapScalar softplusScalar

let erf = mapScalar ScalarMath.erf

/// The identity; arrays are immutable so the input is returned.
let identity (x: NDArray) = x

/// x ** c for a constant exponent: x·x (correctly rounded) for 2, x·x·x (within 1 ulp) for 3,
/// Math.Pow otherwise (which takes negative bases to integral powers too).
let rec powConst (c: float) (x: NDArray) =
    if x.IsUniform then
        // every branch below is one scalar formula per element: a one-element array gives it
        NDArray.uniform x.Aval ((powConst c (NDArray.scalar (x.At 0))).At 0)
    else
        powArray c x

/// x ** c on spans (x and out of one length), by the formulas `powConst` documents.
and powConstSpan (c: float) : UnaryKernel =
    if c = 2.0 then
        UnaryKernel(fun src out -> TensorPrimitives.Multiply(src, src, out))
    elif c = 1.0 then
        UnaryKernel(fun src out -> src.CopyTo out)
    elif c = 0.0 then
        UnaryKernel(fun _ out -> out.Fill 1.0)
    elif c = 3.0 then
        UnaryKernel(fun src out ->
            for i in 0 .. src.Length - 1 do
                let v = src.[i]
                out.[i] <- v * v * v)
    else
        UnaryKernel(fun src out ->
            for i in 0 .. src.Length - 1 do
                out.[i] <- Math.Pow(src.[i], c))

and private powArray (c: float) (x: NDArray) =
    let out = NDArray.alloc x.Size
    (powConstSpan c).Invoke(x.Span, Span out)
    NDArray(x.Aval, out)

/// The output aval of a binary elementwise op whose operands have equal shapes, or one is rank
/// 0, or one repeats along the other's leading axes: the larger operand's shape.
let private binaryAval (dtype: DType) (x: NDArray) (y: NDArray) =
    if x.Aval.Rank >= y.Aval.Rank && x.DType = dtype then
        x.Aval
    else
        Aval((if x.Aval.Rank >= y.Aval.Rank then x.Shape else y.Shape), dtype)

/// Whether `small` (rank ≥ 1, below `big`'s) repeats along `big`'s leading axes: its shape is
/// `big`'s trailing axes (NumPy broadcasting without size-1 axes). vmap's elementwise rule
/// leaves an operand that is the same for every example in this form instead of copying it
/// to the batch size.
let internal repeatsAlongLeading (big: NDArray) (small: NDArray) =
    let r, k = big.Aval.Rank, small.Aval.Rank

    k >= 1
    && k < r
    && (let mutable same = true

        for a in 0 .. k - 1 do
            if small.Shape.[a] <> big.Shape.[r - k + a] then
                same <- false

        same)

/// `small` copied once per row of `big` (for kernels that take equal shapes or a scalar).
let private repeatRows (big: NDArray) (small: NDArray) =
    let out = NDArray.alloc big.Size
    let src = small.Span

    for r in 0 .. (if small.Size = 0 then 0 else big.Size / small.Size) - 1 do
        src.CopyTo(Span<float>(out, r * small.Size, small.Size))

    NDArray(Aval(big.Shape, small.DType), out)

/// The operands with one that repeats along the other's leading axes materialized, for the
/// kernels without their own row loop.
let internal expandRepeated (x: NDArray) (y: NDArray) =
    if repeatsAlongLeading x y && not (NDArray.isConstant y) then
        struct (x, repeatRows x y)
    elif repeatsAlongLeading y x && not (NDArray.isConstant x) then
        struct (repeatRows y x, y)
    else
        struct (x, y)

/// A binary kernel that takes equal shapes or a scalar, made to take a repeating operand too.
let private repeating (kernel: NDArray -> NDArray -> NDArray) =
    fun x y ->
        let struct (x, y) = expandRepeated x y
        kernel x y

type private SpanSpan = delegate of ReadOnlySpan<float> * ReadOnlySpan<float> * Span<float> -> unit
type private SpanScalar = delegate of ReadOnlySpan<float> * float * Span<float> -> unit
type private ScalarSpan = delegate of float * ReadOnlySpan<float> * Span<float> -> unit

let private binaryWith
    (scalar: float -> float -> float)
    (both: SpanSpan)
    (right: SpanScalar)
    (left: ScalarSpan)
    : BinaryMap =
    // A uniform operand broadcasts as a rank-0 one does (`At` reads it without materializing).
    // Add, subtract, multiply and divide round correctly in either form, so an array-scalar
    // kernel gives the bits the array-array one gives on the materialized operand.
    let apply (x: NDArray) (y: NDArray) =
        let aval = binaryAval x.DType x y

        if aval.Size >= 2 && NDArray.isConstant x && NDArray.isConstant y then
            NDArray.uniform aval (scalar (x.At 0) (y.At 0))
        elif not (NDArray.isConstant y) && repeatsAlongLeading x y then
            // y repeats along x's leading axes: one span kernel per row, y never copied
            let out = NDArray.alloc aval.Size
            let n = y.Size

            for r in 0 .. (if n = 0 then 0 else aval.Size / n) - 1 do
                both.Invoke(x.Span.Slice(r * n, n), y.Span, Span(out, r * n, n))

            NDArray(aval, out)
        elif not (NDArray.isConstant x) && repeatsAlongLeading y x then
            let out = NDArray.alloc aval.Size
            let n = x.Size

            for r in 0 .. (if n = 0 then 0 else aval.Size / n) - 1 do
                both.Invoke(x.Span, y.Span.Slice(r * n, n), Span(out, r * n, n))

            NDArray(aval, out)
        else
            let out = NDArray.alloc aval.Size

            if out.Length <= SmallSize then
                let xs = if x.Size = 1 || x.IsUniform then 0 else 1
                let ys = if y.Size = 1 || y.IsUniform then 0 else 1

                for i in 0 .. out.Length - 1 do
                    out.[i] <- scalar (x.At(i * xs)) (y.At(i * ys))
            elif NDArray.isConstant y then
                right.Invoke(x.Span, y.At 0, Span out)
            elif NDArray.isConstant x then
                left.Invoke(x.At 0, y.Span, Span out)
            else
                both.Invoke(x.Span, y.Span, Span out)

            NDArray(aval, out)

    let span =
        BinaryKernel(fun x y d ->
            if d.Length <= SmallSize then
                let xs = if x.Length = 1 then 0 else 1
                let ys = if y.Length = 1 then 0 else 1

                for i in 0 .. d.Length - 1 do
                    d.[i] <- scalar x.[i * xs] y.[i * ys]
            elif y.Length = 1 then
                right.Invoke(x, y.[0], d)
            elif x.Length = 1 then
                left.Invoke(x.[0], y, d)
            else
                both.Invoke(x, y, d))

    {
        Kernel = apply
        Scalar = scalar
        Span = span
    }

let add =
    binaryWith
        (fun a b -> a + b)
        (SpanSpan(fun a b d -> TensorPrimitives.Add(a, b, d)))
        (SpanScalar(fun a b d -> TensorPrimitives.Add(a, b, d)))
        (ScalarSpan(fun a b d -> TensorPrimitives.Add(b, a, d)))

let sub =
    binaryWith
        (fun a b -> a - b)
        (SpanSpan(fun a b d -> TensorPrimitives.Subtract(a, b, d)))
        (SpanScalar(fun a b d -> TensorPrimitives.Subtract(a, b, d)))
        (ScalarSpan(fun a b d -> TensorPrimitives.Subtract(a, b, d)))

let mul =
    binaryWith
        (fun a b -> a * b)
        (SpanSpan(fun a b d -> TensorPrimitives.Multiply(a, b, d)))
        (SpanScalar(fun a b d -> TensorPrimitives.Multiply(a, b, d)))
        (ScalarSpan(fun a b d -> TensorPrimitives.Multiply(b, a, d)))

let div =
    binaryWith
        (fun a b -> a / b)
        (SpanSpan(fun a b d -> TensorPrimitives.Divide(a, b, d)))
        (SpanScalar(fun a b d -> TensorPrimitives.Divide(a, b, d)))
        (ScalarSpan(fun a b d -> TensorPrimitives.Divide(a, b, d)))

/// A binary map with rank-0 broadcasting by plain loops (for the less hot operations).
let private binaryLoop (dtype: DType option) (f: float -> float -> float) (x: NDArray) (y: NDArray) =
    let aval = binaryAval (defaultArg dtype x.DType) x y
    let out = NDArray.alloc aval.Size
    let xd = x.Span
    let yd = y.Span
    let xs = if xd.Length = 1 && aval.Size <> 1 then 0 else 1
    let ys = if yd.Length = 1 && aval.Size <> 1 then 0 else 1

    for i in 0 .. out.Length - 1 do
        out.[i] <- f xd.[i * xs] yd.[i * ys]

    NDArray(aval, out)

/// `binaryLoop` on spans.
let private binaryLoopSpan (f: float -> float -> float) =
    BinaryKernel(fun x y d ->
        let xs = if x.Length = 1 then 0 else 1
        let ys = if y.Length = 1 then 0 else 1

        for i in 0 .. d.Length - 1 do
            d.[i] <- f x.[i * xs] y.[i * ys])

/// `binaryLoop` as a map with its scalar function.
let private binaryLoopMap (f: float -> float -> float) : BinaryMap =
    {
        Kernel = repeating (binaryLoop None f)
        Scalar = f
        Span = binaryLoopSpan f
    }

let private powLoop = binaryLoop None (fun a b -> Math.Pow(a, b))

/// x ** y elementwise (Math.Pow: NaN for a negative base with a fractional exponent). Integer
/// powers are exact (pow errs by under one ulp, so a representable result comes out exact);
/// an int64 base with a negative exponent raises, as NumPy does (the result is not an integer).
let private powChecked (x: NDArray) (y: NDArray) =
    if x.DType = Int64 && NDArray.findIndex (fun v -> v < 0.0) y >= 0 then
        raise (
            Int64RangeException(
                sprintf
                    "pow: an int64 base raised to a negative int64 exponent (exponents %O) is not an integer. Convert the base to Float64 first: Tensor.pow (Tensor.convert Float64 x) y."
                    y.Aval
            )
        )

    powLoop x y

let pow: BinaryMap =
    {
        Kernel = repeating powChecked
        Scalar = fun a b -> Math.Pow(a, b)
        // a fused loop runs float64 operands only, so the int64 check has nothing to do there
        Span = binaryLoopSpan (fun a b -> Math.Pow(a, b))
    }

// ---- vectorized binary kernels: comparisons, max/min ------------------------------------------

/// out[i] = f(x[i], y[i]), where x and y each have out's length or are one element repeated
/// (rank-0 broadcasting): `vector` on whole `Vector<float>` lanes, `scalar` on the tail (all of
/// an array shorter than a vector). `vector` must give `scalar`'s bits lane by lane, so an
/// element's result does not depend on where it falls. A large output is stored non-temporally
/// (Stores), its elements before the first vector-aligned one by `scalar`.
let inline private zipInto
    ([<InlineIfLambda>] vector: Vector<float> -> Vector<float> -> Vector<float>)
    ([<InlineIfLambda>] scalar: float -> float -> float)
    (x: NDArray)
    (y: NDArray)
    (out: float[])
    =
    let n = out.Length
    let width = Vector<float>.Count
    let xs, xo, ys, yo = x.Buffer, x.Offset, y.Buffer, y.Offset
    let xStep = if x.Size = n then 1 else 0
    let yStep = if y.Size = n then 1 else 0
    let nonTemporal = Stores.isLarge n
    use p = fixed out
    let lead = if nonTemporal then Stores.alignedLead p n else 0
    let mutable i = 0

    while i < lead do
        out.[i] <- scalar xs.[xo + i * xStep] ys.[yo + i * yStep]
        i <- i + 1

    if xStep = 1 && yStep = 1 then
        while i <= n - width do
            Stores.store nonTemporal p out i (vector (Vector<float>(xs, xo + i)) (Vector<float>(ys, yo + i)))
            i <- i + width
    elif yStep = 1 then
        let a = Vector<float>(xs.[xo])

        while i <= n - width do
            Stores.store nonTemporal p out i (vector a (Vector<float>(ys, yo + i)))
            i <- i + width
    elif xStep = 1 then
        let b = Vector<float>(ys.[yo])

        while i <= n - width do
            Stores.store nonTemporal p out i (vector (Vector<float>(xs, xo + i)) b)
            i <- i + width

    while i < n do
        out.[i] <- scalar xs.[xo + i * xStep] ys.[yo + i * yStep]
        i <- i + 1

    if nonTemporal then
        Stores.fence ()

/// The larger of two values; NaN (the one `nan`) if either is NaN, as NumPy's maximum; of two
/// zeros +0 (Math.Max).
let inline private maxScalar (a: float) (b: float) =
    if Double.IsNaN a || Double.IsNaN b then
        nan
    else
        Math.Max(a, b)

/// The smaller of two values; NaN (the one `nan`) if either is NaN, as NumPy's minimum; of two
/// zeros -0 (Math.Min).
let inline private minScalar (a: float) (b: float) =
    if Double.IsNaN a || Double.IsNaN b then
        nan
    else
        Math.Min(a, b)

/// `ordered` where neither a nor b is NaN, else `nan` (the bits maxScalar/minScalar give, not
/// the NaN operand's payload).
let inline private orNan (a: Vector<float>) (b: Vector<float>) (ordered: Vector<float>) =
    let numbers = Vector.BitwiseAnd(Vector.Equals(a, a), Vector.Equals(b, b))
    Vector.ConditionalSelect(numbers, ordered, Vector<float>(nan))

/// maxScalar lane by lane. Of equal values Math.Max returns one without the sign bit if either
/// lacks it (+0 over -0); equal non-zero values have one representation, so a AND b is that.
let inline private maxVector (a: Vector<float>) (b: Vector<float>) =
    let equal = Vector.BitwiseAnd(a, b)

    Vector.ConditionalSelect(Vector.GreaterThan(a, b), a, Vector.ConditionalSelect(Vector.LessThan(a, b), b, equal))
    |> orNan a b

/// minScalar lane by lane: of equal values Math.Min returns -0 if either is -0, so a OR b.
let inline private minVector (a: Vector<float>) (b: Vector<float>) =
    let equal = Vector.BitwiseOr(a, b)

    Vector.ConditionalSelect(Vector.LessThan(a, b), a, Vector.ConditionalSelect(Vector.GreaterThan(a, b), b, equal))
    |> orNan a b

/// `zipInto` on spans (a tile of a fused loop: L1-resident, so plain stores).
let inline private zipSpans
    ([<InlineIfLambda>] vector: Vector<float> -> Vector<float> -> Vector<float>)
    ([<InlineIfLambda>] scalar: float -> float -> float)
    (x: ReadOnlySpan<float>)
    (y: ReadOnlySpan<float>)
    (out: Span<float>)
    =
    let n = out.Length
    let width = Vector<float>.Count
    let xStep = if x.Length = n then 1 else 0
    let yStep = if y.Length = n then 1 else 0
    let mutable i = 0

    if xStep = 1 && yStep = 1 then
        while i <= n - width do
            (vector (Vector<float>(x.Slice(i, width))) (Vector<float>(y.Slice(i, width)))).CopyTo(out.Slice(i, width))
            i <- i + width
    elif xStep = 1 then
        let b = Vector<float>(y.[0])

        while i <= n - width do
            (vector (Vector<float>(x.Slice(i, width))) b).CopyTo(out.Slice(i, width))
            i <- i + width
    elif yStep = 1 then
        let a = Vector<float>(x.[0])

        while i <= n - width do
            (vector a (Vector<float>(y.Slice(i, width)))).CopyTo(out.Slice(i, width))
            i <- i + width

    while i < n do
        out.[i] <- scalar x.[i * xStep] y.[i * yStep]
        i <- i + 1

/// A binary map run by `zipInto` with a vector body and its scalar tail (the same bits).
/// Inline, so that `vector` is inlined into the loop: called through a closure it took 2.3×
/// as long (measured: max of 10⁵ elements into a reused array, 124 µs against 55 µs).
let inline private zipMap
    ([<InlineIfLambda>] vector: Vector<float> -> Vector<float> -> Vector<float>)
    ([<InlineIfLambda>] scalar: float -> float -> float)
    : BinaryMap =
    {
        Kernel =
            repeating (fun x y ->
                let aval = binaryAval x.DType x y
                let out = NDArray.alloc aval.Size
                zipInto vector scalar x y out
                NDArray(aval, out))
        Scalar = scalar
        Span = BinaryKernel(fun x y d -> zipSpans vector scalar x y d)
    }

/// The larger of two values elementwise; NaN if either is NaN (as NumPy's maximum).
let max: BinaryMap = zipMap maxVector maxScalar

/// The smaller of two values elementwise; NaN if either is NaN (as NumPy's minimum).
let min: BinaryMap = zipMap minVector minScalar

/// atan2(y, x): the angle of the point (x, y).
let atan2 = binaryLoopMap (fun y x -> Math.Atan2(y, x))

/// clamp(lo, x, hi) = min(max(x, lo), hi), with `lo` and `hi` of x's shape or rank 0.
let clamp (lo: NDArray) (x: NDArray) (hi: NDArray) =
    let out = NDArray.alloc x.Size
    let l = lo.Span
    let d = x.Span
    let h = hi.Span
    let ls = if l.Length = 1 then 0 else 1
    let hs = if h.Length = 1 then 0 else 1

    for i in 0 .. out.Length - 1 do
        out.[i] <- Math.Min(Math.Max(d.[i], l.[i * ls]), h.[i * hs])

    NDArray(x.Aval, out)

/// Integer division semantics for int64 operands are not needed: `div` always produces float64
/// (NumPy's true division); the op promotes its operands first.
/// A comparison as a bool array (1.0 where `test` holds, else 0.0), with rank-0 broadcasting.
/// `mask` is `test` lane by lane: the ordered vector compares are false for NaN, as `test` is,
/// and `ne` is the complement of `eq`, true for NaN, as `<>` is.
let inline private compareWith
    ([<InlineIfLambda>] mask: Vector<float> -> Vector<float> -> Vector<int64>)
    ([<InlineIfLambda>] test: float -> float -> bool)
    (x: NDArray)
    (y: NDArray)
    =
    let aval = binaryAval Bool x y
    let out = NDArray.alloc aval.Size

    zipInto
        (fun a b -> Vector.ConditionalSelect(mask a b, Vector<float>.One, Vector<float>.Zero))
        (fun a b -> if test a b then 1.0 else 0.0)
        x
        y
        out

    NDArray(aval, out)

/// x < y elementwise, as bools.
let lt (x: NDArray) (y: NDArray) =
    compareWith (fun a b -> Vector.LessThan(a, b)) (fun a b -> a < b) x y

/// x <= y elementwise, as bools.
let le (x: NDArray) (y: NDArray) =
    compareWith (fun a b -> Vector.LessThanOrEqual(a, b)) (fun a b -> a <= b) x y

/// x > y elementwise, as bools.
let gt (x: NDArray) (y: NDArray) =
    compareWith (fun a b -> Vector.GreaterThan(a, b)) (fun a b -> a > b) x y

/// x >= y elementwise, as bools.
let ge (x: NDArray) (y: NDArray) =
    compareWith (fun a b -> Vector.GreaterThanOrEqual(a, b)) (fun a b -> a >= b) x y

/// x = y elementwise, as bools (NaN equals nothing).
let eq (x: NDArray) (y: NDArray) =
    compareWith (fun a b -> Vector.Equals(a, b)) (fun a b -> a = b) x y

/// x <> y elementwise, as bools (NaN differs from everything).
let ne (x: NDArray) (y: NDArray) =
    compareWith (fun a b -> Vector.OnesComplement(Vector.Equals(a, b))) (fun a b -> a <> b) x y

/// select_n's choice for one element: `onTrue` unless `which` is ±0 (NaN is true).
let inline private choose (which: float) (onFalse: float) (onTrue: float) =
    if which <> 0.0 then onTrue else onFalse

/// select_n: where `which` is false take `onFalse`, where true take `onTrue` (all one shape).
/// "True" is any value but ±0 (NaN included), by vector lanes and `choose` alike. A large
/// output is stored non-temporally (Stores), its elements before the first vector-aligned
/// one by `choose`.
let select (which: NDArray) (onFalse: NDArray) (onTrue: NDArray) =
    let n = onFalse.Size
    let out = NDArray.alloc n
    let width = Vector<float>.Count
    let w, wAt = which.Buffer, which.Offset
    let f, fAt = onFalse.Buffer, onFalse.Offset
    let t, tAt = onTrue.Buffer, onTrue.Offset
    let nonTemporal = Stores.isLarge n
    use p = fixed out
    let lead = if nonTemporal then Stores.alignedLead p n else 0
    let mutable i = 0

    while i < lead do
        out.[i] <- choose w.[wAt + i] f.[fAt + i] t.[tAt + i]
        i <- i + 1

    while i <= n - width do
        let isFalse = Vector.Equals(Vector<float>(w, wAt + i), Vector<float>.Zero)

        Vector.ConditionalSelect(isFalse, Vector<float>(f, fAt + i), Vector<float>(t, tAt + i))
        |> Stores.store nonTemporal p out i

        i <- i + width

    while i < n do
        out.[i] <- choose w.[wAt + i] f.[fAt + i] t.[tAt + i]
        i <- i + 1

    if nonTemporal then
        Stores.fence ()

    NDArray(onFalse.Aval, out)

/// `f` applied to each element of `x`, into a fresh array of aval `aval` (a plain loop).
let private mapSpan (f: float -> float) (aval: Aval) (x: NDArray) =
    let out = NDArray.alloc x.Size
    let src = x.Span

    for i in 0 .. src.Length - 1 do
        out.[i] <- f src.[i]

    NDArray(aval, out)

/// Converts between dtypes: to int64 truncates toward zero (NumPy's astype), to bool tests != 0.
let convert (dtype: DType) (x: NDArray) =
    if x.DType = dtype then
        x
    else
        let aval = x.Aval.WithDType dtype

        let toBool v = if v <> 0.0 then 1.0 else 0.0

        match dtype with
        // every dtype is stored alike: to float64 the values stay, shared (a view stays one)
        | Float64 -> NDArray.view aval 0 x
        | Int64 when x.IsUniform -> NDArray.uniform aval (Math.Truncate(x.At 0))
        | Int64 -> mapSpan Math.Truncate aval x
        | Bool when x.IsUniform -> NDArray.uniform aval (toBool (x.At 0))
        | Bool -> mapSpan toBool aval x

// ---- rounding and special functions (Primitives/Rounding.fs, Primitives/Special.fs) ----------

/// ⌊x⌋ elementwise (TensorPrimitives' vector floor is exact, as Math.Floor is).
let floor =
    mapWith Math.Floor (UnaryKernel(fun x d -> TensorPrimitives.Floor(x, d)))

/// ⌈x⌉ elementwise.
let ceil =
    mapWith Math.Ceiling (UnaryKernel(fun x d -> TensorPrimitives.Ceiling(x, d)))

/// The nearest integer, halves to even (NumPy's round: 0.5 → 0, 1.5 → 2, 2.5 → 2, −0.5 → −0);
/// Math.Round's default midpoint rule is ToEven, as is TensorPrimitives.Round's.
let round =
    mapWith (fun v -> Math.Round(v, MidpointRounding.ToEven)) (UnaryKernel(fun x d -> TensorPrimitives.Round(x, d)))

/// The integer part (toward zero) elementwise.
let trunc =
    mapWith Math.Truncate (UnaryKernel(fun x d -> TensorPrimitives.Truncate(x, d)))

/// x · log y, 0 where x = 0 unless y is NaN (scipy's xlogy: NaN propagates from y, so
/// xlogy(0, NaN) is NaN; JAX gives 0 there).
let private xlogyScalar (x: float) (y: float) =
    if x = 0.0 && not (Double.IsNaN y) then
        0.0
    else
        x * Math.Log y

/// xlogy(x, y) elementwise with rank-0 broadcasting.
let xlogy: BinaryMap = binaryLoopMap xlogyScalar
