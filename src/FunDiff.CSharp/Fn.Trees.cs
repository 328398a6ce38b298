// Room: the generic tree overloads of the C# transforms (Grad<T>, Vmap<T, U>, ...).
using System;
using static FunDiff.FSharpInterop;

namespace FunDiff;

// The transforms over trees: functions of a C# record, a class with properties, a List<Tensor>,
// a Dictionary<string, Tensor>, a value tuple, an array, nested freely (see Trees). Each is the
// F# Tree transform of the same name. C# picks these generic overloads only when the argument's
// type is known and is not Tensor: Grad(x => x * x) has no type to infer T from, so it stays the
// Tensor overload; Grad((Mlp p) => Loss(p)) is this one.
public static partial class Fn
{
    /// <summary>
    /// The gradient of a scalar function of a tree (a record, class, list, dictionary, tuple or
    /// array of tensors, nested freely), with the tree's structure: <c>Grad((Mlp p) =&gt; Loss(p))(p)</c>
    /// is an <c>Mlp</c> of gradients.
    /// </summary>
    /// <typeparam name="T">The tree type: its leaves are <see cref="Tensor"/>s (or <c>double</c>s,
    /// which are constants and cannot be differentiated).</typeparam>
    /// <param name="f">A function of the tree whose output is a scalar.</param>
    /// <returns>The function <c>p =&gt; ∇f(p)</c>, a <typeparamref name="T"/> like <c>p</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    /// <exception cref="TransformException">When a leaf is not a tensor (a <c>string</c> property,
    /// say) or not float64; the message names its path, e.g. <c>params.Layers[2].Name</c>.</exception>
    /// <example><c>var g = Grad((Mlp p) =&gt; Loss(p, x, y))(p);   // g.W1, g.B1, ...</c></example>
    public static Func<T, T> Grad<T>(Func<T, Tensor> f)
    {
        var function = ToFSharp(f);
        return x => TreeModule.grad(function, x);
    }

    /// <summary>
    /// The value and the gradient of a scalar function of a tree in one pass.
    /// </summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="f">A function of the tree whose output is a scalar.</param>
    /// <returns>The function <c>p =&gt; (f(p), ∇f(p))</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    /// <exception cref="TransformException">When a leaf is not a float64 tensor (the message names its path).</exception>
    /// <example><c>var (loss, g) = ValueAndGrad((Mlp p) =&gt; Loss(p, x, y))(p);</c></example>
    public static Func<T, (Tensor Value, T Gradient)> ValueAndGrad<T>(Func<T, Tensor> f)
    {
        var function = ToFSharp(f);
        return x =>
        {
            var (value, gradient) = TreeModule.valueAndGrad(function, x);
            return (value, gradient);
        };
    }

    /// <summary>
    /// The value, the auxiliary output and the gradient of a function returning a loss and data
    /// that is not differentiated (JAX's <c>has_aux</c>): accuracy, predictions, a log line.
    /// </summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <typeparam name="TAux">The auxiliary output's type: anything; tensors in it come back as
    /// values, not as the transform's tracers.</typeparam>
    /// <param name="f">A function of the tree returning <c>(loss, aux)</c>, the loss a scalar.</param>
    /// <returns>The function <c>p =&gt; (loss, aux, ∇loss(p))</c>.</returns>
    /// <exception cref="NonScalarOutputException">When the loss is not a scalar.</exception>
    /// <example>
    /// <code>
    /// var (loss, predictions, g) = ValueAndGradAux((Mlp p) =&gt; (Loss(p), Logits(p).ArgMax(1)))(p);
    /// </code>
    /// </example>
    public static Func<T, (Tensor Value, TAux Aux, T Gradient)> ValueAndGradAux<T, TAux>(
        Func<T, (Tensor Loss, TAux Aux)> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var function = ToFSharp<T, Tuple<Tensor, TAux>>(x =>
        {
            var (loss, aux) = f(x);
            return Tuple.Create(loss, aux);
        });
        return x =>
        {
            var (valueAndAux, gradient) = TreeModule.valueAndGradAux(function, x);
            return (valueAndAux.Item1, valueAndAux.Item2, gradient);
        };
    }

