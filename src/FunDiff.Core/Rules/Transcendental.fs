/// Rules of the transcendental elementwise primitives. Each reuses the primal output `y`
/// where the maths allows and touches the tangent `t` once.
module FunDiff.Rules.Transcendental

open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

/// The family's entries for the rules table.
let rules =
    [
        sinP, jvpOnly (unary (fun x _ t -> t * cos x))
        cosP, jvpOnly (unary (fun x _ t -> t * -(sin x)))
        expP, jvpOnly (unary (fun _ y t -> t * y))
        logP, jvpOnly (unary (fun x _ t -> t / x))
        sqrtP, jvpOnly (unary (fun _ y t -> t * (0.5 / y))) // infinite at 0, as the maths says
        tanhP, jvpOnly (unary (fun _ y t -> t * (1.0 - y * y)))
        tanP, jvpOnly (unary (fun _ y t -> t * (1.0 + y * y)))
        asinP, jvpOnly (unary (fun x _ t -> t / sqrt (1.0 - x * x)))
        acosP, jvpOnly (unary (fun x _ t -> t / -(sqrt (1.0 - x * x))))
        atanP, jvpOnly (unary (fun x _ t -> t / (1.0 + x * x)))
        sinhP, jvpOnly (unary (fun x _ t -> t * cosh x))
        coshP, jvpOnly (unary (fun x _ t -> t * sinh x))
        log1pP, jvpOnly (unary (fun x _ t -> t / (1.0 + x)))
        expm1P, jvpOnly (unary (fun _ y t -> t * (y + 1.0)))
        logisticP, jvpOnly (unary (fun _ y t -> t * (y * (1.0 - y))))
        softplusP, jvpOnly (unary (fun x _ t -> t * x.Sigmoid()))
        // d erf(x) = 2/√π · e^(−x²)
        erfP, jvpOnly (unary (fun x _ t -> t * (2.0 / sqrt System.Math.PI * exp (-(x * x)))))
    ]
    |> BatchKit.vectorized
