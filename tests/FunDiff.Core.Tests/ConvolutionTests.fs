/// Convolution, transposed convolution and pooling: values against direct loops over random
/// strides, paddings, dilations and groups in 1, 2 and 3 spatial axes; the transpose identity;
/// derivatives against finite differences to second order; vmap, jit and the errors.
module FunDiff.Tests.ConvolutionTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FunDiff
open FunDiff.Tests.Harness

/// One random convolution problem.
type private Problem =
    {
        X: Tensor
        W: Tensor
        Options: ConvOptions
        Low: int[]
        High: int[]
    }

let private describe (p: Problem) =
    sprintf
        "x %s, w %s, strides %A, padding %A, dilation %A, groups %d"
        (showShape p.X.Shape)
        (showShape p.W.Shape)
        p.Options.Strides
        p.Options.Padding
        p.Options.Dilation
        p.Options.Groups

/// Draws a problem with r spatial axes; explicit padding, so the loop knows it.
let private draw (r: Random) (rank: int) =
    let g = r.Next(1, 3)
    let cg, og = r.Next(1, 3), r.Next(1, 3)
    let n = r.Next(1, 3)
    let window = Array.init rank (fun _ -> r.Next(1, 4))
    let strides = Array.init rank (fun _ -> r.Next(1, 3))
    let dilation = Array.init rank (fun _ -> r.Next(1, 3))
    let low = Array.init rank (fun _ -> r.Next(0, 3))
    let high = Array.init rank (fun _ -> r.Next(0, 3))
    // big enough for one window, small enough to stay quick
    let spatial =
        Array.init rank (fun a ->
            Operators.max 1 (dilation.[a] * (window.[a] - 1) + 1 - low.[a] - high.[a])
            + r.Next(0, 4))

    {
        X = randomTensor r -1.0 1.0 (Array.append [| n; g * cg |] spatial)
        W = randomTensor r -1.0 1.0 (Array.append [| g * og; cg |] window)
        Options =
            {
                Strides = strides
                Padding = ConvPadding.Explicit(Array.map2 (fun lo hi -> struct (lo, hi)) low high)
                Dilation = dilation
                Groups = g
            }
        Low = low
        High = high
    }

/// The convolution by its definition: y[n, o, p] = Σ over the group's channels c and window
/// offsets k of x[n, c, p·stride − low + k·dilation] · w[o, c, k] (0 outside x).
let private directConv (p: Problem) =
    let xs, ws = values p.X, values p.W
    let xShape, wShape = p.X.Shape, p.W.Shape
    let rank = xShape.Length - 2
    let spatial, window = xShape.[2..], wShape.[2..]
    let o = p.Options
    let g, cg, oc = o.Groups, wShape.[1], wShape.[0]
    let og = oc / g

    let out =
        Array.init rank (fun a ->
            (spatial.[a] + p.Low.[a] + p.High.[a] - o.Dilation.[a] * (window.[a] - 1) - 1)
            / o.Strides.[a]
            + 1)

    let outShape = Array.append [| xShape.[0]; oc |] out

    let ys =
        Array.init (Array.fold (*) 1 outShape) (fun flat ->
            let idx = multiIndex outShape flat
            let n, oo = idx.[0], idx.[1]
            let group = oo / og
            let mutable sum = 0.0

            for c in 0 .. cg - 1 do
                for kFlat in 0 .. (Array.fold (*) 1 window) - 1 do
                    let k = multiIndex window kFlat

                    let coords =
                        Array.init rank (fun a -> idx.[2 + a] * o.Strides.[a] - p.Low.[a] + k.[a] * o.Dilation.[a])

                    if Array.forall2 (fun cv s -> cv >= 0 && cv < s) coords spatial then
                        let xIndex =
                            Array.append [| n; group * cg + c |] coords
                            |> Array.fold2 (fun acc i s -> acc * s + i) 0
                            <| xShape

                        let wIndex =
                            Array.append [| oo; c |] k |> Array.fold2 (fun acc i s -> acc * s + i) 0
                            <| wShape

                        sum <- sum + xs.[xIndex] * ws.[wIndex]

            sum)

    tensorOf outShape ys

