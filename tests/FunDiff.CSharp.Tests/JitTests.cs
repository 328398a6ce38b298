using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// jit from C#: <c>Jit(f)</c> equals <c>f</c>, and composes with <c>Grad</c>, <c>Hvp</c> and
/// <c>Vmap</c> in both orders; the fluent form; a value read inside raises naming jit.
/// </summary>
public class JitTests
{
    private static readonly Tensor W = Tensor.OfArray(Enumerable.Range(0, 12).Select(i => Math.Sin(0.7 * i)).ToArray()).Reshape(3, 4);

    private static Tensor F(Tensor x) => (W.MatMul(x).Tanh() * x[..3].Sin()).Sum() + (x * x * x).Sum() / 3.0;

    private static readonly Tensor X = Tensor.Of(0.3, -0.2, 0.5, 0.9);
    private static readonly Tensor V = Tensor.Of(1.0, 0.5, -0.5, 0.25);

    [Fact]
    public void Jit_equals_the_function_and_composes_with_every_transform()
    {
        Close(F(X), Jit(F)(X), 1e-13);
        Close(Grad(F)(X), Jit(Grad(F))(X), 1e-13);
        Close(Grad(F)(X), Grad(Jit(F))(X), 1e-13);
        Close(Hvp(F, X, V), Hvp(Jit(F), X, V), 1e-13);
        var xs = Tensor.Stack(X, X * 2.0, X.Sin());
        Close(Vmap(Grad(F))(xs), Vmap(Jit(Grad(F)))(xs), 1e-13);
        Close(Vmap(Grad(F))(xs), Jit(Vmap(Grad(F)))(xs), 1e-13);
        Func<Tensor, Tensor> f = F;
        Close(F(X), f.Jit()(X), 1e-13);
    }

    [Fact]
    public void Reading_a_value_inside_jit_raises_naming_it()
    {
        var e = Assert.Throws<ConcretizationException>(() => Jit(x => (double)x.Sum() > 0 ? x : -x)(X));
        Assert.Contains("jit", e.Message);
    }

    [Fact]
    public void A_jitted_training_step_over_a_record_equals_the_eager_step()
    {
        var x = Tensor.OfArray(Enumerable.Range(0, 12).Select(i => Math.Cos(0.3 * i)).ToArray()).Reshape(4, 3);
        var y = Tensor.OfArray(Enumerable.Range(0, 8).Select(i => Math.Sin(0.5 * i)).ToArray()).Reshape(4, 2);
        Tensor Loss(Mlp p) => ((x.MatMul(p.W1) + p.B1).Tanh().MatMul(p.W2) + p.B2 - y).Square().Sum();
        Mlp Step(Mlp p) => Trees.Sub(p, Trees.Scale(Grad<Mlp>(Loss)(p), 0.05));
        var model = new Mlp(W.Reshape(4, 3)[..3] * 0.5, Tensor.Zeros(3), Tensor.Ones(3, 2) * 0.1, Tensor.Zeros(2));
        var step = Jit<Mlp, Mlp>(Step);
        var eager = Step(Step(model));
        var compiled = step(step(model));
        Close(eager.W1, compiled.W1, 1e-13);
        Close(eager.B2, compiled.B2, 1e-13);
    }

    [Fact]
    public void Jitted_reports_its_traces_and_Lowered_prints_the_optimized_program()
    {
        var jitted = Jitted(x => x.Sin() * 2.0);
        jitted.Invoke(Tensor.Ones(3));
        jitted.Invoke(Tensor.Ones(4));
        Assert.Equal(2, jitted.TraceCount);
        Assert.Equal("input 0 changed f64[3] -> f64[4]", jitted.LastRetrace);
        var program = Lowered(x => x.Exp() * x.Exp(), X);
        Assert.Equal(2, program.Equations.Length); // exp once (CSE), then mul
    }
}
