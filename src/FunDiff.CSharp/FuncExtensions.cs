// Room: the C# transforms in fluent form on Func<Tensor, Tensor> (f.Grad()).
using System;

namespace FunDiff;

/// <summary>
/// The transforms of <see cref="Fn"/> in fluent form, on any <c>Func&lt;Tensor, Tensor&gt;</c>:
/// <c>f.Grad()</c>, <c>f.Grad().Grad()</c>, <c>f.Hessian()</c>, <c>f.Jvp(x, v)</c>, <c>f.Grad().Vmap()</c>, ...
/// Each is exactly the <see cref="Fn"/> method of the same name.
/// </summary>
/// <example>
/// <code>
/// Func&lt;Tensor, Tensor&gt; f = x =&gt; x.Sin() * x;
/// var d2 = f.Grad().Grad();          // the second derivative
/// Console.WriteLine(d2(1.0));
/// </code>
/// </example>
public static class FuncExtensions
{
    /// <summary>The gradient of a scalar function; see <see cref="Fn.Grad"/>.</summary>
    /// <param name="f">A function whose output is a scalar.</param>
    /// <returns>The function <c>x =&gt; ∇f(x)</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    public static Func<Tensor, Tensor> Grad(this Func<Tensor, Tensor> f) => Fn.Grad(f);

    /// <summary>The value and the gradient in one pass; see <see cref="Fn.ValueAndGrad"/>.</summary>
    /// <param name="f">A function whose output is a scalar.</param>
    /// <returns>The function <c>x =&gt; (f(x), ∇f(x))</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    public static Func<Tensor, (Tensor Value, Tensor Gradient)> ValueAndGrad(this Func<Tensor, Tensor> f) =>
        Fn.ValueAndGrad(f);

    /// <summary>Forward mode, <c>(f(x), J v)</c>; see <see cref="Fn.Jvp(Func{Tensor, Tensor}, Tensor, Tensor)"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">The point.</param>
    /// <param name="v">The direction, of <paramref name="x"/>'s shape.</param>
    /// <returns>The output and its derivative along <paramref name="v"/>.</returns>
    /// <exception cref="ShapeException">If <paramref name="v"/>'s shape differs from <paramref name="x"/>'s.</exception>
    public static (Tensor Value, Tensor Tangent) Jvp(this Func<Tensor, Tensor> f, Tensor x, Tensor v) =>
        Fn.Jvp(f, x, v);

    /// <summary>Reverse mode, <c>(f(x), u =&gt; Jᵀ u)</c>; see <see cref="Fn.Vjp(Func{Tensor, Tensor}, Tensor)"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">The point.</param>
    /// <returns>The output and its pullback.</returns>
    public static (Tensor Value, Func<Tensor, Tensor> Pullback) Vjp(this Func<Tensor, Tensor> f, Tensor x) =>
        Fn.Vjp(f, x);

    /// <summary>The output and the linear map <c>v =&gt; J v</c>; see <see cref="Fn.Linearize(Func{Tensor, Tensor}, Tensor)"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">The point.</param>
    /// <returns>The output and the staged tangent map.</returns>
    public static (Tensor Value, Func<Tensor, Tensor> Linear) Linearize(this Func<Tensor, Tensor> f, Tensor x) =>
        Fn.Linearize(f, x);

    /// <summary>The Jacobian by forward mode; see <see cref="Fn.Jacfwd"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>, of shape <c>output.Shape ++ x.Shape</c>.</returns>
    public static Func<Tensor, Tensor> Jacfwd(this Func<Tensor, Tensor> f) => Fn.Jacfwd(f);

    /// <summary>The Jacobian by reverse mode; see <see cref="Fn.Jacrev"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>, of shape <c>output.Shape ++ x.Shape</c>.</returns>
    public static Func<Tensor, Tensor> Jacrev(this Func<Tensor, Tensor> f) => Fn.Jacrev(f);

    /// <summary>The Jacobian by forward mode, <paramref name="chunk"/> tangents at a time; see <see cref="Fn.JacfwdChunked"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="chunk">The number of tangents pushed forward at once, at least 1.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>, equal to <c>f.Jacfwd()</c>'s.</returns>
    /// <exception cref="ArgumentOutOfRangeException">If <paramref name="chunk"/> is less than 1.</exception>
    public static Func<Tensor, Tensor> JacfwdChunked(this Func<Tensor, Tensor> f, int chunk) => Fn.JacfwdChunked(f, chunk);

