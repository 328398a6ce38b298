// Room: the transcendental elementwise primitives (rules in Rules/Transcendental.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The transcendental elementwise primitives: float64 in, float64 out, one kernel each.
/// Declared per family, as their rules are (`Rules/Transcendental.fs`); opening `FunDiff.Primitives`
/// opens every family.
[<AutoOpen>]
module Transcendental =

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

    /// log(1 + e^x), stable for large |x|; a primitive (not max + log1p of e^−|x|) so that its
    /// second derivative at 0 is σ′(0) = ¼, not the 0 that two kink conventions would give.
    let softplusP = floatUnaryP "softplus" Elementwise.softplus

    /// The `erf` primitive.
    let erfP = floatUnaryP "erf" Elementwise.erf
