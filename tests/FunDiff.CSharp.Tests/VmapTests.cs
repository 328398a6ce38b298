using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// Batching from C#: <c>Vmap</c> of a function, of <c>Grad</c>, of <c>Vmap</c>, and <c>Grad</c> of
/// a sum over <c>Vmap</c>, against loops over the examples; <c>Vmap(f, inAxis, outAxis)</c> with
/// negative axes; the Hessian as <c>Vmap</c> of <c>Hvp</c> over the basis; the chunked Jacobians
/// against the unchunked ones; per-example gradients of an MLP held in a C# record (the tree
/// overloads, with <see cref="InAxis"/> per argument and per leaf path) against a loop of tree
/// <c>Grad</c> calls; <see cref="InAxis"/>'s values; the errors.
/// </summary>
public class VmapTests
{
    /// <summary>Deterministic values in [-1, 1] of the given shape.</summary>
    private static Tensor Data(double offset, params int[] shape) =>
        Tensor.OfArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b))
                .Select(i => Math.Sin(0.7 * i + offset))
                .ToArray())
            .Reshape(shape);

    /// <summary>A loop over axis 0: <paramref name="f"/> of each slice, stacked (what Vmap must equal).</summary>
    private static Tensor Loop(Func<Tensor, Tensor> f, Tensor xs) =>
        Tensor.Stack(Enumerable.Range(0, xs.Shape[0]).Select(i => f(xs[i])).ToArray());

    private static readonly Tensor W = Data(0.3, 3, 4);

    /// <summary>A smooth scalar function of a 4-vector: a closed-over matrix, elementwise ops, a
    /// slice, a concatenation and reductions.</summary>
    private static Tensor F(Tensor x) =>
        Tensor.Concat(0, W.MatMul(x).Tanh() * x[..3].Sin(), x[1..].Exp()).Sum() + (x * x * x).Sum() / 3.0;

    /// <summary>A vector-valued function R⁴ → R³.</summary>
    private static Tensor G(Tensor x) => W.MatMul(x.Sin() * x);

    private static readonly Tensor Xs = Data(1.1, 5, 4);

    [Fact]
    public void Vmap_of_a_function_equals_the_loop_over_examples()
    {
        var batched = Vmap(G)(Xs);
        Assert.Equal([5, 3], batched.Shape);
        Close(Loop(G, Xs), batched);
        Close(Loop(F, Xs), Vmap(F)(Xs));
        Assert.Equal([5], Vmap(F)(Xs).Shape);

        // a closure over a tensor: the same for every example
        var shift = Tensor.Of(1.0, -2.0, 0.5);
        Close(Loop(x => G(x) + shift, Xs), Vmap(x => G(x) + shift)(Xs));

        // fluent
        Func<Tensor, Tensor> g = G;
        Same(Vmap(g)(Xs), g.Vmap()(Xs));
    }

    [Fact]
    public void Vmap_with_axes_maps_any_axis_and_negative_axes_count_from_the_end()
    {
        var m = Data(2.0, 4, 5);
        var columns = Tensor.Stack(Enumerable.Range(0, 5).Select(j => G(m.T[j])).ToArray());   // [5, 3]

        Close(columns, Vmap(G, 1, 0)(m));
        Close(columns.T, Vmap(G, 1, 1)(m));
        var negative = Vmap(G, -1, -1)(m);
        Assert.Equal([3, 5], negative.Shape);
        Close(columns.T, negative);
        Close(Loop(G, Xs), Vmap(G, -2, 0)(Xs));

        Func<Tensor, Tensor> g = G;
        Same(Vmap(g, -1, -1)(m), g.Vmap(-1, -1)(m));
    }

    [Fact]
    public void Vmap_of_Grad_gives_per_example_gradients()
    {
        var perExample = Vmap(Grad(F))(Xs);
        Assert.Equal(Xs.Shape, perExample.Shape);
        Close(Loop(Grad(F), Xs), perExample);

        Func<Tensor, Tensor> f = F;
        Same(perExample, f.Grad().Vmap()(Xs));
    }

    [Fact]
    public void Grad_of_a_sum_over_Vmap_is_the_sum_of_the_examples_gradients()
    {
        // the batch built from the differentiated input
        var x = Xs[0];
        var total = Grad(t => Vmap(F)(Tensor.Stack(t, 2.0 * t, t.Sin())).Sum())(x);
        var byLoop = Grad(t => F(t) + F(2.0 * t) + F(t.Sin()))(x);
        Close(byLoop, total);

        // the batch as the differentiated input: each example's row is its own gradient
        Close(Loop(Grad(F), Xs), Grad(b => Vmap(F)(b).Sum())(Xs));
    }

    [Fact]
    public void Vmap_of_Vmap_equals_a_double_loop()
    {
        var cube = Data(0.4, 2, 3, 4);
        var twice = Vmap(Vmap(G))(cube);
        Assert.Equal([2, 3, 3], twice.Shape);
        Close(Loop(xs => Loop(G, xs), cube), twice);

        // the inner function closes over the outer example: an outer product plus a term of it
        var a = Tensor.Of(0.5, -1.0, 2.0);
        var b = Tensor.Of(1.0, 2.0, 3.0, 4.0);
        var outer = Vmap(x => Vmap(y => x * y + x.Sin())(b))(a);
        var expected = Tensor.Stack(Enumerable.Range(0, 3)
            .Select(i => Tensor.Stack(Enumerable.Range(0, 4).Select(j => a[i] * b[j] + a[i].Sin()).ToArray()))
            .ToArray());
        Close(expected, outer);
    }

    [Fact]
    public void Vmap_of_Hvp_over_the_basis_is_the_Hessian()
    {
        var x = Xs[2];
        var hessian = Hessian(F)(x);
        Assert.Equal([4, 4], hessian.Shape);

        // row i is H eᵢ (the Hessian is symmetric)
        Close(hessian, Vmap(v => Hvp(F, x, v))(Tensor.Eye(4)), 1e-10);

        // the point shared, the directions mapped (JAX's in_axes=(None, 0)), as a function of two tensors
        Close(hessian, Vmap(Hvp(F), InAxis.Shared, InAxis.Along(0))(x, Tensor.Eye(4)), 1e-10);

        // and over many directions, against a loop of Hvp calls
        var directions = Data(0.9, 6, 4);
        Close(Loop(v => Hvp(F, x, v), directions), Vmap(v => Hvp(F, x, v))(directions), 1e-10);

        // per example: the Hessian at every point of the batch
        Close(Loop(Hessian(F), Xs), Vmap(Hessian(F))(Xs), 1e-10);
    }

    [Fact]
    public void Chunked_Jacobians_equal_the_unchunked_ones()
    {
        var x = Xs[1];
        var forward = Jacfwd(G)(x);
        var reverse = Jacrev(G)(x);
        Assert.Equal([3, 4], forward.Shape);
        Close(forward, reverse);

        Func<Tensor, Tensor> g = G;
        foreach (var chunk in new[] { 1, 2, 3, 4, 100 })
        {
            Close(forward, JacfwdChunked(G, chunk)(x));
            Close(reverse, JacrevChunked(G, chunk)(x));
            Same(JacfwdChunked(G, chunk)(x), g.JacfwdChunked(chunk)(x));
            Same(JacrevChunked(G, chunk)(x), g.JacrevChunked(chunk)(x));
        }

        // the Jacobian of a Vmap, chunked: block diagonal, each block the example's Jacobian
        var j = JacrevChunked(Vmap(G), 4)(Xs);
        Assert.Equal([5, 3, 5, 4], j.Shape);
        Close(JacfwdChunked(Vmap(G), 7)(Xs), j);
        for (var i = 0; i < 5; i++)
            Close(Jacrev(G)(Xs[i]), j[i].Transpose(1, 0, 2)[i]);

        Assert.Equal("chunk", Assert.Throws<ArgumentOutOfRangeException>(() => JacfwdChunked(G, 0)).ParamName);
        Assert.Equal("chunk", Assert.Throws<ArgumentOutOfRangeException>(() => JacrevChunked(G, -1)).ParamName);
    }

    // ---- per-example gradients of a C# record ----------------------------------------------------

    private static readonly Mlp Model = new(Data(0.1, 3, 5), Data(0.2, 5), Data(0.3, 5, 2), Data(0.4, 2));

    private static readonly Tensor Inputs = Data(0.5, 6, 3);
    private static readonly Tensor Targets = Data(0.6, 6, 2);

    /// <summary>The squared error of a two-layer perceptron on one example (x of shape [3], y [2]).</summary>
    private static Tensor Loss(Mlp p, Tensor x, Tensor y)
    {
        var hidden = (x.MatMul(p.W1) + p.B1).Tanh();
        return (hidden.MatMul(p.W2) + p.B2 - y).Pow(2).Sum();
    }

    /// <summary>The reference: one tree Grad call per example.</summary>
    private static Mlp[] LoopOfGrads() =>
        Enumerable.Range(0, Inputs.Shape[0])
            .Select(i => Grad((Mlp q) => Loss(q, Inputs[i], Targets[i]))(Model))
            .ToArray();

    /// <summary>Asserts example <c>i</c> of a batched gradient (each leaf's row i) is <c>expected[i]</c>.</summary>
    private static void SameExamples(Mlp[] expected, Mlp batched)
    {
        Assert.Equal([6, 3, 5], batched.W1.Shape);
        Assert.Equal([6, 5], batched.B1.Shape);
        Assert.Equal([6, 5, 2], batched.W2.Shape);
        Assert.Equal([6, 2], batched.B2.Shape);
        for (var i = 0; i < expected.Length; i++)
        {
            Close(expected[i].W1, batched.W1[i]);
            Close(expected[i].B1, batched.B1[i]);
            Close(expected[i].W2, batched.W2[i]);
            Close(expected[i].B2, batched.B2[i]);
        }
    }

    [Fact]
    public void Per_example_gradients_of_an_MLP_record_equal_a_loop_of_tree_Grad_calls()
    {
        var expected = LoopOfGrads();

        // the model closed over, the examples (a value tuple of tensors) mapped along axis 0
        var perExample = Vmap(((Tensor X, Tensor Y) e) => Grad((Mlp q) => Loss(q, e.X, e.Y))(Model))((Inputs, Targets));
        Assert.IsType<Mlp>(perExample);
        SameExamples(expected, perExample);

        // their mean is the gradient of the mean loss
        var mean = Grad((Mlp q) => Enumerable.Range(0, 6).Select(i => Loss(q, Inputs[i], Targets[i])).Aggregate((a, b) => a + b) / 6.0)(Model);
        Close(mean.W1, perExample.W1.Sum(0) / 6.0);
    }

    [Fact]
    public void Per_example_gradients_with_the_model_shared_and_the_batch_mapped()
    {
        var expected = LoopOfGrads();
        Func<Mlp, (Tensor X, Tensor Y), Mlp> gradient = (p, e) => Grad((Mlp q) => Loss(q, e.X, e.Y))(p);

        // JAX's in_axes=(None, 0)
        SameExamples(expected, Vmap(gradient, InAxis.Shared, InAxis.Along(0))(Model, (Inputs, Targets)));

        // the batch along axis 1 of every leaf of the second argument, and as axis -1
        SameExamples(expected, Vmap(gradient, InAxis.Shared, InAxis.Along(1))(Model, (Inputs.T, Targets.T)));
        SameExamples(expected, Vmap(gradient, InAxis.Shared, InAxis.Along(-1))(Model, (Inputs.T, Targets.T)));

        // default(InAxis) is Along(0): mapping the model too would need a batch of models
        Assert.Throws<ShapeException>(() => Vmap(gradient, default, InAxis.Along(0))(Model, (Inputs, Targets)));
    }

    [Fact]
    public void Per_example_gradients_with_an_axis_per_leaf_path()
    {
        var expected = LoopOfGrads();
        var asked = new List<string>();

        // the targets by column (batch on axis 1), the inputs by row
        var byLeaf = Vmap(
            ((Tensor X, Tensor Y) e) => Grad((Mlp q) => Loss(q, e.X, e.Y))(Model),
            path =>
            {
                asked.Add(path);
                return path == "x.Item2" ? InAxis.Along(1) : InAxis.Along(0);
            })((Inputs, Targets.T));
        SameExamples(expected, byLeaf);
        Assert.Equal(["x.Item1", "x.Item2"], asked);

        // the model inside the argument, its leaves shared by path
        asked.Clear();
        var shared = Vmap(
            ((Mlp Model, Tensor X, Tensor Y) a) => Grad((Mlp q) => Loss(q, a.X, a.Y))(a.Model),
            path =>
            {
                asked.Add(path);
                return path.StartsWith("x.Item1.", StringComparison.Ordinal) ? InAxis.Shared : InAxis.Along(0);
            })((Model, Inputs, Targets));
        SameExamples(expected, shared);
        Assert.Equal(["x.Item1.W1", "x.Item1.B1", "x.Item1.W2", "x.Item1.B2", "x.Item2", "x.Item3"], asked);
    }

    // ---- InAxis and the errors -----------------------------------------------------------------------

    [Fact]
    public void InAxis_is_a_value_Along_an_axis_or_Shared()
    {
        Assert.Equal(InAxis.Along(0), default(InAxis));
        Assert.Equal(0, default(InAxis).Axis);
        Assert.Equal(-1, InAxis.Along(-1).Axis);
        Assert.False(InAxis.Along(2).IsShared);
        Assert.True(InAxis.Shared.IsShared);
        Assert.Null(InAxis.Shared.Axis);
        Assert.True(InAxis.Shared == InAxis.Shared);
        Assert.True(InAxis.Along(1) != InAxis.Along(2));
        Assert.True(InAxis.Along(0) != InAxis.Shared);
        Assert.Equal(InAxis.Along(3).GetHashCode(), InAxis.Along(3).GetHashCode());
        Assert.Equal("Along(-1)", InAxis.Along(-1).ToString());
        Assert.Equal("Shared", InAxis.Shared.ToString());
    }

    [Fact]
    public void Batch_sizes_that_differ_and_missing_axes_raise_ShapeException()
    {
        var e = Assert.Throws<ShapeException>(() =>
            Vmap(((Tensor A, Tensor B) t) => t.A + t.B)((Tensor.Zeros(3, 2), Tensor.Zeros(4, 2))));
        Assert.Contains("different batch sizes", e.Message);

        Assert.Contains("axis 2", Assert.Throws<ShapeException>(() => Vmap(G, 2, 0)(Xs)).Message);
        Assert.Contains("vmap", Assert.Throws<ShapeException>(() => Vmap(G)(Tensor.Scalar(1.0))).Message);

        // reading a per-example value as a number is a ConcretizationException naming vmap
        var c = Assert.Throws<ConcretizationException>(() => Vmap(x => (double)x.Sum() > 0 ? x : -x)(Xs));
        Assert.Contains("vmap", c.Message);
    }

    [Fact]
    public void Null_arguments_raise_ArgumentNullException_naming_them()
    {
        Assert.Equal("f", Assert.Throws<ArgumentNullException>(() => Vmap((Func<Tensor, Tensor>)null!)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Vmap(G)(null!)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Vmap(G, 0, 0)(null!)).ParamName);
        Assert.Equal("f", Assert.Throws<ArgumentNullException>(() => Vmap((Func<Mlp, Tensor>)null!)).ParamName);
        Assert.Equal("f", Assert.Throws<ArgumentNullException>(
            () => Vmap((Func<Mlp, Tensor, Tensor>)null!, InAxis.Shared, InAxis.Along(0))).ParamName);
        Assert.Equal("axisOf", Assert.Throws<ArgumentNullException>(() => Vmap((Mlp p) => p.B1, null!)).ParamName);
        Assert.Equal("f", Assert.Throws<ArgumentNullException>(() => JacfwdChunked(null!, 2)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => JacrevChunked(G, 2)(null!)).ParamName);
    }
}
