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

    let binaryImpl (kernel: NDArray -> NDArray -> NDArray) =
        fun (xs: NDArray[]) (_: Params) -> [| kernel xs.[0] xs.[1] |]

    /// An elementwise unary primitive: its kernel and the scalar function that kernel applies.
    let unaryMapP name (map: Elementwise.UnaryMap) shapeRule =
        Primitive(name, unaryImpl map.Kernel, shapeRule, null, ScalarFunction.Unary map.Scalar)

    /// An elementwise binary primitive (rank-0 broadcasting), with its scalar function.
    let binaryMapP name (map: Elementwise.BinaryMap) shapeRule =
        Primitive(name, binaryImpl map.Kernel, shapeRule, null, ScalarFunction.Binary map.Scalar)

    let floatUnaryP name (map: Elementwise.UnaryMap) = unaryMapP name map (floatUnary name)
