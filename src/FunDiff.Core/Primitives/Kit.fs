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
