/// Randomised differential testing. FsCheck generates random programs — DAGs of 1 to 60 public
/// ops over random shapes, with broadcasting, size-1 axes, fan-out and reuse of intermediate
/// values — and every transform is checked on each against central differences and against the
/// other transforms: jvp against central differences, vjp as the transpose of jvp, jacfwd
/// against jacrev, hvp against central differences of grad, reverse-over-reverse against
/// forward-over-reverse, and makeIR's program against the function itself.
///
/// A program is data (op descriptions referring to earlier nodes), so a failing one prints as
/// F# code and FsCheck shrinks it to a minimal program. Every op is defined on all reals (log of
/// `x*x + 1`, sqrt of `exp x`, division by `1 + x*x`, ...), and a static bound on each node's
/// values and on its derivative keeps the numbers in the range where central differences are
/// accurate. `dotnet test` checks 300 programs from a fixed seed; FUNDIFF_FUZZ_COUNT=5000 (and
/// optionally FUNDIFF_FUZZ_SEED) runs a longer search. docs/RELIABILITY.md records the runs.
module FunDiff.Tests.FuzzTests

open System
open System.Globalization
open FsCheck
open FsCheck.FSharp
open Xunit
open FunDiff
open FunDiff.Tests.Harness

// ---- programs as data -------------------------------------------------------------------------

/// An elementwise function of one tensor, defined on all reals. Abs, relu and clip have kinks,
/// which random values miss (and at a structural zero such as `a - a` the tangent is zero
/// too). Sign is left out: at a value that is 0 in exact arithmetic but not in rounding, it
/// jumps under central differences.
type UnaryOp =
    | Sin
    | Cos
    | Tanh
    | Sigmoid
    | Atan
    | Erf
    | Neg
    | Abs
    | Relu
    | Softplus
    | Square
    | Cube
    | Exp
    | Expm1
    | Sinh
    | Cosh
    | LogOfSquarePlusOne
    | Log1pOfSquare
    | SqrtOfExp
    | SqrtOfSquarePlusOne
    | RsqrtOfSquarePlusOne
    | AsinOfTanh
    | AcosOfTanh
    | TanOfTanh
    | Clip
    | Scale of float
    | Shift of float

/// An elementwise function of two broadcasting tensors, defined on all reals.
type BinaryOp =
    | Add
    | Sub
    | Mul
    | Average
    | DivByOnePlusSquare
    | Maximum
    | Minimum
    | PowOfOnePlusSquare
    | Atan2OverOnePlusSquare

type Reduction =
    | Sum
    | Mean
    | Max
    | Min
    | Prod
    | LogSumExp
    | Var

type Comparison =
    | Lt
    | Le
    | Gt
    | Ge

/// One op of a program; the ints are the nodes it reads (0 is the input, k the k-th op).
type Node =
    | Unary of UnaryOp * int
    | Binary of BinaryOp * int * int
    | ReduceAxes of Reduction * axes: int list * keepDims: bool * int
    | ReduceAll of Reduction * int
    | Norm of int
    | Softmax of axis: int * log: bool * int
    | Cumsum of axis: int * int
    | Reshape of int list * int
    | Transpose of int
    | TransposeAxes of int list * int
    | BroadcastTo of int list * int
    | ExpandDims of axis: int * int
    | Slice of axis: int * start: int * stop: int * int
    | Index of int * int
    | Concat of axis: int * int list
    | Stack of axis: int * int list
    | Matmul of int * int
    | Dot of int * int
    | Outer of int * int
    | Where of Comparison * int * threshold: float * int * int
    | Take of indexShape: int list * indices: int list * int
    | TakeAxis of axis: int * indices: int list * int

/// The nodes an op reads.
let private operands (node: Node) =
    match node with
    | Unary(_, a)
    | ReduceAxes(_, _, _, a)
    | ReduceAll(_, a)
    | Norm a
    | Softmax(_, _, a)
    | Cumsum(_, a)
    | Reshape(_, a)
    | Transpose a
    | TransposeAxes(_, a)
    | BroadcastTo(_, a)
    | ExpandDims(_, a)
    | Slice(_, _, _, a)
    | Index(_, a)
    | Take(_, _, a)
    | TakeAxis(_, _, a) -> [ a ]
    | Binary(_, a, b)
    | Matmul(a, b)
    | Dot(a, b)
    | Outer(a, b) -> [ a; b ]
    | Concat(_, xs)
    | Stack(_, xs) -> xs
    | Where(_, p, _, t, f) -> [ p; t; f ]

/// The op with every node it reads renamed by `rename`.
let private renameOperands (rename: int -> int) (node: Node) =
    match node with
    | Unary(op, a) -> Unary(op, rename a)
    | Binary(op, a, b) -> Binary(op, rename a, rename b)
    | ReduceAxes(r, axes, keep, a) -> ReduceAxes(r, axes, keep, rename a)
    | ReduceAll(r, a) -> ReduceAll(r, rename a)
    | Norm a -> Norm(rename a)
    | Softmax(axis, log, a) -> Softmax(axis, log, rename a)
    | Cumsum(axis, a) -> Cumsum(axis, rename a)
    | Reshape(shape, a) -> Reshape(shape, rename a)
    | Transpose a -> Transpose(rename a)
    | TransposeAxes(perm, a) -> TransposeAxes(perm, rename a)
    | BroadcastTo(shape, a) -> BroadcastTo(shape, rename a)
    | ExpandDims(axis, a) -> ExpandDims(axis, rename a)
    | Slice(axis, start, stop, a) -> Slice(axis, start, stop, rename a)
    | Index(i, a) -> Index(i, rename a)
    | Concat(axis, xs) -> Concat(axis, List.map rename xs)
    | Stack(axis, xs) -> Stack(axis, List.map rename xs)
    | Matmul(a, b) -> Matmul(rename a, rename b)
    | Dot(a, b) -> Dot(rename a, rename b)
    | Outer(a, b) -> Outer(rename a, rename b)
    | Where(c, p, threshold, t, f) -> Where(c, rename p, threshold, rename t, rename f)
    | Take(shape, indices, a) -> Take(shape, indices, rename a)
    | TakeAxis(axis, indices, a) -> TakeAxis(axis, indices, rename a)

// ---- shapes and static bounds -----------------------------------------------------------------

/// What is known of a node before running it: its shape, a bound on |value| for inputs in
/// [-2, 2], and a bound on |derivative| along a tangent in [-1, 1]ⁿ. The bounds are crude but
/// safe, and keeping them small keeps central differences accurate.
type private Info =
    {
        Shape: int[]
        Bound: float
        Slope: float
    }

let private inputBound = 2.0
let private maxSize = 36
let private maxRank = 4
let private maxBound = 50.0
let private maxSlope = 200.0

let private sizeOf (shape: int[]) = Array.fold (*) 1 shape

/// NumPy broadcasting of two shapes.
let private broadcastShapes (a: int[]) (b: int[]) : int[] option =
    let rank = max a.Length b.Length

    let dim (s: int[]) k =
        let j = k - (rank - s.Length)
        if j < 0 then 1 else s.[j]

    let dims =
        Array.init rank (fun k ->
            let x, y = dim a k, dim b k

            if x = y || y = 1 then Some x
            elif x = 1 then Some y
            else None)

    if Array.forall Option.isSome dims then
        Some(Array.map Option.get dims)
    else
        None

/// The axis in 0 .. rank-1 that `axis` names (negative counts from the end), if any.
let private axisIn (rank: int) (axis: int) =
    let a = if axis < 0 then axis + rank else axis
    if a >= 0 && a < rank then Some a else None

/// NumPy matmul's result shape: 1-d operands are vectors, leading batch axes broadcast.
let private matmulShape (a: int[]) (b: int[]) =
    if a.Length = 0 || b.Length = 0 then
        None
    else
        let a2 = if a.Length = 1 then [| 1; a.[0] |] else a
        let b2 = if b.Length = 1 then [| b.[0]; 1 |] else b

        if a2.[a2.Length - 1] <> b2.[b2.Length - 2] then
            None
        else
            broadcastShapes a2.[.. a2.Length - 3] b2.[.. b2.Length - 3]
            |> Option.map (fun batch ->
                Array.concat
                    [
                        batch
                        (if a.Length = 1 then [||] else [| a2.[a2.Length - 2] |])
                        (if b.Length = 1 then [||] else [| b2.[b2.Length - 1] |])
                    ])

