// Room: the arithmetic primitives (rules in Rules/Arithmetic.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The arithmetic primitives: neg, add, sub, mul, div, pow, pow_const, atan2.
/// Declared per family, as their rules are (`Rules/Arithmetic.fs`); opening `FunDiff.Primitives`
/// opens every family.
[<AutoOpen>]
module Arithmetic =

    /// The `neg` primitive.
    let negP = unaryMapP "neg" Elementwise.neg (numericUnary "neg") |> involution

    /// x ** y for a constant exponent `y` (a param, so no log x is ever formed).
    /// An int64 operand stays int64 for a whole exponent y ≥ 0 (NumPy); otherwise float64 only.
    let powConstP =
        builtin "pow_const" (fun xs p -> [| Elementwise.powConst (p.Float "y") xs.[0] |]) (fun avals p ->
            let y = p.Float "y"

            if avals.Length = 1 && avals.[0].DType = Int64 && Shape.isIntegerPower y then
                [| avals.[0] |]
            else
                floatUnary "pow_const" avals p)
        |> fusedAs (LaneKernel.Map(fun p -> Elementwise.powConstSpan (p.Float "y")))

    /// The `add` primitive.
    let addP =
        binaryMapP "add" Elementwise.add (binary "add" None)
        |> commutative
        |> identity 0.0

    /// The `sub` primitive.
    let subP =
        binaryMapP "sub" Elementwise.sub (binary "sub" None)
        |> rightIdentity 0.0
        |> leftConstant 0.0 negP

    /// The `mul` primitive.
    let mulP =
        binaryMapP "mul" Elementwise.mul (binary "mul" None)
        |> commutative
        |> identity 1.0

    /// The `div` primitive.
    let divP = binaryMapP "div" Elementwise.div (binary "div" None) |> rightIdentity 1.0

    /// x ** y with a tensor exponent: float64, or int64 on both sides (NumPy's integer power).
    let powP =
        binaryMapP "pow" Elementwise.pow (fun avals p ->
            let out = binary "pow" None avals p

            if out.[0].DType = Bool then
                fail "pow: expects float64 or int64 operands, got %O and %O." avals.[0] avals.[1]

            out)

    /// atan2(y, x), operands in that order.
    let atan2P = binaryMapP "atan2" Elementwise.atan2 (floatBinary "atan2")
