namespace FunDiff

open System.Threading
open FunDiff.Backend

/// One parameter value of a primitive: immutable, with structural equality (so programs can be
/// compared and hashed), never a closure.
type Param =
    | Int of int
    | Ints of int[]
    | Float of float
    | DType of DType

    override p.ToString() =
        match p with
        | Int i -> string i
        | Ints xs -> "(" + (xs |> Array.map string |> String.concat ",") + ")"
        | Float f -> Format.scalar Float64 f
        | DType d -> d.ShortName

/// The named parameters of one application of a primitive (`axes`, `shape`, `y`, ...).
[<Sealed; AllowNullLiteral>]
type Params(entries: (string * Param)[]) =
    static let empty = Params([||])

    /// No parameters.
    static member Empty = empty

    /// The (name, value) pairs, in declaration order.
    member _.Entries = entries

    /// C#: the parameters by name, each value an `int`, an `int[]` (a copy), a `double` or a
    /// `DType` (the F# side reads `Entries`).
    member _.ToDictionary() : System.Collections.Generic.IReadOnlyDictionary<string, obj> =
        let named = System.Collections.Generic.Dictionary<string, obj>(entries.Length)

        for (name, value) in entries do
            named.[name] <-
                match value with
                | Int i -> box i
                | Ints xs -> box (Array.copy xs)
                | Float f -> box f
                | DType d -> box d

        named

    /// The value of a parameter; raises if the primitive has no such parameter.
    member _.Item
        with get (name: string) =
            let mutable found = None

            for (n, v) in entries do
                if n = name then
                    found <- Some v

            match found with
            | Some v -> v
            | None -> raise (FunDiffException(sprintf "primitive parameter '%s' is missing from %A" name entries))

    /// An `Int` parameter.
    member p.Int(name: string) =
        match p.[name] with
        | Int i -> i
        | v -> raise (FunDiffException(sprintf "parameter '%s' is %O, not an int" name v))

    /// An `Ints` parameter.
    member p.Ints(name: string) =
        match p.[name] with
        | Ints i -> i
        | v -> raise (FunDiffException(sprintf "parameter '%s' is %O, not an int array" name v))

    /// A `Float` parameter.
    member p.Float(name: string) =
        match p.[name] with
        | Float f -> f
        | v -> raise (FunDiffException(sprintf "parameter '%s' is %O, not a float" name v))

    /// A `DType` parameter.
    member p.DType(name: string) =
        match p.[name] with
        | DType d -> d
        | v -> raise (FunDiffException(sprintf "parameter '%s' is %O, not a dtype" name v))

    override _.Equals(o: obj) =
        match o with
        | :? Params as q -> entries = q.Entries
        | _ -> false

    override _.GetHashCode() = hash entries

    /// Prints like a jaxpr: `[axes=(0,1) shape=(3)]`, or nothing when there are no parameters.
    override _.ToString() =
        if entries.Length = 0 then
            ""
        else
            "["
            + (entries |> Array.map (fun (n, v) -> n + "=" + string v) |> String.concat " ")
            + "]"

module private PrimitiveIds =
    let mutable next = -1

/// A primitive operation: identity, evaluation on concrete arrays (`Impl`) and the shape rule
/// (output avals from input avals, raising a ShapeException for bad input). Its JVP and
/// transpose rules live in the rules table (`Rules.table`), indexed by `Id`; a user-defined
/// primitive carries its rules with it in `OwnRules` (typed `obj` because this file compiles
/// before `Tensor`).
[<Sealed; AllowNullLiteral>]
type Primitive
    internal
    (name: string, impl: NDArray[] -> Params -> NDArray[], shapeRule: Aval[] -> Params -> Aval[], ownRules: obj) =
    let id = Interlocked.Increment(&PrimitiveIds.next)

    /// The name printed in programs (`sin`, `reduce_sum`).
    member _.Name = name
    /// A dense identity, the index of the primitive's rules in the rules table.
    member _.Id = id
    /// Evaluates on concrete arrays.
    member _.Impl = impl
    /// Output avals from input avals and params; raises ShapeException on bad input.
    member _.ShapeRule = shapeRule
    /// The rules of a user-defined primitive; null for built-ins.
    member _.OwnRules = ownRules
    override _.ToString() = name