let private close = { Relative = 1e-12; Absolute = 1e-12 }

[<Fact>]
let ``conv matches the direct loop over strides, paddings, dilations and groups in 1, 2 and 3 axes`` () =
    let r = Random 11

    for case in 1..60 do
        let p = draw r (1 + case % 3)
        let y = Tensor.convWith p.Options p.X p.W
        assertClose (describe p) close (directConv p) y

[<Fact>]
let ``conv knows exact values, and an unbatched input gives an unbatched result`` () =
    // [1 2 3 4] ⋆ [1 0 −1] = [1 − 3, 2 − 4]
    let x = Tensor.reshape [| 1; 1; 4 |] (Tensor.ofArray [| 1.0; 2.0; 3.0; 4.0 |])
    let w = Tensor.reshape [| 1; 1; 3 |] (Tensor.ofArray [| 1.0; 0.0; -1.0 |])
    Assert.Equal<float[]>([| -2.0; -2.0 |], Tensor.toArray (Tensor.conv x w))
    let unbatched = Tensor.conv (Tensor.reshape [| 1; 4 |] x) w
    Assert.Equal<int[]>([| 1; 2 |], unbatched.Shape)
    // Same padding at stride 1 keeps the size; at stride 2 it gives ⌈size / 2⌉
    let img = randomTensor (Random 3) -1.0 1.0 [| 2; 3; 7; 6 |]
    let k = randomTensor (Random 4) -1.0 1.0 [| 5; 3; 3; 2 |]

    let same =
        { ConvOptions.Default with
            Padding = ConvPadding.Same
        }

    Assert.Equal<int[]>([| 2; 5; 7; 6 |], (Tensor.convWith same img k).Shape)
    Assert.Equal<int[]>([| 2; 5; 4; 3 |], (Tensor.convWith { same with Strides = [| 2 |] } img k).Shape)
    // Same puts the odd padding after: window 2 on 6 columns pads (0, 1)
    let explicitPad =
        { ConvOptions.Default with
            Padding = ConvPadding.Explicit [| struct (1, 1); struct (0, 1) |]
        }

    assertClose "Same = explicit (1, 1), (0, 1)" close (Tensor.convWith explicitPad img k) (Tensor.convWith same img k)

[<Fact>]
let ``depthwise conv (groups = channels) filters each channel alone`` () =
    let r = Random 5
    let x = randomTensor r -1.0 1.0 [| 2; 3; 5; 5 |]
    let w = randomTensor r -1.0 1.0 [| 3; 1; 3; 3 |]
    let y = Tensor.convWith { ConvOptions.Default with Groups = 3 } x w

    for c in 0..2 do
        let alone =
            Tensor.conv (Tensor.sliceAxis 1 c (c + 1) x) (Tensor.sliceAxis 0 c (c + 1) w)

        assertClose (sprintf "channel %d" c) close alone (Tensor.sliceAxis 1 c (c + 1) y)

/// A transposed-convolution problem: the conv's options and the input size it maps from.
let private transposeOptions (p: Problem) : ConvTransposeOptions =
    {
        Strides = p.Options.Strides
        Padding = p.Options.Padding
        OutputPadding = [||]
        Dilation = p.Options.Dilation
        Groups = p.Options.Groups
    }

[<Fact>]
let ``convTranspose is the transpose of conv in its input: the dot-product test and the vjp`` () =
    let r = Random 13

    for case in 1..40 do
        let p = draw r (1 + case % 3)
        let y = Tensor.convWith p.Options p.X p.W
        let cotangent = randomTensor r -1.0 1.0 y.Shape
        // PyTorch's kernel layout for the transpose is (C_in of conv's output, C_out / g, ...),
        // which is conv's own kernel read with its axes' roles swapped: the same tensor
        let strides = p.Options.Strides

        let outputPadding =
            Array.init strides.Length (fun a ->
                let dilated = p.Options.Dilation.[a] * (p.W.Shape.[2 + a] - 1) + 1

                (p.X.Shape.[2 + a] + p.Low.[a] + p.High.[a] - dilated) % strides.[a])

        let back =
            Tensor.convTransposeWith
                { transposeOptions p with
                    OutputPadding = outputPadding
                }
                cotangent
                p.W

        Assert.Equal<int[]>(p.X.Shape, back.Shape)
        let _, pullback = vjp (fun x -> Tensor.convWith p.Options x p.W) p.X
        assertClose (describe p) close (pullback cotangent) back
        assertCloseFloat "⟨conv x, y⟩ = ⟨x, convᵀ y⟩" close (inner y cotangent) (inner p.X back)

