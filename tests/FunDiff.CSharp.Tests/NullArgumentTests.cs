using System.Linq.Expressions;
using System.Reflection;
using static FunDiff.Fn;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// A null tensor, function, array or optimizer state given to the C# facade raises
/// <see cref="ArgumentNullException"/> whose <c>ParamName</c> is the parameter's name, before any
/// work: checked by a reflection sweep over every public method of the facade, and of the
/// functions its transforms return.
/// </summary>
public class NullArgumentTests
{
    private static readonly Type[] FacadeTypes = [typeof(Fn), typeof(FuncExtensions), typeof(Trees), typeof(Optimizer)];

    private static Tensor Vector() => Tensor.Of(1.0, 2.0);

    /// <summary>A non-null value of a parameter type (never read: the null check comes first).</summary>
    private static object? Dummy(Type t)
    {
        if (t == typeof(Tensor)) return Vector();
        if (t == typeof(double[])) return new[] { 1.0, 2.0 };
        if (t == typeof(Tensor[])) return new[] { Vector() };
        if (t == typeof(string)) return "name";
        if (t == typeof(int)) return 1;   // a valid chunk size or axis (JacfwdChunked needs chunk >= 1)
        if (typeof(Delegate).IsAssignableFrom(t))
        {
            var invoke = t.GetMethod("Invoke")!;
            var parameters = invoke.GetParameters().Select(p => Expression.Parameter(p.ParameterType)).ToArray();
            var body = Expression.Constant(Dummy(invoke.ReturnType), invoke.ReturnType);
            return Expression.Lambda(t, body, parameters).Compile();
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(OptimizerState<>))
        {
            var init = typeof(Optimizer).GetMethod(nameof(Optimizer.Init))!.MakeGenericMethod(t.GetGenericArguments());
            return init.Invoke(Sgd(0.1), [Dummy(t.GetGenericArguments()[0])]);
        }

        if (t.IsValueType && t.IsGenericType && t.FullName!.StartsWith("System.ValueTuple", StringComparison.Ordinal))
            return Activator.CreateInstance(t, t.GetGenericArguments().Select(Dummy).ToArray());
        if (t.IsValueType) return Activator.CreateInstance(t);
        throw new InvalidOperationException($"the null sweep has no dummy value for {t}: add one");
    }

    private static IEnumerable<MethodInfo> Methods() =>
        from type in FacadeTypes
        from m in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        where !m.IsSpecialName
        select m.IsGenericMethodDefinition
            ? m.MakeGenericMethod(m.GetGenericArguments().Select(_ => typeof(Tensor)).ToArray())
            : m;

    /// <summary>What is wrong, unless <paramref name="act"/> raised ArgumentNullException naming <paramref name="name"/>.</summary>
    private static string? ExpectNull(string what, string name, Action act)
    {
        try
        {
            act();
            return $"{what}: returned normally";
        }
        catch (ArgumentNullException e) when (e.ParamName == name)
        {
            return null;
        }
        catch (Exception e)
        {
            return $"{what}: {e.GetType().Name} {(e as ArgumentNullException)?.ParamName} ({e.Message.Split('\n')[0]})";
        }
    }

    private static object? Call(MethodBase m, object? receiver, object?[] args) =>
        m.Invoke(receiver, BindingFlags.DoNotWrapExceptions, null, args, null);

    /// <summary>The names of the parameters of the function a non-generic transform returns.</summary>
    private static string[] ReturnedParameterNames(MethodInfo m, int arity) => (m.Name, arity) switch
    {
        ("Linearize", 1) => ["v"],
        ("Vjp", 1) => ["u"],
        ("Hvp", 2) => ["x", "v"],
        _ => ["x"],
    };

    private static List<string> Failures()
    {
        var failures = new List<string>();
        foreach (var m in Methods())
        {
            var parameters = m.GetParameters();
            var definition = (m.IsGenericMethod ? m.GetGenericMethodDefinition() : m).GetParameters();
            object? Receiver() => m.IsStatic ? null : Sgd(0.1);
            object?[] Args() => parameters.Select(p => Dummy(p.ParameterType)).ToArray();
            var name = $"{m.DeclaringType!.Name}.{m.Name}({string.Join(", ", parameters.Select(p => p.Name))})";

            for (var i = 0; i < parameters.Length; i++)
            {
                // trees (a parameter of type T) follow the tree rules: a null is a None or empty
                // value of its declared type, and a null Tensor leaf raises naming its path
                if (definition[i].ParameterType.IsGenericParameter || parameters[i].ParameterType.IsValueType)
                    continue;
                var args = Args();
                args[i] = null;
                var failure = ExpectNull($"{name} with {parameters[i].Name} = null", parameters[i].Name!, () => Call(m, Receiver(), args));
                if (failure is not null) failures.Add(failure);
            }

            // the functions a transform over tensors returns check their arguments too
            if (m.IsGenericMethod || m.DeclaringType != typeof(Fn) && m.DeclaringType != typeof(FuncExtensions)) continue;
            var returnsFunctions = typeof(Delegate).IsAssignableFrom(m.ReturnType)
                || m.ReturnType.IsValueType && m.ReturnType.GetGenericArguments().Any(a => typeof(Delegate).IsAssignableFrom(a));
            if (!returnsFunctions) continue;
            var result = Call(m, Receiver(), Args());
            var returned = result is Delegate d ? [d]
                : result is System.Runtime.CompilerServices.ITuple tuple
                    ? Enumerable.Range(0, tuple.Length).Select(k => tuple[k]).OfType<Delegate>().ToArray()
                    : Array.Empty<Delegate>();
            foreach (var f in returned)
            {
                var invoke = f.GetType().GetMethod("Invoke")!;
                var arity = invoke.GetParameters().Length;
                var names = ReturnedParameterNames(m, arity);
                for (var i = 0; i < arity; i++)
                {
                    var args = Enumerable.Range(0, arity).Select(k => k == i ? null : (object)Vector()).ToArray();
                    var failure = ExpectNull($"the function {name} returns, given null as argument {i}", names[i], () => Call(invoke, f, args));
                    if (failure is not null) failures.Add(failure);
                }
            }
        }

        return failures;
    }

    [Fact]
    public void Every_public_method_of_the_facade_raises_ArgumentNullException_naming_a_null_parameter()
    {
        // the sweep covers the surface: if it found nothing to test it would pass vacuously
        var methods = Methods().ToList();
        Assert.True(methods.Count > 40, $"only {methods.Count} methods swept");
        foreach (var required in new[] { "Grad", "Hvp", "Map2", "Update", "Gradient", "Vmap", "JacfwdChunked", "JacrevChunked", "Jit" })
            Assert.Contains(methods, m => m.Name == required);

        var failures = Failures();
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void The_issues_null_cases_name_the_parameter()
    {
        Func<Tensor, Tensor> f = x => x.Sum();
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Grad(f)(null!)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => f.Grad()(null!)).ParamName);
        Assert.Equal("f", Assert.Throws<ArgumentNullException>(() => Grad((Func<Tensor, Tensor>)null!)).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentNullException>(() => Vector() + (Tensor)null!).ParamName);
        Assert.Equal("tensors", Assert.Throws<ArgumentNullException>(() => Tensor.Stack(Vector(), null!)).ParamName);
        Assert.Equal("indices", Assert.Throws<ArgumentNullException>(() => Vector().Take(null!, 0)).ParamName);
    }
}
