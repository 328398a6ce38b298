/// Neural-network activations and normalizations, each stable at ±1000.
module internal FunDiff.Composite.Nn

open FunDiff
open FunDiff.Primitives

let private zero = Prim.scalar 0.0

/// max(x, 0); its derivative at 0 is 0 (where, not max, so no tie is split). The test is
/// `x ≤ 0 → 0`, not `x > 0 → x`, so that NaN (which fails every comparison) stays NaN. An
/// int64 tensor stays int64 (NumPy's maximum); a bool tensor becomes float64.
let relu (x: Tensor) =
    let x = if x.DType = Bool then Prim.convert Float64 x else x
    Prim.where (Prim.compare leP x zero) (Prim.convert x.DType zero) x

/// log(1 + e^x), a primitive: its derivative is sigmoid(x) to every order (the composite
/// log1p(e^−|x|) + max(x, 0) had the right first derivative only because two kink conventions
/// added up, and a second derivative of 0 at x = 0 instead of ¼).
let softplus (x: Tensor) = Prim.floatUnary softplusP x

/// Softmax along an axis: exp(x − max) / Σ exp(x − max), the max held constant.
let private needsAxis (op: string) (x: Tensor) =
    if x.Rank = 0 then
        raise (
            ShapeException(
                sprintf
                    "%s: needs a tensor with at least one axis, got a scalar; reshape it to [1] or use it directly."
                    op
            )
        )

let softmax (op: string) (axis: int) (x: Tensor) =
    needsAxis op x
    let axes = Statistics.nonEmptyAxes op [| axis |] x
    let x = Prim.convert Float64 x

    let m =
        Prim.stopGradient (Statistics.keepDims axes x (Prim.reduce reduceMaxP axes x))

    let e = Tensor.Exp(x - m)
    e / Statistics.keepDims axes x (Prim.sumAxes axes e)

/// log softmax along an axis: x − logSumExp(x).
let logSoftmax (op: string) (axis: int) (x: Tensor) =
    needsAxis op x
    Prim.convert Float64 x - Statistics.logSumExpKeepDims op [| axis |] x

/// The 2-norm of all elements. At 0 its gradient is 0 (a subgradient), not NaN; a NaN
/// element gives NaN.
let norm (x: Tensor) =
    let x = Prim.convert Float64 x
    Statistics.sqrtZeroAtZero (Prim.sum (x * x))

/// One-hot encoding: a float64 tensor of shape labels.shape ++ [n].
let oneHot (n: int) (labels: Tensor) =
    if n <= 0 then
        raise (
            ShapeException(
                sprintf "oneHot: the number of classes must be positive, got %d; pass n ≥ 1 (the labels are 0..n-1)." n
            )
        )

    let labels = Prim.expandDims labels.Rank (Prim.convert DType.Int64 labels)
    let classes = Prim.convert DType.Int64 (Tensor.Arange n)
    Prim.convert Float64 (Prim.compare eqP labels classes)