/// Shape rules shared by the families of primitives.
module internal ShapeRules =

    let fail (fmt: Printf.StringFormat<'a, 'b>) =
        Printf.ksprintf (fun s -> raise (ShapeException s)) fmt

    let arity (name: string) (n: int) (avals: Aval[]) =
        if avals.Length <> n then
            fail "%s: expects %d operand(s), got %d." name n avals.Length

    /// A float64 operand, same aval out.
    let floatUnary (name: string) (avals: Aval[]) (_: Params) =
        arity name 1 avals

        if avals.[0].DType <> Float64 then
            fail "%s: expects a float64 tensor, got %O. Convert it first with Tensor.convert Float64." name avals.[0]

        [| avals.[0] |]

    /// Any numeric operand, same aval out.
    let numericUnary (name: string) (avals: Aval[]) (_: Params) =
        arity name 1 avals

        if avals.[0].DType = Bool then
            fail "%s: expects a number tensor, got %O." name avals.[0]

        [| avals.[0] |]

    /// Two operands of one dtype whose shapes are equal or of which one is rank 0 (a scalar that
    /// the kernel broadcasts without materializing it); `outDType` None keeps the dtype.
    let binary (name: string) (outDType: DType option) (avals: Aval[]) (_: Params) =
        arity name 2 avals
        let x, y = avals.[0], avals.[1]

        if x.DType <> y.DType then
            fail "%s: dtypes %O and %O differ; the ops promote before binding (use Tensor.convert)." name x y

        if x.Rank <> 0 && y.Rank <> 0 && not (Shape.equal x.Shape y.Shape) then
            fail
                "%s: shapes %s and %s differ. The primitive needs equal shapes or a scalar; the Tensor operators broadcast first."
                name
                (Shape.show x.Shape)
                (Shape.show y.Shape)

        let shape = if x.Rank = 0 then y.Shape else x.Shape
        let dtype = defaultArg outDType x.DType

        [|
            (if x.Rank <> 0 && x.DType = dtype then
                 x
             else
                 Aval(shape, dtype))
        |]

    /// A reduction over `axes` (sorted, distinct, non-negative), which disappear.
    let reduceAxes (name: string) (avals: Aval[]) (p: Params) =
        arity name 1 avals
        let x = avals.[0]
        let axes = Shape.normalizeAxes name x.Rank (p.Ints "axes")

        if axes <> p.Ints "axes" then
            fail "%s: axes %A must be sorted and non-negative." name (p.Ints "axes")

        let shape =
            [|
                for k in 0 .. x.Rank - 1 do
                    if not (Array.contains k axes) then
                        x.Shape.[k]
            |]

        [| Aval(shape, x.DType) |]

    /// reduce_max / reduce_min: a reduction whose reduced axes are not empty (the extreme of
    /// no elements is undefined; NumPy raises too).
    let reduceExtremeAxes (name: string) (avals: Aval[]) (p: Params) =
        let out = reduceAxes name avals p
        let x = avals.[0]

        for a in p.Ints "axes" do
            if x.Shape.[a] = 0 then
                fail
                    "%s: axis %d of shape %s is empty; the %s of no elements is undefined. Reduce a non-empty axis, or test the size first."
                    name
                    a
                    (Shape.show x.Shape)
                    (if name = "reduce_max" then "maximum" else "minimum")

        out

    /// Two float64 operands (equal shapes or a scalar).
    let floatBinary (name: string) (avals: Aval[]) (p: Params) =
        let out = binary name None avals p

        if out.[0].DType <> Float64 then
            fail "%s: expects float64 operands, got %O and %O." name avals.[0] avals.[1]

        out

