// Room: the stateful C# optimizer object over trees.
using System;
using System.Globalization;

namespace FunDiff;

/// <summary>
/// A gradient-based optimizer over trees, made by <see cref="Fn.Sgd"/>, <see cref="Fn.Momentum"/>
/// or <see cref="Fn.Adam"/>: a pure update rule, as in JAX's optax. <see cref="Init{T}"/> makes
/// the first state for some parameters; <see cref="Update{T}"/> takes a state, the parameters and
/// their gradients and returns the next state and the new parameters, changing nothing it is
/// given. One optimizer serves any tree type (a C# record, a class, a list, a tensor...).
/// </summary>
/// <example>
/// <code>
/// var adam = Adam(0.05);
/// var state = adam.Init(p);
/// for (var step = 0; step &lt; 300; step++)
///     (state, p) = adam.Update(state, p, Grad((Mlp q) =&gt; Loss(q, x, y))(p));
/// </code>
/// </example>
/// <remarks>Each update calls the F# <c>Optim</c> module (<c>Optim.sgd</c>, <c>Optim.momentum</c>,
/// <c>Optim.adamWith</c>); the state holds its F# state, opaque to C#.</remarks>
public sealed class Optimizer
{
    private enum Kind
    {
        Sgd,
        Momentum,
        Adam,
    }

    private readonly Kind _kind;

    private Optimizer(Kind kind, double learningRate, double beta1, double beta2, double epsilon)
    {
        _kind = kind;
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    /// <summary>The optimizer's name: <c>Sgd</c>, <c>Momentum</c> or <c>Adam</c>.</summary>
    public string Name => _kind.ToString();

    /// <summary>The learning rate (the step size).</summary>
    public double LearningRate { get; }

    /// <summary>Adam's β₁ (the first moment's decay) or Momentum's β (the velocity's decay); 0 for Sgd.</summary>
    public double Beta1 { get; }

    /// <summary>Adam's β₂ (the second moment's decay); 0 for the others.</summary>
    public double Beta2 { get; }

    /// <summary>Adam's ε (added to the denominator); 0 for the others.</summary>
    public double Epsilon { get; }

    private static void Check(string optimizer, string name, double value, bool belowOne)
    {
        if (double.IsNaN(value) || double.IsInfinity(value) || value < 0 || (belowOne && value >= 1))
        {
            var range = belowOne ? "in [0, 1)" : "a finite number ≥ 0";
            throw new ArgumentOutOfRangeException(
                name, value, $"{optimizer}: {name} = {value.ToString(CultureInfo.InvariantCulture)} must be {range}.");
        }
    }

    internal static Optimizer Sgd(double learningRate)
    {
        Check("Sgd", nameof(learningRate), learningRate, false);
        return new Optimizer(Kind.Sgd, learningRate, 0, 0, 0);
    }

    internal static Optimizer Momentum(double learningRate, double beta)
    {
        Check("Momentum", nameof(learningRate), learningRate, false);
        Check("Momentum", nameof(beta), beta, true);
        return new Optimizer(Kind.Momentum, learningRate, beta, 0, 0);
    }

    internal static Optimizer Adam(double learningRate, double beta1, double beta2, double epsilon)
    {
        Check("Adam", nameof(learningRate), learningRate, false);
        Check("Adam", nameof(beta1), beta1, true);
        Check("Adam", nameof(beta2), beta2, true);
        Check("Adam", nameof(epsilon), epsilon, false);
        return new Optimizer(Kind.Adam, learningRate, beta1, beta2, epsilon);
    }

    /// <summary>The first state for some parameters (step 0; zero velocity or moments, trees
    /// like the parameters).</summary>
    /// <typeparam name="T">The parameters' tree type.</typeparam>
    /// <param name="parameters">The initial parameters.</param>
    /// <returns>The state to pass to the first <see cref="Update{T}"/>.</returns>
    /// <exception cref="TransformException">When a leaf of the parameters is not a tensor (the
    /// message names its path).</exception>
    public OptimizerState<T> Init<T>(T parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        object inner = _kind switch
        {
            Kind.Sgd => Optim.sgdInit(parameters),
            Kind.Momentum => Optim.momentumInit(parameters),
            _ => Optim.adamInit(parameters),
        };
        return new OptimizerState<T>(Name, 0, inner);
    }

    /// <summary>
    /// One step: the next state and the new parameters, from a state, the parameters and their
    /// gradients (a tree like the parameters, e.g. from <c>Grad</c>). Nothing given is changed.
    /// </summary>
    /// <typeparam name="T">The parameters' tree type.</typeparam>
    /// <param name="state">The state from <see cref="Init{T}"/> or the previous update, made by
    /// an optimizer of the same kind (its hyperparameters may differ: a schedule may make a new
    /// optimizer every step).</param>
    /// <param name="parameters">The current parameters.</param>
    /// <param name="gradients">The gradients, a tree of the parameters' structure.</param>
    /// <returns><c>(State, Params)</c>: deconstruct into the loop's variables,
    /// <c>(state, p) = adam.Update(state, p, g)</c>.</returns>
    /// <exception cref="ArgumentException">When <paramref name="state"/> was made by another
    /// kind of optimizer.</exception>
    /// <exception cref="ShapeException">When the gradients' structure differs from the parameters'.</exception>
    public (OptimizerState<T> State, T Params) Update<T>(OptimizerState<T> state, T parameters, T gradients)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(gradients);
        switch (_kind, state.Inner)
        {
            case (Kind.Sgd, SgdState s):
            {
                var (next, updated) = Optim.sgd(LearningRate, s, parameters, gradients);
                return (new OptimizerState<T>(Name, next.Step, next), updated);
            }
            case (Kind.Momentum, MomentumState<T> s):
            {
                var (next, updated) = Optim.momentum(LearningRate, Beta1, s, parameters, gradients);
                return (new OptimizerState<T>(Name, next.Step, next), updated);
            }
            case (Kind.Adam, AdamState<T> s):
            {
                var (next, updated) = Optim.adamWith(LearningRate, Beta1, Beta2, Epsilon, s, parameters, gradients);
                return (new OptimizerState<T>(Name, next.Step, next), updated);
            }
            default:
                throw new ArgumentException(
                    $"{Name}.Update: the state was made by {state.Optimizer}'s Init; pass the state that "
                    + $"{Name}'s Init (or its previous Update) returned.",
                    nameof(state));
        }
    }

