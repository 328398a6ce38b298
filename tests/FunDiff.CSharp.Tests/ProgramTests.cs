using FunDiff;
using static FunDiff.Fn;

namespace FunDiff.CSharp.Tests;

/// <summary><c>MakeIR</c>'s <see cref="Program"/> from C#: it prints, and its parts are read-only arrays and dictionaries.</summary>
public class ProgramTests
{
    private static readonly Program SinTimesX = MakeIR(x => (x.Sin() * x).Sum(), Tensor.Of(1.0, 2.0, 3.0));

    [Fact]
    public void Equations_are_a_read_only_array_in_execution_order()
    {
        var equations = SinTimesX.Equations;
        Assert.Equal(["sin", "mul", "reduce_sum"], equations.Select(e => e.Primitive.Name));
        Assert.Equal([3], equations[0].Outputs[0].Aval.Shape);
        Assert.Empty(equations[2].Outputs[0].Aval.Shape);
    }

    [Fact]
    public void Params_read_as_a_dictionary_of_dotnet_values()
    {
        var reduce = SinTimesX.Equations.Single(e => e.Primitive.Name == "reduce_sum");
        IReadOnlyDictionary<string, object> parameters = reduce.Params.ToDictionary();
        Assert.Equal([0], (int[])parameters["axes"]);
        Assert.Empty(SinTimesX.Equations[0].Params.ToDictionary());
    }

    [Fact]
    public void Inputs_and_operands_are_vars_with_avals()
    {
        var input = Assert.Single(SinTimesX.InVars);
        Assert.Equal([3], input.Aval.Shape);
        Assert.Equal(DType.Float64, input.Aval.DType);
        var mul = SinTimesX.Equations[1];
        Assert.All(mul.Inputs, atom => Assert.True(atom.IsVar));
        var operand = Assert.IsType<Atom.Var>(mul.Inputs[1]);
        Assert.Same(input, operand.Item);
    }

    [Fact]
    public void It_prints_like_a_jaxpr_and_draws_as_Mermaid()
    {
        Assert.StartsWith("{ lambda ; a:f64[3] . let", SinTimesX.ToString());
        Assert.StartsWith("flowchart TD", SinTimesX.ToMermaid());
    }

    [Fact]
    public void A_program_cannot_be_changed_through_its_collections()
    {
        var program = MakeIR(x => (x * Tensor.Of(1.0, 2.0, 3.0)).Sum(), Tensor.Of(1.0, 2.0, 3.0));
        var x = Tensor.Of(0.5, 1.0, 1.5);
        var before = (double)ProgramModule.eval(program, [x])[0];
        Assert.NotEmpty(program.Consts);
        // program.Consts[0] = ... does not compile; the mutable interfaces refuse it
        Assert.Throws<NotSupportedException>(() => ((IList<Tensor>)program.Consts)[0] = Tensor.Zeros(3));
        Assert.Throws<NotSupportedException>(() => ((IList<Equation>)program.Equations).RemoveAt(0));
        Assert.Equal(before, (double)ProgramModule.eval(program, [x])[0]);
    }
}
