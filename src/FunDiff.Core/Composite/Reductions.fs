/// Reductions built on the reduce primitives: keep-dims forms, mean/var/std, the stable
/// log-sum-exp, flat arg-reductions and cumulative sums.
module internal FunDiff.Composite.Reductions

open FunDiff
open FunDiff.Primitives

let allAxes (x: Tensor) = Array.init x.Rank id

/// Re-inserts the reduced axes as size-1 axes (NumPy's keepdims).
let keepDims (axes: int[]) (x: Tensor) (reduced: Tensor) =
    let axes = Shape.normalizeAxes "keepDims" x.Rank axes
    let shape = Array.init x.Rank (fun k -> if Array.contains k axes then 1 else x.Aval.Shape.[k])
    Prim.reshape shape reduced

/// max/min over axes; an empty reduction has no extreme element.
let extreme (prim: Primitive) (axes: int[]) (x: Tensor) =
    let axes = Shape.normalizeAxes prim.Name x.Rank axes

    for a in axes do
        if x.Aval.Shape.[a] = 0 then
            raise (
                ShapeException(
                    sprintf "%s: axis %d of shape %s is empty; the extreme of no elements is undefined." prim.Name a (Shape.show x.Aval.Shape)
                )
            )

    Prim.reduce prim axes x

let count (axes: int[]) (x: Tensor) =
    Shape.normalizeAxes "mean" x.Rank axes |> Array.fold (fun acc a -> acc * x.Aval.Shape.[a]) 1

let mean (axes: int[]) (x: Tensor) =
    Prim.sumAxes axes (Prim.convert Float64 x) / float (count axes x)

/// Population variance (NumPy's default ddof = 0).
let var (axes: int[]) (x: Tensor) =
    let x = Prim.convert Float64 x
    let centred = x - keepDims axes x (mean axes x)
    mean axes (centred * centred)

/// log Σ exp x over axes, shifted by the (constant) maximum so nothing overflows at ±1000.
/// A non-finite maximum (all −inf, or +inf) is not subtracted.
let logSumExpKeepDims (axes: int[]) (x: Tensor) =
    let x = Prim.convert Float64 x
    let m = Prim.stopGradient (keepDims axes x (extreme reduceMaxP axes x))
    let finite = Prim.compare ltP (Tensor.Abs m) (Prim.scalar infinity)
    let shift = Prim.where finite m (Prim.scalar 0.0)
    shift + Tensor.Log(Prim.sumAxes axes (Tensor.Exp(x - shift)) |> keepDims axes x)

let logSumExp (axes: int[]) (x: Tensor) =
    let axes = Shape.normalizeAxes "logSumExp" x.Rank axes
    let kept = Array.init x.Rank (fun k -> if Array.contains k axes then 1 else x.Aval.Shape.[k])
    let shape = [| for k in 0 .. x.Rank - 1 do if not (Array.contains k axes) then kept.[k] |]
    Prim.reshape shape (logSumExpKeepDims axes x)

/// argmax / argmin of the flattened tensor (NumPy without an axis).
let argFlat (prim: Primitive) (x: Tensor) =
    if x.Size = 0 then
        raise (ShapeException(sprintf "%s: the tensor is empty (shape %s)." prim.Name (Shape.show x.Aval.Shape)))

    Prim.argExtreme prim 0 (Prim.reshape [| x.Size |] x)

/// Cumulative sum of the flattened tensor (NumPy's cumsum without an axis).
let cumsumFlat (x: Tensor) = Prim.cumsum 0 false (Prim.reshape [| x.Size |] x)
