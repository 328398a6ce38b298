/// The window kernels behind convolution and pooling: `patches` copies every window of the
/// trailing (spatial) axes out into its own axes (im2col), and `patchesTranspose` adds such
/// windows back into place (col2im), its linear transpose.
module internal FunDiff.Backend.Windows

open System
open FunDiff

/// The geometry of the windows over the r trailing axes of an array: per spatial axis, the
/// input size, window size, stride, padding before and dilation (the padding after only
/// fixes how many windows there are, `Out`).
[<Struct>]
type Geometry =
    {
        Spatial: int[]
        Window: int[]
        Strides: int[]
        Low: int[]
        Dilation: int[]
        Out: int[]
    }

/// How many windows fit along one axis: (size + low + high − dilated window) / stride + 1,
/// or 0 when the dilated window is larger than the padded axis.
let windowCount (size: int) (window: int) (stride: int) (low: int) (high: int) (dilation: int) =
    let span = low + size + high - (dilation * (window - 1) + 1)
    if span < 0 then 0 else span / stride + 1

let geometry (spatial: int[]) (window: int[]) (strides: int[]) (low: int[]) (high: int[]) (dilation: int[]) =
    {
        Spatial = spatial
        Window = window
        Strides = strides
        Low = low
        Dilation = dilation
        Out =
            Array.init spatial.Length (fun a ->
                windowCount spatial.[a] window.[a] strides.[a] low.[a] high.[a] dilation.[a])
    }

/// The geometry with spatial axes prepended so there are three (size 1, window 1): one
/// three-deep loop then serves 1-, 2- and 3-d windows.
let private asThreeD (g: Geometry) =
    let fill (value: int) (xs: int[]) =
        Array.append (Array.create (3 - xs.Length) value) xs

    {
        Spatial = fill 1 g.Spatial
        Window = fill 1 g.Window
        Strides = fill 1 g.Strides
        Low = fill 0 g.Low
        Dilation = fill 1 g.Dilation
        Out = fill 1 g.Out
    }

/// Per axis, the input coordinate read by window offset k at output position o
/// (table[k * out + o]), or −1 where that falls in the padding.
let private coordinates (g: Geometry) (axis: int) =
    let out, window = g.Out.[axis], g.Window.[axis]

    Array.init (window * out) (fun i ->
        let k, o = i / out, i % out
        let c = o * g.Strides.[axis] - g.Low.[axis] + k * g.Dilation.[axis]
        if c >= 0 && c < g.Spatial.[axis] then c else -1)

/// Visits every (input row, output row) pair of the windows: `row lead kFlat oRow inRow`
/// for each leading index, window offset and output row (the output positions of the last
/// axis are the row), where inRow is the input row's start or −1 when that row is padding.
/// The last axis's coordinates come with it, for the caller's inner loop.
let inline private forEachRow (g: Geometry) (leading: int) ([<InlineIfLambda>] row: int -> int -> int -> int -> unit) =
    let g3 = asThreeD g
    let c0, c1 = coordinates g3 0, coordinates g3 1
    let s1, s2 = g3.Spatial.[1], g3.Spatial.[2]
    let o0, o1, o2 = g3.Out.[0], g3.Out.[1], g3.Out.[2]
    let k0, k1, k2 = g3.Window.[0], g3.Window.[1], g3.Window.[2]
    let spatialSize = g3.Spatial.[0] * s1 * s2

    for lead in 0 .. leading - 1 do
        let inBase = lead * spatialSize

        for a in 0 .. k0 - 1 do
            for b in 0 .. k1 - 1 do
                for c in 0 .. k2 - 1 do
                    let kFlat = (a * k1 + b) * k2 + c

                    for p in 0 .. o0 - 1 do
                        let i0 = c0.[a * o0 + p]

                        for q in 0 .. o1 - 1 do
                            let i1 = c1.[b * o1 + q]
                            let oRow = p * o1 + q

                            let inRow =
                                if i0 < 0 || i1 < 0 then
                                    -1
                                else
                                    inBase + (i0 * s1 + i1) * s2

                            row lead kFlat (oRow * o2) inRow

