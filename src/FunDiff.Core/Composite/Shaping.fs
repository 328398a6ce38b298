/// squeeze, split and take.
module internal FunDiff.Composite.Shaping

open FunDiff

/// Removes every axis of size 1.
let squeeze (x: Tensor) = Prim.reshape (x.Aval.Shape |> Array.filter ((<>) 1)) x

/// Removes one axis, which must have size 1.
let squeezeAxis (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis "squeeze" x.Rank axis

    if x.Aval.Shape.[axis] <> 1 then
        raise (
            ShapeException(sprintf "squeeze: axis %d has size %d, not 1 (shape %s)." axis x.Aval.Shape.[axis] (Shape.show x.Aval.Shape))
        )

    Prim.reshape (Array.removeAt axis x.Aval.Shape) x

/// Splits into `sections` equal parts along an axis (NumPy's split with a number).
let split (sections: int) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis "split" x.Rank axis
    let n = x.Aval.Shape.[axis]

    if sections <= 0 || n % sections <> 0 then
        raise (
            ShapeException(
                sprintf "split: axis %d of size %d cannot be split into %d equal sections." axis n sections
            )
        )

    let size = n / sections
    List.init sections (fun i -> Prim.sliceAxis axis (i * size) ((i + 1) * size) x)

/// The elements of the flattened tensor at int64 `indices` (NumPy's take without an axis).
let take (indices: Tensor) (x: Tensor) = Prim.gather 0 (Prim.reshape [| x.Size |] x) indices
