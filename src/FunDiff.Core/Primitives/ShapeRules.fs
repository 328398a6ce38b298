/// Shape rules shared by the families of primitives: output avals from input avals and
/// params, raising a ShapeException that names the primitive for bad input.
module internal FunDiff.ShapeRules

open FunDiff

let fail (fmt: Printf.StringFormat<'a, 'b>) =
    Printf.ksprintf (fun s -> raise (ShapeException s)) fmt

let arity (name: string) (n: int) (avals: Aval[]) =
    if avals.Length <> n then
        fail "%s: expects %d operand(s), got %d." name n avals.Length

/// A float64 operand, same aval out.
let floatUnary (name: string) (avals: Aval[]) (_: Params) =
    arity name 1 avals

    if avals.[0].DType <> Float64 then
        fail "%s: expects a float64 tensor, got %O. Convert it first with Tensor.convert Float64." name avals.[0]

    [| avals.[0] |]

/// Any numeric operand, same aval out.
let numericUnary (name: string) (avals: Aval[]) (_: Params) =
    arity name 1 avals

    if avals.[0].DType = Bool then
        fail "%s: expects a number tensor, got %O." name avals.[0]

    [| avals.[0] |]

/// Whether shape `small` is the trailing axes of `big` (and of lower rank): it repeats along
/// `big`'s leading axes.
let private isTrailing (big: int[]) (small: int[]) =
    small.Length < big.Length
    && Shape.equal small big.[big.Length - small.Length ..]

/// Two operands of one dtype whose shapes are equal, or of which one is rank 0 (a scalar that
/// the kernel broadcasts without materializing it), or one of which is the other's trailing
/// axes (it repeats along the leading ones: vmap leaves an operand shared by every example in
/// this form, and the kernels loop over rows instead of copying it); `outDType` None keeps the
/// dtype.
let binary (name: string) (outDType: DType option) (avals: Aval[]) (_: Params) =
    arity name 2 avals
    let x, y = avals.[0], avals.[1]

    if x.DType <> y.DType then
        fail "%s: dtypes %O and %O differ; the ops promote before binding (use Tensor.convert)." name x y

    if
        x.Rank <> 0
        && y.Rank <> 0
        && not (Shape.equal x.Shape y.Shape)
        && not (isTrailing x.Shape y.Shape)
        && not (isTrailing y.Shape x.Shape)
    then
        fail
            "%s: shapes %s and %s differ. The primitive needs equal shapes, a scalar, or one shape the other's trailing axes; the Tensor operators broadcast first."
            name
            (Shape.show x.Shape)
            (Shape.show y.Shape)

    let shape = if x.Rank >= y.Rank then x.Shape else y.Shape
    let dtype = defaultArg outDType x.DType

    [|
        (if x.Rank >= y.Rank && x.DType = dtype then
             x
         else
             Aval(shape, dtype))
    |]

/// A reduction over `axes` (sorted, distinct, non-negative), which disappear.
let reduceAxes (name: string) (avals: Aval[]) (p: Params) =
    arity name 1 avals
    let x = avals.[0]
    let axes = Shape.normalizeAxes name x.Rank (p.Ints "axes")

    if axes <> p.Ints "axes" then
        fail "%s: axes %A must be sorted and non-negative." name (p.Ints "axes")

    let shape = Shape.complementAxes x.Rank axes |> Array.map (fun k -> x.Shape.[k])
    [| Aval(shape, x.DType) |]

/// reduce_max / reduce_min: a reduction whose reduced axes are not empty (the extreme of
/// no elements is undefined; NumPy raises too).
let reduceExtremeAxes (name: string) (avals: Aval[]) (p: Params) =
    let out = reduceAxes name avals p
    let x = avals.[0]

    for a in p.Ints "axes" do
        if x.Shape.[a] = 0 then
            fail
                "%s: axis %d of shape %s is empty; the %s of no elements is undefined. Reduce a non-empty axis, or test the size first."
                name
                a
                (Shape.show x.Shape)
                (if name = "reduce_max" then "maximum" else "minimum")

    out

/// Two float64 operands (equal shapes or a scalar).
let floatBinary (name: string) (avals: Aval[]) (p: Params) =
    let out = binary name None avals p

    if out.[0].DType <> Float64 then
        fail "%s: expects float64 operands, got %O and %O." name avals.[0] avals.[1]

    out
