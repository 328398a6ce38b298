/// The kernel behind functional index updates (`Tensor.atSet`): which update, if any, writes
/// each position.
module internal FunDiff.Backend.IndexUpdates

open FunDiff

/// For each row of `indices` (its last axis holds one row's k indices into an axis of `size`
/// positions; negative ones count from the end), the position of the last update that writes
/// each of the `size` positions, or -1 where none does: int64 of shape rows ++ [size]. An
/// index out of range raises, naming `op`.
let lastWriter (op: string) (size: int) (indices: NDArray) =
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

    for r in 0 .. rows - 1 do
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

            out.[r * size + int p] <- float j

    NDArray(Aval(Array.append rowShape [| size |], Int64), out)
