// Room: the C# transforms (Grad, Jvp, Vjp, Jacobian, Hessian, Vmap, ...) over Func<Tensor, Tensor>.
using System;
using System.Runtime.CompilerServices;
using static FunDiff.FSharpInterop;

namespace FunDiff;

/// <summary>
/// The FunDiff transforms for C#: each takes a function <c>Func&lt;Tensor, Tensor&gt;</c> and
/// returns another function (or, where that is the natural form, a value), computed by the F#
/// transforms in <c>FunDiff.Diff</c>. Transforms compose to any depth:
/// <c>Grad(Grad(f))</c>, <c>Jvp(Grad(f), x, v)</c>, <c>Jacfwd(Jacrev(f))</c>, <c>Vmap(Grad(f))</c>.
/// </summary>
/// <example>
/// <code>
/// using FunDiff;
/// using static FunDiff.Fn;
///
/// var df = Grad(x => x * x);
/// Console.WriteLine(df(3.0));   // 6.0
/// </code>
/// </example>
/// <remarks>
/// Every transform raises <see cref="ArgumentNullException"/> for a null function or tensor
/// (naming the parameter), as do the functions it returns (<c>Grad(f)(null)</c>), and lets the
/// library's exceptions (all deriving from <see cref="FunDiffException"/>) through unchanged.
/// The fluent forms (<c>f.Grad()</c>, <c>f.Hessian()</c>, ...) are in <see cref="FuncExtensions"/>.
/// <para>
/// Functions of many tensors take and return <em>trees</em> (C# records, classes with public
/// properties, lists, dictionaries, value tuples, arrays, nested freely) through the generic
/// overloads: <c>Grad((Mlp p) =&gt; Loss(p))</c>, <c>Vjp&lt;T, U&gt;</c>, <c>Grad&lt;T1, T2&gt;</c> for
/// two arguments, <c>ValueAndGradAux</c>, <c>Vmap&lt;T, U&gt;</c> (with <see cref="InAxis"/> for an argument
/// or a leaf mapped along another axis or shared); <see cref="Trees"/> has the tree utilities and
/// <see cref="Adam"/>, <see cref="Sgd"/>, <see cref="Momentum"/> the optimizers. The
/// <c>Tensor</c> overloads carry <c>[OverloadResolutionPriority(1)]</c>: wherever one applies
/// (<c>Grad(x =&gt; x * x)</c>, <c>Jvp(x =&gt; x * x, 3.0, 1.0)</c>) C# takes it rather than a
/// generic overload with <c>T = double</c>, which could not carry a derivative.
/// </para>
/// </remarks>
public static partial class Fn
{
    /// <summary>
    /// The gradient of a scalar function: <c>Grad(f)(x)</c> has <c>x</c>'s shape, by reverse mode.
    /// </summary>
    /// <param name="f">A function whose output is a scalar (a tensor of shape <c>[]</c>).</param>
    /// <returns>The function <c>x =&gt; ∇f(x)</c>.</returns>
    /// <exception cref="NonScalarOutputException">When the returned function is called and
    /// <paramref name="f"/>'s output is not a scalar (reduce it first, e.g. with <c>.Sum()</c>).</exception>
    /// <example><c>Grad(x =&gt; x * x)(3.0)</c> is <c>6</c>.</example>
    [OverloadResolutionPriority(1)]
    public static Func<Tensor, Tensor> Grad(Func<Tensor, Tensor> f)
    {
        var function = Diff.grad(ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// The value and the gradient of a scalar function in one pass.
    /// </summary>
    /// <param name="f">A function whose output is a scalar.</param>
    /// <returns>The function <c>x =&gt; (f(x), ∇f(x))</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    /// <example><c>var (loss, g) = ValueAndGrad(lossFunction)(w);</c></example>
    [OverloadResolutionPriority(1)]
    public static Func<Tensor, (Tensor Value, Tensor Gradient)> ValueAndGrad(Func<Tensor, Tensor> f)
    {
        var function = Diff.valueAndGrad(ToFSharp(f));
        return x =>
        {
            var (value, gradient) = function.Invoke(x);
            return (value, gradient);
        };
    }

    /// <summary>
    /// Forward mode: the output of <paramref name="f"/> at <paramref name="x"/> and its derivative
    /// along <paramref name="v"/>, <c>J v</c> (of the output's shape).
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">The point (the primal).</param>
    /// <param name="v">The direction (the tangent), of <paramref name="x"/>'s shape.</param>
    /// <returns><c>(f(x), J v)</c>.</returns>
    /// <exception cref="ShapeException">If <paramref name="v"/>'s shape differs from <paramref name="x"/>'s.</exception>
    /// <example><c>Jvp(Grad(f), x, v).Tangent</c> is the Hessian-vector product <c>H v</c>.</example>
    [OverloadResolutionPriority(1)]
    public static (Tensor Value, Tensor Tangent) Jvp(Func<Tensor, Tensor> f, Tensor x, Tensor v)
    {
        var (value, tangent) = Diff.jvp(ToFSharp(f), x, v);
        return (value, tangent);
    }

    /// <summary>
    /// The output of <paramref name="f"/> at <paramref name="x"/> and the linear map
    /// <c>v =&gt; J v</c>, staged once as a linear program and cheap to apply many times.
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">The point at which to linearize.</param>
    /// <returns><c>(f(x), v =&gt; J v)</c>; the map raises <see cref="ShapeException"/> for a
    /// tangent whose shape differs from <paramref name="x"/>'s.</returns>
    [OverloadResolutionPriority(1)]
    public static (Tensor Value, Func<Tensor, Tensor> Linear) Linearize(Func<Tensor, Tensor> f, Tensor x)
    {
        var (value, linear) = Diff.linearize(ToFSharp(f), x);
        return (value, ToFunc(linear));
    }

    /// <summary>
    /// Reverse mode: the output of <paramref name="f"/> at <paramref name="x"/> and the pullback
    /// <c>u =&gt; Jᵀ u</c> (<c>u</c> of the output's shape, the result of <paramref name="x"/>'s shape).
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">The point.</param>
    /// <returns><c>(f(x), u =&gt; Jᵀ u)</c>; the pullback raises <see cref="ShapeException"/> for a
    /// cotangent whose shape differs from the output's.</returns>
    [OverloadResolutionPriority(1)]
    public static (Tensor Value, Func<Tensor, Tensor> Pullback) Vjp(Func<Tensor, Tensor> f, Tensor x)
    {
        var (value, pullback) = Diff.vjp(ToFSharp(f), x);
        return (value, ToFunc(pullback));
    }

    /// <summary>
    /// The Jacobian by forward mode (one linearization, one tangent per input element), of shape
    /// <c>output.Shape ++ x.Shape</c>.
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>.</returns>
    public static Func<Tensor, Tensor> Jacfwd(Func<Tensor, Tensor> f)
    {
        var function = Diff.jacfwd(ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// The Jacobian by reverse mode (one pullback per output element), of shape
    /// <c>output.Shape ++ x.Shape</c>.
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>.</returns>
    public static Func<Tensor, Tensor> Jacrev(Func<Tensor, Tensor> f)
    {
        var function = Diff.jacrev(ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// The Jacobian by forward mode, evaluating <paramref name="chunk"/> basis directions per
    /// batched evaluation (torch.func's <c>chunk_size</c>): less memory for a large input, the
    /// same Jacobian as <see cref="Jacfwd"/>.
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="chunk">The number of tangents pushed forward at once, at least 1.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>, of shape <c>output.Shape ++ x.Shape</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">If <paramref name="chunk"/> is less than 1.</exception>
    /// <example><c>JacfwdChunked(f, 64)(x)</c> equals <c>Jacfwd(f)(x)</c>.</example>
    public static Func<Tensor, Tensor> JacfwdChunked(Func<Tensor, Tensor> f, int chunk)
    {
        var function = Diff.jacfwdChunked(chunk, ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// The Jacobian by reverse mode, evaluating <paramref name="chunk"/> cotangent directions per
    /// batched evaluation: less memory for a large output, the same Jacobian as <see cref="Jacrev"/>.
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="chunk">The number of cotangents pulled back at once, at least 1.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>, of shape <c>output.Shape ++ x.Shape</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">If <paramref name="chunk"/> is less than 1.</exception>
    /// <example><c>JacrevChunked(f, 64)(x)</c> equals <c>Jacrev(f)(x)</c>.</example>
    public static Func<Tensor, Tensor> JacrevChunked(Func<Tensor, Tensor> f, int chunk)
    {
        var function = Diff.jacrevChunked(chunk, ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// The Jacobian by the cheaper mode (forward when the input has fewer elements than the
    /// output, reverse otherwise), of shape <c>output.Shape ++ x.Shape</c>.
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>.</returns>
    public static Func<Tensor, Tensor> Jacobian(Func<Tensor, Tensor> f)
    {
        var function = Diff.jacobian(ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// The Hessian <c>Jacfwd(Jacrev(f))</c>, of shape <c>output.Shape ++ x.Shape ++ x.Shape</c>
    /// (<c>[n, n]</c> for a scalar function of a vector of <c>n</c> elements).
    /// </summary>
    /// <param name="f">Any function of one tensor (usually a scalar one).</param>
    /// <returns>The function <c>x =&gt; ∂²f/∂x²</c>.</returns>
    public static Func<Tensor, Tensor> Hessian(Func<Tensor, Tensor> f) => ToFunc(Diff.hessian(ToFSharp(f)));

    /// <summary>
    /// The Hessian-vector product <c>(x, v) =&gt; H(x) v</c> by forward-over-reverse
    /// (<c>Jvp(Grad(f), x, v).Tangent</c>), about the cost of a few gradients; the Hessian is
    /// never formed.
    /// </summary>
    /// <param name="f">A function whose output is a scalar.</param>
    /// <returns>The function <c>(x, v) =&gt; H v</c>, of <c>x</c>'s shape.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    [OverloadResolutionPriority(1)]
    public static Func<Tensor, Tensor, Tensor> Hvp(Func<Tensor, Tensor> f)
    {
        var function = ToFSharp(f);
        return (x, v) => Diff.hvp(function, x, v);
    }

    /// <summary>
    /// The Hessian-vector product <c>H(x) v</c> of a scalar function, by forward-over-reverse.
    /// </summary>
    /// <param name="f">A function whose output is a scalar.</param>
    /// <param name="x">The point.</param>
    /// <param name="v">The vector, of <paramref name="x"/>'s shape.</param>
    /// <returns><c>H v</c>, of <paramref name="x"/>'s shape.</returns>
    /// <exception cref="NonScalarOutputException">If <paramref name="f"/>'s output is not a scalar.</exception>
    /// <exception cref="ShapeException">If <paramref name="v"/>'s shape differs from <paramref name="x"/>'s.</exception>
    [OverloadResolutionPriority(1)]
    public static Tensor Hvp(Func<Tensor, Tensor> f, Tensor x, Tensor v) => Diff.hvp(ToFSharp(f), x, v);

    /// <summary>
    /// Batching: <c>Vmap(f)(xs)</c> is <paramref name="f"/> applied to every slice <c>xs[i]</c>
    /// along axis 0, stacked along axis 0 of the result, computed as one batched evaluation (each
    /// primitive applied once to the whole batch), not a loop. Composes with every transform in
    /// any order: <c>Vmap(Grad(f))</c> gives per-example gradients, <c>Grad(x =&gt; Vmap(f)(x).Sum())</c>
    /// differentiates through the batch, <c>Vmap(Vmap(f))</c> maps two axes.
    /// </summary>
    /// <param name="f">A function of one example; inside it, tensors have per-example shapes. A
    /// tensor it closes over is the same for every example.</param>
    /// <returns>The function <c>xs =&gt; Stack(f(xs[0]), f(xs[1]), ...)</c>.</returns>
    /// <exception cref="ShapeException">When the returned function is called with a scalar (it has
    /// no axis 0), or <paramref name="f"/> raises one on an example's shapes.</exception>
    /// <exception cref="ConcretizationException">When <paramref name="f"/> reads a per-example
    /// value as a number (<c>(double)x</c>, an <c>if</c> on it): use <c>TensorExtensions.Where</c> instead.</exception>
    /// <example><c>Vmap(Grad(loss))(examples)</c>: row <c>i</c> is <c>Grad(loss)(examples[i])</c>.</example>
    [OverloadResolutionPriority(1)]
    public static Func<Tensor, Tensor> Vmap(Func<Tensor, Tensor> f)
    {
        var function = Diff.vmap(ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// <see cref="Vmap(Func{Tensor, Tensor})"/> over axis <paramref name="inAxis"/> of the input,
    /// with the batch placed at axis <paramref name="outAxis"/> of the result (JAX's
    /// <c>in_axes</c> and <c>out_axes</c>). Negative axes count from the end, as in NumPy.
    /// </summary>
    /// <param name="f">A function of one example.</param>
    /// <param name="inAxis">The input's batch axis.</param>
    /// <param name="outAxis">Where the batch goes in the result.</param>
    /// <returns>The batched function.</returns>
    /// <exception cref="ShapeException">When the returned function is called with an input that
    /// has no axis <paramref name="inAxis"/>, or the result has no room for <paramref name="outAxis"/>.</exception>
    /// <example><c>Vmap(f, -1, -1)(m)</c> maps <c>f</c> over the columns of <c>m</c> and keeps them columns.</example>
    [OverloadResolutionPriority(1)]
    public static Func<Tensor, Tensor> Vmap(Func<Tensor, Tensor> f, int inAxis, int outAxis)
    {
        var function = Diff.vmapAxes(inAxis, outAxis, ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// jit: <paramref name="f"/> traced once per input signature (shape and dtype) into a
    /// program that later calls reuse, bound as one <c>jit</c> primitive, so it composes with
    /// every transform: <c>Jit(Grad(f))</c>, <c>Grad(Jit(f))</c>, <c>Vmap(Jit(f))</c>. Tensors
    /// <paramref name="f"/> closes over are constants of the program. This first version
    /// evaluates the traced program by binding its equations again (no fused code yet).
    /// </summary>
    /// <param name="f">The function; inside it a tensor has no number.</param>
    /// <returns>The jitted function.</returns>
    /// <exception cref="ConcretizationException">When <paramref name="f"/> reads a value as a number
    /// (<c>(double)x</c>, an <c>if</c> on it): use <c>TensorExtensions.Where</c>.</exception>
    /// <example><c>var step = Jit(Grad(loss)); step(x); step(x2);</c> traces once for one shape.</example>
    [OverloadResolutionPriority(1)]
    public static Func<Tensor, Tensor> Jit(Func<Tensor, Tensor> f)
    {
        var function = Diff.jit(ToFSharp(f));
        return function.Invoke;
    }

    /// <summary>
    /// <see cref="Jit(Func{Tensor, Tensor})"/> as an object that also says how often it traced
    /// and why it last retraced (<c>TraceCount</c>, <c>LastRetrace</c>, e.g. "input 0 changed
    /// f64[3] -&gt; f64[4]"); call it with <c>Invoke</c>.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <returns>The jitted function with its trace statistics.</returns>
    public static Jitted Jitted(Func<Tensor, Tensor> f) => Diff.jitted(ToFSharp(f));

    /// <summary>
    /// The program <see cref="Jit(Func{Tensor, Tensor})"/> runs for <paramref name="f"/> on
    /// inputs of <paramref name="x"/>'s shape and dtype, after its optimization passes
    /// (constants folded, common subexpressions merged, dead equations removed), and how its
    /// equations are grouped into fused loops; print it.
    /// </summary>
    /// <param name="f">The function (jitted or not).</param>
    /// <param name="x">An input of the shape and dtype to trace for.</param>
    /// <returns>The optimized program and its fused loops.</returns>
    public static Lowered Lowered(Func<Tensor, Tensor> f, Tensor x) => Diff.lowered(ToFSharp(f), x);

    /// <summary>
    /// The program <paramref name="f"/> computes on inputs of <c>x</c>'s shape and dtype, with
    /// known values folded and dead equations removed.
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <returns>The function <c>x =&gt; program</c>; print the <see cref="Program"/> with
    /// <c>ToString()</c> or read its <see cref="Program.Equations"/>.</returns>
    /// <exception cref="ConcretizationException">When <paramref name="f"/> reads a number
    /// (<c>(double)x</c>, <c>ToScalar()</c>) from its input: under staging it has none.</exception>
    public static Func<Tensor, Program> MakeIR(Func<Tensor, Tensor> f)
    {
        var function = ToFSharp(f);
        return x => Diff.makeIR(function, x);
    }

    /// <summary>
    /// The program <paramref name="f"/> computes on inputs of <paramref name="x"/>'s shape and
    /// dtype (only its aval matters, not its values).
    /// </summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">An example input.</param>
    /// <returns>The <see cref="Program"/>, printable like a jaxpr with <c>ToString()</c>.</returns>
    /// <exception cref="ConcretizationException">When <paramref name="f"/> reads a number from its input.</exception>
    /// <example><c>Console.WriteLine(MakeIR(Grad(f), x));</c> prints the gradient's program.</example>
    public static Program MakeIR(Func<Tensor, Tensor> f, Tensor x) => Diff.makeIR(ToFSharp(f), x);

    /// <summary>
    /// The derivative of a function of one number, by forward mode: <c>Derivative(f)(x)</c> is
    /// <c>f′(x)</c>, of the output's shape (a scalar for R → R). Composes like the others:
    /// <c>Derivative(Derivative(f))</c> is <c>f″</c>.
    /// </summary>
    /// <param name="f">A function of a one-element tensor.</param>
    /// <returns>The function <c>x =&gt; f′(x)</c>.</returns>
    /// <exception cref="ShapeException">When the returned function is called with an input of
    /// more than one element: use <see cref="Grad"/> or <see cref="Jacobian"/> for those.</exception>
    /// <example><c>Derivative(x =&gt; x.Sin())(0.0)</c> is <c>1</c>.</example>
    public static Func<Tensor, Tensor> Derivative(Func<Tensor, Tensor> f)
    {
        var function = ToFSharp(f);
        return x =>
        {
            ArgumentNullException.ThrowIfNull(x);
            if (x.Size != 1)
            {
                throw new ShapeException(
                    $"Derivative: the input has shape [{string.Join(", ", x.Shape)}] ({x.Size} elements), "
                    + "but Derivative is for functions of one number. For a function of a tensor, use "
                    + "Grad (scalar output) or Jacobian.");
            }

            return Diff.jvp(function, x, Tensor.Ones(x.Shape)).Item2;
        };
    }

    /// <summary>
    /// The gradient of a scalar function at a point given as numbers: the commonest case without
    /// building tensors. <c>Gradient(f, 1.0, 2.0)</c> is <c>Grad(f)(Tensor.Of(1.0, 2.0)).ToArray()</c>.
    /// </summary>
    /// <param name="f">A function of a 1-d tensor whose output is a scalar.</param>
    /// <param name="x">The point, one number per element of the 1-d input.</param>
    /// <returns>The gradient, one number per element of <paramref name="x"/>.</returns>
    /// <exception cref="NonScalarOutputException">If <paramref name="f"/>'s output is not a scalar.</exception>
    /// <example><c>Gradient(x =&gt; (x * x).Sum(), 1.0, 2.0)</c> is <c>[2.0, 4.0]</c>.</example>
    public static double[] Gradient(Func<Tensor, Tensor> f, params double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Diff.grad(ToFSharp(f)).Invoke(Tensor.OfArray(x)).ToArray();
    }
}
