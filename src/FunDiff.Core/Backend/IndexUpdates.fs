/// The kernel behind functional index updates (`Tensor.atSet`): which update, if any, writes
/// each position.
module internal FunDiff.Backend.IndexUpdates

open FunDiff

/// For each row of `indices` (its last axis holds one row's k indices into an axis of `size`
/// positions; negative ones count from the end), the position of the `occurrence`-th update
/// (from 0, in order; -1: the last) that writes each of the `size` positions, or -1 where
/// there is no such update: int64 of shape rows ++ [size]. An index out of range raises,
/// naming `op`.
let nthWriter (op: string) (size: int) (occurrence: int) (indices: NDArray) =
    let shape = indices.Shape
    let k = if shape.Length = 0 then 1 else shape.[shape.Length - 1]
    let rows = if k = 0 then 0 else indices.Size / k

    let rowShape =
        if shape.Length = 0 then
            [||]
        else
            shape.[.. shape.Length - 2]

    let out = NDArray.alloc (max 0 (rows * size))
    System.Array.Fill(out, -1.0)
    // how many updates of the current row have written each position so far
    let seen = Array.zeroCreate<int> size

    for r in 0 .. rows - 1 do
        System.Array.Clear seen

        for j in 0 .. k - 1 do
            let v = indices.At(r * k + j)
            let p = if v < 0.0 then v + float size else v

            if not (p >= 0.0 && p < float size) || p <> System.Math.Floor p then
                raise (
                    ShapeException(
                        sprintf
                            "%s: index %g is out of range for an axis of %d elements (valid: -%d to %d). Check the indices, or clip them with Tensor.clip."
                            op
                            v
                            size
                            size
                            (size - 1)
                    )
                )

            let at = int p

            if occurrence < 0 || seen.[at] = occurrence then
                out.[r * size + at] <- float j

            seen.[at] <- seen.[at] + 1

    NDArray(Aval(Array.append rowShape [| size |], Int64), out)

/// The position of the last update that writes each position, or -1 (`nthWriter` with -1).
let lastWriter (op: string) (size: int) (indices: NDArray) = nthWriter op size -1 indices
