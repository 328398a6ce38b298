// Room: what a primitive is (name, kernel, shape rule) and its params; the built-ins are declared per family in Primitives/.
namespace FunDiff

open System.Threading
open FunDiff.Backend

module private ClosedBodyIds =
    let mutable next = 0L

/// A closed program held as a parameter by a higher-order primitive (jit's body): a program
/// whose captured constants are its first inputs, so it is pure. Declared here and implemented
/// by the IR (`ClosedProgram`), so that `Param` and `Program` meet without a registry filled
/// by side effects. Bodies compare structurally (`Fingerprint`: the same equations of the same
/// primitives with the same params, literals and avals, up to the names of variables), so
/// params stay comparable and hashable and jit's CSE merges two jit equations of one function
/// traced twice; ordered by creation among unequal bodies.
[<AbstractClass; AllowNullLiteral>]
type ClosedBody() =
    let id = Interlocked.Increment(&ClosedBodyIds.next)
    /// Unique per body, in creation order.
    member _.Id = id

    /// The body's structure, compared and hashed for equality (an F# structural value).
    abstract Fingerprint: obj

    override b.Equals(o: obj) =
        match o with
        | :? ClosedBody as other ->
            // F#'s structural equality and hash: arrays and tuples element by element
            obj.ReferenceEquals(b, other)
            || LanguagePrimitives.GenericEquality b.Fingerprint other.Fingerprint
        | _ -> false

    override b.GetHashCode() =
        LanguagePrimitives.GenericHash b.Fingerprint

    interface System.IComparable with
        member b.CompareTo(o: obj) =
            match o with
            | :? ClosedBody as other -> if b.Equals other then 0 else compare b.Id other.Id
            | _ -> invalidArg "o" "a ClosedBody compares only with a ClosedBody"

/// One parameter value of a primitive: immutable, with structural equality (so programs can be
/// compared and hashed), never a closure.
type Param =
    | Int of int
    | Ints of int[]
    | Float of float
    | DType of DType
    /// A closed program (jit's body).
    | Closed of ClosedBody

    override p.ToString() =
        match p with
        | Int i -> string i
        | Ints xs -> "(" + (xs |> Array.map string |> String.concat ",") + ")"
        | Float f -> Format.scalar Float64 f
        | DType d -> d.ShortName
        | Closed body -> string body

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
                | Closed body -> box body

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

/// What an elementwise primitive computes on one float64 element: the scalar function its
/// kernel applies, bit for bit. The interpreter evaluates rank-0 float64 operands with it
/// directly (no arrays, no shape rule, no kernel dispatch), and jit's fused loops will too.
[<RequireQualifiedAccess; NoEquality; NoComparison>]
type ScalarFunction =
    /// Not elementwise, or not on float64 alone.
    | NotElementwise
    /// f(x) for one operand.
    | Unary of unary: (float -> float)
    /// f(x, y) for two operands.
    | Binary of binary: (float -> float -> float)

/// How an application runs inside one of jit's fused loops (one pass over the elements of one
/// shape, a tile at a time, each tile's intermediates in L1-sized scratch), or that it does not.
/// Declared where the primitive is, so the compiler never names one. A fused loop runs
/// float64 operands and outputs only.
[<RequireQualifiedAccess; NoEquality; NoComparison>]
type internal LaneKernel =
    /// Not fusible: runs its kernel on whole arrays.
    | Opaque
    /// Elementwise on one operand of the output's shape: its span kernel for the params.
    | Map of map: (Params -> Elementwise.UnaryKernel)
    /// Elementwise on two operands, each of the output's shape or rank 0 (a length-1 span).
    | Zip of zip: Elementwise.BinaryKernel
    /// Sums its operand to a rank-0 output, when the params reduce every axis of the operand
    /// (its aval): the consumer that ends a loop.
    | SumsAll of total: (Params -> Aval -> bool)
    /// Output element i is operand element i − offset, or 0 outside the operand (a pad along the
    /// leading axis): the offset for the params and operand aval, if the application is such a shift.
    | Shift of shift: (Params -> Aval -> int voption)
    /// Repeats a rank-0 operand over the output's shape, when the params and operand aval say so.
    | Repeat of repeat: (Params -> Aval -> bool)
    /// Output element i is operand element i + offset (a contiguous window of the operand: a
    /// slice along the leading axis, a reshape): the offset for the params and operand aval, if
    /// the application is such a window. A fused loop reads the operand in place.
    | View of view: (Params -> Aval -> int voption)

