// Room: C# utilities on trees (flatten, map, zip of tensor leaves).
using System;
using Microsoft.FSharp.Collections;
using static FunDiff.FSharpInterop;

namespace FunDiff;

/// <summary>
/// Utilities on trees: values whose leaves are tensors — C# records, classes with public
/// properties, <c>List&lt;T&gt;</c>, <c>Dictionary&lt;string, T&gt;</c>, value tuples, arrays,
/// nested freely — as the transforms of <see cref="Fn"/> take them. Each is the F# <c>Tree</c>
/// function of the same name. Enough to write an update rule in one line:
/// <c>p = Trees.Sub(p, Trees.Scale(g, 0.1))</c>.
/// </summary>
/// <remarks>
/// Leaves are visited depth first: properties in declaration order (a record's in its primary
/// constructor's order), list and array elements in order, dictionary entries by key. Functions
/// of two trees raise <see cref="ShapeException"/> when their structures differ; a leaf that is
/// neither a <see cref="Tensor"/> nor a <c>double</c> raises <see cref="TransformException"/>
/// naming its path (<c>tree.Layers[2].Name</c>).
/// </remarks>
public static class Trees
{
    /// <summary>The leaves of a tree, depth first.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="tree">A tree of tensors.</param>
    /// <returns>Its tensors (a <c>double</c> leaf as a scalar tensor).</returns>
    public static Tensor[] Leaves<T>(T tree) => ListModule.ToArray(TreeModule.leaves(tree));

    /// <summary>
    /// The leaves of a tree and the function that builds a tree of the same structure from as
    /// many leaves.
    /// </summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="tree">A tree of tensors.</param>
    /// <returns><c>(leaves, unflatten)</c>; <c>unflatten</c> raises <see cref="ShapeException"/>
    /// for a different number of leaves.</returns>
    public static (Tensor[] Leaves, Func<Tensor[], T> Unflatten) Flatten<T>(T tree)
    {
        var (leaves, structure) = TreeModule.flatten(tree);
        return (ListModule.ToArray(leaves), newLeaves =>
        {
            ArgumentNullException.ThrowIfNull(newLeaves);
            return TreeModule.unflatten<T>(structure, ListModule.OfArray(newLeaves));
        });
    }

    /// <summary>Applies a function to every leaf.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="tree">A tree of tensors.</param>
    /// <param name="f">The function applied to each leaf.</param>
    /// <returns>A tree like <paramref name="tree"/> of <c>f(leaf)</c>.</returns>
    /// <example><c>Trees.Map(p, t =&gt; t.Clip(-1, 1))</c></example>
    public static T Map<T>(T tree, Func<Tensor, Tensor> f) => TreeModule.map(ToFSharp(f), tree);

    /// <summary>Applies a function to the leaves of two trees of one structure, pairwise.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="x">A tree of tensors.</param>
    /// <param name="y">A tree of <paramref name="x"/>'s structure.</param>
    /// <param name="f">The function applied to each pair of leaves.</param>
    /// <returns>A tree like <paramref name="x"/> of <c>f(a, b)</c>.</returns>
    /// <example><c>Trees.Map2(p, g, (w, dw) =&gt; w - 0.1 * dw)</c> is a step of gradient descent.</example>
    public static T Map2<T>(T x, T y, Func<Tensor, Tensor, Tensor> f) => TreeModule.map2(ToFSharp(f), x, y);

    /// <summary>Zeros of every leaf's shape.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="tree">A tree of tensors.</param>
    /// <returns>A tree like <paramref name="tree"/> of zeros.</returns>
    public static T ZerosLike<T>(T tree) => TreeModule.zerosLike(tree);

    /// <summary>The leafwise sum of two trees of one structure.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="x">A tree of tensors.</param>
    /// <param name="y">A tree of <paramref name="x"/>'s structure.</param>
    /// <returns><c>x + y</c>, leaf by leaf.</returns>
    public static T Add<T>(T x, T y) => TreeModule.add(x, y);

    /// <summary>The leafwise difference of two trees of one structure.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="x">A tree of tensors.</param>
    /// <param name="y">A tree of <paramref name="x"/>'s structure.</param>
    /// <returns><c>x − y</c>, leaf by leaf.</returns>
    public static T Sub<T>(T x, T y) => TreeModule.sub(x, y);

    /// <summary>Every leaf times a number.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="tree">A tree of tensors.</param>
    /// <param name="factor">The number.</param>
    /// <returns><c>factor · tree</c>, leaf by leaf.</returns>
    public static T Scale<T>(T tree, double factor) => TreeModule.scale(factor, tree);

    /// <summary>The inner product of two trees of one structure: the sum over leaves of Σ x·y.</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="x">A tree of tensors.</param>
    /// <param name="y">A tree of <paramref name="x"/>'s structure.</param>
    /// <returns>A scalar tensor.</returns>
    public static Tensor Dot<T>(T x, T y) => TreeModule.dot(x, y);

    /// <summary>The 2-norm of all leaves together (its gradient is 0 at 0).</summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="tree">A tree of tensors.</param>
    /// <returns>A scalar tensor.</returns>
    /// <example>Gradient clipping: <c>Trees.Scale(g, Math.Min(1, 5 / (double)Trees.Norm(g)))</c>.</example>
    public static Tensor Norm<T>(T tree) => TreeModule.norm(tree);

    /// <summary>
    /// All leaves as one flat float64 vector, and the function that rebuilds a tree from such a
    /// vector (differentiable both ways). Jacobians and Hessians of functions of trees go through
    /// it: <c>Hessian(v =&gt; Loss(unravel(v)))(flat)</c>.
    /// </summary>
    /// <typeparam name="T">The tree type.</typeparam>
    /// <param name="tree">A tree of tensors.</param>
    /// <returns><c>(flat, unravel)</c>; <c>unravel</c> raises <see cref="ShapeException"/> for a
    /// vector of another length.</returns>
    public static (Tensor Flat, Func<Tensor, T> Unravel) Ravel<T>(T tree)
    {
        var (flat, unravel) = TreeModule.ravel(tree);
        return (flat, ToFunc(unravel));
    }
}
