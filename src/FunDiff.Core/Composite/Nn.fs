/// Neural-network activations and normalizations, each stable at ±1000.
module internal FunDiff.Composite.Nn

open FunDiff
open FunDiff.Primitives

let private zero = Prim.scalar 0.0

/// max(x, 0); its derivative at 0 is 0 (where, not max, so no tie is split).
let relu (x: Tensor) =
    let x = Prim.convert Float64 x
    Prim.where (Prim.compare gtP x zero) x zero

/// log(1 + e^x) = log1p(e^−|x|) + max(x, 0): no overflow; the derivative is sigmoid(x).
let softplus (x: Tensor) =
    let x = Prim.convert Float64 x

    Prim.floatUnary log1pP (Tensor.Exp(-(Tensor.Abs x)))
    + Prim.arithmetic maxP x zero

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
    let axes = Reductions.nonEmptyAxes op [| axis |] x
    let x = Prim.convert Float64 x

    let m =
        Prim.stopGradient (Reductions.keepDims axes x (Prim.reduce reduceMaxP axes x))

    let e = Tensor.Exp(x - m)
    e / Reductions.keepDims axes x (Prim.sumAxes axes e)

/// log softmax along an axis: x − logSumExp(x).
let logSoftmax (op: string) (axis: int) (x: Tensor) =
    needsAxis op x
    Prim.convert Float64 x - Reductions.logSumExpKeepDims op [| axis |] x

/// The 2-norm of all elements. At 0 its gradient is 0 (a subgradient), not NaN: the square
/// root is taken of a value that is never 0 in the branch that is used.
let norm (x: Tensor) =
    let x = Prim.convert Float64 x
    let s = Prim.sum (x * x)
    let positive = Prim.compare gtP s zero
    Prim.where positive (Tensor.Sqrt(Prim.where positive s (Prim.scalar 1.0))) zero

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
