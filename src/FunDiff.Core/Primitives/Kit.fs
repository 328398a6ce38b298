// Room: the one-line declaration helpers of the built-in primitives.
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules

/// How the built-in primitives are declared: a name, a kernel and a shape rule (their JVP
/// and transpose rules live in the rules table, `Rules/`). The primitives themselves are
/// declared per family in the files after this one.
module internal Kit =

    let builtin name impl shapeRule = Primitive(name, impl, shapeRule, null)

    let unaryImpl (kernel: NDArray -> NDArray) =
        fun (xs: NDArray[]) (_: Params) -> [| kernel xs.[0] |]

    /// A binary kernel that takes equal shapes or a scalar; an operand repeating along the
    /// other's leading axes (vmap's unbatched operand) is materialized for it first.
    let binaryImpl (kernel: NDArray -> NDArray -> NDArray) =
        fun (xs: NDArray[]) (_: Params) ->
            let struct (x, y) = Elementwise.expandRepeated xs.[0] xs.[1]
            [| kernel x y |]

    /// An elementwise unary primitive: its kernel and the scalar function that kernel applies.
    let unaryMapP name (map: Elementwise.UnaryMap) shapeRule =
        let prim =
            Primitive(name, unaryImpl map.Kernel, shapeRule, null, ScalarFunction.Unary map.Scalar)

        prim.Lanes <- LaneKernel.Map(fun _ -> map.Span)
        prim

    /// An elementwise binary primitive (rank-0 broadcasting), with its scalar function.
    /// (Its kernel takes a repeating operand itself: add, sub, mul and div loop over the rows.)
    let binaryMapP name (map: Elementwise.BinaryMap) shapeRule =
        let prim =
            Primitive(
                name,
                (fun xs _ -> [| map.Kernel xs.[0] xs.[1] |]),
                shapeRule,
                null,
                ScalarFunction.Binary map.Scalar
            )

        prim.Lanes <- LaneKernel.Zip map.Span
        prim

    let floatUnaryP name (map: Elementwise.UnaryMap) = unaryMapP name map (floatUnary name)

    /// Declares how a primitive runs inside jit's fused loops.
    let fusedAs (lanes: LaneKernel) (prim: Primitive) =
        prim.Lanes <- lanes
        prim

    /// Declares a binary primitive commutative (jit's passes may swap its operands).
    let commutative (prim: Primitive) =
        prim.Commutative <- true
        prim

    // ---- the algebra jit's simplification pass reads (Primitive.RightIdentity etc.) ----

    /// Declares `e` the identity of a binary primitive on both sides: op(x, e) = op(e, x) = x.
    let identity (e: float) (prim: Primitive) =
        prim.LeftIdentity <- ValueSome e
        prim.RightIdentity <- ValueSome e
        prim

    /// Declares `e` the right identity of a binary primitive: op(x, e) = x.
    let rightIdentity (e: float) (prim: Primitive) =
        prim.RightIdentity <- ValueSome e
        prim

    /// Declares op(c, y) = u(y) for a binary primitive (sub: 0 − y = neg y).
    let leftConstant (c: float) (u: Primitive) (prim: Primitive) =
        prim.LeftConstant <- ValueSome(struct (c, u))
        prim

    /// Declares a unary primitive its own inverse: f(f(x)) = x.
    let involution (prim: Primitive) =
        prim.Involution <- true
        prim

    /// Declares when an application of a unary primitive returns its operand unchanged.
    let noOpWhen (isNoOp: Aval -> Params -> bool) (prim: Primitive) =
        prim.IsNoOp <- ValueSome isNoOp
        prim

    /// Declares how two applications of a unary primitive in a row make one (inner params,
    /// then outer params, to the params of the one application).
    let composes (compose: Params -> Params -> Params) (prim: Primitive) =
        prim.Compose <- ValueSome compose
        prim

    /// Declares that an application to a rank-0 operand is that value everywhere.
    let broadcastsScalar (prim: Primitive) =
        prim.BroadcastsScalar <- true
        prim
