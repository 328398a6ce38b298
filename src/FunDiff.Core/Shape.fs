// Room: dtypes, avals (shape + dtype) and the shape arithmetic every layer shares: broadcasting, axes, strides, permutations.
namespace FunDiff

/// The element type of a tensor. `Float64` is the number type that transforms differentiate;
/// `Int64` holds indices and `Bool` masks and comparison results: their tangents are always zero.
type DType =
    | Float64
    | Int64
    | Bool

    /// The short name used in printed programs: `f64`, `i64`, `bool`.
    member d.ShortName =
        match d with
        | Float64 -> "f64"
        | Int64 -> "i64"
        | Bool -> "bool"

    /// Whether values of this dtype carry tangents.
    member d.IsFloat = (d = Float64)

/// Fast equality of shapes (F#'s structural `=` on arrays goes through generic equality).
module internal ShapeEquality =
    let equal (a: int[]) (b: int[]) =
        System.MemoryExtensions.SequenceEqual(System.ReadOnlySpan a, System.ReadOnlySpan b)

/// Element counts that cannot overflow: a shape whose product exceeds the largest .NET array
/// would otherwise wrap around to a wrong (even zero) size.
module internal ShapeSize =

    /// The most elements a tensor can hold (the longest .NET array).
    let maxElements = System.Array.MaxLength

    /// The product of the dimensions as an int64, stopping once it passes maxElements (a zero
    /// dimension makes it 0 whatever the others are).
    let product (shape: int[]) =
        if Array.contains 0 shape then
            0L
        else
            let mutable acc = 1L
            let mutable k = 0

            while k < shape.Length && acc <= int64 maxElements do
                acc <- acc * int64 shape.[k]
                k <- k + 1

            acc

    /// The element count of a shape; raises ShapeException (naming `op`) if it is too large.
    let checkedSize (op: string) (shape: int[]) =
        let n = product shape

        if n > int64 maxElements then
            raise (
                ShapeException(
                    sprintf
                        "%s: shape [%s] has more than %d elements, the most a tensor can hold (the size overflows). Use smaller dimensions."
                        op
                        (shape |> Array.map string |> String.concat ", ")
                        maxElements
                )
            )

        int n

/// The abstract value of a tensor: its shape and dtype, all a shape rule or a tracer needs.
/// Immutable: the shape array is never written after construction.
[<Sealed; AllowNullLiteral>]
type Aval(shape: int[], dtype: DType) =
    let size =
        if shape.Length = 0 then 1
        elif shape.Length = 1 then shape.[0]
        else ShapeSize.checkedSize "tensor" shape

    /// The dimensions, outermost first (row-major). Do not mutate.
    member _.Shape = shape
    /// The element type.
    member _.DType = dtype
    /// The number of dimensions.
    member _.Rank = shape.Length
    /// The number of elements (1 for a scalar).
    member _.Size = size

    /// The same shape with another dtype.
    member _.WithDType(d: DType) =
        if d = dtype then Aval(shape, dtype) else Aval(shape, d)

    override _.Equals(o: obj) =
        match o with
        | :? Aval as a -> a.DType = dtype && ShapeEquality.equal a.Shape shape
        | _ -> false

    override _.GetHashCode() = hash (dtype, shape)

    /// Prints like a jaxpr type: `f64[3,4]`.
    override _.ToString() =
        dtype.ShortName + "[" + (shape |> Array.map string |> String.concat ",") + "]"

