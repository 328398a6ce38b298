using System.Reflection;
using FunDiff;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// C# users meet no F# type: no public member of the facade, of <see cref="Tensor"/>, of
/// <see cref="TensorExtensions"/>, of <see cref="InAxis"/> or of the program types that <c>MakeIR</c> returns has an
/// FSharpFunc, FSharpList, FSharpOption, F# tuple (System.Tuple) or other FSharp.Core type in
/// its signature.
/// </summary>
public class NoFSharpTypesTests
{
    private const BindingFlags Everything =
        BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Whether a type is, or is built from, an F# type.</summary>
    private static bool IsFSharp(Type type)
    {
        if (type.HasElementType)
            return IsFSharp(type.GetElementType()!);
        if (type.Assembly == typeof(Microsoft.FSharp.Core.Unit).Assembly)
            return true;
        if (type.IsGenericType && type.GetGenericTypeDefinition().FullName!.StartsWith("System.Tuple`"))
            return true;
        return type.IsGenericType && type.GetGenericArguments().Any(IsFSharp);
    }

    /// <summary>The types in a member's signature.</summary>
    private static IEnumerable<Type> Signature(MemberInfo member) => member switch
    {
        MethodInfo m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType),
        ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
        PropertyInfo p => p.GetIndexParameters().Select(i => i.ParameterType).Append(p.PropertyType),
        FieldInfo f => [f.FieldType],
        EventInfo e => [e.EventHandlerType!],
        _ => [],
    };

    private static string[] Leaks(Type type) =>
        type.GetMembers(Everything)
            .Where(member => Signature(member).Any(IsFSharp))
            .Select(member => $"{type.Name}.{member}")
            .ToArray();

    [Theory]
    [InlineData(typeof(Fn))]
    [InlineData(typeof(FuncExtensions))]
    [InlineData(typeof(Tensor))]
    [InlineData(typeof(TensorExtensions))]
    [InlineData(typeof(Program))]
    [InlineData(typeof(Equation))]
    [InlineData(typeof(Var))]
    [InlineData(typeof(Aval))]
    [InlineData(typeof(Trees))]
    [InlineData(typeof(InAxis))]
    [InlineData(typeof(Optimizer))]
    [InlineData(typeof(OptimizerState<>))]
    public void No_public_member_exposes_an_F_sharp_type(Type type)
    {
        Assert.NotEmpty(type.GetMembers(Everything));
        Assert.Empty(Leaks(type));
    }

    [Fact]
    public void The_check_would_see_an_F_sharp_type()
    {
        // Params.Entries is the F# side's (string * Param)[]: C# reads Params.ToDictionary().
        Assert.Contains(Leaks(typeof(Params)), leak => leak.Contains("Entries"));
        Assert.True(IsFSharp(typeof(Microsoft.FSharp.Core.FSharpFunc<Tensor, Tensor>)));
        Assert.True(IsFSharp(typeof(Microsoft.FSharp.Collections.FSharpList<int>[])));
        Assert.True(IsFSharp(typeof(Func<Microsoft.FSharp.Core.FSharpOption<int>>)));
        Assert.False(IsFSharp(typeof((Tensor Value, Func<Tensor, Tensor> Pullback))));
    }

    [Fact]
    public void The_facade_assembly_exports_only_Fn_FuncExtensions_Trees_InAxis_and_the_optimizer_types()
    {
        var exported = typeof(Fn).Assembly.GetExportedTypes().Select(t => t.FullName).Order();
        Assert.Equal(["FunDiff.Fn", "FunDiff.FuncExtensions", "FunDiff.InAxis", "FunDiff.Optimizer", "FunDiff.OptimizerState`1", "FunDiff.Trees"], exported);
    }

    /// <summary>Whether a type is Tensor or a type parameter, or is built from one.</summary>
    private static bool MentionsTensorOrT(Type type) =>
        type == typeof(Tensor)
        || type.IsGenericParameter
        || (type.HasElementType && MentionsTensorOrT(type.GetElementType()!))
        || (type.IsGenericType && type.GetGenericArguments().Any(MentionsTensorOrT));

    [Fact]
    public void The_facade_takes_and_returns_generic_delegates_only()
    {
        // Overloads on Func<double, double> would capture Grad(x => x * x) and break Grad(f)(3.0):
        // every delegate is over Tensor (Func<Tensor, Tensor>) or over the tree type (Func<T, T>).
        var delegates = new[] { typeof(Fn), typeof(FuncExtensions), typeof(Trees), typeof(Optimizer) }
            .SelectMany(type => type.GetMethods(Everything))
            .SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType))
            .SelectMany(t => t.IsGenericType ? t.GetGenericArguments().Append(t) : [t])
            .Where(t => typeof(Delegate).IsAssignableFrom(t))
            .Distinct()
            .ToArray();
        Assert.Contains(typeof(Func<Tensor, Tensor>), delegates);
        // the one exception: Vmap's per-leaf chooser maps a leaf's path to its axis, a function
        // the facade calls, never one it transforms (so no overload could capture a lambda on doubles)
        Assert.Contains(typeof(Func<string, InAxis>), delegates);
        delegates = delegates.Where(t => t != typeof(Func<string, InAxis>)).ToArray();
        Assert.All(delegates, t => Assert.True(MentionsTensorOrT(t), t.ToString()));
        Assert.False(MentionsTensorOrT(typeof(Func<double, double>)));
    }

    [Fact]
    public void Each_Tensor_overload_of_a_transform_outranks_its_generic_overloads()
    {
        // [OverloadResolutionPriority(1)]: Jvp(x => x * x, 3.0, 1.0) must not become Jvp<double, double>
        var transforms = typeof(Fn).GetMethods(Everything)
            .Where(m => m.Name is "Grad" or "ValueAndGrad" or "Jvp" or "Vjp" or "Linearize" or "Hvp" or "Vmap")
            .ToArray();
        Assert.Contains(transforms, m => m.IsGenericMethodDefinition);
        Assert.Equal(2, transforms.Count(m => m.Name == "Vmap" && !m.IsGenericMethodDefinition));
        foreach (var m in transforms)
        {
            var priority = m.GetCustomAttribute<System.Runtime.CompilerServices.OverloadResolutionPriorityAttribute>()?.Priority ?? 0;
            Assert.True(m.IsGenericMethodDefinition ? priority == 0 : priority == 1, m.ToString());
        }
    }
}
