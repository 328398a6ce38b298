/// The primitive-family workloads of issue 13's target "every elementwise and shape primitive
/// on 10⁵ and 10⁷ elements within 1.3× of a TensorPrimitives or Span copy loop doing the same
/// passes". Each family binds a few primitives of one kind in FunDiff, one after another, and
/// has a reference that makes the same passes over the same float[] data with TensorPrimitives,
/// Span copies or a plain vectorized loop, each output in a freshly allocated array (FunDiff
/// allocates every result too, so allocation is on both sides of the ratio).
module FunDiff.Bench.Families

open System
open System.Numerics
open System.Numerics.Tensors
open FunDiff

/// Sizes of the family rows: key suffix, display and element count.
let familySizes = [ "1e5", "10⁵", 100_000; "1e7", "10⁷", 10_000_000 ]

/// Columns of the matrices the axis reductions, broadcast and transpose work on (rows = n / 1000).
let matrixColumns = 1000

/// The inputs of every family at one size, built once outside the timed calls: the float[]
/// the references read and tensors over the same values for FunDiff.
type Inputs =
    {
        /// Elements of x and y.
        N: int
        /// x (n values in [0.5, 2): log and division stay finite).
        Xs: float[]
        /// y (n values in [0.5, 2), independent of x: x > y about half the time).
        Ys: float[]
        X: Tensor
        Y: Tensor
        /// x as a (n / 1000) × 1000 matrix (FunDiff: a reshape of X, sharing its storage).
        Rows: int
        Matrix: Tensor
        /// The first 1000 values of y: the row the broadcast repeats.
        RowXs: float[]
        Row: Tensor
        /// x's first and second halves as separate arrays: the operands of the concatenation.
        HeadXs: float[]
        TailXs: float[]
        Head: Tensor
        Tail: Tensor
    }

/// Reproducible inputs of n elements (n a multiple of 2000).
let inputs (n: int) : Inputs =
    let r = Random(13)
    let xs = Array.init n (fun _ -> 0.5 + 1.5 * r.NextDouble())
    let ys = Array.init n (fun _ -> 0.5 + 1.5 * r.NextDouble())
    let x = Tensor.ofArray xs
    let rows = n / matrixColumns
    let rowXs = Array.sub ys 0 matrixColumns
    let headXs, tailXs = Array.sub xs 0 (n / 2), Array.sub xs (n / 2) (n - n / 2)

    {
        N = n
        Xs = xs
        Ys = ys
        X = x
        Y = Tensor.ofArray ys
        Rows = rows
        Matrix = Tensor.reshape [| rows; matrixColumns |] x
        RowXs = rowXs
        Row = Tensor.ofArray rowXs
        HeadXs = headXs
        TailXs = tailXs
        Head = Tensor.ofArray headXs
        Tail = Tensor.ofArray tailXs
    }

/// Where a reference takes its output arrays from: called once per output, in a fixed order.
type Outputs = int -> float[]

/// Fresh output arrays (the compared reference): uninitialized, as the buffers FunDiff's kernels
/// write into are (`new double[n]` would also zero them, a pass FunDiff does not make).
let fresh: Outputs = fun n -> GC.AllocateUninitializedArray<float> n

/// The same output arrays on every call (the kernels' floor, shown for context): the k-th array
/// a call takes is the k-th array the previous call took, allocated on first use.
type ReusedOutputs() =
    let arrays = ResizeArray<float[]>()
    let mutable next = 0

    /// Starts a call: the next `Take` hands out the first array again.
    member _.Restart() = next <- 0

    /// The next array, of n elements (the calls repeat, so the lengths match).
    member _.Take(n: int) =
        if next = arrays.Count then
            arrays.Add(GC.AllocateUninitializedArray<float> n)

        let a = arrays.[next]

        if a.Length <> n then
            invalidOp (sprintf "ReusedOutputs: output %d has %d elements, this call asks for %d" next a.Length n)

        next <- next + 1
        a

// ---- the references' own loops (where TensorPrimitives has no such operation) ----------------