[<Fact>]
let ``convTranspose gives PyTorch's output sizes`` () =
    let x = Tensor.zeros [| 1; 4; 5; 6 |]
    let w = Tensor.zeros [| 4; 3; 3; 3 |]

    let o =
        ConvTransposeOptions.Default.WithStrides(2).WithPadding(ConvPadding.Symmetric 1).WithOutputPadding(1, 0)

    // (5 − 1)·2 − 2 + 2 + 1 + 1 = 10, (6 − 1)·2 − 2 + 2 + 1 = 11
    Assert.Equal<int[]>([| 1; 3; 10; 11 |], (Tensor.convTransposeWith o x w).Shape)
    // Same doubles the size at stride 2
    let same = ConvTransposeOptions.Default.WithStrides(2).WithPadding(ConvPadding.Same)
    Assert.Equal<int[]>([| 1; 3; 10; 12 |], (Tensor.convTransposeWith same x w).Shape)
    // groups: 4 input channels in 2 groups, each with 3 outputs
    Assert.Equal<int[]>(
        [| 1; 6; 7; 8 |],
        (Tensor.convTransposeWith (ConvTransposeOptions.Default.WithGroups 2) x w).Shape
    )

[<Fact>]
let ``conv derivatives in x and w match finite differences, and jvp matches vjp, to second order`` () =
    checkProperty 71UL 73UL 25
    <| Prop.forAll randomSeeds (fun seed ->
        let r = Random seed
        let p = draw r (1 + seed % 2)

        let f (x: Tensor) =
            Tensor.sum (Tensor.sin (Tensor.convWith p.Options x p.W))

        let h (w: Tensor) =
            Tensor.sum (Tensor.tanh (Tensor.convWith p.Options p.X w))

        let vx, vw = randomTensor r -1.0 1.0 p.X.Shape, randomTensor r -1.0 1.0 p.W.Shape

        for fn, at, v, name in [ f, p.X, vx, "in x"; h, p.W, vw, "in w" ] do
            let _, tangent = jvp fn at v

            assertClose
                (name + ": jvp vs central differences " + describe p)
                finiteDifference
                (centralDifference fn at v)
                tangent

            assertCloseFloat (name + ": vjp vs jvp") close (Tensor.toScalar tangent) (inner (grad fn at) v)
            // second order: the Hessian-vector product against differences of the gradient
            assertClose
                (name + ": hvp vs central differences of grad")
                finiteDifference
                (centralDifference (grad fn) at v)
                (hvp fn at v))

[<Fact>]
let ``conv Jacobians: jacfwd equals jacrev in the kernel`` () =
    let p = draw (Random 17) 2
    let f (w: Tensor) = Tensor.convWith p.Options p.X w
    assertClose "jacfwd vs jacrev" close (jacfwd f p.W) (jacrev f p.W)

