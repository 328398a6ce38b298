// Room: C#-friendly extension methods on Tensor (PascalCase forms of the op library).
namespace FunDiff

open System.Runtime.CompilerServices

/// C# members for the composite ops (Core compiles before the ops, so these cannot be
/// intrinsic on Tensor): `x.Softmax()`, `x.MatMul(w)`, `x.Norm()`, ...
[<Extension; AbstractClass; Sealed>]
type TensorExtensions =

    /// log(1 + e^x), stable at ±1000.
    [<Extension>]
    static member Softplus(x: Tensor) =
        Guard.notNull "Softplus" "x" x
        Tensor.softplus x

    /// max(x, 0); its derivative at 0 is 0.
    [<Extension>]
    static member Relu(x: Tensor) =
        Guard.notNull "Relu" "x" x
        Tensor.relu x

    /// Softmax along the last axis.
    [<Extension>]
    static member Softmax(x: Tensor) =
        Guard.notNull "Softmax" "x" x
        Tensor.softmax x

    /// Softmax along an axis.
    [<Extension>]
    static member Softmax(x: Tensor, axis: int) =
        Guard.notNull "Softmax" "x" x
        Tensor.softmaxAxis axis x

    /// log softmax along the last axis.
    [<Extension>]
    static member LogSoftmax(x: Tensor) =
        Guard.notNull "LogSoftmax" "x" x
        Tensor.logSoftmax x

    /// log softmax along an axis.
    [<Extension>]
    static member LogSoftmax(x: Tensor, axis: int) =
        Guard.notNull "LogSoftmax" "x" x
        Tensor.logSoftmaxAxis axis x

    /// log Σ exp x over all elements.
    [<Extension>]
    static member LogSumExp(x: Tensor) =
        Guard.notNull "LogSumExp" "x" x
        Tensor.logSumExp x

    /// log Σ exp x over one axis.
    [<Extension>]
    static member LogSumExp(x: Tensor, axis: int) =
        Guard.notNull "LogSumExp" "x" x
        Tensor.logSumExpAxes [ axis ] x

    /// The 2-norm of all elements (gradient 0 at 0).
    [<Extension>]
    static member Norm(x: Tensor) =
        Guard.notNull "Norm" "x" x
        Tensor.norm x

    /// The mean over one axis.
    [<Extension>]
    static member Mean(x: Tensor, axis: int) =
        Guard.notNull "Mean" "x" x
        Tensor.meanAxes [ axis ] x

    /// The population variance of all elements.
    [<Extension>]
    static member Var(x: Tensor) =
        Guard.notNull "Var" "x" x
        Tensor.var x

    /// The population variance over one axis.
    [<Extension>]
    static member Var(x: Tensor, axis: int) =
        Guard.notNull "Var" "x" x
        Tensor.varAxes [ axis ] x

    /// The population standard deviation of all elements.
    [<Extension>]
    static member Std(x: Tensor) =
        Guard.notNull "Std" "x" x
        Tensor.std x

    /// The population standard deviation over one axis.
    [<Extension>]
    static member Std(x: Tensor, axis: int) =
        Guard.notNull "Std" "x" x
        Tensor.stdAxes [ axis ] x

    /// NumPy's matmul (a matrix times a vector is a vector; batch axes broadcast).
    [<Extension>]
    static member MatMul(x: Tensor, y: Tensor) =
        Guard.notNull "MatMul" "x" x
        Guard.notNull "MatMul" "y" y
        Tensor.matmul x y

    /// NumPy's dot (1-d · 1-d is a scalar).
    [<Extension>]
    static member Dot(x: Tensor, y: Tensor) =
        Guard.notNull "Dot" "x" x
        Guard.notNull "Dot" "y" y
        Tensor.dot x y

    /// The outer product of the flattened operands.
    [<Extension>]
    static member Outer(x: Tensor, y: Tensor) =
        Guard.notNull "Outer" "x" x
        Guard.notNull "Outer" "y" y
        Tensor.outer x y

    /// A vector becomes a diagonal matrix; a matrix gives its diagonal.
    [<Extension>]
    static member Diag(x: Tensor) =
        Guard.notNull "Diag" "x" x
        Tensor.diag x

    /// The sum of a matrix's diagonal.
    [<Extension>]
    static member Trace(x: Tensor) =
        Guard.notNull "Trace" "x" x
        Tensor.trace x

    /// Removes every axis of size 1.
    [<Extension>]
    static member Squeeze(x: Tensor) =
        Guard.notNull "Squeeze" "x" x
        Tensor.squeeze x

    /// Splits into equal sections along an axis.
    [<Extension>]
    static member Split(x: Tensor, sections: int, axis: int) =
        Guard.notNull "Split" "x" x

        Tensor.splitAxis sections axis x |> Array.ofList

    /// One-hot rows of n classes for integer labels.
    [<Extension>]
    static member OneHot(labels: Tensor, n: int) =
        Guard.notNull "OneHot" "labels" labels
        Tensor.oneHot n labels

    /// The elements of the flattened tensor at int64 indices.
    [<Extension>]
    static member Take(x: Tensor, indices: Tensor) =
        Guard.notNull "Take" "x" x
        Guard.notNull "Take" "indices" indices
        Tensor.take indices x

    /// The cumulative sum of the flattened tensor.
    [<Extension>]
    static member CumSum(x: Tensor) =
        Guard.notNull "CumSum" "x" x
        Tensor.cumsum x

    /// `where(cond, a, b)` with this as the condition.
    [<Extension>]
    static member Where(cond: Tensor, onTrue: Tensor, onFalse: Tensor) =
        Guard.notNull "Where" "cond" cond
        Guard.notNull "Where" "onTrue" onTrue
        Guard.notNull "Where" "onFalse" onFalse
        Tensor.where cond onTrue onFalse

    // ---- comparisons (bool tensors; operands broadcast and promote as in arithmetic) ----------

    /// x < y elementwise, a bool tensor.
    [<Extension>]
    static member Lt(x: Tensor, y: Tensor) =
        Guard.notNull "Lt" "x" x
        Guard.notNull "Lt" "y" y
        Tensor.lt x y

    /// x < y elementwise, a bool tensor.
    [<Extension>]
    static member Lt(x: Tensor, y: float) =
        Guard.notNull "Lt" "x" x
        Tensor.lt x (Tensor.scalar y)

    /// x <= y elementwise, a bool tensor.
    [<Extension>]
    static member Le(x: Tensor, y: Tensor) =
        Guard.notNull "Le" "x" x
        Guard.notNull "Le" "y" y
        Tensor.le x y

    /// x <= y elementwise, a bool tensor.
    [<Extension>]
    static member Le(x: Tensor, y: float) =
        Guard.notNull "Le" "x" x
        Tensor.le x (Tensor.scalar y)

    /// x > y elementwise, a bool tensor.
    [<Extension>]
    static member Gt(x: Tensor, y: Tensor) =
        Guard.notNull "Gt" "x" x
        Guard.notNull "Gt" "y" y
        Tensor.gt x y

    /// x > y elementwise, a bool tensor.
    [<Extension>]
    static member Gt(x: Tensor, y: float) =
        Guard.notNull "Gt" "x" x
        Tensor.gt x (Tensor.scalar y)

    /// x >= y elementwise, a bool tensor.
    [<Extension>]
    static member Ge(x: Tensor, y: Tensor) =
        Guard.notNull "Ge" "x" x
        Guard.notNull "Ge" "y" y
        Tensor.ge x y

    /// x >= y elementwise, a bool tensor.
    [<Extension>]
    static member Ge(x: Tensor, y: float) =
        Guard.notNull "Ge" "x" x
        Tensor.ge x (Tensor.scalar y)

    /// x = y elementwise, a bool tensor.
    [<Extension>]
    static member Eq(x: Tensor, y: Tensor) =
        Guard.notNull "Eq" "x" x
        Guard.notNull "Eq" "y" y
        Tensor.eq x y

    /// x = y elementwise, a bool tensor.
    [<Extension>]
    static member Eq(x: Tensor, y: float) =
        Guard.notNull "Eq" "x" x
        Tensor.eq x (Tensor.scalar y)

    /// x ≠ y elementwise, a bool tensor.
    [<Extension>]
    static member Ne(x: Tensor, y: Tensor) =
        Guard.notNull "Ne" "x" x
        Guard.notNull "Ne" "y" y
        Tensor.ne x y

    /// x ≠ y elementwise, a bool tensor.
    [<Extension>]
    static member Ne(x: Tensor, y: float) =
        Guard.notNull "Ne" "x" x
        Tensor.ne x (Tensor.scalar y)

    // ---- differentiation, dtypes and shapes ---------------------------------------------------

    /// The identity, with a zero derivative: what flows through it is a constant to every transform.
    [<Extension>]
    static member StopGradient(x: Tensor) =
        Guard.notNull "StopGradient" "x" x
        Tensor.stopGradient x

    /// Converts to another dtype (to Int64 truncates toward zero, to Bool tests ≠ 0).
    [<Extension>]
    static member Convert(x: Tensor, dtype: DType) =
        Guard.notNull "Convert" "x" x
        Tensor.convert dtype x

    /// All values in one axis (row-major).
    [<Extension>]
    static member Flatten(x: Tensor) =
        Guard.notNull "Flatten" "x" x
        Tensor.flatten x

    /// Inserts an axis of size 1 at `axis` (-(rank+1)..rank).
    [<Extension>]
    static member ExpandDims(x: Tensor, axis: int) =
        Guard.notNull "ExpandDims" "x" x
        Tensor.expandDims axis x

    /// Broadcasts to a shape, NumPy-style (trailing axes aligned): `x.BroadcastTo(3, 2)`.
    [<Extension>]
    static member BroadcastTo(x: Tensor, [<System.ParamArray>] shape: int[]) =
        Guard.notNull "BroadcastTo" "x" x
        Guard.notNull "BroadcastTo" "shape" shape
        Tensor.broadcastTo shape x

    /// Removes one axis of size 1.
    [<Extension>]
    static member Squeeze(x: Tensor, axis: int) =
        Guard.notNull "Squeeze" "x" x
        Tensor.squeezeAxis axis x

    /// Permutes the axes: output axis i is input axis `axes[i]` (`x.T` reverses them all).
    [<Extension>]
    static member Transpose(x: Tensor, [<System.ParamArray>] axes: int[]) =
        Guard.notNull "Transpose" "x" x
        Guard.notNull "Transpose" "axes" axes
        Tensor.transposeAxes axes x

    /// Elements `start` (included) to `stop` (excluded) of one axis, NumPy-style: negative
    /// bounds count from the end, bounds past the ends are clamped.
    [<Extension>]
    static member SliceAxis(x: Tensor, axis: int, start: int, stop: int) =
        Guard.notNull "SliceAxis" "x" x
        Tensor.sliceAxis axis start stop x

    /// The values of a rank-2 tensor as a 2-d array.
    [<Extension>]
    static member ToArray2D(x: Tensor) =
        Guard.notNull "ToArray2D" "x" x
        Tensor.toArray2D x

    /// NumPy's tensordot: contracts axis `axesA[k]` of `a` with `axesB[k]` of `b` for each k.
    [<Extension>]
    static member TensorDot(a: Tensor, b: Tensor, axesA: int[], axesB: int[]) =
        Guard.notNull "TensorDot" "a" a
        Guard.notNull "TensorDot" "b" b
        Guard.notNull "TensorDot" "axesA" axesA
        Guard.notNull "TensorDot" "axesB" axesB
        Tensor.tensordot (List.ofArray axesA) (List.ofArray axesB) a b

    /// NumPy's tensordot with `axes = n`: the last n axes of `a` with the first n of `b`.
    [<Extension>]
    static member TensorDot(a: Tensor, b: Tensor, axes: int) =
        Guard.notNull "TensorDot" "a" a
        Guard.notNull "TensorDot" "b" b
        Tensor.tensordotN axes a b

    /// `x` sorted along its last axis (or `axis`), ascending, NaN last; differentiable.
    [<Extension>]
    static member Sort
        (
            x: Tensor,
            [<System.Runtime.InteropServices.Optional; System.Runtime.InteropServices.DefaultParameterValue(-1)>] axis:
                int
        ) =
        Guard.notNull "Sort" "x" x
        Tensor.sortAxis axis x

    /// The indices (int64) that sort `x` along its last axis (or `axis`): stable, NaN last.
    [<Extension>]
    static member Argsort
        (
            x: Tensor,
            [<System.Runtime.InteropServices.Optional; System.Runtime.InteropServices.DefaultParameterValue(-1)>] axis:
                int
        ) =
        Guard.notNull "Argsort" "x" x
        Tensor.argsortAxis axis x

    /// The `k` largest elements along the last axis, largest first, and their int64 indices.
    [<Extension>]
    static member TopK(x: Tensor, k: int) : struct (Tensor * Tensor) =
        Guard.notNull "TopK" "x" x
        let values, indices = Tensor.topK k x
        struct (values, indices)

    /// Where each element of `v` goes in this sorted vector (before equal elements; `right`:
    /// after them), int64.
    [<Extension>]
    static member SearchSorted
        (
            sorted: Tensor,
            v: Tensor,
            [<System.Runtime.InteropServices.Optional; System.Runtime.InteropServices.DefaultParameterValue(false)>] right:
                bool
        ) =
        Guard.notNull "SearchSorted" "sorted" sorted
        Guard.notNull "SearchSorted" "v" v

        if right then
            Tensor.searchsortedRight sorted v
        else
            Tensor.searchsorted sorted v

    /// NumPy's take_along_axis: `x` at `indices` (int64) along `axis`.
    [<Extension>]
    static member TakeAlongAxis(x: Tensor, axis: int, indices: Tensor) =
        Guard.notNull "TakeAlongAxis" "x" x
        Guard.notNull "TakeAlongAxis" "indices" indices
        Tensor.takeAlongAxis axis indices x

    /// NumPy's integer-array indexing of the leading axes, `x[i0, i1]`: `x.Index(i0, i1)` with
    /// int64 index tensors that broadcast to one shape B; the result has shape B ++ the
    /// remaining axes of x. Negative indices count from the end; differentiable in x.
    [<Extension>]
    static member Index(x: Tensor, [<System.ParamArray>] indices: Tensor[]) =
        Guard.notNull "Index" "x" x
        Guard.notNullElements "Index" "indices" indices
        Composite.Shaping.indexArrays "Index" (Array.copy indices) x

    /// A copy with `x[indices[j]] = values[j]` along axis 0 (JAX's `x.at[idx].set(v)`); of
    /// duplicate indices the last update wins.
    [<Extension>]
    static member AtSet(x: Tensor, indices: Tensor, values: Tensor) = Tensor.atSet indices values x

    /// A copy with `values[j]` added at `x[indices[j]]` along axis 0 (duplicates add up).
    [<Extension>]
    static member AtAdd(x: Tensor, indices: Tensor, values: Tensor) = Tensor.atAdd indices values x

    /// A copy with `x[indices[j]]` multiplied by `values[j]` along axis 0 (duplicates in turn).
    [<Extension>]
    static member AtMul(x: Tensor, indices: Tensor, values: Tensor) = Tensor.atMul indices values x

    /// A copy with `x[indices[j]] = min(x[indices[j]], values[j])` along axis 0.
    [<Extension>]
    static member AtMin(x: Tensor, indices: Tensor, values: Tensor) = Tensor.atMin indices values x

    /// A copy with `x[indices[j]] = max(x[indices[j]], values[j])` along axis 0.
    [<Extension>]
    static member AtMax(x: Tensor, indices: Tensor, values: Tensor) = Tensor.atMax indices values x

    /// NumPy's `x[mask]`: the elements (or leading-axis rows) where the bool `mask` is true;
    /// eager only (its length depends on the mask's values).
    [<Extension>]
    static member Extract(x: Tensor, mask: Tensor) = Tensor.extract mask x

    // ==== NumPy breadth (issue 16): the C# forms of the ops in Ops.fs's section of that name ====

    /// ⌊x⌋ elementwise (float64; derivative 0).
    [<Extension>]
    static member Floor(x: Tensor) =
        Guard.notNull "Floor" "x" x
        Tensor.floor x

    /// ⌈x⌉ elementwise (float64; derivative 0).
    [<Extension>]
    static member Ceil(x: Tensor) =
        Guard.notNull "Ceil" "x" x
        Tensor.ceil x

    /// The nearest integer, halves to even as NumPy (0.5 → 0, 1.5 → 2, 2.5 → 2); derivative 0.
    [<Extension>]
    static member Round(x: Tensor) =
        Guard.notNull "Round" "x" x
        Tensor.round x

    /// The integer part, toward zero (derivative 0).
    [<Extension>]
    static member Trunc(x: Tensor) =
        Guard.notNull "Trunc" "x" x
        Tensor.trunc x

    /// Whether each element is NaN (a bool tensor).
    [<Extension>]
    static member IsNan(x: Tensor) =
        Guard.notNull "IsNan" "x" x
        Tensor.isnan x

    /// Whether each element is +∞ or −∞ (a bool tensor).
    [<Extension>]
    static member IsInf(x: Tensor) =
        Guard.notNull "IsInf" "x" x
        Tensor.isinf x

    /// Whether each element is finite (a bool tensor).
    [<Extension>]
    static member IsFinite(x: Tensor) =
        Guard.notNull "IsFinite" "x" x
        Tensor.isfinite x

    /// NaN → 0, +∞ → the largest float64, −∞ → the most negative (NumPy's nan_to_num defaults).
    [<Extension>]
    static member NanToNum(x: Tensor) =
        Guard.notNull "NanToNum" "x" x
        Tensor.nanToNum x

    /// NaN → `nan`, +∞ → `posinf`, −∞ → `neginf`.
    [<Extension>]
    static member NanToNum(x: Tensor, nan: float, posinf: float, neginf: float) =
        Guard.notNull "NanToNum" "x" x
        Tensor.nanToNumWith nan posinf neginf x

    /// The exact GELU, x · Φ(x) (PyTorch's default); `GeluTanh` is the tanh approximation.
    [<Extension>]
    static member Gelu(x: Tensor) =
        Guard.notNull "Gelu" "x" x
        Tensor.gelu x

    /// The tanh approximation of GELU (JAX's default `approximate=True`).
    [<Extension>]
    static member GeluTanh(x: Tensor) =
        Guard.notNull "GeluTanh" "x" x
        Tensor.geluTanh x

    /// x · σ(x) (swish).
    [<Extension>]
    static member Silu(x: Tensor) =
        Guard.notNull "Silu" "x" x
        Tensor.silu x

    /// log(eˣ + eʸ) elementwise with broadcasting, without overflow.
    [<Extension>]
    static member LogAddExp(x: Tensor, y: Tensor) =
        Guard.notNull "LogAddExp" "x" x
        Guard.notNull "LogAddExp" "y" y
        Tensor.logAddExp x y

    /// √(x² + y²) elementwise with broadcasting, without overflow (derivative 0 at (0, 0)).
    [<Extension>]
    static member Hypot(x: Tensor, y: Tensor) =
        Guard.notNull "Hypot" "x" x
        Guard.notNull "Hypot" "y" y
        Tensor.hypot x y

    /// log(x / (1 − x)), the inverse of Sigmoid.
    [<Extension>]
    static member Logit(x: Tensor) =
        Guard.notNull "Logit" "x" x
        Tensor.logit x

    /// x · log y, 0 where x = 0 (scipy's xlogy; see `Tensor.xlogy` for the derivatives).
    [<Extension>]
    static member XLogY(x: Tensor, y: Tensor) =
        Guard.notNull "XLogY" "x" x
        Guard.notNull "XLogY" "y" y
        Tensor.xlogy x y

    /// NumPy's pad in mode 'constant': `value` around x, one (Before, After) pair per axis (or
    /// one pair for every axis): `x.Pad([(1, 2)], 0.0)`.
    [<Extension>]
    static member Pad(x: Tensor, widths: struct (int * int)[], value: float) =
        Guard.notNull "Pad" "x" x
        Guard.notNull "Pad" "widths" widths
        Composite.Padding.constant "Pad" (Array.copy widths) value x

    /// NumPy's pad in mode 'edge': the edge elements repeated outward.
    [<Extension>]
    static member PadEdge(x: Tensor, widths: struct (int * int)[]) =
        Guard.notNull "PadEdge" "x" x
        Guard.notNull "PadEdge" "widths" widths
        Composite.Padding.edge "PadEdge" (Array.copy widths) x

    /// NumPy's pad in mode 'reflect': mirrored about the edges, the edge not repeated.
    [<Extension>]
    static member PadReflect(x: Tensor, widths: struct (int * int)[]) =
        Guard.notNull "PadReflect" "x" x
        Guard.notNull "PadReflect" "widths" widths
        Composite.Padding.reflect "PadReflect" (Array.copy widths) x

    /// Reverses the order of the elements along each of the axes given.
    [<Extension>]
    static member Flip(x: Tensor, [<System.ParamArray>] axes: int[]) =
        Guard.notNull "Flip" "x" x
        Guard.notNull "Flip" "axes" axes
        Tensor.flip (List.ofArray axes) x

    /// The elements shifted `shift` places toward the end of `axis`, wrapping around (NumPy's roll).
    [<Extension>]
    static member Roll(x: Tensor, shift: int, axis: int) =
        Guard.notNull "Roll" "x" x
        Tensor.roll shift axis x

    /// NumPy's tile: `reps[k]` copies along axis k.
    [<Extension>]
    static member Tile(x: Tensor, [<System.ParamArray>] reps: int[]) =
        Guard.notNull "Tile" "x" x
        Guard.notNull "Tile" "reps" reps
        Tensor.tile reps x

    /// Each element `repeats` times in a row along `axis` (NumPy's repeat).
    [<Extension>]
    static member Repeat(x: Tensor, repeats: int, axis: int) =
        Guard.notNull "Repeat" "x" x
        Tensor.repeat repeats axis x

    /// Element i along `axis` `counts[i]` times in a row (NumPy's repeat with one count per
    /// element): `x.RepeatEach([1, 0, 3], 0)`.
    [<Extension>]
    static member RepeatEach(x: Tensor, counts: int[], axis: int) =
        Guard.notNull "RepeatEach" "x" x
        Guard.notNull "RepeatEach" "counts" counts
        Composite.Arrange.repeatEach "RepeatEach" (Array.copy counts) axis x

    /// The n-th forward difference along `axis` (NumPy's diff; of a bool tensor, x[1:] ≠ x[:-1]).
    [<Extension>]
    static member Diff(x: Tensor, n: int, axis: int) =
        Guard.notNull "Diff" "x" x
        Tensor.diff n axis x

    /// The cumulative product of the flattened tensor (exact derivative at zeros).
    [<Extension>]
    static member CumProd(x: Tensor) =
        Guard.notNull "CumProd" "x" x
        Tensor.cumprod x

    /// The cumulative product along an axis.
    [<Extension>]
    static member CumProd(x: Tensor, axis: int) =
        Guard.notNull "CumProd" "x" x
        Tensor.cumprodAxis axis x

    /// The running maximum of the flattened tensor.
    [<Extension>]
    static member CumMax(x: Tensor) =
        Guard.notNull "CumMax" "x" x
        Tensor.cummax x

    /// The running maximum along an axis.
    [<Extension>]
    static member CumMax(x: Tensor, axis: int) =
        Guard.notNull "CumMax" "x" x
        Tensor.cummaxAxis axis x

    /// The running minimum of the flattened tensor.
    [<Extension>]
    static member CumMin(x: Tensor) =
        Guard.notNull "CumMin" "x" x
        Tensor.cummin x

    /// The running minimum along an axis.
    [<Extension>]
    static member CumMin(x: Tensor, axis: int) =
        Guard.notNull "CumMin" "x" x
        Tensor.cumminAxis axis x

    /// NumPy's meshgrid with Cartesian ('xy') indexing: `TensorExtensions.Meshgrid(x, y)`.
    static member Meshgrid([<System.ParamArray>] xs: Tensor[]) =
        Guard.notNullElements "Meshgrid" "xs" xs
        Tensor.meshgrid (List.ofArray xs) |> Array.ofList

    /// meshgrid with matrix ('ij') indexing.
    static member MeshgridIJ([<System.ParamArray>] xs: Tensor[]) =
        Guard.notNullElements "MeshgridIJ" "xs" xs
        Tensor.meshgridIJ (List.ofArray xs) |> Array.ofList

    /// Convolution (cross-correlation): x (N, C, spatial...) or (C, spatial...), kernel w
    /// (O, C, window...), stride 1 and no padding: `x.Conv(w)`.
    [<Extension>]
    static member Conv(x: Tensor, w: Tensor) =
        Guard.notNull "Conv" "x" x
        Guard.notNull "Conv" "w" w
        Composite.Convolution.conv "Conv" ConvOptions.Default x w

    /// Convolution with strides, padding, dilation and groups:
    /// `x.Conv(w, ConvOptions.Default.WithStrides(2).WithPadding(ConvPadding.Same))`.
    [<Extension>]
    static member Conv(x: Tensor, w: Tensor, options: ConvOptions) =
        Guard.notNull "Conv" "x" x
        Guard.notNull "Conv" "w" w
        Guard.notNull "Conv" "options" options
        Composite.Convolution.conv "Conv" options x w

    /// Transposed convolution (the transpose of `Conv` in its input): w (C, O, window...).
    [<Extension>]
    static member ConvTranspose(x: Tensor, w: Tensor) =
        Guard.notNull "ConvTranspose" "x" x
        Guard.notNull "ConvTranspose" "w" w
        Composite.Convolution.convTranspose "ConvTranspose" ConvTransposeOptions.Default x w

    /// Transposed convolution with strides, padding, output padding, dilation and groups.
    [<Extension>]
    static member ConvTranspose(x: Tensor, w: Tensor, options: ConvTransposeOptions) =
        Guard.notNull "ConvTranspose" "x" x
        Guard.notNull "ConvTranspose" "w" w
        Guard.notNull "ConvTranspose" "options" options
        Composite.Convolution.convTranspose "ConvTranspose" options x w

    /// Max pooling over the trailing window.Length axes, stepping by the window:
    /// `x.MaxPool(new[] { 2, 2 })`.
    [<Extension>]
    static member MaxPool(x: Tensor, window: int[]) =
        Guard.notNull "MaxPool" "x" x
        Guard.notNull "MaxPool" "window" window
        Composite.Convolution.maxPool "MaxPool" (Array.copy window) PoolOptions.Default x

    /// Max pooling with strides, padding (−∞) and dilation.
    [<Extension>]
    static member MaxPool(x: Tensor, window: int[], options: PoolOptions) =
        Guard.notNull "MaxPool" "x" x
        Guard.notNull "MaxPool" "window" window
        Guard.notNull "MaxPool" "options" options
        Composite.Convolution.maxPool "MaxPool" (Array.copy window) options x

    /// Average pooling over the trailing window.Length axes, stepping by the window.
    [<Extension>]
    static member AvgPool(x: Tensor, window: int[]) =
        Guard.notNull "AvgPool" "x" x
        Guard.notNull "AvgPool" "window" window
        Composite.Convolution.avgPool "AvgPool" (Array.copy window) PoolOptions.Default x

    /// Average pooling with strides, padding (zeros counted in the mean) and dilation.
    [<Extension>]
    static member AvgPool(x: Tensor, window: int[], options: PoolOptions) =
        Guard.notNull "AvgPool" "x" x
        Guard.notNull "AvgPool" "window" window
        Guard.notNull "AvgPool" "options" options
        Composite.Convolution.avgPool "AvgPool" (Array.copy window) options x

/// C# statics for the ops of several tensors that no single one owns:
/// `Ops.Einsum("ij,jk->ik", a, b)`.
[<AbstractClass; Sealed>]
type Ops =

    /// Einstein summation as NumPy's einsum ("ij,jk->ik", "ii", "...ij,...jk->...ik", implicit
    /// outputs); three or more operands are contracted pairwise, the cheapest result first.
    static member Einsum(subscripts: string, [<System.ParamArray>] operands: Tensor[]) =
        Guard.notNull "Einsum" "subscripts" subscripts
        Guard.notNullElements "Einsum" "operands" operands
        Tensor.einsum subscripts (List.ofArray operands)
