using FunDiff;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>The fluent forms on <c>Func&lt;Tensor, Tensor&gt;</c> are the <see cref="Fn"/> transforms.</summary>
public class FluentTests
{
    private static readonly Func<Tensor, Tensor> F = x => (x.Exp() * x.Cos()).Sum() + x.Pow(3).Mean();
    private static readonly Tensor X = Tensor.Of(0.3, -0.7, 1.1);
    private static readonly Tensor V = Tensor.Of(1.0, 2.0, -1.0);

    [Fact]
    public void Grad_and_Grad_Grad()
    {
        Same(Fn.Grad(F)(X), F.Grad()(X));
        Func<Tensor, Tensor> cube = x => x.Pow(3);
        Close(6.0 * 2.0, cube.Grad().Grad()(2.0)); // (x³)'' = 6x
    }

    [Fact]
    public void ValueAndGrad()
    {
        var (value, gradient) = F.ValueAndGrad()(X);
        Same(F(X), value);
        Same(Fn.Grad(F)(X), gradient);
    }

    [Fact]
    public void Jvp_Vjp_and_Linearize()
    {
        Same(Fn.Jvp(F, X, V).Tangent, F.Jvp(X, V).Tangent);
        Same(F(X), F.Jvp(X, V).Value);
        var (value, pullback) = F.Vjp(X);
        Same(F(X), value);
        Same(Fn.Grad(F)(X), pullback(1.0));
        Same(Fn.Linearize(F, X).Linear(V), F.Linearize(X).Linear(V));
    }

    [Fact]
    public void Jacobians_and_Hessian()
    {
        Func<Tensor, Tensor> g = x => x.Sin() * x.Sum();
        Same(Fn.Jacrev(g)(X), g.Jacrev()(X));
        Same(Fn.Jacfwd(g)(X), g.Jacfwd()(X));
        Same(Fn.Jacobian(g)(X), g.Jacobian()(X));
        Same(Fn.Hessian(F)(X), F.Hessian()(X));
    }

    [Fact]
    public void Vmap_and_the_chunked_Jacobians()
    {
        Func<Tensor, Tensor> g = x => x.Sin() * x.Sum();
        var xs = Tensor.Stack(X, V, X * V);
        Same(Fn.Vmap(g)(xs), g.Vmap()(xs));
        Same(Fn.Vmap(F.Grad())(xs), F.Grad().Vmap()(xs));
        Same(Fn.Vmap(g, -1, -1)(xs), g.Vmap(-1, -1)(xs));
        Close(Tensor.Stack(g(X), g(V), g(X * V)), g.Vmap()(xs));
        Same(Fn.JacfwdChunked(g, 2)(X), g.JacfwdChunked(2)(X));
        Same(Fn.JacrevChunked(g, 2)(X), g.JacrevChunked(2)(X));
        Close(g.Jacfwd()(X), g.JacfwdChunked(2)(X));
    }

    [Fact]
    public void Hvp_is_a_function_of_two_tensors()
    {
        Func<Tensor, Tensor, Tensor> hvp = F.Hvp();
        Same(Fn.Hvp(F, X, V), hvp(X, V));
        Close(F.Hessian()(X).MatMul(V), hvp(X, V));
    }

    [Fact]
    public void Derivative_and_MakeIR()
    {
        Func<Tensor, Tensor> tanh = x => x.Tanh();
        Close(1.0 - Math.Pow(Math.Tanh(0.4), 2), tanh.Derivative()(0.4));
        Assert.Equal(Fn.MakeIR(F, X).ToString(), F.MakeIR(X).ToString());
    }
}