/// Shape arithmetic shared by the shape rules and the ops: broadcasting, axes, strides.
module Shape =

    /// Whether two shapes are equal (fast: no generic equality).
    let equal (a: int[]) (b: int[]) = ShapeEquality.equal a b

    /// The number of elements of a shape (raises ShapeException if it overflows).
    let size (shape: int[]) = ShapeSize.checkedSize "size" shape

    /// Prints a shape as in error messages: `[3, 4]`.
    let show (shape: int[]) =
        "[" + (shape |> Array.map string |> String.concat ", ") + "]"

    /// Row-major strides (in elements) of a shape.
    let strides (shape: int[]) =
        let s = Array.zeroCreate shape.Length
        let mutable acc = 1

        for i in shape.Length - 1 .. -1 .. 0 do
            s.[i] <- acc
            acc <- acc * shape.[i]

        s

    /// The axes 0..rank-1 not in `axes`, ascending (the kept axes of a reduction, the free
    /// axes of a contraction).
    let complementAxes (rank: int) (axes: int[]) =
        [|
            for k in 0 .. rank - 1 do
                if not (Array.contains k axes) then
                    k
        |]

    /// The permutation that undoes `perm`: inverse.[perm.[i]] = i.
    let invertPermutation (perm: int[]) =
        let inverse = Array.zeroCreate perm.Length
        perm |> Array.iteri (fun i p -> inverse.[p] <- i)
        inverse

    /// NumPy broadcasting of two shapes; raises a ShapeException naming the operation.
    let broadcast (op: string) (a: int[]) (b: int[]) =
        if a = b then
            a
        else
            let n = max a.Length b.Length
            let out = Array.zeroCreate n

            for i in 1..n do
                let da = if i <= a.Length then a.[a.Length - i] else 1
                let db = if i <= b.Length then b.[b.Length - i] else 1

                out.[n - i] <-
                    if da = db || db = 1 then
                        da
                    elif da = 1 then
                        db
                    else
                        raise (
                            ShapeException(
                                sprintf
                                    "%s: shapes %s and %s cannot broadcast (dimension %d from the end: %d vs %d). Make the trailing dimensions equal or 1, e.g. with Tensor.reshape."
                                    op
                                    (show a)
                                    (show b)
                                    i
                                    da
                                    db
                            )
                        )

            ShapeSize.checkedSize op out |> ignore
            out

    /// Whether two shapes broadcast (NumPy's rule: trailing dimensions equal or 1).
    let broadcasts (a: int[]) (b: int[]) =
        let mutable ok = true

        for i in 1 .. min a.Length b.Length do
            let da, db = a.[a.Length - i], b.[b.Length - i]

            if da <> db && da <> 1 && db <> 1 then
                ok <- false

        ok

    /// Normalizes a possibly negative axis for a tensor of the given rank.
    let normalizeAxis (op: string) (rank: int) (axis: int) =
        let a = if axis < 0 then axis + rank else axis

        if a < 0 || a >= rank then
            if rank = 0 then
                raise (
                    ShapeException(
                        sprintf
                            "%s: axis %d is out of range: a scalar (rank 0) has no axes. Reshape it to [1] first (Tensor.reshape [| 1 |]), or use the form of the operation without an axis."
                            op
                            axis
                    )
                )

            raise (
                ShapeException(
                    sprintf
                        "%s: axis %d is out of range for a tensor of rank %d (valid axes are %d..%d)."
                        op
                        axis
                        rank
                        -rank
                        (rank - 1)
                )
            )

        a

    /// Normalizes a list of axes: each in range, no repeats, sorted ascending.
    let normalizeAxes (op: string) (rank: int) (axes: int[]) =
        let normalized = axes |> Array.map (normalizeAxis op rank) |> Array.sort

        for i in 1 .. normalized.Length - 1 do
            if normalized.[i] = normalized.[i - 1] then
                raise (
                    ShapeException(
                        sprintf
                            "%s: axis %d is repeated in the axes %s of a rank-%d tensor (negative axes count from the end). Give each axis once."
                            op
                            normalized.[i]
                            (show axes)
                            rank
                    )
                )

        normalized

    /// Checks that a permutation of 0..rank-1 is one.
    let checkPermutation (op: string) (rank: int) (perm: int[]) =
        if perm.Length <> rank || (Array.sort perm <> Array.init rank id) then
            raise (
                ShapeException(
                    sprintf
                        "%s: %s is not a permutation of the axes of a rank-%d tensor: %s."
                        op
                        (show perm)
                        rank
                        (if rank = 0 then
                             "a scalar has no axes, so it must be empty"
                         else
                             sprintf "it must list each of 0..%d exactly once" (rank - 1))
                )
            )

    /// The check of a shape every constructor shares (zeros, ones, full, eye, arange,
    /// linspace, broadcastTo): not null, no dimension negative, and no more elements than a
    /// tensor can hold (a ShapeException naming `op`, not an overflow or OutOfMemoryException).
    let checkDimensions (op: string) (shape: int[]) =
        Guard.notNull op "shape" shape

        for k in 0 .. shape.Length - 1 do
            if shape.[k] < 0 then
                raise (
                    ShapeException(
                        sprintf
                            "%s: shape %s has a negative dimension (%d at axis %d). Every size must be 0 or more."
                            op
                            (show shape)
                            shape.[k]
                            k
                    )
                )

        ShapeSize.checkedSize op shape |> ignore

    /// The dtype that arithmetic on two dtypes produces (NumPy's promotion on this lattice:
    /// bool < int64 < float64).
    let promote (a: DType) (b: DType) =
        match a, b with
        | Float64, _
        | _, Float64 -> Float64
        | Int64, _
        | _, Int64 -> Int64
        | Bool, Bool -> Bool

    // ---- the shape logic of the ops that bind primitives (Prim), with their errors ---------

    /// Checks that `shape` broadcasts to exactly `target` (NumPy's broadcast_to), raising a
    /// ShapeException that names the shape it would need otherwise.
    let checkBroadcastTo (op: string) (shape: int[]) (target: int[]) =
        let joint = broadcast op shape target

        if joint <> target then
            raise (
                ShapeException(
                    sprintf
                        "%s: shape %s cannot broadcast to %s; it would need shape %s."
                        op
                        (show shape)
                        (show target)
                        (show joint)
                )
            )

    /// A reshape's target with one -1 inferred from `size` elements, as in NumPy.
    let inferReshape (op: string) (size: int) (shape: int[]) =
        match shape |> Array.filter (fun d -> d = -1) |> Array.length with
        | 0 -> shape
        | 1 ->
            let known = shape |> Array.filter (fun d -> d <> -1) |> Array.fold (*) 1

            if known = 0 || size % known <> 0 then
                raise (ShapeException(sprintf "%s: cannot infer -1 in %s for %d elements." op (show shape) size))

            shape |> Array.map (fun d -> if d = -1 then size / known else d)
        | _ -> raise (ShapeException(sprintf "%s: at most one -1 allowed in %s." op (show shape)))

    /// Python's slice bounds on an axis of `n` elements: negative counts from the end, both
    /// clamped to 0..n, an empty slice when stop ≤ start. Returns (start, stop).
    let clampSlice (n: int) (start: int) (stop: int) =
        let clamp i =
            max 0 (min n (if i < 0 then i + n else i))

        let s = clamp start
        s, max s (clamp stop)

    /// Checks that every shape of a stack is the first one.
    let checkSameShapes (op: string) (shapes: int[] seq) =
        let mutable first = null

        for shape in shapes do
            if isNull first then
                first <- shape
            elif not (equal shape first) then
                raise (
                    ShapeException(
                        sprintf "%s: all tensors must have one shape; got %s and %s." op (show first) (show shape)
                    )
                )

    /// Whether `x ** c` of an integer tensor stays an integer: a whole, finite exponent c ≥ 0
    /// (NumPy keeps int64 there; any other exponent gives float64).
    let isIntegerPower (c: float) =
        c >= 0.0 && System.Math.Floor c = c && not (System.Double.IsInfinity c)

    /// The dtype an arithmetic op computes in: the promoted one, bools counting as int64
    /// (NumPy's `True + True` is 2).
    let arithmeticDType (a: DType) (b: DType) =
        match promote a b with
        | Bool -> Int64
        | d -> d