/// out[i] = 1.0 if x[i] > y[i] else 0.0, vectorized, into an output array (FunDiff stores bools
/// as 0.0/1.0 doubles, so this is the pass `Tensor.gt` makes).
let greaterThan (outputs: Outputs) (x: float[]) (y: float[]) =
    let out = outputs x.Length
    let w = Vector<float>.Count
    let mutable i = 0

    while i + w <= x.Length do
        let mask = Vector.GreaterThan(Vector<float>(x, i), Vector<float>(y, i))
        Vector.ConditionalSelect(mask, Vector<float>.One, Vector<float>.Zero).CopyTo(out, i)
        i <- i + w

    while i < x.Length do
        out.[i] <- if x.[i] > y.[i] then 1.0 else 0.0
        i <- i + 1

    out

/// out[i] = onTrue[i] where cond[i] <> 0 else onFalse[i], vectorized, into an output array (the
/// pass of select_n).
let select (outputs: Outputs) (cond: float[]) (onTrue: float[]) (onFalse: float[]) =
    let out = outputs cond.Length
    let w = Vector<float>.Count
    let mutable i = 0

    while i + w <= cond.Length do
        let isFalse = Vector.Equals(Vector<float>(cond, i), Vector<float>.Zero)

        Vector.ConditionalSelect(isFalse, Vector<float>(onFalse, i), Vector<float>(onTrue, i)).CopyTo(out, i)

        i <- i + w

    while i < cond.Length do
        out.[i] <- if cond.[i] <> 0.0 then onTrue.[i] else onFalse.[i]
        i <- i + 1

    out

/// Edge of the square tiles of the hand transpose (32 × 32 doubles: 8 KB read, 8 KB written,
/// both in L1).
let private transposeTile = 32

/// The transpose of a rows × cols row-major matrix into a cols × rows output array, by square
/// tiles (the cache-blocked loop a careful programmer writes; a naive double loop misses the
/// cache on every write at 10⁷ elements).
let transposeByTiles (outputs: Outputs) (src: float[]) (rows: int) (cols: int) =
    let out = outputs src.Length
    let mutable i0 = 0

    while i0 < rows do
        let iEnd = min rows (i0 + transposeTile)
        let mutable j0 = 0

        while j0 < cols do
            let jEnd = min cols (j0 + transposeTile)

            for i in i0 .. iEnd - 1 do
                for j in j0 .. jEnd - 1 do
                    out.[j * rows + i] <- src.[i * cols + j]

            j0 <- jEnd

        i0 <- iEnd

    out

/// The column sums of a rows × cols matrix (sum over axis 0): each row added into the
/// accumulator by TensorPrimitives.Add (the output, zeroed first: it starts the sums).
let columnSums (outputs: Outputs) (src: float[]) (rows: int) (cols: int) =
    let acc = outputs cols
    Array.Clear acc

    for r in 0 .. rows - 1 do
        TensorPrimitives.Add(ReadOnlySpan acc, ReadOnlySpan(src, r * cols, cols), Span acc)

    acc

/// The row sums of a rows × cols matrix (sum over axis 1): TensorPrimitives.Sum of each row.
let rowSums (outputs: Outputs) (src: float[]) (rows: int) (cols: int) =
    let out = outputs rows

    for r in 0 .. rows - 1 do
        out.[r] <- TensorPrimitives.Sum(ReadOnlySpan(src, r * cols, cols))

    out

// ---- the families -----------------------------------------------------------------------------

/// One family of primitives: what FunDiff binds, what the reference does, and the bytes the
/// passes read and write.
type Family =
    {
        /// A stable key (the cases' keys are built from it).
        Key: string
        /// Row text: the family and the FunDiff expressions.
        Name: string
        /// Row text: the reference's passes.
        ReferenceText: string
        /// The FunDiff side: every primitive of the family once, the results returned.
        FunDiff: Inputs -> Tensor[]
        /// The reference side: the same passes, each result in an array from `Outputs`.
        Reference: Outputs -> Inputs -> float[][]
        /// Bytes read plus bytes written by all the family's passes at n elements (the useful
        /// traffic, as if each pass read its operands and wrote its result once).
        Bytes: int -> float
    }

/// Eight bytes per float64.
let private f64 (elements: int) = 8.0 * float elements