/// One application of a shape rule: the input avals and params it was given (compared by
/// reference) and the output avals it returned. Immutable, so threads may share it.
[<Sealed; AllowNullLiteral>]
type internal ShapeMemo(inputs: Aval[], pars: Params, outputs: Aval[]) =
    member _.Inputs = inputs
    member _.Params = pars
    member _.Outputs = outputs

/// A primitive operation: identity, evaluation on concrete arrays (`Impl`) and the shape rule
/// (output avals from input avals, raising a ShapeException for bad input). Its JVP and
/// transpose rules live in the rules table (`Rules.table`), indexed by `Id`; a user-defined
/// primitive carries its rules with it in `OwnRules` (typed `obj` because this file compiles
/// before `Tensor`).
[<Sealed; AllowNullLiteral>]
type Primitive
    internal
    (
        name: string,
        impl: NDArray[] -> Params -> NDArray[],
        shapeRule: Aval[] -> Params -> Aval[],
        ownRules: obj,
        scalar: ScalarFunction
    ) =
    let id = Interlocked.Increment(&PrimitiveIds.next)
    // the last shape-rule application: a loop binds a primitive on the same avals again and
    // again, and staging then reuses the outputs instead of allocating avals per equation
    let mutable lastShape: ShapeMemo = null

    internal new(name, impl, shapeRule, ownRules) =
        Primitive(name, impl, shapeRule, ownRules, ScalarFunction.NotElementwise)

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
    /// The scalar function of an elementwise primitive (its value on rank-0 float64 operands).
    member _.Scalar = scalar

    /// Whether its two operands commute (add, mul, max, min, eq, ne), so jit's passes may
    /// reorder them; set where the primitive is declared.
    member val Commutative = false with get, set

    /// How the primitive runs inside a fused loop of jit (Opaque: it does not); set where the
    /// primitive is declared.
    member val internal Lanes = LaneKernel.Opaque with get, set

    /// Whether two applications to the same operands give the same values, so jit's passes may
    /// merge or fold them: every built-in is; a user-defined primitive (its impl may count or
    /// print) is not unless it says so; set where the primitive is declared.
    member val Pure = isNull ownRules with get, set

    // What jit's simplification pass (Compiler/Simplify.fs) may assume of the primitive: its
    // algebra, declared here so that the pass names no primitive. Each is a promise about
    // values on every operand (NaN and infinities included), read only for a pure primitive.

    /// The value `e` with `op(x, e) = x` for every x of a binary primitive (add and sub: 0,
    /// mul and div: 1), so the pass may replace an application whose right operand is `e` (a
    /// literal or a broadcast of one) by its left operand; set where the primitive is declared.
    member val RightIdentity: float voption = ValueNone with get, set

    /// The value `e` with `op(e, y) = y` for every y of a binary primitive (add: 0, mul: 1);
    /// set where the primitive is declared.
    member val LeftIdentity: float voption = ValueNone with get, set

    /// A value `c` and a unary primitive `u` with `op(c, y) = u(y)` for every y of a binary
    /// primitive (sub: 0 − y = neg y), so the pass may apply `u` instead; set where the
    /// primitive is declared.
    member val LeftConstant: struct (float * Primitive) voption = ValueNone with get, set

    /// Whether a unary primitive is its own inverse, `f(f(x)) = x` (neg), so the pass may
    /// replace two applications in a row by the operand; set where the primitive is declared.
    member val Involution = false with get, set

    /// For a unary primitive: whether an application with these params to an operand of this
    /// aval returns the operand's values unchanged (transpose by the identity permutation, a
    /// reshape to the operand's own shape), so the pass may use the operand; set where the
    /// primitive is declared (ValueNone: never).
    member val IsNoOp: (Aval -> Params -> bool) voption = ValueNone with get, set

    /// For a unary primitive: the params of one application that does what two in a row do,
    /// from the inner application's params and the outer's (transpose: the permutations
    /// composed; reshape: the outer shape), so the pass may apply it once; set where the
    /// primitive is declared (ValueNone: it does not compose).
    member val Compose: (Params -> Params -> Params) voption = ValueNone with get, set

    /// Whether an application to a rank-0 operand gives that one value at every element of its
    /// output (broadcast_in_dim), so that a primitive which broadcasts rank-0 operands itself may
    /// read the rank-0 value instead; set where the primitive is declared.
    member val BroadcastsScalar = false with get, set

    /// The last shape-rule application, or null (read and replaced whole, so it is thread-safe).
    member internal _.LastShape
        with get () = Volatile.Read(&lastShape)
        and set (memo: ShapeMemo) = Volatile.Write(&lastShape, memo)

    override _.ToString() = name
