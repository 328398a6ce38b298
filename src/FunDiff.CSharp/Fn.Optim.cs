// Room: the C# optimizers (Sgd, Momentum, Adam) of Fn.
using System;

namespace FunDiff;

// Optimizers: pure update rules over any tree, as Optimizer objects (Init, Update).
public static partial class Fn
{
    /// <summary>
    /// Plain gradient descent: <c>params − learningRate · grads</c>, on any tree.
    /// </summary>
    /// <param name="learningRate">The step size, a finite number ≥ 0.</param>
    /// <returns>The optimizer: <c>Init(p)</c>, then <c>(state, p) = sgd.Update(state, p, g)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">For a negative, infinite or NaN learning rate.</exception>
    public static Optimizer Sgd(double learningRate) => Optimizer.Sgd(learningRate);

    /// <summary>
    /// Gradient descent with momentum: <c>v ← β·v + grads; params ← params − learningRate · v</c>.
    /// </summary>
    /// <param name="learningRate">The step size, a finite number ≥ 0.</param>
    /// <param name="beta">The velocity's decay, in [0, 1).</param>
    /// <returns>The optimizer: <c>Init(p)</c>, then <c>(state, p) = momentum.Update(state, p, g)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">For a hyperparameter out of range.</exception>
    public static Optimizer Momentum(double learningRate, double beta = 0.9) => Optimizer.Momentum(learningRate, beta);

    /// <summary>
    /// Adam (Kingma &amp; Ba, with bias correction), on any tree.
    /// </summary>
    /// <param name="learningRate">The step size, a finite number ≥ 0.</param>
    /// <param name="beta1">The first moment's decay, in [0, 1).</param>
    /// <param name="beta2">The second moment's decay, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator, a finite number ≥ 0.</param>
    /// <returns>The optimizer: <c>Init(p)</c>, then <c>(state, p) = adam.Update(state, p, g)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">For a hyperparameter out of range.</exception>
    /// <example>
    /// <code>
    /// var adam = Adam(0.05);
    /// var state = adam.Init(p);
    /// for (var step = 0; step &lt; 300; step++)
    ///     (state, p) = adam.Update(state, p, Grad((Mlp q) =&gt; Loss(q, x, y))(p));
    /// </code>
    /// </example>
    public static Optimizer Adam(double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) =>
        Optimizer.Adam(learningRate, beta1, beta2, epsilon);
}