/// NumPy dot's result shape for operands of rank ≥ 1: a's last axis against b's second-to-last.
let private dotShape (a: int[]) (b: int[]) =
    if a.Length = 0 || b.Length = 0 then
        None
    else
        let bAxis = if b.Length = 1 then 0 else b.Length - 2

        if a.[a.Length - 1] <> b.[bAxis] then
            None
        else
            Some(Array.append a.[.. a.Length - 2] (Array.removeAt bAxis b))

/// The bound on |value| and on |derivative| of a unary op of an operand with bounds (b, s).
let private unaryBounds (op: UnaryOp) (b: float) (s: float) =
    match op with
    | Sin
    | Cos
    | Tanh -> 1.0, s
    | Sigmoid -> 1.0, 0.25 * s
    | Atan -> Math.PI / 2.0, s
    | Erf -> 1.0, 1.13 * s
    | Neg
    | Abs
    | Relu -> b, s
    | Softplus -> b + 0.7, s
    | Square -> b * b, 2.0 * b * s
    | Cube -> b * b * b, 3.0 * b * b * s
    | Exp
    | Expm1 -> Math.Exp b, Math.Exp b * s
    | Sinh -> Math.Sinh b, Math.Cosh b * s
    | Cosh -> Math.Cosh b, Math.Sinh b * s
    | LogOfSquarePlusOne
    | Log1pOfSquare -> Math.Log(1.0 + b * b), s
    | SqrtOfExp -> Math.Exp(b / 2.0), Math.Exp(b / 2.0) / 2.0 * s
    | SqrtOfSquarePlusOne -> Math.Sqrt(1.0 + b * b), s
    | RsqrtOfSquarePlusOne -> 1.0, 0.39 * s
    | AsinOfTanh -> Math.Asin 0.9, 2.07 * s
    | AcosOfTanh -> Math.PI, 2.07 * s
    | TanOfTanh -> Math.Tan 1.0, 3.43 * s
    | Clip -> min b 1.0, s
    | Scale c -> abs c * b, abs c * s
    | Shift c -> b + abs c, s

/// The bounds of a binary op of operands with bounds (ba, sa) and (bb, sb).
let private binaryBounds (op: BinaryOp) (ba: float, sa: float) (bb: float, sb: float) =
    match op with
    | Add
    | Sub -> ba + bb, sa + sb
    | Mul -> ba * bb, ba * sb + bb * sa
    | Average -> (ba + bb) / 2.0, (sa + sb) / 2.0
    | DivByOnePlusSquare -> ba, sa + 0.65 * ba * sb
    | Maximum
    | Minimum -> max ba bb, max sa sb
    | PowOfOnePlusSquare -> 1.0 + ba * ba, 2.0 * ba * sa + (1.0 + ba * ba) * Math.Log(1.0 + ba * ba) * sb
    | Atan2OverOnePlusSquare -> Math.PI / 2.0, sa + sb

