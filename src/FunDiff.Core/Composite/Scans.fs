/// Cumulative products, maxima and minima along an axis: inclusive scans in log₂ n steps
/// (Hillis–Steele: at step k, element i combines with element i − k), each a slice, a
/// concatenation and one elementwise multiply or max/min. Built on primitives, so every
/// derivative is exact: the product's at zeros too (no division by the input, unlike
/// y / x), to any order; the max's goes to the position of the running maximum (ties split
/// equally, as max's do).
module internal FunDiff.Composite.Scans

open FunDiff
open FunDiff.Primitives

/// The inclusive scan of `combine` along `axis` (normalized), an associative operation.
let private scan (combine: Tensor -> Tensor -> Tensor) (axis: int) (x: Tensor) =
    let n = x.Aval.Shape.[axis]
    let mutable p = x
    let mutable k = 1

    while k < n do
        let head = Prim.sliceAxis axis 0 k p
        let tail = combine (Prim.sliceAxis axis k n p) (Prim.sliceAxis axis 0 (n - k) p)
        p <- Prim.concatenate axis [| head; tail |]
        k <- k * 2

    p

/// Bools scan as int64 (NumPy's cumprod of bools counts in integers).
let private numeric (x: Tensor) =
    if x.DType = Bool then Prim.convert Int64 x else x

/// The cumulative product along an axis.
let cumprod (op: string) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis op x.Rank axis
    scan (fun a b -> a * b) axis (numeric x)

/// The running maximum along an axis (NumPy's maximum.accumulate; NaN propagates onward).
let cummax (op: string) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis op x.Rank axis
    scan (Prim.arithmetic maxP) axis (numeric x)

/// The running minimum along an axis (NumPy's minimum.accumulate).
let cummin (op: string) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis op x.Rank axis
    scan (Prim.arithmetic minP) axis (numeric x)

/// A scan of the flattened tensor (NumPy's cumprod without an axis).
let flat (scanAlong: string -> int -> Tensor -> Tensor) (op: string) (x: Tensor) =
    scanAlong op 0 (Prim.reshape [| x.Size |] x)
