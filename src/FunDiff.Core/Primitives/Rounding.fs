// Room: the rounding primitives floor, ceil, round, trunc (rules in Rules/Rounding.fs).
namespace FunDiff.Primitives

open FunDiff.Backend
open FunDiff.Primitives.Kit

/// The rounding primitives: float64 in, float64 out (an int64 operand is converted first, as
/// NumPy's floor gives float64), piecewise constant, so their derivative is zero everywhere it
/// exists (JAX's convention, also at the jumps). Elementwise, so they fuse under jit.
[<AutoOpen>]
module Rounding =

    /// The `floor` primitive: ⌊x⌋.
    let floorP = floatUnaryP "floor" Elementwise.floor

    /// The `ceil` primitive: ⌈x⌉.
    let ceilP = floatUnaryP "ceil" Elementwise.ceil

    /// The `round` primitive: the nearest integer, halves to even (NumPy's `round`).
    let roundP = floatUnaryP "round" Elementwise.round

    /// The `trunc` primitive: the integer part, toward zero.
    let truncP = floatUnaryP "trunc" Elementwise.trunc