/// The bounds of a reduction over `n` elements.
let private reductionBounds (r: Reduction) (n: int) (b: float) (s: float) =
    let n' = float n

    match r with
    | Sum -> n' * b, n' * s
    | Mean
    | Max
    | Min -> b, s
    | Prod -> b ** n', n' * (max b 1.0) ** (n' - 1.0) * s
    | LogSumExp -> b + Math.Log n', s
    | Var -> b * b, 4.0 * b * s

/// The shape and bounds of a node, or None if its operands do not exist or do not fit.
let private infer (infos: Info[]) (node: Node) : Info option =
    if operands node |> List.exists (fun k -> k < 0 || k >= infos.Length) then
        None
    else
        let info (k: int) = infos.[k]

        let shaped shape (bound, slope) =
            Some
                {
                    Shape = shape
                    Bound = bound
                    Slope = slope
                }

        let same (a: Info) = Some a

        match node with
        | Unary(op, a) -> shaped (info a).Shape (unaryBounds op (info a).Bound (info a).Slope)
        | Binary(op, a, b) ->
            let x, y = info a, info b

            broadcastShapes x.Shape y.Shape
            |> Option.bind (fun shape -> shaped shape (binaryBounds op (x.Bound, x.Slope) (y.Bound, y.Slope)))
        | ReduceAxes(r, axes, keep, a) ->
            let x = info a
            let normal = axes |> List.map (axisIn x.Shape.Length)

            if
                axes.IsEmpty
                || List.contains None normal
                || List.length (List.distinct normal) <> axes.Length
            then
                None
            else
                let reduced = List.choose id normal
                let n = reduced |> List.fold (fun acc k -> acc * x.Shape.[k]) 1

                let shape =
                    [|
                        for k in 0 .. x.Shape.Length - 1 do
                            if not (List.contains k reduced) then
                                x.Shape.[k]
                            elif keep then
                                1
                    |]

                shaped shape (reductionBounds r n x.Bound x.Slope)
        | ReduceAll(r, a) ->
            let x = info a
            shaped [||] (reductionBounds r (sizeOf x.Shape) x.Bound x.Slope)
        | Norm a ->
            let x = info a
            let root = Math.Sqrt(float (sizeOf x.Shape))
            shaped [||] (root * x.Bound, root * x.Slope)
        | Softmax(axis, log, a) ->
            let x = info a

            axisIn x.Shape.Length axis
            |> Option.bind (fun k ->
                if log then
                    shaped x.Shape (2.0 * x.Bound + Math.Log(float x.Shape.[k]), 2.0 * x.Slope)
                else
                    shaped x.Shape (1.0, 2.0 * x.Slope))
        | Cumsum(axis, a) ->
            let x = info a

            axisIn x.Shape.Length axis
            |> Option.bind (fun k ->
                let n = float x.Shape.[k]
                shaped x.Shape (n * x.Bound, n * x.Slope))
        | Reshape(shape, a) ->
            let x = info a
            let known = shape |> List.filter (fun d -> d <> -1) |> List.fold (*) 1
            let n = sizeOf x.Shape

            match shape |> List.filter (fun d -> d = -1) |> List.length with
            | 0 when known = n && List.forall (fun d -> d >= 1) shape -> shaped (Array.ofList shape) (x.Bound, x.Slope)
            | 1 when known >= 1 && n % known = 0 && List.forall (fun d -> d >= 1 || d = -1) shape ->
                shaped (shape |> List.map (fun d -> if d = -1 then n / known else d) |> Array.ofList) (x.Bound, x.Slope)
            | _ -> None
        | Transpose a ->
            let x = info a
            same { x with Shape = Array.rev x.Shape }
        | TransposeAxes(perm, a) ->
            let x = info a

            if List.sort perm <> [ 0 .. x.Shape.Length - 1 ] then
                None
            else
                same
                    { x with
                        Shape = perm |> List.map (fun k -> x.Shape.[k]) |> Array.ofList
                    }
        | BroadcastTo(shape, a) ->
            let x = info a
            let target = Array.ofList shape

            match broadcastShapes x.Shape target with
            | Some s when s = target -> same { x with Shape = target }
            | _ -> None
        | ExpandDims(axis, a) ->
            let x = info a

            axisIn (x.Shape.Length + 1) axis
            |> Option.bind (fun k ->
                same
                    { x with
                        Shape = Array.insertAt k 1 x.Shape
                    })
        | Slice(axis, start, stop, a) ->
            let x = info a

            axisIn x.Shape.Length axis
            |> Option.bind (fun k ->
                let n = x.Shape.[k]

                let clamp i =
                    max 0 (min n (if i < 0 then i + n else i))

                let length = max 0 (clamp stop - clamp start)

                if length = 0 then
                    None
                else
                    same
                        { x with
                            Shape = Array.updateAt k length x.Shape
                        })
        | Index(i, a) ->
            let x = info a

            if x.Shape.Length = 0 || i < -x.Shape.[0] || i >= x.Shape.[0] then
                None
            else
                same { x with Shape = x.Shape.[1..] }
        | Concat(axis, xs) ->
            let parts = xs |> List.map info
            let first = List.head parts

            match axisIn first.Shape.Length axis with
            | Some k when
                parts
                |> List.forall (fun p ->
                    p.Shape.Length = first.Shape.Length
                    && Array.forall2 (=) (Array.removeAt k p.Shape) (Array.removeAt k first.Shape))
                ->
                let total = parts |> List.sumBy (fun p -> p.Shape.[k])

                shaped
                    (Array.updateAt k total first.Shape)
                    (parts |> List.map (fun p -> p.Bound) |> List.max, parts |> List.map (fun p -> p.Slope) |> List.max)
            | _ -> None
        | Stack(axis, xs) ->
            let parts = xs |> List.map info
            let first = List.head parts

            match axisIn (first.Shape.Length + 1) axis with
            | Some k when parts |> List.forall (fun p -> p.Shape = first.Shape) ->
                shaped
                    (Array.insertAt k xs.Length first.Shape)
                    (parts |> List.map (fun p -> p.Bound) |> List.max, parts |> List.map (fun p -> p.Slope) |> List.max)
            | _ -> None
        | Matmul(a, b)
        | Dot(a, b) ->
            let x, y = info a, info b

            let shape =
                match node with
                | Matmul _ -> matmulShape x.Shape y.Shape
                | _ -> dotShape x.Shape y.Shape

            shape
            |> Option.bind (fun shape ->
                let k = float x.Shape.[x.Shape.Length - 1]
                shaped shape (k * x.Bound * y.Bound, k * (x.Bound * y.Slope + y.Bound * x.Slope)))
        | Outer(a, b) ->
            let x, y = info a, info b
            shaped [| sizeOf x.Shape; sizeOf y.Shape |] (x.Bound * y.Bound, x.Bound * y.Slope + y.Bound * x.Slope)
        | Where(_, p, _, t, f) ->
            let (>>=) (s: int[] option) (k: int) =
                s |> Option.bind (broadcastShapes (info k).Shape)

            (Some (info p).Shape >>= t >>= f)
            |> Option.bind (fun shape ->
                shaped shape (max (info t).Bound (info f).Bound, max (info t).Slope (info f).Slope))
        | Take(indexShape, indices, a) ->
            let x = info a
            let n = sizeOf x.Shape

            if
                sizeOf (Array.ofList indexShape) <> indices.Length
                || indices |> List.exists (fun i -> i < 0 || i >= n)
            then
                None
            else
                same
                    { x with
                        Shape = Array.ofList indexShape
                    }
        | TakeAxis(axis, indices, a) ->
            let x = info a

            axisIn x.Shape.Length axis
            |> Option.bind (fun k ->
                if indices.IsEmpty || indices |> List.exists (fun i -> i < 0 || i >= x.Shape.[k]) then
                    None
                else
                    same
                        { x with
                            Shape = Array.updateAt k indices.Length x.Shape
                        })

/// Whether a node fits and stays within the limits of size, rank and bounds.
let private acceptable (infos: Info[]) (node: Node) =
    match infer infos node with
    | Some i ->
        sizeOf i.Shape <= maxSize
        && i.Shape.Length <= maxRank
        && i.Bound <= maxBound
        && i.Slope <= maxSlope
    | None -> false

/// The infos of the input and of every node, or None if some node does not fit.
let private inferAll (inputShape: int[]) (nodes: Node list) : Info[] option =
    let start =
        Some
            [|
                {
                    Shape = inputShape
                    Bound = inputBound
                    Slope = 1.0
                }
            |]

    nodes
    |> List.fold
        (fun infos node ->
            infos
            |> Option.bind (fun infos ->
                if acceptable infos node then
                    Some(Array.append infos [| (infer infos node).Value |])
                else
                    None))
        start

// ---- printing programs as F# ----------------------------------------------------------------

let private showNumber (v: float) =
    let s = v.ToString("R", CultureInfo.InvariantCulture)
    if s.Contains "." || s.Contains "E" then s else s + ".0"

let private showInt (i: int) =
    if i < 0 then sprintf "(%d)" i else string i

let private showList (xs: int list) =
    "[ " + (xs |> List.map string |> String.concat "; ") + " ]"

let private showArray (xs: int list) =
    "[| " + (xs |> List.map string |> String.concat "; ") + " |]"

let private name (k: int) = sprintf "x%d" k

let private reductionName (r: Reduction) =
    match r with
    | Sum -> "sum"
    | Mean -> "mean"
    | Max -> "max"
    | Min -> "min"
    | Prod -> "prod"
    | LogSumExp -> "logSumExp"
    | Var -> "var"

/// The F# expression of a node (`indices shape values` builds an int64 tensor).
let private expression (node: Node) =
    let x = name

    match node with
    | Unary(op, a) ->
        let a = x a

        match op with
        | Neg -> sprintf "-%s" a
        | Square -> sprintf "Tensor.square %s" a
        | Cube -> sprintf "%s ** 3.0" a
        | LogOfSquarePlusOne -> sprintf "Tensor.log (%s * %s + 1.0)" a a
        | Log1pOfSquare -> sprintf "Tensor.log1p (%s * %s)" a a
        | SqrtOfExp -> sprintf "Tensor.sqrt (Tensor.exp %s)" a
        | SqrtOfSquarePlusOne -> sprintf "Tensor.sqrt (1.0 + %s * %s)" a a
        | RsqrtOfSquarePlusOne -> sprintf "(1.0 + %s * %s) ** -0.5" a a
        | AsinOfTanh -> sprintf "Tensor.asin (0.9 * Tensor.tanh %s)" a
        | AcosOfTanh -> sprintf "Tensor.acos (0.9 * Tensor.tanh %s)" a
        | TanOfTanh -> sprintf "Tensor.tan (Tensor.tanh %s)" a
        | Clip -> sprintf "Tensor.clip -1.0 1.0 %s" a
        | Scale c -> sprintf "%s * %s" a (showNumber c)
        | Shift c -> sprintf "%s + %s" a (showNumber c)
        | op -> sprintf "Tensor.%s %s" ((string op).Substring(0, 1).ToLowerInvariant() + (string op).Substring 1) a
    | Binary(op, a, b) ->
        let a, b = x a, x b

        match op with
        | Add -> sprintf "%s + %s" a b
        | Sub -> sprintf "%s - %s" a b
        | Mul -> sprintf "%s * %s" a b
        | Average -> sprintf "(%s + %s) / 2.0" a b
        | DivByOnePlusSquare -> sprintf "%s / (1.0 + %s * %s)" a b b
        | Maximum -> sprintf "Tensor.maximum %s %s" a b
        | Minimum -> sprintf "Tensor.minimum %s %s" a b
        | PowOfOnePlusSquare -> sprintf "Tensor.pow (1.0 + %s * %s) (Tensor.sin %s)" a a b
        | Atan2OverOnePlusSquare -> sprintf "Tensor.atan2 %s (1.0 + %s * %s)" a b b
    | ReduceAxes(r, axes, keep, a) ->
        sprintf "Tensor.%s%s %s %s" (reductionName r) (if keep then "KeepDims" else "Axes") (showList axes) (x a)
    | ReduceAll(r, a) -> sprintf "Tensor.%s %s" (reductionName r) (x a)
    | Norm a -> sprintf "Tensor.norm %s" (x a)
    | Softmax(axis, log, a) ->
        sprintf "Tensor.%s %s %s" (if log then "logSoftmaxAxis" else "softmaxAxis") (showInt axis) (x a)
    | Cumsum(axis, a) -> sprintf "Tensor.cumsumAxis %s %s" (showInt axis) (x a)
    | Reshape(shape, a) -> sprintf "Tensor.reshape %s %s" (showArray shape) (x a)
    | Transpose a -> sprintf "Tensor.transpose %s" (x a)
    | TransposeAxes(perm, a) -> sprintf "Tensor.transposeAxes %s %s" (showArray perm) (x a)
    | BroadcastTo(shape, a) -> sprintf "Tensor.broadcastTo %s %s" (showArray shape) (x a)
    | ExpandDims(axis, a) -> sprintf "Tensor.expandDims %s %s" (showInt axis) (x a)
    | Slice(axis, start, stop, a) ->
        sprintf "Tensor.sliceAxis %s %s %s %s" (showInt axis) (showInt start) (showInt stop) (x a)
    | Index(i, a) -> sprintf "Tensor.index %s %s" (showInt i) (x a)
    | Concat(axis, xs) -> sprintf "Tensor.concat %s [ %s ]" (showInt axis) (xs |> List.map x |> String.concat "; ")
    | Stack(axis, xs) -> sprintf "Tensor.stackAxis %s [ %s ]" (showInt axis) (xs |> List.map x |> String.concat "; ")
    | Matmul(a, b) -> sprintf "Tensor.matmul %s %s" (x a) (x b)
    | Dot(a, b) -> sprintf "Tensor.dot %s %s" (x a) (x b)
    | Outer(a, b) -> sprintf "Tensor.outer %s %s" (x a) (x b)
    | Where(c, p, threshold, t, f) ->
        sprintf
            "Tensor.where (Tensor.%s %s (Tensor.scalar %s)) %s %s"
            ((string c).ToLowerInvariant())
            (x p)
            (showNumber threshold)
            (x t)
            (x f)
    | Take(shape, indices, a) -> sprintf "Tensor.take (indices %s %s) %s" (showArray shape) (showArray indices) (x a)
    | TakeAxis(axis, indices, a) ->
        sprintf "Tensor.takeAxis %s (indices [| %d |] %s) %s" (showInt axis) indices.Length (showArray indices) (x a)

/// A random program: an input shape, the ops, and the seed of the System.Random that draws the
/// input and the directions. The output is the last node. Prints as F#.
[<StructuredFormatDisplay("{Text}")>]
type RandomProgram =
    {
        InputShape: int list
        Nodes: Node list
        ValueSeed: int
    }

    member p.Text =
        let shapes =
            match inferAll (Array.ofList p.InputShape) p.Nodes with
            | Some infos -> infos |> Array.map (fun i -> showShape i.Shape)
            | None -> Array.create (p.Nodes.Length + 1) "(does not fit)"

        let lines =
            [
                sprintf
                    "x0 : %s, values from System.Random(%d) (x uniform in [-2, 2], then v, u, w in [-1, 1])"
                    shapes.[0]
                    p.ValueSeed
                yield!
                    p.Nodes
                    |> List.mapi (fun k node ->
                        sprintf "let %s = %s   // %s" (name (k + 1)) (expression node) shapes.[k + 1])
                sprintf "output %s" (name p.Nodes.Length)
            ]

        "\n  " + String.concat "\n  " lines

// ---- running a program ------------------------------------------------------------------------

/// An int64 tensor of a shape.
let private indices (shape: int list) (values: int list) =
    Tensor.convert DType.Int64 (tensorOf (Array.ofList shape) (values |> List.map float |> Array.ofList))

let private applyUnary (op: UnaryOp) (a: Tensor) =
    match op with
    | Sin -> Tensor.sin a
    | Cos -> Tensor.cos a
    | Tanh -> Tensor.tanh a
    | Sigmoid -> Tensor.sigmoid a
    | Atan -> Tensor.atan a
    | Erf -> Tensor.erf a
    | Neg -> -a
    | Abs -> Tensor.abs a
    | Relu -> Tensor.relu a
    | Softplus -> Tensor.softplus a
    | Square -> Tensor.square a
    | Cube -> a ** 3.0
    | Exp -> Tensor.exp a
    | Expm1 -> Tensor.expm1 a
    | Sinh -> Tensor.sinh a
    | Cosh -> Tensor.cosh a
    | LogOfSquarePlusOne -> Tensor.log (a * a + 1.0)
    | Log1pOfSquare -> Tensor.log1p (a * a)
    | SqrtOfExp -> Tensor.sqrt (Tensor.exp a)
    | SqrtOfSquarePlusOne -> Tensor.sqrt (1.0 + a * a)
    | RsqrtOfSquarePlusOne -> (1.0 + a * a) ** -0.5
    | AsinOfTanh -> Tensor.asin (0.9 * Tensor.tanh a)
    | AcosOfTanh -> Tensor.acos (0.9 * Tensor.tanh a)
    | TanOfTanh -> Tensor.tan (Tensor.tanh a)
    | Clip -> Tensor.clip -1.0 1.0 a
    | Scale c -> a * c
    | Shift c -> a + c

let private applyBinary (op: BinaryOp) (a: Tensor) (b: Tensor) =
    match op with
    | Add -> a + b
    | Sub -> a - b
    | Mul -> a * b
    | Average -> (a + b) / 2.0
    | DivByOnePlusSquare -> a / (1.0 + b * b)
    | Maximum -> Tensor.maximum a b
    | Minimum -> Tensor.minimum a b
    | PowOfOnePlusSquare -> Tensor.pow (1.0 + a * a) (Tensor.sin b)
    | Atan2OverOnePlusSquare -> Tensor.atan2 a (1.0 + b * b)

let private reduceAxes (r: Reduction) (keep: bool) (axes: int list) (a: Tensor) =
    match r, keep with
    | Sum, false -> Tensor.sumAxes axes a
    | Sum, true -> Tensor.sumKeepDims axes a
    | Mean, false -> Tensor.meanAxes axes a
    | Mean, true -> Tensor.meanKeepDims axes a
    | Max, false -> Tensor.maxAxes axes a
    | Max, true -> Tensor.maxKeepDims axes a
    | Min, false -> Tensor.minAxes axes a
    | Min, true -> Tensor.minKeepDims axes a
    | Prod, false -> Tensor.prodAxes axes a
    | Prod, true -> Tensor.prodKeepDims axes a
    | LogSumExp, false -> Tensor.logSumExpAxes axes a
    | LogSumExp, true -> Tensor.logSumExpKeepDims axes a
    | Var, false -> Tensor.varAxes axes a
    | Var, true -> Tensor.varKeepDims axes a

let private reduceAll (r: Reduction) (a: Tensor) =
    match r with
    | Sum -> Tensor.sum a
    | Mean -> Tensor.mean a
    | Max -> Tensor.max a
    | Min -> Tensor.min a
    | Prod -> Tensor.prod a
    | LogSumExp -> Tensor.logSumExp a
    | Var -> Tensor.var a

let private compareWith (c: Comparison) =
    match c with
    | Lt -> Tensor.lt
    | Le -> Tensor.le
    | Gt -> Tensor.gt
    | Ge -> Tensor.ge

/// The value of a node from the values of earlier nodes (`unary` computes the unary ops, so a
/// test can swap one for a deliberately wrong primitive).
let private apply (unary: UnaryOp -> Tensor -> Tensor) (env: Tensor[]) (node: Node) : Tensor =
    match node with
    | Unary(op, a) -> unary op env.[a]
    | Binary(op, a, b) -> applyBinary op env.[a] env.[b]
    | ReduceAxes(r, axes, keep, a) -> reduceAxes r keep axes env.[a]
    | ReduceAll(r, a) -> reduceAll r env.[a]
    | Norm a -> Tensor.norm env.[a]
    | Softmax(axis, false, a) -> Tensor.softmaxAxis axis env.[a]
    | Softmax(axis, true, a) -> Tensor.logSoftmaxAxis axis env.[a]
    | Cumsum(axis, a) -> Tensor.cumsumAxis axis env.[a]
    | Reshape(shape, a) -> Tensor.reshape (Array.ofList shape) env.[a]
    | Transpose a -> Tensor.transpose env.[a]
    | TransposeAxes(perm, a) -> Tensor.transposeAxes (Array.ofList perm) env.[a]
    | BroadcastTo(shape, a) -> Tensor.broadcastTo (Array.ofList shape) env.[a]
    | ExpandDims(axis, a) -> Tensor.expandDims axis env.[a]
    | Slice(axis, start, stop, a) -> Tensor.sliceAxis axis start stop env.[a]
    | Index(i, a) -> Tensor.index i env.[a]
    | Concat(axis, xs) -> Tensor.concat axis (xs |> List.map (fun k -> env.[k]))
    | Stack(axis, xs) -> Tensor.stackAxis axis (xs |> List.map (fun k -> env.[k]))
    | Matmul(a, b) -> Tensor.matmul env.[a] env.[b]
    | Dot(a, b) -> Tensor.dot env.[a] env.[b]
    | Outer(a, b) -> Tensor.outer env.[a] env.[b]
    | Where(c, p, threshold, t, f) -> Tensor.where (compareWith c env.[p] (Tensor.scalar threshold)) env.[t] env.[f]
    | Take(shape, values, a) -> Tensor.take (indices shape values) env.[a]
    | TakeAxis(axis, values, a) -> Tensor.takeAxis axis (indices [ values.Length ] values) env.[a]

/// The values of the input and of every node.
let private evaluate (unary: UnaryOp -> Tensor -> Tensor) (p: RandomProgram) (x: Tensor) : Tensor[] =
    let env = Array.zeroCreate (p.Nodes.Length + 1)
    env.[0] <- x
    p.Nodes |> List.iteri (fun k node -> env.[k + 1] <- apply unary env node)
    env

// ---- the generator ----------------------------------------------------------------------------

let private unaryOps =
    [
        Sin
        Cos
        Tanh
        Sigmoid
        Atan
        Erf
        Neg
        Abs
        Relu
        Softplus
        Square
        Cube
        Exp
        Expm1
        Sinh
        Cosh
        LogOfSquarePlusOne
        Log1pOfSquare
        SqrtOfExp
        SqrtOfSquarePlusOne
        RsqrtOfSquarePlusOne
        AsinOfTanh
        AcosOfTanh
        TanOfTanh
        Clip
        Scale -2.0
        Scale 0.5
        Scale 1.5
        Shift -1.0
        Shift 0.25
    ]

/// Maximum and minimum pass each element's derivative to one side only, so they come less often.
let private binaryOp =
    Gen.frequency
        [
            3, Gen.constant Add
            2, Gen.constant Sub
            3, Gen.constant Mul
            1, Gen.constant Average
            2, Gen.constant DivByOnePlusSquare
            1, Gen.constant Maximum
            1, Gen.constant Minimum
            2, Gen.constant PowOfOnePlusSquare
            2, Gen.constant Atan2OverOnePlusSquare
        ]

/// Max and min pass the derivative to one element only, so they come less often.
let private reduction =
    Gen.frequency
        [
            2, Gen.constant Sum
            2, Gen.constant Mean
            1, Gen.constant Max
            1, Gen.constant Min
            1, Gen.constant Prod
            2, Gen.constant LogSumExp
            1, Gen.constant Var
        ]

let private comparisons = [ Lt; Le; Gt; Ge ]

/// An axis of a tensor of rank `rank`, sometimes written from the end.
let private anAxis (rank: int) = Gen.choose (-rank, rank - 1)

/// Nodes whose shape satisfies `fits`, preferring nodes no op reads yet (so that few are dead)
/// and nodes of another shape than `shape` (so that broadcasting happens often).
let private partners (infos: Info[]) (used: bool[]) (shape: int[]) (fits: int[] -> bool) : Gen<int> option =
    let all = [ 0 .. infos.Length - 1 ] |> List.filter (fun j -> fits infos.[j].Shape)
    let unused = all |> List.filter (fun j -> not used.[j])
    let other = all |> List.filter (fun j -> infos.[j].Shape <> shape)

    if all.IsEmpty then
        None
    else
        Some(
            Gen.frequency
                [
                    yield 1, Gen.elements all
                    if not other.IsEmpty then
                        yield 2, Gen.elements other
                    if not unused.IsEmpty then
                        yield 3, Gen.elements unused
                ]
        )

let private primeFactors (n: int) =
    let rec go n p acc =
        if n = 1 then List.rev acc
        elif n % p = 0 then go (n / p) p (p :: acc)
        else go n (p + 1) acc

    go n 2 []

/// A new shape of `n` elements, of rank 0 to 3 (size-1 axes included), sometimes with a -1.
let private reshapeTarget (n: int) : Gen<int list> =
    gen {
        let factors = primeFactors n
        let! rank = Gen.choose ((if n = 1 then 0 else 1), 3)

        if rank = 0 then
            return []
        else
            let! slots = Gen.listOfLength factors.Length (Gen.choose (0, rank - 1))
            let dims = Array.create rank 1
            List.iter2 (fun f k -> dims.[k] <- dims.[k] * f) factors slots

            let! inferred =
                Gen.frequency [ 3, Gen.constant None; 1, Gen.map Some (Gen.choose (0, rank - 1)) ]

            return
                dims
                |> Array.mapi (fun k d -> if Some k = inferred then -1 else d)
                |> List.ofArray
    }

/// The families of ops applicable to node `i` (each with a weight), each a generator of a node
/// reading `i` (and perhaps other nodes).
let private families (infos: Info[]) (used: bool[]) (i: int) : (int * Gen<Node>) list =
    let partnersOf = partners infos used
    let s = infos.[i].Shape
    let rank = s.Length
    let size = sizeOf s
    let sameShape (t: int[]) = t = s
    let broadcastsWith (t: int[]) = (broadcastShapes s t).IsSome

    [
        yield 8, Gen.elements unaryOps |> Gen.map (fun op -> Unary(op, i))

        match partnersOf s broadcastsWith with
        | Some partner ->
            yield
                8,
                gen {
                    let! op = binaryOp
                    let! j = partner
                    let! swap = Gen.elements [ false; true ]
                    // x - x is exactly 0: its operand's derivative would never be checked
                    let op = if op = Sub && j = i then Add else op
                    return if swap then Binary(op, j, i) else Binary(op, i, j)
                }

            yield
                1,
                gen {
                    let! c = Gen.elements comparisons
                    // the mask compares a node with a threshold no structural value (0, 1, 1/n)
                    // equals: two nodes equal in exact arithmetic but not in rounding would make
                    // a mask that flips under central differences. `i` is a branch, so its
                    // derivative flows on.
                    let! p = partner

                    let! threshold =
                        Gen.choose (-1500, 1500)
                        |> Gen.map (fun k -> Math.Round(float k / 1000.0 + 0.0003, 4))

                    let ip = (broadcastShapes s infos.[p].Shape).Value
                    let! other = (partnersOf ip (fun t -> (broadcastShapes ip t).IsSome)).Value
                    let! swap = Gen.elements [ false; true ]

                    return
                        if swap then
                            Where(c, p, threshold, other, i)
                        else
                            Where(c, p, threshold, i, other)
                }
        | None -> ()

        yield 2, reduction |> Gen.map (fun r -> ReduceAll(r, i))
        yield 1, Gen.constant (Norm i)
        yield 2, reshapeTarget size |> Gen.map (fun shape -> Reshape(shape, i))
        yield 1, Gen.choose (-(rank + 1), rank) |> Gen.map (fun axis -> ExpandDims(axis, i))

        yield
            2,
            gen {
                let! lead = Gen.listOf (Gen.choose (1, 3)) |> Gen.resize 2

                let! dims =
                    s
                    |> Array.map (fun d -> if d = 1 then Gen.choose (1, 3) else Gen.constant d)
                    |> Gen.sequenceToList

                return BroadcastTo(lead @ dims, i)
            }

        yield
            1,
            gen {
                let! shape = Gen.elements [ [ 3 ]; [ 2; 2 ]; [ 5 ]; [ 1 ]; [ 2; 3 ] ]
                let! values = Gen.listOfLength (List.fold (*) 1 shape) (Gen.choose (0, size - 1))
                return Take(shape, values, i)
            }

        match partnersOf s sameShape with
        | Some partner ->
            yield
                1,
                gen {
                    let! others =
                        Gen.listOf partner |> Gen.resize 2 |> Gen.where (fun l -> not l.IsEmpty)

                    let! order = Gen.shuffle (i :: others)
                    let! axis = Gen.choose (-(rank + 1), rank)
                    return Stack(axis, List.ofArray order)
                }
        | None -> ()

        match partnersOf s (fun t -> (matmulShape s t).IsSome), partnersOf s (fun t -> (matmulShape t s).IsSome) with
        | Some right, _ -> yield 2, right |> Gen.map (fun j -> Matmul(i, j))
        | None, Some left -> yield 2, left |> Gen.map (fun j -> Matmul(j, i))
        | None, None -> ()

        match partnersOf s (fun t -> (dotShape s t).IsSome) with
        | Some right -> yield 1, right |> Gen.map (fun j -> Dot(i, j))
        | None -> ()

        yield 1, Gen.choose (0, infos.Length - 1) |> Gen.map (fun j -> Outer(i, j))

        if rank >= 1 then
            let axisSize (axis: int) = s.[(axisIn rank axis).Value]

            yield
                4,
                gen {
                    let! r = reduction
                    let! axes = Gen.subListOf [ 0 .. rank - 1 ] |> Gen.where (fun l -> not l.IsEmpty)
                    let! fromEnd = Gen.elements [ false; true ]
                    let! keep = Gen.elements [ false; true ]

                    return
                        ReduceAxes(
                            r,
                            (if fromEnd then
                                 axes |> List.map (fun a -> a - rank)
                             else
                                 axes),
                            keep,
                            i
                        )
                }

            // softmax along a size-1 axis is constant
            let wideAxes = [ -rank .. rank - 1 ] |> List.filter (fun a -> axisSize a > 1)

            let softmaxAxis =
                if wideAxes.IsEmpty then
                    anAxis rank
                else
                    Gen.elements wideAxes

            yield
                2,
                Gen.zip softmaxAxis (Gen.elements [ false; true ])
                |> Gen.map (fun (a, log) -> Softmax(a, log, i))

            yield 2, anAxis rank |> Gen.map (fun axis -> Cumsum(axis, i))

            yield
                3,
                gen {
                    let! axis = anAxis rank
                    let n = axisSize axis
                    let! start = Gen.choose (0, n - 1)
                    let! stop = Gen.choose (start + 1, n)
                    // NumPy's bounds: negative from the end, past the end clamps
                    let! start = Gen.elements [ start; start - n ]
                    let! stop = Gen.elements [ stop; (if stop = n then n + 2 else stop - n) ]
                    return Slice(axis, start, stop, i)
                }

            yield 1, Gen.choose (-s.[0], s.[0] - 1) |> Gen.map (fun k -> Index(k, i))

            yield
                1,
                gen {
                    let! axis = anAxis rank
                    let n = axisSize axis

                    let! values =
                        Gen.listOf (Gen.choose (0, n - 1))
                        |> Gen.resize 4
                        |> Gen.where (fun l -> not l.IsEmpty)

                    return TakeAxis(axis, values, i)
                }

            yield
                1,
                gen {
                    let! axis = anAxis rank
                    let k = (axisIn rank axis).Value

                    let fitsAlong (t: int[]) =
                        t.Length = rank && Array.removeAt k t = Array.removeAt k s

                    let! others =
                        Gen.listOf (partnersOf s fitsAlong).Value
                        |> Gen.resize 2
                        |> Gen.where (fun l -> not l.IsEmpty)

                    let! order = Gen.shuffle (i :: others)
                    return Concat(axis, List.ofArray order)
                }

        if rank >= 2 then
            yield 1, Gen.constant (Transpose i)

            yield
                1,
                Gen.shuffle [| 0 .. rank - 1 |]
                |> Gen.map (fun perm -> TransposeAxes(List.ofArray perm, i))
    ]

/// The node an op reads first: most often the newest (long chains), else one no op reads yet
/// (few dead nodes), else any (fan-out and reuse).
let private firstOperand (used: bool[]) : Gen<int> =
    let n = used.Length
    let unused = [ 0 .. n - 1 ] |> List.filter (fun k -> not used.[k])

    Gen.frequency
        [
            yield 4, Gen.constant (n - 1)
            if not unused.IsEmpty then
                yield 3, Gen.elements unused
            yield 3, Gen.choose (0, n - 1)
        ]

/// A node reading `first` (and perhaps others) that stays within the limits.
let private nextNode (infos: Info[]) (used: bool[]) (first: Gen<int>) : Gen<Node> =
    gen {
        let! i = first
        return! Gen.frequency (families infos used i)
    }
    |> Gen.where (acceptable infos)

/// One or two nodes that make the newest node read the sink `s`: a smooth binary op of the
/// two, or of the newest and a full reduction of `s` when their shapes do not broadcast or the
/// bounds would be exceeded (the average of the newest and a mean always fits).
let private join (infos: Info[]) (s: int) : Gen<Node list> =
    let newest = infos.Length - 1

    gen {
        let! smooth =
            Gen.shuffle
                [
                    Add
                    Sub
                    Mul
                    DivByOnePlusSquare
                    PowOfOnePlusSquare
                    Atan2OverOnePlusSquare
                ]

        let! swap = Gen.elements [ false; true ]
        let! kinds = Gen.shuffle [ Sum; Mean; LogSumExp ]

        let binary (infos: Info[]) (a: int) (b: int) =
            Array.append smooth [| Average |]
            |> Array.map (fun op -> if swap then Binary(op, b, a) else Binary(op, a, b))
            |> Array.tryFind (acceptable infos)

        match binary infos newest s with
        | Some node -> return [ node ]
        | None ->
            let reduced =
                Array.append kinds [| Mean |]
                |> Array.map (fun r -> ReduceAll(r, s))
                |> Array.find (acceptable infos)

            let infos = Array.append infos [| (infer infos reduced).Value |]
            return [ reduced; (binary infos newest (infos.Length - 1)).Value ]
    }

/// Grows a program of at most `budget` more ops in which every node reaches the output: while
/// the budget allows, any op; then ops on the newest node (which leave no new dead node); at
/// the end, joins of the nodes no op reads into the newest (at most two ops each).
let rec private grow (infos: Info[]) (used: bool[]) (budget: int) (acc: Node list) : Gen<Node list> =
    let sinks = [ 0 .. infos.Length - 2 ] |> List.filter (fun k -> not used.[k])

    let continueWith (nodes: Node list) =
        let infos, used =
            nodes
            |> List.fold
                (fun (infos: Info[], used: bool[]) node ->
                    let reads = operands node

                    Array.append infos [| (infer infos node).Value |],
                    Array.append (used |> Array.mapi (fun k u -> u || List.contains k reads)) [| false |])
                (infos, used)

        grow infos used (budget - nodes.Length) (List.rev nodes @ acc)

    if budget >= 3 + 2 * sinks.Length then
        nextNode infos used (firstOperand used)
        |> Gen.bind (fun node -> continueWith [ node ])
    elif budget >= 1 + 2 * sinks.Length then
        nextNode infos used (Gen.constant (infos.Length - 1))
        |> Gen.bind (fun node -> continueWith [ node ])
    elif not sinks.IsEmpty then
        Gen.elements sinks |> Gen.bind (join infos) |> Gen.bind continueWith
    else
        Gen.constant (List.rev acc)

/// Scalars, vectors, matrices and rank-3 tensors with size-1 axes.
let private inputShapes: Gen<int list> =
    Gen.frequency
        [
            1, Gen.constant []
            2, Gen.choose (1, 6) |> Gen.map (fun n -> [ n ])
            3,
            Gen.zip (Gen.choose (1, 4)) (Gen.choose (1, 4))
            |> Gen.map (fun (m, n) -> [ m; n ])
            1, Gen.listOfLength 3 (Gen.elements [ 1; 1; 2; 3 ])
        ]

/// Random programs of 1 to 60 ops.
let private programs: Gen<RandomProgram> =
    gen {
        let! shape = inputShapes
        let! count = Gen.choose (1, 60)
        let! seed = Gen.choose (0, Int32.MaxValue)

        let input =
            {
                Shape = Array.ofList shape
                Bound = inputBound
                Slope = 1.0
            }

        let! nodes = grow [| input |] [| false |] count []

        return
            {
                InputShape = shape
                Nodes = nodes
                ValueSeed = seed
            }
    }

// ---- shrinking ----------------------------------------------------------------------------------

let private fits (p: RandomProgram) =
    (inferAll (Array.ofList p.InputShape) p.Nodes).IsSome

/// Only the nodes the output depends on.
let private withoutDeadNodes (p: RandomProgram) =
    let nodes = Array.ofList p.Nodes
    let n = nodes.Length
    let live = Array.create (n + 1) false
    live.[n] <- true

    for k in n .. -1 .. 1 do
        if live.[k] then
            for j in operands nodes.[k - 1] do
                live.[j] <- true

    let index = Array.zeroCreate (n + 1)
    let mutable next = 1

    for k in 1..n do
        if live.[k] then
            index.[k] <- next
            next <- next + 1

    { p with
        Nodes =
            [
                for k in 1..n do
                    if live.[k] then
                        renameOperands (fun j -> index.[j]) nodes.[k - 1]
            ]
    }

/// Node `k` removed, its readers reading node `replacement` (< k) instead.
let private bypass (k: int) (replacement: int) (p: RandomProgram) =
    let rename j =
        if j = k then replacement
        elif j > k then j - 1
        else j

    { p with
        Nodes =
            p.Nodes
            |> List.indexed
            |> List.filter (fun (m, _) -> m + 1 <> k)
            |> List.map (snd >> renameOperands rename)
    }

/// Smaller programs that still fit: shorter prefixes, a node bypassed (its readers read one of
/// its operands instead, first of the same shape, or in a small program any earlier node),
/// smaller input dimensions; dead nodes are dropped. The value seed stays, so the input's
/// values stay a prefix of the old ones.
let private shrinkProgram (p: RandomProgram) : seq<RandomProgram> =
    let n = p.Nodes.Length
    let nodes = Array.ofList p.Nodes

    match inferAll (Array.ofList p.InputShape) p.Nodes with
    | None -> Seq.empty
    | Some infos ->
        seq {
            yield withoutDeadNodes p

            for k in List.distinct [ 0; n / 4; n / 2; 3 * n / 4 ] @ [ n - 1 .. -1 .. 0 ] do
                if k < n then
                    yield
                        withoutDeadNodes
                            { p with
                                Nodes = List.truncate k p.Nodes
                            }

            for k in n - 1 .. -1 .. 1 do
                for j in List.distinct (0 :: operands nodes.[k - 1]) do
                    if j < k && infos.[j].Shape = infos.[k].Shape then
                        yield withoutDeadNodes (bypass k j p)

            // the readers of the bypassed node then change shape, which may still fit
            for k in n - 1 .. -1 .. 1 do
                for j in List.distinct (operands nodes.[k - 1]) do
                    if infos.[j].Shape <> infos.[k].Shape then
                        yield withoutDeadNodes (bypass k j p)

            // in a small program, a node bypassed for any earlier node
            if n <= 20 then
                for k in n - 1 .. -1 .. 1 do
                    for j in 0 .. k - 1 do
                        if not (List.contains j (operands nodes.[k - 1])) then
                            yield withoutDeadNodes (bypass k j p)

            for axis in 0 .. p.InputShape.Length - 1 do
                let d = p.InputShape.[axis]

                for smaller in List.distinct [ 1; d - 1 ] do
                    if smaller >= 1 && smaller < d then
                        yield
                            { p with
                                InputShape = List.updateAt axis smaller p.InputShape
                            }
        }
        |> Seq.filter (fun q -> fits q && q <> p)
        |> Seq.distinct

let private programArbitrary = Arb.fromGenShrink (programs, shrinkProgram)

// ---- the laws -----------------------------------------------------------------------------------

let private magnitude (t: Tensor) =
    values t |> Array.fold (fun m v -> max m (abs v)) 0.0

/// Central differences: truncation and rounding errors, relative to the largest element (the
/// bounds keep them below 3e-9 in 2,000 programs).
let private againstDifferences (expected: Tensor) =
    {
        Relative = 1e-7
        Absolute = 1e-7 * (1.0 + magnitude expected)
    }

/// Two exact computations that round differently, relative to the largest element.
let private againstRounding (expected: Tensor) =
    {
        Relative = 1e-9
        Absolute = 1e-10 * (1.0 + magnitude expected)
    }

/// Checks every law on a program: values of the predicted shapes within their bounds; jvp
/// against central differences and linearize against jvp; ⟨u, J v⟩ = ⟨Jᵀ u, v⟩; jacfwd against
/// jacrev on small shapes; for g x = Σ w · f x, hvp against central differences of grad and
/// reverse-over-reverse against forward-over-reverse; makeIR's program against f; vmap of f
/// and of grad g against loops over a batch; jit of f, grad g and hvp g and grad of jit g
/// against eager. Raises
/// with the failed law. `unary` computes the unary ops.
let private checkProgramWith (unary: UnaryOp -> Tensor -> Tensor) (p: RandomProgram) =
    let inputShape = Array.ofList p.InputShape
    let infos = (inferAll inputShape p.Nodes).Value
    let outputShape = infos.[p.Nodes.Length].Shape
    let r = Random p.ValueSeed
    let x = randomTensor r -inputBound inputBound inputShape
    let v = randomTensor r -1.0 1.0 inputShape
    let u = randomTensor r -1.0 1.0 outputShape
    let w = randomTensor r -1.0 1.0 outputShape
    let f (x: Tensor) = (evaluate unary p x).[p.Nodes.Length]

    let env = evaluate unary p x

    env
    |> Array.iteri (fun k value ->
        if value.Shape <> infos.[k].Shape then
            failwithf
                "x%d has shape %s, but the shape rules of NumPy give %s"
                k
                (showShape value.Shape)
                (showShape infos.[k].Shape)

        if
            values value
            |> Array.exists (fun e -> Double.IsNaN e || abs e > infos.[k].Bound * (1.0 + 1e-9))
        then
            failwithf
                "x%d = %s exceeds its bound %g (the generator's bound is wrong)"
                k
                (describeTensor value)
                infos.[k].Bound)

    let y = env.[p.Nodes.Length]

    // first derivatives
    let y1, t = jvp f x v
    assertClose "the primal output of jvp against f x" rounding y y1
    let fd = centralDifference f x v
    assertClose "jvp against central differences" (againstDifferences fd) fd t
    let _, linear = linearize f x
    assertClose "linearize against jvp" (againstRounding t) t (linear v)
    let _, pullback = vjp f x
    let ct = pullback u
    let forward, reverse = inner u t, inner ct v

    let scale =
        1.0 + inner (Tensor.abs u) (Tensor.abs t) + inner (Tensor.abs ct) (Tensor.abs v)

    if abs (forward - reverse) > 1e-9 * scale then
        failwithf
            "vjp is not the transpose of jvp: <u, J v> = %s but <J^T u, v> = %s"
            (showFloat forward)
            (showFloat reverse)

    if x.Size <= 12 && y.Size <= 12 then
        let byForward = jacfwd f x
        assertClose "jacrev against jacfwd" (againstRounding byForward) byForward (jacrev f x)

    // second derivatives of a scalar function of the program
    let g (x: Tensor) = Tensor.sum (f x * w)
    let hv = hvp g x v
    let fdGrad = centralDifference (grad g) x v
    assertClose "hvp against central differences of grad" (againstDifferences fdGrad) fdGrad hv
    let reverseOverReverse = grad (fun x -> Tensor.sum (grad g x * v)) x
    assertClose "reverse-over-reverse against hvp (forward-over-reverse)" (againstRounding hv) hv reverseOverReverse

    // the staged program
    let program = makeIR f x
    assertClose "makeIR's program evaluated with Program.eval against f" rounding y (Program.eval program [| x |]).[0]

    // jitted: the traced program re-evaluated, alone and under grad and hvp, against eager
    // (the same primitives on the same values; a transpose may sum fan-out in another order)
    let nearly (expected: Tensor) =
        {
            Relative = 1e-13
            Absolute = 1e-13 * (1.0 + magnitude expected)
        }

    assertClose "jit f against f" (nearly y) y (jit f x)
    let gx = grad g x
    assertClose "jit (grad g) against grad g" (nearly gx) gx (jit (grad g) x)
    assertClose "grad (jit g) against grad g" (nearly gx) gx (grad (jit g) x)
    assertClose "jit (hvp g x) against hvp g x" (nearly hv) hv (jit (hvp g x) v)

    // batched: vmap of the program, and of its gradient, over three inputs against loops
    let batch =
        Tensor.stack
            [
                x
                randomTensor r -inputBound inputBound inputShape
                randomTensor r -inputBound inputBound inputShape
            ]

    let looped = Tensor.stack [ for i in 0..2 -> f (Tensor.index i batch) ]
    assertClose "vmap f against a loop of f" (againstRounding looped) looped (vmap f batch)
    let loopedGrad = Tensor.stack [ for i in 0..2 -> grad g (Tensor.index i batch) ]
    assertClose "vmap (grad g) against a loop of grad g" (againstRounding loopedGrad) loopedGrad (vmap (grad g) batch)

let private checkProgram = checkProgramWith applyUnary

// ---- the tests ----------------------------------------------------------------------------------

/// The number of programs `dotnet test` checks, and its seed.
let private defaultCount = 300
let private defaultSeed = 20250611UL

let private fromEnvironment (variable: string) (parse: string -> 'T) (fallback: 'T) =
    match Environment.GetEnvironmentVariable variable with
    | null
    | "" -> fallback
    | text -> parse text

[<Fact>]
let ``random programs: jvp, vjp, jacfwd, jacrev, hvp, vmap, jit and second derivatives agree with central differences, with each other, with loops, with eager and with makeIR``
    ()
    =
    let count = fromEnvironment "FUNDIFF_FUZZ_COUNT" int defaultCount
    let seed = fromEnvironment "FUNDIFF_FUZZ_SEED" uint64 defaultSeed
    let checkedPrograms = ref 0

    checkProperty
        seed
        7919UL
        count
        (Prop.forAll programArbitrary (fun p ->
            checkProgram p
            checkedPrograms.Value <- checkedPrograms.Value + 1))

    Assert.Equal(count, checkedPrograms.Value)

/// The union case name of an op (`Sin`, `Where`, ...).
let private caseName (value: obj) =
    (FSharp.Reflection.FSharpValue.GetUnionFields(value, value.GetType()) |> fst).Name

let private allCases (t: Type) =
    FSharp.Reflection.FSharpType.GetUnionCases t
    |> Array.map (fun c -> c.Name)
    |> Set.ofArray

/// The names of a node's op and of the op inside it: `Unary` and `Unary.Sin`, `Where` and
/// `Comparison.Lt`.
let private opNames (node: Node) =
    match node with
    | Unary(op, _) -> [ "Unary"; "Unary." + caseName op ]
    | Binary(op, _, _) -> [ "Binary"; "Binary." + caseName op ]
    | ReduceAxes(r, _, _, _) -> [ "ReduceAxes"; "Reduction." + caseName r ]
    | ReduceAll(r, _) -> [ "ReduceAll"; "Reduction." + caseName r ]
    | Where(c, _, _, _, _) -> [ "Where"; "Comparison." + caseName c ]
    | node -> [ caseName node ]

[<Fact>]
let ``the generator produces every op, broadcasting, size-1 axes, fan-out, and programs of 1 to 60 live ops`` () =
    let sample = Gen.sampleWithSeed (Rnd(defaultSeed, 7919UL)) 50 300 programs

    let expected =
        Set.unionMany
            [
                allCases typeof<Node>
                allCases typeof<UnaryOp> |> Set.map ((+) "Unary.")
                allCases typeof<BinaryOp> |> Set.map ((+) "Binary.")
                allCases typeof<Reduction> |> Set.map ((+) "Reduction.")
                allCases typeof<Comparison> |> Set.map ((+) "Comparison.")
            ]

    let seen =
        sample |> Seq.collect (fun p -> p.Nodes) |> Seq.collect opNames |> Set.ofSeq

    Assert.Empty(Set.difference expected seen)

    let lengths = sample |> Array.map (fun p -> p.Nodes.Length)
    Assert.Equal(1, Array.min lengths)
    Assert.InRange(Array.max lengths, 55, 60)

    Assert.Equal<int list>(
        [ 0; 1; 2; 3 ],
        sample
        |> Array.map (fun p -> p.InputShape.Length)
        |> Array.distinct
        |> Array.sort
        |> List.ofArray
    )

    for p in sample do
        let infos = (inferAll (Array.ofList p.InputShape) p.Nodes).Value
        // every node reaches the output
        Assert.Equal(p, withoutDeadNodes p)
        // and shrinking keeps programs that fit
        Assert.True(shrinkProgram p |> Seq.truncate 20 |> Seq.forall fits)

        Assert.True(
            infos
            |> Array.forall (fun i -> sizeOf i.Shape <= maxSize && i.Bound <= maxBound && i.Slope <= maxSlope)
        )

    let infosOf (p: RandomProgram) =
        (inferAll (Array.ofList p.InputShape) p.Nodes).Value

    let broadcasting =
        sample
        |> Array.sumBy (fun p ->
            let infos = infosOf p

            p.Nodes
            |> List.filter (function
                | Binary(_, a, b) -> infos.[a].Shape <> infos.[b].Shape
                | _ -> false)
            |> List.length)

    let sizeOneAxes =
        sample
        |> Array.sumBy (fun p -> infosOf p |> Array.filter (fun i -> Array.contains 1 i.Shape) |> Array.length)

    let fanOut =
        sample
        |> Array.filter (fun p ->
            p.Nodes
            |> List.collect operands
            |> List.countBy id
            |> List.exists (fun (_, c) -> c >= 2))
        |> Array.length

    Assert.True(broadcasting >= 300, sprintf "%d binary ops broadcast two shapes" broadcasting)
    Assert.True(sizeOneAxes >= 300, sprintf "%d nodes have size-1 axes" sizeOneAxes)
    Assert.True(fanOut >= 200, sprintf "%d programs read a node twice" fanOut)

[<Fact>]
let ``a failing program shrinks to the few ops that fail`` () =
    // a stand-in for a bug: any program with both a cumulative sum and a matmul "fails"
    let fails (p: RandomProgram) =
        let has (case: string) =
            p.Nodes |> List.exists (fun node -> caseName node = case)

        has "Cumsum" && has "Matmul"

    let rec shrink (p: RandomProgram) =
        match shrinkProgram p |> Seq.tryFind fails with
        | Some smaller -> shrink smaller
        | None -> p

    let failing =
        Gen.sampleWithSeed (Rnd(defaultSeed, 7919UL)) 50 300 programs
        |> Array.filter fails
        |> Array.truncate 10

    Assert.NotEmpty failing

    for p in failing do
        let minimal = shrink p
        Assert.True(fails minimal && minimal.Nodes.Length <= 5, sprintf "%A\nshrank only to%A" p minimal)

// ---- the laws catch wrong rules ---------------------------------------------------------------

/// sin with a derivative 0.1% too large.
let private sinWithWrongSlope =
    Primitive.define
        "sin_wrong_slope"
        (fun xs -> Tensor.sin xs.[0])
        (fun avals -> avals.[0])
        (fun xs ts _ -> ts.[0] * Tensor.cos xs.[0] * 1.001)
        None

/// sin whose first derivative is right but not differentiable again (its second derivative is 0).
let private sinWithFrozenSlope =
    Primitive.define
        "sin_frozen_slope"
        (fun xs -> Tensor.sin xs.[0])
        (fun avals -> avals.[0])
        (fun xs ts _ -> ts.[0] * Tensor.stopGradient (Tensor.cos xs.[0]))
        None

/// sin as a user primitive with the right rule: the control.
let private sinAsUserPrimitive =
    Primitive.define
        "user_sin"
        (fun xs -> Tensor.sin xs.[0])
        (fun avals -> avals.[0])
        (fun xs ts _ -> ts.[0] * Tensor.cos xs.[0])
        None

/// 1.5 x, linear, with a transpose rule 0.01% off.
let private scaleWithWrongTranspose: Primitive =
    let self = ref null

    self.Value <-
        Primitive.define
            "scale_wrong_transpose"
            (fun xs -> 1.5 * xs.[0])
            (fun avals -> avals.[0])
            (fun _ ts _ -> Primitive.apply self.Value [ ts.[0] ])
            (Some(fun ct _ -> [| ValueSome(1.5001 * ct) |]))

    self.Value

/// Runs the laws on 60 sampled programs that contain `op`, with `op` computed by `prim`: the
/// message of the first law each program fails, or None.
let private withPrimitive (op: UnaryOp) (prim: Primitive) =
    let unary (o: UnaryOp) (x: Tensor) =
        if o = op then
            Primitive.apply prim [ x ]
        else
            applyUnary o x

    Gen.sampleWithSeed (Rnd(defaultSeed, 7919UL)) 50 600 programs
    |> Array.filter (fun p -> p.Nodes |> List.exists (fun node -> node = Unary(op, (operands node).Head)))
    |> Array.truncate 60
    |> Array.map (fun p ->
        try
            checkProgramWith unary p
            None
        with e ->
            Some e.Message)

[<Theory>]
[<InlineData("sin with a derivative 0.1% too large", "jvp against central differences")>]
[<InlineData("sin with a frozen derivative", "hvp against central differences of grad")>]
[<InlineData("1.5 x with a transpose 0.01% off",
             "vjp is not the transpose of jvp|jacrev against jacfwd|hvp against|reverse-over-reverse")>]
let ``the laws catch a wrong rule in most programs that use it`` (mutant: string, laws: string) =
    let outcomes =
        match mutant with
        | "sin with a derivative 0.1% too large" -> withPrimitive Sin sinWithWrongSlope
        | "sin with a frozen derivative" -> withPrimitive Sin sinWithFrozenSlope
        | _ -> withPrimitive (Scale 1.5) scaleWithWrongTranspose

    let caught = outcomes |> Array.choose id
    Assert.True(outcomes.Length >= 40)

    Assert.True(
        caught.Length * 4 >= outcomes.Length * 3,
        sprintf "%d of %d programs caught" caught.Length outcomes.Length
    )

    for message in caught do
        Assert.True(laws.Split '|' |> Array.exists message.StartsWith, message)

[<Fact>]
let ``the laws pass with sin as a user primitive with the right rule`` () =
    let outcomes = withPrimitive Sin sinAsUserPrimitive
    Assert.True(outcomes.Length >= 40)
    Assert.All(outcomes, (fun outcome -> Assert.Equal(None, outcome)))
