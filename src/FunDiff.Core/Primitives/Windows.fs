// Room: the window primitives under convolution and pooling (rules in Rules/Windows.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The two window primitives: `patches` (im2col) and its transpose `patches_transpose`
/// (col2im). Both are linear, each the other's transpose, so convolution (patches then a
/// dot_general) and pooling (patches then a reduction) get every derivative, batch rule and
/// jit lowering from them and the contraction primitives.
/// Params, one entry per spatial (trailing) axis: "window", "strides", "low", "high",
/// "dilation"; `patches_transpose` also takes "spatial", the sizes of the axes it rebuilds.
[<AutoOpen>]
module Windows =

    let private check (op: string) (spatial: int[]) (p: Params) =
        let window, strides = p.Ints "window", p.Ints "strides"
        let low, high, dilation = p.Ints "low", p.Ints "high", p.Ints "dilation"
        let r = window.Length

        if r < 1 || r > 3 then
            fail "%s: windows over %d spatial axes; 1 to 3 are supported." op r

        if [ strides; low; high; dilation ] |> List.exists (fun xs -> xs.Length <> r) then
            fail "%s: window %A needs %d strides, paddings and dilations each." op window r

        for a in 0 .. r - 1 do
            if window.[a] < 1 || strides.[a] < 1 || dilation.[a] < 1 then
                fail
                    "%s: window %A, strides %A and dilation %A must be 1 or more on every axis."
                    op
                    window
                    strides
                    dilation

            if low.[a] < 0 || high.[a] < 0 then
                fail "%s: paddings (low %A, high %A) must be non-negative." op low high

            if Windows.windowCount spatial.[a] window.[a] strides.[a] low.[a] high.[a] dilation.[a] < 1 then
                fail
                    "%s: a window of %d (dilation %d) does not fit axis %d of size %d padded by (%d, %d); pad more or use a smaller window."
                    op
                    window.[a]
                    dilation.[a]
                    a
                    spatial.[a]
                    low.[a]
                    high.[a]

        Windows.geometry spatial window strides low high dilation

    /// The geometry of an application: the spatial sizes and the window params.
    let internal geometryOf (spatial: int[]) (p: Params) = check "patches" spatial p

    /// patches(x)[lead, k, o] = x[lead, o·stride − low + k·dilation] (0 in the padding), per
    /// spatial axis: shape lead ++ window ++ out.
    let patchesP =
        builtin
            "patches"
            (fun xs p ->
                let x = xs.[0]
                let r = (p.Ints "window").Length
                [| Windows.patches (geometryOf x.Shape.[x.Shape.Length - r ..] p) x |])
            (fun avals p ->
                arity "patches" 1 avals
                let x = avals.[0]
                let r = (p.Ints "window").Length

                if x.Rank < r then
                    fail "patches: a window over %d axes needs a tensor of rank %d or more, got %O." r r x

                let g = check "patches" x.Shape.[x.Rank - r ..] p

                [|
                    Aval(Array.concat [ x.Shape.[.. x.Rank - r - 1]; g.Window; g.Out ], x.DType)
                |])

    /// The transpose of patches: windows (lead ++ window ++ out) added back into lead ++ spatial.
    let patchesTransposeP =
        builtin
            "patches_transpose"
            (fun xs p -> [| Windows.patchesTranspose (geometryOf (p.Ints "spatial") p) xs.[0] |])
            (fun avals p ->
                arity "patches_transpose" 1 avals
                let w = avals.[0]
                let spatial = p.Ints "spatial"
                let r = spatial.Length
                let g = check "patches_transpose" spatial p
                let expected = Array.append g.Window g.Out

                if w.Rank < 2 * r || not (Shape.equal w.Shape.[w.Rank - 2 * r ..] expected) then
                    fail
                        "patches_transpose: expects windows ending in window ++ out = %s, got %O."
                        (Shape.show expected)
                        w

                [| Aval(Array.append w.Shape.[.. w.Rank - 2 * r - 1] spatial, w.DType) |])
