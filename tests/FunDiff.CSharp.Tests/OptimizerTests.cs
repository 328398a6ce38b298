using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>The parameters of a two-layer perceptron, as a C# record.</summary>
public record Mlp(Tensor W1, Tensor B1, Tensor W2, Tensor B2);

/// <summary>
/// The optimizers from C#: <see cref="Fn.Sgd"/>, <see cref="Fn.Momentum"/>, <see cref="Fn.Adam"/>
/// give what the F# <c>Optim</c> functions give, are pure, check their hyperparameters and their
/// state; a two-layer MLP in a C# record trained with Adam on generated data reaches a stated
/// loss and accuracy.
/// </summary>
public class OptimizerTests
{
    private static readonly Affine P = new(Tensor.FromArray(new[,] { { 1.0, -2.0 }, { 0.5, 3.0 } }), Tensor.Of(0.25, -1.0));
    private static readonly Affine G = new(Tensor.FromArray(new[,] { { 0.1, 0.2 }, { -0.3, 0.4 } }), Tensor.Of(-0.5, 0.05));
    private static readonly Affine G2 = new(Tensor.FromArray(new[,] { { -0.2, 0.1 }, { 0.3, 0.0 } }), Tensor.Of(0.5, 1.5));

    [Fact]
    public void Sgd_steps_to_params_minus_learning_rate_times_grads()
    {
        var sgd = Sgd(0.1);
        var state = sgd.Init(P);
        Assert.Equal(0, state.Step);
        var (next, p) = sgd.Update(state, P, G);
        Assert.Equal(1, next.Step);
        Same(P.W - 0.1 * G.W, p.W);
        Same(P.B - 0.1 * G.B, p.B);
    }

    [Fact]
    public void Momentum_and_Adam_equal_the_F_sharp_optimizers_over_two_steps()
    {
        var momentum = Momentum(0.1, 0.8);
        var ms = momentum.Init(P);
        (ms, var mp) = momentum.Update(ms, P, G);
        (ms, mp) = momentum.Update(ms, mp, G2);
        var fm = Optim.momentum(0.1, 0.8, Optim.momentumInit(P), P, G);
        var fm2 = Optim.momentum(0.1, 0.8, fm.Item1, fm.Item2, G2);
        Same(fm2.Item2.W, mp.W);
        Same(fm2.Item2.B, mp.B);
        Assert.Equal(2, ms.Step);

        var adam = Adam(0.05, 0.8, 0.99, 1e-6);
        var state = adam.Init(P);
        (state, var p) = adam.Update(state, P, G);
        (state, p) = adam.Update(state, p, G2);
        var fa = Optim.adamWith(0.05, 0.8, 0.99, 1e-6, Optim.adamInit(P), P, G);
        var fa2 = Optim.adamWith(0.05, 0.8, 0.99, 1e-6, fa.Item1, fa.Item2, G2);
        Same(fa2.Item2.W, p.W);
        Same(fa2.Item2.B, p.B);
        Assert.Equal(2, state.Step);

        // the defaults are Adam's usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8
        var (_, d) = Adam(0.05).Update(Adam(0.05).Init(P), P, G);
        Same(Optim.adam(0.05, Optim.adamInit(P), P, G).Item2.W, d.W);
    }

    [Fact]
    public void Update_is_pure_and_a_state_serves_any_optimizer_of_its_kind()
    {
        var adam = Adam(0.05);
        var s0 = adam.Init(P);
        var (s1, p1) = adam.Update(s0, P, G);
        var (s1Again, p1Again) = adam.Update(s0, P, G);       // the same inputs give the same outputs
        Assert.Equal(0, s0.Step);
        Same(p1.W, p1Again.W);
        Assert.Equal(s1.Step, s1Again.Step);
        Same(Tensor.FromArray(new[,] { { 1.0, -2.0 }, { 0.5, 3.0 } }), P.W);   // nothing given changed

        // a learning-rate schedule: a new optimizer each step, one state
        var (s2, _) = Adam(0.01).Update(s1, p1, G2);
        Assert.Equal(2, s2.Step);
        Assert.Equal("Adam state at step 2", s2.ToString());
    }

