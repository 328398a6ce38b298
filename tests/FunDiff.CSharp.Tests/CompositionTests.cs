using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>Transforms compose to any depth from C#, and the compositions give the known maths.</summary>
public class CompositionTests
{
    /// <summary>Rosenbrock: Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])², with C#'s ranges.</summary>
    private static Tensor Rosenbrock(Tensor x)
    {
        var head = x[..^1];
        var tail = x[1..];
        return (100.0 * (tail - head.Pow(2)).Pow(2) + (1.0 - head).Pow(2)).Sum();
    }

    [Fact]
    public void Hvp_of_Rosenbrock_composed_as_Jvp_of_Grad_is_the_Hessian_times_v()
    {
        var x = Tensor.Of(1.0, 2.0, 3.0, -0.5);
        var v = Tensor.Of(1.0, 0.0, -1.0, 2.0);
        var composed = Jvp(Grad(Rosenbrock), x, v).Tangent;
        Close(Hessian(Rosenbrock)(x).MatMul(v), composed, 1e-12);
        Same(Hvp(Rosenbrock, x, v), composed);
    }

    [Fact]
    public void Hessian_of_two_dimensional_Rosenbrock_is_the_textbook_one()
    {
        // f = 100 (y − x²)² + (1 − x)²;  H = [[1200x² − 400y + 2, −400x], [−400x, 200]]
        var (px, py) = (1.5, -0.5);
        var h = Hessian(Rosenbrock)(Tensor.Of(px, py));
        Close([1200 * px * px - 400 * py + 2, -400 * px, -400 * px, 200], h);
    }

    [Fact]
    public void Grad_of_Grad_on_R_to_R_is_the_analytic_second_derivative()
    {
        // f = x³ sin x;  f″ = 6x sin x + 6x² cos x − x³ sin x
        Func<Tensor, Tensor> f = x => x.Pow(3) * x.Sin();
        var second = Grad(Grad(f));
        foreach (var p in new[] { -2.0, -0.3, 0.0, 0.7, 3.0 })
        {
            var expected = 6 * p * Math.Sin(p) + 6 * p * p * Math.Cos(p) - p * p * p * Math.Sin(p);
            Close(expected, second(p), 1e-12);
        }
    }

    [Fact]
    public void Third_derivative_by_three_nested_Grads()
    {
        // (e^{2x})‴ = 8 e^{2x}
        Func<Tensor, Tensor> f = x => (2.0 * x).Exp();
        Close(8 * Math.Exp(1.0), Grad(Grad(Grad(f)))(0.5), 1e-12);
    }

    [Fact]
    public void Jacfwd_of_Jacrev_is_the_Hessian()
    {
        var x = Tensor.Of(0.5, 1.5, -1.0);
        Same(Hessian(Rosenbrock)(x), Jacfwd(Jacrev(Rosenbrock))(x));
        Close(Jacrev(Jacrev(Rosenbrock))(x), Jacfwd(Jacrev(Rosenbrock))(x), 1e-12);
    }

    [Fact]
    public void Nested_transforms_do_not_confuse_their_perturbations()
    {
        // d/dx [x · d/dy (x + y) at y = 1] = d/dx [x · 1] = 1, not 2
        Func<Tensor, Tensor> outer = x => x * Grad(y => x + y)(1.0);
        Close(1.0, Grad(outer)(3.0));
    }

    [Fact]
    public void Vjp_of_Grad_and_Linearize_of_Grad_give_Hessian_products()
    {
        var x = Tensor.Of(1.0, 2.0, 3.0);
        var v = Tensor.Of(0.5, -1.0, 2.0);
        var h = Hessian(Rosenbrock)(x);
        Close(h.T.MatMul(v), Vjp(Grad(Rosenbrock), x).Pullback(v), 1e-12);
        Close(h.MatMul(v), Linearize(Grad(Rosenbrock), x).Linear(v), 1e-12);
    }

    [Fact]
    public void A_gradient_program_can_be_staged()
    {
        var program = MakeIR(Grad(Rosenbrock), Tensor.Of(1.0, 2.0, 3.0));
        Assert.NotEmpty(program.Equations);
        Assert.Single(program.InVars);
        Assert.Equal([3], program.InVars[0].Aval.Shape);
        Assert.StartsWith("{ lambda ", program.ToString());
    }
}
