// Room: comparisons, select_n and stop_gradient (rules in Rules/Logical.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The logical primitives: comparisons (bool out), select_n and stop_gradient.
/// Declared per family, as their rules are (`Rules/Logical.fs`); opening `FunDiff.Primitives`
/// opens every family.
[<AutoOpen>]
module Logical =

    /// The `lt` primitive.
    let ltP = builtin "lt" (binaryImpl Elementwise.lt) (binary "lt" (Some Bool))

    /// The `le` primitive.
    let leP = builtin "le" (binaryImpl Elementwise.le) (binary "le" (Some Bool))

    /// The `gt` primitive.
    let gtP = builtin "gt" (binaryImpl Elementwise.gt) (binary "gt" (Some Bool))

    /// The `ge` primitive.
    let geP = builtin "ge" (binaryImpl Elementwise.ge) (binary "ge" (Some Bool))

    /// The `eq` primitive.
    let eqP =
        builtin "eq" (binaryImpl Elementwise.eq) (binary "eq" (Some Bool))
        |> commutative

    /// The `ne` primitive.
    let neP =
        builtin "ne" (binaryImpl Elementwise.ne) (binary "ne" (Some Bool))
        |> commutative

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

    /// The identity whose derivative is zero.
    let stopGradientP =
        builtin "stop_gradient" (unaryImpl Elementwise.identity) (fun avals _ ->
            arity "stop_gradient" 1 avals
            [| avals.[0] |])