    /// <summary>
    /// The gradients of a scalar function of two trees with respect to both arguments. For one of
    /// them, close over the other: <c>Grad((Mlp p) =&gt; Loss(p, batch))</c>.
    /// </summary>
    /// <typeparam name="T1">The first argument's type (a tree).</typeparam>
    /// <typeparam name="T2">The second argument's type (a tree).</typeparam>
    /// <param name="f">A function of two trees whose output is a scalar.</param>
    /// <returns>The function <c>(a, b) =&gt; (∂f/∂a, ∂f/∂b)</c>: <c>First</c> is like <c>a</c>,
    /// <c>Second</c> like <c>b</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    /// <example><c>var (gW, gB) = Grad((Tensor w, Tensor b) =&gt; Loss(w, b))(w, b);</c></example>
    public static Func<T1, T2, (T1 First, T2 Second)> Grad<T1, T2>(Func<T1, T2, Tensor> f)
    {
        var function = ToFSharp(f);
        return (a, b) =>
        {
            var gradients = TreeModule.grad2(function, a, b);
            return (gradients.Item1, gradients.Item2);
        };
    }

    /// <summary>
    /// The value of a scalar function of two trees and its gradients with respect to both.
    /// </summary>
    /// <typeparam name="T1">The first argument's type (a tree).</typeparam>
    /// <typeparam name="T2">The second argument's type (a tree).</typeparam>
    /// <param name="f">A function of two trees whose output is a scalar.</param>
    /// <returns>The function <c>(a, b) =&gt; (f(a, b), ∂f/∂a, ∂f/∂b)</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    public static Func<T1, T2, (Tensor Value, T1 First, T2 Second)> ValueAndGrad<T1, T2>(Func<T1, T2, Tensor> f)
    {
        var function = ToFSharp(f);
        return (a, b) =>
        {
            var (value, gradients) = TreeModule.valueAndGrad2(function, a, b);
            return (value, gradients.Item1, gradients.Item2);
        };
    }

    /// <summary>
    /// Forward mode over trees: the output of <paramref name="f"/> at <paramref name="x"/> and
    /// its derivative along <paramref name="v"/> (a tree like <paramref name="x"/>), both trees
    /// like the output.
    /// </summary>
    /// <typeparam name="T">The input tree type.</typeparam>
    /// <typeparam name="U">The output tree type.</typeparam>
    /// <param name="f">Any function of a tree returning a tree.</param>
    /// <param name="x">The point.</param>
    /// <param name="v">The direction, of <paramref name="x"/>'s structure.</param>
    /// <returns><c>(f(x), J v)</c>.</returns>
    /// <exception cref="ShapeException">When <paramref name="v"/>'s structure differs from <paramref name="x"/>'s.</exception>
    public static (U Value, U Tangent) Jvp<T, U>(Func<T, U> f, T x, T v)
    {
        var (value, tangent) = TreeModule.jvp(ToFSharp(f), x, v);
        return (value, tangent);
    }

    /// <summary>
    /// The output of <paramref name="f"/> at <paramref name="x"/> and the linear map
    /// <c>v =&gt; J v</c> from trees like <paramref name="x"/> to trees like the output, staged
    /// once and cheap to apply many times.
    /// </summary>
    /// <typeparam name="T">The input tree type.</typeparam>
    /// <typeparam name="U">The output tree type.</typeparam>
    /// <param name="f">Any function of a tree returning a tree.</param>
    /// <param name="x">The point at which to linearize.</param>
    /// <returns><c>(f(x), v =&gt; J v)</c>; the map raises <see cref="ShapeException"/> for a tangent
    /// whose structure differs from <paramref name="x"/>'s.</returns>
    public static (U Value, Func<T, U> Linear) Linearize<T, U>(Func<T, U> f, T x)
    {
        var (value, linear) = TreeModule.linearize(ToFSharp(f), x);
        return (value, ToFunc(linear));
    }

