using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

// ---- the C# trees of these tests ------------------------------------------------------------

/// <summary>A positional record of tensors.</summary>
public record Affine(Tensor W, Tensor B)
{
    /// <summary>A computed property: not a child (the primary constructor does not take it).</summary>
    public int Inputs => W.Shape[0];
}

/// <summary>A class with a parameterless constructor and init/set properties.</summary>
public class AffineClass
{
    public Tensor W { get; init; } = Tensor.Zeros(0);

    public Tensor B { get; set; } = Tensor.Zeros(0);
}

/// <summary>A record struct.</summary>
public record struct ScaleShift(Tensor Scale, Tensor Shift);

/// <summary>Nested records, a list, a dictionary and a value tuple in one tree.</summary>
public record Net(List<Affine> Layers, Dictionary<string, Tensor> Extras, (Tensor Scale, Tensor Shift) Norm);

/// <summary>Layers of different kinds in one list (the runtime type decides each one's children).</summary>
public abstract record LayerBase;

public record Dense(Tensor W, Tensor B) : LayerBase;

public record Labeled(Tensor W, string Name) : LayerBase;

public record LayerStack(List<LayerBase> Layers);

/// <summary>
/// Trees from C#: gradients through records, classes, <c>List&lt;Tensor&gt;</c>,
/// <c>Dictionary&lt;string, Tensor&gt;</c>, value tuples and nested records equal those of the
/// equivalent flat functions (each leaf's gradient by the <c>Tensor</c> transform with the
/// other leaves fixed); two arguments; auxiliary outputs; the other tree transforms against
/// identities they must satisfy; the overloads C# picks; the path in the error for a string.
/// </summary>
public class TreeTests
{
    private static readonly Tensor X = Tensor.FromArray(new[,] { { 0.5, -1.0, 2.0 }, { 1.5, 0.25, -0.5 } });

    private static Tensor Matrix(int rows, int columns, double offset) =>
        Tensor.OfArray(Enumerable.Range(0, rows * columns).Select(i => Math.Sin(i + offset)).ToArray())
            .Reshape(rows, columns);

    private static Tensor Vector(int n, double offset) =>
        Tensor.OfArray(Enumerable.Range(0, n).Select(i => Math.Cos(i + offset)).ToArray());

    // The flat function of the leaves [W, B]: Σ tanh(X W + B)².
    private static Tensor Flat(Tensor w, Tensor b) => (X.MatMul(w) + b).Tanh().Pow(2).Sum();

    private static readonly Tensor W0 = Matrix(3, 2, 0.3);
    private static readonly Tensor B0 = Vector(2, 0.7);

    /// <summary>Each leaf's gradient by the Tensor Grad, the other leaves held fixed.</summary>
    private static Tensor[] FlatGradients(Func<Tensor[], Tensor> f, params Tensor[] leaves) =>
        leaves.Select((leaf, i) => Grad(t =>
        {
            var args = (Tensor[])leaves.Clone();
            args[i] = t;
            return f(args);
        })(leaf)).ToArray();

