using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>The Linalg module from C#: PascalCase compiled names, tuples deconstruct, and
/// derivatives through solve (Newton's method with Hessian and Solve).</summary>
public class LinalgTests
{
    private static readonly Tensor A = Tensor.FromArray(new double[,] { { 4, 1 }, { 2, 3 } });

    [Fact]
    public void Solve_Inv_Det_and_Slogdet_give_the_known_values()
    {
        var b = Tensor.Of(1.0, 2.0);
        Close(b, A.MatMul(Linalg.Solve(A, b)));
        Close(Tensor.Eye(2), Linalg.Inv(A).MatMul(A));
        Close(10.0, Linalg.Det(A));
        var (sign, logAbs) = Linalg.Slogdet(A);
        Close(1.0, sign);
        Close(Math.Log(10.0), logAbs);
        Close(Math.Sqrt(30.0), Linalg.Norm(NormOrder.Frobenius, A));
        Close(Tensor.FromArray(new double[,] { { 4, 0 }, { 2, 3 } }), Linalg.Tril(0, A));
    }

    [Fact]
    public void Factorizations_reconstruct_the_matrix()
    {
        var spd = Tensor.FromArray(new double[,] { { 4, 2 }, { 2, 3 } });
        var l = Linalg.Cholesky(spd);
        Close(spd, l.MatMul(l.T));
        var (q, r) = Linalg.Qr(A);
        Close(A, q.MatMul(r));
        var (w, v) = Linalg.Eigh(spd);
        Close(spd.MatMul(v), v * w);
        var (u, s, vt) = Linalg.Svd(A);
        Close(A, (u * s).MatMul(vt));
    }

    [Fact]
    public void LstsqFull_deconstructs_into_x_residuals_rank_and_singular_values()
    {
        var tall = Tensor.FromArray(new double[,] { { 1, 0 }, { 0, 1 }, { 1, 1 } });
        var b = Tensor.Of(1.0, 1.0, 0.0);
        var (x, residuals, rank, s) = Linalg.LstsqFull(tall, b);
        // the normal equations [[2, 1], [1, 2]] x = [1, 1]: x = [1/3, 1/3], b − a x = [2/3, 2/3, −2/3]
        Close([1.0 / 3.0, 1.0 / 3.0], x);
        Close([4.0 / 3.0], residuals);
        Assert.Equal(DType.Int64, rank.DType);
        Assert.Equal(2.0, (double)rank);
        Close([Math.Sqrt(3.0), 1.0], s);
        // the kron of a stack of matrices is the stack of krons
        var stack = Tensor.Stack(A, Tensor.Eye(2));
        Close(Linalg.Kron(Tensor.Eye(2), A), Linalg.Kron(stack, A)[1]);
    }

    [Fact]
    public void Newtons_method_with_Solve_and_Hessian_converges()
    {
        // f(x) = Σ exp(x) − ⟨c, x⟩ + ½‖x‖²: a strictly convex function with a unique minimum
        var c = Tensor.Of(1.0, 2.0);
        Func<Tensor, Tensor> f = x => x.Exp().Sum() - (x * c).Sum() + 0.5 * (x * x).Sum();
        var x = Tensor.Zeros(2);
        for (var i = 0; i < 20; i++)
            x = x - Linalg.Solve(Hessian(f)(x), Grad(f)(x));
        Close([0.0, 0.0], Grad(f)(x), 1e-12);
    }

    [Fact]
    public void A_singular_matrix_raises_LinAlgException_naming_solve()
    {
        var singular = Tensor.FromArray(new double[,] { { 1, 2 }, { 2, 4 } });
        var e = Assert.Throws<LinAlgException>(() => Linalg.Solve(singular, Tensor.Of(1.0, 1.0)));
        Assert.Contains("solve", e.Message);
    }

    [Fact]
    public void A_null_argument_raises_ArgumentNullException_naming_it()
    {
        Assert.Equal("a", Assert.Throws<ArgumentNullException>(() => Linalg.Solve(null!, A)).ParamName);
        Assert.Equal("b", Assert.Throws<ArgumentNullException>(() => Linalg.Solve(A, null!)).ParamName);
        Assert.Equal("ord", Assert.Throws<ArgumentNullException>(() => Linalg.Norm(null!, A)).ParamName);
        Assert.Equal("a", Assert.Throws<ArgumentNullException>(() => Linalg.Svd(null!)).ParamName);
    }
}
