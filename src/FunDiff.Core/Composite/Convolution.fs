// Room: convolution, transposed convolution and pooling (NCW / NCHW / NCDHW), with their
// options: composites of the window primitives (patches ↔ patches_transpose) and dot_general.
namespace FunDiff

open System

/// The padding of a convolution or pooling window, along each spatial axis.
[<RequireQualifiedAccess>]
type ConvPadding =
    /// No padding: only windows that fit inside the input.
    | Valid
    /// Pads so that the output has ⌈size / stride⌉ positions (JAX's 'SAME'; with stride 1 the
    /// output keeps the input's size, PyTorch's 'same'); an odd total puts the extra one after.
    | Same
    /// (before, after) widths per spatial axis; one pair is used for every axis.
    | Explicit of struct (int * int)[]

    /// The same `width` before and after every spatial axis (PyTorch's `padding=width`).
    static member Symmetric(width: int) = Explicit [| struct (width, width) |]

/// Options of `Tensor.convWith` (PyTorch's conv2d arguments): strides, padding, dilation
/// and feature groups. An empty array means 1 on every spatial axis; one entry is used for
/// every axis.
type ConvOptions =
    {
        /// The step between windows, per spatial axis.
        Strides: int[]
        /// Zero padding of the input.
        Padding: ConvPadding
        /// The spacing of the kernel's taps (1: adjacent; 2: every other input element).
        Dilation: int[]
        /// Feature groups: the input channels and output channels split into this many
        /// groups, group g of the output seeing only group g of the input (channels for
        /// depthwise convolution).
        Groups: int
    }

    /// Stride 1, no padding, no dilation, one group.
    static member Default =
        {
            Strides = [||]
            Padding = ConvPadding.Valid
            Dilation = [||]
            Groups = 1
        }

    /// These options with other strides.
    member o.WithStrides([<ParamArray>] strides: int[]) = { o with Strides = strides }
    /// These options with another padding.
    member o.WithPadding(padding: ConvPadding) = { o with Padding = padding }
    /// These options with another dilation.
    member o.WithDilation([<ParamArray>] dilation: int[]) = { o with Dilation = dilation }
    /// These options with another number of groups.
    member o.WithGroups(groups: int) = { o with Groups = groups }

/// Options of `Tensor.convTransposeWith` (PyTorch's conv_transpose2d arguments). The result is
/// the transpose of the convolution with these strides, padding and dilation: its spatial size
/// is (size − 1)·stride − before − after + dilation·(window − 1) + 1 + outputPadding per
/// axis (with Same: size·stride).
type ConvTransposeOptions =
    {
        /// The strides of the convolution this transposes.
        Strides: int[]
        /// The padding of the convolution this transposes (it crops the result).
        Padding: ConvPadding
        /// Extra positions after each spatial axis of the result (each less than the stride):
        /// which of the input sizes a strided convolution maps to the same size is meant.
        OutputPadding: int[]
        /// The dilation of the convolution this transposes.
        Dilation: int[]
        /// Feature groups, as in `ConvOptions`.
        Groups: int
    }

    /// Stride 1, no padding, no output padding, no dilation, one group.
    static member Default =
        {
            Strides = [||]
            Padding = ConvPadding.Valid
            OutputPadding = [||]
            Dilation = [||]
            Groups = 1
        }

    /// These options with other strides.
    member o.WithStrides([<ParamArray>] strides: int[]) = { o with Strides = strides }
    /// These options with another padding.
    member o.WithPadding(padding: ConvPadding) = { o with Padding = padding }

    /// These options with another output padding.
    member o.WithOutputPadding([<ParamArray>] outputPadding: int[]) =
        { o with OutputPadding = outputPadding }

    /// These options with another dilation.
    member o.WithDilation([<ParamArray>] dilation: int[]) = { o with Dilation = dilation }
    /// These options with another number of groups.
    member o.WithGroups(groups: int) = { o with Groups = groups }

/// Options of `Tensor.maxPoolWith` and `Tensor.avgPoolWith`.
type PoolOptions =
    {
        /// The step between windows; empty: the window itself (PyTorch's default).
        Strides: int[]
        /// The padding: −∞ for max pooling, zeros counted in the average for average pooling
        /// (PyTorch's count_include_pad = True).
        Padding: ConvPadding
        /// The spacing of a window's elements (1: adjacent).
        Dilation: int[]
    }

    /// Strides equal to the window, no padding, no dilation.
    static member Default =
        {
            Strides = [||]
            Padding = ConvPadding.Valid
            Dilation = [||]
        }

    /// These options with other strides.
    member o.WithStrides([<ParamArray>] strides: int[]) = { o with Strides = strides }
    /// These options with another padding.
    member o.WithPadding(padding: ConvPadding) = { o with Padding = padding }
    /// These options with another dilation.
    member o.WithDilation([<ParamArray>] dilation: int[]) = { o with Dilation = dilation }

