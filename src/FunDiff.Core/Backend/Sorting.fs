/// Sorting kernels: a stable argsort along an axis (NaN last, as NumPy sorts), and binary
/// search into a sorted vector (NumPy's searchsorted).
module internal FunDiff.Backend.Sorting

open System
open FunDiff

/// Whether element a (at index ia) comes before b (at ib): ascending or descending by value,
/// NaN after every number in both orders, ties by index (so the sort is stable).
let inline private before (descending: bool) (a: float) (ia: int) (b: float) (ib: int) =
    let an, bn = Double.IsNaN a, Double.IsNaN b

    if an || bn then
        if an && bn then ia - ib
        else if an then 1
        else -1
    elif a = b then
        ia - ib
    elif (a < b) <> descending then
        -1
    else
        1

/// The permutation that sorts each lane of `x` along `axis` (int64, the shape of `x`):
/// `x` at those indices is sorted ascending (or descending), stably, NaN last.
let argsort (axis: int) (descending: bool) (x: NDArray) =
    let rank = x.Shape.Length
    let n = x.Shape.[axis]
    let inner = Array.fold (*) 1 x.Shape.[axis + 1 ..]
    let outer = if n * inner = 0 then 0 else x.Size / (n * inner)
    let out = NDArray.alloc x.Size
    let lane = Array.zeroCreate<int> n
    let values = Array.zeroCreate<float> n

    let comparison =
        Comparison<int>(fun i j -> before descending values.[i] i values.[j] j)

    for o in 0 .. outer - 1 do
        for c in 0 .. inner - 1 do
            let start = o * n * inner + c

            for k in 0 .. n - 1 do
                lane.[k] <- k
                values.[k] <- x.At(start + k * inner)

            Array.Sort(lane, comparison)

            for k in 0 .. n - 1 do
                out.[start + k * inner] <- float lane.[k]

    ignore rank
    NDArray(Aval(x.Shape, Int64), out)

/// For each element of `v`, the index in the sorted vector `a` where it would be inserted to
/// keep `a` sorted: the first index whose element is ≥ v (`right`: > v); NaN goes to the end
/// (NaN sorts last).
let searchsorted (right: bool) (a: NDArray) (v: NDArray) =
    let n = a.Size
    let out = NDArray.alloc v.Size

    for k in 0 .. v.Size - 1 do
        let value = v.At k
        let mutable lo = 0
        let mutable hi = n

        while lo < hi do
            let mid = (lo + hi) >>> 1
            let m = a.At mid
            // does `value` go after a[mid]? (a NaN in `a` sorts last: everything goes before it)
            let after =
                if Double.IsNaN value then not (Double.IsNaN m) || right
                elif Double.IsNaN m then false
                elif right then m <= value
                else m < value

            if after then lo <- mid + 1 else hi <- mid

        out.[k] <- float lo

    NDArray(Aval(v.Shape, Int64), out)
