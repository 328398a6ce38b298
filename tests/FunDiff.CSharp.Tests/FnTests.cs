using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// Every entry point of <see cref="Fn"/>: it gives what the F# transform gives, and the known
/// value. The functions are written in plain C# over <see cref="Tensor"/>.
/// </summary>
public class FnTests
{
    // f(x) = Σ sin(x)·x;  ∇f = cos(x)·x + sin(x);  ∇²f = diag(2cos(x) − x·sin(x))
    private static readonly Func<Tensor, Tensor> SinTimesX = x => (x.Sin() * x).Sum();

    private static readonly double[] Point = [0.5, -1.0, 2.0];

    private static double[] Map(Func<double, double> g) => Point.Select(g).ToArray();

    // g: R³ → R², g(x) = W·sin(x) · Σx;  ∂gᵢ/∂xⱼ = Wᵢⱼ cos(xⱼ) Σx + (W sin x)ᵢ
    private static readonly double[,] W = { { 1.0, 2.0, -1.0 }, { 0.5, 0.0, 3.0 } };
    private static readonly Func<Tensor, Tensor> Curve = x => Tensor.FromArray(W).MatMul(x.Sin()) * x.Sum();

    private static double[] CurveJacobian()
    {
        var s = Point.Sum();
        var ws = new double[2];
        for (var i = 0; i < 2; i++)
            for (var j = 0; j < 3; j++)
                ws[i] += W[i, j] * Math.Sin(Point[j]);
        var jac = new double[6];
        for (var i = 0; i < 2; i++)
            for (var j = 0; j < 3; j++)
                jac[i * 3 + j] = W[i, j] * Math.Cos(Point[j]) * s + ws[i];
        return jac;
    }

    [Fact]
    public void Grad_of_x_squared_at_3_is_6_written_as_the_headline()
    {
        Tensor g = Grad(x => x * x)(3.0);
        Assert.Equal(6.0, (double)g);
    }

    [Fact]
    public void Grad_is_the_F_sharp_grad_and_cos_x_times_x_plus_sin_x()
    {
        var x = Tensor.OfArray(Point);
        var g = Grad(SinTimesX)(x);
        Same(Reference.Grad(SinTimesX, x), g);
        Close(Map(p => Math.Cos(p) * p + Math.Sin(p)), g);
        Assert.Equal([3], g.Shape);
    }

    [Fact]
    public void Grad_keeps_the_input_shape_for_a_matrix()
    {
        var x = Tensor.FromArray(new[,] { { 1.0, 2.0 }, { 3.0, 4.0 } });
        var g = Grad(m => (m * m).Sum() / 2.0)(x);
        Same(x, g);
    }

    [Fact]
    public void ValueAndGrad_gives_both_in_one_pass()
    {
        var x = Tensor.OfArray(Point);
        var (value, gradient) = ValueAndGrad(SinTimesX)(x);
        var reference = Reference.ValueAndGrad(SinTimesX, x);
        Same(reference.Item1, value);
        Same(reference.Item2, gradient);
        Close(Point.Sum(p => Math.Sin(p) * p), value);
        Close(Map(p => Math.Cos(p) * p + Math.Sin(p)), gradient);
    }

    [Fact]
    public void Jvp_gives_the_value_and_the_directional_derivative()
    {
        var x = Tensor.OfArray(Point);
        var v = Tensor.Of(1.0, 0.5, -2.0);
        var result = Jvp(x => x.Sin(), x, v);
        var reference = Reference.Jvp(x => x.Sin(), x, v);
        Same(reference.Item1, result.Value);
        Same(reference.Item2, result.Tangent);
        Close(Map(Math.Sin), result.Value);
        Close(Point.Select((p, i) => Math.Cos(p) * v.ToArray()[i]).ToArray(), result.Tangent);
    }

    [Fact]
    public void Linearize_gives_the_value_and_a_reusable_tangent_map()
    {
        var x = Tensor.OfArray(Point);
        var (value, linear) = Linearize(Curve, x);
        Same(Curve(x), value);
        var jac = Tensor.OfArray(CurveJacobian()).Reshape(2, 3);
        foreach (var v in new[] { Tensor.Of(1.0, 0.0, 0.0), Tensor.Of(0.5, -1.0, 2.0) })
        {
            Same(Reference.Linearize(Curve, x, v), linear(v));
            Close(jac.MatMul(v), linear(v));
        }
    }

    [Fact]
    public void Vjp_gives_the_value_and_the_pullback_J_transpose_u()
    {
        var x = Tensor.OfArray(Point);
        var (value, pullback) = Vjp(Curve, x);
        Same(Curve(x), value);
        var u = Tensor.Of(2.0, -1.0);
        Same(Reference.Vjp(Curve, x, u), pullback(u));
        var jac = Tensor.OfArray(CurveJacobian()).Reshape(2, 3);
        Close(jac.T.MatMul(u), pullback(u));
    }