namespace FunDiff.Composite

open FunDiff
open FunDiff.Primitives

/// Convolution as im2col: `patches` copies each window of the input out into its own axes,
/// and one dot_general per group contracts them with the kernel. Every derivative follows
/// from the two linear pieces (patches' transpose adds the windows back, col2im), so the
/// convolution differentiates to any order, batches and jits with no rules of its own.
module internal Convolution =

    let private fail (fmt: Printf.StringFormat<'a, 'b>) =
        Printf.ksprintf (fun message -> raise (ShapeException message)) fmt

    /// An option given per spatial axis: empty → `fallback` everywhere, one entry → that entry
    /// everywhere, r entries → as given.
    let private perAxis (op: string) (name: string) (r: int) (fallback: int[]) (xs: int[]) =
        if isNull xs || xs.Length = 0 then
            fallback
        elif xs.Length = 1 then
            Array.create r xs.[0]
        elif xs.Length = r then
            Array.copy xs
        else
            fail "%s: %d %s %A for %d spatial axes; give one per axis, one for all, or none." op xs.Length name xs r

    let private positive (op: string) (name: string) (xs: int[]) =
        if Array.exists (fun v -> v < 1) xs then
            fail "%s: %s %A must be 1 or more on every axis." op name xs

        xs

    /// Strides (1 by default) and dilations (1 by default), one per spatial axis, checked ≥ 1.
    let private stepsAndDilation (op: string) (r: int) (defaultStrides: int[]) (strides: int[]) (dilation: int[]) =
        perAxis op "strides" r defaultStrides strides |> positive op "strides",
        perAxis op "dilations" r (Array.create r 1) dilation |> positive op "dilation"

    /// The (low, high) padding of each spatial axis for windows `window` (dilated) at
    /// `strides` over `spatial`.
    let private paddingFor
        (op: string)
        (padding: ConvPadding)
        (spatial: int[])
        (window: int[])
        (strides: int[])
        (dilation: int[])
        =
        let r = spatial.Length

        match padding with
        | ConvPadding.Valid -> Array.zeroCreate r, Array.zeroCreate r
        | ConvPadding.Same ->
            let totals =
                Array.init r (fun a ->
                    let out = (spatial.[a] + strides.[a] - 1) / strides.[a]
                    let dilated = dilation.[a] * (window.[a] - 1) + 1
                    Operators.max 0 ((out - 1) * strides.[a] + dilated - spatial.[a]))

            totals |> Array.map (fun t -> t / 2), totals |> Array.map (fun t -> t - t / 2)
        | ConvPadding.Explicit pairs ->
            if isNull pairs then
                fail "%s: the explicit padding is null; give (before, after) pairs." op

            let pairs =
                if pairs.Length = 1 then
                    Array.create r pairs.[0]
                elif pairs.Length = r then
                    pairs
                else
                    fail "%s: %d (before, after) padding pairs for %d spatial axes." op pairs.Length r

            if pairs |> Array.exists (fun struct (lo, hi) -> lo < 0 || hi < 0) then
                fail "%s: padding %A must be non-negative; slice the input to cut it." op pairs

            pairs |> Array.map (fun struct (lo, _) -> lo), pairs |> Array.map (fun struct (_, hi) -> hi)

    /// Raises, naming `op`, when a (dilated) window does not fit a padded spatial axis.
    let private checkFits
        (op: string)
        (spatial: int[])
        (window: int[])
        (strides: int[])
        (low: int[])
        (high: int[])
        (dilation: int[])
        =
        for a in 0 .. spatial.Length - 1 do
            if
                FunDiff.Backend.Windows.windowCount spatial.[a] window.[a] strides.[a] low.[a] high.[a] dilation.[a] < 1
            then
                fail
                    "%s: a window of %d (dilation %d) does not fit spatial axis %d of size %d padded by (%d, %d); pad more or use a smaller window."
                    op
                    window.[a]
                    dilation.[a]
                    a
                    spatial.[a]
                    low.[a]
                    high.[a]

    /// The input as (N, C, spatial...), and whether it was unbatched (C, spatial...).
    let private batchedInput (op: string) (r: int) (x: Tensor) =
        if x.Rank = r + 2 then
            x, false
        elif x.Rank = r + 1 then
            Prim.reshape (Array.append [| 1 |] x.Aval.Shape) x, true
        else
            fail
                "%s: the input %s should be (batch, channels, %d spatial axes) or (channels, %d spatial axes) to match a kernel with %d spatial axes."
                op
                (Shape.show x.Aval.Shape)
                r
                r
                r

    let private spatialRankOf (op: string) (what: string) (w: Tensor) =
        let r = w.Rank - 2

        if r < 1 || r > 3 then
            fail
                "%s: the kernel has shape %s; expected %s with 1 to 3 spatial axes (rank 3 to 5)."
                op
                (Shape.show w.Aval.Shape)
                what

        r

    let private checkGroups (op: string) (groups: int) (channels: int) (what: string) (x: Tensor) =
        if groups < 1 then
            fail "%s: groups = %d; it must be 1 or more." op groups

        if channels % groups <> 0 then
            fail "%s: %d %s (shape %s) do not split into %d groups." op channels what (Shape.show x.Aval.Shape) groups

    let private floatDType (x: Tensor) (w: Tensor) =
        let dtype = Shape.arithmeticDType x.DType w.DType
        if dtype.IsFloat then dtype else Float64

    /// Convolution (cross-correlation, as in every deep-learning library): x of shape (N, C,
    /// spatial...) or (C, spatial...), w of shape (O, C / groups, window...); the result is
    /// (N, O, out...) with out = (size + padding − dilation·(window − 1) − 1) / stride + 1.
    let conv (op: string) (o: ConvOptions) (x: Tensor) (w: Tensor) =
        let r = spatialRankOf op "(out channels, in channels / groups, window...)" w
        let x, unbatched = batchedInput op r x
        let n, c, spatial = x.Aval.Shape.[0], x.Aval.Shape.[1], x.Aval.Shape.[2..]
        let oc, cg, window = w.Aval.Shape.[0], w.Aval.Shape.[1], w.Aval.Shape.[2..]
        let g = o.Groups
        checkGroups op g oc "output channels" w

        if c <> g * cg then
            fail
                "%s: the input %s has %d channels but the kernel %s expects %d × %d groups = %d; the kernel's second axis is in channels / groups."
                op
                (Shape.show x.Aval.Shape)
                c
                (Shape.show w.Aval.Shape)
                cg
                g
                (g * cg)

        let strides, dilation =
            stepsAndDilation op r (Array.create r 1) o.Strides o.Dilation

        let low, high = paddingFor op o.Padding spatial window strides dilation
        checkFits op spatial window strides low high dilation
        let dtype = floatDType x w

        let windows =
            Prim.patches (Prim.windowParams window strides low high dilation) (Prim.convert dtype x)

        let out = windows.Aval.Shape.[2 + r ..]
        let taps = cg * Shape.size window

        let y =
            Prim.dotGeneral
                [| 2 |]
                [| 2 |]
                [| 0 |]
                [| 1 |]
                (Prim.reshape [| g; oc / g; taps |] (Prim.convert dtype w))
                (Prim.reshape [| n; g; taps; Shape.size out |] windows)
            // (groups, out channels per group, N, out positions) → (N, O, out...)
            |> Prim.transpose [| 2; 0; 1; 3 |]
            |> Prim.reshape (Array.append [| n; oc |] out)

        if unbatched then Prim.reshape y.Aval.Shape.[1..] y else y

    /// The transpose of `conv` in its input (PyTorch's conv_transpose): x of shape (N, C,
    /// spatial...) or (C, spatial...), w of shape (C, O / groups, window...), the result
    /// (N, O, size...) with the sizes of `ConvTransposeOptions`.
    let convTranspose (op: string) (o: ConvTransposeOptions) (x: Tensor) (w: Tensor) =
        let r = spatialRankOf op "(in channels, out channels / groups, window...)" w
        let x, unbatched = batchedInput op r x
        let n, c, spatial = x.Aval.Shape.[0], x.Aval.Shape.[1], x.Aval.Shape.[2..]
        let wc, ocg, window = w.Aval.Shape.[0], w.Aval.Shape.[1], w.Aval.Shape.[2..]
        let g = o.Groups

        if wc <> c then
            fail
                "%s: the input %s has %d channels but the kernel %s has %d on its first axis (in channels)."
                op
                (Shape.show x.Aval.Shape)
                c
                (Shape.show w.Aval.Shape)
                wc

        checkGroups op g c "input channels" x

        let strides, dilation =
            stepsAndDilation op r (Array.create r 1) o.Strides o.Dilation

        let outputPadding =
            perAxis op "output paddings" r (Array.zeroCreate r) o.OutputPadding

        for a in 0 .. r - 1 do
            if outputPadding.[a] < 0 || outputPadding.[a] >= strides.[a] then
                fail
                    "%s: output padding %A must be at least 0 and less than the stride %A on each axis."
                    op
                    outputPadding
                    strides

        let dilated = Array.init r (fun a -> dilation.[a] * (window.[a] - 1) + 1)

        // the padding of the convolution this transposes, and the size of its input
        let low, high, sizes =
            match o.Padding with
            | ConvPadding.Same ->
                if Array.exists (fun v -> v <> 0) outputPadding then
                    fail "%s: output padding with Same padding; the result's size is already size · stride." op

                let totals = Array.init r (fun a -> Operators.max 0 (dilated.[a] - strides.[a]))

                totals |> Array.map (fun t -> t / 2),
                totals |> Array.map (fun t -> t - t / 2),
                Array.init r (fun a -> spatial.[a] * strides.[a])
            | padding ->
                let low, high = paddingFor op padding spatial window strides dilation

                low,
                high,
                Array.init r (fun a ->
                    (spatial.[a] - 1) * strides.[a] - low.[a] - high.[a]
                    + dilated.[a]
                    + outputPadding.[a])

        if Array.exists (fun s -> s < 1) sizes then
            fail "%s: the padding crops the result of input %s to %A; pad less." op (Shape.show x.Aval.Shape) sizes

        let dtype = floatDType x w
        let taps = ocg * Shape.size window

        let windows =
            Prim.dotGeneral
                [| 1 |]
                [| 2 |]
                [| 0 |]
                [| 1 |]
                (Prim.reshape [| g; c / g; taps |] (Prim.convert dtype w))
                (Prim.reshape [| n; g; c / g; Shape.size spatial |] (Prim.convert dtype x))
            // (groups, taps, N, positions) → (N, O, window..., positions...)
            |> Prim.transpose [| 2; 0; 1; 3 |]
            |> Prim.reshape (Array.concat [ [| n; g * ocg |]; window; spatial ])

        let y =
            Prim.patchesTranspose sizes (Prim.windowParams window strides low high dilation) windows

        if unbatched then Prim.reshape y.Aval.Shape.[1..] y else y

    /// The windows of a pooling over the trailing `window.Length` axes of x (any leading
    /// axes): shape lead ++ window ++ out, the padding filled with `fill`.
    let private poolWindows (op: string) (window: int[]) (o: PoolOptions) (fill: float) (x: Tensor) =
        if isNull window || window.Length < 1 || window.Length > 3 then
            fail "%s: a window over 1 to 3 spatial axes, got %A." op window

        let r = window.Length

        if x.Rank < r then
            fail
                "%s: a window over %d axes needs a tensor of rank %d or more, got shape %s."
                op
                r
                r
                (Shape.show x.Aval.Shape)

        let window = positive op "window" (Array.copy window)
        let spatial = x.Aval.Shape.[x.Rank - r ..]
        let strides, dilation = stepsAndDilation op r window o.Strides o.Dilation

        let low, high = paddingFor op o.Padding spatial window strides dilation
        checkFits op spatial window strides low high dilation
        let lead = x.Rank - r

        if fill = 0.0 || (Array.forall ((=) 0) low && Array.forall ((=) 0) high) then
            Prim.patches (Prim.windowParams window strides low high dilation) x, lead
        else
            let widths =
                Array.init x.Rank (fun k ->
                    if k < lead then
                        struct (0, 0)
                    else
                        struct (low.[k - lead], high.[k - lead]))

            let padded = Padding.constant op widths fill x
            let zeros = Array.zeroCreate r
            Prim.patches (Prim.windowParams window strides zeros zeros dilation) padded, lead

    /// The largest element of each window (−∞ in the padding; an int64 or bool input that is
    /// padded becomes float64 to hold it). Its derivative goes to the window's maximum, shared
    /// equally between tied maxima (reduce_max's rule).
    let maxPool (op: string) (window: int[]) (o: PoolOptions) (x: Tensor) =
        let padded =
            match o.Padding with
            | ConvPadding.Valid -> false
            | _ -> true

        let x =
            if padded && not x.DType.IsFloat then
                Prim.convert Float64 x
            else
                x

        let windows, lead = poolWindows op window o System.Double.NegativeInfinity x
        Statistics.extreme op reduceMaxP (Array.init window.Length (fun a -> lead + a)) windows

    /// The mean of each window, the padding's zeros counted (PyTorch's count_include_pad).
    let avgPool (op: string) (window: int[]) (o: PoolOptions) (x: Tensor) =
        let x = if x.DType.IsFloat then x else Prim.convert Float64 x
        let windows, lead = poolWindows op window o 0.0 x

        Prim.sumAxes (Array.init window.Length (fun a -> lead + a)) windows
        / float (Shape.size window)
