/// NumPy's pad in the modes constant, edge and reflect, on any axes: composites of the zero
/// `pad` primitive (constant 0, which jit fuses), concatenate, slice, broadcast and gather, so
/// linear in the operand and differentiable, batched and jitted through those primitives.
module internal FunDiff.Composite.Padding

open FunDiff
open FunDiff.Backend

let private fail (fmt: Printf.StringFormat<'a, 'b>) =
    Printf.ksprintf (fun message -> raise (ShapeException message)) fmt

/// The (before, after) widths per axis: one pair per axis, or one pair for every axis (NumPy's
/// broadcasting of pad_width); checked non-negative.
let private widthsFor (op: string) (widths: struct (int * int)[]) (x: Tensor) =
    let widths =
        if widths.Length = 1 && x.Rank <> 1 then
            Array.create x.Rank widths.[0]
        else
            widths

    if widths.Length <> x.Rank then
        fail
            "%s: %d (before, after) width pairs for a tensor of shape %s (rank %d); give one pair per axis, or one pair for every axis."
            op
            widths.Length
            (Shape.show x.Aval.Shape)
            x.Rank

    for k in 0 .. widths.Length - 1 do
        let struct (lo, hi) = widths.[k]

        if lo < 0 || hi < 0 then
            fail "%s: widths (%d, %d) of axis %d are negative; a pad adds 0 or more elements (slice to cut)." op lo hi k

    let shape =
        Array.init x.Rank (fun k -> let struct (lo, hi) = widths.[k] in lo + x.Aval.Shape.[k] + hi)

    Shape.checkDimensions op shape
    widths

/// A block of `x`'s shape with `size` along `axis`, every element `value` (in x's dtype).
let private block (x: Tensor) (axis: int) (size: int) (value: float) =
    let shape = Array.updateAt axis size x.Aval.Shape
    Prim.convert x.DType (Prim.ofArray (NDArray.uniform (Aval(shape, Float64)) value))

/// `value` around `x`: the zero pad primitive for 0 (one fusible application), else blocks of
/// the value concatenated (exact: no arithmetic on x's elements).
let constant (op: string) (widths: struct (int * int)[]) (value: float) (x: Tensor) =
    let widths = widthsFor op widths x

    if value = 0.0 && not (System.Double.IsNegative value) then
        Prim.pad (widths |> Array.map (fun struct (lo, _) -> lo)) (widths |> Array.map (fun struct (_, hi) -> hi)) x
    else
        let mutable y = x

        for axis in 0 .. x.Rank - 1 do
            let struct (lo, hi) = widths.[axis]

            if lo > 0 || hi > 0 then
                y <- Prim.concatenate axis [| block y axis lo value; y; block y axis hi value |]

        y

/// The slice of `x` at index `i` of `axis`, repeated `count` times along it.
let private repeatedAt (axis: int) (i: int) (count: int) (x: Tensor) =
    let edge = Prim.sliceAxis axis i (i + 1) x
    Prim.broadcastInDim (Array.updateAt axis count x.Aval.Shape) (Array.init x.Rank id) edge

/// An axis of size 0 cannot be extended by copying its elements (NumPy raises too).
let private checkNonEmpty (op: string) (mode: string) (axis: int) (x: Tensor) =
    if x.Aval.Shape.[axis] = 0 then
        fail
            "%s: axis %d of shape %s is empty, so the %s mode has no element to copy; pad it with a constant instead."
            op
            axis
            (Shape.show x.Aval.Shape)
            mode

/// The edge values repeated outward (NumPy's mode 'edge').
let edge (op: string) (widths: struct (int * int)[]) (x: Tensor) =
    let widths = widthsFor op widths x
    let mutable y = x

    for axis in 0 .. x.Rank - 1 do
        let struct (lo, hi) = widths.[axis]

        if lo > 0 || hi > 0 then
            checkNonEmpty op "edge" axis y
            let n = y.Aval.Shape.[axis]
            y <- Prim.concatenate axis [| repeatedAt axis 0 lo y; y; repeatedAt axis (n - 1) hi y |]

    y

/// The values mirrored about the edges, the edge itself not repeated (NumPy's mode 'reflect':
/// [1, 2, 3] padded by 2 gives [3, 2, 1, 2, 3, 2, 1]). A width past n − 1 reflects again, as
/// NumPy does: the padded axis is the original repeated with period 2(n − 1), mirrored, so
/// each axis is one gather of the indices that pattern gives (exact and linear). An axis of
/// size 1 repeats its element (NumPy's legacy rule).
let reflect (op: string) (widths: struct (int * int)[]) (x: Tensor) =
    let widths = widthsFor op widths x
    let mutable y = x

    for axis in 0 .. x.Rank - 1 do
        let struct (lo, hi) = widths.[axis]

        if lo > 0 || hi > 0 then
            checkNonEmpty op "reflect" axis y
            let n = y.Aval.Shape.[axis]
            let period = 2 * (n - 1)

            let source (p: int) =
                if n = 1 then
                    0
                else
                    let m = (((p - lo) % period) + period) % period
                    if m <= n - 1 then m else period - m

            let indices = Array.init (lo + n + hi) (fun p -> float (source p))
            y <- Prim.gather axis y (Prim.ofArray (NDArray.ofData [| indices.Length |] Int64 indices))

    y
