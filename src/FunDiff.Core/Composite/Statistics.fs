/// Statistics and reductions built on the reduce primitives: keep-dims forms, mean/var/std,
/// the stable log-sum-exp, flat arg-reductions and cumulative sums. Each takes the name of the op the
/// user called (`op`), so that a bad axis is reported against it, not against a primitive.
module internal FunDiff.Composite.Statistics

open FunDiff
open FunDiff.Primitives

let allAxes (x: Tensor) = Array.init x.Rank id

/// Re-inserts the reduced axes as size-1 axes (NumPy's keepdims).
let keepDims (axes: int[]) (x: Tensor) (reduced: Tensor) =
    let axes = Shape.normalizeAxes "keepDims" x.Rank axes

    let shape =
        Array.init x.Rank (fun k -> if Array.contains k axes then 1 else x.Aval.Shape.[k])

    Prim.reshape shape reduced

/// The axes of a max/min-like reduction, normalized, each of them non-empty.
let nonEmptyAxes (op: string) (axes: int[]) (x: Tensor) =
    let axes = Shape.normalizeAxes op x.Rank axes

    for a in axes do
        if x.Aval.Shape.[a] = 0 then
            raise (
                ShapeException(
                    sprintf
                        "%s: axis %d of shape %s is empty; %s needs at least one element along each reduced axis. Reduce a non-empty axis, or test the size first."
                        op
                        a
                        (Shape.show x.Aval.Shape)
                        op
                )
            )

    axes

/// max/min over axes; an empty reduction has no extreme element.
let extreme (op: string) (prim: Primitive) (axes: int[]) (x: Tensor) =
    Prim.reduce prim (nonEmptyAxes op axes x) x

let private count (axes: int[]) (x: Tensor) =
    axes |> Array.fold (fun acc a -> acc * x.Aval.Shape.[a]) 1

/// The mean over axes; over no elements it is NaN (0 / 0), as in NumPy.
let mean (op: string) (axes: int[]) (x: Tensor) =
    let axes = Shape.normalizeAxes op x.Rank axes
    Prim.sumAxes axes (Prim.convert Float64 x) / float (count axes x)

/// Population variance (NumPy's default ddof = 0).
let var (op: string) (axes: int[]) (x: Tensor) =
    let axes = Shape.normalizeAxes op x.Rank axes
    let x = Prim.convert Float64 x
    let centred = x - keepDims axes x (mean op axes x)
    mean op axes (centred * centred)

/// √s of a sum of squares s ≥ 0 whose derivative at s = 0 is taken as 0 (a subgradient of the
/// norm or standard deviation it computes, both convex), not ∞ · 0 = NaN: the square root is
/// taken of a value that is never 0 in the branch that is used. The test is `s ≠ 0`, which
/// NaN passes, so NaN propagates (`s > 0` would turn it into 0).
let sqrtZeroAtZero (s: Tensor) =
    let zero = Prim.scalar 0.0
    let nonZero = Prim.compare neP s zero
    Prim.where nonZero (Tensor.Sqrt(Prim.where nonZero s (Prim.scalar 1.0))) zero

/// The standard deviation over axes: √var, with gradient 0 where the variance is 0 (all
/// elements equal), as `norm` at 0, rather than NaN.
let std (op: string) (axes: int[]) (x: Tensor) = sqrtZeroAtZero (var op axes x)

/// log Σ exp x over axes, shifted by the (constant) maximum so nothing overflows at ±1000.
/// A non-finite maximum (all −inf, or +inf) is not subtracted.
let logSumExpKeepDims (op: string) (axes: int[]) (x: Tensor) =
    let axes = nonEmptyAxes op axes x
    let x = Prim.convert Float64 x
    let m = Prim.stopGradient (keepDims axes x (Prim.reduce reduceMaxP axes x))
    let finite = Prim.compare ltP (Tensor.Abs m) (Prim.scalar infinity)
    let shift = Prim.where finite m (Prim.scalar 0.0)
    shift + Tensor.Log(Prim.sumAxes axes (Tensor.Exp(x - shift)) |> keepDims axes x)

let logSumExp (op: string) (axes: int[]) (x: Tensor) =
    let axes = nonEmptyAxes op axes x

    let shape =
        Shape.complementAxes x.Rank axes |> Array.map (fun k -> x.Aval.Shape.[k])

    Prim.reshape shape (logSumExpKeepDims op axes x)

/// argmax / argmin of the flattened tensor (NumPy without an axis).
let argFlat (op: string) (prim: Primitive) (x: Tensor) =
    if x.Size = 0 then
        raise (
            ShapeException(
                sprintf
                    "%s: the tensor is empty (shape %s); an empty tensor has no extreme element. Test its size first."
                    op
                    (Shape.show x.Aval.Shape)
            )
        )

    Prim.argExtreme prim 0 (Prim.reshape [| x.Size |] x)

/// argmax / argmin along one axis, which must not be empty.
let argAxis (op: string) (prim: Primitive) (axis: int) (x: Tensor) =
    let axis = (nonEmptyAxes op [| axis |] x).[0]
    Prim.argExtreme prim axis x

/// Cumulative sum of the flattened tensor (NumPy's cumsum without an axis).
let cumsumFlat (x: Tensor) =
    Prim.cumsum 0 false (Prim.reshape [| x.Size |] x)
