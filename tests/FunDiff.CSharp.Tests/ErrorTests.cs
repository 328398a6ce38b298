using FunDiff;
using static FunDiff.Fn;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// Bad input surfaces as the library's exception types (all <see cref="FunDiffException"/>),
/// with a message that names the operation, the shapes and a fix.
/// </summary>
public class ErrorTests
{
    [Fact]
    public void Grad_of_a_non_scalar_function_raises_NonScalarOutputException()
    {
        var e = Assert.Throws<NonScalarOutputException>(() => Grad(x => x * 2.0)(Tensor.Of(1.0, 2.0)));
        Assert.IsAssignableFrom<FunDiffException>(e);
        Assert.Contains("grad", e.Message);
        Assert.Contains("[2]", e.Message);
        Assert.Contains("scalar", e.Message);
    }

    [Fact]
    public void Every_scalar_only_transform_raises_NonScalarOutputException()
    {
        Func<Tensor, Tensor> vector = x => x.Sin();
        var x = Tensor.Of(1.0, 2.0);
        Assert.Throws<NonScalarOutputException>(() => vector.Grad()(x));
        Assert.Throws<NonScalarOutputException>(() => ValueAndGrad(vector)(x));
        Assert.Throws<NonScalarOutputException>(() => Hvp(vector, x, x));
        Assert.Throws<NonScalarOutputException>(() => Gradient(vector, 1.0, 2.0));
    }

    [Fact]
    public void Shapes_that_do_not_broadcast_raise_ShapeException_naming_both()
    {
        var e = Assert.Throws<ShapeException>(() => Tensor.Of(1.0, 2.0, 3.0) + Tensor.Of(1.0, 2.0));
        Assert.Contains("[3]", e.Message);
        Assert.Contains("[2]", e.Message);
        Assert.Contains("broadcast", e.Message);
    }

    [Fact]
    public void The_same_error_inside_a_transform_is_the_same_exception()
    {
        Func<Tensor, Tensor> bad = x => (x + Tensor.Of(1.0, 2.0)).Sum();
        var e = Assert.Throws<ShapeException>(() => Grad(bad)(Tensor.Of(1.0, 2.0, 3.0)));
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void A_tangent_or_cotangent_of_the_wrong_shape_raises_ShapeException()
    {
        Func<Tensor, Tensor> f = x => x.Sin();
        var x = Tensor.Of(1.0, 2.0, 3.0);
        Assert.Throws<ShapeException>(() => Jvp(f, x, Tensor.Of(1.0, 2.0)));
        Assert.Throws<ShapeException>(() => Linearize(f, x).Linear(Tensor.Of(1.0)));
        var e = Assert.Throws<ShapeException>(() => Vjp(f, x).Pullback(Tensor.Of(1.0, 2.0)));
        Assert.Contains("cotangent", e.Message);
    }

    [Fact]
    public void Converting_a_vector_to_double_raises_ShapeException()
    {
        var e = Assert.Throws<ShapeException>(() => (double)Tensor.Of(1.0, 2.0));
        Assert.Contains("ToScalar", e.Message);
        Assert.Contains("[2]", e.Message);
    }

    [Fact]
    public void Derivative_of_a_vector_input_raises_ShapeException_pointing_to_Grad()
    {
        var e = Assert.Throws<ShapeException>(() => Derivative(x => x.Sin())(Tensor.Of(1.0, 2.0)));
        Assert.Contains("Derivative", e.Message);
        Assert.Contains("Grad", e.Message);
    }

    [Fact]
    public void Reading_a_number_while_staging_raises_ConcretizationException()
    {
        var e = Assert.Throws<ConcretizationException>(() => MakeIR(x => x * (double)x, 2.0));
        Assert.Contains("makeIR", e.Message);
    }

    [Fact]
    public void Out_of_range_indices_and_ranges_raise_ShapeException()
    {
        var x = Tensor.Of(1.0, 2.0, 3.0);
        Assert.Contains("out of range", Assert.Throws<ShapeException>(() => x[3]).Message);
        Assert.Throws<ShapeException>(() => x.Slice(2, 2));
        Assert.Throws<ShapeException>(() => Tensor.Scalar(1.0).Length);
    }

    [Fact]
    public void A_null_function_raises_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Grad(null!));
        Assert.Throws<ArgumentNullException>(() => Jvp(null!, 1.0, 1.0));
        Func<Tensor, Tensor>? nothing = null;
        Assert.Throws<ArgumentNullException>(() => nothing!.Hessian());
    }

    [Fact]
    public void Take_under_Grad_with_a_traced_float_index_raises_as_TakeAxis_does()
    {
        var x = Tensor.Of(10.0, 20.0, 30.0);
        // the index is computed from x: under Grad it is a tracer whose primal is 1.5
        var e = Assert.Throws<ShapeException>(() => Grad(t => t.Take(t[0] * 0.0 + 1.5, 0).Sum())(x));
        Assert.Contains("Take: index 1.5 is not a whole number", e.Message);
        // a whole float index still works, and agrees with the concrete take
        Assert.Equal([1.0, 0.0, 0.0], Grad(t => t.Take(t[0] * 0.0 + 0.0, 0).Sum())(x).ToArray());
    }

    [Fact]
    public void Constructors_of_too_many_elements_raise_ShapeException_not_OutOfMemoryException()
    {
        Assert.StartsWith("arange: shape [", Assert.Throws<ShapeException>(() => Tensor.Arange(int.MaxValue)).Message);
        Assert.StartsWith("linspace: shape [", Assert.Throws<ShapeException>(() => Tensor.Linspace(0, 1, int.MaxValue)).Message);
        Assert.StartsWith("eye: shape [", Assert.Throws<ShapeException>(() => Tensor.Eye(70000)).Message);
        Assert.StartsWith("Zeros: shape [", Assert.Throws<ShapeException>(() => Tensor.Zeros(int.MaxValue)).Message);
    }
}
