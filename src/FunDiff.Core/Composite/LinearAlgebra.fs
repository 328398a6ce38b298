/// dot, matmul, outer, diag and trace, all through dot_general (NumPy semantics).
module internal FunDiff.Composite.LinearAlgebra

open FunDiff

let private none: int[] = [||]

/// NumPy's dot: inner product of vectors; matrix product; for N-d · M-d the sum product over
/// the last axis of x and the second-to-last of y; a scalar operand multiplies.
let dot (x: Tensor) (y: Tensor) =
    if x.Rank = 0 || y.Rank = 0 then
        x * y
    else
        let yAxis = if y.Rank = 1 then 0 else y.Rank - 2
        let n, m = x.Aval.Shape.[x.Rank - 1], y.Aval.Shape.[yAxis]

        if n <> m then
            raise (
                ShapeException(
                    sprintf
                        "dot: shapes %s and %s are not aligned: the last axis of the first has size %d but %s of the second has size %d. Make them equal, e.g. by transposing one operand (Tensor.transpose)."
                        (Shape.show x.Aval.Shape)
                        (Shape.show y.Aval.Shape)
                        n
                        (if y.Rank = 1 then "the axis" else "the second-to-last axis")
                        m
                )
            )

        Prim.dotGeneral [| x.Rank - 1 |] [| yAxis |] none none x y

/// NumPy's matmul: the last two axes are matrices, earlier axes are batch axes that broadcast;
/// a 1-d operand is a vector (its axis is removed from the result).
let matmul (x: Tensor) (y: Tensor) =
    if x.Rank = 0 || y.Rank = 0 then
        raise (
            ShapeException(
                sprintf
                    "matmul: scalars are not allowed (shapes %s and %s); use *."
                    (Shape.show x.Aval.Shape)
                    (Shape.show y.Aval.Shape)
            )
        )

    let x2 = if x.Rank = 1 then Prim.reshape [| 1; x.Size |] x else x
    let y2 = if y.Rank = 1 then Prim.reshape [| y.Size; 1 |] y else y
    let xs, ys = x2.Aval.Shape, y2.Aval.Shape
    let k, k2 = xs.[xs.Length - 1], ys.[ys.Length - 2]

    if k <> k2 then
        raise (
            ShapeException(
                sprintf
                    "matmul: shapes %s and %s do not match (%d columns vs %d rows). Transpose one of them, e.g. with Tensor.transpose."
                    (Shape.show x.Aval.Shape)
                    (Shape.show y.Aval.Shape)
                    k
                    k2
            )
        )

    let xBatch, yBatch = xs.[.. xs.Length - 3], ys.[.. ys.Length - 3]

    if not (Shape.broadcasts xBatch yBatch) then
        raise (
            ShapeException(
                sprintf
                    "matmul: the batch axes of shapes %s and %s (all but the last two) cannot broadcast: %s and %s. Make them equal or 1, e.g. with Tensor.reshape or Tensor.broadcastTo."
                    (Shape.show x.Aval.Shape)
                    (Shape.show y.Aval.Shape)
                    (Shape.show xBatch)
                    (Shape.show yBatch)
            )
        )

    let batch = Shape.broadcast "matmul" xBatch yBatch
    let nb = batch.Length
    let xb = Prim.broadcastTo (Array.append batch xs.[xs.Length - 2 ..]) x2
    let yb = Prim.broadcastTo (Array.append batch ys.[ys.Length - 2 ..]) y2
    let batchAxes = Array.init nb id
    let product = Prim.dotGeneral [| nb + 1 |] [| nb |] batchAxes batchAxes xb yb
    // drop the axes that stood for the vectors
    let shape = product.Aval.Shape
    let shape = if y.Rank = 1 then shape.[.. shape.Length - 2] else shape

    let shape =
        if x.Rank = 1 then
            Array.removeAt (shape.Length - (if y.Rank = 1 then 1 else 2)) shape
        else
            shape

    Prim.reshape shape product

/// The outer product of the flattened operands: shape [x.size; y.size].
let outer (x: Tensor) (y: Tensor) =
    Prim.dotGeneral none none none none (Prim.reshape [| x.Size |] x) (Prim.reshape [| y.Size |] y)

/// NumPy's diag: a vector becomes a diagonal matrix; a matrix gives its diagonal.
let diag (x: Tensor) =
    match x.Rank with
    | 1 ->
        let n = x.Size
        Tensor.Eye n * Prim.broadcastTo [| n; n |] (Prim.convert Float64 x)
    | 2 ->
        let rows, cols = x.Aval.Shape.[0], x.Aval.Shape.[1]
        let n = min rows cols
        let flatIndices = Prim.convert DType.Int64 (Tensor.Arange n * float (cols + 1))
        Prim.gather 0 (Prim.reshape [| rows * cols |] x) flatIndices
    | r ->
        raise (
            ShapeException(
                sprintf
                    "diag: needs a 1-d tensor (to build a diagonal matrix) or a 2-d one (to read its diagonal), got rank %d (shape %s). Reshape it first, e.g. Tensor.reshape [| -1 |]."
                    r
                    (Shape.show x.Aval.Shape)
            )
        )

/// The sum of the diagonal of a matrix.
let trace (x: Tensor) =
    if x.Rank <> 2 then
        raise (
            ShapeException(
                sprintf
                    "trace: needs a 2-d tensor (a matrix), got shape %s (rank %d). Reshape it to a matrix first, e.g. Tensor.reshape [| n; n |]."
                    (Shape.show x.Aval.Shape)
                    x.Rank
            )
        )

    Prim.sum (diag x)