/// The built-in primitives: the closed core every transform works on. Their names end in `P`
/// so that a rule's `sin x` means the op and `sinP` the primitive.
module Primitives =
    open ShapeRules

    let private builtin name impl shapeRule = Primitive(name, impl, shapeRule, null)

    let private unaryImpl (kernel: NDArray -> NDArray) =
        fun (xs: NDArray[]) (_: Params) -> [| kernel xs.[0] |]

    let private binaryImpl (kernel: NDArray -> NDArray -> NDArray) =
        fun (xs: NDArray[]) (_: Params) -> [| kernel xs.[0] xs.[1] |]

    let private floatUnaryP name kernel =
        builtin name (unaryImpl kernel) (floatUnary name)

    /// The `neg` primitive.
    let negP = builtin "neg" (unaryImpl Elementwise.neg) (numericUnary "neg")
    /// The `sin` primitive.
    let sinP = floatUnaryP "sin" Elementwise.sin
    /// The `cos` primitive.
    let cosP = floatUnaryP "cos" Elementwise.cos
    /// The `exp` primitive.
    let expP = floatUnaryP "exp" Elementwise.exp
    /// The `log` primitive.
    let logP = floatUnaryP "log" Elementwise.log
    /// The `sqrt` primitive.
    let sqrtP = floatUnaryP "sqrt" Elementwise.sqrt
    /// The `tanh` primitive.
    let tanhP = floatUnaryP "tanh" Elementwise.tanh

    /// x ** y for a constant exponent `y` (a param, so no log x is ever formed).
    let powConstP =
        builtin "pow_const" (fun xs p -> [| Elementwise.powConst (p.Float "y") xs.[0] |]) (floatUnary "pow_const")

    /// The `add` primitive.
    let addP = builtin "add" (binaryImpl Elementwise.add) (binary "add" None)
    /// The `sub` primitive.
    let subP = builtin "sub" (binaryImpl Elementwise.sub) (binary "sub" None)
    /// The `mul` primitive.
    let mulP = builtin "mul" (binaryImpl Elementwise.mul) (binary "mul" None)
    /// The `div` primitive.
    let divP = builtin "div" (binaryImpl Elementwise.div) (binary "div" None)

    /// The `lt` primitive.
    let ltP = builtin "lt" (binaryImpl Elementwise.lt) (binary "lt" (Some Bool))
    /// The `le` primitive.
    let leP = builtin "le" (binaryImpl Elementwise.le) (binary "le" (Some Bool))
    /// The `gt` primitive.
    let gtP = builtin "gt" (binaryImpl Elementwise.gt) (binary "gt" (Some Bool))
    /// The `ge` primitive.
    let geP = builtin "ge" (binaryImpl Elementwise.ge) (binary "ge" (Some Bool))
    /// The `eq` primitive.
    let eqP = builtin "eq" (binaryImpl Elementwise.eq) (binary "eq" (Some Bool))
    /// The `ne` primitive.
    let neP = builtin "ne" (binaryImpl Elementwise.ne) (binary "ne" (Some Bool))

    /// select_n(which, onFalse, onTrue): JAX's operand order, `which` a bool tensor.
    let selectNP =
        builtin "select_n" (fun xs _ -> [| Elementwise.select xs.[0] xs.[1] xs.[2] |]) (fun avals _ ->
            arity "select_n" 3 avals
            let w, f, t = avals.[0], avals.[1], avals.[2]

            if w.DType <> Bool then
                fail "select_n: the condition must be a bool tensor, got %O (compare with Tensor.gt etc.)." w

            if not (f.Equals t) then
                fail "select_n: the two cases have avals %O and %O; they must match." f t

            if not (Shape.equal w.Shape f.Shape) then
                fail
                    "select_n: condition shape %s differs from the cases' %s."
                    (Shape.show w.Shape)
                    (Shape.show f.Shape)

            [| f |])

    /// Sums over `axes` (sorted, distinct), which disappear from the shape.
    let reduceSumP =
        builtin "reduce_sum" (fun xs p -> [| Layout.reduceSum (p.Ints "axes") xs.[0] |]) (reduceAxes "reduce_sum")

    /// Operand axis k becomes output axis `broadcast_dimensions[k]` of `shape`.
    let broadcastInDimP =
        builtin
            "broadcast_in_dim"
            (fun xs p ->
                [|
                    Layout.broadcastInDim (p.Ints "shape") (p.Ints "broadcast_dimensions") xs.[0]
                |])
            (fun avals p ->
                arity "broadcast_in_dim" 1 avals
                let x = avals.[0]
                let shape, dims = p.Ints "shape", p.Ints "broadcast_dimensions"

                if dims.Length <> x.Rank then
                    fail "broadcast_in_dim: %d broadcast dimensions for an operand of rank %d." dims.Length x.Rank

                Shape.checkDimensions "broadcast_in_dim" shape

                for k in 0 .. dims.Length - 1 do
                    if dims.[k] < 0 || dims.[k] >= shape.Length || (k > 0 && dims.[k] <= dims.[k - 1]) then
                        fail
                            "broadcast_in_dim: broadcast dimensions %A must increase within rank %d."
                            dims
                            shape.Length

                    if x.Shape.[k] <> 1 && x.Shape.[k] <> shape.[dims.[k]] then
                        fail
                            "broadcast_in_dim: operand shape %s cannot broadcast to %s (axis %d has size %d, target %d)."
                            (Shape.show x.Shape)
                            (Shape.show shape)
                            k
                            x.Shape.[k]
                            shape.[dims.[k]]

                [| Aval(shape, x.DType) |])

    /// The `reshape` primitive.
    let reshapeP =
        builtin "reshape" (fun xs p -> [| Layout.reshape (p.Ints "new_sizes") xs.[0] |]) (fun avals p ->
            arity "reshape" 1 avals
            let x, shape = avals.[0], p.Ints "new_sizes"
            Shape.checkDimensions "reshape" shape

            if Shape.size shape <> x.Size then
                fail
                    "reshape: cannot reshape %s (%d elements) to %s (%d elements); the sizes must multiply to the same count (one dimension may be -1 to infer it)."
                    (Shape.show x.Shape)
                    x.Size
                    (Shape.show shape)
                    (Shape.size shape)

            [| Aval(shape, x.DType) |])

    /// Output axis i is operand axis `permutation[i]`.
    let transposeP =
        builtin "transpose" (fun xs p -> [| Layout.transpose (p.Ints "permutation") xs.[0] |]) (fun avals p ->
            arity "transpose" 1 avals
            let x, perm = avals.[0], p.Ints "permutation"
            Shape.checkPermutation "transpose" x.Rank perm
            [| Aval(perm |> Array.map (fun a -> x.Shape.[a]), x.DType) |])

    /// `start_indices` inclusive, `limit_indices` exclusive, per axis.
    let sliceP =
        builtin
            "slice"
            (fun xs p -> [| Layout.slice (p.Ints "start_indices") (p.Ints "limit_indices") xs.[0] |])
            (fun avals p ->
                arity "slice" 1 avals
                let x, start, limit = avals.[0], p.Ints "start_indices", p.Ints "limit_indices"

                if start.Length <> x.Rank || limit.Length <> x.Rank then
                    fail
                        "slice: %d start and %d limit indices for a tensor of rank %d."
                        start.Length
                        limit.Length
                        x.Rank

                for k in 0 .. x.Rank - 1 do
                    if start.[k] < 0 || start.[k] > limit.[k] || limit.[k] > x.Shape.[k] then
                        fail
                            "slice: [%d, %d) is out of range for axis %d of size %d (shape %s)."
                            start.[k]
                            limit.[k]
                            k
                            x.Shape.[k]
                            (Shape.show x.Shape)

                [| Aval(Array.map2 (-) limit start, x.DType) |])

    /// Pads with zeros: `low[k]` before and `high[k]` after axis k (the transpose of slice).
    let padP =
        builtin "pad" (fun xs p -> [| Layout.pad (p.Ints "low") (p.Ints "high") xs.[0] |]) (fun avals p ->
            arity "pad" 1 avals
            let x, low, high = avals.[0], p.Ints "low", p.Ints "high"

            if low.Length <> x.Rank || high.Length <> x.Rank then
                fail "pad: %d low and %d high paddings for a tensor of rank %d." low.Length high.Length x.Rank

            if Array.exists (fun v -> v < 0) low || Array.exists (fun v -> v < 0) high then
                fail "pad: paddings must be non-negative (low %A, high %A); use slice to cut." low high

            [|
                Aval(Array.init x.Rank (fun k -> low.[k] + x.Shape.[k] + high.[k]), x.DType)
            |])

    /// Joins operands along `dimension`; the other dimensions must agree.
    let concatenateP =
        builtin "concatenate" (fun xs p -> [| Layout.concatenate (p.Int "dimension") xs |]) (fun avals p ->
            if avals.Length = 0 then
                fail "concatenate: needs at least one operand."

            let first = avals.[0]
            let axis = p.Int "dimension"

            if axis < 0 || axis >= first.Rank then
                fail "concatenate: dimension %d is out of range for rank %d." axis first.Rank

            for a in avals do
                if a.DType <> first.DType || a.Rank <> first.Rank then
                    fail "concatenate: operands %O and %O differ in dtype or rank." first a

                for k in 0 .. a.Rank - 1 do
                    if k <> axis && a.Shape.[k] <> first.Shape.[k] then
                        fail
                            "concatenate: shapes %s and %s differ on axis %d (only axis %d may differ)."
                            (Shape.show first.Shape)
                            (Shape.show a.Shape)
                            k
                            axis

            let shape = Array.copy first.Shape
            shape.[axis] <- avals |> Array.sumBy (fun a -> a.Shape.[axis])
            [| Aval(shape, first.DType) |])

    /// The `convert_element_type` primitive: converts to the dtype `new_dtype`.
    let convertElementTypeP =
        builtin
            "convert_element_type"
            (fun xs p -> [| Elementwise.convert (p.DType "new_dtype") xs.[0] |])
            (fun avals p ->
                arity "convert_element_type" 1 avals
                [| avals.[0].WithDType(p.DType "new_dtype") |])

    /// The identity whose derivative is zero.
    let stopGradientP =
        builtin "stop_gradient" (unaryImpl Elementwise.identity) (fun avals _ ->
            arity "stop_gradient" 1 avals
            [| avals.[0] |])

    // ---- the op library's primitives -----------------------------------------------------

    /// The `tan` primitive.
    let tanP = floatUnaryP "tan" Elementwise.tan
    /// The `asin` primitive.
    let asinP = floatUnaryP "asin" Elementwise.asin
    /// The `acos` primitive.
    let acosP = floatUnaryP "acos" Elementwise.acos
    /// The `atan` primitive.
    let atanP = floatUnaryP "atan" Elementwise.atan
    /// The `sinh` primitive.
    let sinhP = floatUnaryP "sinh" Elementwise.sinh
    /// The `cosh` primitive.
    let coshP = floatUnaryP "cosh" Elementwise.cosh
    /// The `log1p` primitive.
    let log1pP = floatUnaryP "log1p" Elementwise.log1p
    /// The `expm1` primitive.
    let expm1P = floatUnaryP "expm1" Elementwise.expm1
    /// 1 / (1 + e^-x), stable for large |x|.
    let logisticP = floatUnaryP "logistic" Elementwise.logistic
    /// The `erf` primitive.
    let erfP = floatUnaryP "erf" Elementwise.erf
    /// The `abs` primitive.
    let absP = builtin "abs" (unaryImpl Elementwise.abs) (numericUnary "abs")
    /// The `sign` primitive.
    let signP = builtin "sign" (unaryImpl Elementwise.sign) (numericUnary "sign")

    /// x ** y with a tensor exponent.
    let powP = builtin "pow" (binaryImpl Elementwise.pow) (floatBinary "pow")
    /// The `max` primitive.
    let maxP = builtin "max" (binaryImpl Elementwise.max) (binary "max" None)
    /// The `min` primitive.
    let minP = builtin "min" (binaryImpl Elementwise.min) (binary "min" None)
    /// atan2(y, x), operands in that order.
    let atan2P = builtin "atan2" (binaryImpl Elementwise.atan2) (floatBinary "atan2")

    /// clamp(lo, x, hi); `lo` and `hi` have x's shape or rank 0.
    let clampP =
        builtin "clamp" (fun xs _ -> [| Elementwise.clamp xs.[0] xs.[1] xs.[2] |]) (fun avals _ ->
            arity "clamp" 3 avals
            let lo, x, hi = avals.[0], avals.[1], avals.[2]

            for bound in [ lo; hi ] do
                if bound.DType <> x.DType then
                    fail "clamp: bound %O and operand %O differ in dtype." bound x

                if bound.Rank <> 0 && not (Shape.equal bound.Shape x.Shape) then
                    fail
                        "clamp: bound shape %s must be the operand's %s or a scalar."
                        (Shape.show bound.Shape)
                        (Shape.show x.Shape)

            [| x |])

    /// The `reduce_max` primitive: the maximum over `axes` (NaN propagates).
    let reduceMaxP =
        builtin
            "reduce_max"
            (fun xs p -> [| Reductions.reduceMax (p.Ints "axes") xs.[0] |])
            (reduceExtremeAxes "reduce_max")

    /// The `reduce_min` primitive: the minimum over `axes` (NaN propagates).
    let reduceMinP =
        builtin
            "reduce_min"
            (fun xs p -> [| Reductions.reduceMin (p.Ints "axes") xs.[0] |])
            (reduceExtremeAxes "reduce_min")

    /// The `reduce_prod` primitive: the product over `axes`.
    let reduceProdP =
        builtin
            "reduce_prod"
            (fun xs p -> [| Reductions.reduceProd (p.Ints "axes") xs.[0] |])
            (reduceAxes "reduce_prod")

    let private argShape (name: string) (avals: Aval[]) (p: Params) =
        arity name 1 avals
        let x = avals.[0]
        let axis = p.Int "axis"

        if axis < 0 || axis >= x.Rank then
            fail "%s: axis %d is out of range for rank %d." name axis x.Rank

        if x.Shape.[axis] = 0 then
            fail
                "%s: axis %d of shape %s is empty; an empty axis has no extreme element. Test the size first."
                name
                axis
                (Shape.show x.Shape)

        [| Aval(Array.removeAt axis x.Shape, Int64) |]

    /// The index of the first maximum along `axis` (int64).
    let argmaxP =
        builtin "argmax" (fun xs p -> [| Reductions.argExtreme true (p.Int "axis") xs.[0] |]) (argShape "argmax")

    /// The index of the first minimum along `axis` (int64).
    let argminP =
        builtin "argmin" (fun xs p -> [| Reductions.argExtreme false (p.Int "axis") xs.[0] |]) (argShape "argmin")

    /// Inclusive cumulative sum along `axis` (from the end when `reverse` = 1).
    let cumsumP =
        builtin
            "cumsum"
            (fun xs p -> [| Reductions.cumsum (p.Int "axis") (p.Int "reverse" = 1) xs.[0] |])
            (fun avals p ->
                arity "cumsum" 1 avals
                let x = avals.[0]

                if p.Int "axis" < 0 || p.Int "axis" >= x.Rank then
                    fail "cumsum: axis %d is out of range for rank %d." (p.Int "axis") x.Rank

                [| x |])

    /// gather(operand, indices) along `axis`: NumPy's take with int64 indices, or float64 ones
    /// (staged by makeIR, their values unknown) that the kernel checks are whole.
    let gatherP =
        builtin "gather" (fun xs p -> [| Reductions.gather (p.Int "axis") xs.[0] xs.[1] |]) (fun avals p ->
            arity "gather" 2 avals
            let x, idx, axis = avals.[0], avals.[1], p.Int "axis"

            // float64 indices (unknown while staging) are checked to be whole by the kernel
            if idx.DType = Bool then
                fail "gather: indices must be int64 or float64, got %O (convert with Tensor.convert Int64)." idx

            if axis < 0 || axis >= x.Rank then
                fail "gather: axis %d is out of range for rank %d." axis x.Rank

            [|
                Aval(Array.concat [ x.Shape.[.. axis - 1]; idx.Shape; x.Shape.[axis + 1 ..] ], x.DType)
            |])

    /// scatter_add(updates, indices): the transpose of gather, into an axis of size `size`.
    let scatterAddP =
        builtin
            "scatter_add"
            (fun xs p -> [| Reductions.scatterAdd (p.Int "axis") (p.Int "size") xs.[0] xs.[1] |])
            (fun avals p ->
                arity "scatter_add" 2 avals
                let u, idx, axis = avals.[0], avals.[1], p.Int "axis"

                if idx.DType <> Int64 then
                    fail "scatter_add: indices must be int64, got %O." idx

                if axis < 0 || axis + idx.Rank > u.Rank then
                    fail "scatter_add: updates %O cannot hold indices %O at axis %d." u idx axis

                if not (Shape.equal u.Shape.[axis .. axis + idx.Rank - 1] idx.Shape) then
                    fail
                        "scatter_add: updates %O do not have the indices' shape %s at axis %d."
                        u
                        (Shape.show idx.Shape)
                        axis

                [|
                    Aval(
                        Array.concat [ u.Shape.[.. axis - 1]; [| p.Int "size" |]; u.Shape.[axis + idx.Rank ..] ],
                        u.DType
                    )
                |])

    /// dot_general(lhs, rhs): contracts `lhs_contracting` with `rhs_contracting` and pairs
    /// `lhs_batch` with `rhs_batch`; the result's axes are batch ++ lhs free ++ rhs free.
    let dotGeneralP =
        builtin
            "dot_general"
            (fun xs p ->
                [|
                    Linalg.dotGeneral
                        (p.Ints "lhs_contracting")
                        (p.Ints "rhs_contracting")
                        (p.Ints "lhs_batch")
                        (p.Ints "rhs_batch")
                        xs.[0]
                        xs.[1]
                |])
            (fun avals p ->
                arity "dot_general" 2 avals
                let l, r = avals.[0], avals.[1]

                let lc, rc, lb, rb =
                    p.Ints "lhs_contracting", p.Ints "rhs_contracting", p.Ints "lhs_batch", p.Ints "rhs_batch"

                if l.DType <> r.DType then
                    fail "dot_general: dtypes %O and %O differ." l r

                if lc.Length <> rc.Length || lb.Length <> rb.Length then
                    fail "dot_general: %A contracting / %A batch dimensions do not pair with %A / %A." lc lb rc rb

                let check (axes: int[]) (a: Aval) =
                    for ax in axes do
                        if ax < 0 || ax >= a.Rank then
                            fail "dot_general: axis %d is out of range for %O." ax a

                    if (Array.distinct axes).Length <> axes.Length then
                        fail "dot_general: repeated axis in %A." axes

                check (Array.append lc lb) l
                check (Array.append rc rb) r

                for (la, ra) in Array.zip (Array.append lc lb) (Array.append rc rb) do
                    if l.Shape.[la] <> r.Shape.[ra] then
                        fail
                            "dot_general: dimension %d of %s (size %d) does not match dimension %d of %s (size %d)."
                            la
                            (Shape.show l.Shape)
                            l.Shape.[la]
                            ra
                            (Shape.show r.Shape)
                            r.Shape.[ra]

                let free (a: Aval) (used: int[]) =
                    [|
                        for k in 0 .. a.Rank - 1 do
                            if not (Array.contains k used) then
                                a.Shape.[k]
                    |]

                let shape =
                    Array.concat
                        [
                            lb |> Array.map (fun k -> l.Shape.[k])
                            free l (Array.append lc lb)
                            free r (Array.append rc rb)
                        ]

                [| Aval(shape, l.DType) |])
