// Room: InAxis, how the tree Vmap treats an argument or a leaf (JAX's in_axes), for C#.
using System;

namespace FunDiff;

/// <summary>
/// How a tree <c>Vmap</c> treats an argument or a leaf (an entry of JAX's <c>in_axes</c>):
/// <see cref="Along(int)"/> maps it over one of its axes, <see cref="Shared"/> gives every
/// example the same value (JAX's <c>None</c>), as a value the function closes over is.
/// </summary>
/// <remarks>
/// A value type, so it is never null; <c>default(InAxis)</c> is <c>InAxis.Along(0)</c>, vmap's
/// default. It stands for the F# union <c>VmapAxis</c> (<c>Along k | Shared</c>) of
/// <c>FunDiff.Core</c>, which C# does not see in the facade.
/// </remarks>
/// <example>
/// <code>
/// // per-example gradients, the model shared and the batch mapped along axis 0:
/// var perExample = Vmap((Mlp p, (Tensor X, Tensor Y) e) =&gt; Grad((Mlp q) =&gt; Loss(q, e.X, e.Y))(p),
///                       InAxis.Shared, InAxis.Along(0))(model, (xs, ys));
/// </code>
/// </example>
public readonly struct InAxis : IEquatable<InAxis>
{
    private readonly int axis;
    private readonly bool shared;

    private InAxis(int axis, bool shared)
    {
        this.axis = axis;
        this.shared = shared;
    }

    /// <summary>Mapped along <paramref name="axis"/>: every leaf is batched along that axis.</summary>
    /// <param name="axis">The batch axis of every leaf; negative counts from the end, as in NumPy.
    /// A leaf without that axis raises <see cref="ShapeException"/> when the vmapped function is called.</param>
    /// <returns>The axis.</returns>
    public static InAxis Along(int axis) => new(axis, false);

    /// <summary>Not mapped: the same value for every example (JAX's <c>in_axes=None</c>).</summary>
    public static InAxis Shared => new(0, true);

    /// <summary>Whether the value is shared by every example rather than mapped.</summary>
    public bool IsShared => shared;

    /// <summary>The batch axis, or <c>null</c> for <see cref="Shared"/>.</summary>
    public int? Axis => shared ? null : axis;

    /// <summary>Whether two axes are the same: both shared, or both along the same axis.</summary>
    /// <param name="other">The other axis.</param>
    /// <returns><c>true</c> if they are the same.</returns>
    public bool Equals(InAxis other) => shared == other.shared && axis == other.axis;

    /// <summary>Whether <paramref name="obj"/> is an <see cref="InAxis"/> equal to this one.</summary>
    /// <param name="obj">Any object.</param>
    /// <returns><c>true</c> if it is an equal <see cref="InAxis"/>.</returns>
    public override bool Equals(object? obj) => obj is InAxis other && Equals(other);

    /// <summary>A hash code consistent with <see cref="Equals(InAxis)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => HashCode.Combine(shared, axis);

    /// <summary>Whether two axes are the same.</summary>
    /// <param name="left">An axis.</param>
    /// <param name="right">Another axis.</param>
    /// <returns><c>true</c> if they are the same.</returns>
    public static bool operator ==(InAxis left, InAxis right) => left.Equals(right);

    /// <summary>Whether two axes differ.</summary>
    /// <param name="left">An axis.</param>
    /// <param name="right">Another axis.</param>
    /// <returns><c>true</c> if they differ.</returns>
    public static bool operator !=(InAxis left, InAxis right) => !left.Equals(right);

    /// <summary><c>Along(k)</c> or <c>Shared</c>, as written in C#.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => shared ? "Shared" : $"Along({axis})";

    /// <summary>The F# union case this stands for.</summary>
    internal VmapAxis ToFSharp() => shared ? VmapAxis.Shared : VmapAxis.NewAlong(axis);
}
