/// squeeze, split, take (its index checks are Prim.checkIndices, shared with C#'s x.Take), integer-array indexing of the leading axes (indexArrays) and the check of oneHot's labels.
module internal FunDiff.Composite.Shaping

open System
open FunDiff
open FunDiff.Backend

/// Removes every axis of size 1.
let squeeze (x: Tensor) =
    Prim.reshape (x.Aval.Shape |> Array.filter ((<>) 1)) x

/// Removes one axis, which must have size 1.
let squeezeAxis (op: string) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis op x.Rank axis

    if x.Aval.Shape.[axis] <> 1 then
        raise (
            ShapeException(
                sprintf
                    "%s: axis %d has size %d, not 1 (shape %s); only an axis of size 1 can be removed. Use Tensor.squeeze to remove every axis of size 1, or reduce the axis (e.g. Tensor.sumAxes)."
                    op
                    axis
                    x.Aval.Shape.[axis]
                    (Shape.show x.Aval.Shape)
            )
        )

    Prim.reshape (Array.removeAt axis x.Aval.Shape) x

/// Splits into `sections` equal parts along an axis (NumPy's split with a number).
let split (op: string) (sections: int) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis op x.Rank axis
    let n = x.Aval.Shape.[axis]

    if sections <= 0 || n % sections <> 0 then
        let divisors =
            [|
                for d in 1 .. max 1 n do
                    if n % d = 0 then
                        string d
            |]

        raise (
            ShapeException(
                sprintf
                    "%s: axis %d of size %d cannot be split into %d equal sections; the number of sections must be a positive divisor of %d (%s)."
                    op
                    axis
                    n
                    sections
                    n
                    (if n = 0 then
                         "any positive number for an empty axis"
                     else
                         String.concat ", " divisors)
            )
        )

    let size = n / sections
    List.init sections (fun i -> Prim.sliceAxis axis (i * size) ((i + 1) * size) x)

/// The elements of the flattened tensor at `indices` (NumPy's take without an axis).
let take (op: string) (indices: Tensor) (x: Tensor) =
    Guard.notNull op "indices" indices
    Guard.notNull op "x" x

    let where =
        if x.Rank = 1 then
            sprintf "axis 0 of size %d" x.Size
        else
            sprintf "axis 0 of size %d of x flattened from shape %s" x.Size (Shape.show x.Aval.Shape)

    Prim.takeAlong op where 0 (Prim.reshape [| x.Size |] x) indices

/// Slices of `x` along `axis` at `indices` (gather).
let takeAxis (op: string) (axis: int) (indices: Tensor) (x: Tensor) =
    Guard.notNull op "indices" indices
    Prim.take op axis x indices

/// NumPy's integer-array indexing of the leading k axes, `x[i₀, i₁, ..., i_(k−1)]`: the k
/// index tensors broadcast to one shape B and the result, of shape B ++ x.shape[k..], holds
/// x[i₀[b], ..., i_(k−1)[b], ...] at b. Lowered to one take: the leading k axes flattened,
/// the flat index Σ iⱼ · strideⱼ gathered along axis 0 (so differentiable in x, batched and
/// jitted as the gather is). Negative indices count from the end. Known indices are checked
/// here, axis by axis; unknown ones (under makeIR, jit, vmap) out of range make the flat index
/// out of range, so the gather kernel raises when the program runs.
let indexArrays (op: string) (indices: Tensor[]) (x: Tensor) =
    let k = indices.Length

    if k = 0 || k > x.Rank then
        raise (
            ShapeException(
                sprintf
                    "%s: %d index tensors for x of shape %s; give one index tensor for each of the leading 1..%d axes (for one axis, Tensor.takeAxis)."
                    op
                    k
                    (Shape.show x.Aval.Shape)
                    x.Rank
            )
        )

    let shape = x.Aval.Shape

    let known =
        Array.init k (fun j ->
            let where =
                sprintf "axis %d of size %d (x of shape %s)" j shape.[j] (Shape.show shape)

            Prim.checkIndices op where shape.[j] indices.[j])
        |> Array.forall id

    let b =
        indices
        |> Array.fold (fun acc (i: Tensor) -> Shape.broadcast op acc i.Aval.Shape) [||]

    let int64Scalar (v: int) =
        Prim.convert Int64 (Prim.scalar (float v))

    let lt (p: Tensor) (q: Tensor) = Prim.compare Primitives.Logical.ltP p q
    // p and q, for bool p and q
    let both (p: Tensor) (q: Tensor) = Prim.where p q p
    let lead = Shape.size shape.[.. k - 1]
    let mutable flat = Prim.broadcastTo b (int64Scalar 0)
    let mutable valid: Tensor voption = ValueNone
    let mutable stride = lead

    for j in 0 .. k - 1 do
        let n = shape.[j]
        stride <- if n = 0 then 0 else stride / n
        let i = Prim.convert Int64 indices.[j]
        let wrapped = Prim.where (lt i (int64Scalar 0)) (i + int64Scalar n) i

        if not known then
            let inRange =
                both (Prim.compare Primitives.Logical.geP wrapped (int64Scalar 0)) (lt wrapped (int64Scalar n))

            valid <-
                ValueSome(
                    match valid with
                    | ValueSome v -> both v inRange
                    | ValueNone -> inRange
                )

        flat <- flat + wrapped * int64Scalar stride

    // unknown indices out of range point past the end, so the gather kernel raises
    let flat =
        match valid with
        | ValueSome v -> Prim.where v flat (int64Scalar lead)
        | ValueNone -> flat

    let rows = Prim.reshape (Array.append [| lead |] shape.[k..]) x
    Prim.gather 0 rows flat

/// Checks oneHot's labels when their values are known: whole numbers in 0..n-1 (a label out of
/// range would give a row of zeros, silently).
let checkLabels (op: string) (n: int) (labels: Tensor) =
    match Prim.knownValues op labels with
    | ValueNone -> ()
    | ValueSome values ->
        // a view's Data is a copy: read the window in place
        let window = values.Span

        for i in 0 .. window.Length - 1 do
            let v = window.[i]

            if Double.IsNaN v || v <> Math.Truncate v || v < 0.0 || v >= float n then
                raise (
                    ShapeException(
                        sprintf
                            "%s: label %s is not a class index for %d classes (valid labels are the whole numbers 0..%d)."
                            op
                            (string v)
                            n
                            (n - 1)
                    )
                )

        GC.KeepAlive values // its raw buffer was read (BufferPool)
