// Room: the primitives with kinks: abs, sign, max, min, clamp (rules in Rules/Piecewise.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The piecewise primitives, where the maths has kinks: abs, sign, max, min, clamp.
/// Declared per family, as their rules are (`Rules/Piecewise.fs`); opening `FunDiff.Primitives`
/// opens every family.
[<AutoOpen>]
module Piecewise =

    /// The `abs` primitive.
    let absP = unaryMapP "abs" Elementwise.abs (numericUnary "abs")

    /// The `sign` primitive.
    let signP = unaryMapP "sign" Elementwise.sign (numericUnary "sign")

    /// The `max` primitive.
    let maxP = binaryMapP "max" Elementwise.max (binary "max" None) |> commutative

    /// The `min` primitive.
    let minP = binaryMapP "min" Elementwise.min (binary "min" None) |> commutative

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