[<Fact>]
let ``conv under vmap (over inputs and over kernels) equals the loop; jit equals eager`` () =
    let r = Random 19
    let p = draw r 2
    let xs = Tensor.stack [ for _ in 1..3 -> randomTensor r -1.0 1.0 p.X.Shape ]
    let ws = Tensor.stack [ for _ in 1..3 -> randomTensor r -1.0 1.0 p.W.Shape ]
    let overX = vmap (fun x -> Tensor.convWith p.Options x p.W) xs
    assertClose "vmap over x" close (Tensor.stack [ for k in 0..2 -> Tensor.convWith p.Options xs.[k] p.W ]) overX
    let overW = vmap (fun w -> Tensor.convWith p.Options p.X w) ws
    assertClose "vmap over w" close (Tensor.stack [ for k in 0..2 -> Tensor.convWith p.Options p.X ws.[k] ]) overW
    let f (x: Tensor) = Tensor.convWith p.Options x p.W
    assertClose "jit" close (f p.X) (jit f p.X)

    let loss (w: Tensor) =
        Tensor.sum (Tensor.square (Tensor.convWith p.Options p.X w))

    assertClose "jit (grad)" close (grad loss p.W) (jit (grad loss) p.W)
    // per-example gradients: vmap of grad over a batch of inputs
    let perExample =
        vmap (fun x -> grad (fun w -> Tensor.sum (Tensor.convWith p.Options x w)) p.W) xs

    assertClose
        "vmap (grad)"
        close
        (Tensor.stack
            [
                for k in 0..2 -> grad (fun w -> Tensor.sum (Tensor.convWith p.Options xs.[k] w)) p.W
            ])
        perExample

/// Pooling by its definition, over the last two axes, with explicit padding filled by `fill`.
let private directPool
    (reduce: float[] -> float)
    (fill: float)
    (window: int[])
    (o: PoolOptions)
    (low: int[])
    (high: int[])
    (x: Tensor)
    =
    let xs, shape = values x, x.Shape
    let lead = shape.Length - 2
    let strides = if o.Strides.Length = 0 then window else o.Strides
    let dilation = if o.Dilation.Length = 0 then [| 1; 1 |] else o.Dilation

    let out =
        Array.init 2 (fun a ->
            (shape.[lead + a] + low.[a] + high.[a] - dilation.[a] * (window.[a] - 1) - 1)
            / strides.[a]
            + 1)

    let outShape = Array.append shape.[.. lead - 1] out
    let rows, cols = shape.[lead], shape.[lead + 1]

    tensorOf
        outShape
        (Array.init (Array.fold (*) 1 outShape) (fun flat ->
            let idx = multiIndex outShape flat
            let leadFlat = flat / (out.[0] * out.[1])

            [|
                for a in 0 .. window.[0] - 1 do
                    for b in 0 .. window.[1] - 1 do
                        let i = idx.[lead] * strides.[0] - low.[0] + a * dilation.[0]
                        let j = idx.[lead + 1] * strides.[1] - low.[1] + b * dilation.[1]

                        if i >= 0 && i < rows && j >= 0 && j < cols then
                            xs.[(leadFlat * rows + i) * cols + j]
                        else
                            fill
            |]
            |> reduce))

[<Fact>]
let ``maxPool and avgPool match direct loops with strides, padding and dilation`` () =
    let r = Random 23

    for case in 1..30 do
        let window = [| r.Next(1, 4); r.Next(1, 4) |]
        let low = [| r.Next(0, window.[0]); r.Next(0, window.[1]) |]
        let high = [| r.Next(0, window.[0]); r.Next(0, window.[1]) |]

        let o =
            {
                Strides =
                    (if case % 3 = 0 then
                         [||]
                     else
                         [| r.Next(1, 3); r.Next(1, 3) |])
                Padding = ConvPadding.Explicit [| struct (low.[0], high.[0]); struct (low.[1], high.[1]) |]
                Dilation = [| r.Next(1, 3); r.Next(1, 3) |]
            }

        let x = randomTensor r -1.0 1.0 [| 2; 3; 4 + r.Next 4; 4 + r.Next 4 |]
        let what = sprintf "x %s window %A options %A" (showShape x.Shape) window o
        let maxed = Tensor.maxPoolWith (List.ofArray window) o x
        assertClose ("max " + what) close (directPool Array.max Double.NegativeInfinity window o low high x) maxed
        let averaged = Tensor.avgPoolWith (List.ofArray window) o x
        assertClose ("avg " + what) close (directPool Array.average 0.0 window o low high x) averaged

