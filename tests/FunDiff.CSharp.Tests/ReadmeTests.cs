using System.Text.RegularExpressions;
using FunDiff;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace FunDiff.CSharp.Tests;

/// <summary>Tests that redirect <see cref="Console.Out"/> run alone.</summary>
[CollectionDefinition(nameof(ConsoleOutput), DisableParallelization = true)]
public class ConsoleOutput;

/// <summary>
/// Keeps the README honest: its C# example (the ```csharp block under "## From C#") compiles
/// and runs exactly as written, as a script and as the Program.cs of a console project; the C#
/// MLP training loop of the trees section compiles likewise and trains to a stated loss.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public class ReadmeTests
{
    /// <summary>The usings of a console project with ImplicitUsings (what `dotnet new console` has).</summary>
    private static readonly string[] ImplicitUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http",
        "System.Threading", "System.Threading.Tasks",
    ];

    private static string FindReadme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var readme = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(readme) && File.Exists(Path.Combine(dir.FullName, "FunDiff.sln")))
                return readme;
        }

        throw new FileNotFoundException("README.md next to FunDiff.sln, above " + AppContext.BaseDirectory);
    }

    /// <summary>The first ```csharp block of the README's "## From C#" section.</summary>
    internal static string CSharpExample() => CSharpBlock("From C#");

    /// <summary>The first ```csharp block of the README's trees section: the MLP training loop.</summary>
    internal static string TreesExample() => CSharpBlock("Functions of many tensors: trees");

    /// <summary>The first ```csharp block of the README's jit section: a jitted training step.</summary>
    internal static string JitExample() => CSharpBlock("Compiling with jit");

    private static string CSharpBlock(string heading)
    {
        var readme = File.ReadAllText(FindReadme()).ReplaceLineEndings("\n");
        var section = Regex.Match(
            readme, @"^## " + Regex.Escape(heading) + @"\n(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(section.Success, $"the README has no \"## {heading}\" section");
        var block = Regex.Match(section.Groups[1].Value, @"^```csharp\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(block.Success, $"the README's \"## {heading}\" section has no ```csharp block");
        return block.Groups[1].Value;
    }

    /// <summary>
    /// Compiles code as the Program.cs of a console project (ImplicitUsings, nullable enabled)
    /// and asserts it has no error and no warning.
    /// </summary>
    private static void CompilesAsProgramCs(string code)
    {
        var globalUsings = string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n"));
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = platform
            .Concat([typeof(Tensor).Assembly.Location, typeof(Fn).Assembly.Location])
            .Distinct()
            .Select(path => MetadataReference.CreateFromFile(path));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "ReadmeExample",
            [
                CSharpSyntaxTree.ParseText(globalUsings, parse, "GlobalUsings.g.cs"),
                CSharpSyntaxTree.ParseText(code, parse, "Program.cs"),
            ],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));

        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var problems = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString());
        Assert.True(result.Success, string.Join("\n", problems));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task The_README_example_runs_as_a_script()
    {
        var code = CSharpExample();
        var options = ScriptOptions.Default
            .WithReferences(typeof(Tensor).Assembly, typeof(Fn).Assembly)
            .WithImports(ImplicitUsings);

        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try
        {
            await CSharpScript.RunAsync(code, options);
        }
        finally
        {
            Console.SetOut(saved);
        }

        var lines = output.ToString().ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("6.0", lines[0]);                  // Grad(x => x * x)(3.0)
        Assert.Contains("{ lambda ; a:f64[3] . let", lines);
        Assert.Contains("12.0", lines);                 // cube.Grad().Grad()(2.0)
        Assert.Contains("2, 4", lines);                 // Gradient(x => (x * x).Sum(), 1.0, 2.0)
    }

    [Fact]
    public void The_README_example_compiles_as_the_Program_cs_of_a_console_project() =>
        CompilesAsProgramCs(CSharpExample());

    [Fact]
    public void The_README_MLP_training_loop_is_under_15_lines()
    {
        var lines = TreesExample().TrimEnd('\n').Split('\n');
        Assert.True(lines.Length < 15, $"{lines.Length} lines:\n{TreesExample()}");
    }

    [Fact]
    public async Task The_README_MLP_training_loop_trains_a_C_sharp_record_with_Adam()
    {
        var options = ScriptOptions.Default
            .WithReferences(typeof(Tensor).Assembly, typeof(Fn).Assembly, typeof(HalfMoons).Assembly)
            .WithImports(ImplicitUsings);

        // the README's block as written declares Loss, Train and Mlp; then train on half-moons
        var state = await CSharpScript.RunAsync(TreesExample(), options);
        state = await state.ContinueWithAsync("""
            var random = new Random(42);
            var (x, y, labels) = FunDiff.CSharp.Tests.HalfMoons.Data(random);
            var init = new Mlp(
                FunDiff.CSharp.Tests.HalfMoons.Uniform(random, -1, 1, 2, 16), Tensor.Zeros(16),
                FunDiff.CSharp.Tests.HalfMoons.Uniform(random, -0.5, 0.5, 16, 2), Tensor.Zeros(2));
            var trained = Train(init, x, y);
            var accuracy = (double)((x.MatMul(trained.W1) + trained.B1).Tanh().MatMul(trained.W2) + trained.B2)
                .ArgMax(1).Eq(labels).Convert(DType.Float64).Mean();
            ((double)Loss(init, x, y), (double)Loss(trained, x, y), accuracy)
            """);

        var (initial, final, trainedAccuracy) = ((double, double, double))state.ReturnValue;
        Assert.True(initial > 0.3, $"the initial loss {initial} should be far from trained");
        Assert.True(final < 0.05, $"final loss {final} (initial {initial})");
        Assert.True(trainedAccuracy >= 0.98, $"training accuracy {trainedAccuracy}");
    }

    [Fact]
    public void The_README_MLP_training_loop_compiles_in_the_Program_cs_of_a_console_project()
    {
        // as written, with one call of Train after the usings (top-level statements come before
        // the record, and a local function never called would be a warning)
        var code = TreesExample();
        var afterUsings = code.IndexOf("\n\n", StringComparison.Ordinal) + 2;
        Assert.True(afterUsings > 2, "the block should start with its usings and a blank line");
        const string call = "_ = Train(new Mlp(Tensor.Zeros(2, 4), Tensor.Zeros(4), Tensor.Zeros(4, 2), Tensor.Zeros(2)), Tensor.Zeros(3, 2), Tensor.Zeros(3, 2));\n";
        CompilesAsProgramCs(code[..afterUsings] + call + code[afterUsings..]);
    }

    [Fact]
    public async Task The_README_jitted_training_step_trains_as_the_eager_step_does()
    {
        var options = ScriptOptions.Default
            .WithReferences(typeof(Tensor).Assembly, typeof(Fn).Assembly, typeof(HalfMoons).Assembly)
            .WithImports(ImplicitUsings);

        // the README's block declares Loss, TrainJitted and Mlp; the same loop eagerly beside it
        var state = await CSharpScript.RunAsync(JitExample(), options);
        state = await state.ContinueWithAsync("""
            Mlp TrainEager(Mlp p, Tensor x, Tensor y)
            {
                for (var i = 0; i < 300; i++)
                    p = Trees.Sub(p, Trees.Scale(Grad((Mlp r) => Loss(r, x, y))(p), 0.5));
                return p;
            }
            var random = new Random(7);
            var (x, y, labels) = FunDiff.CSharp.Tests.HalfMoons.Data(random);
            var init = new Mlp(
                FunDiff.CSharp.Tests.HalfMoons.Uniform(random, -1, 1, 2, 16), Tensor.Zeros(16),
                FunDiff.CSharp.Tests.HalfMoons.Uniform(random, -0.5, 0.5, 16, 2), Tensor.Zeros(2));
            ((double)Loss(init, x, y), (double)Loss(TrainJitted(init, x, y), x, y), (double)Loss(TrainEager(init, x, y), x, y))
            """);

        var (initial, jitted, eager) = ((double, double, double))state.ReturnValue;
        Assert.True(jitted < 0.5 * initial, $"the jitted loop trained from {initial} to {jitted}");
        Assert.True(Math.Abs(jitted - eager) <= 1e-9 * (1 + eager), $"jitted {jitted}, eager {eager}");
    }

    [Fact]
    public void The_README_jitted_training_step_compiles_in_the_Program_cs_of_a_console_project()
    {
        var code = JitExample();
        var afterUsings = code.IndexOf("\n\n", StringComparison.Ordinal) + 2;
        Assert.True(afterUsings > 2, "the block should start with its usings and a blank line");
        const string call = "_ = TrainJitted(new Mlp(Tensor.Zeros(2, 4), Tensor.Zeros(4), Tensor.Zeros(4, 2), Tensor.Zeros(2)), Tensor.Zeros(3, 2), Tensor.Zeros(3, 2));\n";
        CompilesAsProgramCs(code[..afterUsings] + call + code[afterUsings..]);
    }
}