let private checkRank (op: string) (x: NDArray) (r: int) (axes: int) =
    if r < 1 || r > 3 || x.Shape.Length < axes then
        raise (
            ShapeException(
                sprintf
                    "%s: windows over %d trailing axes of shape %s; 1 to 3 spatial axes are supported."
                    op
                    r
                    (Shape.show x.Shape)
            )
        )

/// Along the last axis, for each window offset k: the first output position whose input
/// coordinate is inside the axis, how many are (consecutive), and that first coordinate.
let private validRuns (g3: Geometry) =
    let size, out, stride = g3.Spatial.[2], g3.Out.[2], g3.Strides.[2]
    let low, dilation = g3.Low.[2], g3.Dilation.[2]

    Array.init g3.Window.[2] (fun k ->
        // c(o) = o·stride − low + k·dilation must be in [0, size)
        let shift = k * dilation - low

        let first =
            Operators.min out (if shift >= 0 then 0 else (-shift + stride - 1) / stride)

        let last =
            Operators.min
                (out - 1)
                (if size - 1 - shift < 0 then
                     -1
                 else
                     (size - 1 - shift) / stride)

        let count = Operators.max 0 (last - first + 1)
        struct (first, count, first * stride + shift))

/// im2col: x of shape lead ++ spatial to lead ++ window ++ out, where
/// y[l, k, o] = x[l, o·stride − low + k·dilation] (0 in the padding), per spatial axis.
let patches (g: Geometry) (x: NDArray) =
    let r = g.Spatial.Length
    checkRank "patches" x r r
    let lead = x.Shape.[.. x.Shape.Length - r - 1]
    let leading = Shape.size lead
    let windowSize, outSize = Shape.size g.Window, Shape.size g.Out
    let g3 = asThreeD g
    let runs = validRuns g3
    let o2, k2, stride = g3.Out.[2], g3.Window.[2], g3.Strides.[2]
    let out = NDArray.alloc (leading * windowSize * outSize)
    let src, offset = x.Buffer, x.Offset

    forEachRow g leading (fun lead kFlat oStart inRow ->
        let dst = (lead * windowSize + kFlat) * outSize + oStart

        if inRow < 0 then
            Array.Clear(out, dst, o2)
        else
            let struct (first, count, c) = runs.[kFlat % k2]
            Array.Clear(out, dst, first)
            Array.Clear(out, dst + first + count, o2 - first - count)
            let from = offset + inRow + c

            if count = 0 then
                ()
            elif stride = 1 then
                Array.Copy(src, from, out, dst + first, count)
            else
                for i in 0 .. count - 1 do
                    out.[dst + first + i] <- src.[from + i * stride])

    GC.KeepAlive x
    NDArray(Aval(Array.concat [ lead; g.Window; g.Out ], x.DType), out)

/// col2im, the transpose of `patches`: windows of shape lead ++ window ++ out added back into
/// an array of shape lead ++ spatial (what falls in the padding is dropped).
let patchesTranspose (g: Geometry) (windows: NDArray) =
    let r = g.Spatial.Length
    checkRank "patches_transpose" windows r (2 * r)
    let lead = windows.Shape.[.. windows.Shape.Length - 2 * r - 1]
    let leading = Shape.size lead
    let windowSize, outSize = Shape.size g.Window, Shape.size g.Out
    let spatialSize = Shape.size g.Spatial
    let g3 = asThreeD g
    let runs = validRuns g3
    let k2, stride = g3.Window.[2], g3.Strides.[2]
    let out = NDArray.alloc (leading * spatialSize)
    Array.Clear(out, 0, leading * spatialSize)
    let src, offset = windows.Buffer, windows.Offset

    forEachRow g leading (fun lead kFlat oStart inRow ->
        if inRow >= 0 then
            let struct (first, count, c) = runs.[kFlat % k2]
            let from = offset + (lead * windowSize + kFlat) * outSize + oStart + first
            let into = inRow + c

            if count = 0 then
                ()
            elif stride = 1 then
                let target = Span<float>(out, into, count)
                System.Numerics.Tensors.TensorPrimitives.Add(ReadOnlySpan<float>(src, from, count), target, target)
            else
                for i in 0 .. count - 1 do
                    out.[into + i * stride] <- out.[into + i * stride] + src.[from + i])

    GC.KeepAlive windows
    NDArray(Aval(Array.append lead g.Spatial, windows.DType), out)