    [Fact]
    public void Jacfwd_Jacrev_and_Jacobian_agree_with_F_sharp_and_the_hand_derived_Jacobian()
    {
        var x = Tensor.OfArray(Point);
        var expected = CurveJacobian();
        foreach (var (facade, reference) in new (Func<Tensor, Tensor>, Tensor)[]
                 {
                     (Jacfwd(Curve), Reference.Jacfwd(Curve, x)),
                     (Jacrev(Curve), Reference.Jacrev(Curve, x)),
                     (Jacobian(Curve), Reference.Jacobian(Curve, x)),
                 })
        {
            var jac = facade(x);
            Same(reference, jac);
            Assert.Equal([2, 3], jac.Shape);
            Close(expected, jac);
        }
    }

    [Fact]
    public void Jacobians_of_a_matrix_function_have_shape_out_then_in()
    {
        // F(X) = X·X on 2×2 matrices: ∂F[i,j]/∂X[k,l] = δik X[l,j] + X[i,k] δjl
        var x = Tensor.FromArray(new[,] { { 1.0, 2.0 }, { 3.0, 4.0 } });
        Func<Tensor, Tensor> square = m => m.MatMul(m);
        var forward = Jacfwd(square)(x);
        var reverse = Jacrev(square)(x);
        Assert.Equal([2, 2, 2, 2], forward.Shape);
        Same(Reference.Jacfwd(square, x), forward);
        Close(forward, reverse);
        var xs = x.ToArray();
        var expected = new double[16];
        for (var i = 0; i < 2; i++)
            for (var j = 0; j < 2; j++)
                for (var k = 0; k < 2; k++)
                    for (var l = 0; l < 2; l++)
                        expected[((i * 2 + j) * 2 + k) * 2 + l] =
                            (i == k ? xs[l * 2 + j] : 0.0) + (j == l ? xs[i * 2 + k] : 0.0);
        Close(expected, forward);
    }

    [Fact]
    public void Hessian_is_the_F_sharp_hessian_and_the_analytic_one()
    {
        var x = Tensor.OfArray(Point);
        var h = Hessian(SinTimesX)(x);
        Same(Reference.Hessian(SinTimesX, x), h);
        Assert.Equal([3, 3], h.Shape);
        var expected = new double[9];
        for (var i = 0; i < 3; i++)
            expected[i * 4] = 2 * Math.Cos(Point[i]) - Point[i] * Math.Sin(Point[i]);
        Close(expected, h);
    }

    [Fact]
    public void Hvp_in_both_forms_is_the_F_sharp_hvp_and_the_Hessian_times_v()
    {
        var x = Tensor.OfArray(Point);
        var v = Tensor.Of(1.0, -2.0, 0.5);
        var expected = Reference.Hvp(SinTimesX, x, v);
        Same(expected, Hvp(SinTimesX)(x, v));
        Same(expected, Hvp(SinTimesX, x, v));
        Close(Hessian(SinTimesX)(x).MatMul(v), Hvp(SinTimesX, x, v));
    }

    [Fact]
    public void MakeIR_in_both_forms_is_the_F_sharp_program()
    {
        var x = Tensor.OfArray(Point);
        var expected = Reference.MakeIR(SinTimesX, x).ToString();
        Assert.Equal(expected, MakeIR(SinTimesX, x).ToString());
        Assert.Equal(expected, MakeIR(SinTimesX)(x).ToString());
        Assert.Equal(
            """
            { lambda ; a:f64[3] . let
                b:f64[3] = sin a
                c:f64[3] = mul b a
                d:f64[] = reduce_sum[axes=(0)] c
              in (d) }
            """,
            expected);
    }

    [Fact]
    public void Derivative_of_sin_is_cos_and_of_its_derivative_minus_sin()
    {
        Func<Tensor, Tensor> sin = x => x.Sin();
        foreach (var p in Point)
        {
            Close(Math.Cos(p), Derivative(sin)(p));
            Close(-Math.Sin(p), Derivative(Derivative(sin))(p));
            Close(Reference.Grad(sin, p).ToScalar(), Derivative(sin)(p));
        }
    }

    [Fact]
    public void Derivative_accepts_a_one_element_vector_and_a_curve_into_R_n()
    {
        Close([Math.Cos(0.5)], Derivative(x => x.Sin())(Tensor.Of(0.5)));
        // t ↦ (t, t², t³) has derivative (1, 2t, 3t²)
        var velocity = Derivative(t => Tensor.Of(1.0, 0.0, 0.0) * t + Tensor.Of(0.0, 1.0, 0.0) * t.Pow(2)
                                        + Tensor.Of(0.0, 0.0, 1.0) * t.Pow(3))(2.0);
        Close([1.0, 4.0, 12.0], velocity);
    }

    [Fact]
    public void Gradient_takes_and_returns_plain_numbers()
    {
        double[] g = Gradient(x => (x * x).Sum(), 1.0, 2.0, -3.0);
        Assert.Equal([2.0, 4.0, -6.0], g);
        Close(Map(p => Math.Cos(p) * p + Math.Sin(p)), Gradient(SinTimesX, Point));
    }
}
