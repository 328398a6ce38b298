namespace FunDiff

open FunDiff.Backend

/// The camelCase operations on tensors (compiled as `FunDiff.TensorModule`). Most are one-line
/// aliases of Tensor's members; every one of them works on tracers, so it can be differentiated
/// to any order.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Tensor =

    // ---- construction ---------------------------------------------------------------------

    /// A float64 scalar: `Tensor.scalar 2.5`.
    let scalar (value: float) = Tensor.Scalar value
    /// A 1-d tensor of a copy of the values.
    let ofArray (values: float[]) = Tensor.OfArray values
    /// A 2-d tensor of a copy of the values.
    let ofArray2D (values: float[,]) = Tensor.FromArray values
    /// A 1-d tensor of the values of a sequence.
    let ofSeq (values: seq<float>) = Tensor.OfArray(Array.ofSeq values)
    /// Zeros of a shape.
    let zeros (shape: int[]) = Tensor.Zeros shape
    /// Ones of a shape.
    let ones (shape: int[]) = Tensor.Ones shape
    /// A tensor of a shape filled with a value.
    let full (shape: int[]) (value: float) = Tensor.Full(shape, value)
    /// `[0., 1., ..., n-1.]`.
    let arange (n: int) = Tensor.Arange n
    /// `n` evenly spaced values from `start` to `stop` inclusive.
    let linspace (start: float) (stop: float) (n: int) = Tensor.Linspace(start, stop, n)
    /// The n × n identity matrix.
    let eye (n: int) = Tensor.Eye n

    /// Stacks tensors of one shape (any rank) along a new axis 0: `stack [a; b]` has shape
    /// `[2] ++ a.shape`. Differentiable; raises ShapeException if the shapes differ.
    let stack (xs: Tensor list) = Prim.stack 0 (Array.ofList xs)
    /// Stacks along a new axis at `axis`.
    let stackAxis (axis: int) (xs: Tensor list) = Prim.stack axis (Array.ofList xs)
    /// Joins tensors along an existing axis.
    let concat (axis: int) (xs: Tensor list) = Prim.concatenate axis (Array.ofList xs)

    // ---- reading ----------------------------------------------------------------------------

    /// The dimensions (a fresh array).
    let shape (x: Tensor) = x.Shape
    /// The dtype.
    let dtype (x: Tensor) = x.DType
    /// The values, flat and row-major (the primal's under jvp/grad).
    let toArray (x: Tensor) = x.ToArray()

    /// The values of a rank-2 tensor as a 2-d array.
    let toArray2D (x: Tensor) =
        if x.Rank <> 2 then
            raise (ShapeException(sprintf "toArray2D: needs a rank-2 tensor, got shape %s." (Shape.show x.Shape)))

        let d = x.ToArray()
        let c = x.Shape.[1]
        Array2D.init x.Shape.[0] c (fun i j -> d.[i * c + j])

    /// The value of a one-element tensor (the primal's under jvp/grad; a ConcretizationException
    /// under makeIR).
    let toScalar (x: Tensor) = x.ToScalar()

    // ---- elementwise ------------------------------------------------------------------------

    /// Elementwise sine.
    let sin (x: Tensor) = Tensor.Sin x
    /// Elementwise cosine.
    let cos (x: Tensor) = Tensor.Cos x
    /// Elementwise e^x.
    let exp (x: Tensor) = Tensor.Exp x
    /// Elementwise natural log.
    let log (x: Tensor) = Tensor.Log x
    /// Elementwise square root.
    let sqrt (x: Tensor) = Tensor.Sqrt x
    /// Elementwise tanh.
    let tanh (x: Tensor) = Tensor.Tanh x
    /// Elementwise negation.
    let neg (x: Tensor) = -x
    /// Elementwise x².
    let square (x: Tensor) = Prim.powConst 2.0 x
    /// `x ** c` for a constant exponent.
    let powConst (c: float) (x: Tensor) = Prim.powConst c x
    /// `x ** y` with tensors on both sides (F# cannot write `2.0 ** x`: use `pow (scalar 2.0) x`).
    let pow (x: Tensor) (y: Tensor) = Tensor.Pow(x, y)
    /// Elementwise sum with broadcasting.
    let add (x: Tensor) (y: Tensor) = x + y
    /// Elementwise difference with broadcasting.
    let sub (x: Tensor) (y: Tensor) = x - y
    /// Elementwise product with broadcasting.
    let mul (x: Tensor) (y: Tensor) = x * y
    /// Elementwise division with broadcasting.
    let div (x: Tensor) (y: Tensor) = x / y

    // ---- comparisons and selection -----------------------------------------------------------

    /// x < y elementwise, a bool tensor.
    let lt (x: Tensor) (y: Tensor) = Prim.compare Primitives.ltP x y
    /// x <= y elementwise.
    let le (x: Tensor) (y: Tensor) = Prim.compare Primitives.leP x y
    /// x > y elementwise.
    let gt (x: Tensor) (y: Tensor) = Prim.compare Primitives.gtP x y
    /// x >= y elementwise.
    let ge (x: Tensor) (y: Tensor) = Prim.compare Primitives.geP x y
    /// x = y elementwise.
    let eq (x: Tensor) (y: Tensor) = Prim.compare Primitives.eqP x y
    /// x <> y elementwise.
    let ne (x: Tensor) (y: Tensor) = Prim.compare Primitives.neP x y

    /// `where cond a b`: `a` where `cond` is true, else `b` (broadcasting all three). Gradients
    /// flow only to the branch taken.
    let where (cond: Tensor) (onTrue: Tensor) (onFalse: Tensor) = Prim.where cond onTrue onFalse

    /// The identity, with a zero derivative.
    let stopGradient (x: Tensor) = Prim.stopGradient x
    /// Converts to another dtype (to Int64 truncates toward zero, to Bool tests <> 0).
    let convert (dtype: DType) (x: Tensor) = Prim.convert dtype x

    // ---- reductions ---------------------------------------------------------------------------

    /// The sum of all elements, a scalar.
    let sum (x: Tensor) = Prim.sum x
    /// Sums over the given axes (negative counts from the end); they disappear.
    let sumAxes (axes: int list) (x: Tensor) = Prim.sumAxes (Array.ofList axes) x
    /// The mean of all elements.
    let mean (x: Tensor) = Prim.sum x / float (max 1 x.Size)

    // ---- shapes -------------------------------------------------------------------------------

    /// The same values in a new shape (one dimension may be -1).
    let reshape (shape: int[]) (x: Tensor) = Prim.reshape shape x
    /// All values in one axis.
    let flatten (x: Tensor) = Prim.reshape [| x.Size |] x
    /// Permutes axes: output axis i is input axis `perm[i]`.
    let transposeAxes (perm: int[]) (x: Tensor) = Prim.transpose perm x
    /// Reverses the axes (matrix transpose for rank 2).
    let transpose (x: Tensor) = x.T
    /// Broadcasts to a shape, NumPy-style.
    let broadcastTo (shape: int[]) (x: Tensor) = Prim.broadcastTo shape x
    /// Inserts an axis of size 1.
    let expandDims (axis: int) (x: Tensor) = Prim.expandDims axis x

    /// `slice start stop x`: elements `start .. stop-1` of axis 0 (NumPy's exclusive stop;
    /// negative bounds count from the end, out-of-range bounds clamp).
    let slice (start: int) (stop: int) (x: Tensor) = Prim.sliceAxis 0 start stop x
    /// `sliceAxis axis start stop x`: the same on any axis.
    let sliceAxis (axis: int) (start: int) (stop: int) (x: Tensor) = Prim.sliceAxis axis start stop x
    /// Index `i` of axis 0, one rank lower (same as `x.[i]`).
    let index (i: int) (x: Tensor) = x.[i]
