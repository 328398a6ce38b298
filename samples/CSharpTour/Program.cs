// The FunDiff tour for C#: the transforms as Grad(f)(x), their composition, the fluent forms,
// a logistic-regression training loop, a Hessian and a printed program.
// Run with `dotnet run --project samples/CSharpTour`.
using FunDiff;
using static FunDiff.Fn;

static void Section(string title) => Console.WriteLine($"\n== {title} ==");

Section("Grad(f)(x)");
Console.WriteLine($"d/dx x² at 3         = {Grad(x => x * x)(3.0)}   (expected 6.0)");
Func<Tensor, Tensor> logistic = x => 1.0 / (1.0 + (-x).Exp());
Console.WriteLine($"σ'(1.5)              = {(double)Grad(logistic)(1.5):R}   (expected 0.1491464520703328…)");
Func<Tensor, Tensor> sinTimesX = x => (x.Sin() * x).Sum();
var x0 = Tensor.Of(1.0, 2.0, 3.0);
Console.WriteLine($"∇ Σ sin(x)·x at {x0} = {Grad(sinTimesX)(x0)}   (cos x · x + sin x)");
Console.WriteLine($"Gradient(f, 1, 2)    = [{string.Join(", ", Gradient(x => (x * x).Sum(), 1.0, 2.0))}]   (plain doubles)");

Section("Composition: Grad(Grad(f)), Jvp(Grad(f), x, v), Jacfwd(Jacrev(f))");
Func<Tensor, Tensor> cubic = x => x.Pow(3) + x.Pow(2);
foreach (var p in new[] { -1.0, 0.5, 2.0 })
{
    Console.WriteLine(
        $"x = {p,4:F1}   y' = {(double)Grad(cubic)(p),8:F4} (3x²+2x)   y'' = {(double)Grad(Grad(cubic))(p),8:F4} (6x+2)");
}

// Rosenbrock, with C#'s ranges: Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])²
static Tensor Rosenbrock(Tensor x) =>
    (100.0 * (x[1..] - x[..^1].Pow(2)).Pow(2) + (1.0 - x[..^1]).Pow(2)).Sum();

var v = Tensor.Of(1.0, 0.0, -1.0);
Console.WriteLine($"rosenbrock{x0}      = {Rosenbrock(x0)}");
Console.WriteLine($"Jvp(Grad(f), x, v)      = {Jvp(Grad(Rosenbrock), x0, v).Tangent}   (H v, H never formed)");
Console.WriteLine($"Hessian(f)(x) · v       = {Hessian(Rosenbrock)(x0).MatMul(v)}");
Console.WriteLine($"Hessian(f)(x)           =\n{Hessian(Rosenbrock)(x0)}");
Console.WriteLine($"Jacfwd(Jacrev(f))(x)    =\n{Jacfwd(Jacrev(Rosenbrock))(x0)}");

Section("Fluent forms on Func<Tensor, Tensor>");
Func<Tensor, Tensor> f = x => x.Pow(3) * x.Sin();
Console.WriteLine($"f.Grad()(1)          = {f.Grad()(1.0)}   (3x² sin x + x³ cos x)");
Console.WriteLine($"f.Grad().Grad()(1)   = {f.Grad().Grad()(1.0)}   (6x sin x + 6x² cos x − x³ sin x)");
Func<Tensor, Tensor> rosenbrock = Rosenbrock;
var hvp = rosenbrock.Hvp();
Console.WriteLine($"rosenbrock.Hvp()(x, v) = {hvp(x0, v)}");
var (value, gradient) = rosenbrock.ValueAndGrad()(x0);
Console.WriteLine($"rosenbrock.ValueAndGrad()(x) = ({value}, {gradient})");
var (y, pullback) = rosenbrock.Vjp(x0);
Console.WriteLine($"rosenbrock.Vjp(x): value {y}, pullback(1) = {pullback(1.0)}");
Console.WriteLine($"sin.Jvp(x, v).Tangent = {((Func<Tensor, Tensor>)(x => x.Sin())).Jvp(x0, v).Tangent}   (cos x · v)");
Console.WriteLine($"Derivative(tanh)(0)  = {Derivative(x => x.Tanh())(0.0)}");

Section("Logistic regression: gradient descent lowers the loss");
// Two Gaussian clouds in the plane, labels 0 and 1; features get a column of ones for the bias.
var random = new Random(42);
const int n = 200;
var features = new double[n, 3];
var labels = new double[n];
for (var i = 0; i < n; i++)
{
    var label = i % 2;
    var centre = label == 1 ? 1.0 : -1.0;
    features[i, 0] = centre + Normal(random);
    features[i, 1] = 0.5 * centre + Normal(random);
    features[i, 2] = 1.0;
    labels[i] = label;
}

var X = Tensor.FromArray(features);
var labelTensor = Tensor.OfArray(labels);

// The mean binary cross-entropy of σ(X·w).
Tensor Loss(Tensor w)
{
    var p = X.MatMul(w).Sigmoid();
    return -(labelTensor * p.Log() + (1.0 - labelTensor) * (1.0 - p).Log()).Mean();
}

var lossAndGrad = ValueAndGrad(Loss);
var weights = Tensor.Zeros(3);
var firstLoss = (double)Loss(weights);
for (var step = 0; step <= 100; step++)
{
    var (loss, grad) = lossAndGrad(weights);
    if (step % 20 == 0)
        Console.WriteLine($"step {step,3}: loss = {(double)loss:F6}");
    weights -= 0.5 * grad;
}

var finalLoss = (double)Loss(weights);
var accuracy = X.MatMul(weights).ToArray().Zip(labels, (z, t) => (z > 0 ? 1.0 : 0.0) == t).Count(ok => ok) / (double)n;
Console.WriteLine($"weights = {weights}; loss {firstLoss:F4} → {finalLoss:F4} (went down: {finalLoss < firstLoss}); accuracy {accuracy:P0}");
Console.WriteLine($"Hessian of the loss at the end (positive definite: a convex problem) =\n{Hessian(Loss)(weights)}");

Section("MakeIR: the program of a function and of its gradient");
Console.WriteLine(MakeIR(sinTimesX, x0));
Console.WriteLine("its gradient:");
var program = MakeIR(Grad(sinTimesX), x0);
Console.WriteLine(program);
Console.WriteLine($"{program.Equations.Length} equations: {string.Join(", ", program.Equations.Select(e => e.Primitive.Name))}");

// A standard normal sample (Box–Muller).
static double Normal(Random random) =>
    Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
