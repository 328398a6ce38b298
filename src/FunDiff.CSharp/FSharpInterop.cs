// Room: conversions between C# delegates and F# function values.
using System;
using Microsoft.FSharp.Core;

namespace FunDiff;

/// <summary>
/// Conversions between C# delegates and F# function values, so that the facade can hand
/// <c>Func&lt;Tensor, Tensor&gt;</c> (and the generic delegates of the tree transforms) to the F#
/// transforms in <c>FunDiff.Diff</c> and <c>FunDiff.Tree</c> and hand their results back.
/// Internal: no F# type appears in the facade's public API.
/// </summary>
internal static class FSharpInterop
{
    /// <summary>A C# delegate seen as an F# function <c>'T -&gt; 'U</c>.</summary>
    private sealed class FuncAsFSharp<T, U>(Func<T, U> func) : FSharpFunc<T, U>
    {
        public Func<T, U> Func { get; } = func;

        public override U Invoke(T x) => Func(x);
    }

    /// <summary>A C# delegate of two arguments seen as a curried F# function of two
    /// <c>'T -&gt; 'U -&gt; 'V</c> (F# closures of this shape are built with <c>OptimizedClosures</c>,
    /// but FunDiff's callers only ever apply them in full, through <c>InvokeFast</c>).</summary>
    private sealed class Func2AsFSharp<T, U, V>(Func<T, U, V> func) : OptimizedClosures.FSharpFunc<T, U, V>
    {
        public override V Invoke(T x, U y) => func(x, y);
    }

    /// <summary>
    /// The F# function behind <paramref name="f"/>. A delegate that <see cref="ToFunc"/> made is
    /// unwrapped rather than wrapped again, so <c>Grad(Grad(f))</c> adds no layers of adapters.
    /// </summary>
    public static FSharpFunc<Tensor, Tensor> ToFSharp(Func<Tensor, Tensor> f, string paramName = "f") =>
        ToFSharp<Tensor, Tensor>(f, paramName);

    /// <summary>The F# function behind a generic delegate (unwrapped if <see cref="ToFunc{T, U}"/> made it).</summary>
    public static FSharpFunc<T, U> ToFSharp<T, U>(Func<T, U> f, string paramName = "f")
    {
        ArgumentNullException.ThrowIfNull(f, paramName);
        return f.Target is FSharpFunc<T, U> g && f.Method.Name == nameof(g.Invoke)
            ? g
            : new FuncAsFSharp<T, U>(f);
    }

    /// <summary>A C# delegate of two arguments as a curried F# function.</summary>
    public static FSharpFunc<T, FSharpFunc<U, V>> ToFSharp<T, U, V>(Func<T, U, V> f, string paramName = "f")
    {
        ArgumentNullException.ThrowIfNull(f, paramName);
        return new Func2AsFSharp<T, U, V>(f);
    }

    /// <summary>An F# function <c>Tensor -&gt; Tensor</c> as a C# delegate.</summary>
    public static Func<Tensor, Tensor> ToFunc(FSharpFunc<Tensor, Tensor> f) => ToFunc<Tensor, Tensor>(f);

    /// <summary>An F# function as a C# delegate (unwrapped if <see cref="ToFSharp{T, U}"/> made it).</summary>
    public static Func<T, U> ToFunc<T, U>(FSharpFunc<T, U> f) =>
        f is FuncAsFSharp<T, U> adapter ? adapter.Func : f.Invoke;
}