[<Fact>]
let ``pooling knows exact values and sends the max pool's gradient to each window's maximum`` () =
    let x = Tensor.reshape [| 1; 1; 4; 4 |] (Tensor.arange 16)
    Assert.Equal<float[]>([| 5.0; 7.0; 13.0; 15.0 |], Tensor.toArray (Tensor.maxPool [ 2; 2 ] x))
    Assert.Equal<float[]>([| 2.5; 4.5; 10.5; 12.5 |], Tensor.toArray (Tensor.avgPool [ 2; 2 ] x))
    let g = grad (fun x -> Tensor.sum (Tensor.maxPool [ 2; 2 ] x)) x

    let expected =
        Array.init 16 (fun i -> if i = 5 || i = 7 || i = 13 || i = 15 then 1.0 else 0.0)

    Assert.Equal<float[]>(expected, Tensor.toArray g)
    // 1-d pooling over the last axis of any rank, and Same padding (−∞ never wins)
    let v = Tensor.ofArray [| -3.0; -1.0; -2.0 |]

    Assert.Equal<float[]>(
        [| -1.0; -2.0 |],
        Tensor.toArray (
            Tensor.maxPoolWith
                [ 2 ]
                { PoolOptions.Default with
                    Padding = ConvPadding.Same
                }
                v
        )
    )

[<Fact>]
let ``pooling derivatives match finite differences; vmap and jit agree`` () =
    let r = Random 29
    let x = randomTensor r -1.0 1.0 [| 2; 2; 5; 6 |]
    let v = randomTensor r -1.0 1.0 x.Shape
    let o = PoolOptions.Default.WithStrides(1, 2).WithPadding(ConvPadding.Symmetric 1)

    for name, pool in [ "max", Tensor.maxPoolWith [ 3; 2 ] o; "avg", Tensor.avgPoolWith [ 3; 2 ] o ] do
        let f (x: Tensor) = Tensor.sum (Tensor.sin (pool x))
        let _, tangent = jvp f x v
        assertClose (name + ": jvp vs central differences") finiteDifference (centralDifference f x v) tangent
        assertCloseFloat (name + ": vjp vs jvp") close (Tensor.toScalar tangent) (inner (grad f x) v)
        let xs = Tensor.stack [ x; x * 2.0 ]
        assertClose (name + ": vmap") close (Tensor.stack [ pool x; pool (x * 2.0) ]) (vmap pool xs)
        assertClose (name + ": jit") close (pool x) (jit pool x)

[<Fact>]
let ``bad convolutions raise ShapeException naming the op, the shapes and the fix`` () =
    let x = Tensor.zeros [| 1; 4; 5; 5 |]

    let raises (parts: string list) (f: unit -> Tensor) =
        let e = Assert.Throws<ShapeException>(fun () -> f () |> ignore)

        for part in parts do
            Assert.Contains(part, e.Message)

    raises [ "conv"; "[1, 4, 5, 5]"; "[2, 3, 3, 3]"; "groups" ] (fun () ->
        Tensor.conv x (Tensor.zeros [| 2; 3; 3; 3 |]))

    raises [ "convWith"; "groups" ] (fun () ->
        Tensor.convWith (ConvOptions.Default.WithGroups 3) x (Tensor.zeros [| 3; 1; 3; 3 |]))

    raises [ "conv"; "window of 7"; "pad more" ] (fun () -> Tensor.conv x (Tensor.zeros [| 2; 4; 7; 1 |]))
    raises [ "conv"; "rank" ] (fun () -> Tensor.conv x (Tensor.zeros [| 2; 4 |]))

    raises [ "convWith"; "strides" ] (fun () ->
        Tensor.convWith (ConvOptions.Default.WithStrides 0) x (Tensor.zeros [| 2; 4; 3; 3 |]))

    raises [ "convWith"; "3 strides"; "2 spatial axes" ] (fun () ->
        Tensor.convWith (ConvOptions.Default.WithStrides(1, 1, 1)) x (Tensor.zeros [| 2; 4; 3; 3 |]))

    raises [ "convTransposeWith"; "output padding" ] (fun () ->
        Tensor.convTransposeWith (ConvTransposeOptions.Default.WithOutputPadding 1) x (Tensor.zeros [| 4; 2; 3; 3 |]))

    raises [ "maxPool"; "window" ] (fun () -> Tensor.maxPool [ 6; 6 ] x)
    raises [ "avgPool"; "window" ] (fun () -> Tensor.avgPool [] x)