    /// <summary>
    /// Reverse mode over trees: the output of <paramref name="f"/> at <paramref name="x"/> and
    /// the pullback <c>u =&gt; Jᵀ u</c> from trees like the output to trees like <paramref name="x"/>.
    /// </summary>
    /// <typeparam name="T">The input tree type.</typeparam>
    /// <typeparam name="U">The output tree type.</typeparam>
    /// <param name="f">Any function of a tree returning a tree.</param>
    /// <param name="x">The point.</param>
    /// <returns><c>(f(x), u =&gt; Jᵀ u)</c>; the pullback raises <see cref="ShapeException"/> for a
    /// cotangent whose structure or shapes differ from the output's.</returns>
    public static (U Value, Func<U, T> Pullback) Vjp<T, U>(Func<T, U> f, T x)
    {
        var (value, pullback) = TreeModule.vjp(ToFSharp(f), x);
        return (value, ToFunc(pullback));
    }

    /// <summary>
    /// The Hessian-vector product of a scalar function of a tree, by forward-over-reverse:
    /// <c>(p, v) =&gt; H(p) v</c>, with <c>v</c> and the result trees like <c>p</c>.
    /// </summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="f">A function of the tree whose output is a scalar.</param>
    /// <returns>The function <c>(p, v) =&gt; H v</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    public static Func<T, T, T> Hvp<T>(Func<T, Tensor> f)
    {
        var function = ToFSharp(f);
        return (x, v) => TreeModule.hvp(function, x, v);
    }

    /// <summary>
    /// The Hessian-vector product <c>H(x) v</c> of a scalar function of a tree.
    /// </summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="f">A function of the tree whose output is a scalar.</param>
    /// <param name="x">The point.</param>
    /// <param name="v">The vector, a tree like <paramref name="x"/>.</param>
    /// <returns><c>H v</c>, a tree like <paramref name="x"/>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    /// <exception cref="ShapeException">When <paramref name="v"/>'s structure differs from <paramref name="x"/>'s.</exception>
    public static T Hvp<T>(Func<T, Tensor> f, T x, T v) => TreeModule.hvp(ToFSharp(f), x, v);

    /// <summary>
    /// Batching over trees: every leaf of the argument is mapped over its axis 0 (all with one
    /// batch size), and every leaf of the result carries the batch along axis 0. Values that are
    /// the same for every example are closed over, or passed <see cref="InAxis.Shared"/> with the
    /// two-argument overload.
    /// </summary>
    /// <typeparam name="T">The argument's tree type: a batch of examples, e.g. a value tuple
    /// <c>(Tensor X, Tensor Y)</c> whose leaves have the batch as axis 0.</typeparam>
    /// <typeparam name="U">The result's tree type, e.g. a model-shaped record of gradients.</typeparam>
    /// <param name="f">A function of one example (inside it, leaves have per-example shapes).</param>
    /// <returns>The batched function: a <typeparamref name="U"/> whose leaves stack the examples' results.</returns>
    /// <exception cref="ShapeException">When the returned function is called with leaves of
    /// different batch sizes, or a leaf without an axis 0.</exception>
    /// <example>
    /// Per-example gradients, each an <c>Mlp</c>: <c>Vmap(((Tensor X, Tensor Y) e) =&gt; Grad((Mlp q) =&gt; Loss(q, e.X, e.Y))(model))((xs, ys))</c>.
    /// </example>
    public static Func<T, U> Vmap<T, U>(Func<T, U> f)
    {
        var function = ToFSharp(f);
        return x => TreeModule.vmap(function, x);
    }

