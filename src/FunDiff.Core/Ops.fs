// Room: the camelCase op library (`Tensor.sin`, `Tensor.sumAxes`, ...), the F# user's surface.
namespace FunDiff

open FunDiff.Backend

/// The camelCase operations on tensors (compiled as `FunDiff.TensorModule`). Most are one-line
/// aliases of Tensor's members; every one of them works on tracers, so it can be differentiated
/// to any order. A null tensor, list or shape raises ArgumentNullException naming the parameter.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Tensor =
    open FunDiff.Primitives


    let private fail (fmt: Printf.StringFormat<'a, 'b>) =
        Printf.ksprintf (fun message -> raise (ShapeException message)) fmt

    // ---- construction ---------------------------------------------------------------------

    /// A float64 scalar: `Tensor.scalar 2.5`.
    let scalar (value: float) = Tensor.Scalar value

    /// A 1-d tensor of a copy of the values.
    let ofArray (values: float[]) =
        Guard.notNull "ofArray" "values" values
        Tensor.OfArray values

    /// A 2-d tensor of a copy of the values.
    let ofArray2D (values: float[,]) =
        Guard.notNull "ofArray2D" "values" values
        Tensor.FromArray values

    /// A 1-d tensor of the values of a sequence.
    let ofSeq (values: seq<float>) =
        Guard.notNull "ofSeq" "values" values
        Tensor.OfArray(Array.ofSeq values)

    /// Zeros of a shape (raises ShapeException for a negative dimension).
    let zeros (shape: int[]) =
        Guard.notNull "zeros" "shape" shape

        Shape.checkDimensions "zeros" shape
        Tensor.Zeros shape

    /// Ones of a shape (raises ShapeException for a negative dimension).
    let ones (shape: int[]) =
        Guard.notNull "ones" "shape" shape

        Shape.checkDimensions "ones" shape
        Tensor.Ones shape

    /// A tensor of a shape filled with a value (raises ShapeException for a negative dimension).
    let full (shape: int[]) (value: float) =
        Guard.notNull "full" "shape" shape

        Shape.checkDimensions "full" shape
        Tensor.Full(shape, value)

    /// `[0., 1., ..., n-1.]`.
    let arange (n: int) = Tensor.Arange n
    /// `n` evenly spaced values from `start` to `stop` inclusive.
    let linspace (start: float) (stop: float) (n: int) = Tensor.Linspace(start, stop, n)

    /// The n × n identity matrix (raises ShapeException for a negative n or one whose n² is too
    /// many elements).
    let eye (n: int) =
        if n >= 0 then
            Shape.checkDimensions "eye" [| n; n |]

        Tensor.Eye n

    /// The checks of stack: at least one tensor, all of one shape, the new axis in range.
    let private checkStack (op: string) (axis: int) (xs: Tensor[]) =
        if xs.Length = 0 then
            fail
                "%s: the list of tensors is empty; stack needs at least one tensor (the result's shape comes from them)."
                op

        let shape = xs.[0].Aval.Shape

        for i in 1 .. xs.Length - 1 do
            if not (Shape.equal xs.[i].Aval.Shape shape) then
                fail
                    "%s: all tensors must have one shape, but tensor 0 has shape %s and tensor %d has shape %s. Reshape or broadcast them first (Tensor.concat joins tensors that differ along an existing axis)."
                    op
                    (Shape.show shape)
                    i
                    (Shape.show xs.[i].Aval.Shape)

        let rank = shape.Length + 1

        if axis < -rank || axis >= rank then
            fail
                "%s: axis %d is out of range for stacking tensors of rank %d (the result has rank %d; valid axes are %d..%d)."
                op
                axis
                shape.Length
                rank
                -rank
                (rank - 1)

    /// Stacks tensors of one shape (any rank) along a new axis 0: `stack [a; b]` has shape
    /// `[2] ++ a.shape`. Differentiable; raises ShapeException for an empty list or if the
    /// shapes differ.
    let stack (xs: Tensor list) =
        Guard.notNullElements "stack" "xs" xs

        let xs = Array.ofList xs
        checkStack "stack" 0 xs
        Prim.stack 0 xs

    /// Stacks along a new axis at `axis` (-(rank+1)..rank, the rank of the tensors stacked).
    let stackAxis (axis: int) (xs: Tensor list) =
        Guard.notNullElements "stackAxis" "xs" xs

        let xs = Array.ofList xs
        checkStack "stackAxis" axis xs
        Prim.stack axis xs

    /// Joins tensors along an existing axis; dtypes promote. Raises ShapeException for an
    /// empty list, a scalar, different ranks or shapes that differ on another axis.
    let concat (axis: int) (xs: Tensor list) =
        Guard.notNullElements "concat" "xs" xs

        let xs = Array.ofList xs

        if xs.Length = 0 then
            fail "concat: the list of tensors is empty; concat needs at least one tensor."

        let first = xs.[0].Aval.Shape

        if first.Length = 0 then
            fail
                "concat: tensor 0 is a scalar, which has no axis to join along. Use Tensor.stack to join scalars into a vector."

        let a = Shape.normalizeAxis "concat" first.Length axis

        for i in 1 .. xs.Length - 1 do
            let s = xs.[i].Aval.Shape

            if s.Length <> first.Length then
                fail
                    "concat: tensor 0 has shape %s (rank %d) but tensor %d has shape %s (rank %d); all must have one rank. Reshape them first (Tensor.expandDims adds an axis)."
                    (Shape.show first)
                    first.Length
                    i
                    (Shape.show s)
                    s.Length

            for k in 0 .. s.Length - 1 do
                if k <> a && s.[k] <> first.[k] then
                    fail
                        "concat: tensor 0 has shape %s but tensor %d has shape %s; they differ on axis %d, and only the joined axis %d may differ."
                        (Shape.show first)
                        i
                        (Shape.show s)
                        k
                        a

        Prim.concatenate a xs

    // ---- reading ----------------------------------------------------------------------------

    /// The dimensions (a fresh array).
    let shape (x: Tensor) =
        Guard.notNull "shape" "x" x
        x.Shape

    /// The dtype.
    let dtype (x: Tensor) =
        Guard.notNull "dtype" "x" x
        x.DType

    /// The values, flat and row-major (the primal's under jvp/grad).
    let toArray (x: Tensor) =
        Guard.notNull "toArray" "x" x
        x.ToArray()

    /// The values of a rank-2 tensor as a 2-d array.
    let toArray2D (x: Tensor) =
        Guard.notNull "toArray2D" "x" x

        if x.Rank <> 2 then
            fail
                "toArray2D: needs a rank-2 tensor, got shape %s (rank %d). Reshape it first, e.g. Tensor.reshape [| rows; -1 |], or read it flat with Tensor.toArray."
                (Shape.show x.Shape)
                x.Rank

        let d = x.ToArray()
        let c = x.Shape.[1]
        Array2D.init x.Shape.[0] c (fun i j -> d.[i * c + j])

    /// The value of a one-element tensor (the primal's under jvp/grad; a ConcretizationException
    /// under makeIR).
    let toScalar (x: Tensor) =
        Guard.notNull "toScalar" "x" x
        x.ToScalar()

    // ---- elementwise ------------------------------------------------------------------------

    /// Elementwise sine.
    let sin (x: Tensor) =
        Guard.notNull "sin" "x" x
        Tensor.Sin x

    /// Elementwise cosine.
    let cos (x: Tensor) =
        Guard.notNull "cos" "x" x
        Tensor.Cos x

    /// Elementwise e^x.
    let exp (x: Tensor) =
        Guard.notNull "exp" "x" x
        Tensor.Exp x

    /// Elementwise natural log.
    let log (x: Tensor) =
        Guard.notNull "log" "x" x
        Tensor.Log x

    /// Elementwise square root.
    let sqrt (x: Tensor) =
        Guard.notNull "sqrt" "x" x
        Tensor.Sqrt x

    /// Elementwise tanh.
    let tanh (x: Tensor) =
        Guard.notNull "tanh" "x" x
        Tensor.Tanh x

    /// Elementwise negation.
    let neg (x: Tensor) =
        Guard.notNull "neg" "x" x
        -x

    /// Elementwise x².
    let square (x: Tensor) =
        Guard.notNull "square" "x" x
        Prim.powConst 2.0 x

    /// `x ** c` for a constant exponent.
    let powConst (c: float) (x: Tensor) =
        Guard.notNull "powConst" "x" x
        Prim.powConst c x

    /// `x ** y` with tensors on both sides, broadcasting (F# cannot write `2.0 ** x`: use
    /// `pow (scalar 2.0) x`). d/dy xʸ at x = 0 is 0 for y > 0 (not NaN); d/dx xʸ at x = y = 0 is 0.
    let pow (x: Tensor) (y: Tensor) =
        Guard.notNull "pow" "x" x
        Guard.notNull "pow" "y" y
        Tensor.Pow(x, y)

    /// Elementwise sum with broadcasting.
    let add (x: Tensor) (y: Tensor) =
        Guard.notNull "add" "x" x
        Guard.notNull "add" "y" y
        x + y

    /// Elementwise difference with broadcasting.
    let sub (x: Tensor) (y: Tensor) =
        Guard.notNull "sub" "x" x
        Guard.notNull "sub" "y" y
        x - y

    /// Elementwise product with broadcasting.
    let mul (x: Tensor) (y: Tensor) =
        Guard.notNull "mul" "x" x
        Guard.notNull "mul" "y" y
        x * y

    /// Elementwise division with broadcasting.
    let div (x: Tensor) (y: Tensor) =
        Guard.notNull "div" "x" x
        Guard.notNull "div" "y" y
        x / y

    /// Elementwise tangent.
    let tan (x: Tensor) =
        Guard.notNull "tan" "x" x
        Tensor.Tan x

    /// Elementwise arcsine (|x| ≤ 1).
    let asin (x: Tensor) =
        Guard.notNull "asin" "x" x
        Tensor.Asin x

    /// Elementwise arccosine (|x| ≤ 1).
    let acos (x: Tensor) =
        Guard.notNull "acos" "x" x
        Tensor.Acos x

    /// Elementwise arctangent.
    let atan (x: Tensor) =
        Guard.notNull "atan" "x" x
        Tensor.Atan x

    /// Elementwise hyperbolic sine.
    let sinh (x: Tensor) =
        Guard.notNull "sinh" "x" x
        Tensor.Sinh x

    /// Elementwise hyperbolic cosine.
    let cosh (x: Tensor) =
        Guard.notNull "cosh" "x" x
        Tensor.Cosh x

    /// Elementwise log(1 + x), accurate near 0.
    let log1p (x: Tensor) =
        Guard.notNull "log1p" "x" x
        x.Log1p()

    /// Elementwise e^x − 1, accurate near 0.
    let expm1 (x: Tensor) =
        Guard.notNull "expm1" "x" x
        x.Expm1()

    /// Elementwise error function.
    let erf (x: Tensor) =
        Guard.notNull "erf" "x" x
        x.Erf()

    /// Elementwise |x|; its derivative at 0 is 0.
    let abs (x: Tensor) =
        Guard.notNull "abs" "x" x
        Tensor.Abs x

    /// Elementwise sign (-1, 0, 1); its derivative is 0.
    let sign (x: Tensor) =
        Guard.notNull "sign" "x" x
        x.Sign()

    /// The logistic sigmoid 1 / (1 + e^−x), stable at ±1000.
    let sigmoid (x: Tensor) =
        Guard.notNull "sigmoid" "x" x
        x.Sigmoid()

    /// log(1 + e^x), stable at ±1000; its derivative is sigmoid x.
    let softplus (x: Tensor) =
        Guard.notNull "softplus" "x" x
        Composite.Nn.softplus x

    /// max(x, 0); its derivative at 0 is 0.
    let relu (x: Tensor) =
        Guard.notNull "relu" "x" x
        Composite.Nn.relu x

    /// The elementwise larger of x and y (broadcasting); at ties each gets half the derivative.
    let maximum (x: Tensor) (y: Tensor) =
        Guard.notNull "maximum" "x" x
        Guard.notNull "maximum" "y" y

        Shape.broadcast "maximum" x.Aval.Shape y.Aval.Shape |> ignore
        x.Maximum y

    /// The elementwise smaller of x and y (broadcasting); at ties each gets half the derivative.
    let minimum (x: Tensor) (y: Tensor) =
        Guard.notNull "minimum" "x" x
        Guard.notNull "minimum" "y" y

        Shape.broadcast "minimum" x.Aval.Shape y.Aval.Shape |> ignore
        x.Minimum y

    /// `atan2 y x`: the angle of the point (x, y), elementwise with broadcasting.
    let atan2 (y: Tensor) (x: Tensor) =
        Guard.notNull "atan2" "y" y
        Guard.notNull "atan2" "x" x
        Tensor.Atan2(y, x)

    /// `clip lo hi x`: every element limited to [lo, hi]; the derivative is 0 outside and at
    /// the bounds. Raises ShapeException if a bound is NaN or lo > hi (swapped bounds).
    let clip (lo: float) (hi: float) (x: Tensor) =
        Guard.notNull "clip" "x" x

        if System.Double.IsNaN lo || System.Double.IsNaN hi then
            fail "clip: the bounds lo = %g and hi = %g must be numbers, not NaN (use infinity for no bound)." lo hi

        if lo > hi then
            fail "clip: lo = %g is greater than hi = %g, so no value lies in [lo, hi]. Swap them: clip lo hi x." lo hi

        x.Clip(lo, hi)

    // ---- comparisons and selection -----------------------------------------------------------

    /// x < y elementwise, a bool tensor.
    let lt (x: Tensor) (y: Tensor) =
        Guard.notNull "lt" "x" x
        Guard.notNull "lt" "y" y
        Prim.compare ltP x y

    /// x <= y elementwise.
    let le (x: Tensor) (y: Tensor) =
        Guard.notNull "le" "x" x
        Guard.notNull "le" "y" y
        Prim.compare leP x y

    /// x > y elementwise.
    let gt (x: Tensor) (y: Tensor) =
        Guard.notNull "gt" "x" x
        Guard.notNull "gt" "y" y
        Prim.compare gtP x y

    /// x >= y elementwise.
    let ge (x: Tensor) (y: Tensor) =
        Guard.notNull "ge" "x" x
        Guard.notNull "ge" "y" y
        Prim.compare geP x y

    /// x = y elementwise.
    let eq (x: Tensor) (y: Tensor) =
        Guard.notNull "eq" "x" x
        Guard.notNull "eq" "y" y
        Prim.compare eqP x y

    /// x <> y elementwise.
    let ne (x: Tensor) (y: Tensor) =
        Guard.notNull "ne" "x" x
        Guard.notNull "ne" "y" y
        Prim.compare neP x y

    /// `where cond a b`: `a` where `cond` is true, else `b` (broadcasting all three). Gradients
    /// flow only to the branch taken.
    let where (cond: Tensor) (onTrue: Tensor) (onFalse: Tensor) =
        Guard.notNull "where" "cond" cond
        Guard.notNull "where" "onTrue" onTrue
        Guard.notNull "where" "onFalse" onFalse
        Prim.where cond onTrue onFalse

    /// The identity, with a zero derivative.
    let stopGradient (x: Tensor) =
        Guard.notNull "stopGradient" "x" x
        Prim.stopGradient x

    /// Converts to another dtype (to Int64 truncates toward zero, to Bool tests <> 0).
    let convert (dtype: DType) (x: Tensor) =
        Guard.notNull "convert" "x" x
        Prim.convert dtype x

    // ---- reductions ---------------------------------------------------------------------------

    /// The sum of all elements, a scalar.
    let sum (x: Tensor) =
        Guard.notNull "sum" "x" x
        Prim.sum x
    // Every form of a reduction checks its axes (in range, none repeated) under its own name;
    // a bad axis raises ShapeException.

    /// Sums over the given axes (negative counts from the end); they disappear.
    let sumAxes (axes: int list) (x: Tensor) =
        Guard.notNull "sumAxes" "axes" axes
        Guard.notNull "sumAxes" "x" x

        Prim.sumAxes (Shape.normalizeAxes "sumAxes" x.Rank (Array.ofList axes)) x

    /// Sums over axes, keeping them as size-1 axes.
    let sumKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "sumKeepDims" "axes" axes
        Guard.notNull "sumKeepDims" "x" x

        let axes = Shape.normalizeAxes "sumKeepDims" x.Rank (Array.ofList axes)
        Composite.Statistics.keepDims axes x (Prim.sumAxes axes x)

    /// The mean of all elements (NaN for an empty tensor, as NumPy).
    let mean (x: Tensor) =
        Guard.notNull "mean" "x" x

        Composite.Statistics.mean "mean" (Composite.Statistics.allAxes x) x

    /// The mean over axes.
    let meanAxes (axes: int list) (x: Tensor) =
        Guard.notNull "meanAxes" "axes" axes
        Guard.notNull "meanAxes" "x" x

        Composite.Statistics.mean "meanAxes" (Array.ofList axes) x

    /// The mean over axes, keeping them as size-1 axes.
    let meanKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "meanKeepDims" "axes" axes
        Guard.notNull "meanKeepDims" "x" x

        let axes = Array.ofList axes
        Composite.Statistics.keepDims axes x (Composite.Statistics.mean "meanKeepDims" axes x)

    /// The largest element (raises ShapeException for an empty tensor).
    let max (x: Tensor) =
        Guard.notNull "max" "x" x

        Composite.Statistics.extreme "max" reduceMaxP (Composite.Statistics.allAxes x) x

    /// The largest elements over axes; at ties the derivative is shared equally. Raises
    /// ShapeException for an empty axis.
    let maxAxes (axes: int list) (x: Tensor) =
        Guard.notNull "maxAxes" "axes" axes
        Guard.notNull "maxAxes" "x" x

        Composite.Statistics.extreme "maxAxes" reduceMaxP (Array.ofList axes) x

    /// The largest elements over axes, keeping them as size-1 axes.
    let maxKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "maxKeepDims" "axes" axes
        Guard.notNull "maxKeepDims" "x" x

        let axes = Array.ofList axes
        Composite.Statistics.keepDims axes x (Composite.Statistics.extreme "maxKeepDims" reduceMaxP axes x)

    /// The smallest element (raises ShapeException for an empty tensor).
    let min (x: Tensor) =
        Guard.notNull "min" "x" x

        Composite.Statistics.extreme "min" reduceMinP (Composite.Statistics.allAxes x) x

    /// The smallest elements over axes; at ties the derivative is shared equally. Raises
    /// ShapeException for an empty axis.
    let minAxes (axes: int list) (x: Tensor) =
        Guard.notNull "minAxes" "axes" axes
        Guard.notNull "minAxes" "x" x

        Composite.Statistics.extreme "minAxes" reduceMinP (Array.ofList axes) x

    /// The smallest elements over axes, keeping them as size-1 axes.
    let minKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "minKeepDims" "axes" axes
        Guard.notNull "minKeepDims" "x" x

        let axes = Array.ofList axes
        Composite.Statistics.keepDims axes x (Composite.Statistics.extreme "minKeepDims" reduceMinP axes x)

    /// The product of all elements (its gradient is exact where elements are 0; 1 for an empty
    /// tensor).
    let prod (x: Tensor) =
        Guard.notNull "prod" "x" x

        Prim.reduce reduceProdP (Composite.Statistics.allAxes x) x

    /// The product over axes.
    let prodAxes (axes: int list) (x: Tensor) =
        Guard.notNull "prodAxes" "axes" axes
        Guard.notNull "prodAxes" "x" x

        Prim.reduce reduceProdP (Shape.normalizeAxes "prodAxes" x.Rank (Array.ofList axes)) x

    /// The product over axes, keeping them as size-1 axes.
    let prodKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "prodKeepDims" "axes" axes
        Guard.notNull "prodKeepDims" "x" x

        let axes = Shape.normalizeAxes "prodKeepDims" x.Rank (Array.ofList axes)
        Composite.Statistics.keepDims axes x (Prim.reduce reduceProdP axes x)

    /// The population variance of all elements (NumPy's default, ddof = 0; NaN when empty).
    let var (x: Tensor) =
        Guard.notNull "var" "x" x

        Composite.Statistics.var "var" (Composite.Statistics.allAxes x) x

    /// The population variance over axes.
    let varAxes (axes: int list) (x: Tensor) =
        Guard.notNull "varAxes" "axes" axes
        Guard.notNull "varAxes" "x" x

        Composite.Statistics.var "varAxes" (Array.ofList axes) x

    /// The population variance over axes, keeping them as size-1 axes.
    let varKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "varKeepDims" "axes" axes
        Guard.notNull "varKeepDims" "x" x

        let axes = Array.ofList axes
        Composite.Statistics.keepDims axes x (Composite.Statistics.var "varKeepDims" axes x)

    /// The population standard deviation of all elements.
    let std (x: Tensor) =
        Guard.notNull "std" "x" x

        Composite.Statistics.std "std" (Composite.Statistics.allAxes x) x

    /// The population standard deviation over axes.
    let stdAxes (axes: int list) (x: Tensor) =
        Guard.notNull "stdAxes" "axes" axes
        Guard.notNull "stdAxes" "x" x

        Composite.Statistics.std "stdAxes" (Array.ofList axes) x

    /// The population standard deviation over axes, keeping them as size-1 axes.
    let stdKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "stdKeepDims" "axes" axes
        Guard.notNull "stdKeepDims" "x" x

        let axes = Array.ofList axes
        Composite.Statistics.keepDims axes x (Composite.Statistics.std "stdKeepDims" axes x)

    /// log Σ exp x over all elements, a scalar, stable at ±1000 (raises ShapeException for an
    /// empty tensor, as JAX).
    let logSumExp (x: Tensor) =
        Guard.notNull "logSumExp" "x" x

        Composite.Statistics.logSumExp "logSumExp" (Composite.Statistics.allAxes x) x

    /// log Σ exp x over axes, stable at ±1000.
    let logSumExpAxes (axes: int list) (x: Tensor) =
        Guard.notNull "logSumExpAxes" "axes" axes
        Guard.notNull "logSumExpAxes" "x" x

        Composite.Statistics.logSumExp "logSumExpAxes" (Array.ofList axes) x

    /// log Σ exp x over axes, keeping them as size-1 axes.
    let logSumExpKeepDims (axes: int list) (x: Tensor) =
        Guard.notNull "logSumExpKeepDims" "axes" axes
        Guard.notNull "logSumExpKeepDims" "x" x

        Composite.Statistics.logSumExpKeepDims "logSumExpKeepDims" (Array.ofList axes) x

    /// Softmax along the last axis (JAX's default), stable at ±1000. Raises ShapeException for
    /// a scalar or an empty axis.
    let softmax (x: Tensor) =
        Guard.notNull "softmax" "x" x
        Composite.Nn.softmax "softmax" -1 x

    /// Softmax along an axis.
    let softmaxAxis (axis: int) (x: Tensor) =
        Guard.notNull "softmaxAxis" "x" x

        Composite.Nn.softmax "softmaxAxis" axis x

    /// log softmax along the last axis, stable at ±1000.
    let logSoftmax (x: Tensor) =
        Guard.notNull "logSoftmax" "x" x

        Composite.Nn.logSoftmax "logSoftmax" -1 x

    /// log softmax along an axis.
    let logSoftmaxAxis (axis: int) (x: Tensor) =
        Guard.notNull "logSoftmaxAxis" "x" x

        Composite.Nn.logSoftmax "logSoftmaxAxis" axis x

    /// The 2-norm of all elements (Frobenius for a matrix). Its gradient at 0 is 0, not NaN.
    let norm (x: Tensor) =
        Guard.notNull "norm" "x" x
        Composite.Nn.norm x

    /// The flat index of the first largest element (int64 scalar), as NumPy's argmax. Raises
    /// ShapeException for an empty tensor.
    let argmax (x: Tensor) =
        Guard.notNull "argmax" "x" x

        Composite.Statistics.argFlat "argmax" argmaxP x

    /// The index of the first largest element along an axis (int64).
    let argmaxAxis (axis: int) (x: Tensor) =
        Guard.notNull "argmaxAxis" "x" x

        Composite.Statistics.argAxis "argmaxAxis" argmaxP axis x

    /// The flat index of the first smallest element (int64 scalar), as NumPy's argmin.
    let argmin (x: Tensor) =
        Guard.notNull "argmin" "x" x

        Composite.Statistics.argFlat "argmin" argminP x

    /// The index of the first smallest element along an axis (int64).
    let argminAxis (axis: int) (x: Tensor) =
        Guard.notNull "argminAxis" "x" x

        Composite.Statistics.argAxis "argminAxis" argminP axis x

    /// The cumulative sum of the flattened tensor (NumPy's cumsum without an axis).
    let cumsum (x: Tensor) =
        Guard.notNull "cumsum" "x" x
        Composite.Statistics.cumsumFlat x

    /// The cumulative sum along an axis.
    let cumsumAxis (axis: int) (x: Tensor) =
        Guard.notNull "cumsumAxis" "x" x

        Prim.cumsum (Shape.normalizeAxis "cumsumAxis" x.Rank axis) false x

    // ---- linear algebra ---------------------------------------------------------------------

    /// NumPy's dot: 1-d · 1-d is a scalar; 2-d · 2-d the matrix product; N-d · M-d the sum
    /// product over x's last axis and y's second-to-last.
    let dot (x: Tensor) (y: Tensor) =
        Guard.notNull "dot" "x" x
        Guard.notNull "dot" "y" y
        Composite.LinearAlgebra.dot x y

    /// NumPy's matmul: a 2-d · 1-d product is 1-d; leading batch axes broadcast.
    let matmul (x: Tensor) (y: Tensor) =
        Guard.notNull "matmul" "x" x
        Guard.notNull "matmul" "y" y
        Composite.LinearAlgebra.matmul x y

    /// The outer product of the flattened operands.
    let outer (x: Tensor) (y: Tensor) =
        Guard.notNull "outer" "x" x
        Guard.notNull "outer" "y" y
        // a result too large is reported under this op's name, before the composite's steps
        Shape.checkDimensions "outer" [| x.Size; y.Size |]
        Composite.LinearAlgebra.outer x y

    /// A vector becomes a diagonal matrix; a matrix gives its diagonal.
    let diag (x: Tensor) =
        Guard.notNull "diag" "x" x

        if x.Rank = 1 then
            Shape.checkDimensions "diag" [| x.Size; x.Size |]

        Composite.LinearAlgebra.diag x

    /// The sum of a matrix's diagonal.
    let trace (x: Tensor) =
        Guard.notNull "trace" "x" x
        Composite.LinearAlgebra.trace x

    // ---- shapes -------------------------------------------------------------------------------

    /// Einstein summation as NumPy's `einsum`: `Tensor.einsum "ij,jk->ik" [ a; b ]` (a matrix
    /// product), "ij->ji", "ii->i" (a diagonal), "ii" (a trace), "bij,bjk->bik", "...ij,...jk"
    /// (broadcast axes), implicit output ("ij,jk": the letters used once, sorted). Three or more
    /// operands are contracted pairwise, the cheapest result first. Lowered to dot_general,
    /// transposes and sums, so every transform applies.
    let einsum (subscripts: string) (xs: Tensor list) =
        Guard.notNull "einsum" "subscripts" subscripts
        Guard.notNullElements "einsum" "xs" xs
        Composite.Einsum.einsum subscripts (Array.ofList xs)

    /// NumPy's tensordot: contracts axis `axesA[k]` of `a` with `axesB[k]` of `b` for each k;
    /// the result's axes are a's other axes, then b's.
    let tensordot (axesA: int list) (axesB: int list) (a: Tensor) (b: Tensor) =
        Guard.notNull "tensordot" "axesA" axesA
        Guard.notNull "tensordot" "axesB" axesB
        Guard.notNull "tensordot" "a" a
        Guard.notNull "tensordot" "b" b
        Composite.Einsum.tensordot (Array.ofList axesA) (Array.ofList axesB) a b

    /// tensordot over the last `n` axes of `a` and the first `n` of `b` (NumPy's `axes=n`).
    let tensordotN (n: int) (a: Tensor) (b: Tensor) =
        Guard.notNull "tensordot" "a" a
        Guard.notNull "tensordot" "b" b
        Composite.Einsum.tensordotN n a b

    /// The same values in a new shape (one dimension may be -1, inferred). Raises
    /// ShapeException if the sizes do not multiply to the element count.
    let reshape (shape: int[]) (x: Tensor) =
        Guard.notNull "reshape" "shape" shape
        Guard.notNull "reshape" "x" x

        for k in 0 .. shape.Length - 1 do
            if shape.[k] < -1 then
                fail
                    "reshape: shape %s has a negative dimension (%d at axis %d); sizes must be 0 or more, and one of them may be -1 to infer it."
                    (Shape.show shape)
                    shape.[k]
                    k

        Prim.reshape shape x

    /// All values in one axis.
    let flatten (x: Tensor) =
        Guard.notNull "flatten" "x" x
        Prim.reshape [| x.Size |] x

    /// Permutes axes: output axis i is input axis `perm[i]` (a permutation of 0..rank-1;
    /// negative axes count from the end).
    let transposeAxes (perm: int[]) (x: Tensor) =
        Guard.notNull "transposeAxes" "perm" perm
        Guard.notNull "transposeAxes" "x" x

        let normalized = perm |> Array.map (Shape.normalizeAxis "transposeAxes" x.Rank)
        Shape.checkPermutation "transposeAxes" x.Rank normalized
        Prim.transpose normalized x

    /// Reverses the axes (matrix transpose for rank 2).
    let transpose (x: Tensor) =
        Guard.notNull "transpose" "x" x
        x.T

    /// Broadcasts to a shape, NumPy-style (trailing axes aligned). Raises ShapeException if
    /// `x`'s shape does not broadcast to it.
    let broadcastTo (shape: int[]) (x: Tensor) =
        Guard.notNull "broadcastTo" "shape" shape
        Guard.notNull "broadcastTo" "x" x

        Shape.checkDimensions "broadcastTo" shape
        Prim.broadcastTo shape x

    /// Inserts an axis of size 1 at `axis` (-(rank+1)..rank).
    let expandDims (axis: int) (x: Tensor) =
        Guard.notNull "expandDims" "x" x

        let rank = x.Rank + 1

        if axis < -rank || axis >= rank then
            fail
                "expandDims: axis %d is out of range for a tensor of rank %d (the result has rank %d; valid axes are %d..%d)."
                axis
                x.Rank
                rank
                -rank
                (rank - 1)

        Prim.expandDims axis x

    /// `slice start stop x`: elements `start .. stop-1` of axis 0 (NumPy's exclusive stop;
    /// negative bounds count from the end, out-of-range bounds clamp). Raises ShapeException
    /// for a scalar.
    let slice (start: int) (stop: int) (x: Tensor) =
        Guard.notNull "slice" "x" x

        Prim.sliceAxis (Shape.normalizeAxis "slice" x.Rank 0) start stop x

    /// `sliceAxis axis start stop x`: the same on any axis.
    let sliceAxis (axis: int) (start: int) (stop: int) (x: Tensor) =
        Guard.notNull "sliceAxis" "x" x

        Prim.sliceAxis (Shape.normalizeAxis "sliceAxis" x.Rank axis) start stop x

    /// Index `i` of axis 0, one rank lower (same as `x.[i]`); raises ShapeException for an
    /// index out of range or a scalar.
    let index (i: int) (x: Tensor) =
        Guard.notNull "index" "x" x

        if x.Rank = 0 then
            fail
                "index: a scalar has no axis 0 to index (index %d). Use the scalar itself, or Tensor.toScalar for its value."
                i

        x.[i]

    /// Removes every axis of size 1.
    let squeeze (x: Tensor) =
        Guard.notNull "squeeze" "x" x
        Composite.Shaping.squeeze x

    /// Removes one axis of size 1 (raises ShapeException if its size is not 1).
    let squeezeAxis (axis: int) (x: Tensor) =
        Guard.notNull "squeezeAxis" "x" x

        Composite.Shaping.squeezeAxis "squeezeAxis" axis x

    /// Splits into `sections` equal parts along axis 0 (raises ShapeException unless
    /// `sections` divides its size).
    let split (sections: int) (x: Tensor) =
        Guard.notNull "split" "x" x

        Composite.Shaping.split "split" sections 0 x

    /// Splits into `sections` equal parts along an axis.
    let splitAxis (sections: int) (axis: int) (x: Tensor) =
        Guard.notNull "splitAxis" "x" x

        Composite.Shaping.split "splitAxis" sections axis x

    /// `take indices x`: the elements of the flattened `x` at `indices` (NumPy's take); the
    /// result has the indices' shape. Indices are int64, or float64 holding whole numbers;
    /// negative ones count from the end. An index out of range, not whole, NaN, or a bool index
    /// tensor raises ShapeException.
    let take (indices: Tensor) (x: Tensor) =
        Guard.notNull "take" "indices" indices
        Guard.notNull "take" "x" x
        Composite.Shaping.take "take" indices x

    /// `takeAxis axis indices x`: slices of `x` along `axis` at `indices` (gather), checked as
    /// in `take`.
    let takeAxis (axis: int) (indices: Tensor) (x: Tensor) =
        Guard.notNull "takeAxis" "indices" indices
        Guard.notNull "takeAxis" "x" x

        Composite.Shaping.takeAxis "takeAxis" axis indices x

    /// NumPy's take_along_axis: `result[..., i, ...] = x[..., indices[..., i, ...], ...]` along
    /// `axis`; `indices` (int64) has `x`'s shape except along `axis` (any length there).
    /// Differentiable in `x` (a gather, whose transpose is a scatter-add).
    let takeAlongAxis (axis: int) (indices: Tensor) (x: Tensor) =
        Guard.notNull "takeAlongAxis" "indices" indices
        Guard.notNull "takeAlongAxis" "x" x
        let axis = Shape.normalizeAxis "takeAlongAxis" x.Rank axis

        if
            indices.Rank <> x.Rank
            || (Array.removeAt axis indices.Shape) <> (Array.removeAt axis x.Shape)
        then
            raise (
                ShapeException(
                    sprintf
                        "takeAlongAxis: indices of shape %s do not match x of shape %s except along axis %d; give indices x's shape with any length along the axis."
                        (Shape.show indices.Shape)
                        (Shape.show x.Shape)
                        axis
                )
            )

        // the axis last, every lane flattened: lane r's index i is element r·n + i
        let last = x.Rank - 1

        let perm =
            Array.init x.Rank (fun k ->
                if k = axis then last
                elif k = last then axis
                else k)

        let xt = transposeAxes perm x
        let it = transposeAxes perm indices
        let n = x.Shape.[axis]
        let k = it.Shape.[last]
        let lanes = if k = 0 then 0 else it.Size / k

        let offsets =
            reshape (Array.append it.Shape.[.. last - 1] [| 1 |]) (convert Int64 (arange lanes * float n))

        let flat = take (reshape [| -1 |] (it + offsets)) (reshape [| -1 |] xt)
        transposeAxes perm (reshape it.Shape flat)

    /// NumPy's integer-array (advanced) indexing of the leading k axes, `x[i₀, ..., i_(k−1)]`:
    /// `indexWith [i₀; ...; i_(k−1)] x` with k int64 index tensors that broadcast to one shape
    /// B gives shape B ++ x.shape[k..], element b being x[i₀[b], ..., i_(k−1)[b], ...].
    /// Negative indices count from the end; an index out of range raises ShapeException naming
    /// the axis and its size. Differentiable in `x` (one gather over the leading axes
    /// flattened), and under vmap and jit. (`index i x` takes one int; `takeAxis` one axis.)
    let indexWith (indices: Tensor list) (x: Tensor) =
        Guard.notNullElements "indexWith" "indices" indices
        Guard.notNull "indexWith" "x" x
        Composite.Shaping.indexArrays "indexWith" (Array.ofList indices) x

    /// The update indices and values of `atSet`/`atAdd` in one form: a vector of k int64
    /// indices into axis 0 and values of shape [k] ++ x.shape[1..] (a scalar index takes values
    /// of x.shape[1..]; values broadcast as NumPy's do).
    let private updates (op: string) (indices: Tensor) (values: Tensor) (x: Tensor) =
        Guard.notNull op "indices" indices
        Guard.notNull op "values" values
        Guard.notNull op "x" x

        if x.Rank = 0 then
            raise (ShapeException(sprintf "%s: x is a scalar (rank 0); index updates need an axis to index." op))

        if indices.DType = Bool || indices.Rank > 1 then
            raise (
                ShapeException(
                    sprintf
                        "%s: indices must be an int64 vector or scalar of positions along axis 0, got %O. For a boolean mask use Tensor.where."
                        op
                        indices.Aval
                )
            )

        let n = x.Shape.[0]

        // known indices are checked here, under the op's name (unknown ones, under makeIR, by
        // the kernel when the program runs)
        match Prim.knownValues op indices with
        | ValueSome known ->
            for k in 0 .. known.Size - 1 do
                let v = known.At k

                if not (v >= -float n && v < float n && v = System.Math.Floor v) then
                    raise (
                        ShapeException(
                            sprintf
                                "%s: index %g is not a position along axis 0 of x %O (whole numbers from -%d to %d). Check the indices."
                                op
                                v
                                x.Aval
                                n
                                (n - 1)
                        )
                    )
        | ValueNone -> ()

        let idx =
            convert
                Int64
                (if indices.Rank = 0 then
                     reshape [| 1 |] indices
                 else
                     indices)

        let target = Array.append [| idx.Size |] x.Shape.[1..]

        let values =
            if indices.Rank = 0 && values.Rank = x.Rank - 1 then
                reshape target values
            else
                values

        idx, broadcastTo target values

    /// A copy of `x` with `x[indices[j]] = values[j]` along axis 0 (JAX's `x.at[idx].set(v)`):
    /// negative indices count from the end, out-of-range ones raise; of duplicate indices the
    /// last update wins (JAX leaves the order unspecified). Differentiable in `x` (zero where
    /// overwritten) and in `values` (each written element's gradient goes to its update).
    let atSet (indices: Tensor) (values: Tensor) (x: Tensor) =
        let idx, values = updates "atSet" indices values x
        let n = x.Shape.[0]

        let writer =
            Interpreter.Bind1(
                Primitives.IndexUpdates.lastWriterP,
                [| idx |],
                Params [| "size", Int n; "occurrence", Int -1 |]
            )

        let hit = Prim.broadcastInDim x.Shape [| 0 |] (ge writer (scalar 0.0))
        let picked = Prim.gather 0 values (maximum writer (scalar 0.0) |> convert Int64)
        where hit picked x

    /// A copy of `x` with `values[j]` added at `x[indices[j]]` along axis 0 (JAX's
    /// `x.at[idx].add(v)`): duplicate indices add up; negative indices count from the end.
    let atAdd (indices: Tensor) (values: Tensor) (x: Tensor) =
        let idx, values = updates "atAdd" indices values x
        let n = x.Shape.[0]
        // positions checked (and negative ones wrapped) as atSet's are
        Interpreter.Bind1(
            Primitives.IndexUpdates.lastWriterP,
            [| idx |],
            Params [| "size", Int n; "occurrence", Int -1 |]
        )
        |> ignore

        let wrapped =
            where (lt idx (scalar 0.0)) (idx + scalar (float n) |> convert Int64) idx

        x + Prim.scatterAdd 0 n values wrapped

    /// Folds the updates into `x` one occurrence at a time: round r combines, at each position,
    /// the r-th update that writes it (if any) with what is there. The rounds are as many as the
    /// most repeated index when the indices are known now, else one per update.
    let private foldUpdates
        (op: string)
        (combine: Tensor -> Tensor -> Tensor)
        (indices: Tensor)
        (values: Tensor)
        (x: Tensor)
        =
        let idx, values = updates op indices values x
        let n = x.Shape.[0]

        let rounds =
            match Prim.knownValues op idx with
            | ValueSome known ->
                Array.init known.Size (fun k -> let v = known.At k in if v < 0.0 then v + float n else v)
                |> Array.countBy id
                |> Array.fold (fun m (_, c) -> Operators.max m c) 0
            | ValueNone -> idx.Size

        let mutable out = x

        for r in 0 .. rounds - 1 do
            let writer =
                Interpreter.Bind1(
                    Primitives.IndexUpdates.lastWriterP,
                    [| idx |],
                    Params [| "size", Int n; "occurrence", Int r |]
                )

            let hit = Prim.broadcastInDim x.Shape [| 0 |] (ge writer (scalar 0.0))
            let picked = Prim.gather 0 values (maximum writer (scalar 0.0) |> convert Int64)
            out <- where hit (combine out picked) out

        out

    /// A copy of `x` with `x[indices[j]]` multiplied by `values[j]` along axis 0 (JAX's
    /// `x.at[idx].multiply(v)`): duplicates multiply in turn; exact (and differentiable) with
    /// zeros, since nothing is divided.
    let atMul (indices: Tensor) (values: Tensor) (x: Tensor) =
        foldUpdates "atMul" (*) indices values x

    /// A copy of `x` with `x[indices[j]] = min(x[indices[j]], values[j])` (JAX's `.at[].min`);
    /// the derivative follows `minimum`'s (a tie splits it).
    let atMin (indices: Tensor) (values: Tensor) (x: Tensor) =
        foldUpdates "atMin" minimum indices values x

    /// A copy of `x` with `x[indices[j]] = max(x[indices[j]], values[j])` (JAX's `.at[].max`).
    let atMax (indices: Tensor) (values: Tensor) (x: Tensor) =
        foldUpdates "atMax" maximum indices values x

    /// NumPy's `x[mask]`: the elements (or, for a mask over x's leading axes, the sub-arrays)
    /// where `mask` is true, along a new first axis. The result's length depends on the mask's
    /// values, so the mask must be known now: eagerly, or as a constant under grad; under makeIR
    /// or jit it raises ConcretizationException (keep the shape with `Tensor.where` instead).
    /// Differentiable in `x`.
    let extract (mask: Tensor) (x: Tensor) =
        Guard.notNull "extract" "mask" mask
        Guard.notNull "extract" "x" x

        if
            mask.DType <> Bool
            || mask.Rank > x.Rank
            || mask.Shape <> x.Shape.[.. mask.Rank - 1]
        then
            raise (
                ShapeException(
                    sprintf
                        "extract: the mask must be bool with x's shape or its leading axes, got %O for x %O. Build one with a comparison, e.g. x .> 0.0."
                        mask.Aval
                        x.Aval
                )
            )

        let known =
            match Prim.knownValues "extract" mask with
            | ValueSome values -> values
            | ValueNone ->
                raise (
                    ConcretizationException
                        "extract: a boolean mask selects a number of elements that depends on its values, so it cannot be traced (makeIR, jit). Keep the shape with Tensor.where mask x (Tensor.zerosLike x), or compute the mask outside the traced function."
                )

        let positions =
            [|
                for k in 0 .. known.Size - 1 do
                    if known.At k <> 0.0 then
                        float k
            |]

        let rows = reshape (Array.append [| mask.Size |] x.Shape.[mask.Rank ..]) x
        Prim.gather 0 rows (convert Int64 (ofArray positions))

    /// The indices that sort `x` along `axis` (int64): stable, NaN last, as NumPy's argsort
    /// with kind='stable'.
    let argsortAxis (axis: int) (x: Tensor) =
        Guard.notNull "argsort" "x" x
        let axis = Shape.normalizeAxis "argsort" x.Rank axis
        Interpreter.Bind1(Primitives.Sorting.argsortP, [| x |], Params [| "axis", Int axis; "descending", Int 0 |])

    /// The indices that sort `x` along its last axis (int64); see `argsortAxis`.
    let argsort (x: Tensor) = argsortAxis -1 x

    /// `x` sorted along `axis`, ascending, NaN last; differentiable (the values are gathered
    /// by the sorting permutation, so each gradient element goes back to where it came from).
    let sortAxis (axis: int) (x: Tensor) =
        Guard.notNull "sort" "x" x
        takeAlongAxis axis (argsortAxis axis x) x

    /// `x` sorted along its last axis; see `sortAxis`.
    let sort (x: Tensor) = sortAxis -1 x

    /// The `k` largest elements along the last axis, largest first, and their indices (int64):
    /// of equal elements the lower index comes first, NaN last (as `lax.top_k` orders ties).
    /// The values are differentiable.
    let topK (k: int) (x: Tensor) : Tensor * Tensor =
        Guard.notNull "topK" "x" x

        if x.Rank = 0 || k < 0 || k > x.Shape.[x.Rank - 1] then
            raise (
                ShapeException(
                    sprintf
                        "topK: k = %d for a tensor of shape %s; k must be between 0 and the size of the last axis."
                        k
                        (Shape.show x.Shape)
                )
            )

        let order =
            Interpreter.Bind1(
                Primitives.Sorting.argsortP,
                [| x |],
                Params [| "axis", Int(x.Rank - 1); "descending", Int 1 |]
            )

        let top = sliceAxis (x.Rank - 1) 0 k order
        takeAlongAxis -1 top x, top

    /// NumPy's searchsorted: for each element of `v`, the index in the sorted vector `sorted`
    /// where it would be inserted to keep it sorted (before equal elements; NaN at the end);
    /// int64 of `v`'s shape.
    let searchsorted (sorted: Tensor) (v: Tensor) =
        Guard.notNull "searchsorted" "sorted" sorted
        Guard.notNull "searchsorted" "v" v
        Interpreter.Bind1(Primitives.Sorting.searchsortedP, [| sorted; v |], Params [| "right", Int 0 |])

    /// searchsorted with side='right': after equal elements.
    let searchsortedRight (sorted: Tensor) (v: Tensor) =
        Guard.notNull "searchsorted" "sorted" sorted
        Guard.notNull "searchsorted" "v" v
        Interpreter.Bind1(Primitives.Sorting.searchsortedP, [| sorted; v |], Params [| "right", Int 1 |])

    /// One-hot rows: labels of shape s give float64 of shape s ++ [n]. Labels are whole numbers
    /// in 0..n-1 (int64 or float64); another label raises ShapeException (checked when the
    /// labels' values are known, i.e. not under makeIR).
    let oneHot (n: int) (labels: Tensor) =
        Guard.notNull "oneHot" "labels" labels

        if n > 0 then
            // the result's size under oneHot's name (the composite's comparison would name eq)
            Shape.checkDimensions "oneHot" (Array.append labels.Aval.Shape [| n |])
            Composite.Shaping.checkLabels "oneHot" n labels

        Composite.Nn.oneHot n labels

    // ==== NumPy breadth (issue 16): rounding, tests, activations, structural ops =============
    // (implemented in Composite/Rounding.fs, Composite/Activations.fs, Composite/Arrange.fs,
    // Composite/Padding.fs, Composite/Scans.fs and Primitives/Rounding.fs)

    // ---- rounding and tests ------------------------------------------------------------------

    /// ⌊x⌋ elementwise (float64 out, as NumPy's floor); its derivative is 0 (JAX's convention,
    /// also at the jumps).
    let floor (x: Tensor) =
        Guard.notNull "floor" "x" x
        Prim.floatUnary floorP x

    /// ⌈x⌉ elementwise (float64 out); its derivative is 0.
    let ceil (x: Tensor) =
        Guard.notNull "ceil" "x" x
        Prim.floatUnary ceilP x

    /// The nearest integer, halves to even as NumPy's round (0.5 → 0, 1.5 → 2, 2.5 → 2,
    /// −0.5 → −0); float64 out; its derivative is 0.
    let round (x: Tensor) =
        Guard.notNull "round" "x" x
        Prim.floatUnary roundP x

    /// The integer part, toward zero (float64 out); its derivative is 0, as JAX's.
    let trunc (x: Tensor) =
        Guard.notNull "trunc" "x" x
        Prim.floatUnary truncP x

    /// Whether each element is NaN (a bool tensor; false for int64 and bool tensors).
    let isnan (x: Tensor) =
        Guard.notNull "isnan" "x" x
        Composite.Rounding.isnan x

    /// Whether each element is +∞ or −∞ (a bool tensor).
    let isinf (x: Tensor) =
        Guard.notNull "isinf" "x" x
        Composite.Rounding.isinf x

    /// Whether each element is finite: neither NaN nor ±∞ (a bool tensor).
    let isfinite (x: Tensor) =
        Guard.notNull "isfinite" "x" x
        Composite.Rounding.isfinite x

    /// NumPy's nan_to_num with its defaults: NaN → 0, +∞ → the largest float64, −∞ → the most
    /// negative; other elements (and their derivatives) unchanged, a replaced one's derivative 0.
    let nanToNum (x: Tensor) =
        Guard.notNull "nanToNum" "x" x
        Composite.Rounding.nanToNum 0.0 System.Double.MaxValue -System.Double.MaxValue x

    /// `nanToNumWith nan posinf neginf x`: nan_to_num with the replacements given.
    let nanToNumWith (nan: float) (posinf: float) (neginf: float) (x: Tensor) =
        Guard.notNull "nanToNumWith" "x" x
        Composite.Rounding.nanToNum nan posinf neginf x

    // ---- activations and friends -------------------------------------------------------------

    /// The exact GELU, x · Φ(x) = ½ x (1 + erf(x / √2)) (PyTorch's default; JAX's default is
    /// the tanh form, `geluTanh`). gelu 0 = 0 with derivative ½.
    let gelu (x: Tensor) =
        Guard.notNull "gelu" "x" x
        Composite.Activations.gelu x

    /// The tanh approximation of GELU, ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))) (JAX's
    /// `gelu(approximate=True)`, PyTorch's `approximate='tanh'`).
    let geluTanh (x: Tensor) =
        Guard.notNull "geluTanh" "x" x
        Composite.Activations.geluTanh x

    /// x · σ(x) (swish).
    let silu (x: Tensor) =
        Guard.notNull "silu" "x" x
        Composite.Activations.silu x

    /// log(eˣ + eʸ) elementwise with broadcasting, without overflow (logAddExp 1000 1000 =
    /// 1000 + log 2); its derivatives are exact also at ties (∂/∂x = ½ at x = y).
    let logAddExp (x: Tensor) (y: Tensor) =
        Guard.notNull "logAddExp" "x" x
        Guard.notNull "logAddExp" "y" y
        Shape.broadcast "logAddExp" x.Aval.Shape y.Aval.Shape |> ignore
        Composite.Activations.logAddExp x y

    /// √(x² + y²) elementwise with broadcasting, without overflow (hypot 1e200 1e200 is
    /// finite); its derivative at (0, 0) is 0.
    let hypot (x: Tensor) (y: Tensor) =
        Guard.notNull "hypot" "x" x
        Guard.notNull "hypot" "y" y
        Shape.broadcast "hypot" x.Aval.Shape y.Aval.Shape |> ignore
        Composite.Activations.hypot x y

    /// log(x / (1 − x)), the inverse of sigmoid (−∞ at 0, +∞ at 1).
    let logit (x: Tensor) =
        Guard.notNull "logit" "x" x
        Composite.Activations.logit x

    /// x · log y with broadcasting, 0 where x = 0 (scipy's xlogy; NaN where y is NaN). Its
    /// derivative in x is log y (also at x = 0: −∞ at y = 0, as JAX's); in y, x / y, 0 where x = 0.
    let xlogy (x: Tensor) (y: Tensor) =
        Guard.notNull "xlogy" "x" x
        Guard.notNull "xlogy" "y" y
        Shape.broadcast "xlogy" x.Aval.Shape y.Aval.Shape |> ignore
        Composite.Activations.xlogy x y

    // ---- structural: pad, flip, roll, tile, repeat, meshgrid, diff ---------------------------

    let private pairs (op: string) (widths: (int * int) list) =
        Guard.notNull op "widths" widths
        widths |> List.map (fun (lo, hi) -> struct (lo, hi)) |> Array.ofList

    /// `pad widths value x`: NumPy's pad in mode 'constant', `value` around `x`; `widths` is one
    /// (before, after) pair per axis, or one pair for every axis. Raises ShapeException for a
    /// negative width or a wrong number of pairs.
    let pad (widths: (int * int) list) (value: float) (x: Tensor) =
        Guard.notNull "pad" "x" x
        Composite.Padding.constant "pad" (pairs "pad" widths) value x

    /// NumPy's pad in mode 'edge': the edge elements repeated outward.
    let padEdge (widths: (int * int) list) (x: Tensor) =
        Guard.notNull "padEdge" "x" x
        Composite.Padding.edge "padEdge" (pairs "padEdge" widths) x

    /// NumPy's pad in mode 'reflect': mirrored about the edges, the edge not repeated
    /// ([1; 2; 3] by (2, 2) gives [3; 2; 1; 2; 3; 2; 1]); wider pads reflect again, as NumPy's.
    let padReflect (widths: (int * int) list) (x: Tensor) =
        Guard.notNull "padReflect" "x" x
        Composite.Padding.reflect "padReflect" (pairs "padReflect" widths) x

    /// Reverses the order of the elements along each of `axes` (negative count from the end).
    let flip (axes: int list) (x: Tensor) =
        Guard.notNull "flip" "axes" axes
        Guard.notNull "flip" "x" x
        Composite.Arrange.flip "flip" (Array.ofList axes) x

    /// `roll shift axis x`: the elements shifted `shift` places toward the end of `axis`, those
    /// past the end coming back at the start (NumPy's roll; roll 1 0 [1; 2; 3] = [3; 1; 2]).
    let roll (shift: int) (axis: int) (x: Tensor) =
        Guard.notNull "roll" "x" x
        Composite.Arrange.roll "roll" shift axis x

    /// NumPy's tile: `reps.[k]` copies along axis k (the shorter of the shape and `reps`
    /// padded with leading 1s).
    let tile (reps: int[]) (x: Tensor) =
        Guard.notNull "tile" "reps" reps
        Guard.notNull "tile" "x" x
        Composite.Arrange.tile "tile" reps x

    /// `repeat repeats axis x`: each element `repeats` times in a row along `axis` (NumPy's
    /// repeat with one count: repeat 2 0 [1; 2] = [1; 1; 2; 2]).
    let repeat (repeats: int) (axis: int) (x: Tensor) =
        Guard.notNull "repeat" "x" x
        Composite.Arrange.repeat "repeat" repeats axis x

    /// `repeatEach counts axis x`: element i along `axis` `counts.[i]` times in a row (NumPy's
    /// repeat with one count per element: repeatEach [1; 0; 3] 0 [a; b; c] = [a; c; c; c]).
    /// One count (≥ 0) per element of the axis; differentiable (a gather: element i's gradient
    /// is the sum of its copies' cotangents).
    let repeatEach (counts: int list) (axis: int) (x: Tensor) =
        Guard.notNull "repeatEach" "counts" counts
        Guard.notNull "repeatEach" "x" x
        Composite.Arrange.repeatEach "repeatEach" (Array.ofList counts) axis x

    /// NumPy's meshgrid with its default Cartesian ('xy') indexing: for inputs of sizes n₀, n₁,
    /// n₂, ... tensors of shape [n₁; n₀; n₂; ...], tensor i varying along its input's axis.
    let meshgrid (xs: Tensor list) =
        Guard.notNullElements "meshgrid" "xs" xs
        Composite.Arrange.meshgrid true (Array.ofList xs)

    /// meshgrid with matrix ('ij') indexing: tensors of shape [n₀; n₁; ...].
    let meshgridIJ (xs: Tensor list) =
        Guard.notNullElements "meshgridIJ" "xs" xs
        Composite.Arrange.meshgrid false (Array.ofList xs)

    /// `diff n axis x`: the n-th forward difference along `axis` (x[1:] − x[:-1], n times); of
    /// a bool tensor x[1:] ≠ x[:-1], bool (NumPy's).
    let diff (n: int) (axis: int) (x: Tensor) =
        Guard.notNull "diff" "x" x
        Composite.Arrange.diff "diff" n axis x

    // ---- cumulative products, maxima, minima -------------------------------------------------

    /// The cumulative product of the flattened tensor (NumPy's cumprod without an axis). Its
    /// derivative is exact where elements are 0 (a scan of products, never a division).
    let cumprod (x: Tensor) =
        Guard.notNull "cumprod" "x" x
        Composite.Scans.flat Composite.Scans.cumprod "cumprod" x

    /// The cumulative product along an axis.
    let cumprodAxis (axis: int) (x: Tensor) =
        Guard.notNull "cumprodAxis" "x" x
        Composite.Scans.cumprod "cumprodAxis" axis x

    /// The running maximum of the flattened tensor (NumPy's maximum.accumulate); the derivative
    /// of each output goes to the position of its maximum (split equally between equal values).
    let cummax (x: Tensor) =
        Guard.notNull "cummax" "x" x
        Composite.Scans.flat Composite.Scans.cummax "cummax" x

    /// The running maximum along an axis (JAX's lax.cummax).
    let cummaxAxis (axis: int) (x: Tensor) =
        Guard.notNull "cummaxAxis" "x" x
        Composite.Scans.cummax "cummaxAxis" axis x

    /// The running minimum of the flattened tensor (NumPy's minimum.accumulate).
    let cummin (x: Tensor) =
        Guard.notNull "cummin" "x" x
        Composite.Scans.flat Composite.Scans.cummin "cummin" x

    /// The running minimum along an axis (JAX's lax.cummin).
    let cumminAxis (axis: int) (x: Tensor) =
        Guard.notNull "cumminAxis" "x" x
        Composite.Scans.cummin "cumminAxis" axis x

    // ---- convolution and pooling ------------------------------------------------------------

    /// Convolution (cross-correlation, as PyTorch's conv1d/conv2d/conv3d and JAX's lax.conv):
    /// x of shape (N, C, spatial...) (NCW, NCHW, NCDHW) or unbatched (C, spatial...), kernel w of
    /// shape (O, C, window...); stride 1, no padding (see `convWith`). The result is (N, O, out...)
    /// with out = size − window + 1. Differentiable in both operands to any order (im2col
    /// windows contracted by dot_general), batched by vmap and compiled by jit.
    let conv (x: Tensor) (w: Tensor) =
        Guard.notNull "conv" "x" x
        Guard.notNull "conv" "w" w
        Composite.Convolution.conv "conv" ConvOptions.Default x w

    /// Convolution with strides, padding (Valid, Same or explicit), dilation and feature groups:
    /// x (N, C, spatial...), w (O, C / groups, window...), the result (N, O, out...) with
    /// out = (size + before + after − dilation·(window − 1) − 1) / stride + 1 per axis.
    /// `convWith { ConvOptions.Default with Strides = [| 2 |]; Padding = ConvPadding.Same } x w`.
    let convWith (options: ConvOptions) (x: Tensor) (w: Tensor) =
        Guard.notNull "convWith" "options" options
        Guard.notNull "convWith" "x" x
        Guard.notNull "convWith" "w" w
        Composite.Convolution.conv "convWith" options x w

    /// Transposed convolution (PyTorch's conv_transpose1d/2d/3d, the "deconvolution"): the
    /// transpose of `conv` in its input. x (N, C, spatial...), w (C, O, window...); stride 1,
    /// no padding, so the result is (N, O, size + window − 1).
    let convTranspose (x: Tensor) (w: Tensor) =
        Guard.notNull "convTranspose" "x" x
        Guard.notNull "convTranspose" "w" w
        Composite.Convolution.convTranspose "convTranspose" ConvTransposeOptions.Default x w

    /// Transposed convolution with the strides, padding, dilation and groups of the convolution
    /// it transposes, and an output padding: w (C, O / groups, window...), the result's sizes
    /// (size − 1)·stride − before − after + dilation·(window − 1) + 1 + outputPadding.
    let convTransposeWith (options: ConvTransposeOptions) (x: Tensor) (w: Tensor) =
        Guard.notNull "convTransposeWith" "options" options
        Guard.notNull "convTransposeWith" "x" x
        Guard.notNull "convTransposeWith" "w" w
        Composite.Convolution.convTranspose "convTransposeWith" options x w

    let private windowOf (op: string) (window: int list) =
        Guard.notNull op "window" window
        Array.ofList window

    /// Max pooling over the trailing `window.Length` axes (1 to 3; any leading axes, e.g. N and
    /// C), windows stepping by the window itself (PyTorch's max_pool2d default): `maxPool [2; 2] x`.
    /// The derivative goes to each window's maximum (shared equally between ties).
    let maxPool (window: int list) (x: Tensor) =
        Guard.notNull "maxPool" "x" x
        Composite.Convolution.maxPool "maxPool" (windowOf "maxPool" window) PoolOptions.Default x

    /// Max pooling with strides, padding (−∞) and dilation.
    let maxPoolWith (window: int list) (options: PoolOptions) (x: Tensor) =
        Guard.notNull "maxPoolWith" "options" options
        Guard.notNull "maxPoolWith" "x" x
        Composite.Convolution.maxPool "maxPoolWith" (windowOf "maxPoolWith" window) options x

    /// Average pooling over the trailing `window.Length` axes, windows stepping by the window.
    let avgPool (window: int list) (x: Tensor) =
        Guard.notNull "avgPool" "x" x
        Composite.Convolution.avgPool "avgPool" (windowOf "avgPool" window) PoolOptions.Default x

    /// Average pooling with strides, padding (zeros, counted in the mean: PyTorch's
    /// count_include_pad) and dilation.
    let avgPoolWith (window: int list) (options: PoolOptions) (x: Tensor) =
        Guard.notNull "avgPoolWith" "options" options
        Guard.notNull "avgPoolWith" "x" x
        Composite.Convolution.avgPool "avgPoolWith" (windowOf "avgPoolWith" window) options x