    private static void SameAll(Tensor[] expected, Tensor[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Close(expected[i], actual[i], 1e-12);
    }

    [Fact]
    public void The_headline_still_picks_the_Tensor_overloads()
    {
        Assert.Equal(6.0, (double)Grad(x => x * x)(3.0));
        Func<Tensor, Tensor> g = Grad(x => x * x);                   // the Tensor overload's type
        Assert.Equal(6.0, (double)g(3.0));
        Assert.IsType<Func<Tensor, Tensor>>(Grad((Tensor t) => t * t));

        // a number as the point: the Tensor overloads (OverloadResolutionPriority), not T = double
        var (value, tangent) = Jvp(x => x * x, 3.0, 1.0);
        Assert.Equal(9.0, (double)value);
        Assert.Equal(6.0, (double)tangent);
        Assert.Equal(6.0, (double)Jvp(x => x * x, 3, 1).Tangent);
        Assert.Equal(4.0, (double)Vjp(x => x * x, 2.0).Pullback(1.0));
        Assert.Equal(4.0, (double)Linearize(x => x * x, 2.0).Linear(1.0));
        Assert.Equal(12.0, (double)Hvp(x => x * x * x, 2.0, 1.0));
        Assert.Equal(12.0, (double)Hvp(x => x * x * x)(2.0, 1.0));
        Assert.Equal(27.0, (double)ValueAndGrad(x => x * x * x)(3.0).Gradient);
    }

    [Fact]
    public void Grad_through_a_positional_record_equals_the_flat_gradients()
    {
        var g = Grad((Affine p) => Flat(p.W, p.B))(new Affine(W0, B0));
        Assert.IsType<Affine>(g);
        SameAll(FlatGradients(l => Flat(l[0], l[1]), W0, B0), [g.W, g.B]);
    }

    [Fact]
    public void Grad_through_a_class_with_init_and_set_properties_equals_the_flat_gradients()
    {
        var g = Grad((AffineClass p) => Flat(p.W, p.B))(new AffineClass { W = W0, B = B0 });
        Assert.IsType<AffineClass>(g);
        SameAll(FlatGradients(l => Flat(l[0], l[1]), W0, B0), [g.W, g.B]);
    }

    [Fact]
    public void Grad_through_a_record_struct_equals_the_flat_gradients()
    {
        var g = Grad((ScaleShift p) => Flat(W0 * p.Scale, p.Shift))(new ScaleShift(2.0, B0));
        SameAll(FlatGradients(l => Flat(W0 * l[0], l[1]), Tensor.Scalar(2.0), B0), [g.Scale, g.Shift]);
    }

    [Fact]
    public void Grad_through_a_List_of_tensors_equals_the_flat_gradients()
    {
        var g = Grad((List<Tensor> p) => Flat(p[0], p[1]))([W0, B0]);
        Assert.IsType<List<Tensor>>(g);
        SameAll(FlatGradients(l => Flat(l[0], l[1]), W0, B0), [.. g]);
    }

    [Fact]
    public void Grad_through_an_array_of_tensors_equals_the_flat_gradients()
    {
        var g = Grad((Tensor[] p) => Flat(p[0], p[1]))([W0, B0]);
        SameAll(FlatGradients(l => Flat(l[0], l[1]), W0, B0), g);
    }

    [Fact]
    public void Grad_through_a_Dictionary_keeps_its_keys_and_comparer_and_equals_the_flat_gradients()
    {
        var p = new Dictionary<string, Tensor>(StringComparer.OrdinalIgnoreCase) { ["weights"] = W0, ["bias"] = B0 };
        var g = Grad((Dictionary<string, Tensor> d) => Flat(d["weights"], d["bias"]))(p);
        Assert.Equal(["bias", "weights"], g.Keys.Order());
        Assert.Same(StringComparer.OrdinalIgnoreCase, g.Comparer);
        SameAll(FlatGradients(l => Flat(l[0], l[1]), W0, B0), [g["WEIGHTS"], g["bias"]]);
    }

    [Fact]
    public void Grad_through_a_value_tuple_equals_the_flat_gradients()
    {
        var g = Grad(((Tensor W, Tensor B) p) => Flat(p.W, p.B))((W0, B0));
        SameAll(FlatGradients(l => Flat(l[0], l[1]), W0, B0), [g.W, g.B]);
    }

    [Fact]
    public void Grad_through_nested_records_lists_dictionaries_and_tuples_equals_the_flat_gradients()
    {
        // two layers (3 → 2 → 2), then a scale and shift, plus an extra weight on the output
        var w2 = Matrix(2, 2, 1.1);
        var b2 = Vector(2, 2.3);
        var scale = Vector(2, 0.1);
        var shift = Vector(2, 0.9);
        var extra = Tensor.Scalar(0.7);

        static Tensor Loss(Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor scale, Tensor shift, Tensor extra)
        {
            var h = (X.MatMul(w1) + b1).Tanh();
            var y = (h.MatMul(w2) + b2) * scale + shift;
            return (y * y).Sum() * extra;
        }

        var net = new Net(
            [new Affine(W0, B0), new Affine(w2, b2)],
            new Dictionary<string, Tensor> { ["extra"] = extra },
            (scale, shift));
        var g = Grad((Net n) => Loss(
            n.Layers[0].W, n.Layers[0].B, n.Layers[1].W, n.Layers[1].B, n.Norm.Scale, n.Norm.Shift, n.Extras["extra"]))(net);

        var expected = FlatGradients(l => Loss(l[0], l[1], l[2], l[3], l[4], l[5], l[6]), W0, B0, w2, b2, scale, shift, extra);
        SameAll(expected, [g.Layers[0].W, g.Layers[0].B, g.Layers[1].W, g.Layers[1].B, g.Norm.Scale, g.Norm.Shift, g.Extras["extra"]]);
        SameAll(expected, Trees.Leaves(g)[..4].Concat([Trees.Leaves(g)[5], Trees.Leaves(g)[6], Trees.Leaves(g)[4]]).ToArray());
    }

    [Fact]
    public void ValueAndGrad_gives_the_value_and_the_tree_gradient()
    {
        var p = new Affine(W0, B0);
        var (value, g) = ValueAndGrad((Affine q) => Flat(q.W, q.B))(p);
        Same(Flat(W0, B0), value);
        SameAll([.. Trees.Leaves(Grad((Affine q) => Flat(q.W, q.B))(p))], [g.W, g.B]);
    }

    [Fact]
    public void Two_arguments_give_both_gradients_and_each_equals_the_one_argument_gradient_closing_over_the_other()
    {
        static Tensor Loss(Affine p, Tensor x) => (x.MatMul(p.W) + p.B).Tanh().Pow(2).Sum();
        var p = new Affine(W0, B0);

        var (gp, gx) = Grad((Affine q, Tensor x) => Loss(q, x))(p, X);
        Assert.Equal(X.Shape, gx.Shape);
        SameAll([.. Trees.Leaves(Grad((Affine q) => Loss(q, X))(p))], [gp.W, gp.B]);   // with respect to the first only
        Close(Grad(x => Loss(p, x))(X), gx);                                              // with respect to the second only

        var (value, first, second) = ValueAndGrad((Affine q, Tensor x) => Loss(q, x))(p, X);
        Same(Loss(p, X), value);
        SameAll([gp.W, gp.B, gx], [first.W, first.B, second]);

        var named = Grad((Affine q, Tensor x) => Loss(q, x))(p, X);
        Same(gx, named.Second);
        Same(gp.W, named.First.W);
    }

    [Fact]
    public void ValueAndGradAux_returns_the_aux_as_values_not_tracers()
    {
        var p = new Affine(W0, B0);
        var (loss, aux, g) = ValueAndGradAux((Affine q) =>
        {
            var y = X.MatMul(q.W) + q.B;
            return ((y * y).Sum(), (Predictions: y.ArgMax(1), Activations: y, Note: "epoch 1"));
        })(p);

        var y0 = X.MatMul(W0) + B0;
        Same((y0 * y0).Sum(), loss);
        Assert.Equal("epoch 1", aux.Note);
        Same(y0, aux.Activations);
        Assert.IsNotAssignableFrom<Tracer>(aux.Activations);
        Assert.Equal(y0.ArgMax(1).ToArray(), aux.Predictions.ToArray());
        SameAll([.. Trees.Leaves(Grad((Affine q) => ((X.MatMul(q.W) + q.B).Pow(2)).Sum())(p))], [g.W, g.B]);
    }

    [Fact]
    public void Vjp_and_Jvp_over_trees_satisfy_the_dot_product_identity_and_agree_with_Linearize()
    {
        // f: Affine → (Tensor Out, Tensor Norm)
        Func<Affine, (Tensor Out, Tensor Norm)> f = q =>
        {
            var y = (X.MatMul(q.W) + q.B).Sin();
            return (y, (y * y).Sum());
        };
        var p = new Affine(W0, B0);
        var v = new Affine(Matrix(3, 2, 5.0), Vector(2, 4.0));
        (Tensor Out, Tensor Norm) u = (Matrix(2, 2, 7.0), 0.5);

        var (value, tangent) = Jvp(f, p, v);
        var (value2, pullback) = Vjp(f, p);
        var (value3, linear) = Linearize(f, p);
        Same(f(p).Out, value.Out);
        Same(value.Out, value2.Out);
        Same(value.Norm, value3.Norm);
        Close(tangent.Out, linear(v).Out);
        Close(tangent.Norm, linear(v).Norm);

        // ⟨u, J v⟩ = ⟨Jᵀ u, v⟩
        Close(Trees.Dot(u, tangent), Trees.Dot(pullback(u), v), 1e-12);

        // a pullback of (0, 1) is the gradient of the Norm
        var gNorm = pullback((Tensor.Zeros(2, 2), 1.0));
        SameAll([.. Trees.Leaves(Grad((Affine q) => f(q).Norm)(p))], [gNorm.W, gNorm.B]);
    }

    [Fact]
    public void Hvp_over_a_tree_equals_the_Hessian_of_the_raveled_function_times_the_raveled_vector()
    {
        Func<Affine, Tensor> loss = q => Flat(q.W, q.B);
        var p = new Affine(W0, B0);
        var v = new Affine(Matrix(3, 2, 5.0), Vector(2, 4.0));

        var (flat, unravel) = Trees.Ravel(p);
        var hessian = Hessian(z => loss(unravel(z)))(flat);
        var expected = hessian.MatMul(Trees.Ravel(v).Flat);

        Close(expected, Trees.Ravel(Hvp(loss)(p, v)).Flat, 1e-10);
        Close(expected, Trees.Ravel(Hvp(loss, p, v)).Flat, 1e-10);
    }

    [Fact]
    public void Tree_utilities_work_on_C_sharp_records()
    {
        var p = new Affine(W0, B0);
        var q = new Affine(Matrix(3, 2, 5.0), Vector(2, 4.0));

        Same(W0 * 2.0, Trees.Map(p, t => t * 2.0).W);
        Same(W0 * q.W, Trees.Map2(p, q, (a, b) => a * b).W);
        Same(Tensor.Zeros(2), Trees.ZerosLike(p).B);
        Same(B0 + q.B, Trees.Add(p, q).B);
        Same(W0 - q.W, Trees.Sub(p, q).W);
        Same(B0 * 0.5, Trees.Scale(p, 0.5).B);
        Close((W0 * q.W).Sum() + (B0 * q.B).Sum(), Trees.Dot(p, q));
        Close(((W0 * W0).Sum() + (B0 * B0).Sum()).Sqrt(), Trees.Norm(p));
        Assert.Equal(2, Trees.Leaves(p).Length);

        var (leaves, unflatten) = Trees.Flatten(p);
        Same(W0, leaves[0]);
        var rebuilt = unflatten([leaves[0] + 1.0, leaves[1]]);
        Same(W0 + 1.0, rebuilt.W);
        Assert.Throws<ShapeException>(() => unflatten([W0]));

        var (flat, unravel) = Trees.Ravel(p);
        Assert.Equal([8], flat.Shape);
        Same(B0, unravel(flat).B);
        Assert.Throws<ShapeException>(() => unravel(Tensor.Zeros(7)));

        // one update rule in one line
        var g = Grad((Affine a) => Flat(a.W, a.B))(p);
        var stepped = Trees.Sub(p, Trees.Scale(g, 0.1));
        Same(W0 - 0.1 * g.W, stepped.W);
    }

    [Fact]
    public void Functions_of_two_trees_of_different_structures_raise_ShapeException()
    {
        var a = new List<Tensor> { W0, B0 };
        var b = new List<Tensor> { W0 };
        Assert.Throws<ShapeException>(() => Trees.Add(a, b));
        Assert.Throws<ShapeException>(() => Trees.Dot(a, b));
        var d1 = new Dictionary<string, Tensor> { ["w"] = W0 };
        var d2 = new Dictionary<string, Tensor> { ["v"] = W0 };
        Assert.Throws<ShapeException>(() => Trees.Map2(d1, d2, (x, y) => x + y));
    }

    [Fact]
    public void A_string_in_the_differentiated_argument_raises_an_error_naming_its_path()
    {
        var stack = new LayerStack([new Dense(W0, B0), new Dense(W0, B0), new Labeled(W0, "head")]);
        var e = Assert.Throws<TransformException>(() =>
            Grad((LayerStack s) => s.Layers.OfType<Dense>().Select(l => Flat(l.W, l.B)).Aggregate((x, y) => x + y))(stack));
        Assert.Contains("params.Layers[2].Name", e.Message);
        Assert.Contains("String", e.Message);
        Assert.IsAssignableFrom<FunDiffException>(e);

        // the same through the utilities, named from "tree"
        var e2 = Assert.Throws<TransformException>(() => Trees.Leaves(stack));
        Assert.Contains("Layers[2].Name", e2.Message);
    }

    [Fact]
    public void Kinds_of_layers_in_one_list_rebuild_as_their_own_types()
    {
        var stack = new LayerStack([new Dense(W0, B0), new Dense(W0 * 2.0, B0)]);
        var g = Grad((LayerStack s) => s.Layers.Cast<Dense>().Select(l => Flat(l.W, l.B)).Aggregate((x, y) => x + y))(stack);
        Assert.All(g.Layers, l => Assert.IsType<Dense>(l));
        var second = (Dense)g.Layers[1];
        SameAll(FlatGradients(l => Flat(l[0], l[1]), W0 * 2.0, B0), [second.W, second.B]);
    }

    [Fact]
    public void A_computed_property_is_not_a_child()
    {
        var p = new Affine(W0, B0);
        Assert.Equal(3, p.Inputs);
        Assert.Equal(2, Trees.Leaves(p).Length);
        Assert.Equal(3, Grad((Affine q) => Flat(q.W, q.B))(p).Inputs);
    }

    [Fact]
    public void Null_functions_raise_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Grad((Func<Affine, Tensor>)null!));
        Assert.Throws<ArgumentNullException>(() => ValueAndGradAux((Func<Affine, (Tensor, int)>)null!));
        Assert.Throws<ArgumentNullException>(() => Grad((Func<Affine, Tensor, Tensor>)null!));
        Assert.Throws<ArgumentNullException>(() => Trees.Map(new Affine(W0, B0), null!));
    }
}