    /// <summary>The optimizer and its hyperparameters, e.g. <c>Adam(learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1E-08)</c>.</summary>
    /// <returns>A readable description.</returns>
    public override string ToString()
    {
        static string N(double v) => v.ToString(CultureInfo.InvariantCulture);
        return _kind switch
        {
            Kind.Sgd => $"Sgd(learningRate: {N(LearningRate)})",
            Kind.Momentum => $"Momentum(learningRate: {N(LearningRate)}, beta: {N(Beta1)})",
            _ => $"Adam(learningRate: {N(LearningRate)}, beta1: {N(Beta1)}, beta2: {N(Beta2)}, epsilon: {N(Epsilon)})",
        };
    }
}

/// <summary>
/// The state of an <see cref="Optimizer"/> for parameters of type <typeparamref name="T"/>:
/// the step count and, for Momentum and Adam, the velocity or moments (trees like the
/// parameters). Immutable: <see cref="Optimizer.Update{T}"/> returns a new one.
/// </summary>
/// <typeparam name="T">The parameters' tree type.</typeparam>
public sealed class OptimizerState<T>
{
    internal OptimizerState(string optimizer, int step, object inner)
    {
        Optimizer = optimizer;
        Step = step;
        Inner = inner;
    }

    /// <summary>The name of the optimizer that made this state (<c>Sgd</c>, <c>Momentum</c>, <c>Adam</c>).</summary>
    public string Optimizer { get; }

    /// <summary>How many updates led to this state (0 after <see cref="FunDiff.Optimizer.Init{T}"/>).</summary>
    public int Step { get; }

    /// <summary>The F# optimizer state (<c>SgdState</c>, <c>MomentumState</c>, <c>AdamState</c>).</summary>
    internal object Inner { get; }

    /// <summary>The optimizer's name and the step, e.g. <c>Adam state at step 300</c>.</summary>
    /// <returns>A readable description.</returns>
    public override string ToString() => $"{Optimizer} state at step {Step}";
}