let private unary: Family =
    {
        Key = "unary"
        Name = "unary transcendental: `exp x`, `tanh x`, `log x`"
        ReferenceText = "TensorPrimitives.Exp, .Tanh, .Log, each into a fresh array"
        FunDiff = fun i -> [| Tensor.exp i.X; Tensor.tanh i.X; Tensor.log i.X |]
        Reference =
            fun outputs i ->
                let e, t, l = outputs i.N, outputs i.N, outputs i.N
                TensorPrimitives.Exp(ReadOnlySpan i.Xs, Span e)
                TensorPrimitives.Tanh(ReadOnlySpan i.Xs, Span t)
                TensorPrimitives.Log(ReadOnlySpan i.Xs, Span l)
                [| e; t; l |]
        Bytes = fun n -> 3.0 * f64 (2 * n)
    }

let private binary: Family =
    {
        Key = "binary"
        Name = "binary arithmetic: `x + y`, `x * y`, `x - y`, `x / y`"
        ReferenceText = "TensorPrimitives.Add, .Multiply, .Subtract, .Divide, each into a fresh array"
        FunDiff = fun i -> [| i.X + i.Y; i.X * i.Y; i.X - i.Y; i.X / i.Y |]
        Reference =
            fun outputs i ->
                let x = ReadOnlySpan i.Xs
                let y = ReadOnlySpan i.Ys
                let a, m, s, d = outputs i.N, outputs i.N, outputs i.N, outputs i.N
                TensorPrimitives.Add(x, y, Span a)
                TensorPrimitives.Multiply(x, y, Span m)
                TensorPrimitives.Subtract(x, y, Span s)
                TensorPrimitives.Divide(x, y, Span d)
                [| a; m; s; d |]
        Bytes = fun n -> 4.0 * f64 (3 * n)
    }

let private withScalar: Family =
    {
        Key = "scalar"
        Name = "arithmetic with a scalar: `x * 2.0`, `1.0 - x`, `x ** 2.0` (pow_const 2)"
        ReferenceText = "TensorPrimitives.Multiply(x, 2.0), .Subtract(1.0, x), .Multiply(x, x), each into a fresh array"
        FunDiff = fun i -> [| i.X * 2.0; 1.0 - i.X; i.X ** 2.0 |]
        Reference =
            fun outputs i ->
                let x = ReadOnlySpan i.Xs
                let m, s, p = outputs i.N, outputs i.N, outputs i.N
                TensorPrimitives.Multiply(x, 2.0, Span m)
                TensorPrimitives.Subtract(1.0, x, Span s)
                TensorPrimitives.Multiply(x, x, Span p)
                [| m; s; p |]
        Bytes = fun n -> 3.0 * f64 (2 * n)
    }

let private selection: Family =
    {
        Key = "select"
        Name = "comparison and selection: `Tensor.where (Tensor.gt x y) x y`, `Tensor.maximum x y`"
        ReferenceText =
            "a vectorized compare loop (0.0/1.0 out), a vectorized select loop, TensorPrimitives.Max(x, y), each into a fresh array"
        FunDiff = fun i -> [| Tensor.where (Tensor.gt i.X i.Y) i.X i.Y; Tensor.maximum i.X i.Y |]
        Reference =
            fun outputs i ->
                let mask = greaterThan outputs i.Xs i.Ys
                let m = outputs i.N
                TensorPrimitives.Max(ReadOnlySpan i.Xs, ReadOnlySpan i.Ys, Span m)
                [| select outputs mask i.Xs i.Ys; m |]
        // gt reads 2 and writes 1 array, select_n reads 3 and writes 1, max reads 2 and writes 1
        Bytes = fun n -> f64 (3 * n) + f64 (4 * n) + f64 (3 * n)
    }

