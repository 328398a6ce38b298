/// NumPy's rearranging ops of issue 16 (flip, roll, tile, repeat, meshgrid, diff): composites
/// of gather, slice, concatenate, broadcast_in_dim and reshape, so each is linear, and
/// differentiable, batched and jitted through those primitives' rules.
module internal FunDiff.Composite.Arrange

open FunDiff
open FunDiff.Backend

let private fail (fmt: Printf.StringFormat<'a, 'b>) =
    Printf.ksprintf (fun message -> raise (ShapeException message)) fmt

/// Reverses the order of the elements along each of `axes` (a gather of n−1 .. 0: one pass,
/// where n slices and a concatenation would be n).
let flip (op: string) (axes: int[]) (x: Tensor) =
    let axes = Shape.normalizeAxes op x.Rank axes
    let mutable y = x

    for a in axes do
        let n = x.Aval.Shape.[a]

        if n > 1 then
            let reversed =
                NDArray.ofData [| n |] Int64 (Array.init n (fun i -> float (n - 1 - i)))

            y <- Prim.gather a y (Prim.ofArray reversed)

    y

/// Shifts the elements along `axis` by `shift` places toward the end, those pushed past the end
/// coming back at the start (NumPy's roll; a negative shift goes the other way).
let roll (op: string) (shift: int) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis op x.Rank axis
    let n = x.Aval.Shape.[axis]

    if n = 0 then
        x
    else
        let s = ((shift % n) + n) % n

        if s = 0 then
            x
        else
            Prim.concatenate axis [| Prim.sliceAxis axis (n - s) n x; Prim.sliceAxis axis 0 (n - s) x |]

/// Raises, naming `op`, when one of the counts `name` is negative.
let private checkCounts (op: string) (name: string) (rule: string) (counts: int[]) =
    for k in 0 .. counts.Length - 1 do
        if counts.[k] < 0 then
            fail "%s: %s %s has a negative count (%d at position %d); %s." op name (Shape.show counts) counts.[k] k rule

/// NumPy's tile: `reps.[k]` copies along each axis; the shorter of the shape and `reps` is
/// padded with leading 1s. One broadcast to the interleaved shape (r0, s0, r1, s1, ...) and a
/// reshape.
let tile (op: string) (reps: int[]) (x: Tensor) =
    checkCounts op "reps" "each count must be 0 or more" reps

    let d = max reps.Length x.Rank
    let shape = Array.append (Array.create (d - x.Rank) 1) x.Aval.Shape
    let reps = Array.append (Array.create (d - reps.Length) 1) reps
    let result = Array.map2 (*) shape reps
    Shape.checkDimensions op result

    let interleaved =
        Array.init (2 * d) (fun i -> if i % 2 = 0 then reps.[i / 2] else shape.[i / 2])

    let y = Prim.reshape shape x
    Prim.reshape result (Prim.broadcastInDim interleaved (Array.init d (fun k -> 2 * k + 1)) y)

/// NumPy's repeat with one count: each element `repeats` times in a row along `axis`.
let repeat (op: string) (repeats: int) (axis: int) (x: Tensor) =
    if repeats < 0 then
        fail "%s: repeats = %d is negative; each element is repeated 0 or more times." op repeats

    let axis = Shape.normalizeAxis op x.Rank axis
    let shape = x.Aval.Shape
    let expanded = Array.insertAt (axis + 1) repeats shape
    let result = Array.updateAt axis (shape.[axis] * repeats) shape
    Shape.checkDimensions op result
    let dims = Array.init x.Rank (fun k -> if k <= axis then k else k + 1)
    Prim.reshape result (Prim.broadcastInDim expanded dims x)

/// NumPy's repeat with one count per element: element i along `axis` `counts.[i]` times in a
/// row (np.repeat(x, [1, 0, 3], axis)). One gather of the index vector [0 ×c₀, 1 ×c₁, ...], so
/// linear: the gradient of element i is the sum of the cotangents of its cᵢ copies.
let repeatEach (op: string) (counts: int[]) (axis: int) (x: Tensor) =
    let axis = Shape.normalizeAxis op x.Rank axis
    let shape = x.Aval.Shape
    let n = shape.[axis]

    if counts.Length <> n then
        fail
            "%s: %d counts for axis %d of size %d (x of shape %s); give one count per element along the axis, or one count for every element with Tensor.repeat."
            op
            counts.Length
            axis
            n
            (Shape.show shape)

    checkCounts op "counts" "each element is repeated 0 or more times" counts

    let total = Array.fold (fun acc c -> acc + int64 c) 0L counts

    if total > int64 System.Int32.MaxValue then
        fail "%s: the counts %s add up to %d, more elements than an axis can hold." op (Shape.show counts) total

    let index =
        [|
            for i in 0 .. n - 1 do
                for _ in 1 .. counts.[i] do
                    float i
        |]

    Shape.checkDimensions op (Array.updateAt axis index.Length shape)
    Prim.gather axis x (Prim.ofArray (NDArray.ofData [| index.Length |] Int64 index))

/// NumPy's meshgrid: tensor i holds input i (flattened) along its own axis of the grid. With
/// `xy` (Cartesian, NumPy's default) the first two inputs take axes 1 and 0; with `ij`
/// (matrix) input i takes axis i.
let meshgrid (xy: bool) (xs: Tensor[]) =
    let xs = xs |> Array.map (fun x -> Prim.reshape [| x.Size |] x)
    let k = xs.Length

    let axisOf (i: int) =
        if xy && k >= 2 && i < 2 then 1 - i else i

    let shape = Array.zeroCreate k

    for i in 0 .. k - 1 do
        shape.[axisOf i] <- xs.[i].Size

    Shape.checkDimensions (if xy then "meshgrid" else "meshgridIJ") shape

    xs
    |> Array.mapi (fun i x -> Prim.broadcastInDim shape [| axisOf i |] x)
    |> List.ofArray

/// NumPy's diff: the n-th forward difference along `axis` (x[1:] − x[:-1], n times); the axis
/// shrinks by n (to 0 if n is at least its size). Of a bool tensor, as NumPy's, the
/// difference is x[1:] ≠ x[:-1] (exclusive or), and the result is bool.
let diff (op: string) (n: int) (axis: int) (x: Tensor) =
    if n < 0 then
        fail "%s: the order n = %d must be 0 or more (n = 0 returns the input)." op n

    let axis = Shape.normalizeAxis op x.Rank axis
    let mutable y = x

    for _ in 1..n do
        let m = y.Aval.Shape.[axis]

        if m > 0 then
            let later, earlier = Prim.sliceAxis axis 1 m y, Prim.sliceAxis axis 0 (m - 1) y

            y <-
                if y.DType = Bool then
                    Prim.compare Primitives.Logical.neP later earlier
                else
                    later - earlier

    y