    [Fact]
    public void A_state_from_another_kind_of_optimizer_or_bad_hyperparameters_raise_argument_exceptions()
    {
        var e = Assert.Throws<ArgumentException>(() => Adam(0.1).Update(Sgd(0.1).Init(P), P, G));
        Assert.Contains("Sgd", e.Message);
        Assert.Contains("Adam", e.Message);
        Assert.Equal("state", e.ParamName);

        Assert.Throws<ArgumentOutOfRangeException>(() => Sgd(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgd(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Momentum(0.1, 1.0));
        var b = Assert.Throws<ArgumentOutOfRangeException>(() => Adam(0.1, beta2: 1.5));
        Assert.Equal("beta2", b.ParamName);
        Assert.Contains("[0, 1)", b.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Adam(0.1, epsilon: -1));
        Assert.Throws<ArgumentNullException>(() => Sgd(0.1).Update(null!, P, G));
        Assert.Throws<ShapeException>(() => Sgd(0.1).Update(Sgd(0.1).Init(P), P, new Affine(G.W, Tensor.Of(1.0, 2.0, 3.0))));
        Assert.Equal("Adam(learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1E-08)", Adam(0.05).ToString());
    }

    [Fact]
    public void Optimizers_work_on_a_plain_tensor_and_on_a_list()
    {
        Func<Tensor, Tensor> bowl = x => ((x - 3.0) * (x - 3.0)).Sum();
        var sgd = Sgd(0.1);
        Tensor x = Tensor.Of(0.0, 10.0);
        var state = sgd.Init(x);
        for (var i = 0; i < 100; i++)
            (state, x) = sgd.Update(state, x, Grad(bowl)(x));
        Close([3.0, 3.0], x, 1e-8);

        var momentum = Momentum(0.05);
        List<Tensor> l = [Tensor.Of(0.0), Tensor.Of(10.0)];
        var ms = momentum.Init(l);
        for (var i = 0; i < 300; i++)
            (ms, l) = momentum.Update(ms, l, Grad((List<Tensor> q) => bowl(q[0]) + bowl(q[1]))(l));
        Close([3.0], l[0], 1e-6);
        Close([3.0], l[1], 1e-6);
    }

    // ---- a two-layer MLP in a C# record, trained with Adam ---------------------------------

    private static Tensor Logits(Mlp p, Tensor x) => (x.MatMul(p.W1) + p.B1).Tanh().MatMul(p.W2) + p.B2;

    private static Tensor Loss(Mlp p, Tensor x, Tensor y) => -(y * Logits(p, x).LogSoftmax()).Sum(1).Mean();

    [Fact]
    public void A_two_layer_MLP_in_a_C_sharp_record_trained_with_Adam_reaches_loss_below_0_05_and_accuracy_at_least_98_percent()
    {
        // two interleaved half-moons in 2-D, 200 points, uniform noise ±0.1, fixed seed
        var random = new Random(42);
        var (x, y, labels) = HalfMoons.Data(random);
        const int hidden = 16;
        var p = new Mlp(
            HalfMoons.Uniform(random, -1, 1, 2, hidden), Tensor.Zeros(hidden),
            HalfMoons.Uniform(random, -0.5, 0.5, hidden, 2), Tensor.Zeros(2));

        double Accuracy(Mlp q) => (double)Logits(q, x).ArgMax(1).Eq(labels).Convert(DType.Float64).Mean();

        var initialLoss = (double)Loss(p, x, y);
        var adam = Adam(0.05);
        var state = adam.Init(p);
        for (var step = 0; step < 300; step++)
            (state, p) = adam.Update(state, p, Grad((Mlp q) => Loss(q, x, y))(p));

        var finalLoss = (double)Loss(p, x, y);
        Assert.Equal(300, state.Step);
        Assert.True(initialLoss > 0.3, $"the initial loss {initialLoss} should be far from trained");
        Assert.True(finalLoss < 0.05, $"final loss {finalLoss} (initial {initialLoss})");
        Assert.True(Accuracy(p) >= 0.98, $"training accuracy {Accuracy(p)}");

        // the same step with ValueAndGradAux reports the loss and the accuracy of the point it differentiates
        var (loss, accuracy, g) = ValueAndGradAux((Mlp q) =>
            (Loss(q, x, y), Logits(q, x).ArgMax(1).Eq(labels).Convert(DType.Float64).Mean()))(p);
        Assert.Equal(finalLoss, (double)loss, 12);
        Assert.Equal(Accuracy(p), (double)accuracy, 12);
        Assert.Equal(p.W1.Shape, g.W1.Shape);
    }
}