    /// <summary>
    /// jit over trees: <paramref name="f"/> traced once per input structure and leaf signature
    /// (shapes and dtypes), the traced program reused by later calls; composes with every
    /// transform. A C# training step <c>Jit((Mlp p) =&gt; Trees.Sub(p, Trees.Scale(Grad&lt;Mlp&gt;(Loss)(p), 0.1)))</c>
    /// is traced once.
    /// </summary>
    /// <typeparam name="T">The argument's tree type.</typeparam>
    /// <typeparam name="U">The result's tree type.</typeparam>
    /// <param name="f">The function; inside it a tensor has no number.</param>
    /// <returns>The jitted function.</returns>
    public static Func<T, U> Jit<T, U>(Func<T, U> f)
    {
        var function = TreeModule.jit(ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// Batching over a function of two trees, each argument mapped along an axis (all its leaves)
    /// or shared by every example: JAX's <c>in_axes=(None, 0)</c> is
    /// <c>Vmap(f, InAxis.Shared, InAxis.Along(0))</c>. Every leaf of the result carries the batch
    /// along axis 0.
    /// </summary>
    /// <typeparam name="T1">The first argument's type (a tree).</typeparam>
    /// <typeparam name="T2">The second argument's type (a tree).</typeparam>
    /// <typeparam name="U">The result's tree type.</typeparam>
    /// <param name="f">A function of one example's arguments.</param>
    /// <param name="first">How the first argument is treated.</param>
    /// <param name="second">How the second argument is treated.</param>
    /// <returns>The batched function of both arguments.</returns>
    /// <exception cref="ShapeException">When the returned function is called with mapped leaves of
    /// different batch sizes, or a leaf without its batch axis.</exception>
    /// <example>
    /// <code>
    /// var perExample = Vmap((Mlp p, (Tensor X, Tensor Y) e) =&gt; Grad((Mlp q) =&gt; Loss(q, e.X, e.Y))(p),
    ///                       InAxis.Shared, InAxis.Along(0))(model, (xs, ys));
    /// </code>
    /// </example>
    public static Func<T1, T2, U> Vmap<T1, T2, U>(Func<T1, T2, U> f, InAxis first, InAxis second)
    {
        var function = ToFSharp(f);
        var (axisA, axisB) = (first.ToFSharp(), second.ToFSharp());
        return (a, b) => TreeModule.vmap2(axisA, axisB, function, a, b);
    }

    /// <summary>
    /// Batching over a tree with the axis of each leaf chosen by its path: <paramref name="axisOf"/>
    /// is asked once per leaf, with paths as the errors name them, from <c>x</c>:
    /// <c>x.W</c>, <c>x.Layers[1].B</c>, <c>x.Item2</c> (a value tuple's second element),
    /// <c>x["bias"]</c>. Every leaf of the result carries the batch along axis 0.
    /// </summary>
    /// <typeparam name="T">The argument's tree type.</typeparam>
    /// <typeparam name="U">The result's tree type.</typeparam>
    /// <param name="f">A function of one example.</param>
    /// <param name="axisOf">The leaf's treatment given its path: <see cref="InAxis.Along(int)"/>
    /// or <see cref="InAxis.Shared"/>.</param>
    /// <returns>The batched function.</returns>
    /// <exception cref="ShapeException">When the returned function is called with mapped leaves of
    /// different batch sizes, or a leaf without its batch axis.</exception>
    /// <example><c>Vmap(f, path =&gt; path.EndsWith(".Item2") ? InAxis.Along(1) : InAxis.Along(0))((xs, ysByColumn))</c></example>
    public static Func<T, U> Vmap<T, U>(Func<T, U> f, Func<string, InAxis> axisOf)
    {
        var function = ToFSharp(f);
        ArgumentNullException.ThrowIfNull(axisOf);
        var axes = ToFSharp<string, VmapAxis>(path => axisOf(path).ToFSharp(), nameof(axisOf));
        return x => TreeModule.vmapLeaves(axes, function, x);
    }
}
