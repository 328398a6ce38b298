using System;
using Microsoft.FSharp.Core;

namespace FunDiff;

/// <summary>
/// Conversions between C# delegates and F# function values, so that the facade can hand
/// <c>Func&lt;Tensor, Tensor&gt;</c> to the F# transforms in <c>FunDiff.Diff</c> and hand their
/// results back. Internal: no F# type appears in the facade's public API.
/// </summary>
internal static class FSharpInterop
{
    /// <summary>A C# delegate seen as an F# function <c>Tensor -&gt; Tensor</c>.</summary>
    private sealed class FuncAsFSharp(Func<Tensor, Tensor> func) : FSharpFunc<Tensor, Tensor>
    {
        public Func<Tensor, Tensor> Func { get; } = func;

        public override Tensor Invoke(Tensor x) => Func(x);
    }

    /// <summary>
    /// The F# function behind <paramref name="f"/>. A delegate that <see cref="ToFunc"/> made is
    /// unwrapped rather than wrapped again, so <c>Grad(Grad(f))</c> adds no layers of adapters.
    /// </summary>
    public static FSharpFunc<Tensor, Tensor> ToFSharp(Func<Tensor, Tensor> f, string paramName = "f")
    {
        ArgumentNullException.ThrowIfNull(f, paramName);
        return f.Target is FSharpFunc<Tensor, Tensor> g && f.Method.Name == nameof(g.Invoke)
            ? g
            : new FuncAsFSharp(f);
    }

    /// <summary>An F# function <c>Tensor -&gt; Tensor</c> as a C# delegate.</summary>
    public static Func<Tensor, Tensor> ToFunc(FSharpFunc<Tensor, Tensor> f) =>
        f is FuncAsFSharp adapter ? adapter.Func : f.Invoke;
}