    /// <summary>The Jacobian by reverse mode, <paramref name="chunk"/> cotangents at a time; see <see cref="Fn.JacrevChunked"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="chunk">The number of cotangents pulled back at once, at least 1.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>, equal to <c>f.Jacrev()</c>'s.</returns>
    /// <exception cref="ArgumentOutOfRangeException">If <paramref name="chunk"/> is less than 1.</exception>
    public static Func<Tensor, Tensor> JacrevChunked(this Func<Tensor, Tensor> f, int chunk) => Fn.JacrevChunked(f, chunk);

    /// <summary>The Jacobian by the cheaper mode; see <see cref="Fn.Jacobian"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <returns>The function <c>x =&gt; ∂f/∂x</c>, of shape <c>output.Shape ++ x.Shape</c>.</returns>
    public static Func<Tensor, Tensor> Jacobian(this Func<Tensor, Tensor> f) => Fn.Jacobian(f);

    /// <summary>The Hessian <c>f.Jacrev().Jacfwd()</c>; see <see cref="Fn.Hessian"/>.</summary>
    /// <param name="f">Any function of one tensor (usually a scalar one).</param>
    /// <returns>The function <c>x =&gt; ∂²f/∂x²</c>, of shape <c>output.Shape ++ x.Shape ++ x.Shape</c>.</returns>
    public static Func<Tensor, Tensor> Hessian(this Func<Tensor, Tensor> f) => Fn.Hessian(f);

    /// <summary>The Hessian-vector product by forward-over-reverse; see <see cref="Fn.Hvp(Func{Tensor, Tensor})"/>.</summary>
    /// <param name="f">A function whose output is a scalar.</param>
    /// <returns>The function <c>(x, v) =&gt; H(x) v</c>.</returns>
    /// <exception cref="NonScalarOutputException">When <paramref name="f"/>'s output is not a scalar.</exception>
    public static Func<Tensor, Tensor, Tensor> Hvp(this Func<Tensor, Tensor> f) => Fn.Hvp(f);

    /// <summary>Batching over axis 0, one batched evaluation; see <see cref="Fn.Vmap(Func{Tensor, Tensor})"/>.</summary>
    /// <param name="f">A function of one example.</param>
    /// <returns>The function <c>xs =&gt; Stack(f(xs[0]), f(xs[1]), ...)</c>.</returns>
    /// <exception cref="ShapeException">When called with a scalar (it has no axis 0).</exception>
    /// <example><c>f.Grad().Vmap()(examples)</c> gives per-example gradients.</example>
    public static Func<Tensor, Tensor> Vmap(this Func<Tensor, Tensor> f) => Fn.Vmap(f);

    /// <summary>jit: traced once per input signature; see <see cref="Fn.Jit(Func{Tensor, Tensor})"/>.</summary>
    /// <param name="f">The function.</param>
    /// <returns>The jitted function.</returns>
    public static Func<Tensor, Tensor> Jit(this Func<Tensor, Tensor> f) => Fn.Jit(f);

    /// <summary>Batching over axis <paramref name="inAxis"/>, the batch at axis <paramref name="outAxis"/>
    /// of the result; see <see cref="Fn.Vmap(Func{Tensor, Tensor}, int, int)"/>.</summary>
    /// <param name="f">A function of one example.</param>
    /// <param name="inAxis">The input's batch axis (negative counts from the end).</param>
    /// <param name="outAxis">Where the batch goes in the result (negative counts from the end).</param>
    /// <returns>The batched function.</returns>
    /// <exception cref="ShapeException">When called with an input that has no axis <paramref name="inAxis"/>.</exception>
    public static Func<Tensor, Tensor> Vmap(this Func<Tensor, Tensor> f, int inAxis, int outAxis) =>
        Fn.Vmap(f, inAxis, outAxis);

    /// <summary>The derivative of a function of one number; see <see cref="Fn.Derivative"/>.</summary>
    /// <param name="f">A function of a one-element tensor.</param>
    /// <returns>The function <c>x =&gt; f′(x)</c>.</returns>
    /// <exception cref="ShapeException">When called with an input of more than one element.</exception>
    public static Func<Tensor, Tensor> Derivative(this Func<Tensor, Tensor> f) => Fn.Derivative(f);

    /// <summary>The program <paramref name="f"/> computes; see <see cref="Fn.MakeIR(Func{Tensor, Tensor}, Tensor)"/>.</summary>
    /// <param name="f">Any function of one tensor.</param>
    /// <param name="x">An example input (only its shape and dtype matter).</param>
    /// <returns>The printable <see cref="Program"/>.</returns>
    /// <exception cref="ConcretizationException">When <paramref name="f"/> reads a number from its input.</exception>
    public static Program MakeIR(this Func<Tensor, Tensor> f, Tensor x) => Fn.MakeIR(f, x);
}