let private reductions: Family =
    {
        Key = "reduce"
        Name =
            "reductions: `Tensor.sum x`, `Tensor.max x`, `Tensor.sumAxes [ 0 ] m`, `Tensor.sumAxes [ 1 ] m` (m: x as (n/1000) × 1000)"
        ReferenceText =
            "TensorPrimitives.Sum, .Max; column sums by TensorPrimitives.Add of each row into a fresh accumulator; row sums by TensorPrimitives.Sum of each row into a fresh array"
        FunDiff =
            fun i ->
                [|
                    Tensor.sum i.X
                    Tensor.max i.X
                    Tensor.sumAxes [ 0 ] i.Matrix
                    Tensor.sumAxes [ 1 ] i.Matrix
                |]
        Reference =
            fun outputs i ->
                [|
                    [| TensorPrimitives.Sum(ReadOnlySpan i.Xs) |]
                    [| TensorPrimitives.Max(ReadOnlySpan i.Xs) |]
                    columnSums outputs i.Xs i.Rows matrixColumns
                    rowSums outputs i.Xs i.Rows matrixColumns
                |]
        Bytes = fun n -> 4.0 * f64 n + f64 matrixColumns + f64 (n / matrixColumns)
    }

let private copies: Family =
    {
        Key = "copies"
        Name =
            "shape copies: `x.[1..]`, `Tensor.reshape` of x to (n/1000) × 1000, `Tensor.broadcastTo` of a 1000-element row to (n/1000) × 1000, `Tensor.concat 0 [ head; tail ]`"
        ReferenceText =
            "Span.CopyTo of x[1..]; nothing for the reshape (FunDiff's shares storage); the row CopyTo each of n/1000 rows; CopyTo of both halves — each into a fresh array"
        FunDiff =
            fun i ->
                [|
                    i.X.[1..]
                    Tensor.reshape [| i.Rows; matrixColumns |] i.X
                    Tensor.broadcastTo [| i.Rows; matrixColumns |] i.Row
                    Tensor.concat 0 [ i.Head; i.Tail ]
                |]
        Reference =
            fun outputs i ->
                let sliced = outputs (i.N - 1)
                ReadOnlySpan(i.Xs, 1, i.N - 1).CopyTo(Span sliced)
                let broadcast = outputs i.N

                for r in 0 .. i.Rows - 1 do
                    ReadOnlySpan(i.RowXs).CopyTo(Span(broadcast, r * matrixColumns, matrixColumns))

                let joined = outputs i.N
                ReadOnlySpan(i.HeadXs).CopyTo(Span(joined, 0, i.HeadXs.Length))
                ReadOnlySpan(i.TailXs).CopyTo(Span(joined, i.HeadXs.Length, i.TailXs.Length))
                [| sliced; i.Xs; broadcast; joined |]
        // slice reads and writes n − 1; the reshape moves nothing; the broadcast reads a row and
        // writes n; the concatenation reads and writes n
        Bytes = fun n -> f64 (2 * (n - 1)) + f64 (matrixColumns + n) + f64 (2 * n)
    }

let private transpose: Family =
    {
        Key = "transpose"
        Name = "transpose: `Tensor.transpose m` (m: x as (n/1000) × 1000)"
        ReferenceText = "a loop over 32 × 32 tiles into a fresh array"
        FunDiff = fun i -> [| Tensor.transpose i.Matrix |]
        Reference = fun outputs i -> [| transposeByTiles outputs i.Xs i.Rows matrixColumns |]
        Bytes = fun n -> f64 (2 * n)
    }

/// Every family, in table order.
let families =
    [ unary; binary; withScalar; selection; reductions; copies; transpose ]

/// Checks every family's FunDiff results against its reference at a small size (the same values
/// to 1e-13 relative: the kernels and the references differ at most in tanh's small-argument
/// correction). Raises on disagreement.
let selfCheck () =
    let i = inputs 10_000

    for family in families do
        let ours = family.FunDiff i |> Array.map Tensor.toArray
        let theirs = family.Reference fresh i

        if ours.Length <> theirs.Length then
            failwithf "self-check failed: family %s: %d results vs %d" family.Key ours.Length theirs.Length

        for k in 0 .. ours.Length - 1 do
            if ours.[k].Length <> theirs.[k].Length then
                failwithf
                    "self-check failed: family %s, result %d: %d elements vs %d"
                    family.Key
                    k
                    ours.[k].Length
                    theirs.[k].Length

            for e in 0 .. ours.[k].Length - 1 do
                let a, b = ours.[k].[e], theirs.[k].[e]

                if not (abs (a - b) <= 1e-13 * (1.0 + abs b)) then
                    failwithf
                        "self-check failed: family %s, result %d, element %d: FunDiff gives %.17g, the reference %.17g"
                        family.Key
                        k
                        e
                        a
                        b
